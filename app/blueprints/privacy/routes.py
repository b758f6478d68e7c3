"""Plain-language privacy pages: one for parents, one for pupils (issue 8)."""
from flask import Blueprint

bp = Blueprint("privacy", __name__, url_prefix="/privacy")
