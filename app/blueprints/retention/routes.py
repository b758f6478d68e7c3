"""Retention periods, the retention run, and erasing a pupil (issue 8)."""
from flask import Blueprint

bp = Blueprint("retention", __name__, url_prefix="/retention")
