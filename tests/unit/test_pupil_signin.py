"""Pupil sign-in rules: class codes, checking picture sequences, throttling, new pictures, QR codes."""
import os
import time

import pytest
import time_machine
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import STRATEGIES
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEntry
from app.models.base import utcnow
from app.services import pupil_signin
from app.services.pupil_signin import LOCKED, SIGNED_IN, WRONG
from tests.factories import make_class, make_pupil, make_school, make_teacher

RIGHT = ["sun", "cat", "tree"]


def audit_actions(action):
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


@pytest.mark.parametrize("typed, expected", [
    ("QWERTY", True), ("qwerty", True), (" qwe rty ", True), ("QWE-RTY", True),
    ("QWERT", False), ("QWERTYU", False), ("QWERT0", False), ("QWERTO", False), ("QWERT1", False),
    ("", False), (None, False),
])
def test_class_code_shape(typed, expected):
    assert pupil_signin.looks_like_class_code(typed) is expected


def test_class_for_code_ignores_case_and_spaces_and_archived_classes(app):
    school = make_school()
    open_class = make_class(school, class_code="QWERTY")
    archived = make_class(school, class_code="HJKMNP", archived_at=utcnow())
    assert pupil_signin.class_for_code("qwe rty") == open_class
    assert pupil_signin.class_for_code("HJKMNP") is None
    assert pupil_signin.class_for_code("ZZZZZZ") is None
    assert pupil_signin.class_for_code("QWERTY' OR 1=1") is None
    assert archived.archived_at is not None


def test_pupil_of_class_only_finds_active_pupils_of_that_class(app):
    school, other_school = make_school(), make_school()
    klass = make_class(school, class_code="QWERTY")
    other_class = make_class(school, class_code="ASDFGH")
    far_class = make_class(other_school, class_code="ZXCVBN")
    zosia = make_pupil(klass)
    left = make_pupil(klass, status="left")
    neighbour = make_pupil(other_class)
    stranger = make_pupil(far_class)
    assert pupil_signin.pupil_of_class(klass, zosia.id) == zosia
    assert pupil_signin.pupil_of_class(klass, left.id) is None
    assert pupil_signin.pupil_of_class(klass, neighbour.id) is None
    assert pupil_signin.pupil_of_class(klass, stranger.id) is None
    assert pupil_signin.class_pupils(klass) == [zosia]


def test_sequence_length_follows_the_password_given(app):
    school = make_school()
    young = make_pupil(make_class(school, year_group=2), picture_password="sun-cat-tree")
    older = make_pupil(make_class(school, year_group=6), picture_password="sun-cat-tree-star")
    moved_up = make_pupil(make_class(school, year_group=5), picture_password="sun-cat-tree")
    assert pupil_signin.sequence_length(young) == 3
    assert pupil_signin.sequence_length(older) == 4
    assert pupil_signin.sequence_length(moved_up) == 3


def test_check_pictures_needs_the_same_pictures_in_the_same_order(app):
    pupil = make_pupil(make_class(make_school()), picture_password="sun-cat-tree")
    assert pupil_signin.check_pictures(pupil, RIGHT) == SIGNED_IN
    assert pupil_signin.check_pictures(pupil, ["cat", "sun", "tree"]) == WRONG
    assert pupil_signin.check_pictures(pupil, ["sun", "cat"]) == WRONG
    assert pupil_signin.check_pictures(pupil, ["sun", "cat", "tree", "star"]) == WRONG
    assert pupil_signin.check_pictures(pupil, []) == WRONG


def test_without_rate_limits_nothing_is_locked(app):
    pupil = make_pupil(make_class(make_school()))
    for _ in range(20):
        assert pupil_signin.check_pictures(pupil, ["moon", "star", "fish"]) == WRONG
    assert pupil_signin.check_pictures(pupil, RIGHT) == SIGNED_IN


def test_too_many_wrong_sequences_lock_the_pupil_until_the_window_passes(make_app):
    app = make_app(RATELIMIT_ENABLED=True, PUPIL_LIMIT_PER_PUPIL="10 per 5 minutes")
    with app.app_context(), time_machine.travel(time.time(), tick=False) as traveller:
        klass = make_class(make_school())
        pupil, classmate = make_pupil(klass), make_pupil(klass)
        results = [pupil_signin.check_pictures(pupil, ["moon", "star", "fish"]) for _ in range(10)]
        assert results == [WRONG] * 9 + [LOCKED]
        assert pupil_signin.is_locked(pupil)
        # Refused while locked, even with the right pictures; nothing more is counted or logged.
        assert pupil_signin.check_pictures(pupil, RIGHT) == LOCKED
        assert len(audit_actions("pupil.sign_in_locked")) == 1
        # A classmate is not affected.
        assert not pupil_signin.is_locked(classmate)
        assert pupil_signin.check_pictures(classmate, RIGHT) == SIGNED_IN

        traveller.shift(4 * 60)
        assert pupil_signin.check_pictures(pupil, RIGHT) == LOCKED
        traveller.shift(61 + 60)
        assert not pupil_signin.is_locked(pupil)
        assert pupil_signin.check_pictures(pupil, RIGHT) == SIGNED_IN


def test_new_pictures_change_the_password_end_sessions_and_unlock(make_app):
    app = make_app(RATELIMIT_ENABLED=True, PUPIL_LIMIT_PER_PUPIL="3 per 5 minutes")
    with app.app_context():
        school = make_school()
        klass = make_class(school, year_group=6)
        teacher = make_teacher(school, classes=[klass])
        # Never made by new_picture_password (its pictures are distinct), so a change always shows.
        pupil = make_pupil(klass, picture_password="ball-ball-ball")
        for _ in range(3):
            pupil_signin.check_pictures(pupil, ["moon", "star", "fish"])
        assert pupil_signin.is_locked(pupil)
        version = pupil.session_version

        pupil_signin.give_new_pictures(pupil, by=teacher)

        db.session.refresh(pupil)
        sequence = pupil.picture_sequence
        assert pupil.picture_password != "ball-ball-ball"
        assert len(sequence) == 4 and len(set(sequence)) == 4
        assert pupil.session_version == version + 1
        assert not pupil_signin.is_locked(pupil)
        [entry] = audit_actions("pupil.picture_password_changed")
        assert (entry.actor_user_id, entry.target_id, entry.school_id) == (teacher.id, pupil.id, school.id)
        assert "ball" not in entry.detail_json and sequence[0] not in entry.detail_json


def test_qr_code_is_inline_svg_without_style_or_xml_declaration(app):
    svg = str(pupil_signin.qr_svg("https://school.example/classroom/c/QWERTY", "QR code <for> you"))
    assert svg.startswith('<svg role="img" ')
    assert "<?xml" not in svg and "style" not in svg and "<script" not in svg
    assert 'class="qr"' in svg and "viewBox" in svg
    assert "<title>QR code &lt;for&gt; you</title>" in svg


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="needs Redis: set TEST_REDIS_URL")
def test_wrong_sequences_are_counted_where_every_process_sees_them(make_app):
    url = os.environ["TEST_REDIS_URL"]
    limit = "3 per 5 minutes"
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=url, PUPIL_LIMIT_PER_PUPIL=limit)
    with app.app_context():
        pupil = make_pupil(make_class(make_school()))
        pupil_signin.clear_failures(pupil)  # ids repeat between test runs; Redis outlives them
        try:
            for _ in range(3):
                pupil_signin.check_pictures(pupil, ["moon", "star", "fish"])
            # Another process: its own connection to the same Redis, nothing shared in memory.
            strategy = STRATEGIES[app.config.get("RATELIMIT_STRATEGY") or "fixed-window"]
            elsewhere = strategy(storage_from_string(url))
            assert not elsewhere.test(parse(limit), pupil_signin.THROTTLE_SCOPE, str(pupil.id))
        finally:
            pupil_signin.clear_failures(pupil)


def test_with_redis_down_a_pupil_still_signs_in_and_wrong_pictures_still_lock(make_app):
    """REDIS_URL set but nothing answers there: the count moves to this process (README: Without Redis)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    app = make_app(RATELIMIT_ENABLED=True, REDIS_URL=f"redis://127.0.0.1:{closed}/0",
                   PUPIL_LIMIT_PER_PUPIL="10 per 5 minutes")
    with app.app_context():
        klass = make_class(make_school())
        pupil, classmate = make_pupil(klass), make_pupil(klass)
        pupil_signin.clear_failures(pupil)
        results = [pupil_signin.check_pictures(pupil, ["moon", "star", "fish"]) for _ in range(10)]
        assert results == [WRONG] * 9 + [LOCKED]
        assert pupil_signin.check_pictures(classmate, RIGHT) == SIGNED_IN
        pupil_signin.clear_failures(pupil)
        assert pupil_signin.check_pictures(pupil, RIGHT) == SIGNED_IN
