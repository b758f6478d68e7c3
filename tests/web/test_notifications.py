"""Notifications pages (issue 9): who may use each page, the list and its count, opening one,
marking all read (with and without htmx), each person's choices, the unsubscribe link that works
without signing in, the school's list of emails not delivered, and the school's digest time."""
import re
from datetime import datetime, time, timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEntry, Notification, NotificationPreference
from app.models.base import utcnow
from app.models.notifications import BOUNCED, FAILED, SENT, EmailDelivery
from app.services import notifications
from app.services.notifications import COMMENT, LIKE, MESSAGE, POINTS, POST, REPORT, UNSUBSCRIBE_DIGEST, Choice
from tests.conftest import client_as, count_page_queries, htmx_headers, outcome
from tests.factories import (
    make_class,
    make_head,
    make_parent,
    make_post,
    make_pupil,
    make_school,
    make_senior,
    make_teacher,
)


@pytest.fixture
def world(app):
    school = make_school()
    klass = make_class(school, name="Oak")
    zosia = make_pupil(klass, name="Zosia K.")
    maja = make_pupil(klass, name="Maja P.")
    teacher = make_teacher(school, classes=[klass], name="Ms Patel")
    people = {
        "pupil": zosia,
        "parent": make_parent(school, children=[zosia], name="Anna K."),
        "other parent": make_parent(school, children=[maja], name="Piotr P."),
        "teacher": teacher,
        "senior": make_senior(school),
        "head": make_head(school),
        "other school's head": make_head(make_school()),
    }
    post = make_post(teacher, klass)
    db.session.commit()
    return dict(school=school, klass=klass, zosia=zosia, teacher=teacher, post=post, people=people)


def _notify(world, who="parent", kind=POST, subject=None, actor="teacher", **kw):
    subject = subject or f"post:{world['post'].id}"
    params = kw.pop("params", {"class_name": "Oak"} if kind == POST else {})
    rows = notifications.notify([world["people"][who]], kind, subject, actor=world["people"][actor],
                                params=params, **kw)
    db.session.commit()
    return rows[0] if rows else None


def _unread(user):
    db.session.refresh(user)
    return user.unread_notifications


# ---- who may use each page ---------------------------------------------------------------------

EVERYONE = ("anonymous", "pupil", "parent", "teacher", "senior", "head", "other school's head")
ACCESS = [
    # (method, path, expected status for each of EVERYONE, in order)
    ("get", "/notifications/", (302, 404, 200, 200, 200, 200, 200)),
    ("post", "/notifications/{own}/open", (302, 404, 302, 404, 404, 404, 404)),
    ("post", "/notifications/read-all", (302, 404, 302, 302, 302, 302, 302)),
    ("get", "/notifications/settings", (302, 404, 200, 200, 200, 200, 200)),
    ("get", "/notifications/unsubscribe/{token}", (200, 200, 200, 200, 200, 200, 200)),
    ("get", "/notifications/problems", (302, 404, 404, 404, 404, 200, 200)),
]


@pytest.mark.parametrize("method,path,expected", ACCESS, ids=[f"{m} {p}" for m, p, _e in ACCESS])
def test_who_may_use_each_page(world, client, login_as, method, path, expected):
    """The parent's own notification and unsubscribe link; everyone else's answers written out."""
    for who, status in zip(EVERYONE, expected, strict=True):
        own = _notify(world)  # fresh each time: opening marks it read
        url = path.format(own=own.id, token=notifications.unsubscribe_token(world["people"]["parent"], MESSAGE))
        response = getattr(client_as(client, login_as, world["people"], who), method)(url)
        assert outcome(response) == status, (who, url)


def test_a_pupil_gets_no_notifications_link(world, login_as):
    page = login_as(world["zosia"]).get("/classroom/me")
    assert page.status_code == 200 and "Zosia" in page.text
    assert "/notifications/" not in page.text


# ---- the list ----------------------------------------------------------------------------------

def test_the_list_shows_only_ones_own_newest_first_with_unread_marked(world, login_as):
    first = _notify(world, now=utcnow() - timedelta(hours=3))
    _notify(world, who="other parent")
    second = _notify(world, kind=MESSAGE, subject="conversation:77")
    notifications.open_notification(world["people"]["parent"], first)
    page = login_as(world["people"]["parent"]).get("/notifications/").text
    assert len(re.findall(r'<li class="notification[ "]', page)) == 2  # not the other parent's
    assert page.index(f"/notifications/{second.id}/open") < page.index(f"/notifications/{first.id}/open")
    assert "Ms Patel sent you a message" in page and "Ms Patel posted on Oak" in page
    unread_row = page[page.index(f"/notifications/{second.id}/open"):]
    assert '<span class="badge new">New</span>' in unread_row[:600]  # a word, not a colour
    read_row = page[page.index(f"/notifications/{first.id}/open"):]
    assert "New</span>" not in read_row[:600]
    assert "3 hours ago" in read_row[:800] and "just now" in unread_row[:800]
    assert "Mark all as read" in page
    assert 'href="/notifications/settings"' in page


def test_an_empty_list_says_what_will_appear_and_links_to_the_choices(world, login_as):
    page = login_as(world["people"]["teacher"]).get("/notifications/").text
    assert "When there is news for you" in page and 'href="/notifications/settings"' in page
    assert "Mark all as read" not in page


def test_the_list_mends_a_count_that_drifted(world, login_as):
    _notify(world)
    parent = world["people"]["parent"]
    parent.unread_notifications = 9
    db.session.commit()
    login_as(parent).get("/notifications/")
    assert _unread(parent) == 1


def test_opening_one_marks_it_read_and_leads_to_the_thing(world, login_as):
    row = _notify(world)
    parent = world["people"]["parent"]
    assert _unread(parent) == 1
    response = login_as(parent).post(f"/notifications/{row.id}/open")
    assert response.status_code == 302 and response.headers["Location"] == f"/stories/posts/{world['post'].id}"
    assert db.session.get(Notification, row.id).read_at is not None
    assert _unread(parent) == 0


def test_opening_another_persons_notification_is_404_and_changes_nothing(world, login_as):
    row = _notify(world)
    for who in ("other parent", "teacher", "other school's head"):
        assert login_as(world["people"][who]).post(f"/notifications/{row.id}/open").status_code == 404
    assert login_as(world["people"]["parent"]).post("/notifications/999999/open").status_code == 404
    assert db.session.get(Notification, row.id).read_at is None
    assert _unread(world["people"]["parent"]) == 1


def test_a_get_of_open_is_not_allowed(world, login_as):
    row = _notify(world)
    assert login_as(world["people"]["parent"]).get(f"/notifications/{row.id}/open").status_code == 405
    assert db.session.get(Notification, row.id).read_at is None


def test_mark_all_read_with_htmx_swaps_the_list_and_the_count(world, login_as):
    _notify(world)
    _notify(world, kind=MESSAGE, subject="conversation:5")
    _notify(world, who="other parent")
    parent = login_as(world["people"]["parent"])
    assert '<span class="badge" aria-hidden="true">2</span>' in parent.get("/notifications/").text
    response = parent.post("/notifications/read-all", headers=htmx_headers())
    assert response.status_code == 200
    body = response.text
    assert not body.lstrip().startswith("<!doctype")
    assert 'id="notifications"' in body and "New</span>" not in body and "Mark all as read" not in body
    nav = re.search(r'<a [^>]*id="nav-notifications"[^>]*>.*?</a>', body, re.S).group(0)
    assert 'hx-swap-oob="outerHTML"' in nav and "badge" not in nav and "unread" not in nav
    assert _unread(world["people"]["parent"]) == 0
    assert _unread(world["people"]["other parent"]) == 1
    assert db.session.scalar(select(Notification).where(
        Notification.user_id == world["people"]["parent"].id, Notification.read_at.is_(None))) is None


def test_mark_all_read_without_htmx_redirects_back(world, login_as):
    _notify(world)
    parent = login_as(world["people"]["parent"])
    response = parent.post("/notifications/read-all")
    assert response.status_code == 302 and response.headers["Location"] == "/notifications/"
    page = parent.get("/notifications/").text
    assert "marked as read" in page and "New</span>" not in page
    assert _unread(world["people"]["parent"]) == 0


def test_the_nav_count_costs_no_query_and_speaks_to_screen_readers(world, login_as):
    parent = login_as(world["people"]["parent"])
    before, page = count_page_queries(parent, "/family/")
    assert 'id="nav-notifications"' in page.text and "(1 unread)" not in page.text
    _notify(world)
    after, page = count_page_queries(parent, "/family/")
    assert after == before
    nav = re.search(r'<a [^>]*id="nav-notifications"[^>]*>.*?</a>', page.text, re.S).group(0)
    assert '<span class="badge" aria-hidden="true">1</span>' in nav
    assert '<span class="visually-hidden">(1 unread)</span>' in nav


def test_a_hidden_kind_is_not_listed_or_counted(world, login_as):
    notifications.set_preferences(world["people"]["parent"], {LIKE: Choice(False, "digest")})
    _notify(world, kind=LIKE)
    page = login_as(world["people"]["parent"]).get("/notifications/").text
    assert "liked" not in page and "When there is news for you" in page
    assert _unread(world["people"]["parent"]) == 0


# ---- each person's choices ----------------------------------------------------------------------

def _form(choices):
    data = {}
    for kind, (in_app, email) in choices.items():
        if in_app:
            data[f"{kind}-in_app"] = "y"
        data[f"{kind}-email"] = email
    return data


PARENT_CHOICES = {MESSAGE: (True, "instant"), POST: (True, "digest"), COMMENT: (True, "never"),
                  LIKE: (False, "never"), POINTS: (True, "digest")}


def test_a_parent_sees_their_kinds_with_defaults(world, login_as):
    page = login_as(world["people"]["parent"]).get("/notifications/settings").text
    for label in ("Messages", "New posts on the Class Story", "Comments", "Likes", "Points for your child"):
        assert f"<legend>{label}</legend>" in page
    assert "Reports waiting" not in page and "waiting for your approval" not in page
    assert page.count("Show in Hearth") == 5
    assert re.search(r'<input checked[^>]*id="message-email-0"|<input[^>]*id="message-email-0"[^>]*checked', page)
    assert re.search(r'<input checked[^>]*id="points-email-2"|<input[^>]*id="points-email-2"[^>]*checked', page)
    assert "The daily email comes at 17:00." in page
    assert "quiet hours" not in page


def test_staff_see_their_kinds_and_that_email_waits_through_quiet_hours(world, login_as):
    teacher_page = login_as(world["people"]["teacher"]).get("/notifications/settings").text
    assert "waiting for your approval" in teacher_page and "Reports waiting" not in teacher_page
    assert "Points for your child" not in teacher_page
    assert "it waits until your working time starts" in teacher_page
    assert "Reports waiting for the senior leaders" in login_as(world["people"]["senior"]).get(
        "/notifications/settings").text


def test_choices_save_and_show_again(world, login_as):
    parent = login_as(world["people"]["parent"])
    response = parent.post("/notifications/settings", data=_form(PARENT_CHOICES))
    assert response.status_code == 302
    page = parent.get(response.headers["Location"]).text
    assert "Saved." in page
    stored = notifications.preferences_for(world["people"]["parent"])
    assert {k: (c.in_app, c.email) for k, c in stored.items()} == PARENT_CHOICES
    assert not re.search(r'<input[^>]*id="likes?-in_app"[^>]*checked', page)
    assert re.search(r'<input checked[^>]*id="points-in_app"|<input[^>]*id="points-in_app"[^>]*checked', page)
    assert re.search(r'<input checked[^>]*id="comment-email-2"|<input[^>]*id="comment-email-2"[^>]*checked', page)


@pytest.mark.parametrize("change", [
    {f"{REPORT}-email": "instant"},  # a kind a parent cannot get
    {"holidays-in_app": "y", "holidays-email": "digest"},  # a kind that does not exist
], ids=["not theirs", "unknown"])
def test_kinds_one_cannot_get_are_refused_and_nothing_changes(world, login_as, change):
    response = login_as(world["people"]["parent"]).post(
        "/notifications/settings", data={**_form({**PARENT_CHOICES, MESSAGE: (True, "never")}), **change})
    assert response.status_code == 400
    assert "not available to you. Nothing was changed." in response.text
    assert db.session.scalar(select(NotificationPreference)) is None


def test_an_unknown_email_value_is_explained_next_to_it_and_nothing_changes(world, login_as):
    data = _form(PARENT_CHOICES)
    data[f"{COMMENT}-email"] = "hourly"
    response = login_as(world["people"]["parent"]).post("/notifications/settings", data=data)
    assert response.status_code == 400
    assert 'id="comment-email-error"' in response.text and "Choose one of the email options." in response.text
    assert db.session.scalar(select(NotificationPreference)) is None


def test_a_bounced_address_is_explained_plainly(world, login_as):
    parent = world["people"]["parent"]
    parent.email_bounced_at = datetime(2026, 11, 20, 9, 0)
    parent.email_bounce_reason = "550 5.1.1 <anna@example.org>: mailbox unavailable"
    db.session.commit()
    page = login_as(parent).get("/notifications/settings").text
    assert "could not be delivered" in page and "20 November 2026" in page
    assert "550 5.1.1 &lt;anna@example.org&gt;: mailbox unavailable" in page
    assert "Change your email address" in page and "/auth/account#email" in page


# ---- unsubscribing without signing in -----------------------------------------------------------

def _email_choice(user, kind):
    return notifications.preferences_for(user)[kind].email


def test_the_unsubscribe_page_names_what_will_stop_and_changes_nothing(world, client):
    parent = world["people"]["parent"]
    page = client.get(f"/notifications/unsubscribe/{notifications.unsubscribe_token(parent, MESSAGE)}")
    assert page.status_code == 200
    assert "Emails about: Messages" in page.text and "Stop emails about Messages" in page.text
    assert parent.email not in page.text and "Anna" not in page.text
    digest = client.get(f"/notifications/unsubscribe/{notifications.unsubscribe_token(parent, UNSUBSCRIBE_DIGEST)}")
    assert "The daily email" in digest.text and "Stop the daily email" in digest.text
    assert db.session.scalar(select(NotificationPreference)) is None


def test_the_unsubscribe_page_speaks_the_language_the_email_was_written_in(world, client):
    parent = world["people"]["parent"]
    parent.locale = "ar"
    db.session.commit()
    page = client.get(f"/notifications/unsubscribe/{notifications.unsubscribe_token(parent, MESSAGE)}",
                      headers={"Accept-Language": "en"}).text
    assert 'lang="ar" dir="rtl"' in page and "رسائل البريد عن: الرسائل" in page
    # Someone who chose no language reads their school's.
    other = world["people"]["other parent"]
    world["school"].default_locale = "pl"
    db.session.commit()
    page = client.get(f"/notifications/unsubscribe/{notifications.unsubscribe_token(other, MESSAGE)}",
                      headers={"Accept-Language": "en"}).text
    assert "E-maile dotyczące: Wiadomości" in page


def test_unsubscribing_without_a_session_changes_only_that_persons_kind(world, client):
    parent, other = world["people"]["parent"], world["people"]["other parent"]
    url = f"/notifications/unsubscribe/{notifications.unsubscribe_token(parent, MESSAGE)}"
    response = client.post(url, data={"confirm": "1"})
    assert response.status_code == 303 and response.headers["Location"].endswith("?done=1")
    page = client.get(response.headers["Location"]).text
    assert "You will no longer get emails about Messages." in page
    assert "sign in to Hearth" in page and 'href="/notifications/settings"' in page
    assert _email_choice(parent, MESSAGE) == "never"
    assert _email_choice(parent, POST) == "digest" and notifications.preferences_for(parent)[MESSAGE].in_app
    assert _email_choice(other, MESSAGE) == "instant"
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "notifications.unsubscribed"))
    again = client.get(url).text
    assert "already off" in again and "Stop emails" not in again


def test_a_link_for_one_person_never_touches_the_signed_in_person(world, login_as):
    parent, other = world["people"]["parent"], world["people"]["other parent"]
    signed_in = login_as(other)
    response = signed_in.post(f"/notifications/unsubscribe/{notifications.unsubscribe_token(parent, POST)}")
    assert response.status_code == 303
    assert _email_choice(parent, POST) == "never"
    assert _email_choice(other, POST) == "digest"


def test_the_one_click_post_of_a_mail_client_works_without_cookies_or_csrf(world, make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        school = make_school()
        parent = make_parent(school, children=[make_pupil(make_class(school))])
        token = notifications.unsubscribe_token(parent, UNSUBSCRIBE_DIGEST)
        mail_client = app.test_client()
        response = mail_client.post(f"/notifications/unsubscribe/{token}",
                                    data="List-Unsubscribe=One-Click",
                                    content_type="application/x-www-form-urlencoded")
        assert response.status_code == 200 and "no longer get the daily email" in response.text
        choices = notifications.preferences_for(parent)
        assert [k for k, c in choices.items() if c.email == "digest"] == []
        assert choices[MESSAGE].email == "instant"  # not part of the digest
        # Other forms still need their token.
        assert mail_client.post("/notifications/read-all").status_code == 400


@pytest.mark.parametrize("break_it", [
    lambda token: token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"),
    lambda token: "not-a-token",
], ids=["altered", "forged"])
def test_a_forged_or_altered_link_shows_a_plain_page_and_changes_nothing(world, client, break_it):
    token = notifications.unsubscribe_token(world["people"]["parent"], MESSAGE)
    for method in ("get", "post"):
        response = getattr(client, method)(f"/notifications/unsubscribe/{break_it(token)}")
        assert response.status_code == 404
        assert "This link no longer works" in response.text and "not genuine" in response.text
    assert db.session.scalar(select(NotificationPreference)) is None


def test_a_link_for_a_changed_address_no_longer_works(world, client):
    parent = world["people"]["parent"]
    token = notifications.unsubscribe_token(parent, MESSAGE)
    parent.email = "anna.new@example.org"
    db.session.commit()
    assert client.post(f"/notifications/unsubscribe/{token}").status_code == 404
    assert _email_choice(parent, MESSAGE) == "instant"


def test_an_expired_link_shows_a_plain_page_and_changes_nothing(world, client):
    parent = world["people"]["parent"]
    with time_machine.travel(utcnow() - timedelta(days=91), tick=False):
        token = notifications.unsubscribe_token(parent, MESSAGE)
    for method in ("get", "post"):
        response = getattr(client, method)(f"/notifications/unsubscribe/{token}")
        assert response.status_code == 410
        assert "work for 90 days" in response.text and "Nothing was changed." in response.text
    assert _email_choice(parent, MESSAGE) == "instant"


# ---- emails not delivered, for the school -------------------------------------------------------

def _delivery(user, status, key, error=None, at=None):
    row = EmailDelivery(school_id=user.school_id, user_id=user.id, key=key, kind="instant",
                        to_address=user.email, status=status, last_error=error, created_at=at or utcnow())
    db.session.add(row)
    db.session.commit()
    return row


def test_the_school_sees_its_own_emails_that_were_not_delivered(world, login_as):
    parent, other = world["people"]["parent"], world["people"]["other parent"]
    _delivery(parent, BOUNCED, "a", "550 5.1.1 <anna@example.org> unknown user",
              at=utcnow() - timedelta(days=1))
    _delivery(other, FAILED, "b", "421 try again later")
    _delivery(world["people"]["teacher"], SENT, "c")
    elsewhere = world["people"]["other school's head"]
    _delivery(elsewhere, BOUNCED, "d", "550 elsewhere")
    head = login_as(world["people"]["head"])
    page = head.get("/notifications/problems").text
    assert "Anna K." in page and parent.email in page and "550 5.1.1 &lt;anna@example.org&gt; unknown user" in page
    assert "Piotr P." in page and "421 try again later" in page and "Failed after every retry" in page
    assert page.index("Piotr P.") < page.index("Anna K.")  # newest first
    assert world["people"]["teacher"].email not in page and "550 elsewhere" not in page
    assert 'href="/notifications/problems"' in head.get("/admin/").text
    other_page = login_as(elsewhere).get("/notifications/problems").text
    assert "550 elsewhere" in other_page and "Anna K." not in other_page


def test_the_problems_list_is_one_query_however_long(world, login_as):
    head = login_as(world["people"]["head"])
    few, _page = count_page_queries(head, "/notifications/problems")
    for i, who in enumerate(("parent", "other parent", "teacher", "senior")):
        _delivery(world["people"][who], BOUNCED, f"k{i}", "550 no")
    many, page = count_page_queries(head, "/notifications/problems")
    assert many == few and page.text.count("undelivered-entry") == 4


# ---- the school's digest time --------------------------------------------------------------------

SETTINGS = {"name": "Oak Primary", "timezone": "Europe/London", "office_phone": "", "office_email": "",
            "default_locale": "en"}


def test_the_head_sets_the_digest_time_and_it_is_audited(world, login_as):
    head = login_as(world["people"]["head"])
    assert 'value="17:00"' in head.get("/admin/settings").text
    response = head.post("/admin/settings", data={**SETTINGS, "digest_time": "18:30"})
    assert response.status_code == 302
    db.session.refresh(world["school"])
    assert world["school"].digest_time == time(18, 30)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "school.settings_changed"))
    assert "digest_time" in entry.detail["fields"]
    assert 'value="18:30"' in head.get("/admin/settings").text
    assert "The daily email comes at 18:30." in login_as(world["people"]["parent"]).get(
        "/notifications/settings").text


@pytest.mark.parametrize("value", ["25:00", "5pm", "17:60", "1700"])
def test_a_bad_digest_time_is_explained_and_kept(world, login_as, value):
    response = login_as(world["people"]["head"]).post("/admin/settings", data={**SETTINGS, "digest_time": value})
    assert response.status_code == 200
    assert "Enter a time like 17:00" in response.text and f'value="{value}"' in response.text
    db.session.refresh(world["school"])
    assert world["school"].digest_time == time(17, 0)


def test_unsubscribe_links_are_rate_limited_like_other_anonymous_pages(make_app):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", LOGIN_LIMIT_PER_IP="3 per minute")
    with app.app_context():
        parent = make_parent(make_school())
        token = notifications.unsubscribe_token(parent, MESSAGE)
        guesser = app.test_client()
        statuses = [guesser.get(f"/notifications/unsubscribe/{token}x{i}").status_code for i in range(3)]
        assert statuses == [404, 404, 404]
        assert guesser.post(f"/notifications/unsubscribe/{token}").status_code == 429
        assert _email_choice(parent, MESSAGE) == "instant"


def test_each_kind_is_explained_in_the_readers_own_terms(world, login_as):
    teacher_page = login_as(world["people"]["teacher"]).get("/notifications/settings").text
    parent_page = login_as(world["people"]["parent"]).get("/notifications/settings").text
    assert "A comment on one of your posts." in teacher_page and "your child" not in teacher_page
    assert "A comment on your child's work." in parent_page and "one of your posts" not in parent_page
