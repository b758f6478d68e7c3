"""A parent's home: their children, each with class, teachers and team points.

Points update without a reload: a small element polls every 25 seconds with the marker of what it
shows (`services.points.latest_change`, read from the database, so any server process can answer).
Nothing new: 204 No Content with almost no headers (htmx does not swap on 204); otherwise the
re-rendered block with its new marker.
"""
from datetime import timedelta

from babel.dates import format_skeleton
from flask import Blueprint, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...extensions import db
from ...htmx import NothingNew, render
from ...models import ParentLink, Pupil, SchoolClass
from ...policies import can_view_pupil, get_or_404, parent, rule
from ...services import points

bp = Blueprint("family", __name__, url_prefix="/family")

POLL = "every 25s"  # an award shows within 30 seconds
CHART_WEEKS = 10
AWARDS_SHOWN = 50


def children_of(user):
    """The parent's linked children, with class and teachers, in a fixed number of queries."""
    stmt = (select(Pupil).join(ParentLink, ParentLink.pupil_id == Pupil.id)
            .where(ParentLink.parent_id == user.id, Pupil.status == "active")
            .options(selectinload(Pupil.school_class).selectinload(SchoolClass.teachers))
            .order_by(Pupil.display_name))
    return list(db.session.scalars(stmt))


def children_ids(user):
    """The ids of the parent's active children, in one query (for the poll)."""
    return list(db.session.scalars(
        select(Pupil.id).join(ParentLink, ParentLink.pupil_id == Pupil.id)
        .where(ParentLink.parent_id == user.id, Pupil.status == "active").order_by(Pupil.id)))


def live_marker(school, pupil_ids):
    """Changes when any of these pupils' points change, when the school's day changes and when the
    school turns needs-work points on or off: each is a reason to show the block again."""
    today = points.school_today(school)
    return f"{points.latest_change(pupil_ids)}.{today.isoformat()}.{int(school.needs_work_enabled)}"


def _day_label(day, today):
    if day == today:
        return _("Today")
    if day == today - timedelta(days=1):
        return _("Yesterday")
    return format_skeleton("MMMMEEEEd", day, locale=get_locale())


def child_points(pupil):
    """Everything the points block of a child's page shows, in a fixed number of queries."""
    school = pupil.school
    needs_work = school.needs_work_enabled
    marker = live_marker(school, [pupil.id])  # before reading: a change in between shows next poll
    today = points.school_today(school)
    today_start = points.utc_start_of(school, today)
    mondays = points.weeks_back(school, CHART_WEEKS)
    weeks = [(points.utc_start_of(school, monday), points.utc_start_of(school, monday + timedelta(weeks=1)))
             for monday in mondays]
    totals = points.windowed_totals([pupil.id], [(today_start, None)] + weeks, include_needs_work=needs_work)
    (today_points, today_needs_work), *per_week = totals[pupil.id]
    awards = points.recent_awards(pupil.id, weeks[-1][0], include_needs_work=needs_work,
                                  limit=AWARDS_SHOWN + 1)
    days = []
    for award in awards[:AWARDS_SHOWN]:
        day = points.school_today(school, award.awarded_at)
        if not days or days[-1]["day"] != day:
            days.append({"day": day, "label": _day_label(day, today), "awards": []})
        days[-1]["awards"].append(award)
    chart = [{"monday": monday, "label": format_skeleton("MMMd", monday, locale=get_locale()),
              "points": positive, "needs_work": minus}
             for monday, (positive, minus) in zip(mondays, per_week, strict=True)]
    return {
        "marker": marker, "needs_work": needs_work, "today": today_points, "today_needs_work": today_needs_work,
        "week": per_week[-1][0], "week_needs_work": per_week[-1][1], "days": days,
        "more_awards": len(awards) > AWARDS_SHOWN, "shown": AWARDS_SHOWN, "chart": chart,
        "chart_top": max(week["points"] for week in chart),
    }


def children_today(user, children):
    """{pupil_id: points today} for all of a parent's children in one query, and the live marker."""
    school = user.school
    ids = [child.id for child in children]
    marker = live_marker(school, ids)
    today_start = points.utc_start_of(school, points.school_today(school))
    totals = points.windowed_totals(ids, [(today_start, None)])
    return marker, {pid: windows[0][0] for pid, windows in totals.items()}


def _home(children):
    marker, today = children_today(current_user, children)
    return {"children": children, "today": today, "marker": marker}


@bp.route("/")
@rule(parent)
def index():
    return render_template("family/index.html", **_home(children_of(current_user)))


@bp.route("/points/live")
@rule(parent)
def index_live():
    """The home page's points, polled: 204 while nothing changed for any of the parent's children."""
    if request.args.get("v") == live_marker(current_user.school, children_ids(current_user)):
        return NothingNew()
    return render("family/index.html", block="children", **_home(children_of(current_user)))


@bp.route("/child/<int:pupil_id>")
@rule(parent)
def child(pupil_id):
    pupil = get_or_404(Pupil, pupil_id, can_view_pupil)
    return render_template("family/child.html", pupil=pupil, pts=child_points(pupil))


@bp.route("/child/<int:pupil_id>/points/live")
@rule(parent)
def child_points_live(pupil_id):
    """The child page's points block, polled: 204 while nothing changed."""
    pupil = get_or_404(Pupil, pupil_id, can_view_pupil)
    if request.args.get("v") == live_marker(pupil.school, [pupil.id]):
        return NothingNew()
    return render("family/child.html", block="points", pupil=pupil, pts=child_points(pupil))
