"""Pupils' own stories and the class's Student Story.

A pupil adds photos of their work or a short piece of writing; the teachers of the class approve
it, send it back with a kind note, and decide whether it is shared with the class. Teachers add
photos or notes that only one family sees. Families like and comment.
"""
from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

from ...extensions import db
from ...htmx import render, wants_fragment
from ...models import PortfolioItem, Post, Pupil, SchoolClass
from ...policies import (
    can_award_points,
    can_manage_class,
    can_respond,
    can_view_class,
    can_view_portfolio_item,
    can_view_pupil,
    get_or_404,
    pupil,
    record_refusal,
    rule,
    same_school,
    signed_in,
    staff,
    teaches,
)
from ...services import monitoring, portfolio, stories
from ...services.media import UploadRefused, store_upload
from ...services.moderation import WordsFound
from ...services.stories import StoryError
from ..main.routes import safe_next
from ..stories.forms import CommentForm, ConfirmForm
from .forms import ClassOptionsForm, PupilItemForm, SendBackForm, TeacherItemForm

bp = Blueprint("portfolio", __name__, url_prefix="/portfolio")

# One tap sends work back with one of these (the teacher can also write their own).
SEND_BACK_SUGGESTIONS = {
    "photo": _l("Could you take the photo again? It is a bit hard to see."),
    "more": _l("A lovely start! Can you add a little more and send it again?"),
    "talk": _l("Come and tell me about this one in class."),
}


def _me():
    return current_user._get_current_object()


def _ids(values, limit=200):
    ids = []
    for raw in values[:limit]:
        if raw.isdigit() and int(raw) not in ids:
            ids.append(int(raw))
    return ids


def _cursor():
    value = request.args.get("before")
    return portfolio.decode_cursor(value) if value else None


# ---- object questions of this blueprint ---------------------------------------------------------

def can_add_to_story(account, pupil_obj):
    """Staff who teach the pupil (or senior leaders) add photos and notes to the pupil's story."""
    return can_award_points(account, pupil_obj) and pupil_obj.status == "active"


def can_review_class(account, school_class):
    """The class's teachers, and senior leaders, look at its pupils' work."""
    return bool(same_school(account, school_class) and account.is_staff and account.is_active
                and (account.is_senior or teaches(account, school_class)))


def can_review_item(account, item):
    """Approve, send back or share a pupil's own work: the teachers of the pupil's class and senior
    leaders. Anyone else gets 404 and nothing changes."""
    return bool(item.by_pupil and same_school(account, item) and item.pupil is not None
                and can_review_class(account, item.pupil.school_class))


def can_view_student_story(account, school_class):
    """The Student Story of a class: its pupils and staff who see the class; families do not."""
    return not account.is_parent and can_view_class(account, school_class)


@bp.app_template_global("student_work_waiting")
def student_work_waiting(school_class):
    """The number on a class page's "Student work" link; None for those who do not review it."""
    if not can_review_class(current_user, school_class):
        return None
    return portfolio.waiting_count(current_user, school_class)


# ---- a pupil's own story ----------------------------------------------------------------------------

@bp.route("/pupils/<int:pupil_id>")
@rule(signed_in)
def pupil_story(pupil_id):
    me = _me()
    pupil_obj = get_or_404(Pupil, pupil_id, can_view_pupil)
    cursor = _cursor()
    items, next_cursor, cards = portfolio.items_page(me, pupil_obj, before=cursor)
    form = TeacherItemForm() if can_add_to_story(me, pupil_obj) else None
    return render("portfolio/pupil.html", block="page" if cursor else None, pupil=pupil_obj, items=items,
                  cards=cards, next_cursor=next_cursor, form=form, messages=[],
                  can_add=me.is_pupil and portfolio.pupil_may_add(me))


@bp.route("/pupils/<int:pupil_id>/items", methods=["POST"])
@rule(staff)
def add_item(pupil_id):
    me = _me()
    pupil_obj = get_or_404(Pupil, pupil_id, can_add_to_story)
    form = TeacherItemForm()
    messages = []
    if form.validate_on_submit():
        media_list = []
        for upload in request.files.getlist(form.files.name):
            if not upload or not upload.filename:
                continue
            try:
                media_list.append(store_upload(upload, school_id=me.school_id, uploaded_by=me,
                                               allow=("image", "video")))
            except UploadRefused as refusal:
                messages.append(refusal.message)
        if not messages:
            try:
                portfolio.add_teacher_item(pupil_obj, me, form.body.data, media_list)
            except StoryError as error:
                form.body.errors = [error.message]
            else:
                flash(_("Added to %(name)s's story. Only their family and staff can see it.",
                        name=pupil_obj.display_name), "success")
                return redirect(url_for(".pupil_story", pupil_id=pupil_obj.id))
        for media in media_list:
            stories.remove_staged(me, media)
        db.session.rollback()
    elif form.errors.keys() == {"csrf_token"}:
        abort(400)
    items, next_cursor, cards = portfolio.items_page(me, pupil_obj)
    return render("portfolio/pupil.html", status=422, pupil=pupil_obj, items=items, cards=cards,
                  next_cursor=next_cursor, form=form, messages=messages, can_add=False)


# ---- a pupil adds their work ------------------------------------------------------------------

def _adding_pupil():
    """The signed-in pupil, when their class has pupil uploads on; else 404 (as if it did not exist)."""
    me = _me()
    if not portfolio.pupil_may_add(me):
        record_refusal(request.endpoint)
        abort(404)
    return me


def _new_page(form, writing, media_list, tasks, messages=(), status=200):
    return render("portfolio/new.html", status=status, form=form, writing=writing, media_list=media_list,
                  tasks=tasks, messages=messages, automatic=_me().school_class.auto_approve_portfolio)


@bp.route("/new", methods=["GET", "POST"])
@rule(pupil)
def new_item():
    me = _adding_pupil()
    form = PupilItemForm()
    tasks = portfolio.home_learning_tasks(me)
    mode = request.form.get("mode") if request.method == "POST" else request.args.get("mode")
    writing = mode == "write"
    if writing:
        form.body.label.text = _("My writing")
    if request.method == "GET":
        return _new_page(form, writing, [], tasks)
    if not form.validate_on_submit() and "csrf_token" in form.errors:
        abort(400)

    # Photos uploaded one at a time come back as ids; photos sent with the form (JavaScript off) are
    # stored now, so that nothing is lost when something else needs fixing.
    media_list = [] if writing else portfolio.staged_pupil_media(me, _ids(request.form.getlist("media")))
    messages, added = [], 0
    for upload in ([] if writing else request.files.getlist(form.files.name)):
        if not upload or not upload.filename:
            continue
        try:
            media_list.append(store_upload(upload, school_id=me.school_id, uploaded_by_pupil=me,
                                           allow=("image",)))
            added += 1
        except UploadRefused as refusal:
            messages.append(refusal.message)
    if added:
        db.session.commit()
    removing = request.form.get("remove", "")
    if removing.isdigit():
        for media in [m for m in media_list if m.id == int(removing)]:
            media_list.remove(media)
            portfolio.remove_pupil_upload(me, media)
        return _new_page(form, writing, media_list, tasks)
    if messages or form.errors or request.form.get("action") != "send":
        return _new_page(form, writing, media_list, tasks, messages=messages,
                         status=422 if messages or form.errors else 200)

    chosen = form.home_learning.data or ""
    task = next((t for t in tasks if str(t.id) == chosen), None)
    if chosen and task is None:
        form.home_learning.errors = [_("Choose one of the home learning tasks.")]
        return _new_page(form, writing, media_list, tasks, status=422)
    try:
        item = portfolio.add_pupil_item(me, body=form.body.data, media_list=media_list,
                                        share_requested=form.share.data, task=task)
    except StoryError as error:
        db.session.rollback()
        target = getattr(form, error.field or "body", None) or form.body
        target.errors = list(target.errors) + [error.message]
        return _new_page(form, writing, media_list, tasks, status=422)
    if item.approved:
        flash(_("It is on your story!"), "success")
    else:
        flash(_("Sent to your teacher!"), "success")
    return redirect(url_for(".pupil_story", pupil_id=me.id))


@bp.route("/uploads", methods=["POST"])
@rule(pupil)
def upload():
    """One photo from the pupil's form (with JavaScript: one request per photo, with progress and
    retry). Answers a small preview with the photo's id for the form."""
    me = _adding_pupil()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    upload_file = request.files.get("file")
    if not upload_file or not upload_file.filename:
        return render("stories/_upload_error.html", status=422, message=_("Choose a photo first."))
    try:
        media = store_upload(upload_file, school_id=me.school_id, uploaded_by_pupil=me, allow=("image",))
    except UploadRefused as refusal:
        return render("stories/_upload_error.html", status=422, message=refusal.message)
    db.session.commit()
    return render("portfolio/_upload.html", media=media)


# ---- teachers look at pupils' work ------------------------------------------------------------------

def _back(default="portfolio.queue"):
    return redirect(safe_next(request.form.get("next"), default))


def _queue_page(school_class=None, errors=None, notes=None, status=200):
    me = _me()
    class_ids = [school_class.id] if school_class else portfolio.reviewable_class_ids(me)
    queue = portfolio.review_queue(me, class_ids)
    own = [c for c in me.classes if c.archived_at is None]
    return render("portfolio/queue.html", status=status, queue=queue, school_class=school_class, classes=own,
                  errors=errors or {}, notes=notes or {}, suggestions=SEND_BACK_SUGGESTIONS)


@bp.route("/queue")
@rule(staff)
def queue():
    chosen = request.args.get("class", "")
    school_class = None
    if chosen:
        if not chosen.isdigit():
            abort(404)
        school_class = get_or_404(SchoolClass, int(chosen), can_review_class)
    return _queue_page(school_class)


@bp.route("/queue/approve", methods=["POST"])
@rule(staff)
def approve_selected():
    """Approve several pieces of work at once. One that this teacher may not approve refuses the
    whole request (404) and nothing changes. Sharing is left to decide for each piece."""
    me = _me()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    ids = _ids(request.form.getlist("item"), limit=portfolio.QUEUE_LIMIT * 2)
    entries = [get_or_404(PortfolioItem, ident, can_review_item) for ident in ids]
    if not entries:
        flash(_("Tick the work you want to approve first."), "error")
        return _back()
    done = portfolio.approve(entries, me)
    flash(ngettext("%(num)d piece of work approved.", "%(num)d pieces of work approved.", len(done)), "success")
    return _back()


@bp.route("/items/<int:item_id>/approve", methods=["POST"])
@rule(staff)
def approve(item_id):
    me = _me()
    entry = get_or_404(PortfolioItem, item_id, can_review_item)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    share = {"yes": True, "no": False}.get(request.form.get("share", ""))
    portfolio.approve([entry], me, share=share)
    if entry.shared:
        flash(_("Approved and shared with the class."), "success")
    else:
        flash(_("Approved. %(name)s's family can see it now.", name=entry.pupil.display_name), "success")
    return _back()


@bp.route("/items/<int:item_id>/send-back", methods=["POST"])
@rule(staff)
def send_back(item_id):
    me = _me()
    entry = get_or_404(PortfolioItem, item_id, can_review_item)
    form = SendBackForm()
    if not form.validate_on_submit() and "csrf_token" in form.errors:
        abort(400)
    suggestion = SEND_BACK_SUGGESTIONS.get(request.form.get("suggestion", ""))
    note = str(suggestion) if suggestion is not None else (form.note.data or "")
    try:
        if form.note.errors and suggestion is None:
            raise StoryError(form.note.errors[0], "note")
        portfolio.send_back(entry, me, note)
    except StoryError as error:
        db.session.rollback()
        if request.form.get("on") == "item":
            return _item_page(entry, status=422, review_error=error.message, review_note=note)
        return _queue_page(errors={entry.id: error.message}, notes={entry.id: note}, status=422)
    flash(_("Sent back to %(name)s with your note.", name=entry.pupil.display_name), "success")
    return _back()


@bp.route("/items/<int:item_id>/sharing", methods=["POST"])
@rule(staff)
def sharing(item_id):
    me = _me()
    entry = get_or_404(PortfolioItem, item_id, can_review_item)
    decision = request.form.get("share", "")
    if not ConfirmForm().validate_on_submit() or decision not in ("yes", "no"):
        abort(400)
    portfolio.decide_sharing(entry, me, decision == "yes")
    flash(_("Shared with the class.") if entry.shared else
          _("Kept private: %(name)s's family and staff still see it.", name=entry.pupil.display_name), "success")
    return _back()


# ---- the class's Student Story and its settings -------------------------------------------------

@bp.route("/class/<int:class_id>")
@rule(signed_in)
def class_story(class_id):
    me = _me()
    school_class = get_or_404(SchoolClass, class_id, can_view_student_story)
    cursor = _cursor()
    if cursor is None:  # older items loading as one scrolls are the same look
        monitoring.record_look(me, school_class, "student-story")
    items, next_cursor, cards = portfolio.class_story_page(me, school_class, before=cursor)
    options = None
    if can_manage_class(me, school_class):
        options = ClassOptionsForm(data={"pupil_uploads_enabled": school_class.pupil_uploads_enabled,
                                         "auto_approve_portfolio": school_class.auto_approve_portfolio})
    return render("portfolio/class.html", block="page" if cursor else None, school_class=school_class,
                  items=items, cards=cards, next_cursor=next_cursor, options=options,
                  can_review=can_review_class(me, school_class))


@bp.route("/class/<int:class_id>/settings", methods=["POST"])
@rule(staff)
def class_settings(class_id):
    me = _me()
    school_class = get_or_404(SchoolClass, class_id, can_manage_class)
    form = ClassOptionsForm()
    if not form.validate_on_submit():
        abort(400)
    portfolio.set_class_options(school_class, me, pupil_uploads_enabled=form.pupil_uploads_enabled.data,
                                auto_approve=form.auto_approve_portfolio.data)
    flash(_("Student Story settings saved for %(name)s.", name=school_class.name), "success")
    return redirect(url_for(".class_story", class_id=school_class.id))


# ---- one item, likes and comments --------------------------------------------------------------------

def _item(item_id):
    return get_or_404(PortfolioItem, item_id, can_view_portfolio_item)


def _item_page(entry, status=200, comment_form=None, review_error=None, review_note=None, held_words=()):
    me = _me()
    card = portfolio.decorate_items([entry], me)[entry.id]
    task = None
    if entry.home_learning_post_id and not me.is_parent:
        task = db.session.get(Post, entry.home_learning_post_id)
    return render("portfolio/item.html", status=status, item=entry, card=card, task=task,
                  comments=portfolio.item_comments(entry, me), can_comment=can_respond(me, entry.approved),
                  comment_form=comment_form or CommentForm(), can_review=can_review_item(me, entry),
                  suggestions=SEND_BACK_SUGGESTIONS, errors={entry.id: review_error} if review_error else {},
                  notes={entry.id: review_note} if review_note else {}, held_words=list(held_words))


@bp.route("/items/<int:item_id>")
@rule(signed_in)
def item(item_id):
    return _item_page(_item(item_id))


@bp.route("/items/<int:item_id>/like", methods=["POST"])
@rule(signed_in)
def like(item_id):
    me = _me()
    entry = _item(item_id)
    if not can_respond(me, entry.approved) or not ConfirmForm().validate_on_submit():
        abort(404 if not can_respond(me, entry.approved) else 400)
    liked, count = stories.toggle_like(entry, me)
    if wants_fragment():
        return render("portfolio/_like.html", item=entry, liked=liked, likes=count)
    return redirect(safe_next(request.form.get("next"), "main.home") + f"#item-{entry.id}")


@bp.route("/items/<int:item_id>/comments", methods=["POST"])
@rule(signed_in)
def comment(item_id):
    me = _me()
    entry = _item(item_id)
    if not can_respond(me, entry.approved):
        abort(404)
    form = CommentForm()
    if form.validate_on_submit():
        try:
            added = stories.add_comment(entry, me, form.body.data, send_held=form.held_ack.data)
        except WordsFound as found:  # not added yet: the writer is told kindly and chooses
            return _item_page(entry, comment_form=form, held_words=found.words)
        except StoryError as error:
            form.body.errors = [error.message]
        else:
            flash(_("Your comment has been added.") if added.held_at is None else
                  _("Your comment is waiting for a teacher to check it."), "success")
            return redirect(url_for(".item", item_id=entry.id) + "#comments")
    return _item_page(entry, status=422, comment_form=form)


from . import keepsake  # noqa: E402,F401
