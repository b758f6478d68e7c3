"""The audit log: the head views, filters and exports it (issue 8)."""
from flask import Blueprint

bp = Blueprint("audit", __name__, url_prefix="/audit")
