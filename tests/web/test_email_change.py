"""Changing one's email address (auth blueprint): a link to the new address confirms it; a bounced
address is tried again once confirmed (issue 9: the way out of "Email to your address could not be
delivered")."""
import re
from datetime import timedelta

import time_machine

from app.extensions import db
from app.models import AuditEntry, User
from app.models.base import utcnow
from tests.conftest import sign_in
from tests.factories import PASSWORD, make_parent, make_school


def _link(message):
    body = message.get_body(("plain",)).get_content()
    return re.search(r"https?://\S+/auth/email/\S+", body).group(0).split("localhost", 1)[1]


def _setup(make_app, smtp_server, **parent):
    app = make_app(**smtp_server.config)
    with app.app_context():
        school = make_school()
        mum = make_parent(school, email="mum@example.org", **parent)
        make_parent(school, email="taken@example.org")
        db.session.commit()
        mum_id = mum.id
    with app.app_context():
        client = sign_in(app.test_client(), db.session.get(User, mum_id))
    return app, client, mum_id


def test_the_new_address_is_used_once_its_link_is_confirmed(make_app, smtp_server):
    app, client, mum_id = _setup(make_app, smtp_server)
    r = client.post("/auth/account/email", data={"new_email": "Mum.New@Example.org", "email_password": PASSWORD})
    assert r.status_code == 302
    (sent,) = smtp_server.messages
    assert sent["To"] == "mum.new@example.org"
    path = _link(sent)
    with app.app_context():
        assert db.session.get(User, mum_id).email == "mum@example.org"  # not before the link
    page = app.test_client().get(path)  # any browser: the link is the proof
    assert page.status_code == 200 and "mum.new@example.org" in page.text
    with app.app_context():
        assert db.session.get(User, mum_id).email == "mum@example.org"  # a GET changes nothing
    assert app.test_client().post(path).status_code == 302
    with app.app_context():
        assert db.session.get(User, mum_id).email == "mum.new@example.org"
        assert db.session.query(AuditEntry).filter_by(action="auth.email_changed", target_id=mum_id).count() == 1
    # The old address is told; the link does not work twice.
    assert smtp_server.messages[-1]["To"] == "mum@example.org"
    assert app.test_client().get(path).status_code == 404


def test_wrong_password_taken_address_and_bad_address_keep_what_was_typed(make_app, smtp_server):
    _app, client, _mum_id = _setup(make_app, smtp_server)
    for data, words in [
        ({"new_email": "new@example.org", "email_password": "wrong password"}, "current password is not right"),
        ({"new_email": "taken@example.org", "email_password": PASSWORD}, "already used by another"),
        ({"new_email": "mum@example.org", "email_password": PASSWORD}, "already your email address"),
        ({"new_email": "not an address", "email_password": PASSWORD}, "like name@example.com"),
    ]:
        r = client.post("/auth/account/email", data=data)
        assert r.status_code == 400 and words in r.text
        assert f'value="{data["new_email"]}"' in r.text
    assert smtp_server.messages == []


def test_a_bounced_address_can_be_confirmed_again_and_mail_resumes(make_app, smtp_server):
    app, client, mum_id = _setup(make_app, smtp_server, email_bounced_at=utcnow(),
                                 email_bounce_reason="550 mailbox full")
    assert "could not be delivered" in client.get("/auth/account").text
    r = client.post("/auth/account/email", data={"new_email": "mum@example.org", "email_password": PASSWORD})
    assert r.status_code == 302
    assert app.test_client().post(_link(smtp_server.messages[0])).status_code == 302
    with app.app_context():
        mum = db.session.get(User, mum_id)
        assert mum.email_bounced_at is None and mum.email_bounce_reason is None


def test_a_link_expires_after_a_day_and_dies_when_the_address_changed_meanwhile(make_app, smtp_server):
    app, client, mum_id = _setup(make_app, smtp_server)
    client.post("/auth/account/email", data={"new_email": "one@example.org", "email_password": PASSWORD})
    client.post("/auth/account/email", data={"new_email": "two@example.org", "email_password": PASSWORD})
    first, second = (_link(m) for m in smtp_server.messages)
    assert app.test_client().post(second).status_code == 302
    stale = app.test_client().post(first)
    assert stale.status_code == 404 and "work for one day" in stale.text
    client.post("/auth/account/email", data={"new_email": "three@example.org", "email_password": PASSWORD})
    late = _link(smtp_server.messages[-1])
    with time_machine.travel(utcnow() + timedelta(hours=25)):
        assert app.test_client().post(late).status_code == 404
    with app.app_context():
        assert db.session.get(User, mum_id).email == "two@example.org"


def test_every_page_says_when_mail_to_the_address_bounced(make_app, smtp_server):
    app, client, mum_id = _setup(make_app, smtp_server, email_bounced_at=utcnow())
    page = client.get("/notifications/").text
    assert 'id="email-bounced-banner"' in page and "/auth/account#email" in page
    with app.app_context():
        db.session.get(User, mum_id).email_bounced_at = None
        db.session.commit()
    assert 'id="email-bounced-banner"' not in client.get("/notifications/").text
