"""Signing in and out: SECURITY.md 1-4 and 8-10."""
import re
import time

import pytest
import time_machine

from app.extensions import db
from app.models import AuditEntry, User
from app.services import accounts
from tests.conftest import sign_in
from tests.factories import PASSWORD, make_class, make_head, make_parent, make_pupil, make_school, make_teacher


def _login(client, email, password):
    return client.post("/auth/login", data={"email": email, "password": password})


def test_stored_hash_is_argon2id_and_no_plaintext(app):
    school = make_school()
    user = make_parent(school)
    assert user.password_hash.startswith("$argon2id$")
    row = db.session.execute(db.text("SELECT password_hash FROM \"user\" WHERE id = :i"), {"i": user.id}).scalar()
    assert PASSWORD not in row


def test_sign_in_then_home(app, client):
    school = make_school()
    parent = make_parent(school, email="mum@example.org")
    r = _login(client, "MUM@example.org ", PASSWORD)
    assert r.status_code == 302
    r = client.get("/", follow_redirects=True)
    assert r.status_code == 200 and "My children" in r.text
    assert db.session.get(User, parent.id).last_sign_in_at is not None


def test_unknown_email_and_wrong_password_get_the_same_answer(app, client):
    school = make_school()
    make_parent(school, email="dad@example.org")
    wrong = _login(client, "dad@example.org", "not the password at all")
    unknown = _login(client, "nobody@example.org", "not the password at all")
    assert wrong.status_code == unknown.status_code == 200

    def message(r):
        return re.search(r'class="error-summary"[^>]*>([^<]+)<', r.text).group(1)
    assert message(wrong) == message(unknown)


@pytest.mark.parametrize("password,staff,ok", [
    ("password123", False, False),
    ("short", False, False),
    ("elephant-ri", False, True),
    ("elephant-ri", True, False),  # staff need 12
    ("elephant-river-blue", True, True),
    ("x" * 129, False, False),
    ("ąęłńóśźż 🙂 ok", False, True),  # any characters
])
def test_password_rules(app, password, staff, ok):
    assert (accounts.password_problem(password, staff=staff) is None) is ok


def test_rehash_when_parameters_change(app):
    from argon2 import PasswordHasher
    school = make_school()
    user = make_parent(school)
    old = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    user.password_hash = old
    assert accounts.check_password(user, PASSWORD)
    assert user.password_hash != old and user.password_hash.startswith("$argon2id$")
    assert accounts._hasher().check_needs_rehash(user.password_hash) is False


def test_the_26th_failed_attempt_is_throttled_then_cools_down(make_app):
    app = make_app(RATELIMIT_ENABLED=True, LOGIN_LIMIT_PER_ACCOUNT="100 per 5 minutes")
    with app.app_context():
        school = make_school()
        make_parent(school, email="p@example.org")
    client = app.test_client()
    with time_machine.travel(time.time(), tick=False) as traveller:
        for i in range(25):
            r = _login(client, f"someone{i}@example.org", "wrong password here")
            assert r.status_code == 200, i
        r = _login(client, "p@example.org", PASSWORD)
        assert r.status_code == 429
        assert "wait" in r.text and int(r.headers["Retry-After"]) > 0
        traveller.shift(301)
        r = _login(client, "p@example.org", PASSWORD)
        assert r.status_code == 302


def test_per_account_throttle(make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    with app.app_context():
        make_parent(make_school(), email="target@example.org")
    statuses = []
    for i in range(11):
        c = app.test_client()
        statuses.append(c.post("/auth/login", data={"email": "target@example.org", "password": "nope-nope"},
                               environ_base={"REMOTE_ADDR": f"10.0.0.{i + 1}"}).status_code)
    assert statuses[:10] == [200] * 10 and statuses[10] == 429


def test_with_redis_down_sign_in_works_and_failures_are_still_counted(make_app):
    """REDIS_URL set but Redis not answering: the sign-in limits count in this process instead of
    failing the sign-in (README: Redis stopped)."""
    import socket

    from app.extensions import limiter
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    app = make_app(RATELIMIT_ENABLED=True, REDIS_URL=f"redis://127.0.0.1:{closed}/0")
    assert app.config["RATELIMIT_STORAGE_URI"] == f"redis://127.0.0.1:{closed}/0"
    with app.app_context():
        make_parent(make_school(), email="p@example.org")
    try:
        assert _login(app.test_client(), "p@example.org", "not the password").status_code == 200
        assert _login(app.test_client(), "p@example.org", PASSWORD).status_code == 302
        statuses = [_login(app.test_client(), "p@example.org", "wrong again").status_code for _ in range(10)]
        assert statuses == [200] * 9 + [429]
    finally:
        limiter._storage_dead = False  # the extension is shared by the tests' apps


def test_new_session_on_login(app, client):
    school = make_school()
    make_parent(school, email="p@example.org")
    with client.session_transaction() as s:
        s["planted"] = "by an attacker"
    _login(client, "p@example.org", PASSWORD)
    with client.session_transaction() as s:
        assert "planted" not in s


def test_logout_ends_every_session(app):
    school = make_school()
    parent = make_parent(school)
    a, b = sign_in(app.test_client(), parent), sign_in(app.test_client(), parent)
    assert a.get("/family/").status_code == 200 and b.get("/family/").status_code == 200
    a.post("/auth/logout")
    assert b.get("/family/").status_code == 302  # sent to sign in


def test_suspension_refuses_every_session_at_once(app):
    from app.auth_session import revoke_all_sessions
    school = make_school()
    parent = make_parent(school)
    a, b = sign_in(app.test_client(), parent), sign_in(app.test_client(), parent)
    parent.status = "suspended"
    parent.status_reason = "Shared photos on social media"
    revoke_all_sessions(parent)
    db.session.commit()
    for c in (a, b):
        assert c.get("/family/").status_code == 302
    r = _login(app.test_client(), parent.email, PASSWORD)
    assert "suspended" in r.text and "Shared photos on social media" in r.text


def test_password_change_signs_out_other_devices(app):
    school = make_school()
    parent = make_parent(school)
    here, there = sign_in(app.test_client(), parent), sign_in(app.test_client(), parent)
    r = here.post("/auth/account", data={"current": PASSWORD, "password": "a-new-long-password",
                                         "confirm": "a-new-long-password"})
    assert r.status_code == 302
    assert here.get("/family/").status_code == 200
    assert there.get("/family/").status_code == 302


def test_weak_new_password_is_refused_and_typing_kept(app, login_as):
    school = make_school()
    parent = make_parent(school)
    r = login_as(parent).post("/auth/account", data={"current": PASSWORD, "password": "password123",
                                                    "confirm": "password123"})
    assert r.status_code == 200 and "too common" in r.text


def test_idle_session_ends(app):
    school = make_school()
    teacher = make_teacher(school)
    c = sign_in(app.test_client(), teacher)
    with c.session_transaction() as s:
        s["seen_at"] = int(time.time()) - 3 * 3600  # staff idle limit is two hours
    r = c.get("/family/")
    assert r.status_code == 302 and "/auth/login" in r.headers["Location"]


def test_pupil_absolute_lifetime(app):
    school = make_school()
    pupil = make_pupil(make_class(school))
    c = sign_in(app.test_client(), pupil)
    with c.session_transaction() as s:
        s["auth_at"] = int(time.time()) - 3 * 3600
    r = c.get("/classroom/me")
    assert r.status_code == 302 and "/classroom" in r.headers["Location"]


def test_csrf_is_required(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        make_parent(make_school(), email="p@example.org")
    r = app.test_client().post("/auth/login", data={"email": "p@example.org", "password": PASSWORD})
    assert r.status_code == 400 and "expired" in r.text


def test_csrf_header_is_accepted(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        make_parent(make_school(), email="p@example.org")
    client = app.test_client()
    page = client.get("/auth/login").text
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    r = client.post("/auth/login", data={"email": "p@example.org", "password": PASSWORD},
                    headers={"X-CSRFToken": token})
    assert r.status_code == 302


def test_staff_invite_is_one_time(app, client):
    school = make_school()
    head = make_head(school)
    invite, token = accounts.invite_staff(school, "new.teacher@example.org", "Ms New", "teacher", head)
    data = {"name": "Ms New", "password": "long enough teacher pass", "confirm": "long enough teacher pass"}
    r = client.post(f"/auth/invite/{token}", data=data)
    assert r.status_code == 302
    user = accounts.find_user_by_email("new.teacher@example.org")
    assert user.role == "teacher" and user.school_id == school.id
    r = app.test_client().post(f"/auth/invite/{token}", data=data)
    assert r.status_code == 404 and "no longer works" in r.text


def test_staff_invite_needs_twelve_characters(app, client):
    school = make_school()
    _invite, token = accounts.invite_staff(school, "t@example.org", "T", "teacher")
    r = client.post(f"/auth/invite/{token}", data={"name": "T", "password": "shortpass1", "confirm": "shortpass1"})
    assert r.status_code == 200 and "12 characters" in r.text


def test_audit_log_refuses_updates_and_deletes(app):
    from app.models.audit import AuditLogIsAppendOnly
    from app.services.audit import audit
    school = make_school()
    entry = audit("test.entry", school_id=school.id)
    db.session.commit()
    entry.action = "changed"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEntry, entry.id))
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.commit()
    db.session.rollback()


def test_an_htmx_request_after_the_session_ended_redirects_the_whole_page(app):
    school = make_school()
    parent = make_parent(school, children=[make_pupil(make_class(school))])
    c = sign_in(app.test_client(), parent)
    with c.session_transaction() as s:
        s["seen_at"] = int(time.time()) - 20 * 24 * 3600  # idle past the parent limit
    r = c.get("/family/", headers={"HX-Request": "true"})
    assert r.status_code == 200 and r.data == b"" and "/auth/login" in r.headers["HX-Redirect"]
    anonymous = app.test_client().get("/family/", headers={"HX-Request": "true"})
    assert anonymous.status_code == 200 and "/auth/login" in anonymous.headers["HX-Redirect"]
