"""Notifications (issue 9): the list, opening one, marking all read, each person's choices, and the
unsubscribe link from an email, which works without signing in."""
from flask import Blueprint

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
