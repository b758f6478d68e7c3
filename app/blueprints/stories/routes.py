"""The Class Story: the feed for families, pupils and staff; posting with photos whose consent is
checked; likes, comments and "seen by". Media are served by /media with the same rules.

Every action is a plain form post that works with JavaScript off. With htmx, older posts load as
the reader scrolls, likes answer only the button, and photos upload one at a time with progress.
"""
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from ...extensions import db
from ...htmx import render, wants_fragment
from ...models import Comment, Post, Pupil, SchoolClass
from ...models.base import utcnow
from ...policies import (
    can_edit_post,
    can_post_to_class,
    can_respond,
    can_view_class,
    can_view_post,
    get_or_404,
    parent,
    record_refusal,
    rule,
    signed_in,
    staff,
)
from ...services import home_learning, monitoring, stories
from ...services.media import UploadRefused, store_upload
from ...services.moderation import WordsFound
from ...services.points import PointsError
from ...services.stories import ConsentRefused, PostDraft, StoryError
from ..main.routes import safe_next
from .forms import CommentForm, ConfirmForm, PostForm

bp = Blueprint("stories", __name__, url_prefix="/stories")

SEEN_COOKIE = "hearth_story_seen"


def _me():
    return current_user._get_current_object()


# ---- the feed ---------------------------------------------------------------------------------------

def _feed(classes, *, whole_school, title, school_class=None):
    me = _me()
    cursor = stories.decode_cursor(request.args.get("before")) if request.args.get("before") else None
    page = stories.feed_page(me, [c.id for c in classes], whole_school=whole_school, before=cursor)
    last_visit = _last_visit(me) if cursor is None else None
    context = dict(page=page, classes=classes, school_class=school_class, title=title,
                   last_visit=last_visit, comment_form=CommentForm(), button=ConfirmForm(),
                   nav_classes=_nav_classes(me) if cursor is None else [])
    if cursor is None and me.is_staff:
        class_ids = [c.id for c in classes]
        context["unfinished"] = stories.drafts_and_scheduled(me, class_ids, whole_school=me.is_senior)
        context["to_review"] = stories.photos_to_review(me, class_ids, whole_school=me.is_senior)
        context["can_post"] = [c for c in classes if can_post_to_class(me, c)]
    response = render("stories/feed.html", block="page" if cursor else None, **context)
    if cursor is None:
        response.set_cookie(SEEN_COOKIE, f"{me.get_id()}|{utcnow().strftime('%Y%m%d%H%M%S')}",
                            max_age=400 * 24 * 3600, samesite="Lax", httponly=True,
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


def _nav_classes(me):
    """The classes offered as chips above the feed: one's own (a parent's children's, a teacher's);
    senior leaders, who may look at any class (each look audited), every class of the school."""
    if me.is_staff and me.is_senior:
        return list(db.session.scalars(select(SchoolClass).where(
            SchoolClass.school_id == me.school_id, SchoolClass.archived_at.is_(None))
            .order_by(SchoolClass.year_group, SchoolClass.name)))
    return stories.feed_classes(me)


def _last_visit(me):
    """When this reader last opened the story on this device: posts since then are marked new."""
    raw = request.cookies.get(SEEN_COOKIE, "")
    owner, _sep, stamp = raw.rpartition("|")
    if owner != me.get_id():
        return None
    try:
        return datetime.strptime(stamp, "%Y%m%d%H%M%S")
    except ValueError:
        return None


@bp.route("/")
@rule(signed_in)
def feed():
    me = _me()
    classes = stories.feed_classes(me)
    chosen = request.args.get("class", type=int)
    if chosen is not None:
        return redirect(url_for(".class_feed", class_id=chosen))
    return _feed(classes, whole_school=True, title=_("Class Story"))


@bp.route("/class/<int:class_id>")
@rule(signed_in)
def class_feed(class_id):
    school_class = get_or_404(SchoolClass, class_id, can_view_class)
    if not request.args.get("before"):  # older posts loading as one scrolls are the same look
        monitoring.record_look(_me(), school_class, "story")
    return _feed([school_class], whole_school=True, school_class=school_class,
                 title=_("%(name)s's story", name=school_class.name))


@bp.route("/seen", methods=["POST"])
@rule(parent)
def seen():
    """Sent by the parent's feed once it has loaded: which posts it showed."""
    ids = [int(x) for x in request.form.get("posts", "").split(",") if x.strip().isdigit()]
    stories.record_seen(_me(), ids)
    return "", 204


# ---- one post ------------------------------------------------------------------------------------------

def _post(post_id, question=can_view_post):
    return get_or_404(Post, post_id, question)


def _comments_context(post, me):
    return dict(comments=stories.comments_for(post, me), can_comment=can_respond(me, True) and post.comments_enabled,
                can_moderate=can_edit_post(me, post))


@bp.route("/posts/<int:post_id>")
@rule(signed_in)
def post(post_id):
    me = _me()
    item = _post(post_id)
    card = stories.post_card(item, me)
    return render("stories/post.html", post=item, card=card, comment_form=CommentForm(), button=ConfirmForm(),
                  **_comments_context(item, me))


@bp.route("/posts/<int:post_id>/like", methods=["POST"])
@rule(signed_in)
def like(post_id):
    me = _me()
    item = _post(post_id)
    if not can_respond(me, True) or not item.is_live(utcnow()):
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    liked, count = stories.toggle_like(item, me)
    if wants_fragment():
        return render("stories/_like.html", post=item, liked=liked, likes=count, button=ConfirmForm())
    return redirect(safe_next(request.form.get("next"), "stories.feed") + f"#post-{item.id}")


@bp.route("/posts/<int:post_id>/comments", methods=["POST"])
@rule(signed_in)
def comment(post_id):
    me = _me()
    item = _post(post_id)
    if not can_respond(me, True) or not item.is_live(utcnow()):
        abort(404)
    form = CommentForm()
    if form.validate_on_submit():
        try:
            added = stories.add_comment(item, me, form.body.data, send_held=form.held_ack.data)
        except WordsFound as found:  # not added yet: the writer is told kindly and chooses
            card = stories.post_card(item, me)
            return render("stories/post.html", block="comments", post=item, card=card, comment_form=form,
                          button=ConfirmForm(), held_words=found.words, **_comments_context(item, me))
        except StoryError as error:
            form.body.errors = [error.message]
        else:
            if wants_fragment():
                # A fresh, empty box: a form built in a POST would otherwise refill it from the request.
                return render("stories/post.html", block="comments", post=item,
                              comment_form=CommentForm(formdata=None), button=ConfirmForm(),
                              **_comments_context(item, me))
            flash(_("Your comment has been added.") if added.held_at is None else
                  _("Your comment is waiting for a teacher to check it."), "success")
            return redirect(url_for(".post", post_id=item.id) + "#comments")
    card = stories.post_card(item, me)
    return render("stories/post.html", block="comments", status=422, post=item, card=card, comment_form=form,
                  button=ConfirmForm(), **_comments_context(item, me))


def _moderated_comment(comment_id):
    comment = db.session.get(Comment, comment_id)
    post = db.session.get(Post, comment.post_id) if comment and comment.post_id else None
    if post is None or not can_edit_post(_me(), post):
        if comment is not None:
            record_refusal(request.endpoint, "comment", comment_id)
        abort(404)
    return comment, post


@bp.route("/comments/<int:comment_id>/hide", methods=["POST"])
@rule(staff)
def hide_comment(comment_id):
    comment, post = _moderated_comment(comment_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    hide = request.form.get("hide", "1") == "1"
    stories.set_comment_hidden(comment, _me(), hide)
    flash(_("The comment is hidden from families.") if hide else _("The comment is shown again."), "success")
    return redirect(url_for(".post", post_id=post.id) + "#comments")


@bp.route("/comments/<int:comment_id>/delete", methods=["POST"])
@rule(staff)
def delete_comment(comment_id):
    comment, post = _moderated_comment(comment_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    stories.delete_comment(comment, _me())
    flash(_("The comment has been deleted."), "success")
    return redirect(url_for(".post", post_id=post.id) + "#comments")


@bp.route("/posts/<int:post_id>/comments-setting", methods=["POST"])
@rule(staff)
def comments_setting(post_id):
    item = _post(post_id, can_edit_post)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    enabled = request.form.get("enabled") == "1"
    stories.set_comments_enabled(item, _me(), enabled)
    flash(_("Comments are on for this post.") if enabled else _("Comments are off for this post."), "success")
    return redirect(url_for(".post", post_id=item.id))


@bp.route("/posts/<int:post_id>/pin", methods=["POST"])
@rule(staff)
def pin(post_id):
    item = _post(post_id, can_edit_post)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    pinned = request.form.get("pinned") == "1"
    stories.set_pinned(item, _me(), pinned)
    flash(_("The post is pinned to the top of the story.") if pinned else _("The post is no longer pinned."),
          "success")
    return redirect(safe_next(request.form.get("next"), "stories.feed"))


@bp.route("/posts/<int:post_id>/delete", methods=["GET", "POST"])
@rule(staff)
def delete(post_id):
    item = _post(post_id, can_edit_post)
    form = ConfirmForm()
    if form.validate_on_submit():
        target = (url_for(".class_feed", class_id=item.class_id) if item.class_id else url_for(".feed"))
        stories.delete_post(item, _me())
        flash(_("The post has been deleted."), "success")
        return redirect(target)
    return render("stories/delete.html", post=item, form=form)


@bp.route("/posts/<int:post_id>/history")
@rule(staff)
def history(post_id):
    item = _post(post_id, can_edit_post)
    return render("stories/history.html", post=item)


@bp.route("/review")
@rule(staff)
def review():
    me = _me()
    classes = stories.feed_classes(me)
    posts = stories.photos_to_review(me, [c.id for c in classes], whole_school=me.is_senior)
    return render("stories/review.html", posts=posts)


# ---- home learning: who has handed work in ------------------------------------------------------------

def _task(post_id):
    """A home-learning post for a class, looked up for someone who may edit it."""
    item = _post(post_id, can_edit_post)
    if not home_learning.is_task(item):
        abort(404)
    return item


def _hand_ins_page(item, ticked=None, message=None, status=200):
    found = home_learning.hand_ins(item)
    return render("stories/hand_ins.html", status=status, post=item, found=found,
                  ticked=found.to_award if ticked is None else ticked, message=message)


@bp.route("/posts/<int:post_id>/hand-ins")
@rule(staff)
def hand_ins(post_id):
    return _hand_ins_page(_task(post_id))


@bp.route("/posts/<int:post_id>/hand-ins/award", methods=["POST"])
@rule(staff)
def award_hand_ins(post_id):
    item = _task(post_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    ticked = {int(v) for v in request.form.getlist("pupil") if v.isdigit()}
    try:
        awards, skipped = home_learning.award_for_task(item, _me(), ticked)
    except PointsError as error:
        return _hand_ins_page(item, ticked=ticked, message=str(error), status=422)
    if awards:
        flash(ngettext("A home-learning point for %(num)d pupil.", "A home-learning point each for %(num)d pupils.",
                       len(awards)), "success")
    if skipped:
        flash(ngettext("%(num)d pupil already had a point for this task: none added.",
                       "%(num)d pupils already had a point for this task: none added.", len(skipped)), "info")
    return redirect(url_for(".hand_ins", post_id=item.id))


# ---- writing a post --------------------------------------------------------------------------------

def _audiences(me):
    """Where this member of staff may post: their classes; senior leaders any class or the school."""
    if me.is_senior:
        classes = list(db.session.scalars(select(SchoolClass).where(
            SchoolClass.school_id == me.school_id, SchoolClass.archived_at.is_(None))
            .order_by(SchoolClass.year_group, SchoolClass.name)))
        choices = [("school", _("The whole school"))]
    else:
        classes = [c for c in me.classes if c.archived_at is None]
        choices = []
    return classes, choices + [(str(c.id), c.name) for c in classes]


def _chosen_class(me, value, classes):
    """The class a post goes to (None: the whole school), checked against what this user may do."""
    if value == "school":
        if not can_post_to_class(me, None):
            abort(404)
        return None
    try:
        class_id = int(value)
    except (TypeError, ValueError):
        abort(404)
    for school_class in classes:
        if school_class.id == class_id and can_post_to_class(me, school_class):
            return school_class
    record_refusal(request.endpoint, "school_class", class_id)
    abort(404)


def _form_draft(form):
    ids = []
    for raw in request.form.getlist("media"):
        if raw.isdigit() and int(raw) not in ids:
            ids.append(int(raw))
    draft = PostDraft(kind=form.kind.data or "news", body=form.body.data or "",
                      comments_enabled=bool(form.comments_enabled.data), media_ids=ids)
    for mid in ids:
        draft.tags[mid] = {int(v) for v in request.form.getlist(f"tag-{mid}") if v.isdigit()}
        if request.form.get(f"nochild-{mid}"):
            draft.no_child.add(mid)
        draft.alt[mid] = request.form.get(f"alt-{mid}", "")
    return draft


def _post_draft(post):
    draft = PostDraft(kind=post.kind, body=post.body, comments_enabled=post.comments_enabled,
                      media_ids=[m.id for m in post.media])
    for media in post.media:
        draft.tags[media.id] = media.tagged_pupil_ids
        if media.no_child_confirmed:
            draft.no_child.add(media.id)
        draft.alt[media.id] = media.alt_text
    return draft


def _publish_at(form, action, school):
    """The UTC time to publish at, from the schedule field read in the school's time zone."""
    if action == "publish":
        return utcnow()
    if action != "schedule":
        return None
    if not form.publish_at.data:
        raise StoryError(_("Choose the day and time to publish."), "publish_at")
    local = form.publish_at.data.replace(tzinfo=ZoneInfo(school.timezone))
    when = local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    if when <= utcnow():
        raise StoryError(_("Choose a time in the future, or publish now."), "publish_at")
    return when


def _editor(post=None):
    me = _me()
    school = me.school
    classes, choices = _audiences(me)
    form = PostForm()
    form.audience.choices = choices
    if post is None and not choices:
        abort(404)
    if request.method == "GET":
        if post is None:
            wanted = request.args.get("class")
            if wanted and any(value == wanted for value, _label in choices):
                form.audience.data = wanted
            draft = PostDraft(kind=request.args.get("kind", "news"), body="")
            form.kind.data = draft.kind if draft.kind in dict(form.kind.choices) else "news"
        else:
            draft = _post_draft(post)
            form.kind.data, form.body.data, form.comments_enabled.data = post.kind, post.body, post.comments_enabled
        school_class = (post.school_class if post else
                        _chosen_class(me, form.audience.data or choices[0][0], classes))
        media_list = stories.staged_media(me, draft.media_ids)
        problems, messages = (), ()
        if post is not None and post.published_at is not None:
            # Consent may have changed since publishing: show the teacher which photos are now
            # hidden from other families, with the same choices as at publishing.
            pupils = stories.taggable_pupils(school, school_class)
            problems = stories.consent_problems(media_list, {p.id: p for p in pupils})
            if problems:
                messages = [_("Some photos in this post are hidden from other families: a child in them "
                              "has no photo consent now. Remove them, or move each to the child's own story.")]
        return _editor_page(form, post, school_class, draft, media_list, problems=problems, messages=messages)

    if not form.validate_on_submit():
        if form.errors.keys() == {"csrf_token"}:
            abort(400)
    first = stories.post_with_key(me, request.form.get("request_key")) if post is None else None
    if first is not None:  # this form was sent before (a double tap, a retry): show what it made
        return redirect(url_for(".edit", post_id=first.id) if first.published_at is None
                        else url_for(".post", post_id=first.id))
    school_class = post.school_class if post else _chosen_class(me, form.audience.data, classes)
    draft = _form_draft(form)
    media_list = [m for m in stories.staged_media(me, draft.media_ids) if stories.media_belongs(m, me, post)]
    draft.media_ids = [m.id for m in media_list]
    messages = []

    # New files sent with the form (JavaScript off, or a retry): each becomes a staged upload now,
    # so nothing is lost if something else on the form needs fixing.
    new_media = []
    for upload in request.files.getlist(form.files.name):
        if not upload or not upload.filename:
            continue
        try:
            media = store_upload(upload, school_id=school.id, uploaded_by=me)
        except UploadRefused as refusal:
            messages.append(refusal.message)
            continue
        new_media.append(media)
    if new_media:
        db.session.commit()
        media_list += new_media
        draft.media_ids += [m.id for m in new_media]

    action = request.form.get("action", "")
    if request.form.get("remove", "").isdigit():
        removing = int(request.form["remove"])
        for media in list(media_list):
            if media.id == removing:
                media_list.remove(media)
                draft.media_ids.remove(media.id)
                stories.remove_staged(me, media)
        action = "edit"
    own = request.form.get("own_story", "")
    if own:
        return _to_own_story(form, post, school_class, draft, media_list, own)
    if new_media or messages or action not in ("draft", "publish", "schedule", "save"):
        if new_media:
            messages.insert(0, ngettext("%(num)d file added. Tap who appears in each photo.",
                                        "%(num)d files added. Tap who appears in each photo.", len(new_media)))
        return _editor_page(form, post, school_class, draft, media_list, messages=messages,
                            status=422 if messages and not new_media else 200)
    if form.errors:
        return _editor_page(form, post, school_class, draft, media_list, status=422)

    pupils = stories.taggable_pupils(school, school_class)
    try:
        if action == "save" and post is not None and post.is_live(utcnow()):
            publish_at = post.published_at
        elif action == "save" and post is not None and post.is_scheduled(utcnow()):
            publish_at = post.published_at
        else:
            publish_at = _publish_at(form, action, school)
        saved = stories.save_post(post, author=me, school=school, school_class=school_class, draft=draft,
                                  media_list=media_list, pupils_by_id={p.id: p for p in pupils},
                                  publish_at=publish_at, request_key=request.form.get("request_key"))
    except ConsentRefused as refusal:
        db.session.commit()  # the tags chosen so far stay on the uploads
        return _editor_page(form, post, school_class, draft, media_list, problems=refusal.problems,
                            messages=[refusal.message], status=422)
    except StoryError as error:
        db.session.rollback()
        target = getattr(form, error.field, None) if error.field else None
        if target is not None and error.field not in ("media",):
            target.errors = list(target.errors) + [error.message]
            return _editor_page(form, post, school_class, draft, media_list, status=422)
        return _editor_page(form, post, school_class, draft, media_list, messages=[error.message], status=422)
    state = stories.post_state(saved)
    if state == "draft":
        flash(_("Saved as a draft. Only staff can see it."), "success")
        return redirect(url_for(".edit", post_id=saved.id))
    if state == "scheduled":
        flash(_("Scheduled. It will appear on the story at the time you chose."), "success")
    else:
        flash(_("Your post is on the story.") if post is None else _("Your changes are saved."), "success")
    return redirect(url_for(".post", post_id=saved.id))


def _to_own_story(form, post, school_class, draft, media_list, value):
    """The Class Story refused a photo for want of consent: put it on that pupil's own story."""
    me = _me()
    try:
        media_id, pupil_id = (int(x) for x in value.split(":", 1))
    except ValueError:
        abort(400)
    media = next((m for m in media_list if m.id == media_id), None)
    pupil = db.session.get(Pupil, pupil_id)
    pupils = stories.taggable_pupils(me.school, school_class)
    by_id = {p.id: p for p in pupils}
    if media is None or pupil is None or pupil_id not in by_id:
        abort(404)
    stories.apply_media_choices([media], draft, by_id)
    problems = stories.consent_problems([media], by_id)
    if not problems or problems[0].own_story_pupil is None or problems[0].own_story_pupil.id != pupil_id:
        abort(400)
    stories.move_to_own_story(media, pupil, me, caption=form.body.data or "")
    media_list = [m for m in media_list if m.id != media_id]
    draft.media_ids = [m.id for m in media_list]
    message = _("The photo is on %(name)s's own story: only their family and staff see it.",
                name=pupil.display_name)
    return _editor_page(form, post, school_class, draft, media_list, messages=[message], done=True)


def _editor_page(form, post, school_class, draft, media_list, *, problems=(), messages=(), status=200,
                 done=False):
    me = _me()
    pupils = stories.taggable_pupils(me.school, school_class)
    return render("stories/edit.html", status=status, form=form, post=post, school_class=school_class,
                  draft=draft, media_list=media_list, pupils=pupils,
                  problems={p.media.id: p for p in problems}, messages=messages, done=done,
                  now=utcnow(), whole_school=school_class is None, single_audience=len(form.audience.choices) == 1,
                  failed=status == 422 or bool(problems))


@bp.route("/new", methods=["GET", "POST"])
@rule(staff)
def new():
    return _editor()


@bp.route("/posts/<int:post_id>/edit", methods=["GET", "POST"])
@rule(staff)
def edit(post_id):
    return _editor(_post(post_id, can_edit_post))


@bp.route("/uploads", methods=["POST"])
@rule(staff)
def upload():
    """One file from the editor (with JavaScript: one request per file, with progress and retry).
    Answers the file's card for the editor, with its tagging choices."""
    me = _me()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    classes, choices = _audiences(me)
    school_class = _chosen_class(me, request.form.get("audience") or (choices[0][0] if choices else ""), classes)
    upload_file = request.files.get("file")
    if not upload_file or not upload_file.filename:
        return render("stories/_upload_error.html", status=422, message=_("Choose a file to upload."))
    try:
        media = store_upload(upload_file, school_id=me.school_id, uploaded_by=me)
    except UploadRefused as refusal:
        return render("stories/_upload_error.html", status=422, message=refusal.message)
    db.session.commit()
    pupils = stories.taggable_pupils(me.school, school_class)
    return render("stories/_media_item.html", media=media, pupils=pupils, draft=PostDraft(kind="news", body=""),
                  problems={}, whole_school=school_class is None)



@bp.app_template_test("editable_post")
def _editable(post):
    return current_user.is_authenticated and can_edit_post(current_user, post)


@bp.app_template_global("now_utc")
def _now_utc():
    return utcnow()
