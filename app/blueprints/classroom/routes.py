from flask import Blueprint
from ...policies import anyone, pupil, rule
bp = Blueprint("classroom", __name__, url_prefix="/classroom")


@bp.route("/")
@rule(anyone)
def start():
    return "classroom"


@bp.route("/me")
@rule(pupil)
def me():
    return "me"


@bp.route("/sign-out", methods=["POST"])
@rule(anyone)
def sign_out():
    return "out"
