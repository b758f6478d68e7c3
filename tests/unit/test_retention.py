"""Retention (issue 8 part 6, SECURITY.md 28): periods, the run with time travel, erasing a pupil."""
import json
from datetime import date, datetime

import pytest
import time_machine
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditEntry,
    Comment,
    ContentReport,
    Conversation,
    Like,
    MediaFile,
    MediaTag,
    Message,
    Notification,
    ParentLink,
    Passcode,
    PhotoConsent,
    PointAward,
    PointCategory,
    PortfolioItem,
    Post,
    PostRevision,
    Pupil,
    ReadingLogEntry,
    School,
    Translation,
    User,
)
from app.services import retention
from app.services.media import file_path, store_upload
from app.services.translation import source_hash
from tests.conftest import count_queries
from tests.factories import (
    make_class,
    make_comment,
    make_head,
    make_parent,
    make_photo,
    make_post,
    make_pupil,
    make_school,
    make_teacher,
    make_translation,
    photo_upload,
)

T0 = datetime(2024, 1, 10, 12, 0)


def _files(media):
    return [file_path(media, variant) for variant in ("feed", "large", "thumb")]


def _count(model, *conditions):
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions))


class World:
    """One school with a row of every kind, all written at T0, and one pupil who left at T0."""

    def __init__(self):
        self.school = make_school()
        self.klass = make_class(self.school)
        self.teacher = make_teacher(self.school, classes=[self.klass])
        self.head = make_head(self.school)
        self.pupil = make_pupil(self.klass, name="Zosia K.")
        self.leaver = make_pupil(self.klass, name="Leon L.")
        self.parent = make_parent(self.school, children=[self.pupil, self.leaver])
        self.category = db.session.scalars(select(PointCategory).where(
            PointCategory.school_id == self.school.id)).first()

    def seed(self, pupil, tag=""):
        """A point, a reading log entry, a conversation with a message and a photo, a portfolio item
        with a photo, a comment and a like, and a class post with a photo, an edit, a comment and a
        like. Returns the photos (for their files) and the rows' ids."""
        award = PointAward(school_id=self.school.id, pupil_id=pupil.id, category_id=self.category.id,
                           awarded_by_id=self.teacher.id, value=1, request_key=f"k{tag}{pupil.id}")
        db.session.add(award)
        db.session.flush()
        reading = ReadingLogEntry(school_id=self.school.id, pupil_id=pupil.id, parent_id=self.parent.id,
                                  read_on=date.today(), minutes=10, title="Owl Babies", award_id=award.id)
        conversation = Conversation(school_id=self.school.id, kind="parent", staff_id=self.teacher.id,
                                    parent_id=self.parent.id, pupil_id=pupil.id,
                                    pair_key=f"parent:{self.teacher.id}:{self.parent.id}:{pupil.id}:{tag}")
        db.session.add_all([reading, conversation])
        db.session.flush()
        message = Message(school_id=self.school.id, conversation_id=conversation.id,
                          sender_user_id=self.parent.id, from_staff=False, body=f"Message {tag}{pupil.id}")
        item = PortfolioItem(school_id=self.school.id, pupil_id=pupil.id, class_id=self.klass.id,
                             added_by_id=self.teacher.id, body=f"Item {tag}{pupil.id}", status="approved")
        db.session.add_all([message, item])
        db.session.commit()
        message_photo = make_photo(self.parent)
        message_photo.message_id = message.id
        item_photo = make_photo(self.teacher, tags=[pupil])
        item_photo.portfolio_item_id = item.id
        post_photo = make_photo(self.teacher, tags=[pupil])
        post = make_post(self.teacher, self.klass, body=f"Post {tag}{pupil.id}", media=[post_photo])
        db.session.add(PostRevision(post_id=post.id, kind="news", body=f"Before {tag}{pupil.id}",
                                    edited_by_id=self.teacher.id))
        db.session.add_all([Like(user_id=self.parent.id, post_id=post.id),
                            Like(user_id=self.parent.id, portfolio_item_id=item.id)])
        db.session.commit()
        post_comment = make_comment(self.parent, post, body=f"Comment {tag}{pupil.id}")
        make_comment(self.parent, item, body=f"Well done {tag}{pupil.id}")
        db.session.add(ContentReport(school_id=self.school.id, target_type="comment", target_id=post_comment.id,
                                     reporter_user_id=self.teacher.id))
        make_translation(self.school, f"Post {tag}{pupil.id}", "en", "pl", "Wpis")
        make_translation(self.school, f"Message {tag}{pupil.id}", "en", "pl", "Wiadomość")
        return {"award": award.id, "reading": reading.id, "message": message.id,
                "conversation": conversation.id, "item": item.id, "post": post.id,
                "photos": {"message": message_photo, "item": item_photo, "post": post_photo}}


@pytest.fixture
def world(app):
    return World()


def _seed_at_t0(world):
    with time_machine.travel(T0, tick=False):
        seeded = world.seed(world.pupil)
        leaver_rows = world.seed(world.leaver, tag="L")
        world.leaver.status, world.leaver.left_on = "left", T0.date()
        db.session.commit()
    paths = {kind: _files(media) for kind, media in seeded["photos"].items()}
    leaver_paths = [path for media in leaver_rows["photos"].values() for path in _files(media)]
    return seeded, paths, leaver_paths


def _run(at):
    with time_machine.travel(at, tick=False):
        return retention.run()


def _counts(results, school):
    return next(counts for school_id, _name, counts in results if school_id == school.id)


# ---- periods ------------------------------------------------------------------------------------

def test_each_period_is_the_schools_own_or_the_documented_default(app):
    school = make_school()
    assert retention.effective_periods(school) == {kind: retention.DEFAULTS[kind]["months"]
                                                   for kind in retention.KINDS}
    assert set(retention.KINDS) == {"points", "messages", "portfolio", "posts", "after_leaving"}
    assert all(str(value["reason"]) for value in retention.DEFAULTS.values())
    school.retention_posts_months = 12
    assert retention.effective_periods(school)["posts"] == 12
    described = {row["kind"]: row for row in retention.describe_periods(school)}
    assert described["posts"]["months"] == 12 and not described["posts"]["is_default"]
    assert described["points"]["is_default"] and described["points"]["default"] == 24


def test_setting_periods_checks_the_range_audits_and_empty_means_the_default(app):
    school = make_school()
    head = make_head(school)
    with pytest.raises(retention.RetentionError) as refused:
        retention.set_periods(school, head, {"points": 0, "posts": 121, "messages": 24})
    assert set(refused.value.errors) == {"points", "posts"}
    db.session.refresh(school)
    assert school.retention_messages_months is None  # nothing saved when anything is wrong
    changed = retention.set_periods(school, head, {"messages": 24, "points": None})
    assert changed == {"messages": {"from": None, "to": 24}}
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "retention.periods_changed")).one()
    assert entry.actor_user_id == head.id and entry.detail == changed
    assert retention.set_periods(school, head, {"messages": 24}) == {}


@pytest.mark.parametrize("moment, months, expected", [
    (datetime(2026, 3, 31, 9, 30), 1, datetime(2026, 2, 28, 9, 30)),
    (datetime(2024, 3, 31), 1, datetime(2024, 2, 29)),
    (datetime(2026, 1, 15), 1, datetime(2025, 12, 15)),
    (datetime(2026, 1, 15), 24, datetime(2024, 1, 15)),
    (datetime(2026, 7, 1), 96, datetime(2018, 7, 1)),
])
def test_months_before_counts_calendar_months(moment, months, expected):
    assert retention.months_before(moment, months) == expected


# ---- the run --------------------------------------------------------------------------------------

def test_the_run_deletes_each_kind_after_its_period_with_its_files_and_a_second_run_changes_nothing(world):
    seeded, paths, leaver_paths = _seed_at_t0(world)
    assert all(path.is_file() for group in paths.values() for path in group) and leaver_paths
    leaver_id = world.leaver.id

    # Five months on: nothing is due.
    assert _counts(_run(datetime(2024, 6, 10)), world.school) == {}

    # Six months and a day after leaving: the leaver is erased, with their files; nothing else goes.
    counts = _counts(_run(datetime(2024, 7, 12)), world.school)
    assert counts["pupils"] == 1 and counts["files"] == 2  # the message's and the story's photos
    assert db.session.get(Pupil, leaver_id) is None
    assert not any(path.is_file() for path in leaver_paths[:6])  # message photo, story photo
    assert all(path.is_file() for path in leaver_paths[6:])  # the class post's photo stays, untagged
    assert db.session.get(Pupil, world.pupil.id) is not None
    assert _count(PointAward, PointAward.pupil_id == world.pupil.id) == 1

    # Two years and a day: points, the reading log and posts go (with the post's photo, edits, comments).
    counts = _counts(_run(datetime(2026, 1, 11)), world.school)
    # The pupil's award and reading entry; both class posts (the leaver's stayed, untagged), their
    # comments and photos, and the reports about the comments.
    assert counts == {"points": 1, "reading_log": 1, "posts": 2, "comments": 2, "files": 2, "reports": 2}
    assert db.session.get(PointAward, seeded["award"]) is None
    assert db.session.get(ReadingLogEntry, seeded["reading"]) is None
    assert db.session.get(Post, seeded["post"]) is None
    assert _count(PostRevision) == 0 and _count(Like, Like.post_id.is_not(None)) == 0
    assert _count(Comment, Comment.post_id.is_not(None)) == 0 and _count(ContentReport) == 0
    assert not any(path.is_file() for path in paths["post"])
    assert db.session.get(Message, seeded["message"]) is not None
    assert all(path.is_file() for path in paths["message"] + paths["item"])
    assert _count(Translation, Translation.source_hash == source_hash("en", f"Post {world.pupil.id}")) == 0

    # Three years and a day: the message and its photo go, and the conversation left empty.
    counts = _counts(_run(datetime(2027, 1, 11)), world.school)
    assert counts == {"messages": 1, "conversations": 1, "files": 1}
    assert db.session.get(Conversation, seeded["conversation"]) is None
    assert not any(path.is_file() for path in paths["message"])
    assert _count(Translation, Translation.source_hash == source_hash("en", f"Message {world.pupil.id}")) == 0

    # Eight years and a day: the portfolio item, its photo, comment and like.
    counts = _counts(_run(datetime(2032, 1, 11)), world.school)
    assert counts == {"portfolio_items": 1, "comments": 1, "files": 1}
    assert db.session.get(PortfolioItem, seeded["item"]) is None
    assert not any(path.is_file() for path in paths["item"]) and _count(Like) == 0
    assert _count(MediaFile) == 0

    # A second run the same day deletes nothing.
    before = {model.__name__: _count(model) for model in (Pupil, ParentLink, User, MediaFile, Message)}
    assert _counts(_run(datetime(2032, 1, 11, 0, 5)), world.school) == {}
    assert {model.__name__: _count(model) for model in (Pupil, ParentLink, User, MediaFile, Message)} == before
    assert db.session.get(Pupil, world.pupil.id) is not None  # still at the school: never erased by age


def test_the_schools_own_period_is_used_and_recent_rows_stay(world):
    world.school.retention_posts_months = 6
    db.session.commit()
    with time_machine.travel(T0, tick=False):
        old = make_post(world.teacher, world.klass, body="January")
    with time_machine.travel(datetime(2024, 6, 1), tick=False):
        recent = make_post(world.teacher, world.klass, body="June", published_at=datetime(2024, 6, 1))
        draft = make_post(world.teacher, world.klass, body="Draft", published=False)
    old_id, recent_id, draft_id = old.id, recent.id, draft.id
    counts = _counts(_run(datetime(2024, 7, 11)), world.school)
    assert counts == {"posts": 1}
    assert db.session.get(Post, old_id) is None
    assert db.session.get(Post, recent_id) is not None and db.session.get(Post, draft_id) is not None


def test_a_dry_run_counts_the_same_and_deletes_no_row_and_no_file(world):
    seeded, paths, leaver_paths = _seed_at_t0(world)
    with time_machine.travel(datetime(2032, 1, 11), tick=False):
        would = retention.run(dry_run=True)
    assert _count(Pupil) == 2 and _count(MediaFile) == 6 and _count(Message) == 2
    assert all(path.is_file() for group in paths.values() for path in group)
    assert all(path.is_file() for path in leaver_paths)
    assert _count(AuditEntry, AuditEntry.action == "retention.run") == 0
    did = _run(datetime(2032, 1, 11))
    assert _counts(would, world.school) == _counts(did, world.school) != {}


def test_one_audit_entry_per_school_per_run_with_counts_only(world):
    other = make_school()
    _seed_at_t0(world)
    _run(datetime(2024, 7, 12))
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "retention.run")
                                 .order_by(AuditEntry.school_id)).all()
    assert [entry.school_id for entry in entries] == [world.school.id, other.id]
    assert entries[0].detail["counts"]["pupils"] == 1 and entries[1].detail["counts"] == {}
    assert "Leon" not in entries[0].detail_json
    assert entries[0].actor_user_id is None and entries[0].detail["periods"]["after_leaving"] == 6


def test_the_run_costs_the_same_queries_for_five_or_fifty_old_posts(app):
    def queries_for(n):
        school = make_school()
        klass = make_class(school)
        teacher = make_teacher(school, classes=[klass])
        with time_machine.travel(T0, tick=False):
            for i in range(n):
                post = make_post(teacher, klass, body=f"Old {i}")
                make_comment(teacher, post, body=f"Comment {i}")
        with time_machine.travel(datetime(2030, 1, 1), tick=False):
            count = count_queries(lambda: retention.purge_school(school))
        assert _count(Post, Post.school_id == school.id) == 0
        return count
    assert queries_for(5) == queries_for(50)


def test_a_pupil_still_at_school_or_left_recently_is_not_erased(world):
    world.leaver.status, world.leaver.left_on = "left", date(2024, 6, 1)
    db.session.commit()
    leaver_id = world.leaver.id
    counts = _counts(_run(datetime(2024, 12, 1)), world.school)  # six months to the day: not yet
    assert "pupils" not in counts and db.session.get(Pupil, leaver_id) is not None
    assert retention.erasure_date(world.school, date(2024, 6, 1)) == date(2024, 12, 2)
    _run(datetime(2024, 12, 2, 1, 0))
    assert db.session.get(Pupil, leaver_id) is None


# ---- erasing a pupil --------------------------------------------------------------------------------

def _tables_referring_to_pupils():
    """Every (table, column) with a foreign key to pupil.id, read from the models."""
    found = []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if any(fk.column.table.name == "pupil" and fk.column.name == "id" for fk in column.foreign_keys):
                found.append((table.name, column.name))
    return sorted(found)


def _seed_every_pupil_table(world, pupil):
    """One row in each table that refers to a pupil. A new table that refers to pupils has no seed
    here, and the test says so: add a seed, and make erase_pupil delete it."""
    school, teacher, parent = world.school, world.teacher, world.parent
    conversation = Conversation(school_id=school.id, kind="pupil", staff_id=teacher.id, pupil_id=pupil.id,
                                pair_key=f"pupil:{teacher.id}:{pupil.id}")
    db.session.add(conversation)
    db.session.flush()
    message = Message(school_id=school.id, conversation_id=conversation.id, sender_pupil_id=pupil.id,
                      from_staff=False, body=f"Hello from {pupil.id}")
    award = PointAward(school_id=school.id, pupil_id=pupil.id, category_id=world.category.id,
                       awarded_by_id=teacher.id, value=1, request_key=f"erase{pupil.id}")
    db.session.add_all([message, award])
    db.session.flush()
    uploaded = store_upload(photo_upload(), school_id=school.id, uploaded_by_pupil=pupil)
    post_photo = make_photo(teacher, tags=[pupil])
    seeds = {
        ("content_report", "reporter_pupil_id"): ContentReport(
            school_id=school.id, target_type="post", target_id=1, reporter_pupil_id=pupil.id),
        ("conversation", "pupil_id"): conversation,
        ("media_file", "uploaded_by_pupil_id"): uploaded,
        ("media_tag", "pupil_id"): post_photo.tags[0],
        ("message", "sender_pupil_id"): message,
        ("parent_link", "pupil_id"): db.session.scalars(select(ParentLink).where(
            ParentLink.pupil_id == pupil.id)).one(),
        ("passcode", "pupil_id"): Passcode(school_id=school.id, pupil_id=pupil.id, code_hash=f"h{pupil.id}",
                                           hint="AB12", expires_at=datetime(2099, 1, 1)),
        ("photo_consent", "pupil_id"): PhotoConsent(school_id=school.id, pupil_id=pupil.id, value="yes",
                                                    source="parent", recorded_by_id=parent.id),
        ("point_award", "pupil_id"): award,
        ("portfolio_item", "pupil_id"): PortfolioItem(school_id=school.id, pupil_id=pupil.id,
                                                      body=f"My work {pupil.id}", by_pupil=True),
        ("notification", "pupil_id"): Notification(school_id=school.id, user_id=parent.id, kind="points",
                                                    subject=f"pupil:{pupil.id}", pupil_id=pupil.id),
        ("reading_log_entry", "pupil_id"): ReadingLogEntry(
            school_id=school.id, pupil_id=pupil.id, parent_id=parent.id, read_on=date.today(), minutes=5,
            title="Gruffalo", award_id=award.id),
    }
    db.session.add_all(seeds.values())
    db.session.commit()
    make_post(teacher, world.klass, media=[post_photo])
    make_translation(school, f"Hello from {pupil.id}", "en", "pl", "Cześć")
    return seeds, uploaded, post_photo


def test_erasing_a_pupil_leaves_no_row_in_any_table_that_refers_to_pupils(world):
    tables = _tables_referring_to_pupils()
    erased_seeds, uploaded, post_photo = _seed_every_pupil_table(world, world.pupil)
    _seed_every_pupil_table(world, world.leaver)
    missing = [where for where in tables if where not in erased_seeds]
    assert not missing, f"no seed for {missing}: add one here and make erase_pupil delete those rows"
    for table, column in tables:
        rows = db.session.execute(select(func.count()).select_from(db.metadata.tables[table])
                                  .where(db.metadata.tables[table].c[column] == world.pupil.id)).scalar()
        assert rows == 1, (table, column)
    uploaded_files = _files(uploaded)
    pupil_id, leaver_id = world.pupil.id, world.leaver.id

    counts = retention.erase_pupil(world.pupil, world.head)

    for table, column in tables:
        rows = db.session.execute(select(func.count()).select_from(db.metadata.tables[table])
                                  .where(db.metadata.tables[table].c[column] == pupil_id)).scalar()
        assert rows == 0, f"{table}.{column} still refers to the erased pupil"
        others = db.session.execute(select(func.count()).select_from(db.metadata.tables[table])
                                    .where(db.metadata.tables[table].c[column] == leaver_id)).scalar()
        assert others == 1, f"{table}.{column}: the other pupil's row was touched"
    assert db.session.get(Pupil, pupil_id) is None and db.session.get(Pupil, leaver_id) is not None
    assert not any(path.is_file() for path in uploaded_files)
    # The class post's photo stays, untagged; its files too.
    assert db.session.get(MediaFile, post_photo.id) is not None
    assert all(path.is_file() for path in _files(post_photo))
    # The cached translation of the pupil's message went; the other pupil's stays.
    assert _count(Translation, Translation.source_hash == source_hash("en", f"Hello from {pupil_id}")) == 0
    assert _count(Translation, Translation.source_hash == source_hash("en", f"Hello from {leaver_id}")) == 1
    # The parent's account stays, with the other child.
    assert db.session.get(User, world.parent.id) is not None
    assert counts["pupils"] == 1 and counts["files"] == 1 and counts["photo_tags"] == 1


def test_the_erasure_audit_entry_keeps_no_personal_data(world):
    pupil_id = world.pupil.id
    summary = retention.erasure_summary(world.pupil)
    counts = retention.erase_pupil(world.pupil, world.head)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "pupil.erased")).one()
    assert entry.target_type == "pupil" and entry.target_id == pupil_id
    assert entry.actor_user_id == world.head.id and entry.school_id == world.school.id
    assert entry.detail == {"counts": counts} and counts["parent_links"] == 1
    assert "Zosia" not in entry.detail_json and json.loads(entry.detail_json)
    assert {kind: n for kind, n in summary.items() if n} == counts


def test_the_erasure_summary_counts_what_erasing_deletes(world):
    with time_machine.travel(T0, tick=False):
        world.seed(world.pupil)
    _seed_every_pupil_table(world, world.pupil)
    summary = retention.erasure_summary(world.pupil)
    counts = retention.erase_pupil(world.pupil, world.head)
    assert {kind: n for kind, n in summary.items() if n} == counts


def test_a_parent_whose_only_child_is_erased_keeps_the_account(app):
    school = make_school()
    klass = make_class(school)
    pupil = make_pupil(klass)
    parent = make_parent(school, children=[pupil])
    retention.erase_pupil(pupil, make_head(school))
    assert db.session.get(User, parent.id).is_active
    assert _count(ParentLink, ParentLink.parent_id == parent.id) == 0
    assert _count(School) == 1 and _count(MediaTag) == 0
