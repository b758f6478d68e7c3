"""Home reading log: the service rules, without HTTP."""
from datetime import date, timedelta

import pytest

from app.extensions import db
from app.models import PointAward, ReadingLogEntry
from app.services import points
from tests.factories import make_class, make_head, make_parent, make_pupil, make_school, make_senior, make_teacher

TODAY = date(2025, 3, 12)


@pytest.fixture
def world(app):
    school = make_school()
    klass = make_class(school, name="3K")
    child = make_pupil(klass, name="Zosia K.")
    other_child = make_pupil(make_class(school, name="4B"), name="Wren P.")
    other_school = make_school()
    return {
        "school": school, "child": child, "other child": other_child,
        "parent": make_parent(school, children=[child]),
        "other parent": make_parent(school, children=[other_child]),
        "teacher": make_teacher(school, classes=[klass]),
        "other teacher": make_teacher(school, classes=[other_child.school_class]),
        "senior": make_senior(school),
        "head": make_head(school),
        "other head": make_head(other_school),
    }


def log(world, read_on=TODAY, minutes=20, title="The Gruffalo", key=None, parent="parent", child="child"):
    return points.log_reading(world[parent], world[child], read_on, minutes, title, request_key=key, today=TODAY)


@pytest.mark.parametrize("read_on,minutes,title,field", [
    (TODAY + timedelta(days=1), 20, "The Gruffalo", "read_on"),
    (TODAY - timedelta(days=32), 20, "The Gruffalo", "read_on"),
    (None, 20, "The Gruffalo", "read_on"),
    (TODAY, 0, "The Gruffalo", "minutes"),
    (TODAY, -5, "The Gruffalo", "minutes"),
    (TODAY, 301, "The Gruffalo", "minutes"),
    (TODAY, 100000, "The Gruffalo", "minutes"),
    (TODAY, None, "The Gruffalo", "minutes"),
    (TODAY, 20, "   ", "title"),
    (TODAY, 20, "x" * 201, "title"),
])
def test_bad_entries_are_refused_with_a_reason_per_field(world, read_on, minutes, title, field):
    with pytest.raises(points.ReadingLogError) as refused:
        log(world, read_on=read_on, minutes=minutes, title=title)
    assert list(refused.value.errors) == [field] and refused.value.errors[field]
    assert db.session.query(ReadingLogEntry).count() == 0


def test_every_bad_field_is_reported_at_once(world):
    with pytest.raises(points.ReadingLogError) as refused:
        log(world, read_on=TODAY + timedelta(days=3), minutes=999, title="")
    assert set(refused.value.errors) == {"read_on", "minutes", "title"}


def test_the_limits_themselves_are_accepted(world):
    assert log(world, read_on=TODAY, minutes=1).status == "pending"
    assert log(world, read_on=TODAY - timedelta(days=31), minutes=300).status == "pending"


def test_the_same_key_records_once(world):
    first = log(world, key="7:abc")
    again = log(world, key="7:abc", minutes=45)
    assert again.id == first.id and db.session.query(ReadingLogEntry).count() == 1
    log(world, key="7:def")
    assert db.session.query(ReadingLogEntry).count() == 2


def test_only_a_childs_own_parent_records_reading(world):
    with pytest.raises(points.PointsError):
        log(world, parent="other parent")
    with pytest.raises(points.PointsError):
        points.log_reading(world["teacher"], world["child"], TODAY, 20, "x", today=TODAY)


def test_approval_makes_one_home_learning_point(world):
    entry = log(world)
    points.review_reading(world["teacher"], [entry], approve=True)
    award = db.session.get(PointAward, entry.award_id)
    assert entry.status == "approved" and award.pupil_id == world["child"].id
    assert award.category.home_learning and award.value == award.category.value and not award.needs_work
    assert award.awarded_by_id == world["teacher"].id and award.class_id == world["child"].class_id
    points.review_reading(world["teacher"], [entry], approve=True)  # already approved: nothing more
    assert db.session.query(PointAward).count() == 1


def test_not_approved_makes_no_point(world):
    entry = log(world)
    points.review_reading(world["teacher"], [entry], approve=False)
    assert entry.status == "declined" and entry.award_id is None
    assert db.session.query(PointAward).count() == 0


@pytest.mark.parametrize("who,may", [("teacher", True), ("other teacher", False), ("senior", True),
                                     ("head", True), ("other head", False), ("parent", False)])
def test_who_may_approve(world, who, may):
    entry = log(world)
    if may:
        points.review_reading(world[who], [entry])
        assert entry.status == "approved"
    else:
        with pytest.raises(points.PointsError):
            points.review_reading(world[who], [entry])
        db.session.rollback()
        assert db.session.get(ReadingLogEntry, entry.id).status == "pending"
        assert db.session.query(PointAward).count() == 0


@pytest.mark.parametrize("who,sees", [("teacher", ["Zosia K."]), ("other teacher", ["Wren P."]),
                                      ("senior", ["Zosia K.", "Wren P."]), ("head", ["Zosia K.", "Wren P."]),
                                      ("other head", [])])
def test_the_queue_holds_what_each_member_of_staff_may_approve(world, who, sees):
    log(world)
    log(world, parent="other parent", child="other child", title="Matilda")
    done = log(world, title="Already seen")
    points.review_reading(world["head"], [done])
    queue = points.reading_queue(world[who])
    assert [entry.pupil.display_name for entry in queue] == sees
    assert points.reading_waiting_count(world[who]) == len(sees)


def test_a_pupil_who_has_left_drops_out_of_the_queue(world):
    log(world)
    world["child"].status = "left"
    db.session.commit()
    assert points.reading_queue(world["teacher"]) == [] and points.reading_waiting_count(world["teacher"]) == 0


def test_reading_entries_newest_first_for_one_child(world):
    log(world, read_on=TODAY - timedelta(days=2), title="Older")
    log(world, read_on=TODAY, title="Newer")
    log(world, parent="other parent", child="other child", title="Not ours")
    assert [e.title for e in points.reading_entries(world["child"].id)] == ["Newer", "Older"]


def test_two_teachers_approving_the_same_entry_make_one_point(app):
    """The entry is claimed with a conditional update: a teacher whose page still shows it as
    waiting (another teacher approved it a moment ago) makes no second point."""
    from sqlalchemy import func, select, update
    school = make_school()
    klass = make_class(school)
    child = make_pupil(klass)
    parent = make_parent(school, children=[child])
    teacher, senior = make_teacher(school, classes=[klass]), make_senior(school)
    entry = points.log_reading(parent, child, points.school_today(school) - timedelta(days=1), 20, "Matilda")
    assert entry.status == "pending"
    points.review_reading(teacher, [db.session.get(ReadingLogEntry, entry.id)])
    # The senior leader's copy was loaded before: make it say "pending" as their page did.
    db.session.execute(update(ReadingLogEntry).where(ReadingLogEntry.id == entry.id).values(status="approved"))
    stale = ReadingLogEntry(id=entry.id, school_id=entry.school_id, pupil_id=child.id, parent_id=parent.id,
                            read_on=entry.read_on, minutes=20, title="Matilda", status="pending")
    stale.pupil = child
    db.session.expunge(db.session.get(ReadingLogEntry, entry.id))
    done = points.review_reading(senior, [stale])
    assert done == []
    assert db.session.scalar(select(func.count(PointAward.id)).where(PointAward.pupil_id == child.id)) == 1
