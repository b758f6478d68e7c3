"""`flask demo --size large` / `--schools N` (app/demo_large.py), built small: what it makes is what
was asked, it stays inside its school, its photos are real files, and its people can use the app."""
from datetime import UTC, datetime
from datetime import time as dtime

import pytest
import time_machine
from PIL import Image
from sqlalchemy import func, select

from app import demo_large
from app.demo_large import Size, build_school, totals
from app.extensions import db
from app.models import (
    Comment,
    Conversation,
    Like,
    MediaFile,
    MediaTag,
    Message,
    ParentLink,
    PointAward,
    Post,
    Pupil,
    School,
    SchoolClass,
    User,
)
from app.models.calendar import CLOSURE_KINDS, KIND_TERM, CalendarEntry
from app.models.school import class_teachers
from app.services.media import file_path
from app.services.working_time import SchoolCalendar

TINY = Size(year_groups=(4, 5), forms=("K", "M"), pupils_per_class=(5, 7), days=30,
            awards_per_pupil_day=(1, 2, 3), posts_per_class_day=0.5, photos_per_post=(1, 2), pictures=2,
            messages=150, portfolio_per_pupil=1, reading_share=0.5)
# A Wednesday in the autumn term, so that the last 30 days are mostly school days.
TERM_TIME = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def in_term():
    with time_machine.travel(TERM_TIME, tick=True):
        yield


def _school(number=1, size=TINY):
    school, created, report = build_school(number, size)
    assert created
    return school, report


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_what_was_asked_is_made(app, in_term):
    school, report = _school()
    assert [part for part, _rows, _seconds in report.parts] == [
        "school, staff and classes", "pupils and families", "point awards", "class story posts and photos",
        "messages", "portfolio and reading"]
    classes = db.session.scalars(select(SchoolClass).where(SchoolClass.school_id == school.id)).all()
    assert sorted(c.name for c in classes) == ["3K", "3M", "4K", "4M"]
    for klass in classes:
        assert 5 <= _count(Pupil, Pupil.class_id == klass.id) <= 7
        assert [t.email for t in klass.teachers] == [f"teacher.{klass.name.lower()}@school-1.hearth-demo.example"]
    counted = totals(school.id)
    assert counted["messages"] == 150
    assert counted["point awards"] > 0 and counted["posts"] > 0 and counted["photos"] >= counted["posts"] - 1
    assert counted["portfolio items"] == counted["pupils"]
    pupils = counted["pupils"]
    links = _count(ParentLink, ParentLink.pupil_id.in_(select(Pupil.id).where(Pupil.school_id == school.id)))
    assert pupils <= links <= 2 * pupils
    roles = dict(db.session.execute(select(User.role, func.count()).where(User.school_id == school.id)
                                    .group_by(User.role)).all())
    assert roles == {"headteacher": 1, "senior_leader": 2, "teacher": 4, "parent": counted["parents"]}


def test_awards_are_in_school_hours_on_school_days_for_pupils_of_the_school(app, in_term):
    school, _report = _school()
    entries = db.session.execute(select(CalendarEntry.kind, CalendarEntry.first_day, CalendarEntry.last_day)
                                 .where(CalendarEntry.school_id == school.id)).all()
    calendar = SchoolCalendar(tz=school.timezone, terms=[(f, la) for k, f, la in entries if k == KIND_TERM],
                              closures=[(f, la) for k, f, la in entries if k in CLOSURE_KINDS])
    rows = db.session.execute(select(PointAward, Pupil).join(Pupil, Pupil.id == PointAward.pupil_id)
                              .where(PointAward.school_id == school.id)).all()
    assert len(rows) > 100
    now = datetime.now(UTC).replace(tzinfo=None)
    for award, pupil in rows:
        local = award.awarded_at.replace(tzinfo=UTC).astimezone(calendar.tz)
        assert calendar.is_school_day(local.date()), local
        assert dtime(9, 0) <= local.time() <= dtime(15, 16), local
        assert award.awarded_at <= now
        assert pupil.school_id == school.id and award.class_id == pupil.class_id
        assert award.team_id == pupil.team_id and not award.needs_work
    teachers = dict(db.session.execute(select(class_teachers.c.class_id, class_teachers.c.user_id)).all())
    assert {(a.class_id, a.awarded_by_id) for a, _p in rows} <= set(teachers.items())


def test_every_photo_has_its_own_readable_files(app, in_term):
    school, _report = _school()
    photos = db.session.scalars(select(MediaFile).where(MediaFile.school_id == school.id)).all()
    assert photos and all(photo.post_id for photo in photos)
    paths = set()
    for photo in photos:
        stored = 0
        for variant in ("feed", "large", "thumb"):
            path = file_path(photo, variant)
            paths.add(path)
            with Image.open(path) as image:
                image.verify()
            stored += path.stat().st_size
        with Image.open(file_path(photo, "feed")) as image:
            assert image.size == (photo.width, photo.height)
        assert stored == photo.bytes_stored
    assert len(paths) == 3 * len(photos)  # no two rows share a file: deleting one breaks no other
    tagged = db.session.execute(select(Pupil.photo_consent, Pupil.school_id).join(
        MediaTag, MediaTag.pupil_id == Pupil.id)).all()
    assert tagged and all(row == ("yes", school.id) for row in tagged)


def test_conversations_counters_and_read_markers_are_consistent(app, in_term):
    school, _report = _school()
    conversations = db.session.scalars(select(Conversation).where(Conversation.school_id == school.id)).all()
    assert conversations
    unread_somewhere = 0
    for convo in conversations:
        messages = db.session.scalars(select(Message).where(Message.conversation_id == convo.id)
                                      .order_by(Message.id)).all()
        assert messages
        assert [m.created_at for m in messages] == sorted(m.created_at for m in messages)
        to_staff = [m.id for m in messages if not m.from_staff]
        to_other = [m.id for m in messages if m.from_staff]
        assert convo.last_message_id == messages[-1].id and convo.last_message_at == messages[-1].created_at
        assert convo.last_to_staff_id == max(to_staff, default=0)
        assert convo.last_to_other_id == max(to_other, default=0)
        # Writing is reading: each side has read at least up to its own last message, never past the end.
        assert max(to_other, default=0) <= convo.staff_read_id <= convo.last_message_id
        assert max(to_staff, default=0) <= convo.other_read_id <= convo.last_message_id
        for read_id, read_at in ((convo.staff_read_id, convo.staff_read_at),
                                 (convo.other_read_id, convo.other_read_at)):
            assert (read_id == 0) == (read_at is None)
        for m in messages:
            sender = m.sender_user_id
            assert sender == (convo.staff_id if m.from_staff else convo.parent_id)
        unread_somewhere += convo.staff_read_id < convo.last_to_staff_id or convo.other_read_id < convo.last_to_other_id
        link = db.session.scalar(select(ParentLink).where(ParentLink.parent_id == convo.parent_id,
                                                          ParentLink.pupil_id == convo.pupil_id))
        assert link is not None


def _school_of(model, column, ids):
    return set(db.session.scalars(select(model.school_id).where(column.in_(ids)).distinct()))


def test_two_schools_share_nothing(app, in_term):
    first, _r = _school(1)
    second, _r = _school(2)
    assert first.name != second.name and first.slug != second.slug
    for school in (first, second):
        sid = school.id
        awards = db.session.execute(select(PointAward.pupil_id, PointAward.class_id, PointAward.awarded_by_id)
                                    .where(PointAward.school_id == sid)).all()
        assert _school_of(Pupil, Pupil.id, {a[0] for a in awards}) == {sid}
        assert _school_of(SchoolClass, SchoolClass.id, {a[1] for a in awards}) == {sid}
        assert _school_of(User, User.id, {a[2] for a in awards}) == {sid}
        links = db.session.execute(select(ParentLink.parent_id, ParentLink.pupil_id).join(
            User, User.id == ParentLink.parent_id).where(User.school_id == sid)).all()
        assert _school_of(Pupil, Pupil.id, {pupil for _parent, pupil in links}) == {sid}
        convos = db.session.execute(select(Conversation.staff_id, Conversation.parent_id, Conversation.pupil_id)
                                    .where(Conversation.school_id == sid)).all()
        assert _school_of(User, User.id, {c[0] for c in convos} | {c[1] for c in convos}) == {sid}
        assert _school_of(Pupil, Pupil.id, {c[2] for c in convos}) == {sid}
        senders = set(db.session.scalars(select(Message.sender_user_id).where(Message.school_id == sid)))
        assert _school_of(User, User.id, senders) == {sid}
        assert _school_of(Conversation, Conversation.id, set(db.session.scalars(
            select(Message.conversation_id).where(Message.school_id == sid)))) == {sid}
        posts = set(db.session.scalars(select(MediaFile.post_id).where(MediaFile.school_id == sid)))
        assert _school_of(Post, Post.id, posts) == {sid}
        liked = db.session.execute(select(Like.user_id, Like.post_id).join(Post, Post.id == Like.post_id)
                                   .where(Post.school_id == sid)).all()
        assert _school_of(User, User.id, {u for u, _p in liked}) == {sid}
        commented = db.session.execute(select(Comment.author_id, Comment.post_id).where(Comment.school_id == sid)).all()
        assert _school_of(User, User.id, {a for a, _p in commented}) == {sid}
        assert _school_of(Post, Post.id, {p for _a, p in commented}) == {sid}
        tags = db.session.execute(select(MediaTag.pupil_id).join(MediaFile).where(MediaFile.school_id == sid)).all()
        assert _school_of(Pupil, Pupil.id, {t for (t,) in tags}) == {sid}
        taught = db.session.execute(select(class_teachers.c.user_id).join(
            SchoolClass, SchoolClass.id == class_teachers.c.class_id).where(SchoolClass.school_id == sid)).all()
        assert _school_of(User, User.id, {t for (t,) in taught}) == {sid}
    emails = db.session.scalars(select(User.email).where(User.school_id == second.id)).all()
    assert emails and all(e.endswith("@school-2.hearth-demo.example") for e in emails)


def test_running_twice_does_not_duplicate(app, in_term):
    school, _r = _school()
    before = totals(school.id)
    again, created, report = build_school(1, TINY)
    assert (again.id, created, report.parts) == (school.id, False, [])
    assert totals(school.id) == before
    assert _count(School) == 1


@pytest.mark.parametrize("who, path", [
    ("parent", "/family/"),
    ("parent", "/stories/class/{class_id}"),
    ("parent", "/messages/"),
    ("teacher", "/points/class/{class_id}"),
    ("teacher", "/stories/class/{class_id}"),
    ("teacher", "/messages/"),
    ("head", "/points/class/{class_id}"),
])
def test_main_pages_answer_for_the_generated_people(app, login_as, in_term, who, path):
    _school()
    account = db.session.scalar(select(User).where(User.email == f"{who if who != 'teacher' else 'teacher.3k'}"
                                                                     "@school-1.hearth-demo.example"))
    three_k = db.session.scalar(select(SchoolClass).where(SchoolClass.name == "3K"))
    if who == "parent":
        assert three_k.id in {child.class_id for child in account.children} and len(account.children) == 2
    response = login_as(account).get(path.format(class_id=three_k.id))
    assert response.status_code == 200, response.headers.get("Location")


def test_the_command_prints_timings_sizes_and_sign_ins_and_is_safe_twice(app, in_term, monkeypatch):
    monkeypatch.setitem(demo_large.SIZES, "normal", TINY)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "--schools", "2"])
    assert result.exit_code == 0, result.output
    for expected in ("School 2 of 2", "point awards", "Database on disk:", "Media folder",
                     "head@school-1.hearth-demo.example", "teacher.3k@school-2.hearth-demo.example",
                     "parent@school-2.hearth-demo.example"):
        assert expected in result.output
    counts = [_count(model) for model in (School, User, PointAward, Message, MediaFile)]
    again = runner.invoke(args=["demo", "--schools", "2"])
    assert again.exit_code == 0 and again.output.count("exists already; nothing changed.") == 2
    assert counts == [_count(model) for model in (School, User, PointAward, Message, MediaFile)]
    assert _count(School, School.slug == "hearth-demo") == 0  # the normal demo is another command


def test_the_command_refuses_in_production(app, monkeypatch):
    monkeypatch.setenv("HEARTH_ENV", "production")
    result = app.test_cli_runner().invoke(args=["demo", "--size", "large"])
    assert result.exit_code != 0 and "not made in production" in result.output
    assert _count(School) == 0


def test_sizes_on_offer_are_the_issue_s():
    large = demo_large.SIZES["large"]
    pupils = len(large.year_groups) * len(large.forms) * sum(large.pupils_per_class) / 2
    assert 21 == len(large.year_groups) * len(large.forms) and 560 <= pupils <= 640
    assert large.messages == 100_000 and large.days >= 365
