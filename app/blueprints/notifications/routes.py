"""Notifications (issue 9): the list, opening one, marking all read, each person's choices, and the
unsubscribe link from an email, which works without signing in.

Opening a notification and marking all read are real forms (POST), so they work with JavaScript
off; with htmx, "Mark all as read" swaps the list and the navigation's count in place. The
unsubscribe link's POST is exempt from CSRF: a mail client sends RFC 8058's one-click POST with no
cookies, and the signed token in the address is what proves the link is genuine.
"""
from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import refresh
from flask_login import current_user

from ...extensions import csrf, db, limiter
from ...htmx import render, wants_fragment
from ...models.base import utcnow
from ...models.notifications import EMAIL_DIGEST, EMAIL_NEVER, Notification
from ...policies import anyone, parent, rule, school_manager, staff
from ...services import notifications
from ...services.notifications import (
    KIND_LABELS,
    UNSUBSCRIBE_DIGEST,
    Choice,
    PreferenceError,
    UnsubscribeLinkError,
)
from .forms import preferences_form, unknown_kinds

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

ONE_CLICK = "One-Click"  # RFC 8058: the body a mail client sends is "List-Unsubscribe=One-Click"


def family_or_staff(account):
    """Parents and staff get notifications; pupils have none."""
    return parent(account) or staff(account)


def _me():
    return current_user._get_current_object()


# ---- the list ---------------------------------------------------------------------------------

@bp.route("/")
@rule(family_or_staff)
def index():
    me = _me()
    notifications.recount(me)  # mends a drifted count: the only write a GET makes here
    return _list_page(me)


def _list_page(me, block=None):
    return render("notifications/index.html", block=block, items=notifications.latest(me),
                  describe=notifications.describe, now=utcnow(), unread=me.unread_notifications)


@bp.route("/<int:notification_id>/open", methods=["POST"], endpoint="open")
@rule(family_or_staff)
def open_one(notification_id):
    me = _me()
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != me.id:
        abort(404)
    notifications.open_notification(me, notification)
    return redirect(notifications.link_for(notification))


@bp.route("/read-all", methods=["POST"])
@rule(family_or_staff)
def read_all():
    me = _me()
    notifications.mark_all_read(me)
    if wants_fragment():
        return _list_page(me, block="read_all_result")
    flash(_("All your notifications are marked as read."), "success")
    return redirect(url_for(".index"))


# ---- choices ----------------------------------------------------------------------------------

@bp.route("/settings", methods=["GET", "POST"])
@rule(family_or_staff)
def settings():
    me = _me()
    kinds = notifications.kinds_for(me)
    form = preferences_form(kinds, notifications.preferences_for(me))
    problem = None
    status = 200
    if request.method == "POST":
        unknown = unknown_kinds(request.form, kinds)
        if unknown:
            problem, status = _("Some of those choices are not available to you. Nothing was changed."), 400
        elif form.validate_on_submit():
            try:
                notifications.set_preferences(me, {kind: Choice(
                    bool(form[f"{kind}-in_app"].data), form[f"{kind}-email"].data) for kind in kinds})
            except PreferenceError:
                problem, status = _("Some of those choices are not available to you. Nothing was changed."), 400
            else:
                flash(_("Saved."), "success")
                return redirect(url_for(".settings"))
        else:
            problem, status = _("Please check the choices marked below. Nothing was changed."), 400
    return render("notifications/settings.html", status=status, form=form, kinds=kinds, me=me,
                  problem=problem, labels=KIND_LABELS, hints=notifications.hints_for(me),
                  digest_time=me.school.digest_time.strftime("%H:%M"))


# ---- unsubscribing from an email, without signing in ------------------------------------------

@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@rule(anyone)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"])
@csrf.exempt
def unsubscribe(token):
    try:
        user, what = notifications.read_unsubscribe_token(token)
    except UnsubscribeLinkError as error:
        return render_template("notifications/link_broken.html", expired=error.expired), (
            410 if error.expired else 404)
    # The page speaks the language the email was written in: the reader's, else their school's.
    g.reader_locale = user.locale or user.school.default_locale
    refresh()
    if request.method == "POST":
        changed = notifications.unsubscribe(user, what)
        if request.form.get("List-Unsubscribe") == ONE_CLICK:
            return render_template("notifications/unsubscribe.html", token=token, what=what,
                                   label=_label(what), still_on=False, done=True), 200
        return redirect(url_for(".unsubscribe", token=token, done=1 if changed else None), code=303)
    return render_template("notifications/unsubscribe.html", token=token, what=what, label=_label(what),
                           still_on=_still_on(user, what), done=bool(request.args.get("done")))


def _label(what):
    return None if what == UNSUBSCRIBE_DIGEST else KIND_LABELS[what]


def _still_on(user, what):
    """Whether the link has anything left to stop: email of that kind, or any digest."""
    choices = notifications.preferences_for(user)
    if what == UNSUBSCRIBE_DIGEST:
        return any(choice.email == EMAIL_DIGEST for choice in choices.values())
    return what in choices and choices[what].email != EMAIL_NEVER


# ---- for the school: email that did not arrive ------------------------------------------------

@bp.route("/problems")
@rule(school_manager)
def problems():
    return render("notifications/problems.html", deliveries=notifications.undelivered(_me().school_id))

