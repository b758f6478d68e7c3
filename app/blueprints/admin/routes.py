from flask import Blueprint
from ...policies import rule, school_manager
bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@rule(school_manager)
def index():
    return "admin"
