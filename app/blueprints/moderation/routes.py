"""Language the school does not allow: the word lists per language, and comments and messages held for review (issue 8)."""
from flask import Blueprint

bp = Blueprint("moderation", __name__, url_prefix="/moderation")
