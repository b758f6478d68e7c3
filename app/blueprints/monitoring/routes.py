"""Monitoring by senior leaders: read-only looks at any class, and private conversations opened with a recorded reason (issue 8)."""
from flask import Blueprint

bp = Blueprint("monitoring", __name__, url_prefix="/monitoring")
