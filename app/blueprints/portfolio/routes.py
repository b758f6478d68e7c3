"""A pupil's own story: what the pupil's family, the pupil and staff see of one child's work,
and photos or notes a teacher adds for that family only."""
from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...extensions import db
from ...htmx import render, wants_fragment
from ...models import PortfolioItem, Pupil
from ...policies import (
    can_award_points,
    can_respond,
    can_view_portfolio_item,
    can_view_pupil,
    get_or_404,
    rule,
    signed_in,
    staff,
)
from ...services import portfolio, stories
from ...services.media import UploadRefused, store_upload
from ...services.stories import StoryError
from ..main.routes import safe_next
from ..stories.forms import CommentForm, ConfirmForm
from .forms import TeacherItemForm

bp = Blueprint("portfolio", __name__, url_prefix="/portfolio")


def _me():
    return current_user._get_current_object()


def can_add_to_story(account, pupil):
    """Staff who teach the pupil (or senior leaders) add photos and notes to the pupil's story."""
    return can_award_points(account, pupil) and pupil.status == "active"


@bp.route("/pupils/<int:pupil_id>")
@rule(signed_in)
def pupil_story(pupil_id):
    me = _me()
    pupil = get_or_404(Pupil, pupil_id, can_view_pupil)
    cursor = portfolio.decode_cursor(request.args.get("before")) if request.args.get("before") else None
    items, next_cursor, cards = portfolio.items_page(me, pupil, before=cursor)
    form = TeacherItemForm() if can_add_to_story(me, pupil) else None
    return render("portfolio/pupil.html", block="page" if cursor else None, pupil=pupil, items=items,
                  cards=cards, next_cursor=next_cursor, form=form, messages=[])


@bp.route("/pupils/<int:pupil_id>/items", methods=["POST"])
@rule(staff)
def add_item(pupil_id):
    me = _me()
    pupil = get_or_404(Pupil, pupil_id, can_add_to_story)
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
                portfolio.add_teacher_item(pupil, me, form.body.data, media_list)
            except StoryError as error:
                form.body.errors = [error.message]
            else:
                flash(_("Added to %(name)s's story. Only their family and staff can see it.",
                        name=pupil.display_name), "success")
                return redirect(url_for(".pupil_story", pupil_id=pupil.id))
        for media in media_list:
            stories.remove_staged(me, media)
        db.session.rollback()
    elif form.errors.keys() == {"csrf_token"}:
        abort(400)
    items, next_cursor, cards = portfolio.items_page(me, pupil)
    return render("portfolio/pupil.html", status=422, pupil=pupil, items=items, cards=cards,
                  next_cursor=next_cursor, form=form, messages=messages)


def _item(item_id):
    return get_or_404(PortfolioItem, item_id, can_view_portfolio_item)


@bp.route("/items/<int:item_id>")
@rule(signed_in)
def item(item_id):
    me = _me()
    entry = _item(item_id)
    card = portfolio.decorate_items([entry], me)[entry.id]
    return render("portfolio/item.html", item=entry, card=card, comments=stories.comments_for(entry, me),
                  can_comment=can_respond(me, entry.approved), comment_form=CommentForm())


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
            stories.add_comment(entry, me, form.body.data)
        except StoryError as error:
            form.body.errors = [error.message]
        else:
            flash(_("Your comment has been added."), "success")
            return redirect(url_for(".item", item_id=entry.id) + "#comments")
    card = portfolio.decorate_items([entry], me)[entry.id]
    return render("portfolio/item.html", status=422, item=entry, card=card,
                  comments=stories.comments_for(entry, me), can_comment=True, comment_form=form)


