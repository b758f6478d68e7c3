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


def test_second_run_changes_nothing(app):
    build_demo()
    counts = [db.session.scalar(select(func.count()).select_from(t)) for t in (User, Pupil, SchoolClass)]
    _school, created = build_demo()
    assert not created
    assert counts == [db.session.scalar(select(func.count()).select_from(t)) for t in (User, Pupil, SchoolClass)]
