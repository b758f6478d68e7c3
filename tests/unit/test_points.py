"""Team points services: idempotent awards, concurrency, refusals, recorded undo, totals, categories."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEntry, PointAward, PointCategory, Pupil, User
from app.models.base import utcnow
from app.services import points
from app.services.points import CategoryError, PointsError
from tests.factories import make_class, make_head, make_pupil, make_school, make_senior, make_teacher


@pytest.fixture
def world(app):
    school = make_school()
    klass = make_class(school, name="3K")
    other_class = make_class(school, name="5R")
    zosia = make_pupil(klass, name="Zosia K.")
    teacher = make_teacher(school, classes=[klass])
    return school, klass, other_class, zosia, teacher


def category(school, name="Showing Values"):
    return db.session.scalar(select(PointCategory).where(PointCategory.school_id == school.id,
                                                         PointCategory.name == name))


def needs_work_category(school):
    return db.session.scalar(select(PointCategory).where(PointCategory.school_id == school.id,
                                                         PointCategory.kind == "needs_work"))


def award_count(**where):
    stmt = select(func.count(PointAward.id))
    for column, value in where.items():
        stmt = stmt.where(getattr(PointAward, column) == value)
    return db.session.scalar(stmt)


# ---- awarding ---------------------------------------------------------------------------------------

def test_the_same_key_twice_awards_once(world):
    school, klass, other_class, zosia, teacher = world
    first = points.award_points(teacher, [zosia], category(school), "key-1")
    again = points.award_points(teacher, [zosia], category(school), "key-1")
    assert award_count() == 1
    assert [a.id for a in first] == [a.id for a in again]


def test_a_repeat_with_more_pupils_adds_only_the_new_ones(world):
    school, klass, other_class, zosia, teacher = world
    adam = make_pupil(klass, name="Adam B.")
    points.award_points(teacher, [zosia], category(school), "key-1")
    awards = points.award_points(teacher, [zosia, adam], category(school), "key-1")
    assert award_count() == 2 and {a.pupil_id for a in awards} == {zosia.id, adam.id}


def test_two_teachers_awarding_the_same_pupil_at_once_both_count(world, app):
    school, klass, other_class, zosia, teacher = world
    second = make_teacher(school, classes=[klass])
    ids = (teacher.id, second.id)
    pupil_id, category_id = zosia.id, category(school).id
    db.session.commit()
    start, errors = threading.Barrier(2), []

    def award(user_id):
        with app.app_context():
            try:
                start.wait()
                # The same key on two iPads: keys belong to the teacher who sent them.
                points.award_points(db.session.get(User, user_id), [db.session.get(Pupil, pupil_id)],
                                    db.session.get(PointCategory, category_id), "same-key")
            except Exception as error:  # reported below
                errors.append(error)

    threads = [threading.Thread(target=award, args=(user_id,)) for user_id in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert award_count(pupil_id=pupil_id) == 2
    assert points.totals_by_pupil([pupil_id]) == {pupil_id: 2}


def test_eight_threads_of_fifty_awards_give_exactly_400(world, app):
    """SECURITY.md 32: 8 threads x 50 awards to one pupil from two teachers, no "database is locked"."""
    school, klass, other_class, zosia, teacher = world
    second = make_teacher(school, classes=[klass])
    ids = (teacher.id, second.id)
    pupil_id, category_id = zosia.id, category(school).id
    db.session.commit()
    errors = []

    def run(n):
        with app.app_context():
            by = db.session.get(User, ids[n % 2])
            pupil = db.session.get(Pupil, pupil_id)
            cat = db.session.get(PointCategory, category_id)
            for i in range(50):
                try:
                    points.award_points(by, [pupil], cat, f"t{n}-{i}")
                except Exception as error:  # reported below
                    db.session.rollback()
                    errors.append(repr(error))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert award_count(pupil_id=pupil_id) == 400
    assert points.totals_by_pupil([pupil_id]) == {pupil_id: 400}


def test_a_retired_category_is_refused_and_nothing_written(world):
    school, klass, other_class, zosia, teacher = world
    retired = category(school)
    points.retire_category(retired, make_head(school))
    with pytest.raises(PointsError, match="not in use"):
        points.award_points(teacher, [zosia], retired, "key-1")
    assert award_count() == 0


def test_another_schools_category_and_a_missing_one_are_refused(world):
    school, klass, other_class, zosia, teacher = world
    theirs = category(make_school())
    for bad in (theirs, None):
        with pytest.raises(PointsError):
            points.award_points(teacher, [zosia], bad, "key-1")
    assert award_count() == 0


def test_needs_work_is_refused_until_the_school_turns_it_on(world):
    school, klass, other_class, zosia, teacher = world
    needs_work = needs_work_category(school)
    with pytest.raises(PointsError):
        points.award_points(teacher, [zosia], needs_work, "key-1")
    assert award_count() == 0
    points.set_needs_work(school, make_head(school), True)
    [award] = points.award_points(teacher, [zosia], needs_work, "key-1")
    assert award.needs_work and award.value == 1
    # A needs-work point never shows in the positive totals (the class screen's numbers).
    assert points.totals_by_pupil([zosia.id]) == {}
    assert points.totals_by_pupil([zosia.id], include_needs_work=True) == {zosia.id: -1}


def test_a_pupil_outside_the_teachers_classes_is_refused(world):
    school, klass, other_class, zosia, teacher = world
    stranger = make_pupil(other_class, name="Ola P.")
    with pytest.raises(PointsError, match="in your classes"):
        points.award_points(teacher, [zosia, stranger], category(school), "key-1")
    assert award_count() == 0
    # A senior leader awards to any pupil of the school.
    points.award_points(make_senior(school), [stranger], category(school), "key-2")
    assert award_count(pupil_id=stranger.id) == 1


def test_a_pupil_who_left_is_refused(world):
    school, klass, other_class, zosia, teacher = world
    zosia.status = "left"
    db.session.commit()
    with pytest.raises(PointsError):
        points.award_points(teacher, [zosia], category(school), "key-1")
    assert award_count() == 0


def test_a_long_note_or_a_missing_key_is_refused(world):
    school, klass, other_class, zosia, teacher = world
    with pytest.raises(PointsError, match="140"):
        points.award_points(teacher, [zosia], category(school), "key-1", note="x" * 141)
    with pytest.raises(PointsError):
        points.award_points(teacher, [zosia], category(school), "")
    with pytest.raises(PointsError):
        points.award_points(teacher, [], category(school), "key-2")
    assert award_count() == 0


def test_pupil_ids_of_another_school_count_as_unknown(world):
    school, klass, other_class, zosia, teacher = world
    theirs = make_pupil(make_class(make_school()))
    assert points.pupils_by_ids(school, [zosia.id, zosia.id]) == [zosia]
    with pytest.raises(PointsError, match="could not find"):
        points.pupils_by_ids(school, [zosia.id, theirs.id])
    with pytest.raises(PointsError):
        points.pupils_by_ids(school, [987654])


# ---- undo and totals ----------------------------------------------------------------------------------

def test_undo_is_recorded_not_deleted(world):
    school, klass, other_class, zosia, teacher = world
    points.award_points(teacher, [zosia], category(school), "key-1")
    [award] = points.undo_awards(teacher, "key-1")
    assert award_count() == 1
    assert award.undone_at is not None and award.undone_by_id == teacher.id
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "points.undone"))
    assert entry.actor_user_id == teacher.id and entry.target_id == award.id


def test_undo_only_within_the_window_and_only_ones_own(world):
    school, klass, other_class, zosia, teacher = world
    points.award_points(teacher, [zosia], category(school), "key-1")
    with pytest.raises(PointsError, match="too late"):
        points.undo_awards(teacher, "key-1", now=utcnow() + points.UNDO_WINDOW + timedelta(seconds=1))
    with pytest.raises(PointsError, match="nothing to undo"):
        points.undo_awards(make_teacher(school, classes=[klass]), "key-1")
    assert db.session.scalar(select(func.count()).where(PointAward.undone_at.is_not(None))) == 0
    points.undo_awards(teacher, "key-1", now=utcnow() + points.UNDO_WINDOW - timedelta(seconds=5))
    assert db.session.scalar(select(func.count()).where(PointAward.undone_at.is_not(None))) == 1


def test_totals_leave_out_undone_points(world):
    school, klass, other_class, zosia, teacher = world
    points.award_points(teacher, [zosia], category(school), "key-1")
    points.award_points(teacher, [zosia], category(school), "key-2")
    points.undo_awards(teacher, "key-2")
    assert points.totals_by_pupil([zosia.id]) == {zosia.id: 1}


def test_class_board_counts_todays_positive_points_of_active_pupils(world):
    school, klass, other_class, zosia, teacher = world
    adam = make_pupil(klass, name="Adam B.")
    gone = make_pupil(klass, name="Gone G.", status="left")
    points.set_needs_work(school, make_head(school), True)
    points.award_points(teacher, [zosia, adam], category(school), "today")
    points.award_points(teacher, [zosia], category(school), "yesterday", now=utcnow() - timedelta(days=2))
    points.award_points(teacher, [zosia], needs_work_category(school), "needs-work")
    points.award_points(teacher, [adam], category(school), "undone")
    points.undo_awards(teacher, "undone")
    pupils, today = points.class_board(klass)
    assert pupils == [adam, zosia] and gone not in pupils
    assert today == {zosia.id: 1, adam.id: 1}


# ---- categories ----------------------------------------------------------------------------------------

def test_adding_a_category_puts_it_last_and_audits(world):
    school, klass, other_class, zosia, teacher = world
    head = make_head(school)
    made = points.add_category(school, head, name="  Kindness  ", icon="sparkle", value=2, kind="positive")
    assert made.name == "Kindness" and points.categories(school)[-1] == made
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "points.category_added"))
    assert entry.target_id == made.id and entry.actor_user_id == head.id


@pytest.mark.parametrize("name, icon, value, kind, field", [
    ("", "star", 1, "positive", "name"),
    ("x" * 81, "star", 1, "positive", "name"),
    ("showing values", "star", 1, "positive", "name"),  # the same name in other letters' case
    ("Kindness", "rocket", 1, "positive", "icon"),
    ("Kindness", "star", 0, "positive", "value"),
    ("Kindness", "star", 6, "positive", "value"),
    ("Kindness", "star", 1, "negative", "kind"),
])
def test_a_bad_category_is_refused_next_to_its_field(world, name, icon, value, kind, field):
    school, klass, other_class, zosia, teacher = world
    before = len(points.categories(school, include_retired=True, kinds=points.CATEGORY_KINDS))
    with pytest.raises(CategoryError) as caught:
        points.add_category(school, make_head(school), name=name, icon=icon, value=value, kind=kind)
    assert caught.value.field == field
    assert len(points.categories(school, include_retired=True, kinds=points.CATEGORY_KINDS)) == before


def test_editing_keeps_the_history_of_earlier_awards(world):
    school, klass, other_class, zosia, teacher = world
    head = make_head(school)
    values = category(school)
    points.award_points(teacher, [zosia], values, "key-1")
    points.update_category(values, head, name="Showing Our Values", icon="star", value=3, kind="positive")
    points.update_category(values, head, name="showing our values", icon="star", value=3, kind="positive")
    assert values.name == "showing our values" and values.value == 3
    assert db.session.scalar(select(PointAward.value)) == 1
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "points.category_changed")
                                 .order_by(AuditEntry.id)).all()
    assert len(entries) == 2 and '"value": [1, 3]' in entries[0].detail_json


def test_moving_reorders_and_stops_at_the_ends(world):
    school, klass, other_class, zosia, teacher = world
    head = make_head(school)
    first, second = points.categories(school)[:2]
    points.move_category(second, head, "up")
    assert points.categories(school)[:2] == [second, first]
    points.move_category(second, head, "up")  # already first: nothing changes
    assert points.categories(school)[:2] == [second, first]
    last = points.categories(school, include_retired=True, kinds=points.CATEGORY_KINDS)[-1]
    points.move_category(last, head, "down")
    moves = db.session.scalar(select(func.count()).where(AuditEntry.action == "points.category_moved"))
    assert moves == 1


def test_retired_categories_are_not_offered_and_can_come_back(world):
    school, klass, other_class, zosia, teacher = world
    head = make_head(school)
    teamwork = category(school, "Teamwork")
    points.award_points(teacher, [zosia], teamwork, "key-1")
    points.retire_category(teamwork, head)
    assert teamwork not in points.categories(school)
    assert teamwork in points.categories(school, include_retired=True)
    assert points.totals_by_pupil([zosia.id]) == {zosia.id: 1}  # its points are kept
    points.restore_category(teamwork, head)
    assert teamwork in points.categories(school)
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("points.category_%"))
                                 .order_by(AuditEntry.id)).all()
    assert actions == ["points.category_retired", "points.category_restored"]


def test_needs_work_setting_is_off_by_default_and_audited(world):
    school, klass, other_class, zosia, teacher = world
    assert school.needs_work_enabled is False
    assert all(not c.needs_work for c in points.categories(school))
    points.set_needs_work(school, make_head(school), True)
    points.set_needs_work(school, make_head(school), True)  # no change, no second entry
    assert any(c.needs_work for c in points.categories(school))
    assert db.session.scalar(select(func.count()).where(AuditEntry.action == "points.needs_work_changed")) == 1
