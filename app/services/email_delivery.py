"""Email for notifications (issue 9): planning, sending once, retrying, digests, bounces.

Every email is an ``EmailDelivery`` row first, written in the same transaction as the news it
carries, with a unique key; the sending happens after the commit (through the job queue when Redis
is configured, in-process otherwise) and again from ``flask notify send-due`` for anything whose
time has come: mail held through a teacher's quiet hours, or a retry after a failure.
"""
from ..extensions import db
from ..models.notifications import EMAIL_INSTANT, PENDING, EmailDelivery
from . import working_time


def hold_until(user, now):
    """When email to this person may go: now, or for staff in their quiet hours the start of their
    next working time (held=True). Parents are never held."""
    if not user.is_staff:
        return now, False
    cal = working_time.calendar_for(user.school, working_time.school_today(user.school, now))
    week = working_time.staff_week_for(user, cal)
    if not working_time.in_quiet_hours(now, cal, week):
        return now, False
    start = working_time.next_working_start(now, cal, week)
    if start is None:
        return now, False
    return start.replace(tzinfo=None), True


def plan_instant(pairs, now):
    """An instant email for each (notification, user), unless the address bounced. In the caller's
    transaction; the send is queued once it commits."""
    planned = []
    for notification, user in pairs:
        if user.email_bounced_at is not None:
            continue
        due, held = hold_until(user, now)
        delivery = EmailDelivery(
            school_id=user.school_id, user_id=user.id, key=f"notification:{notification.id}:email",
            kind=EMAIL_INSTANT, to_address=user.email, status=PENDING, next_attempt_at=due,
            held_for_quiet_hours=held, created_at=now)
        db.session.add(delivery)
        planned.append((notification, delivery))
    if planned:
        db.session.flush()
        for notification, delivery in planned:
            notification.delivery_id = delivery.id
    return [delivery for _n, delivery in planned]
