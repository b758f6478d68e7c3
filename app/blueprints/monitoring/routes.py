"""Monitoring by senior leaders (issue 8): read-only looks at any class, and private conversations
opened with a recorded reason.

Only senior leaders and the headteacher reach these pages; anyone else gets 404 (and the refusal is
audited). Every page here only reads: no posting, awarding, liking or commenting. Each look at a
class and each listing of a pupil's conversations is written to the audit log; a conversation is
shown only after its reason was recorded, for ``monitoring.GRANT_LENGTH``, and showing it marks
nothing as read.
"""
from flask import Blueprint, redirect, request, url_for
from flask_login import current_user

from ...htmx import render
from ...models import Conversation, Pupil, SchoolClass
from ...policies import get_or_404, rule, same_school
from ...services import messaging, monitoring, portfolio, reports, stories
from ...services.monitoring import ReasonRefused
from .forms import PupilSearchForm, ReasonForm
from .grants import grant_ends, holds_grant, keep_grant

bp = Blueprint("monitoring", __name__, url_prefix="/monitoring")


def senior_leader(account):
    """The view rule of every monitoring page."""
    return monitoring.may_monitor(account)


def can_monitor(account, obj):
    """A class, pupil or conversation of the senior leader's own school."""
    return monitoring.may_monitor(account) and same_school(account, obj)


def _me():
    return current_user._get_current_object()


def _class(class_id):
    return get_or_404(SchoolClass, class_id, can_monitor)


def _first_page():
    """A look starts on the first page; older posts loading as the reader scrolls are the same look."""
    return not request.args.get("before")


# ---- the school's classes ---------------------------------------------------------------------------

@bp.route("/")
@rule(senior_leader)
def index():
    me = _me()
    return render("monitoring/index.html", classes=monitoring.school_classes(me.school_id),
                  search=PupilSearchForm(formdata=None))


@bp.route("/classes/<int:class_id>/story")
@rule(senior_leader)
def class_story(class_id):
    me = _me()
    school_class = _class(class_id)
    if _first_page():
        monitoring.record_look(me, school_class, "story", monitoring_page=True)
    cursor = stories.decode_cursor(request.args.get("before")) if not _first_page() else None
    page = stories.feed_page(me, [school_class.id], whole_school=False, before=cursor)
    return render("monitoring/story.html", block="page" if cursor else None, school_class=school_class,
                  page=page)


@bp.route("/classes/<int:class_id>/points")
@rule(senior_leader)
def class_points(class_id):
    me = _me()
    school_class = _class(class_id)
    monitoring.record_look(me, school_class, "points", monitoring_page=True)
    week = reports.points_report(me, "week", school_class=school_class, with_pupils=False)
    term = reports.points_report(me, "term", school_class=school_class)
    return render("monitoring/points.html", school_class=school_class, week=week, term=term,
                  awards=monitoring.recent_class_awards(school_class))


@bp.route("/classes/<int:class_id>/student-story")
@rule(senior_leader)
def class_student_story(class_id):
    me = _me()
    school_class = _class(class_id)
    if _first_page():
        monitoring.record_look(me, school_class, "student-story", monitoring_page=True)
    cursor = portfolio.decode_cursor(request.args.get("before")) if not _first_page() else None
    items, next_cursor, cards = portfolio.class_story_page(me, school_class, before=cursor)
    return render("monitoring/student_story.html", block="page" if cursor else None,
                  school_class=school_class, items=items, cards=cards, next_cursor=next_cursor)


# ---- finding a family's or a pupil's conversations --------------------------------------------------

@bp.route("/conversations")
@rule(senior_leader)
def find():
    """Pupils by name (?q=) or by class (?class=): each opens the list of their conversations."""
    me = _me()
    form = PupilSearchForm(formdata=request.args)
    chosen = None
    if request.args.get("class", type=int):
        chosen = _class(request.args.get("class", type=int))
        pupils = monitoring.class_pupils(chosen)
    else:
        pupils = monitoring.find_pupils(me.school_id, form.q.data)
    searched = bool(chosen or (form.q.data or "").strip())
    return render("monitoring/find.html", form=form, chosen=chosen, pupils=pupils, searched=searched,
                  classes=monitoring.school_classes(me.school_id))


@bp.route("/pupils/<int:pupil_id>/conversations")
@rule(senior_leader)
def pupil_conversations(pupil_id):
    me = _me()
    pupil = get_or_404(Pupil, pupil_id, can_monitor)
    lines = monitoring.conversations_about(me, pupil)
    return render("monitoring/conversations.html", pupil=pupil, lines=lines)


# ---- one conversation, opened with a reason -----------------------------------------------------------

def _conversation(conversation_id):
    return get_or_404(Conversation, conversation_id, can_monitor)


@bp.route("/conversations/<int:conversation_id>/open", methods=["GET", "POST"])
@rule(senior_leader)
def open_conversation(conversation_id):
    me = _me()
    convo = _conversation(conversation_id)
    form = ReasonForm()
    if request.method == "GET" and holds_grant(me, convo):
        return redirect(url_for(".conversation", conversation_id=convo.id))
    if form.validate_on_submit():
        try:
            until = monitoring.open_conversation(me, convo, form.reason.data or "")
        except ReasonRefused as refusal:
            form.reason.errors = list(form.reason.errors) + [refusal.message]
        else:
            keep_grant(me, convo, until)
            return redirect(url_for(".conversation", conversation_id=convo.id))
    return render("monitoring/open.html", convo=convo, form=form, count=monitoring.message_count(convo),
                  minutes=int(monitoring.GRANT_LENGTH.total_seconds() // 60))


@bp.route("/conversations/<int:conversation_id>")
@rule(senior_leader)
def conversation(conversation_id):
    """The conversation as it is, read-only: no composer, no live updates, nothing marked read."""
    me = _me()
    convo = _conversation(conversation_id)
    until = grant_ends(me, convo)
    if until is None:
        return redirect(url_for(".open_conversation", conversation_id=convo.id))
    before = request.args.get("before", type=int)
    page, more = messaging.messages_page(convo, before=before)
    return render("monitoring/conversation.html", block="earlier" if before else None, convo=convo,
                  page=page, more=more, me=me, until=until)
