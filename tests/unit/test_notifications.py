"""The core of notifications (issue 9): choices and their defaults, notify() and its grouping, the
unread count kept on the user's row, and the unsubscribe links."""
import json
from datetime import timedelta

import pytest
import time_machine
from flask_babel import force_locale

from app.extensions import db
from app.models import EmailDelivery, Notification, NotificationPreference
from app.models.base import utcnow
from app.services import notifications as n
from app.services.notifications import Choice
from tests.factories import make_class, make_head, make_parent, make_pupil, make_school, make_senior, make_teacher


@pytest.fixture()
def cast(app):
    school = make_school()
    klass = make_class(school)
    teacher = make_teacher(school, classes=[klass])
    pupil = make_pupil(klass, name="Zosia K.")
    parent = make_parent(school, children=[pupil])
    other_parent = make_parent(school)
    db.session.commit()
    return school, teacher, pupil, parent, other_parent


def notifications_of(user):
    return db.session.scalars(db.select(Notification).where(Notification.user_id == user.id)).all()


def test_the_kinds_each_role_can_get(cast):
    school, teacher, _pupil, parent, _other = cast
    senior = make_senior(school)
    head = make_head(school)
    assert n.kinds_for(parent) == [n.MESSAGE, n.POST, n.COMMENT, n.LIKE, n.POINTS]
    assert n.kinds_for(teacher) == [n.MESSAGE, n.COMMENT, n.LIKE, n.WORK_WAITING]
    assert n.kinds_for(senior) == n.kinds_for(head) == [n.MESSAGE, n.COMMENT, n.LIKE, n.WORK_WAITING, n.REPORT]


def test_defaults_messages_at_once_the_rest_in_the_digest_and_points_off(cast):
    _school, teacher, _pupil, parent, _other = cast
    choices = n.preferences_for(parent)
    assert choices[n.MESSAGE] == Choice(True, "instant")
    assert {choices[k].email for k in (n.POST, n.COMMENT, n.LIKE)} == {"digest"}
    assert choices[n.POINTS] == Choice(False, "never")
    assert n.preferences_for(teacher)[n.LIKE] == Choice(True, "never")


def test_a_saved_choice_replaces_the_default_and_a_kind_not_offered_is_refused(cast):
    _school, teacher, _pupil, parent, _other = cast
    n.set_preferences(parent, {n.POINTS: Choice(True, "digest")})
    assert n.preferences_for(parent)[n.POINTS] == Choice(True, "digest")
    n.set_preferences(parent, {n.POINTS: Choice(False, "never")})
    assert db.session.query(NotificationPreference).filter_by(user_id=parent.id).count() == 1
    with pytest.raises(n.PreferenceError):
        n.set_preferences(parent, {n.REPORT: Choice(True, "instant")})
    with pytest.raises(n.PreferenceError):
        n.set_preferences(teacher, {n.MESSAGE: Choice(True, "hourly")})
    assert n.preferences_for(teacher)[n.MESSAGE] == Choice(True, "instant")


def test_notify_skips_the_actor_a_blocked_account_and_whoever_wants_none_of_it(cast):
    school, teacher, pupil, parent, other = cast
    other.status = "ended"
    db.session.commit()
    rows = n.notify([parent, parent, other, teacher], n.MESSAGE, "conversation:1", actor=teacher, pupil=pupil)
    db.session.commit()
    assert [r.user_id for r in rows] == [parent.id]
    # Points are off by default: nothing is written at all.
    assert n.notify([parent], n.POINTS, f"pupil:{pupil.id}", pupil=pupil) == []
    # A kind this role never gets (a parent and reports) is not written either.
    assert n.notify([parent], n.REPORT, "report:1") == []


def test_the_unread_count_follows_shown_notifications_only(cast):
    _school, teacher, pupil, parent, _other = cast
    n.set_preferences(parent, {n.POST: Choice(False, "digest")})
    n.notify([parent], n.MESSAGE, "conversation:1", actor=teacher, pupil=pupil)
    n.notify([parent], n.POST, "post:1", actor=teacher)  # for the digest only: not in the app
    db.session.commit()
    db.session.refresh(parent)
    assert parent.unread_notifications == 1
    assert [x.kind for x in n.latest(parent)] == [n.MESSAGE]
    assert n.recount(parent) == 1


def test_repeats_join_one_unread_row_until_it_is_read(cast):
    _school, teacher, pupil, parent, _other = cast
    for _ in range(3):
        n.notify([parent], n.MESSAGE, "conversation:7", actor=teacher, pupil=pupil, group_key="message:7")
    db.session.commit()
    (row,) = notifications_of(parent)
    assert row.count == 3
    db.session.refresh(parent)
    assert parent.unread_notifications == 1
    with force_locale("en"):
        assert n.describe(row) == f"{teacher.name} sent you 3 messages about Zosia K."
    n.open_notification(parent, row)
    n.notify([parent], n.MESSAGE, "conversation:7", actor=teacher, pupil=pupil, group_key="message:7")
    db.session.commit()
    assert len(notifications_of(parent)) == 2
    db.session.refresh(parent)
    assert parent.unread_notifications == 1


def test_grouped_points_add_up(cast):
    _school, teacher, pupil, parent, _other = cast
    n.set_preferences(parent, {n.POINTS: Choice(True, "never")})
    for points in (1, 2, 3):
        n.notify([parent], n.POINTS, f"pupil:{pupil.id}", actor=teacher, pupil=pupil,
                 group_key=f"points:{pupil.id}:2026-11-30", params={"points": points}, add={"points": points})
    db.session.commit()
    (row,) = notifications_of(parent)
    assert json.loads(row.params) == {"points": 6}
    with force_locale("en"):
        assert n.describe(row) == "Zosia K. got 6 points"


def test_likes_read_as_one_person_and_others(cast):
    _school, teacher, _pupil, parent, other = cast
    third = make_parent(teacher.school)
    db.session.commit()
    for who in (parent, other, third):
        n.notify([teacher], n.LIKE, "post:3", actor=who, group_key="like:post:3")
    db.session.commit()
    (row,) = notifications_of(teacher)
    with force_locale("en"):
        assert n.describe(row) == f"{third.name} and 2 other people liked your post"


def test_an_instant_choice_plans_one_email_and_others_none(cast):
    _school, teacher, pupil, parent, _other = cast
    n.notify([parent], n.MESSAGE, "conversation:1", actor=teacher, pupil=pupil)
    n.notify([parent], n.COMMENT, "portfolio_item:1", actor=teacher, pupil=pupil)
    db.session.commit()
    (delivery,) = db.session.scalars(db.select(EmailDelivery)).all()
    message_row = next(x for x in notifications_of(parent) if x.kind == n.MESSAGE)
    assert delivery.key == f"notification:{message_row.id}:email"
    assert message_row.delivery_id == delivery.id
    assert delivery.to_address == parent.email
    # Without Redis the send runs as soon as the transaction commits (app/jobs.py).
    assert delivery.status == "sent"


def test_no_email_is_planned_to_an_address_that_bounced(cast):
    _school, teacher, pupil, parent, _other = cast
    parent.email_bounced_at = utcnow()
    db.session.commit()
    assert n.notify([parent], n.MESSAGE, "conversation:1", actor=teacher, pupil=pupil)
    db.session.commit()
    assert db.session.query(EmailDelivery).count() == 0


def test_mark_all_read_and_reading_the_thing_itself(cast):
    _school, teacher, pupil, parent, _other = cast
    n.notify([parent], n.MESSAGE, "conversation:1", actor=teacher, pupil=pupil, group_key="message:1")
    n.notify([parent], n.MESSAGE, "conversation:2", actor=teacher, pupil=pupil, group_key="message:2")
    n.notify([parent], n.COMMENT, "portfolio_item:4", actor=teacher, pupil=pupil)
    db.session.commit()
    assert n.mark_subject_read(parent.id, "conversation:2") == 1
    db.session.commit()
    db.session.refresh(parent)
    assert parent.unread_notifications == 2
    n.mark_all_read(parent)
    assert parent.unread_notifications == 0
    assert all(x.read_at for x in notifications_of(parent))


def test_recount_mends_a_drifted_count(cast):
    _school, teacher, pupil, parent, _other = cast
    n.notify([parent], n.MESSAGE, "conversation:1", actor=teacher, pupil=pupil)
    parent.unread_notifications = 9
    db.session.commit()
    assert n.recount(parent) == 1
    db.session.refresh(parent)
    assert parent.unread_notifications == 1


def test_an_unsubscribe_token_names_its_own_user_and_kind_only(cast):
    _school, _teacher, _pupil, parent, other = cast
    token = n.unsubscribe_token(parent, n.MESSAGE)
    user, what = n.read_unsubscribe_token(token)
    assert (user.id, what) == (parent.id, n.MESSAGE)
    assert n.unsubscribe(user, what) == [n.MESSAGE]
    assert n.preferences_for(parent)[n.MESSAGE] == Choice(True, "never")
    assert n.preferences_for(other)[n.MESSAGE] == Choice(True, "instant")
    # Again: nothing left to change.
    assert n.unsubscribe(user, what) == []


@pytest.mark.parametrize("tamper", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
    lambda t: "x" + t,
    lambda t: "not-a-token",
])
def test_a_forged_token_is_refused(cast, tamper):
    _school, _teacher, _pupil, parent, _other = cast
    with pytest.raises(n.UnsubscribeLinkError) as err:
        n.read_unsubscribe_token(tamper(n.unsubscribe_token(parent, n.MESSAGE)))
    assert not err.value.expired


def test_an_old_token_has_expired_and_a_changed_address_retires_it(cast):
    _school, _teacher, _pupil, parent, _other = cast
    with time_machine.travel(utcnow() - timedelta(days=91), tick=False):
        old = n.unsubscribe_token(parent, n.MESSAGE)
    with pytest.raises(n.UnsubscribeLinkError) as err:
        n.read_unsubscribe_token(old)
    assert err.value.expired
    token = n.unsubscribe_token(parent, n.MESSAGE)
    parent.email = "new-address@example.org"
    db.session.commit()
    with pytest.raises(n.UnsubscribeLinkError):
        n.read_unsubscribe_token(token)


def test_the_digest_link_stops_every_kind_that_was_in_the_digest(cast):
    _school, _teacher, _pupil, parent, _other = cast
    user, what = n.read_unsubscribe_token(n.unsubscribe_token(parent, n.UNSUBSCRIBE_DIGEST))
    assert sorted(n.unsubscribe(user, what)) == sorted([n.POST, n.COMMENT, n.LIKE])
    choices = n.preferences_for(parent)
    assert choices[n.MESSAGE].email == "instant"
    assert {choices[k].email for k in (n.POST, n.COMMENT, n.LIKE)} == {"never"}
    assert all(choices[k].in_app for k in (n.POST, n.COMMENT, n.LIKE))


def test_news_of_a_deleted_post_goes_with_it(cast):
    from app.services import stories
    from tests.factories import make_post
    _school, teacher, pupil, parent, other = cast
    post = make_post(teacher, pupil.school_class)
    n.notify([parent, other], n.POST, f"post:{post.id}", actor=teacher)
    n.notify([teacher], n.LIKE, f"post:{post.id}", actor=parent, group_key=f"like:post:{post.id}")
    n.notify([teacher], n.COMMENT, f"post:{post.id}", actor=parent, group_key=f"comment:post:{post.id}")
    n.notify([parent], n.MESSAGE, "conversation:1", actor=teacher)
    db.session.commit()
    stories.delete_post(post, teacher)
    for user, left in ((parent, 1), (other, 0), (teacher, 0)):
        db.session.refresh(user)
        assert user.unread_notifications == left
        assert len(notifications_of(user)) == left
