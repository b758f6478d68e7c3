"""What people write that can be translated, and who may read it.

Each kind names its model, the policy question that says who may see an object of it (others get
404 from the translate endpoint), and which attributes hold the text and its language. The
translate endpoint (POST /translate/<kind>/<id>) and the page helpers read this table; a new kind
is one line, e.g. ``register("message", Message, can_view_message)``.

``STYLES`` are the ways a text is shown (the CSS class of its element, and how many characters a
card shows): the translate form sends its style back so that the answer looks like the page.
"""
from dataclasses import dataclass

from sqlalchemy import select

from ...extensions import db
from ...models import Comment, Message, PortfolioItem, Post, User
from ...policies import can_view_portfolio_item, can_view_post, same_school


@dataclass(frozen=True)
class Translatable:
    model: type
    can_view: object  # (account, obj) -> bool, as for policies.get_or_404
    text: str = "body"
    language: str = "language"


KINDS = {}
STYLES = {
    "post": ("post-body", 0),
    "card": ("post-body", 280),
    "comment": ("comment-body", 0),
}


def register(kind, model, can_view, text="body", language="language"):
    KINDS[kind] = Translatable(model, can_view, text, language)


def add_style(name, css_class, truncate=0):
    STYLES[name] = (css_class, truncate)


def can_view_comment(account, comment):
    """A comment is read by whoever sees its post or item and, among those, by whom the comment
    rules allow (staff all; families staff's comments and their own family's, or the whole class's
    when the school opens Class Story comments; hidden ones staff only)."""
    from ...services.portfolio import FAMILY_ONLY
    from ...services.stories import visible_comments_clause
    if not same_school(account, comment):
        return False
    if comment.post_id is not None:
        target = db.session.get(Post, comment.post_id)
        if target is None or not can_view_post(account, target):
            return False
        school = None
    else:
        target = db.session.get(PortfolioItem, comment.portfolio_item_id)
        if target is None or not can_view_portfolio_item(account, target):
            return False
        school = FAMILY_ONLY
    return db.session.scalar(select(Comment.id).join(User, User.id == Comment.author_id).where(
        Comment.id == comment.id, visible_comments_clause(account, school))) is not None


register("post", Post, can_view_post)
register("comment", Comment, can_view_comment)
register("portfolio", PortfolioItem, can_view_portfolio_item)


def can_view_message(account, message):
    """A message is read by the two sides of its conversation, unless its sender hid it; one held
    for review or removed after a report only by its sender. A senior leader who opened the
    conversation with a recorded reason reads it too, while that access lasts (monitoring)."""
    from ...models import Conversation
    from ...services.messaging import is_participant, shown_to_reader
    from ..monitoring.grants import holds_grant
    conversation = db.session.get(Conversation, message.conversation_id)
    return (message.hidden_at is None and conversation is not None
            and (is_participant(account, conversation) or holds_grant(account, conversation))
            and shown_to_reader(message, account))


register("message", Message, can_view_message)
add_style("message", "msg-body")
