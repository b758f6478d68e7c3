"""`flask demo`: the README's sign-ins exist and work, and a second run changes nothing."""
from sqlalchemy import func, select

from app.demo import PARENT_PASSWORD, STAFF_PASSWORD, build_demo
from app.extensions import db
from app.models import ParentLink, Pupil, SchoolClass, User
from app.services.accounts import authenticate


def test_demo_school_has_what_the_readme_promises(app):
    school, created = build_demo()
    assert created
    classes = db.session.scalars(select(SchoolClass).where(SchoolClass.school_id == school.id)).all()
    assert sorted(c.year_group for c in classes) == list(range(8))  # Nursery to Year 6
    for klass in classes:
        count = db.session.scalar(select(func.count(Pupil.id)).where(Pupil.class_id == klass.id))
        assert 20 <= count <= 28, klass.name
        assert klass.teachers
    for email in ("head", "senior", "teacher"):
        assert authenticate(f"{email}@hearth-demo.example", STAFF_PASSWORD) is not None
    parent = authenticate("parent@hearth-demo.example", PARENT_PASSWORD)
    names = sorted(c.display_name.split()[0] for c in parent.children)
    assert names == ["Maja", "Zosia"]
    assert {c.school_class.name for c in parent.children} == {"3K", "RW"}
    zosia = next(c for c in parent.children if c.display_name == "Zosia K.")
    assert zosia.picture_password == "sun-cat-tree-star"
    three_k = zosia.school_class
    assert three_k.class_code == "HEARTH"
    two_parents = db.session.scalar(select(func.count()).select_from(
        select(ParentLink.pupil_id).group_by(ParentLink.pupil_id).having(func.count() > 1).subquery()))
    assert two_parents >= 2
    other_languages = db.session.scalar(select(func.count(User.id)).where(
        User.role == "parent", User.locale.is_not(None), User.locale != "en"))
    assert other_languages >= 5
    from app.models import PointAward
    from app.services.points import totals_by_pupil
    assert db.session.scalar(select(func.count(PointAward.id))) > 1000
    assert totals_by_pupil([zosia.id])[zosia.id] > 0
    _check_the_demo_news(parent, db.session.scalar(select(User).where(User.email == "teacher@hearth-demo.example")))


def _check_the_demo_news(parent, teacher):
    """The demo parent and teacher have believable notifications (issue 9), at sensible times."""
    from app.models import Notification
    from app.models.base import utcnow
    from app.services import notification_events, notifications
    now = utcnow()
    for person, kinds in ((parent, {"message", "post"}), (teacher, {"like"})):
        rows = db.session.scalars(select(Notification).where(Notification.user_id == person.id)).all()
        assert kinds <= {row.kind for row in rows}, person.email
        assert all(row.created_at <= row.updated_at <= now for row in rows)
        db.session.refresh(person)
        assert person.unread_notifications == notifications.recount(person) > 0
    # Anna answered Mrs King's messages: only the newest reply waits for her.
    (waiting,) = db.session.scalars(select(Notification).where(
        Notification.user_id == parent.id, Notification.kind == "message", Notification.read_at.is_(None))).all()
    assert waiting.count == 1 and waiting.actor_id == teacher.id
    # Nothing old is announced late by the timer's first run.
    assert notification_events.notify_due_posts() == 0


def test_second_run_changes_nothing(app):
    build_demo()
    counts = [db.session.scalar(select(func.count()).select_from(t)) for t in (User, Pupil, SchoolClass)]
    _school, created = build_demo()
    assert not created
    assert counts == [db.session.scalar(select(func.count()).select_from(t)) for t in (User, Pupil, SchoolClass)]
