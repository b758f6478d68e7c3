"""Parent passcodes: format, states, single use, revocation, linking exactly one pupil."""
import hashlib
import re
from datetime import UTC, timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEntry, ParentLink, Passcode, User
from app.models.base import utcnow
from app.services import passcodes
from app.services.accounts import AccountError
from app.services.pupils import UNAMBIGUOUS
from app.services.school_calendar import end_of_academic_year
from tests.factories import make_class, make_head, make_parent, make_pupil, make_school, make_teacher

CODE_RE = re.compile(rf"^[{UNAMBIGUOUS}]{{5}}-[{UNAMBIGUOUS}]{{5}}$")


def _issue(pupil, by=None):
    by = by or make_head(pupil.school)
    [(_, code)] = passcodes.issue_passcodes([pupil], by)
    return code


def _class_with_pupils(n=1, **kw):
    school = make_school(**kw)
    klass = make_class(school, name="3K")
    return school, klass, [make_pupil(klass) for _ in range(n)]


def test_codes_are_random_easy_to_type_and_strong_enough():
    codes = [passcodes.new_code() for _ in range(500)]
    assert all(CODE_RE.match(code) for code in codes)
    assert len(set(codes)) == 500
    assert not set("".join(codes)) & set("0O1lI")
    assert passcodes.CODE_BITS >= 40
    assert passcodes.CODE_LENGTH == 10


@pytest.mark.parametrize("typed", ["ABCDE-23456", "abcde23456", " abcde 23456 ", "ABCDE–23456",
                                   "ab-cd-e2-34-56", "abcde\u00a023456"])
def test_typing_variants_normalise_to_the_same_code(typed):
    assert passcodes.normalise(typed) == "ABCDE23456"
    assert passcodes.format_code(typed) == "ABCDE-23456"
    assert passcodes.digest(typed) == hashlib.sha256(b"ABCDE23456").hexdigest()
    assert passcodes.well_formed(typed)


@pytest.mark.parametrize("typed", ["", "ABCDE-2345", "ABCDE-234567", "ABCDO-23456", "ABCDE-23410"])
def test_malformed_codes_are_unknown(app, typed):
    assert not passcodes.well_formed(typed)
    assert passcodes.check(typed) == ("unknown", None)


def test_issuing_stores_only_the_hash_and_expires_at_year_end(app):
    school, klass, pupils = _class_with_pupils(2, timezone="Pacific/Auckland")
    head = make_head(school)
    issued = passcodes.issue_passcodes(pupils, head)
    assert [p for p, _ in issued] == pupils
    rows = list(db.session.scalars(select(Passcode).order_by(Passcode.id)))
    assert len(rows) == 2
    for (pupil, code), row in zip(issued, rows):
        assert CODE_RE.match(code)
        assert row.pupil_id == pupil.id and row.school_id == school.id
        assert row.code_hash == hashlib.sha256(passcodes.normalise(code).encode()).hexdigest()
        assert row.hint == code[-2:]
        assert row.created_by_id == head.id
        assert row.expires_at == end_of_academic_year(klass.academic_year, "Pacific/Auckland")
        stored = " ".join(str(getattr(row, c.name)) for c in Passcode.__table__.columns)
        assert passcodes.normalise(code) not in stored and code not in stored
    details = " ".join(e.detail_json for e in db.session.scalars(select(AuditEntry)))
    assert all(code not in details and passcodes.normalise(code) not in details for _, code in issued)
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "passcode.issued"))


def test_states_valid_unknown_expired_used_revoked(app):
    school, klass, [pupil] = _class_with_pupils()
    code = _issue(pupil)
    assert passcodes.check(code)[0] == "valid"
    assert passcodes.check(code.lower().replace("-", " "))[0] == "valid"
    assert passcodes.check(passcodes.new_code()) == ("unknown", None)

    row = passcodes.find(code)
    with time_machine.travel((row.expires_at + timedelta(seconds=1)).replace(tzinfo=UTC)):
        assert passcodes.check(code)[0] == "expired"
        with pytest.raises(passcodes.PasscodeError) as err:
            passcodes.redeem(code, make_parent(school))
        assert err.value.state == "expired"

    used = _issue(pupil)
    passcodes.redeem(used, make_parent(school))
    assert passcodes.check(used)[0] == "used"

    revoked = _issue(pupil)
    passcodes.revoke(passcodes.find(revoked), make_head(school))
    assert passcodes.check(revoked)[0] == "revoked"


def test_a_code_stops_working_when_the_child_leaves(app):
    school, klass, [pupil] = _class_with_pupils()
    code = _issue(pupil)
    pupil.status = "left"
    db.session.commit()
    assert passcodes.check(code)[0] == "revoked"


def test_single_use(app):
    school, klass, [pupil] = _class_with_pupils()
    code = _issue(pupil)
    first, second = make_parent(school), make_parent(school)
    assert passcodes.redeem(code, first) == pupil
    with pytest.raises(passcodes.PasscodeError) as err:
        passcodes.redeem(code, second)
    assert err.value.state == "used"
    assert [link.parent_id for link in db.session.scalars(select(ParentLink))] == [first.id]
    row = passcodes.find(code)
    assert row.used_by_id == first.id and row.used_at is not None


def test_a_code_used_between_check_and_redeem_links_nobody(app, monkeypatch):
    school, klass, [pupil] = _class_with_pupils()
    code = _issue(pupil)
    row = passcodes.find(code)
    stale = ("valid", row)
    other = make_parent(school)
    passcodes.redeem(code, other)
    monkeypatch.setattr(passcodes, "check", lambda code, now=None: stale)
    late = make_parent(school)
    with pytest.raises(passcodes.PasscodeError) as err:
        passcodes.redeem(code, late)
    assert err.value.state == "used"
    assert db.session.scalar(select(ParentLink).where(ParentLink.parent_id == late.id)) is None
    assert passcodes.find(code).used_by_id == other.id


def test_revoke(app):
    school, klass, [pupil] = _class_with_pupils()
    head = make_head(school)
    code = _issue(pupil, head)
    row = passcodes.find(code)
    assert passcodes.revoke(row, head) is True
    assert row.revoked_at is not None
    assert passcodes.revoke(row, head) is False  # already revoked: nothing more happens
    with pytest.raises(passcodes.PasscodeError) as err:
        passcodes.redeem(code, make_parent(school))
    assert err.value.state == "revoked"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "passcode.revoked"))
    assert entry.actor_user_id == head.id and entry.target_id == row.id


def test_revoke_outstanding_leaves_used_codes_alone(app):
    school, klass, [pupil, other_pupil] = _class_with_pupils(2)
    head = make_head(school)
    used = _issue(pupil, head)
    passcodes.redeem(used, make_parent(school))
    open_one, open_two = _issue(pupil, head), _issue(pupil, head)
    elsewhere = _issue(other_pupil, head)
    assert passcodes.outstanding_hints([pupil.id]) == {pupil.id: [open_one[-2:], open_two[-2:]]}
    assert passcodes.revoke_outstanding(pupil, head) == 2
    assert passcodes.check(used)[0] == "used"
    assert passcodes.check(open_one)[0] == passcodes.check(open_two)[0] == "revoked"
    assert passcodes.check(elsewhere)[0] == "valid"
    assert passcodes.outstanding_hints([pupil.id]) == {}


def test_redeem_links_exactly_the_one_pupil(app):
    school, klass, pupils = _class_with_pupils(3)
    sibling_class = make_class(school)
    sibling = make_pupil(sibling_class)
    code = _issue(pupils[1])
    parent = make_parent(school)
    assert passcodes.redeem(code, parent) == pupils[1]
    links = list(db.session.scalars(select(ParentLink)))
    assert [(link.parent_id, link.pupil_id) for link in links] == [(parent.id, pupils[1].id)]
    assert links[0].passcode_id == passcodes.find(code).id
    assert sibling not in parent.children
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "passcode.redeemed"))
    assert entry.actor_user_id == parent.id and entry.detail == {"pupil_id": pupils[1].id,
                                                               "already_linked": False}


def test_redeem_is_idempotent_for_a_child_already_linked(app):
    school, klass, [pupil] = _class_with_pupils()
    parent = make_parent(school, children=[pupil])
    code = _issue(pupil)
    assert passcodes.redeem(code, parent) == pupil
    assert len(list(db.session.scalars(select(ParentLink)))) == 1
    assert passcodes.check(code)[0] == "used"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "passcode.redeemed"))
    assert entry.detail["already_linked"] is True


def test_redeem_refuses_staff_and_parents_of_another_school(app):
    school, klass, [pupil] = _class_with_pupils()
    code = _issue(pupil)
    for account, state in [(make_teacher(school, classes=[klass]), "not_parent"),
                           (make_parent(make_school()), "wrong_school")]:
        with pytest.raises(passcodes.PasscodeError) as err:
            passcodes.redeem(code, account)
        assert err.value.state == state
    assert passcodes.check(code)[0] == "valid"
    assert db.session.scalar(select(ParentLink)) is None


def test_join_as_new_parent_creates_a_parent_of_the_codes_school(app):
    make_school()  # another school in the same database
    school, klass, [pupil] = _class_with_pupils()
    code = _issue(pupil)
    user, linked = passcodes.join_as_new_parent(code, " Anna Kowalska ", "Anna@Example.org",
                                                "a quiet river morning", "pl")
    assert linked == pupil
    assert (user.school_id, user.role, user.email, user.name, user.locale) == (
        school.id, "parent", "anna@example.org", "Anna Kowalska", "pl")
    assert user.password_hash.startswith("$argon2id$")
    assert user.children == [pupil]
    assert passcodes.check(code)[0] == "used"


@pytest.mark.parametrize("email, password, fields", [
    ("taken@example.org", "a quiet river morning", {"email"}),
    ("new@example.org", "short", {"password"}),
    ("new@example.org", "password123", {"password"}),
    ("taken@example.org", "short", {"email", "password"}),
])
def test_join_as_new_parent_refuses_bad_details_and_changes_nothing(app, email, password, fields):
    school, klass, [pupil] = _class_with_pupils()
    make_parent(school, email="taken@example.org")
    code = _issue(pupil)
    users_before = db.session.scalar(select(db.func.count(User.id)))
    with pytest.raises(AccountError) as err:
        passcodes.join_as_new_parent(code, "Anna", email, password)
    assert set(err.value.errors) == fields
    db.session.rollback()
    assert db.session.scalar(select(db.func.count(User.id))) == users_before
    assert passcodes.check(code)[0] == "valid"


def test_join_as_new_parent_with_a_used_code_creates_no_account(app):
    school, klass, [pupil] = _class_with_pupils()
    code = _issue(pupil)
    passcodes.redeem(code, make_parent(school))
    with pytest.raises(passcodes.PasscodeError):
        passcodes.join_as_new_parent(code, "Anna", "anna@example.org", "a quiet river morning")
    assert db.session.scalar(select(User).where(User.email == "anna@example.org")) is None


def test_outstanding_ignores_expired_codes(app):
    school, klass, [pupil] = _class_with_pupils()
    code = _issue(pupil)
    row = passcodes.find(code)
    row.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert passcodes.check(code)[0] == "expired"
    assert passcodes.outstanding_hints([pupil.id]) == {}
    assert passcodes.revoke_outstanding(pupil, make_head(school)) == 0
