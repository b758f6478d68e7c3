"""A family's own data (UK GDPR article 15): everything Hearth holds about a child, as one archive (issue 8)."""
from flask import Blueprint

bp = Blueprint("exports", __name__, url_prefix="/exports")
