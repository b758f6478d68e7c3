"""The rules of notification email that need no mail server: which SMTP answers are a refused
address and which are worth another try, the Message-ID kept across retries, who is
held through quiet hours, and a digest made by two runs at once."""
import smtplib
from datetime import date, datetime, timedelta

import pytest

from app.extensions import db
from app.models.notifications import EMAIL_DIGEST, PENDING, EmailDelivery
from app.services import email_delivery, notifications
from tests.factories import make_class, make_parent, make_pupil, make_school, make_teacher


@pytest.mark.parametrize("error, refused", [
    (smtplib.SMTPRecipientsRefused({"a@x.test": (550, b"5.1.1 No such user")}), "550 5.1.1 No such user"),
    (smtplib.SMTPRecipientsRefused({"a@x.test": (553, "mailbox name not allowed")}), "553 mailbox name not allowed"),
    (smtplib.SMTPDataError(554, b"5.7.1 Rejected"), "554 5.7.1 Rejected"),
    # no: a passing refusal, or a fault that is not the address's
    (smtplib.SMTPRecipientsRefused({"a@x.test": (450, b"4.2.1 Try later")}), None),
    (smtplib.SMTPRecipientsRefused({"a@x.test": (452, b"4.2.2 Mailbox full")}), None),
    (smtplib.SMTPDataError(451, b"4.3.0 Try again later"), None),
    (smtplib.SMTPSenderRefused(550, b"sender not allowed", "hearth@x.test"), None),
    (smtplib.SMTPAuthenticationError(535, b"bad credentials"), None),
    (smtplib.SMTPServerDisconnected("gone"), None),
])
def test_only_a_5xx_at_rcpt_or_data_is_a_refused_address(error, refused):
    assert email_delivery._permanent_refusal(error) == refused


def test_the_message_id_depends_on_the_delivery_alone(app):
    app.config["PUBLIC_URL"] = "https://hearth.oakfield.test/"
    message_id = email_delivery._message_id
    one = EmailDelivery(id=4, key="notification:9:email")
    assert message_id(one) == message_id(EmailDelivery(id=4, key="notification:9:email"))
    assert message_id(one).endswith("@hearth.oakfield.test>")
    assert message_id(one) != message_id(EmailDelivery(id=5, key="notification:10:email"))


def test_parents_are_never_held_and_staff_wait_for_their_working_day(app):
    school = make_school()
    teacher, parent = make_teacher(school), make_parent(school)
    sunday = datetime(2026, 11, 29, 21, 0)
    assert email_delivery.hold_until(parent, sunday) == (sunday, False)
    assert email_delivery.hold_until(teacher, sunday) == (datetime(2026, 11, 30, 8, 0), True)
    tuesday_noon = datetime(2026, 12, 1, 12, 0)
    assert email_delivery.hold_until(teacher, tuesday_noon) == (tuesday_noon, False)


def test_two_digest_runs_at_once_make_one_digest(app, monkeypatch):
    """The second run's insert meets the first run's row (made after the second looked): the
    savepoint keeps the rest of its work and no second digest exists."""
    school = make_school()
    pupil = make_pupil(make_class(school))
    teacher, parent = make_teacher(school), make_parent(school, children=[pupil])
    now = datetime(2026, 11, 25, 17, 0)
    notifications.notify([parent], notifications.COMMENT, "portfolio_item:1", actor=teacher, pupil=pupil,
                         now=now - timedelta(hours=1))
    db.session.commit()
    key = f"digest:{parent.id}:2026-11-25"
    real_hold = email_delivery.hold_until

    def the_other_run_gets_there_first(user, moment, cal=None):
        db.session.add(EmailDelivery(school_id=school.id, user_id=user.id, key=key, kind=EMAIL_DIGEST,
                                     digest_day=date(2026, 11, 25), to_address=user.email, status=PENDING,
                                     next_attempt_at=moment, created_at=moment))
        db.session.flush()
        return real_hold(user, moment, cal)

    monkeypatch.setattr(email_delivery, "hold_until", the_other_run_gets_there_first)
    assert email_delivery._make_digests(school, date(2026, 11, 25), now) == 0
    assert db.session.query(EmailDelivery).filter_by(key=key).count() == 1
