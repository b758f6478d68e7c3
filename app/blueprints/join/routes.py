from flask import Blueprint
from ...policies import anyone, rule
bp = Blueprint("join", __name__, url_prefix="/join")


@bp.route("/")
@rule(anyone)
def start():
    return "join"


@bp.route("/confirm")
@rule(anyone)
def confirm():
    return "confirm"
