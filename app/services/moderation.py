"""Language the school does not allow (issue 8): the word lists, finding listed words in a text,
and the comments and messages held for a teacher's review.

The lists are BlockedWord rows, one list per interface language. A school that has never saved its
English list uses the default list in ``blocked_words_en.txt`` (read from the file; nothing is
written until the school saves a list, so the demo school and a new school need no seeding). Saving
a language's list writes a marker row with an empty word next to the words, so that an English
list saved empty stays empty instead of falling back to the default.

Matching ignores case and letter forms (NFKC, casefold), invisible characters and Arabic vowel
marks, and finds whole words and phrases only: "Scunthorpe" does not contain "cunt". Every list of
the school is used whatever language the writer chose: a parent may write English with a Polish
interface.

Holding: before a comment or a message is stored, its service calls ``hold_words``. With listed
words and no confirmation it raises ``WordsFound`` and the form asks the writer kindly; confirmed,
the text is stored with ``held_at`` and ``held_words``, shown to its author as waiting and to no one
else but the reviewers until one of them releases it. Reviewers: for a comment, the teachers of the
class (the post's class, or the pupil's class for an item on a pupil's story) and senior leaders;
for a message from a parent or a pupil, the conversation's member of staff and senior leaders; for
a message from staff, senior leaders. Nobody reviews what they wrote themselves.
"""
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from ..extensions import db
from ..i18n import LANGUAGE_NAMES
from ..models import (
    BlockedWord,
    Comment,
    Conversation,
    Message,
    PortfolioItem,
    Post,
    Pupil,
    SchoolClass,
    class_teachers,
)
from ..models.base import utcnow
from . import notification_events
from .audit import audit

MAX_WORD = 80
DEFAULT_LANGUAGE = "en"
DEFAULT_FILES = {"en": Path(__file__).with_name("blocked_words_en.txt")}
MARKER = ""  # the row that says "this school saved this language's list"
RELEASED, REJECTED = "released", "rejected"
QUEUE_LIMIT = 100


class WordsFound(Exception):
    """The text has words on the school's lists and the writer has not confirmed sending it."""

    def __init__(self, words):
        super().__init__(", ".join(words))
        self.words = list(words)


class WordListError(ValueError):
    """A word list that cannot be saved; the message is for the user, in their language."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


# ---- matching ---------------------------------------------------------------------------------------

_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u2032": "'"})
# Arabic and Urdu vowel marks and the tatweel (a stretching stroke): optional in writing.
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_SPACES = re.compile(r"\s+")


def normalise(text):
    """The form texts and words are compared in: NFKC, case-folded, without invisible characters or
    Arabic vowel marks, with curly apostrophes straight and runs of spaces as one space."""
    text = unicodedata.normalize("NFKC", text or "")
    text = unicodedata.normalize("NFKC", text.casefold())
    text = text.translate(_INVISIBLE).translate(_QUOTES)
    text = _ARABIC_MARKS.sub("", text)
    return _SPACES.sub(" ", text).strip()


def _word_char(ch):
    """Letters, combining marks (Bengali vowel signs are marks) and digits make up words."""
    return ch == "_" or unicodedata.category(ch)[0] in "LMN"


def _found(text, word):
    start = 0
    while True:
        at = text.find(word, start)
        if at < 0:
            return False
        end = at + len(word)
        before_ok = at == 0 or not (_word_char(text[at - 1]) and _word_char(word[0]))
        after_ok = end == len(text) or not (_word_char(text[end]) and _word_char(word[-1]))
        if before_ok and after_ok:
            return True
        start = at + 1


def find_words(text, words):
    """The listed words and phrases that occur in ``text`` as whole words, in the list's order,
    each once (as written in the list)."""
    haystack = normalise(text)
    found, seen = [], set()
    if not haystack:
        return found
    for word in words:
        needle = normalise(word)
        if needle and needle not in seen and _found(haystack, needle):
            seen.add(needle)
            found.append(word)
    return found


# ---- the lists --------------------------------------------------------------------------------------

@cache
def default_words(language):
    """The list a school uses for a language until it saves its own (English only)."""
    path = DEFAULT_FILES.get(language)
    if path is None:
        return ()
    lines = path.read_text(encoding="utf-8").splitlines()
    return tuple(sorted({normalise(line) for line in lines if line.strip() and not line.startswith("#")}))


def word_lists(school_id):
    """{language: sorted words} for every interface language, as the school uses them now."""
    rows = db.session.execute(select(BlockedWord.language, BlockedWord.word)
                              .where(BlockedWord.school_id == school_id)).all()
    saved = {language for language, word in rows if word == MARKER}
    lists = {code: [] for code in LANGUAGE_NAMES}
    for language, word in rows:
        if word != MARKER and language in lists:
            lists[language].append(word)
    for code in lists:
        if code not in saved and not lists[code]:
            lists[code] = list(default_words(code))
        lists[code].sort()
    return lists


def uses_default(school_id, language=DEFAULT_LANGUAGE):
    """True while the school has not saved its own list for this language."""
    return db.session.scalar(select(BlockedWord.id).where(
        BlockedWord.school_id == school_id, BlockedWord.language == language).limit(1)) is None


def school_words(school_id):
    """Every word of every list of the school (one query)."""
    words = []
    for listed in word_lists(school_id).values():
        words.extend(listed)
    return words


def find_in_school(school_id, text):
    if not (text or "").strip():
        return []
    return find_words(text, school_words(school_id))


def parse_word_list(text):
    """A textarea, one word or phrase a line, as a sorted set. Raises WordListError."""
    words = set()
    for number, line in enumerate((text or "").splitlines(), start=1):
        word = normalise(line)
        if not word:
            continue
        if len(word) > MAX_WORD:
            raise WordListError(_("Line %(line)d has %(count)d characters: a word or phrase can be up to "
                                  "%(limit)d. Shorten it, or put each word on a line of its own.",
                                  line=number, count=len(word), limit=MAX_WORD))
        words.add(word)
    return sorted(words)


def save_word_list(school, language, text, by):
    """Replace a language's list with the words of ``text`` (a set; an empty list is allowed)."""
    if language not in LANGUAGE_NAMES:
        raise WordListError(_("Choose one of the languages listed."))
    words = parse_word_list(text)
    rows = {row.word: row for row in db.session.scalars(select(BlockedWord).where(
        BlockedWord.school_id == school.id, BlockedWord.language == language))}
    wanted = set(words) | {MARKER}
    removed = [row for word, row in rows.items() if word not in wanted]
    added = sorted(wanted - set(rows))
    for row in removed:
        db.session.delete(row)
    for word in added:
        db.session.add(BlockedWord(school_id=school.id, language=language, word=word))
    audit("moderation.words_saved", "school", school.id, actor=by, school_id=school.id,
          detail={"language": language, "words": len(words),
                  "added": len([w for w in added if w != MARKER]),
                  "removed": len([r for r in removed if r.word != MARKER])})
    db.session.commit()
    return words


# ---- holding ----------------------------------------------------------------------------------------

def hold_words(school_id, text, confirmed):
    """Before storing a comment or a message: None when the text has no listed words; the words
    to store in ``held_words`` when the writer confirmed; else raises WordsFound."""
    words = find_in_school(school_id, text)
    if not words:
        return None
    if not confirmed:
        raise WordsFound(words)
    return ", ".join(words)[:2000]


def is_mine(account, obj):
    if isinstance(obj, Comment):
        return not account.is_pupil and obj.author_id == account.id
    if account.is_pupil:
        return obj.sender_pupil_id == account.id
    return obj.sender_user_id == account.id


def _reviewer(account, school_id):
    return bool(account.is_authenticated and account.is_staff and account.is_active
                and account.school_id == school_id)


def comment_class_id(comment):
    """The class whose teachers review a comment: the post's, or the pupil's (None: whole school)."""
    if comment.post_id is not None:
        post = db.session.get(Post, comment.post_id)
        return post.class_id if post is not None else None
    item = db.session.get(PortfolioItem, comment.portfolio_item_id)
    pupil = db.session.get(Pupil, item.pupil_id) if item is not None else None
    return pupil.class_id if pupil is not None else None


def can_review_comment(account, comment):
    if not _reviewer(account, comment.school_id) or is_mine(account, comment):
        return False
    if account.is_senior:
        return True
    class_id = comment_class_id(comment)
    return class_id is not None and any(c.id == class_id for c in account.classes)


def can_review_message(account, message):
    if not _reviewer(account, message.school_id) or is_mine(account, message):
        return False
    if account.is_senior:
        return True
    if message.from_staff:
        return False
    conversation = db.session.get(Conversation, message.conversation_id)
    return conversation is not None and conversation.staff_id == account.id


def can_review(account, obj):
    return can_review_comment(account, obj) if isinstance(obj, Comment) else can_review_message(account, obj)


def _awaiting(model):
    return and_(model.held_at.is_not(None), model.held_decision.is_(None))


def _comments_to_review(account):
    my_classes = select(class_teachers.c.class_id).where(class_teachers.c.user_id == account.id)
    stmt = (select(Comment, Post, SchoolClass, Pupil)
            .outerjoin(Post, Post.id == Comment.post_id)
            .outerjoin(SchoolClass, SchoolClass.id == Post.class_id)
            .outerjoin(PortfolioItem, PortfolioItem.id == Comment.portfolio_item_id)
            .outerjoin(Pupil, Pupil.id == PortfolioItem.pupil_id)
            .where(Comment.school_id == account.school_id, _awaiting(Comment), Comment.author_id != account.id))
    if not account.is_senior:
        stmt = stmt.where(or_(Post.class_id.in_(my_classes), Pupil.class_id.in_(my_classes)))
    return stmt


def _messages_to_review(account):
    stmt = (select(Message, Conversation).join(Conversation, Conversation.id == Message.conversation_id)
            .where(Message.school_id == account.school_id, _awaiting(Message),
                   or_(Message.sender_user_id.is_(None), Message.sender_user_id != account.id)))
    if not account.is_senior:
        stmt = stmt.where(Conversation.staff_id == account.id, Message.from_staff.is_(False))
    return stmt


def held_count(account):
    """How many comments and messages wait for this reviewer (one query)."""
    if not (account.is_authenticated and account.is_staff):
        return 0
    comments = select(func.count()).select_from(_comments_to_review(account).subquery()).scalar_subquery()
    messages = select(func.count(func.distinct(func.coalesce(Message.broadcast_key, cast(Message.id, String)))))
    messages = messages.select_from(Message).join(Conversation, Conversation.id == Message.conversation_id).where(
        Message.school_id == account.school_id, _awaiting(Message),
        or_(Message.sender_user_id.is_(None), Message.sender_user_id != account.id))
    if not account.is_senior:
        messages = messages.where(Conversation.staff_id == account.id, Message.from_staff.is_(False))
    return db.session.scalar(select(comments + messages.scalar_subquery())) or 0


def nav_held(account):
    """For the navigation: None for accounts that review nothing, else how many wait."""
    if not (account.is_authenticated and account.is_staff):
        return None
    return held_count(account)


@dataclass
class HeldEntry:
    kind: str  # comment, message
    obj: object
    words: str
    author: str
    held_at: object
    post: Post | None = None
    school_class: SchoolClass | None = None
    pupil: Pupil | None = None
    conversation: Conversation | None = None
    families: int = 1  # a message sent to several families at once: how many copies

    @property
    def body(self):
        return self.obj.body


def held_queue(account):
    """What this reviewer may release or reject, oldest first, in a fixed number of queries."""
    if not (account.is_authenticated and account.is_staff):
        return []
    entries = []
    rows = db.session.execute(_comments_to_review(account).options(joinedload(Comment.author))
                              .order_by(Comment.held_at, Comment.id).limit(QUEUE_LIMIT)).all()
    for comment, post, school_class, pupil in rows:
        entries.append(HeldEntry("comment", comment, comment.held_words or "", comment.author.name,
                                 comment.held_at, post=post, school_class=school_class, pupil=pupil))
    rows = db.session.execute(_messages_to_review(account)
                              .options(selectinload(Message.sender_user), selectinload(Message.sender_pupil),
                                       selectinload(Conversation.staff), selectinload(Conversation.parent),
                                       selectinload(Conversation.pupil))
                              .order_by(Message.held_at, Message.id).limit(QUEUE_LIMIT * 3)).all()
    broadcasts = {}
    for message, conversation in rows:
        if message.broadcast_key:
            first = broadcasts.get(message.broadcast_key)
            if first is not None:
                first.families += 1
                continue
        entry = HeldEntry("message", message, message.held_words or "", message.sender_name, message.held_at,
                          conversation=conversation)
        if message.broadcast_key:
            broadcasts[message.broadcast_key] = entry
        entries.append(entry)
    entries.sort(key=lambda e: e.held_at)
    return entries[:QUEUE_LIMIT]


def decide(account, obj, decision, now=None):
    """A reviewer releases (shown from now on, at its original time) or rejects (never shown to
    others) a held comment or message. A message sent to several families is decided for every
    copy. Returns False when it was decided already."""
    if decision not in (RELEASED, REJECTED):
        raise ValueError(decision)
    if obj.held_at is None or obj.held_decision is not None:
        return False
    now = now or utcnow()
    if isinstance(obj, Comment):
        targets, kind = [obj], "comment"
    else:
        kind = "message"
        targets = [obj]
        if obj.broadcast_key:
            targets = list(db.session.scalars(select(Message).where(
                Message.school_id == obj.school_id, Message.broadcast_key == obj.broadcast_key,
                Message.sender_user_id == obj.sender_user_id, _awaiting(Message))))
    for target in targets:
        target.held_decision, target.held_decided_by_id, target.held_decided_at = decision, account.id, now
        if kind == "message" and decision == RELEASED:
            _deliver(target)
    audit(f"moderation.{decision}", kind, obj.id, actor=account, school_id=obj.school_id,
          detail={"words": obj.held_words or "", "copies": len(targets)})
    if decision == RELEASED:  # released: the news it would have made when written, now
        if kind == "comment":
            notification_events.comment_released(obj, now)
        else:
            notification_events.messages_released(targets, now)
    db.session.commit()
    if kind == "message" and decision == RELEASED:
        _prefetch_released(targets)
    return True


def _deliver(message):
    """A released message arrives now as it would have when sent: unread for the other side, in
    both inboxes, and in the open page's next poll."""
    conversation = db.session.get(Conversation, message.conversation_id)
    if conversation.last_message_id is None or message.id > conversation.last_message_id:
        conversation.last_message_id = message.id
    if conversation.last_message_at is None or message.created_at > conversation.last_message_at:
        conversation.last_message_at = message.created_at
    if message.from_staff:
        conversation.last_to_other_id = max(conversation.last_to_other_id or 0, message.id)
    else:
        conversation.last_to_staff_id = max(conversation.last_to_staff_id or 0, message.id)


def _prefetch_released(messages):
    from .messaging import _prefetch, _reader_language
    for message in messages:
        conversation = db.session.get(Conversation, message.conversation_id)
        sender = message.sender_user if message.sender_user is not None else message.sender_pupil
        _prefetch(conversation, [message], [_reader_language(conversation, sender)])


def held_state(obj):
    """For the author: "waiting", "rejected", or None (not held, or released)."""
    if obj.held_at is None or obj.held_decision == RELEASED:
        return None
    return "rejected" if obj.held_decision == REJECTED else "waiting"
