"""Notification email against a real SMTP server (aiosmtpd): instant and digest mail arrive once,
in the reader's language, with one-click unsubscribe; quiet hours hold a teacher's mail; a server
that refuses for a while gets the mail once after a retry; a refused address is recorded, not
retried. Time travel with time_machine."""
import re
import socket
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from flask_babel import force_locale
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEntry
from app.models.notifications import BOUNCED, FAILED, PENDING, SENT, EmailDelivery, Notification
from app.services import email_delivery, messaging, notifications
from app.services.notifications import (
    COMMENT,
    LIKE,
    MESSAGE,
    POST,
    WORK_WAITING,
    Choice,
    read_unsubscribe_token,
)
from tests.conftest import count_queries
from tests.factories import (
    make_calendar_entry,
    make_class,
    make_parent,
    make_pupil,
    make_school,
    make_staff_hours,
    make_teacher,
)

PUBLIC = "https://hearth.oakfield.test"
WEDNESDAY = datetime(2026, 11, 25, 12, 0)   # London is on UTC in November
FRIDAY_6PM = datetime(2026, 11, 27, 18, 0)
MONDAY_8AM = datetime(2026, 11, 30, 8, 0)


class Server:
    """A real SMTP server on 127.0.0.1 whose answers a test chooses."""

    def __init__(self, refuse_data=0, refuse_rcpt=None):
        self.refuse_data = refuse_data    # answer 451 to this many DATA commands first
        self.refuse_rcpt = refuse_rcpt    # an SMTP reply to every RCPT, e.g. "550 ..."
        self.messages, self.raw, self.rcpt_attempts, self.data_attempts = [], [], 0, 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpt_attempts += 1
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        import email
        from email import policy
        self.data_attempts += 1
        if self.refuse_data:
            self.refuse_data -= 1
            return "451 4.3.0 Try again later"
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        self.raw.append(envelope.content)
        return "250 OK"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def smtp(app, **behaviour):
    from aiosmtpd.controller import Controller
    handler = Server(**behaviour)
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False, MAIL_USE_SSL=False,
                      PUBLIC_URL=PUBLIC)
    try:
        yield handler
    finally:
        controller.stop()


@contextmanager
def at(moment):
    with time_machine.travel(moment.replace(tzinfo=UTC), tick=False):
        yield


@pytest.fixture
def people(app):
    school = make_school()
    klass = make_class(school, name="Class 4B")
    pupil = make_pupil(klass, name="Ada L.")
    teacher = make_teacher(school, classes=[klass], name="Mr Brook")
    parent = make_parent(school, children=[pupil], name="Mrs Lovelace")
    return {"school": school, "class": klass, "pupil": pupil, "teacher": teacher, "parent": parent}


def tell(recipient, kind, subject, actor, pupil=None, **params):
    rows = notifications.notify([recipient], kind, subject, actor=actor, pupil=pupil, params=params)
    db.session.commit()
    return rows


def delivery_of(note):
    db.session.expire_all()
    return db.session.get(EmailDelivery, db.session.get(Notification, note.id).delivery_id)


def html_of(msg):
    return msg.get_body(("html",)).get_content()


def text_of(msg):
    return msg.get_body(("plain",)).get_content()


# ---- instant ---------------------------------------------------------------------------------

def test_an_instant_email_arrives_once_with_one_click_unsubscribe(app, people):
    parent, teacher = people["parent"], people["teacher"]
    with smtp(app) as server, at(WEDNESDAY):
        [note] = tell(parent, MESSAGE, "conversation:7", teacher)
        email_delivery.send_due()
        email_delivery.send_due()
        email_delivery.deliver(note.delivery_id)
    assert len(server.messages) == 1
    msg = server.messages[0]
    delivery = delivery_of(note)
    assert (delivery.status, delivery.attempts, delivery.sent_at) == (SENT, 1, WEDNESDAY)
    assert msg["To"] == parent.email
    assert msg["Subject"] == "Mr Brook sent you a message"
    assert msg["Message-ID"] == delivery.message_id
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Content-Language"] == "en"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.fullmatch(r"<(.+)>", msg["List-Unsubscribe"])[1]
    assert url.startswith(PUBLIC + "/notifications/unsubscribe/")
    assert f"\r\nList-Unsubscribe: <{url}>\r\n".encode() in server.raw[0]  # one plain line, as sent
    assert all(len(line) <= 998 and line.isascii() for line in server.raw[0].split(b"\r\n"))
    endpoint, args = app.url_map.bind("hearth.oakfield.test").match(url.removeprefix(PUBLIC))
    assert endpoint == "notifications.unsubscribe"
    user, what = read_unsubscribe_token(args["token"])
    assert (user.id, what) == (parent.id, MESSAGE)
    assert url in text_of(msg) and url in html_of(msg)
    assert PUBLIC + "/messages/" in text_of(msg)


def test_an_email_is_in_the_readers_language(app, people):
    parent = make_parent(people["school"], children=[people["pupil"]], locale="pl")
    with smtp(app) as server, at(WEDNESDAY):
        [note] = tell(parent, MESSAGE, "conversation:7", people["teacher"])
        email_delivery.send_due()
    [msg] = server.messages
    assert msg["Content-Language"] == "pl"
    with app.test_request_context(), force_locale("pl"):
        note = db.session.get(Notification, note.id)
        assert msg["Subject"] == notifications.describe(note)
        from flask_babel import gettext
        assert gettext("Hello %(name)s,", name=parent.name) in text_of(msg)
    assert '<html lang="pl" dir="ltr">' in html_of(msg)


def test_a_polish_parents_email_reads_in_polish(app, people):
    parent = make_parent(people["school"], children=[people["pupil"]], locale="pl")
    with smtp(app) as server, at(WEDNESDAY):
        tell(parent, MESSAGE, "conversation:7", people["teacher"])
        email_delivery.send_due()
    [msg] = server.messages
    assert msg["Subject"].startswith("Mr Brook: nowa wiadomość dla ciebie")
    text = text_of(msg)
    assert "Dzień dobry" in text and "Otwórz w Hearth" in text and "Wyłącz te e-maile" in text
    assert "Hello" not in text and "Stop these emails" not in text


def test_the_school_language_is_used_when_the_reader_chose_none(app, people):
    people["school"].default_locale = "uk"
    db.session.commit()
    with smtp(app) as server, at(WEDNESDAY):
        tell(people["parent"], MESSAGE, "conversation:7", people["teacher"])
        email_delivery.send_due()
    assert server.messages[0]["Content-Language"] == "uk"


def test_nothing_anyone_wrote_is_in_the_email_and_no_link_leaves_hearth(app, people):
    parent, teacher, pupil = people["parent"], people["teacher"], people["pupil"]
    secret = "Ada forgot her inhaler in the blue bag"
    with smtp(app) as server, at(WEDNESDAY):
        messaging.send(teacher, staff=teacher, pupil=pupil, parent=parent, body=secret)
        email_delivery.send_due()
    [msg] = server.messages
    html, text = html_of(msg), text_of(msg)
    for part in (html, text, msg["Subject"]):
        assert "inhaler" not in part
    assert "<img" not in html.lower()
    for link in re.findall(r"https?://[^\s\"'<>]+", html + text):
        assert link.startswith(PUBLIC + "/"), link


def test_an_instant_email_read_in_the_app_first_is_not_sent(app, people):
    teacher, parent = people["teacher"], people["parent"]
    with smtp(app) as server, at(FRIDAY_6PM):
        [note] = tell(teacher, MESSAGE, "conversation:7", parent)
        notifications.open_notification(teacher, db.session.get(Notification, note.id))
    with at(MONDAY_8AM):
        email_delivery.send_due()
    assert server.messages == []
    assert delivery_of(note).status == "skipped"


# ---- quiet hours -----------------------------------------------------------------------------

def test_a_teachers_friday_evening_message_waits_for_monday_8am(app, people):
    teacher, parent = people["teacher"], people["parent"]
    with smtp(app) as server:
        with at(FRIDAY_6PM):
            [note] = tell(teacher, MESSAGE, "conversation:7", parent)
            email_delivery.send_due()
        delivery = delivery_of(note)
        assert (delivery.held_for_quiet_hours, delivery.next_attempt_at) == (True, MONDAY_8AM)
        for moment in (datetime(2026, 11, 28, 10, 0), datetime(2026, 11, 29, 20, 0),
                       MONDAY_8AM - timedelta(minutes=1)):
            with at(moment):
                email_delivery.send_due()
        assert server.messages == []
        with at(MONDAY_8AM):
            email_delivery.send_due()
    assert len(server.messages) == 1
    assert delivery_of(note).sent_at == MONDAY_8AM


def test_over_a_holiday_a_teachers_mail_waits_for_the_first_day_back(app, people):
    teacher, parent = people["teacher"], people["parent"]
    make_calendar_entry(people["school"], kind="holiday", first_day=date(2026, 11, 30),
                        last_day=date(2026, 12, 4))
    back = datetime(2026, 12, 7, 8, 0)
    with smtp(app) as server:
        with at(FRIDAY_6PM):
            [note] = tell(teacher, MESSAGE, "conversation:7", parent)
        with at(datetime(2026, 12, 3, 9, 0)):
            email_delivery.send_due()
        assert server.messages == []
        with at(back):
            email_delivery.send_due()
    assert len(server.messages) == 1
    assert delivery_of(note).sent_at == back


def test_a_parents_mail_is_never_held(app, people):
    with smtp(app) as server, at(datetime(2026, 11, 28, 23, 30)):
        tell(people["parent"], MESSAGE, "conversation:7", people["teacher"])
        email_delivery.send_due()
    assert len(server.messages) == 1


# ---- failures --------------------------------------------------------------------------------

def test_a_server_that_refuses_then_accepts_gets_the_mail_once_after_the_backoff(app, people):
    with smtp(app, refuse_data=1) as server:
        with at(WEDNESDAY):
            [note] = tell(people["parent"], MESSAGE, "conversation:7", people["teacher"])
            email_delivery.send_due()
        delivery = delivery_of(note)
        assert (delivery.status, delivery.attempts) == (PENDING, 1)
        assert delivery.next_attempt_at == WEDNESDAY + timedelta(minutes=1)
        assert delivery.last_error.startswith("451")
        first_id = delivery.message_id
        with at(WEDNESDAY + timedelta(seconds=59)):
            email_delivery.send_due()
        assert (server.data_attempts, server.messages) == (1, [])
        with at(WEDNESDAY + timedelta(minutes=1)):
            email_delivery.send_due()
            email_delivery.send_due()
        with at(WEDNESDAY + timedelta(hours=1)):
            email_delivery.send_due()
    assert len(server.messages) == 1 and server.data_attempts == 2
    delivery = delivery_of(note)
    assert (delivery.status, delivery.attempts, delivery.last_error) == (SENT, 2, None)
    assert server.messages[0]["Message-ID"] == first_id


def test_a_mail_server_that_stays_down_fails_after_six_tries_with_growing_waits(app, people):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=_free_port(), MAIL_USE_TLS=False, PUBLIC_URL=PUBLIC)
    with at(WEDNESDAY):
        [note] = tell(people["parent"], MESSAGE, "conversation:7", people["teacher"])
        email_delivery.send_due()  # the first try (made already if the queued job ran at the commit)
    moment, waits = WEDNESDAY, []
    delivery = delivery_of(note)
    while delivery.status == PENDING:
        waits.append(delivery.next_attempt_at - moment)
        moment = delivery.next_attempt_at
        assert email_delivery.deliver(delivery.id, now=moment - timedelta(seconds=1)) is None
        assert email_delivery.deliver(delivery.id, now=moment) in (PENDING, FAILED)
        delivery = delivery_of(note)
    assert (delivery.status, delivery.attempts) == (FAILED, 6)
    assert "ConnectionRefusedError" in delivery.last_error
    assert waits == [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
                     timedelta(hours=12)]
    assert email_delivery.deliver(delivery.id, now=moment + timedelta(days=2)) is None


def test_a_refused_address_is_recorded_and_never_tried_again(app, people):
    parent, teacher = people["parent"], people["teacher"]
    with smtp(app, refuse_rcpt="550 5.1.1 No such mailbox") as server:
        with at(WEDNESDAY):
            [note] = tell(parent, MESSAGE, "conversation:7", teacher)
            email_delivery.send_due()
        with at(WEDNESDAY + timedelta(days=1)):
            email_delivery.send_due()
            later = tell(parent, MESSAGE, "conversation:8", teacher)
            email_delivery.send_due()
            email_delivery.send_digests()
    assert server.rcpt_attempts == 1 and server.messages == []
    delivery = delivery_of(note)
    assert (delivery.status, delivery.attempts) == (BOUNCED, 1)
    db.session.refresh(parent)
    assert parent.email_bounced_at == WEDNESDAY
    assert parent.email_bounce_reason.startswith("550 5.1.1 No such mailbox")
    assert later and db.session.get(Notification, later[0].id).delivery_id is None
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "notifications.email_bounced",
                                                      AuditEntry.target_id == parent.id)) is not None


def test_a_busy_mailbox_at_rcpt_is_tried_again(app, people):
    with smtp(app, refuse_rcpt="452 4.2.2 Mailbox full") as server:
        with at(WEDNESDAY):
            [note] = tell(people["parent"], MESSAGE, "conversation:7", people["teacher"])
            email_delivery.send_due()
    assert server.rcpt_attempts == 1
    assert (delivery_of(note).status, delivery_of(note).attempts) == (PENDING, 1)
    db.session.refresh(people["parent"])
    assert people["parent"].email_bounced_at is None


def test_a_claim_left_by_a_dead_worker_is_taken_over_after_15_minutes(app, people):
    with smtp(app) as server:
        with at(FRIDAY_6PM):  # held for Monday: no job sends it now
            [note] = tell(people["teacher"], MESSAGE, "conversation:7", people["parent"])
        delivery = delivery_of(note)
        delivery.status, delivery.claimed_at = "sending", MONDAY_8AM
        db.session.commit()
        with at(MONDAY_8AM + timedelta(minutes=14)):
            email_delivery.send_due()
        assert server.messages == []
        with at(MONDAY_8AM + timedelta(minutes=16)):
            email_delivery.send_due()
            email_delivery.send_due()
    assert len(server.messages) == 1


def test_send_due_works_through_every_batch(app, people):
    teachers = [make_teacher(people["school"]) for _ in range(5)]
    with smtp(app) as server:
        with at(FRIDAY_6PM):
            for teacher in teachers:
                tell(teacher, MESSAGE, "conversation:7", people["parent"])
        with at(MONDAY_8AM):
            counts = email_delivery.send_due(limit=2)
    assert counts == {SENT: 5}
    assert sorted(m["To"] for m in server.messages) == sorted(t.email for t in teachers)


def test_an_email_hearth_cannot_write_is_tried_again_not_left_claimed(app, people, monkeypatch):
    def broken(*args):
        raise RuntimeError("template missing")

    monkeypatch.setattr(email_delivery, "_build", broken)
    with smtp(app) as server, at(WEDNESDAY):
        [note] = tell(people["parent"], MESSAGE, "conversation:7", people["teacher"])
        email_delivery.send_due()
    delivery = delivery_of(note)
    assert (delivery.status, delivery.attempts, server.messages) == (PENDING, 1, [])
    assert delivery.last_error == "RuntimeError: template missing"


# ---- digests ---------------------------------------------------------------------------------

def _parents_day(people, moment=WEDNESDAY):
    parent, teacher, pupil = people["parent"], people["teacher"], people["pupil"]
    with at(moment):
        post = tell(parent, POST, "post:3", teacher, class_name="Class 4B")[0]
        comment = tell(parent, COMMENT, "portfolio_item:5", teacher, pupil=pupil)[0]
        like = tell(parent, LIKE, "portfolio_item:5", teacher, pupil=pupil)[0]
        message = tell(parent, MESSAGE, "conversation:7", teacher)[0]
    return post, comment, like, message


def test_the_digest_arrives_once_a_day_at_the_schools_time_with_digest_news_only(app, people):
    with smtp(app) as server:
        post, comment, like, message = _parents_day(people)
        with at(datetime(2026, 11, 25, 16, 59)):
            assert email_delivery.send_digests()[0] == 0
        with at(datetime(2026, 11, 25, 17, 0)):
            made, _counts = email_delivery.send_digests()
            assert made == 1
            assert email_delivery.send_digests()[0] == 0
        with at(datetime(2026, 11, 25, 21, 0)):
            assert email_delivery.send_digests()[0] == 0
    digests = [m for m in server.messages if m["Subject"].startswith("3 updates")]
    assert len(digests) == 1 and len(server.messages) == 2  # the message went at once, on its own
    msg = digests[0]
    text, html = text_of(msg), html_of(msg)
    assert "Mr Brook posted on Class 4B's Class Story" in text
    assert "Mr Brook commented on Ada L.'s work" in text
    assert "Mr Brook liked Ada L.&#39;s work" in html
    assert "sent you a message" not in text
    assert "<img" not in html.lower()
    for link in re.findall(r"https?://[^\s\"'<>]+", html + text):
        assert link.startswith(PUBLIC + "/"), link
    url = re.fullmatch(r"<(.+)>", msg["List-Unsubscribe"])[1]
    _endpoint, args = app.url_map.bind("hearth.oakfield.test").match(url.removeprefix(PUBLIC))
    assert read_unsubscribe_token(args["token"])[1] == notifications.UNSUBSCRIBE_DIGEST
    assert PUBLIC + "/notifications/" in text
    delivery = delivery_of(post)
    assert (delivery.kind, delivery.digest_day, delivery.key) == (
        "digest", date(2026, 11, 25), f"digest:{people['parent'].id}:2026-11-25")
    assert delivery_of(comment).id == delivery.id and delivery_of(message).id != delivery.id


def test_the_digest_follows_a_choice_changed_after_the_news(app, people):
    parent = people["parent"]
    with smtp(app) as server:
        _parents_day(people)
        notifications.set_preferences(parent, {POST: Choice(True, "never"), LIKE: Choice(True, "instant")})
        with at(datetime(2026, 11, 25, 17, 0)):
            email_delivery.send_digests()
    [digest] = [m for m in server.messages if "update" in m["Subject"]]
    assert digest["Subject"] == "1 update from " + people["school"].name
    text = text_of(digest)
    assert "commented on Ada L.'s work" in text
    assert "posted on" not in text and "liked" not in text


def test_news_already_read_or_older_than_a_week_is_left_out(app, people):
    parent, teacher = people["parent"], people["teacher"]
    with smtp(app) as server:
        with at(WEDNESDAY - timedelta(days=8)):
            tell(parent, POST, "post:1", teacher, class_name="Old news")
        post, _c, _l, _m = _parents_day(people)
        notifications.open_notification(parent, db.session.get(Notification, post.id))
        with at(datetime(2026, 11, 25, 17, 0)):
            email_delivery.send_digests()
    [digest] = [m for m in server.messages if "update" in m["Subject"]]
    assert "posted on" not in text_of(digest) and "2 updates" in digest["Subject"]


def test_a_teachers_digest_waits_through_quiet_hours(app, people):
    teacher, parent, pupil = people["teacher"], people["parent"], people["pupil"]
    make_staff_hours(teacher, {d: (time(8, 0), time(15, 30)) for d in range(5)})
    with smtp(app) as server:
        with at(WEDNESDAY):
            [note] = tell(teacher, WORK_WAITING, "queue:1", None, pupil=pupil)
            tell(teacher, COMMENT, "post:3", parent)
        with at(datetime(2026, 11, 25, 17, 0)):
            assert email_delivery.send_digests()[0] == 1
        assert server.messages == []
        delivery = delivery_of(note)
        assert (delivery.held_for_quiet_hours, delivery.next_attempt_at) == (True, datetime(2026, 11, 26, 8, 0))
        with at(datetime(2026, 11, 26, 8, 0)):
            email_delivery.send_due()
    assert len(server.messages) == 1 and "2 updates" in server.messages[0]["Subject"]


def test_digests_cost_queries_per_person_not_per_notification(app, people):
    school, teacher, pupil = people["school"], people["teacher"], people["pupil"]

    def day_for(parents, per_parent, moment):
        with at(moment):
            for p in parents:
                for n in range(per_parent):
                    tell(p, COMMENT, f"portfolio_item:{n + 1}", teacher, pupil=pupil)

    first = [make_parent(school, children=[pupil]) for _ in range(3)]
    second = [make_parent(school, children=[pupil]) for _ in range(3)]
    day_for(first, 2, datetime(2026, 11, 24, 12, 0))
    day_for(second, 8, datetime(2026, 11, 25, 12, 0))
    def digests_on(day):
        moment = datetime.combine(day, time(17, 0))
        with at(moment):
            return count_queries(lambda: email_delivery._make_digests(school, day, moment))

    few, many = digests_on(date(2026, 11, 24)), digests_on(date(2026, 11, 25))
    assert many == few
    assert db.session.scalar(select(func.count()).select_from(EmailDelivery)) == 6


def test_nobody_blocked_gets_a_digest(app, people):
    parent = people["parent"]
    with smtp(app) as server:
        _parents_day(people)
        parent.status = "ended"
        db.session.commit()
        with at(datetime(2026, 11, 25, 17, 0)):
            assert email_delivery.send_digests()[0] == 0
    assert all("update" not in m["Subject"] for m in server.messages)


# ---- the commands ----------------------------------------------------------------------------

def test_the_timer_commands_print_a_summary_and_are_safe_to_repeat(app, people):
    runner = app.test_cli_runner()
    with smtp(app) as server:
        _parents_day(people)
        with at(datetime(2026, 11, 25, 17, 5)):
            first = runner.invoke(args=["notify", "send-digests"])
            again = runner.invoke(args=["notify", "send-digests"])
            due = runner.invoke(args=["notify", "send-due"])
    assert first.exit_code == 0, first.output
    assert first.output.startswith("Digests made: 1;") and "1 sent" in first.output
    assert again.output.startswith("Digests made: 0;")
    assert due.exit_code == 0 and due.output.startswith("Emails:")
    assert sum("update" in m["Subject"] for m in server.messages) == 1
