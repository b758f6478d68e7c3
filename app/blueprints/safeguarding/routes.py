"""Reports of misuse and the steps that follow: the senior leaders' queue, warnings, suspensions, endings, reinstatement, and pausing Hearth for families (issue 8)."""
from flask import Blueprint

bp = Blueprint("safeguarding", __name__, url_prefix="/safeguarding")
