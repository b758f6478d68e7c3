"""Pupil sign-in on a shared class iPad, and the teachers' pages that go with it.

The iPad remembers its class in a cookie, so after each pupil signs out it returns to the grid of
names. A pupil taps their name, then their pictures: each tap is a real form post (it works with
JavaScript off); with htmx only the picture area is swapped.
"""
import time

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from ...auth_session import end_session, start_session
from ...extensions import limiter
from ...htmx import render
from ...models import Pupil, SchoolClass
from ...models.people import PICTURES
from ...policies import (
    anyone,
    can_manage_class,
    can_view_pupil,
    get_or_404,
    parent,
    pupil,
    rule,
    staff,
)
from ...services import accounts, points, pupil_signin
from .forms import ClassCodeForm, ConfirmForm, PicturesForm

bp = Blueprint("classroom", __name__, url_prefix="/classroom")

CLASS_COOKIE = "hearth_classroom"
ONE_YEAR = 365 * 24 * 3600
PICKS_KEY = "classroom_picks"
PICKS_MAX_AGE = 10 * 60  # a half-finished sequence left on the iPad is forgotten after this


def _failed(response):
    """Only wrong class codes and wrong picture sequences count against the school's address."""
    return bool(g.get("signin_failed"))


def _ip_limit():
    return current_app.config["PUPIL_LIMIT_PER_IP"]


# ---- rules for the grown-ups' pages ---------------------------------------------------------

def grown_up(account):
    return staff(account) or parent(account)


def may_print_sheet(account, pupil_obj):
    """Staff who teach or run the pupil's class, and the pupil's own parents; nobody else."""
    if pupil_obj.status != "active" or pupil_obj.school_class is None:
        return False
    if account.is_parent:
        return can_view_pupil(account, pupil_obj)
    if account.is_staff:
        return can_manage_class(account, pupil_obj.school_class)
    return False


def _open_class(account, school_class):
    return school_class.archived_at is None and can_manage_class(account, school_class)


def _base_url():
    return (current_app.config.get("PUBLIC_URL") or request.host_url).rstrip("/")


def _addresses(school_class):
    """The site's sign-in address, the class's own address, and its QR code."""
    class_url = _base_url() + url_for(".names", code=school_class.class_code)
    qr = pupil_signin.qr_svg(class_url, _("QR code for %(address)s", address=class_url))
    return {"site_url": _base_url() + url_for(".start"), "class_url": class_url, "qr": qr}


# ---- the class iPad ------------------------------------------------------------------------

def _signed_in_pupil():
    return current_user.is_authenticated and current_user.is_pupil


@bp.route("/", methods=["GET", "POST"])
@rule(anyone)
@limiter.limit(_ip_limit, methods=["POST"], deduct_when=_failed)
def start():
    if _signed_in_pupil():
        return redirect(url_for(".me"))
    remembered_code = request.cookies.get(CLASS_COOKIE)
    remembered = pupil_signin.class_for_code(remembered_code) if remembered_code else None
    if request.method == "GET" and remembered is not None and not request.args.get("change"):
        return redirect(url_for(".names", code=remembered.class_code))
    form = ClassCodeForm()
    if form.validate_on_submit():
        school_class = pupil_signin.class_for_code(form.code.data)
        if school_class is not None:
            return redirect(url_for(".names", code=school_class.class_code))
        form.code.errors.append(_("We could not find a class with that code. "
                                  "Check it with your teacher and try again."))
    if request.method == "POST":
        g.signin_failed = True
    response = make_response(render_template("classroom/start.html", form=form))
    if remembered_code and remembered is None:
        response.delete_cookie(CLASS_COOKIE, path=url_for(".start").rstrip("/"))
    return response


@bp.route("/c/<code>")
@rule(anyone)
def names(code):
    school_class = pupil_signin.class_for_code(code)
    if school_class is None:
        form = ClassCodeForm(formdata=None)
        response = make_response(render_template(
            "classroom/start.html", form=form,
            problem=_("We could not find that class. Type your class code, or ask your teacher.")), 404)
        if request.cookies.get(CLASS_COOKIE):
            response.delete_cookie(CLASS_COOKIE, path=url_for(".start").rstrip("/"))
        return response
    if code != school_class.class_code:
        return redirect(url_for(".names", code=school_class.class_code))
    if _signed_in_pupil():
        return redirect(url_for(".me"))
    if PICKS_KEY in session:
        session.pop(PICKS_KEY)
    g.school = school_class.school
    response = make_response(render_template(
        "classroom/names.html", klass=school_class, school=school_class.school,
        pupils=pupil_signin.class_pupils(school_class)))
    response.set_cookie(CLASS_COOKIE, school_class.class_code, max_age=ONE_YEAR, httponly=True,
                        samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"],
                        path=url_for(".start").rstrip("/"))
    return response


def _picks(pupil_obj):
    """The pictures tapped so far by this pupil on this device, and the last outcome to show."""
    state = session.get(PICKS_KEY) or {}
    if state.get("pupil") != pupil_obj.id or time.time() - state.get("at", 0) > PICKS_MAX_AGE:
        return [], None
    return list(state.get("picks") or []), state.get("outcome")


def _keep_picks(pupil_obj, picks, outcome=None):
    session[PICKS_KEY] = {"pupil": pupil_obj.id, "picks": picks, "outcome": outcome,
                          "at": int(time.time())}


def _go(target):
    """Leave the picture screen: a real redirect, or HX-Redirect for an htmx request."""
    if request.htmx:
        response = make_response("", 204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


@bp.route("/c/<code>/p/<int:pupil_id>", methods=["GET", "POST"])
@rule(anyone)
@limiter.limit(_ip_limit, methods=["POST"], deduct_when=_failed)
def pictures(code, pupil_id):
    school_class = pupil_signin.class_for_code(code)
    if school_class is None or code != school_class.class_code:
        abort(404)
    pupil_obj = pupil_signin.pupil_of_class(school_class, pupil_id)
    if pupil_obj is None:
        abort(404)
    if _signed_in_pupil():
        return redirect(url_for(".me"))
    g.school = school_class.school
    length = pupil_signin.sequence_length(pupil_obj)
    picks, outcome = _picks(pupil_obj)

    if request.method == "POST":
        form = PicturesForm()
        outcome = None
        if pupil_signin.is_locked(pupil_obj):
            picks, outcome = [], pupil_signin.LOCKED
        elif form.validate_on_submit():
            if form.again.data:
                picks = []
            elif form.pick.data:
                picks.append(form.pick.data)
            if len(picks) >= length:
                result = pupil_signin.check_pictures(pupil_obj, picks[:length])
                if result == pupil_signin.SIGNED_IN:
                    start_session(pupil_obj)
                    return _go(url_for(".me"))
                g.signin_failed = True
                picks, outcome = [], result
        if not request.htmx:
            _keep_picks(pupil_obj, picks, outcome)  # shown once by the GET that follows
            return redirect(request.path)
    _keep_picks(pupil_obj, picks)
    locked = outcome == pupil_signin.LOCKED or pupil_signin.is_locked(pupil_obj)
    return render("classroom/pictures.html", block="picture_status", klass=school_class,
                  school=school_class.school, pupil=pupil_obj, pictures=PICTURES, length=length,
                  chosen=len(picks), outcome=outcome, locked=locked,
                  action=url_for(".pictures", code=school_class.class_code, pupil_id=pupil_obj.id))


def own_points(pupil_obj):
    """A pupil's own points (today, this week, by category) and their class's and team's totals
    this week: totals only, never another child's points. Needs-work points are seen only by the
    pupil's teachers and parents (issue 3): never here, on a screen that may be the class iPad."""
    school = pupil_obj.school
    needs_work = False
    today_start, week_start = points.periods(school)
    totals = points.windowed_totals([pupil_obj.id], [(today_start, None), (week_start, None)],
                                    include_needs_work=needs_work)[pupil_obj.id]
    by_category = points.totals_by_category(pupil_obj.id, week_start, include_needs_work=needs_work)
    categories = [(category, by_category.get(category.id, 0))
                  for category in points.categories(school, include_retired=True, kinds=("positive",))
                  if not category.retired or by_category.get(category.id)]
    class_total, team_total = points.class_and_team_totals(school, pupil_obj.class_id, pupil_obj.team_id,
                                                           week_start)
    return {"today": totals[0][0], "week": totals[1][0], "today_needs_work": totals[0][1],
            "week_needs_work": totals[1][1], "needs_work": needs_work, "categories": categories,
            "class_total": class_total, "team_total": team_total}


@bp.route("/me")
@rule(pupil)
def me():
    return render_template("classroom/me.html", pupil=current_user, klass=current_user.school_class,
                           team=current_user.team, pts=own_points(current_user))


@bp.route("/sign-out", methods=["POST"])
@rule(anyone)
def sign_out():
    """End this session and go back to the class's names (the iPad's class, else the pupil's)."""
    target = url_for(".start")
    school_class = pupil_signin.class_for_code(request.cookies.get(CLASS_COOKIE))
    if school_class is None and _signed_in_pupil():
        own = current_user.school_class
        if own is not None and own.archived_at is None:
            school_class = own
    if school_class is not None:
        target = url_for(".names", code=school_class.class_code)
    if current_user.is_authenticated:
        accounts.sign_out_everywhere(current_user._get_current_object())
        end_session()
        flash(_("You have signed out."), "info")
    return redirect(target)


# ---- for teachers --------------------------------------------------------------------------

@bp.route("/show/<int:class_id>")
@rule(staff)
def show(class_id):
    school_class = get_or_404(SchoolClass, class_id, _open_class)
    return render_template("classroom/show.html", klass=school_class,
                           **_addresses(school_class))


@bp.route("/show/<int:class_id>/open", methods=["POST"])
@rule(staff)
def open_on_device(class_id):
    """Turn this device into the class's sign-in screen: the teacher is signed out here first,
    so that pupils cannot reach the teacher's pages from it."""
    school_class = get_or_404(SchoolClass, class_id, _open_class)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    end_session()
    return redirect(url_for(".names", code=school_class.class_code))


@bp.route("/pupils/<int:pupil_id>/new-pictures", methods=["POST"])
@rule(staff)
def new_pictures(pupil_id):
    pupil_obj = get_or_404(Pupil, pupil_id, may_print_sheet)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    pupil_signin.give_new_pictures(pupil_obj, by=current_user._get_current_object())
    flash(_("%(name)s has new pictures. The old ones no longer work: print this sheet again.",
            name=pupil_obj.display_name), "success")
    return redirect(url_for(".pupil_sheet", pupil_id=pupil_obj.id))


@bp.route("/sheets/class/<int:class_id>")
@rule(staff)
def class_sheets(class_id):
    school_class = get_or_404(SchoolClass, class_id, _open_class)
    return render_template("classroom/sheets.html", klass=school_class,
                           pupils=pupil_signin.class_pupils(school_class), pictures=PICTURES,
                           **_addresses(school_class))


@bp.route("/sheets/pupil/<int:pupil_id>")
@rule(grown_up)
def pupil_sheet(pupil_id):
    pupil_obj = get_or_404(Pupil, pupil_id, may_print_sheet)
    school_class = pupil_obj.school_class
    if school_class.archived_at is not None:
        abort(404)
    return render_template("classroom/sheet.html", klass=school_class, pupil=pupil_obj,
                           pictures=PICTURES, **_addresses(school_class))
