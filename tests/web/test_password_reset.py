"""Password reset by an emailed link, through a real local SMTP server."""
import re

from app.extensions import db
from tests.factories import make_parent, make_school


def test_reset_link_arrives_works_once(make_app, smtp_server):
    app = make_app(**smtp_server.config)
    with app.app_context():
        parent = make_parent(make_school(), email="mum@example.org")
        old_hash = parent.password_hash
    client = app.test_client()
    r = client.post("/auth/forgot", data={"email": "mum@example.org"})
    assert r.status_code == 302
    assert len(smtp_server.messages) == 1
    msg = smtp_server.messages[0]
    assert msg["To"] == "mum@example.org"
    body = msg.get_body(("plain",)).get_content()
    link = re.search(r"https?://\S+/auth/reset/\S+", body).group(0)
    path = link.split("localhost", 1)[1]
    r = client.post(path, data={"password": "a brand new secret", "confirm": "a brand new secret"})
    assert r.status_code == 302
    with app.app_context():
        from app.models import User
        assert db.session.get(User, parent.id).password_hash != old_hash
    assert client.post("/auth/login", data={"email": "mum@example.org",
                                            "password": "a brand new secret"}).status_code == 302
    again = app.test_client().get(path)
    assert again.status_code == 404 and "no longer works" in again.text


def test_unknown_address_gets_same_answer_and_no_mail(make_app, smtp_server):
    app = make_app(**smtp_server.config)
    with app.app_context():
        make_school()
    r = app.test_client().post("/auth/forgot", data={"email": "nobody@example.org"}, follow_redirects=True)
    assert "If that address has an account" in r.text
    assert smtp_server.messages == []


def test_without_smtp_mail_goes_to_a_file(app, client, tmp_path):
    make_parent(make_school(), email="dad@example.org")
    client.post("/auth/forgot", data={"email": "dad@example.org"})
    files = list((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 1 and b"/auth/reset/" in files[0].read_bytes()
