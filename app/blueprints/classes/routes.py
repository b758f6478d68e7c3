from flask import Blueprint
from ...policies import rule, staff
bp = Blueprint("classes", __name__, url_prefix="/classes")


@bp.route("/")
@rule(staff)
def index():
    return "classes"
