"""The join flow: a passcode, then a new account or an existing one, linked to exactly one child."""
import html
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import ParentLink, User
from app.models.base import utcnow
from app.services import passcodes
from tests.conftest import sign_in
from tests.factories import PASSWORD, make_class, make_head, make_parent, make_pupil, make_school, make_teacher

NEW_PASSWORD = "a quiet river morning"


def _issue(pupil):
    [(_, code)] = passcodes.issue_passcodes([pupil], make_head(pupil.school))
    return code


def _setup(**school_kw):
    school = make_school(**school_kw)
    klass = make_class(school, name="3K")
    pupil = make_pupil(klass, name="Zosia K.")
    return school, klass, pupil


def _account_form(**overrides):
    data = {"name": "Anna Kowalska", "email": "anna@example.org", "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD, "language": "en"}
    data.update(overrides)
    return data


def test_join_page_prefills_the_code_from_the_letter_address(client):
    r = client.get("/join?code=abcde23456")
    assert r.status_code == 200
    assert 'value="ABCDE-23456"' in r.text
    assert 'action="/join"' in r.text


def test_new_parent_joins_then_acknowledges_then_sees_their_child(app, client):
    school, klass, pupil = _setup()
    make_pupil(klass, name="Kwame A.")
    code = _issue(pupil)

    r = client.post("/join", data={"code": code.lower()})
    assert r.status_code == 302 and r.headers["Location"] == "/join/account"
    r = client.get("/join/account")
    assert r.status_code == 200
    assert "Zosia K." in r.text and "3K" in r.text and school.name in r.text
    assert "Kwame A." not in r.text
    assert "/auth/login?next=/join/confirm" in html.unescape(r.text)

    r = client.post("/join/account", data=_account_form(language="en"))
    # No photo consent recorded yet: the parent is asked on the child's page.
    assert r.status_code == 302 and r.headers["Location"] == f"/family/child/{pupil.id}#photo-consent"
    user = db.session.scalar(select(User).where(User.email == "anna@example.org"))
    assert user.role == "parent" and user.school_id == school.id
    assert [link.pupil_id for link in user.children_links] == [pupil.id]
    assert passcodes.check(code)[0] == "used"

    r = client.get("/family/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/consent/acknowledge")
    r = client.post(r.headers["Location"], data={"agree": "yes"})
    assert r.status_code == 302
    r = client.get("/family/")
    assert r.status_code == 200 and "Zosia K." in r.text and "Kwame A." not in r.text
    with client.session_transaction() as sess:
        assert "join_code" not in sess


def test_existing_parent_adds_a_second_child(app, login_as):
    school, klass, first = _setup()
    second = make_pupil(make_class(school, name="5R"), name="Tomasz K.")
    parent = make_parent(school, children=[first])
    code = _issue(second)
    client = login_as(parent)

    r = client.post("/join", data={"code": code})
    assert r.status_code == 302 and r.headers["Location"] == "/join/confirm"
    r = client.get("/join/confirm")
    assert r.status_code == 200
    assert "Link Tomasz K. (5R) to your account?" in r.text
    assert passcodes.check(code)[0] == "valid"  # a GET changes nothing

    r = client.post("/join/confirm", follow_redirects=True)
    assert r.status_code == 200
    assert "Tomasz K. is now linked to your account." in r.text
    assert {link.pupil_id for link in parent.children_links} == {first.id, second.id}
    assert passcodes.check(code)[0] == "used"


def test_parent_signing_in_during_the_flow_comes_back_to_confirm(app, client):
    school, klass, pupil = _setup()
    parent = make_parent(school, email="mum@example.org")
    code = _issue(pupil)
    assert client.post("/join", data={"code": code}).headers["Location"] == "/join/account"
    r = client.post("/auth/login?next=/join/confirm",
                    data={"email": "mum@example.org", "password": PASSWORD})
    assert r.status_code == 302 and r.headers["Location"] == "/join/confirm"
    assert client.post("/join/confirm").headers["Location"] == f"/family/child/{pupil.id}#photo-consent"
    assert [link.pupil_id for link in parent.children_links] == [pupil.id]


def _make_state(state, pupil):
    code = _issue(pupil)
    row = passcodes.find(code)
    if state == "expired":
        row.expires_at = utcnow() - timedelta(minutes=1)
    elif state == "used":
        row.used_at = utcnow()
    elif state == "revoked":
        row.revoked_at = utcnow()
    db.session.commit()
    return code


@pytest.mark.parametrize("state, words", [
    ("unknown", "We could not find that passcode"),
    ("expired", "This passcode has expired"),
    ("used", "This passcode has already been used"),
    ("revoked", "This passcode has been cancelled by the school"),
])
def test_each_bad_code_gets_one_plain_message_with_the_office_contact(app, client, state, words):
    school, klass, pupil = _setup(office_phone="0113 496 0123", office_email="office@oakfield.sch.uk")
    code = passcodes.new_code() if state == "unknown" else _make_state(state, pupil)
    typed = code.lower()
    r = client.post("/join", data={"code": typed})
    assert r.status_code == 200
    assert words in r.text
    assert "ask the school office" in r.text.lower()
    assert "0113 496 0123" in r.text.split("</main>")[0]
    assert "office@oakfield.sch.uk" in r.text.split("</main>")[0]
    assert f'value="{typed}"' in r.text
    assert 'aria-invalid="true"' in r.text
    assert "Zosia" not in r.text
    with client.session_transaction() as sess:
        assert "join_code" not in sess
    assert db.session.scalar(select(ParentLink)) is None


def test_bad_code_shows_the_office_of_the_codes_school_when_several_schools(app, client):
    make_school(office_phone="0000 000 0000")
    school, klass, pupil = _setup(office_phone="0113 496 0999", office_email="desk@birch.sch.uk")
    code = _make_state("revoked", pupil)
    r = client.post("/join", data={"code": code})
    main = r.text.split("</main>")[0]
    assert "0113 496 0999" in main and "desk@birch.sch.uk" in main and "0000 000 0000" not in main


def test_an_empty_code_is_asked_for(client):
    r = client.post("/join", data={"code": "  "})
    assert r.status_code == 200 and "Type the passcode from your letter." in r.text


def test_a_code_used_between_steps_is_caught_at_the_next_step(app, client, login_as):
    school, klass, pupil = _setup()
    code = _issue(pupil)
    client.post("/join", data={"code": code})
    passcodes.redeem(code, make_parent(school))  # someone else was quicker
    r = client.post("/join/account", data=_account_form())
    assert r.status_code == 200 and "This passcode has already been used" in r.text
    assert f'value="{code}"' in r.text
    assert db.session.scalar(select(User).where(User.email == "anna@example.org")) is None

    second = _issue(pupil)
    parent = make_parent(school)
    signed_in = login_as(parent)
    signed_in.post("/join", data={"code": second})
    passcodes.revoke(passcodes.find(second), make_head(school))
    r = signed_in.post("/join/confirm")
    assert r.status_code == 200 and "cancelled by the school" in r.text
    assert parent.children_links == []


def test_join_steps_without_a_code_go_back_to_the_start(client):
    assert client.get("/join/confirm").headers["Location"] == "/join"
    assert client.get("/join/account").headers["Location"] == "/join"


@pytest.mark.parametrize("overrides, field_error", [
    ({"email": "taken@example.org"}, "There is already an account with this email address."),
    ({"password": "short", "confirm": "short"}, "Use at least 8 characters."),
    ({"password": "password123", "confirm": "password123"}, "too common"),
    ({"confirm": "something else entirely"}, "The two passwords are not the same."),
    ({"email": "not-an-email"}, "Enter an email address like name@example.com."),
    ({"name": ""}, "Enter your name."),
])
def test_account_form_errors_sit_next_to_the_field_and_keep_the_typing(app, client, overrides,
                                                                       field_error):
    school, klass, pupil = _setup()
    make_parent(school, email="taken@example.org")
    code = _issue(pupil)
    client.post("/join", data={"code": code})
    data = _account_form(**overrides)
    r = client.post("/join/account", data=data)
    assert r.status_code == 200
    assert field_error in r.text
    assert 'class="error"' in r.text
    if data["name"]:
        assert f'value="{data["name"]}"' in r.text
    assert f'value="{data["email"]}"' in r.text
    assert passcodes.check(code)[0] == "valid"
    expected = 1 if data["email"] == "taken@example.org" else 0
    assert db.session.scalar(select(func.count(User.id)).where(User.email == data["email"])) == expected


def test_every_problem_with_the_account_form_is_shown_at_once(app, client):
    school, klass, pupil = _setup()
    make_parent(school, email="taken@example.org")
    client.post("/join", data={"code": _issue(pupil)})
    r = client.post("/join/account", data=_account_form(email="taken@example.org", password="short",
                                                          confirm="short"))
    assert 'id="email-error"' in r.text and 'id="password-error"' in r.text


def test_staff_and_pupils_are_told_a_parent_account_is_needed(app, login_as):
    school, klass, pupil = _setup()
    teacher = make_teacher(school, classes=[klass])
    for account in (teacher, pupil):
        client = login_as(account)
        code = _issue(pupil)
        assert client.post("/join", data={"code": code}).headers["Location"] == "/join/confirm"
        r = client.get("/join/confirm")
        assert r.status_code == 200 and "A parent account is needed" in r.text
        assert "Zosia K." not in r.text.split("</header>")[1]
        r = client.post("/join/confirm")
        assert "A parent account is needed" in r.text
        assert passcodes.check(code)[0] == "valid"
    assert db.session.scalar(select(ParentLink)) is None


def test_parent_of_another_school_is_told_the_code_is_for_another_school(app, login_as):
    school, klass, pupil = _setup()
    elsewhere = make_parent(make_school(name="Elm Tree Primary"))
    client = login_as(elsewhere)
    code = _issue(pupil)
    client.post("/join", data={"code": code})
    r = client.post("/join/confirm")
    assert r.status_code == 200
    assert "Elm Tree Primary" in r.text and school.name in r.text and "one school" in r.text
    assert passcodes.check(code)[0] == "valid" and elsewhere.children_links == []


def test_passcode_attempts_are_throttled(make_app):
    application = make_app(RATELIMIT_ENABLED=True, PASSCODE_LIMIT_PER_IP="3 per 5 minutes")
    client = application.test_client()
    with application.app_context():
        answers = [client.post("/join", data={"code": "ABCDE-23456"}).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert client.get("/join").status_code == 200  # looking at the form is not an attempt


def test_join_posts_need_the_csrf_token(make_app):
    application = make_app(WTF_CSRF_ENABLED=True)
    client = application.test_client()
    with application.app_context():
        assert client.post("/join", data={"code": "ABCDE-23456"}).status_code == 400


def test_a_new_parent_session_is_started(app, client):
    school, klass, pupil = _setup()
    code = _issue(pupil)
    client.post("/join", data={"code": code})
    client.post("/join/account", data=_account_form(language="en"))
    with client.session_transaction() as sess:
        user = db.session.scalar(select(User).where(User.email == "anna@example.org"))
        assert sess["_user_id"] == user.get_id()
        assert "join_code" not in sess


def test_signed_in_parent_gets_the_confirm_page_not_the_account_form(app, client):
    school, klass, pupil = _setup()
    parent = make_parent(school)
    code = _issue(pupil)
    sign_in(client, parent)
    client.post("/join", data={"code": code})
    assert client.get("/join/account").headers["Location"] == "/join/confirm"
