"""Uploaded photos, videos and documents, served only through the rule of what they belong to.

A class post's photo follows the post's rule *and* the consent of every child in it, checked at
each request; a photo on a pupil's own story follows that story's rule; a message's file is seen by
the two sides of the conversation (not once the sender has hidden the message) and by a senior
leader who opened the conversation with a recorded reason, while that access lasts; a file not yet saved in a
post is seen by its uploader only. Anything else is missing (404), and the refusal is audited.
"""
from flask import Blueprint, abort, request
from flask_login import current_user

from ...extensions import db
from ...models import Conversation, MediaFile, Message, PortfolioItem, Post
from ...models.media import VARIANTS
from ...policies import can_view_portfolio_item, can_view_post, record_refusal, rule, signed_in
from ...services import messaging, stories
from ...services.media import media_response
from ..monitoring.grants import holds_grant

bp = Blueprint("media", __name__, url_prefix="/media")


def can_view_media(account, media):
    if media.school_id != account.school_id:
        return False
    if media.post_id is not None:
        post = db.session.get(Post, media.post_id)
        if post is None or not can_view_post(account, post):
            return False
        consent = stories.consent_of(media.tagged_pupil_ids)
        return not stories.hidden_from(media, account, stories.own_pupil_ids(account), consent)
    if media.portfolio_item_id is not None:
        item = db.session.get(PortfolioItem, media.portfolio_item_id)
        return item is not None and can_view_portfolio_item(account, item)
    if media.message_id is not None:
        message = db.session.get(Message, media.message_id)
        if message is None or message.hidden_at is not None:
            return False
        conversation = db.session.get(Conversation, message.conversation_id)
        # The two sides, and a senior leader who opened the conversation with a recorded reason
        # while that lasts, see what the conversation shows them: not a message removed after a
        # report, and not a held one (except to its sender) until a reviewer releases it.
        if not (holds_grant(account, conversation) or messaging.is_participant(account, conversation)):
            return False
        return messaging.shown_to_reader(message, account)
    if account.is_pupil:
        return media.uploaded_by_pupil_id == account.id
    return media.uploaded_by_id == account.id


@bp.route("/<int:media_id>/<variant>")
@rule(signed_in)
def file(media_id, variant):
    media = db.session.get(MediaFile, media_id)
    if media is None or variant not in VARIANTS.get(media.kind, ()):
        abort(404)
    if not can_view_media(current_user, media):
        record_refusal(request.endpoint, "media_file", media_id)
        abort(404)
    return media_response(media, variant)
