"""`flask demo --size large` and `flask demo --schools N`: big schools with a year of history.

A generated school is made with bulk inserts (SQLAlchemy core ``insert`` of lists of dicts, in
batches), never row by row through the services: a large school (21 classes of about 28 pupils)
with a school year of team points, Class Story posts with photos, likes, comments, conversations
between teachers and families, portfolio notes and reading records takes a few minutes on SQLite.
Everything is made up: names from the demo's lists, pictures drawn (paint blobs, never a child).

``Size`` says how much of each; the tests build a tiny one. School ``n`` of a trust has the slug
``hearth-school-<n>`` and its people the addresses ``<who>@school-<n>.hearth-demo.example``: a
school that exists already is left as it is, so the command is safe to run twice.
"""
import os
import random
import secrets
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import func, insert, select, text, update

from .demo import (
    FIRST_NAMES,
    LANGUAGE_BY_SURNAME,
    LANGUAGE_NAMES_EN,
    PARENT_PASSWORD,
    STAFF_PASSWORD,
    STORY_POSTS,
    SURNAMES,
    TEAMS,
    TOPICS,
    _demo_picture,
)
from .demo_messages import _calendar_rows
from .extensions import db
from .models import (
    Acknowledgement,
    Comment,
    Conversation,
    Like,
    MediaFile,
    MediaTag,
    Message,
    ParentLink,
    PhotoConsent,
    PointAward,
    PointCategory,
    PolicyDocument,
    PortfolioItem,
    Post,
    Pupil,
    PupilMessagingYear,
    ReadingLogEntry,
    School,
    SchoolClass,
    Team,
    User,
)
from .models.calendar import CLOSURE_KINDS, KIND_TERM, CalendarEntry
from .models.media import KIND_IMAGE
from .models.messaging import KIND_PARENT
from .models.people import AVATARS, ROLE_HEAD, ROLE_PARENT, ROLE_SENIOR, ROLE_TEACHER
from .models.school import class_teachers
from .services.accounts import hash_password
from .services.consent import ensure_default_documents
from .services.points import ensure_default_categories
from .services.pupils import display_name_from, new_class_code, new_picture_password
from .services.school_calendar import current_academic_year
from .services.working_time import SchoolCalendar, zone

BATCH = 5000
DOMAIN = "hearth-demo.example"
SCHOOL_NAMES = [
    "Oakfield Primary", "Riverside Primary", "St Anne's CE Primary", "Millbrook Primary", "Hillcrest Primary",
    "Castle Hill Primary", "Brookside Academy", "Greenway Primary", "Ashdown Primary", "Kingsmead Primary",
    "Meadowbank Primary", "Westgate Primary", "Elmwood Primary", "Fairfield Primary", "Larkrise Primary",
]
YEAR_PREFIX = {0: "N", 1: "R", 2: "1", 3: "2", 4: "3", 5: "4", 6: "5", 7: "6"}
TEACHER_TITLES = ["Mrs", "Mr", "Ms", "Miss"]
# When in the school day awards are given, in the school's local time (09:00 to 15:15).
AWARD_FROM, AWARD_MINUTES = dtime(9, 0), 375
PARENT_LINES = [
    "Good evening, {child} has a swimming lesson on {day} straight after school, so grandma will collect.",
    "Thank you for the lovely comment in the reading record. {child} was beaming all evening.",
    "Could you let me know which book band {child} is on now? We would like to borrow some from the library.",
    "{child} has forgotten the water bottle again, sorry! I will drop one at the office on {day}.",
    "Is the class assembly on {day}? We would love to come and watch.",
    "{child} found the maths homework tricky this week. Is there a video we could watch together?",
    "Just letting you know {child} has a new baby sister, so things are a little busy at home!",
    "Will the class need wellies for the forest school session on {day}?",
]
TEACHER_LINES = [
    "Thank you for letting me know, that's no problem at all.",
    "{child} has had a great week: the story about the dragon was wonderful.",
    "Yes, it's on {day} at 9:15. Families are very welcome.",
    "I'll send the link home in the book bag on {day}; the number-line game helps a lot.",
    "Congratulations to you all! {child} told the whole class at carpet time.",
    "Wellies and a warm coat, please: we will be out in all weathers.",
    "{child} is now on the turquoise band. The library has plenty of those.",
    "Of course, I'll look out for the bottle at the office.",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
PORTFOLIO_NOTES = [
    "A careful piece of handwriting: every letter sat on the line.",
    "Explained how a lever works to the group, using a ruler and a rubber.",
    "First time reading a whole page aloud without help. Well done!",
    "Built a bridge from straws that held twelve marbles.",
    "Wrote a poem about autumn leaves with three rhyming pairs.",
    "Solved the column addition challenge and checked it with the inverse.",
]
COMMENTS = ["Thank you!", "Lovely to see this.", "He told us all about it at tea time.",
            "What a busy week!", "Brilliant work, everyone."]
BOOKS = ["The Gruffalo", "Supertato", "The Owl Who Was Afraid of the Dark", "Charlotte's Web",
         "The Iron Man", "Matilda", "Zog", "The Snail and the Whale"]


@dataclass(frozen=True)
class Size:
    """How much of everything one school gets."""
    year_groups: tuple = (1, 2, 3, 4, 5, 6, 7)   # Reception to Year 6
    forms: tuple = ("K", "M", "S")                # classes per year group: 3K, 3M, 3S
    pupils_per_class: tuple = (27, 30)            # smallest, largest
    days: int = 365                               # calendar days of history, ending today
    awards_per_pupil_day: tuple = (1, 2, 2, 3, 3, 3, 4, 4, 4, 5)  # drawn per pupil and school day
    posts_per_class_day: float = 1.0              # Class Story posts on a school day (average)
    photos_per_post: tuple = (1, 1, 1, 2, 2, 3)
    pictures: int = 24                            # distinct drawings (each post gets its own copies)
    messages: int = 100_000
    portfolio_per_pupil: int = 2
    reading_share: float = 0.3                    # pupils whose parents log reading (last fortnight)
    parents_second: float = 0.4                   # families with two parents on Hearth
    siblings: float = 0.15                        # pupils who are a younger sibling of another


SIZES = {
    "large": Size(),
    "normal": Size(year_groups=(0, 1, 2, 3, 4, 5, 6, 7), forms=("K",), pupils_per_class=(20, 28), days=42,
                   awards_per_pupil_day=(0, 1, 1, 2, 3), posts_per_class_day=0.4, photos_per_post=(0, 1, 2),
                   pictures=8, messages=600, portfolio_per_pupil=1),
}


@dataclass
class Report:
    """What was made and how long each part took."""
    parts: list = field(default_factory=list)  # (part, rows, seconds)

    def timed(self, part, fn, *args):
        started = time.perf_counter()
        rows = fn(*args)
        self.parts.append((part, rows, time.perf_counter() - started))
        return rows

    @property
    def seconds(self):
        return sum(seconds for _part, _rows, seconds in self.parts)


def school_slug(number):
    return f"hearth-school-{number}"


def email(number, local):
    return f"{local}@school-{number}.{DOMAIN}"


def school_name(number):
    base = SCHOOL_NAMES[(number - 1) % len(SCHOOL_NAMES)]
    return base if number <= len(SCHOOL_NAMES) else f"{base} ({number})"


def _bulk(model, rows, returning=False):
    """Insert rows in batches; with ``returning`` the new ids, in the order of ``rows``."""
    ids = []
    for start in range(0, len(rows), BATCH):
        chunk = rows[start:start + BATCH]
        if returning:
            stmt = insert(model).returning(model.id, sort_by_parameter_order=True)
            ids.extend(db.session.scalars(stmt, chunk).all())
        else:
            db.session.execute(insert(model), chunk)
    return ids


class _World:
    """The ids a school's parts need from each other, kept in memory (no ORM objects)."""

    def __init__(self, school, number, size, rng, now):
        self.school, self.number, self.size, self.rng, self.now = school, number, size, rng, now
        self.school_id = school.id
        self.tz = zone(school.timezone)
        self.classes = []        # (id, name, year_group, teacher_id)
        self.teacher_of = {}     # class id -> teacher id
        self.pupils = []         # (id, class_id, team_id, surname)
        self.consenting = {}     # class id -> [pupil ids with photo consent]
        self.parents_of = {}     # pupil id -> [parent ids]
        self.head_id = self.senior_id = None
        self.calendar = None
        self.school_days = []    # dates, oldest first

    def local(self, moment):
        return moment.replace(tzinfo=UTC).astimezone(self.tz)

    def utc(self, day, at):
        return datetime.combine(day, at, self.tz).astimezone(UTC).replace(tzinfo=None)


# ---- the school --------------------------------------------------------------------------------

def build_school(number, size=SIZES["large"], rng=None, now=None, log=None):
    """Make school ``number`` with ``size``; returns (school, created, Report). Does nothing (and
    returns created False) if a school with that slug exists already."""
    existing = db.session.scalar(select(School).where(School.slug == school_slug(number)))
    if existing is not None:
        return existing, False, Report()
    rng = rng or random.Random(20260901 + number)
    now = now or datetime.now(UTC).replace(tzinfo=None)
    school = School(name=school_name(number), slug=school_slug(number), timezone="Europe/London",
                    office_phone=f"0161 496 0{number:03d}"[:13], office_email=email(number, "office"))
    db.session.add(school)
    db.session.flush()
    world = _World(school, number, size, rng, now)
    report = Report()
    steps = [("school, staff and classes", _structure), ("pupils and families", _people),
             ("point awards", _points), ("class story posts and photos", _stories),
             ("messages", _messages), ("portfolio and reading", _portfolio_and_reading)]
    for part, step in steps:
        report.timed(part, step, world)
        db.session.commit()
        if log is not None:
            part_name, rows, seconds = report.parts[-1]
            log(f"  {part_name:<32} {rows:>9,} rows {seconds:8.1f} s")
    return school, True, report


def _structure(world):
    school, size, rng = world.school, world.size, world.rng
    ensure_default_documents(school)
    ensure_default_categories(school)
    db.session.add_all(Team(school_id=school.id, name=n, colour=c) for n, c in TEAMS)
    year = current_academic_year(world.local(world.now).date())
    entries = [dict(school_id=school.id, kind=kind, name=name, first_day=first, last_day=last)
               for y in (year - 1, year) for kind, name, first, last in _calendar_rows(y)]
    _bulk(CalendarEntry, entries)
    db.session.add_all(PupilMessagingYear(school_id=school.id, year_group=g) for g in (4, 5, 6, 7))
    db.session.flush()
    world.calendar = SchoolCalendar(
        tz=world.tz, terms=sorted((e["first_day"], e["last_day"]) for e in entries if e["kind"] == KIND_TERM),
        closures=sorted((e["first_day"], e["last_day"]) for e in entries if e["kind"] in CLOSURE_KINDS))
    today = world.local(world.now).date()
    world.school_days = [d for d in (today - timedelta(days=back) for back in range(size.days, -1, -1))
                         if world.calendar.is_school_day(d)]

    staff_hash = hash_password(STAFF_PASSWORD)
    staff = [dict(school_id=school.id, email=email(world.number, "head"), name="Mrs Grace Adebayo",
                  role=ROLE_HEAD, password_hash=staff_hash, can_manage_school=True),
             dict(school_id=school.id, email=email(world.number, "senior"), name="Mr Owen Price",
                  role=ROLE_SENIOR, password_hash=staff_hash, can_manage_school=True),
             dict(school_id=school.id, email=email(world.number, "senior2"), name="Ms Leila Haddad",
                  role=ROLE_SENIOR, password_hash=staff_hash, can_manage_school=False)]
    class_rows = []
    for year_group in size.year_groups:
        for form in size.forms:
            name = YEAR_PREFIX[year_group] + form
            class_rows.append(dict(school_id=school.id, name=name, year_group=year_group, academic_year=year,
                                   class_code=new_class_code()))
            local = "teacher." + name.lower()
            staff.append(dict(school_id=school.id, email=email(world.number, local), role=ROLE_TEACHER,
                              name=f"{rng.choice(TEACHER_TITLES)} {rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}",
                              password_hash=staff_hash, can_manage_school=False))
    staff_ids = _bulk(User, staff, returning=True)
    class_ids = _bulk(SchoolClass, class_rows, returning=True)
    world.head_id, world.senior_id = staff_ids[0], staff_ids[1]
    teacher_ids = staff_ids[3:]
    db.session.execute(insert(class_teachers),
                       [dict(class_id=c, user_id=t) for c, t in zip(class_ids, teacher_ids, strict=True)])
    for class_id, row, teacher_id in zip(class_ids, class_rows, teacher_ids, strict=True):
        world.classes.append((class_id, row["name"], row["year_group"], teacher_id))
        world.teacher_of[class_id] = teacher_id
    return len(staff) + len(class_rows) + len(entries)


def _people(world):
    """Pupils with photo consent, and their families: one or two parents each, some with a younger
    child in another class. Every parent has acknowledged the school's documents."""
    school_id, size, rng = world.school_id, world.size, world.rng
    teams = list(db.session.scalars(select(Team.id).where(Team.school_id == school_id)))
    rows, used = [], set()
    for class_id, _name, year_group, _teacher in world.classes:
        for _n in range(rng.randint(*size.pupils_per_class)):
            while True:
                first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
                display = display_name_from(first, last)
                if (class_id, display) not in used or len(used) > 40 * len(FIRST_NAMES):
                    break
            used.add((class_id, display))
            roll = rng.random()
            consent = "yes" if roll < 0.85 else ("no" if roll < 0.93 else None)
            rows.append(dict(school_id=school_id, class_id=class_id, display_name=display,
                             avatar=rng.choice(AVATARS), team_id=rng.choice(teams),
                             home_language=LANGUAGE_NAMES_EN.get(LANGUAGE_BY_SURNAME.get(last), "English"),
                             photo_consent=consent, picture_password=new_picture_password(year_group),
                             status="active", _surname=last))
    surnames = [row.pop("_surname") for row in rows]
    ids = _bulk(Pupil, rows, returning=True)
    consents = []
    for pupil_id, row, surname in zip(ids, rows, surnames, strict=True):
        world.pupils.append((pupil_id, row["class_id"], row["team_id"], surname))
        if row["photo_consent"]:
            consents.append(dict(school_id=school_id, pupil_id=pupil_id, value=row["photo_consent"],
                                 source="paper", recorded_at=world.now))
        if row["photo_consent"] == "yes":
            world.consenting.setdefault(row["class_id"], []).append(pupil_id)
    _bulk(PhotoConsent, consents)

    # Families. The sign-in parent has a child in 3K (or the first class) and one in another class.
    parent_hash = hash_password(PARENT_PASSWORD)
    families, links, parents = [], [], []
    by_class = {}
    for pupil in world.pupils:
        by_class.setdefault(pupil[1], []).append(pupil)
    class_names = {c[0]: c[1] for c in world.classes}
    first_class = next((c for c in by_class if class_names[c].endswith("3K")), next(iter(by_class)))
    older = by_class[first_class][0]
    other_classes = [c for c in by_class if c != first_class]
    younger = by_class[other_classes[0]][0] if other_classes else None
    readme_family = [older] + ([younger] if younger else [])
    taken = {p[0] for p in readme_family}
    families.append((readme_family, older[3], ["parent"]))
    for pupil in world.pupils:
        if pupil[0] in taken:
            continue
        taken.add(pupil[0])
        children = [pupil]
        if rng.random() < size.siblings:  # a younger brother or sister, in another class
            candidates = [p for c in rng.sample(list(by_class), len(by_class)) if c != pupil[1]
                          for p in by_class[c][:6] if p[0] not in taken]
            if candidates:
                children.append(candidates[0])
                taken.add(candidates[0][0])
        n = len(families)
        locals_ = [f"family{n}"] + ([f"family{n}b"] if rng.random() < size.parents_second else [])
        families.append((children, pupil[3], locals_))
    for _children, surname, locals_ in families:
        for local in locals_:
            parents.append(dict(school_id=school_id, email=email(world.number, local), role=ROLE_PARENT,
                                name=f"{rng.choice(FIRST_NAMES)} {surname}", locale=LANGUAGE_BY_SURNAME.get(surname),
                                password_hash=parent_hash, can_manage_school=False))
    parent_ids = iter(_bulk(User, parents, returning=True))
    all_parents = []
    for children, _surname, locals_ in families:
        ids_ = [next(parent_ids) for _local in locals_]
        all_parents.extend(ids_)
        for parent_id in ids_:
            for child in children:
                links.append(dict(parent_id=parent_id, pupil_id=child[0], linked_at=world.now))
                world.parents_of.setdefault(child[0], []).append(parent_id)
    _bulk(ParentLink, links)
    documents = list(db.session.scalars(select(PolicyDocument.id).where(PolicyDocument.school_id == school_id)))
    _bulk(Acknowledgement, [dict(user_id=p, document_id=d, acknowledged_at=world.now)
                            for p in all_parents for d in documents])
    return len(rows) + len(consents) + len(parents) + len(links) + len(all_parents) * len(documents)


# ---- a year of history ---------------------------------------------------------------------------

def _points(world):
    """Positive awards on every school day, in school hours, given by the class teacher."""
    categories = db.session.execute(select(PointCategory.id, PointCategory.value).where(
        PointCategory.school_id == world.school_id, PointCategory.kind == "positive",
        PointCategory.retired_at.is_(None))).all()
    rng, total, batch = world.rng, 0, []
    for day in world.school_days:
        start = world.utc(day, AWARD_FROM)
        for pupil_id, class_id, team_id, _surname in world.pupils:
            for n in range(rng.choice(world.size.awards_per_pupil_day)):
                at = start + timedelta(minutes=rng.randrange(AWARD_MINUTES), seconds=rng.randrange(60))
                if at >= world.now:
                    continue
                category_id, value = categories[rng.randrange(len(categories))]
                batch.append(dict(school_id=world.school_id, pupil_id=pupil_id, class_id=class_id, team_id=team_id,
                                  category_id=category_id, awarded_by_id=world.teacher_of[class_id], value=value,
                                  needs_work=False, request_key=f"demo-{day.isoformat()}-{n}", awarded_at=at))
                if len(batch) >= BATCH:
                    _bulk(PointAward, batch)
                    total, batch = total + len(batch), []
    _bulk(PointAward, batch)
    return total + len(batch)


_PICTURES = {}


def demo_pictures(count):
    """``count`` distinct drawings, each as its stored WebP variants {variant: (bytes, (w, h))},
    plus the JPEG's size. Made once per process: drawing and encoding is the slow part."""
    from .services.media import _image_variants
    rng = random.Random(4000)
    while len(_PICTURES.setdefault("list", [])) < count:
        upload = _demo_picture(rng, width=1280, height=960)
        received = len(upload.stream.getvalue())
        variants = _image_variants(upload.stream, "photo.jpg", current_app.config["MEDIA_MAX_IMAGE_PIXELS"])
        _PICTURES["list"].append((variants, received))
    return _PICTURES["list"][:count]


def _write_copy(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)


def _stories(world):
    """Class Story posts on school days, each photo its own files under MEDIA_ROOT (copies of a few
    drawings, written where media.py keeps them), tags of consenting pupils, likes and comments."""
    size, rng = world.size, world.rng
    pictures = demo_pictures(size.pictures)
    root = Path(current_app.config["MEDIA_ROOT"]) / str(world.school_id)
    posts = []
    for day in world.school_days:
        for class_id, _name, _yg, teacher_id in world.classes:
            count = int(size.posts_per_class_day) + (rng.random() < size.posts_per_class_day % 1)
            for _n in range(count):
                when = world.utc(day, dtime(rng.randint(10, 15), rng.choice((5, 20, 35, 50))))
                if when >= world.now:
                    continue
                kind, body = STORY_POSTS[rng.randrange(len(STORY_POSTS))]
                posts.append(dict(school_id=world.school_id, class_id=class_id, author_id=teacher_id, kind=kind,
                                  body=body.format(topic=rng.choice(TOPICS)), published_at=when, created_at=when,
                                  notified_at=when, comments_enabled=True))
    welcome = world.now - timedelta(days=min(size.days, 300))
    posts.append(dict(school_id=world.school_id, class_id=None, author_id=world.head_id, kind="reminder",
                      body="Welcome to Hearth, our way to share your child's learning. The school office is "
                           "still the place for absence, urgent matters and complaints.",
                      published_at=welcome, created_at=welcome, notified_at=welcome, comments_enabled=True,
                      pinned_at=welcome))
    post_ids = _bulk(Post, [{"pinned_at": None, **row} for row in posts], returning=True)

    media, photo_files, likes, comments = [], [], [], []
    families = {}
    for pupil_id, class_id, _team, _surname in world.pupils:
        families.setdefault(class_id, set()).update(world.parents_of.get(pupil_id, []))
    families = {c: sorted(ids) for c, ids in families.items()}
    for post_id, row in zip(post_ids, posts, strict=True):
        class_id, when = row["class_id"], row["published_at"]
        if class_id is None:
            continue
        for position in range(rng.choice(size.photos_per_post)):
            variants, received = pictures[rng.randrange(len(pictures))]
            key = secrets.token_urlsafe(24)
            photo_files.append((key, variants))
            media.append(dict(school_id=world.school_id, kind=KIND_IMAGE, storage_key=key, content_type="image/webp",
                              width=variants["feed"][1][0], height=variants["feed"][1][1],
                              large_width=variants["large"][1][0], large_height=variants["large"][1][1],
                              bytes_stored=sum(len(data) for data, _size in variants.values()),
                              bytes_received=received, alt_text="Children's paintings on the classroom wall",
                              no_child_confirmed=False, uploaded_by_id=row["author_id"], post_id=post_id,
                              position=position, created_at=when))
        class_families = families.get(class_id, [])
        for parent_id in rng.sample(class_families, k=min(len(class_families), rng.randint(0, 8))):
            likes.append(dict(user_id=parent_id, post_id=post_id, created_at=when + timedelta(hours=4)))
        if class_families and rng.random() < 0.3:
            comments.append(dict(school_id=world.school_id, author_id=rng.choice(class_families), post_id=post_id,
                                 body=rng.choice(COMMENTS), created_at=min(when + timedelta(hours=5), world.now)))
    for key, variants in photo_files:
        for variant, (data, _size) in variants.items():
            _write_copy(root / key[:2] / f"{key}.{variant}.webp", data)
    media_ids = _bulk(MediaFile, media, returning=True)
    tags = []
    class_of_post = {post_id: row["class_id"] for post_id, row in zip(post_ids, posts, strict=True)}
    for media_id, row in zip(media_ids, media, strict=True):
        consenting = world.consenting.get(class_of_post[row["post_id"]], [])
        for pupil_id in rng.sample(consenting, k=min(len(consenting), rng.randint(0, 3))):
            tags.append(dict(media_id=media_id, pupil_id=pupil_id))
    _bulk(MediaTag, tags)
    _bulk(Like, likes)
    _bulk(Comment, comments)
    return len(posts) + len(media) + len(tags) + len(likes) + len(comments)


def _message_times(world, count):
    """``count`` moments over the history, sorted, mostly in the day and evening (local time)."""
    rng, first = world.rng, world.now - timedelta(days=world.size.days)
    span = (world.now - first).total_seconds()
    moments = []
    for _n in range(count):
        moment = first + timedelta(seconds=rng.random() * span)
        local = world.local(moment)
        if local.hour < 7 or local.hour >= 22:  # nobody writes to school at 3 am (well, almost nobody)
            moment = moment - timedelta(hours=9) if local.hour < 7 else moment - timedelta(hours=3)
        moments.append(min(max(moment, first), world.now - timedelta(minutes=1)))
    return sorted(moments)


def _messages(world):
    """Conversations between class teachers (and a few with the head) and families, ``size.messages``
    messages in all, with each conversation's counters and read markers as messaging.py keeps them:
    writing is reading; most conversations read to the end, some with the newest messages unread."""
    size, rng = world.size, world.rng
    pairs = []  # (staff id, parent id, pupil id)
    for pupil_id, class_id, _team, _surname in world.pupils:
        for parent_id in world.parents_of.get(pupil_id, []):
            if rng.random() < 0.85:
                pairs.append((world.teacher_of[class_id], parent_id, pupil_id))
            if rng.random() < 0.04:
                pairs.append((world.head_id, parent_id, pupil_id))
    pairs = list(dict.fromkeys(pairs))
    if not pairs or size.messages <= 0:
        return 0
    pairs = pairs[:size.messages]
    weights = [rng.paretovariate(1.6) for _pair in pairs]
    scale = (size.messages - len(pairs)) / sum(weights)
    counts = [1 + int(w * scale) for w in weights]
    for n in rng.sample(range(len(pairs)), k=min(len(pairs), size.messages - sum(counts))):
        counts[n] += 1  # make the total exact
    convo_rows = [dict(school_id=world.school_id, kind=KIND_PARENT, pair_key=f"parent:{s}:{p}:{c}", staff_id=s,
                       parent_id=p, pupil_id=c, created_at=world.now) for s, p, c in pairs]
    convo_ids = _bulk(Conversation, convo_rows, returning=True)
    pupil_names = dict(db.session.execute(select(Pupil.id, Pupil.display_name).where(
        Pupil.school_id == world.school_id)).all())
    total, updates = 0, []
    for start in range(0, len(pairs), 200):  # a few hundred conversations at a time
        chunk, rows, plan = range(start, min(start + 200, len(pairs))), [], []
        for n in chunk:
            staff_id, parent_id, pupil_id = pairs[n]
            moments = _message_times(world, counts[n])
            from_parent, sides = True, []
            for _m in moments:
                sides.append(not from_parent)
                from_parent = rng.random() < (0.45 if from_parent else 0.6)
            child = pupil_names[pupil_id].split()[0]
            first = len(rows)
            for moment, from_staff in zip(moments, sides, strict=True):
                line = rng.choice(TEACHER_LINES if from_staff else PARENT_LINES)
                local = world.local(moment)
                quiet = (not from_staff and not (world.calendar.is_school_day(local.date())
                                                 and dtime(8, 0) <= local.time() < dtime(17, 30)))
                rows.append(dict(school_id=world.school_id, conversation_id=convo_ids[n],
                                 sender_user_id=staff_id if from_staff else parent_id, sender_pupil_id=None,
                                 from_staff=from_staff, body=line.format(child=child, day=rng.choice(DAYS)),
                                 language="en", created_at=moment, in_quiet_hours=quiet))
            plan.append((n, first, len(rows)))
        ids = _bulk(Message, rows, returning=True)
        total += len(rows)
        for n, first, last in plan:
            updates.append(_read_markers(world, convo_ids[n], rows[first:last], ids[first:last]))
    db.session.execute(update(Conversation), updates)
    return total + len(convo_rows)


def _read_markers(world, convo_id, rows, ids):
    """The conversation's counters as messaging._add would have left them, and how far each side read."""
    rng = world.rng
    last_staff = max((i for i, r in zip(ids, rows, strict=True) if r["from_staff"]), default=0)
    last_other = max((i for i, r in zip(ids, rows, strict=True) if not r["from_staff"]), default=0)
    when = {i: r["created_at"] for i, r in zip(ids, rows, strict=True)}
    recent = world.now - rows[-1]["created_at"] < timedelta(days=4)

    def read(own_last, other_last):
        # Each side has read at least up to its own last message; usually everything.
        if other_last > own_last and recent and rng.random() < 0.5:
            return own_last, when.get(own_last)
        newest = ids[-1]
        return newest, min(when[newest] + timedelta(minutes=rng.randint(5, 600)), world.now)
    staff_read_id, staff_read_at = read(last_staff, last_other)
    other_read_id, other_read_at = read(last_other, last_staff)
    return dict(id=convo_id, last_message_at=rows[-1]["created_at"], last_message_id=ids[-1],
                last_to_staff_id=last_other, last_to_other_id=last_staff,
                staff_read_id=staff_read_id, staff_read_at=staff_read_at,
                other_read_id=other_read_id, other_read_at=other_read_at)


def _portfolio_and_reading(world):
    """Teachers' notes in each pupil's portfolio over the year, and reading at home logged by
    parents in the last fortnight, waiting for the teacher."""
    size, rng = world.size, world.rng
    items, reading = [], []
    first = world.now - timedelta(days=size.days)
    for pupil_id, class_id, _team, _surname in world.pupils:
        for _n in range(size.portfolio_per_pupil):
            when = first + timedelta(seconds=rng.random() * (world.now - first).total_seconds())
            items.append(dict(school_id=world.school_id, pupil_id=pupil_id, class_id=class_id,
                              added_by_id=world.teacher_of[class_id], by_pupil=False,
                              body=rng.choice(PORTFOLIO_NOTES), language="en", status="approved",
                              share_requested=False, created_at=when, reviewed_at=when,
                              reviewed_by_id=world.teacher_of[class_id]))
        parents = world.parents_of.get(pupil_id)
        if parents and rng.random() < size.reading_share:
            for back in range(1, 14, rng.choice((2, 3, 4))):
                day = world.local(world.now).date() - timedelta(days=back)
                reading.append(dict(school_id=world.school_id, pupil_id=pupil_id, parent_id=parents[0], read_on=day,
                                    minutes=rng.choice((10, 15, 20, 30)), title=rng.choice(BOOKS),
                                    created_at=world.utc(day, dtime(19, 30)), status="pending"))
    _bulk(PortfolioItem, items)
    _bulk(ReadingLogEntry, reading)
    return len(items) + len(reading)


# ---- the command ---------------------------------------------------------------------------------

def database_size():
    """Bytes the database takes on disk (SQLite: the file and its journal; PostgreSQL: the database)."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        return db.session.scalar(text("SELECT pg_database_size(current_database())"))
    path = engine.url.database
    if not path or path == ":memory:":
        return 0
    db.session.commit()
    db.session.close()
    # What waits in the write-ahead log goes into the file first (else the log is counted too). On
    # the driver's own connection: app/database.py makes SQLAlchemy's connections begin a transaction.
    raw = engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    except sqlite3.OperationalError:
        pass  # busy (another process is reading): then the log is counted as it stands
    finally:
        raw.close()
    return sum(os.path.getsize(p) for p in (path, path + "-wal", path + "-journal") if os.path.exists(p))


def folder_size(path):
    total = 0
    for folder, _dirs, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(folder, name)) for name in files)
    return total


def _megabytes(size):
    return f"{size / 1024 / 1024:,.1f} MB"


def totals(school_id):
    """Rows of the main tables for one school (printed after a run; used by the tests)."""
    counted = [("pupils", Pupil, Pupil.school_id), ("parents", User, User.school_id),
               ("point awards", PointAward, PointAward.school_id), ("posts", Post, Post.school_id),
               ("photos", MediaFile, MediaFile.school_id), ("comments", Comment, Comment.school_id),
               ("conversations", Conversation, Conversation.school_id), ("messages", Message, Message.school_id),
               ("portfolio items", PortfolioItem, PortfolioItem.school_id),
               ("reading log entries", ReadingLogEntry, ReadingLogEntry.school_id)]
    result = {}
    for label, model, column in counted:
        stmt = select(func.count()).select_from(model).where(column == school_id)
        if model is User:
            stmt = stmt.where(User.role == ROLE_PARENT)
        result[label] = db.session.scalar(stmt)
    result["likes"] = db.session.scalar(select(func.count(Like.id)).join(Post, Post.id == Like.post_id)
                                        .where(Post.school_id == school_id))
    return result


def demo_trust(size_name, schools):
    """The command's work: ``schools`` schools of ``size_name``, timed, with totals and sizes."""
    size = SIZES[size_name]
    made = []
    started = time.perf_counter()
    for number in range(1, schools + 1):
        click.echo(f"School {number} of {schools}: {school_name(number)} ({size_name})")
        school, created, report = build_school(number, size, log=click.echo)
        if not created:
            click.echo("  exists already; nothing changed.")
        else:
            click.echo(f"  {'total':<32} {sum(r for _p, r, _s in report.parts):>9,} rows {report.seconds:8.1f} s")
            for label, count in totals(school.id).items():
                click.echo(f"    {label:<22} {count:>9,}")
        made.append((number, school.name, school.id))
    media_root = current_app.config["MEDIA_ROOT"]
    click.echo(f"\nAll done in {time.perf_counter() - started:.1f} s.")
    click.echo(f"Database on disk: {_megabytes(database_size())}  ({db.engine.dialect.name})")
    click.echo(f"Media folder ({media_root}): {_megabytes(folder_size(media_root))}")
    for number, name, school_id in made:
        print_sign_ins(number, name, school_id)


def print_sign_ins(number, name, school_id):
    teacher = db.session.scalar(select(User.email).where(User.school_id == school_id, User.role == ROLE_TEACHER,
                                                         User.email.like("teacher.3k@%")))
    teacher = teacher or db.session.scalar(select(User.email).where(
        User.school_id == school_id, User.role == ROLE_TEACHER).order_by(User.id).limit(1))
    click.echo(f"""
{name}
  Headteacher   {email(number, 'head')}   password: {STAFF_PASSWORD}
  Teacher       {teacher}   password: {STAFF_PASSWORD}
  Parent        {email(number, 'parent')}   password: {PARENT_PASSWORD}""")

