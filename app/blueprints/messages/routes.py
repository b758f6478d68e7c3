"""Messaging: private conversations between staff and parents (about a child) or pupils.

Every action is a plain form that works with JavaScript off. With htmx an open conversation polls
every 25 seconds (204 while nothing changed), attachments upload one at a time with progress, and
the reader's "Seen" is recorded when the conversation is shown.
"""
from datetime import datetime

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ...extensions import db
from ...htmx import NothingNew, render
from ...models import Conversation, Message, Pupil, SchoolClass, User
from ...models.base import utcnow
from ...models.school import YEAR_GROUPS
from ...policies import can_view_class, get_or_404, rule, school_manager, signed_in, staff
from ...services import messaging
from ...services.media import UploadRefused, discard, store_upload
from ...services.messaging import MessageError
from ...services.moderation import WordsFound
from .forms import BroadcastForm, MessageForm, PupilMessagingForm, ReportForm

bp = Blueprint("messages", __name__, url_prefix="/messages")

POLL = "every 25s"  # a new message shows within 30 seconds


def _me():
    return current_user._get_current_object()


def _conversation(conversation_id):
    return get_or_404(Conversation, conversation_id, messaging.is_participant)


def _message(message_id):
    message = db.session.get(Message, message_id)
    if message is None:
        abort(404)
    _conversation(message.conversation_id)
    if not (messaging.shown_to_reader(message, _me())):  # held for review or removed: its sender's only
        abort(404)
    return message


def _language():
    """The language the sender wrote in: their "Written in" choice, else their interface language."""
    from ...services.translation import writing_language
    return writing_language(_me())


def _notice_for(staff_user, me):
    """What a family or a pupil should know before writing: quiet hours, away, reply promise."""
    if me.is_staff:
        return None
    from ...services.working_time import quiet_notice
    return quiet_notice(staff_user, utcnow())


# ---- the inbox --------------------------------------------------------------------------------------

@bp.route("/")
@rule(signed_in)
def inbox():
    me = _me()
    before = _cursor(request.args.get("before"))
    rows, cursor = messaging.inbox(me, before=before)
    enabled = not me.is_pupil or messaging.pupil_messaging_on(me)
    return render("messages/inbox.html", block="rows" if before else None, rows=rows,
                  cursor=_encode(cursor), enabled=enabled, me=me)


def _cursor(value):
    try:
        at, ident = (value or "").split("_")
        return datetime.fromisoformat(at), int(ident)
    except ValueError:
        return None


def _encode(cursor):
    return f"{cursor[0].isoformat()}_{cursor[1]}" if cursor else None


# ---- starting a conversation ------------------------------------------------------------------------

def _new_target(me):
    """(staff, pupil, parent) named by the URL or form for a new conversation, checked; or None."""
    values = request.values
    pupil = db.session.get(Pupil, values.get("pupil", type=int) or 0) if values.get("pupil") else None
    if me.is_pupil:
        staff_user = db.session.get(User, values.get("staff", type=int) or 0)
        if staff_user is None or not any(t.id == staff_user.id for t in messaging.teachers_of(me)):
            return None
        return staff_user, me, None
    if me.is_parent:
        if pupil is None or not messaging.parent_linked(me, pupil):
            return None
        staff_user = db.session.get(User, values.get("staff", type=int) or 0)
        if staff_user is None or not any(t.id == staff_user.id for t in messaging.teachers_of(pupil)):
            return None
        return staff_user, pupil, me
    if pupil is None:
        return None
    if values.get("parent"):
        parent_user = db.session.get(User, values.get("parent", type=int) or 0)
        if parent_user is None or not messaging.may_write(me, pupil, parent_user):
            return None
        return me, pupil, parent_user
    if not messaging.may_write(me, pupil):
        return None
    return me, pupil, None


@bp.route("/new", methods=["GET", "POST"])
@rule(signed_in)
def new():
    me = _me()
    if me.is_pupil and not messaging.pupil_messaging_on(me):
        return render("messages/off.html", status=404)
    if not any(k in request.values for k in ("pupil", "staff", "parent")):
        return _chooser(me)
    target = _new_target(me)
    if target is None:
        abort(404)
    staff_user, pupil, parent_user = target
    existing = messaging.find_conversation(staff_user, pupil, parent_user)
    if existing is not None and request.method == "GET":
        return redirect(url_for(".conversation", conversation_id=existing.id))
    form = MessageForm()
    if request.method == "GET":
        return _composer_page(form, None, staff_user, pupil, parent_user)
    return _send(form, None, staff_user, pupil, parent_user)


def _chooser(me):
    """Whom to write to: a parent picks a child and one of the child's teachers; a pupil picks a
    teacher; staff pick a class, then a family or a pupil."""
    if me.is_parent:
        choices = [(child, messaging.teachers_of(child)) for child in me.children]
        return render("messages/new.html", parent_choices=choices)
    if me.is_pupil:
        return render("messages/new.html", pupil_teachers=messaging.teachers_of(me))
    classes = messaging.classes_for(me)
    chosen = None
    if request.args.get("class", type=int):
        chosen = get_or_404(SchoolClass, request.args.get("class", type=int), can_view_class)
        if chosen.id not in {c.id for c in classes}:
            abort(404)
    elif len(classes) == 1:
        chosen = classes[0]
    families = messaging.recent_classes_parents(me, chosen) if chosen else []
    pupils_on = chosen is not None and messaging.pupil_messaging_on_for_class(chosen)
    return render("messages/new.html", classes=classes, chosen=chosen, families=families,
                  pupils_on=pupils_on)


# ---- a conversation ---------------------------------------------------------------------------------

@bp.route("/<int:conversation_id>", methods=["GET", "POST"])
@rule(signed_in)
def conversation(conversation_id):
    me = _me()
    convo = _conversation(conversation_id)
    form = MessageForm()
    if request.method == "POST":
        parent_user = convo.parent if convo.kind == "parent" else None
        return _send(form, convo, convo.staff, convo.pupil, parent_user)
    return _conversation_page(convo, me, form)


def _conversation_page(convo, me, form, *, messages=(), attachments=(), absence=False, status=200,
                       held_words=()):
    before = request.args.get("before", type=int) if request.method == "GET" else None
    page, more = messaging.messages_page(convo, reader=me)
    older_page, older_more = messaging.messages_page(convo, before=before, reader=me) if before else ([], False)
    context = dict(convo=convo, page=page, more=more, older_page=older_page, older_more=older_more,
                   hide_until=utcnow() - messaging.HIDE_WINDOW, me=me, form=form,
                   other=_other_side(convo, me), notice=_notice_for(convo.staff, me),
                   open_=messaging.still_open(convo), unread=messaging.unread_for(me, convo),
                   marker=messaging.live_marker(convo, me), problems=list(messages),
                   attachments=list(attachments), absence=absence, held_words=list(held_words))
    if before:
        return render("messages/conversation.html", block="earlier", **context)
    return render("messages/conversation.html", status=status, **context)


def _other_side(convo, me):
    if me.is_staff:
        return convo.parent if convo.kind == "parent" else convo.pupil
    return convo.staff


def _composer_page(form, convo, staff_user, pupil, parent_user, *, messages=(), attachments=(),
                   absence=False, status=200, held_words=()):
    me = _me()
    if convo is not None:
        return _conversation_page(convo, me, form, messages=messages, attachments=attachments,
                                  absence=absence, status=status, held_words=held_words)
    notice = _notice_for(staff_user, me)
    return render("messages/compose.html", status=status, form=form, staff_user=staff_user, pupil=pupil,
                  parent_user=parent_user, notice=notice, problems=list(messages),
                  attachments=list(attachments), absence=absence, me=me, held_words=list(held_words))


def _send(form, convo, staff_user, pupil, parent_user):
    """Send from a composer (a new conversation or a reply). Nothing typed is lost on a refusal."""
    me = _me()
    if not form.validate_on_submit() and "csrf_token" in form.errors:
        abort(400)
    attachments = messaging.staged_attachments(me, _ids(request.form.getlist("media")))
    problems = []
    for upload in request.files.getlist(form.files.name):
        if not upload or not upload.filename:
            continue
        try:
            attachments.append(_store_attachment(me, upload))
        except UploadRefused as refusal:
            problems.append(refusal.message)
    db.session.commit()
    removing = request.form.get("remove", "")
    if removing.isdigit():
        for media in [m for m in attachments if m.id == int(removing)]:
            attachments.remove(media)
            discard(media)
        db.session.commit()
        return _composer_page(form, convo, staff_user, pupil, parent_user, attachments=attachments)
    if problems:
        return _composer_page(form, convo, staff_user, pupil, parent_user, messages=problems,
                              attachments=attachments, status=422)
    # Files added without JavaScript: show them first ("Send it for a teacher to check" sends too).
    if request.form.get("action") != "send" and not form.held_ack.data:
        return _composer_page(form, convo, staff_user, pupil, parent_user, attachments=attachments)
    body = form.body.data or ""
    if me.is_parent and messaging.looks_like_absence(body) and not form.absence_ack.data:
        # Not sent yet: the family is reminded to tell the office as well, and sends again.
        return _composer_page(form, convo, staff_user, pupil, parent_user, attachments=attachments,
                              absence=True, status=200)
    try:
        message = messaging.send(me, staff=staff_user, pupil=pupil, parent=parent_user, body=body,
                                 media_list=attachments, language=_language(),
                                 request_key=request.form.get("request_key"), send_held=form.held_ack.data)
    except WordsFound as found:
        # Not sent yet: the sender is told kindly what was found and chooses (the text stays).
        db.session.rollback()
        return _composer_page(form, convo, staff_user, pupil, parent_user, attachments=attachments,
                              absence=bool(form.absence_ack.data), held_words=found.words)
    except MessageError as error:
        db.session.rollback()
        target = getattr(form, error.field, None) or form.body
        target.errors = list(target.errors) + [error.message]
        return _composer_page(form, convo, staff_user, pupil, parent_user, attachments=attachments,
                              status=422)
    return redirect(url_for(".conversation", conversation_id=message.conversation_id,
                            _anchor=f"m{message.id}"))


def _ids(values):
    return [int(v) for v in values if v.isdigit()][:messaging.MAX_ATTACHMENTS + 5]


def _store_attachment(me, upload):
    kwargs = {"uploaded_by_pupil": me} if me.is_pupil else {"uploaded_by": me}
    media = store_upload(upload, school_id=me.school_id, allow=("image", "document"), **kwargs)
    if media.is_document and media.content_type != "application/pdf":
        discard(media)
        raise UploadRefused(_("“%(name)s”: messages can carry photos and PDF files only.",
                              name=media.filename or upload.filename), upload.filename)
    return media


@bp.route("/uploads", methods=["POST"])
@rule(signed_in)
def upload():
    """One attachment from the composer (with JavaScript: one request per file, with progress and
    retry). Answers a small preview with the file's id for the form."""
    me = _me()
    if me.is_pupil and not messaging.pupil_messaging_on(me):
        abort(404)
    upload_file = request.files.get("file")
    if not upload_file or not upload_file.filename:
        return render("stories/_upload_error.html", status=422, message=_("Choose a file first."))
    try:
        media = _store_attachment(me, upload_file)
    except UploadRefused as refusal:
        db.session.rollback()
        return render("stories/_upload_error.html", status=422, message=refusal.message)
    db.session.commit()
    return render("messages/_attachment.html", media=media)


@bp.route("/<int:conversation_id>/live")
@rule(signed_in)
def live(conversation_id):
    """The open conversation, polled: 204 while nothing changed, else the latest messages."""
    me = _me()
    convo = _conversation(conversation_id)
    marker = messaging.live_marker(convo, me)
    if request.args.get("v") == marker:
        return NothingNew()
    page = messaging.messages_since(convo, request.args.get("since", type=int) or 0, reader=me)
    return render("messages/conversation.html", block="live", convo=convo, page=page, me=me,
                  marker=marker, unread=messaging.unread_for(me, convo), other=_other_side(convo, me),
                  hide_until=utcnow() - messaging.HIDE_WINDOW)


@bp.route("/<int:conversation_id>/read", methods=["POST"])
@rule(signed_in)
def read(conversation_id):
    me = _me()
    convo = _conversation(conversation_id)
    messaging.mark_read(me, convo)
    if request.htmx:
        return NothingNew()
    return redirect(url_for(".conversation", conversation_id=convo.id))


@bp.route("/m/<int:message_id>/hide", methods=["POST"])
@rule(signed_in)
def hide(message_id):
    me = _me()
    message = _message(message_id)
    try:
        messaging.hide(me, message)
        flash(_("The message is hidden. It stays in the school's record."), "success")
    except MessageError as error:
        flash(error.message, "error")
    return redirect(url_for(".conversation", conversation_id=message.conversation_id))


@bp.route("/m/<int:message_id>/report", methods=["GET", "POST"])
@rule(signed_in)
def report(message_id):
    me = _me()
    message = _message(message_id)
    form = ReportForm()
    if form.validate_on_submit():
        messaging.report(me, message, form.reason.data or "")
        flash(_("Thank you. A senior leader will look at this."), "success")
        return redirect(url_for(".conversation", conversation_id=message.conversation_id))
    return render("messages/report.html", form=form, message=message)


# ---- several families at once ----------------------------------------------------------------------

@bp.route("/broadcast/<int:class_id>", methods=["GET", "POST"])
@rule(staff)
def broadcast(class_id):
    me = _me()
    school_class = get_or_404(SchoolClass, class_id, can_view_class)
    if school_class.id not in {c.id for c in messaging.classes_for(me)}:
        abort(404)
    form = BroadcastForm()
    families = messaging.recent_classes_parents(me, school_class)
    chosen = {int(v) for v in request.form.getlist("pupils") if v.isdigit()}
    if form.validate_on_submit():
        try:
            sent = messaging.broadcast(me, school_class, sorted(chosen), body=form.body.data or "",
                                       language=_language(), request_key=request.form.get("request_key"),
                                       send_held=form.held_ack.data)
        except WordsFound as found:  # not sent yet: the sender chooses (the text and ticks stay)
            db.session.rollback()
            return render("messages/broadcast.html", form=form, school_class=school_class, families=families,
                          chosen=chosen, problem=None, held_words=found.words)
        except MessageError as error:
            db.session.rollback()
            if error.field == "pupils":
                problem = error.message
            else:
                form.body.errors = list(form.body.errors) + [error.message]
                problem = None
            return render("messages/broadcast.html", status=422, form=form, school_class=school_class,
                          families=families, chosen=chosen, problem=problem)
        flash(ngettext("Sent to %(num)d family, each in its own private conversation.",
                       "Sent to %(num)d families, each in their own private conversation.", sent), "success")
        return redirect(url_for(".inbox"))
    return render("messages/broadcast.html", form=form, school_class=school_class, families=families,
                  chosen=chosen, problem=None)


# ---- the school's setting ---------------------------------------------------------------------------

@bp.route("/settings", methods=["GET", "POST"])
@rule(school_manager)
def settings():
    me = _me()
    form = PupilMessagingForm()
    form.years.choices = [(value, str(label)) for value, label in YEAR_GROUPS]
    if form.validate_on_submit():
        messaging.set_pupil_messaging_years(me.school, form.years.data or [], me)
        flash(_("Pupil messaging has been saved."), "success")
        return redirect(url_for(".settings"))
    if request.method == "GET":
        form.years.data = sorted(messaging.pupil_messaging_years(me.school_id))
    return render("messages/settings.html", form=form)
