"""Who hears about what (issue 9, app/services/notification_events.py), through the feature
services that make the news: messages, Class Story posts, comments, likes, pupils' work, reports,
points. Each table lists everyone around the thing, with the "no" cells written out."""
from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from app.extensions import db
from app.models import EmailDelivery, Notification, Post, User
from app.models.base import utcnow
from app.services import (
    messaging,
    moderation,
    notification_events,
    notifications,
    points,
    portfolio,
    retention,
    safeguarding,
    stories,
)
from app.services.notifications import Choice
from app.services.stories import PostDraft
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

EVERYONE = ("author", "co-teacher", "other teacher", "linked parent", "second linked parent",
            "classmate's parent", "unlinked parent", "other class's parent", "senior", "head",
            "other school's parent")


@pytest.fixture()
def world(app):
    school = make_school()
    klass = make_class(school, name="Oak", pupil_uploads_enabled=True)
    other = make_class(school, name="Ash")
    zosia = make_pupil(klass, name="Zosia K.")
    maja = make_pupil(klass, name="Maja P.")
    sam = make_pupil(other, name="Sam T.")
    author = make_teacher(school, classes=[klass], name="Ms Oak")
    people = {
        "author": author,
        "co-teacher": make_teacher(school, classes=[klass]),
        "other teacher": make_teacher(school, classes=[other]),
        "linked parent": make_parent(school, children=[zosia], name="Anna K."),
        "second linked parent": make_parent(school, children=[zosia]),
        "classmate's parent": make_parent(school, children=[maja]),
        "unlinked parent": make_parent(school),
        "other class's parent": make_parent(school, children=[sam]),
        "senior": make_senior(school),
        "head": make_head(school),
        "other school's parent": make_parent(make_school()),
    }
    return dict(school=school, klass=klass, other=other, zosia=zosia, maja=maja, sam=sam, people=people)


def told(world, kind=None):
    """The names of the people who have a notification (of ``kind``)."""
    stmt = select(Notification.user_id)
    if kind:
        stmt = stmt.where(Notification.kind == kind)
    ids = set(db.session.scalars(stmt))
    return {name for name, person in world["people"].items() if person.id in ids}


def rows_of(user, kind=None):
    stmt = select(Notification).where(Notification.user_id == user.id)
    if kind:
        stmt = stmt.where(Notification.kind == kind)
    return db.session.scalars(stmt.order_by(Notification.id)).all()


def unread_of(user):
    return db.session.scalar(select(User.unread_notifications).where(User.id == user.id))


def lookups(fn):
    """How many statements fn() runs other than INSERTs (an INSERT per row written is the database
    driver's business: SQLAlchemy sends them in batches where the database allows it)."""
    from sqlalchemy import event
    statements = []

    def before(_conn, _cursor, statement, *_args):
        statements.append(statement.lstrip().split(None, 1)[0].upper())
    event.listen(db.engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    return len([s for s in statements if s != "INSERT"])


def want_points(*parents, email="never"):
    for parent in parents:
        notifications.set_preferences(parent, {notifications.POINTS: Choice(True, email)})


# ---- messages ------------------------------------------------------------------------------------

def test_a_parents_message_tells_the_teacher_and_no_one_else(world):
    p = world["people"]
    messaging.send(p["linked parent"], staff=p["author"], pupil=world["zosia"], parent=p["linked parent"],
                   body="Zosia has a dentist's appointment at 2.")
    assert told(world) == {"author"}
    (row,) = rows_of(p["author"])
    convo = messaging.find_conversation(p["author"], world["zosia"], p["linked parent"])
    assert (row.kind, row.subject, row.group_key) == ("message", f"conversation:{convo.id}", f"message:{convo.id}")
    assert row.actor_id == p["linked parent"].id and row.pupil_id == world["zosia"].id
    assert unread_of(p["author"]) == 1


def test_a_teachers_replies_tell_the_parent_as_one_line(world):
    p = world["people"]
    for body in ("Thank you for letting me know.", "See you tomorrow.", "And well done!"):
        messaging.send(p["author"], staff=p["author"], pupil=world["zosia"], parent=p["linked parent"], body=body)
    assert told(world) == {"linked parent"}  # not the second parent: the conversation is Anna's
    (row,) = rows_of(p["linked parent"])
    assert row.count == 3 and unread_of(p["linked parent"]) == 1
    with force_locale("en"):
        assert notifications.describe(row) == "Ms Oak sent you 3 messages about Zosia K."


def test_a_pupils_message_names_the_pupil_and_messages_to_pupils_tell_no_one(world, monkeypatch):
    p = world["people"]
    monkeypatch.setattr(messaging, "pupil_messaging_on", lambda pupil: True)
    zosia = world["zosia"]
    messaging.send(zosia, staff=p["author"], pupil=zosia, body="I finished my story!")
    (row,) = rows_of(p["author"])
    assert row.actor_id is None and row.pupil_id == zosia.id
    with force_locale("en"):
        assert notifications.describe(row) == "Zosia K. sent you a message"
    messaging.send(p["author"], staff=p["author"], pupil=zosia, body="Well done, Zosia.")
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 1
    assert told(world) == {"author"}


def test_a_held_message_tells_no_one_until_it_is_released(world):
    p = world["people"]
    moderation.save_word_list(world["school"], "en", "rubbish", p["head"])
    message = messaging.send(p["linked parent"], staff=p["author"], pupil=world["zosia"],
                             parent=p["linked parent"], body="This homework is rubbish", send_held=True)
    assert message.held_at is not None and told(world) == set()
    moderation.decide(p["senior"], message, moderation.REJECTED)
    assert told(world) == set()

    second = messaging.send(p["linked parent"], staff=p["author"], pupil=world["zosia"],
                            parent=p["linked parent"], body="Still rubbish", send_held=True)
    moderation.decide(p["senior"], second, moderation.RELEASED)
    assert told(world) == {"author"}
    (row,) = rows_of(p["author"])
    assert row.actor_id == p["linked parent"].id  # the writer, not the reviewer


def test_a_message_to_several_families_tells_each_parent_once_and_the_held_one_on_release(world):
    p = world["people"]
    klass = world["klass"]
    ids = [world["zosia"].id, world["maja"].id]
    messaging.broadcast(p["author"], klass, ids, body="Trip on Friday: bring a coat.", request_key="b1")
    assert told(world) == {"linked parent", "second linked parent", "classmate's parent"}
    assert all(len(rows_of(p[name])) == 1 for name in ("linked parent", "second linked parent"))
    db.session.execute(Notification.__table__.update().values(delivery_id=None))
    db.session.execute(EmailDelivery.__table__.delete())
    db.session.execute(Notification.__table__.delete())
    db.session.commit()

    moderation.save_word_list(world["school"], "en", "rubbish", p["head"])
    messaging.broadcast(p["author"], klass, ids, body="No rubbish on the trip", request_key="b2", send_held=True)
    assert told(world) == set()
    held = db.session.scalars(select(messaging.Message).where(messaging.Message.broadcast_key == "b2")).first()
    moderation.decide(p["senior"], held, moderation.RELEASED)
    assert told(world) == {"linked parent", "second linked parent", "classmate's parent"}


def test_reading_the_conversation_marks_its_notifications_read_and_the_count_drops(world, login_as):
    p = world["people"]
    teacher, anna = p["author"], p["linked parent"]
    messaging.send(teacher, staff=teacher, pupil=world["zosia"], parent=anna, body="Hello")
    messaging.send(teacher, staff=teacher, pupil=world["zosia"], parent=anna, body="Are you free at 3?")
    other = messaging.send(p["co-teacher"], staff=p["co-teacher"], pupil=world["zosia"], parent=anna, body="Hi")
    assert unread_of(anna) == 2
    convo = messaging.find_conversation(teacher, world["zosia"], anna)
    response = login_as(anna).post(f"/messages/{convo.id}/read")
    assert response.status_code in (302, 303)
    db.session.expire_all()
    assert unread_of(anna) == 1
    (still,) = [row for row in rows_of(anna) if row.read_at is None]
    assert still.subject == f"conversation:{other.conversation_id}"
    # The teacher writing in a conversation has read it: the parent's earlier message is read too.
    messaging.send(anna, staff=teacher, pupil=world["zosia"], parent=anna, body="Yes, 3 is fine.")
    assert unread_of(teacher) == 1
    messaging.send(teacher, staff=teacher, pupil=world["zosia"], parent=anna, body="See you then.")
    db.session.expire_all()
    assert unread_of(teacher) == 0 and all(row.read_at for row in rows_of(teacher))


# ---- Class Story posts ---------------------------------------------------------------------------

def _publish(world, school_class, publish_at=None, body="Our trip to the farm", author=None):
    now = utcnow()
    return stories.save_post(None, author=author or world["people"]["author"], school=world["school"],
                             school_class=school_class, draft=PostDraft(kind="news", body=body),
                             media_list=[], pupils_by_id={}, publish_at=publish_at or now, now=now)


def test_a_class_post_tells_the_families_of_the_class_and_no_one_else(world):
    post = _publish(world, world["klass"])
    assert told(world) == {"linked parent", "second linked parent", "classmate's parent"}
    assert post.notified_at is not None
    row = rows_of(world["people"]["linked parent"])[0]
    assert (row.kind, row.subject, row.actor_id) == ("post", f"post:{post.id}", world["people"]["author"].id)
    with force_locale("en"):
        assert notifications.describe(row) == "Ms Oak posted on Oak's Class Story"


def test_a_whole_school_post_tells_every_family_of_the_school(world):
    _publish(world, None)
    assert told(world) == {"linked parent", "second linked parent", "classmate's parent", "other class's parent"}
    with force_locale("en"):
        assert notifications.describe(rows_of(world["people"]["linked parent"])[0]) == \
            "Ms Oak posted on the school's story"


def test_a_suspended_parent_hears_nothing_until_the_suspension_is_over(world):
    parent = world["people"]["classmate's parent"]
    parent.status, parent.suspended_until = "suspended", utcnow() + timedelta(days=1)
    db.session.commit()
    _publish(world, world["klass"], body="Monday")
    assert "classmate's parent" not in told(world)
    parent.suspended_until = utcnow() - timedelta(minutes=1)
    db.session.commit()
    _publish(world, world["klass"], body="Tuesday")
    assert "classmate's parent" in told(world)


def test_a_pupil_who_left_takes_the_family_out_of_the_class_news(world):
    world["maja"].status = "left"
    db.session.commit()
    _publish(world, world["klass"])
    assert "classmate's parent" not in told(world)


def test_a_draft_tells_no_one_and_an_edit_of_a_live_post_tells_no_one_again(world):
    p = world["people"]
    draft = stories.save_post(None, author=p["author"], school=world["school"], school_class=world["klass"],
                              draft=PostDraft(kind="news", body="Not yet"), media_list=[], pupils_by_id={})
    assert told(world) == set() and draft.notified_at is None
    post = _publish(world, world["klass"])
    before = db.session.scalar(select(func.count()).select_from(Notification))
    stories.save_post(post, author=p["author"], school=world["school"], school_class=world["klass"],
                      draft=PostDraft(kind="news", body="Our trip to the farm (photos soon)"), media_list=[],
                      pupils_by_id={}, publish_at=utcnow())
    assert db.session.scalar(select(func.count()).select_from(Notification)) == before


def test_a_scheduled_post_tells_the_families_once_when_it_is_due(world):
    post = _publish(world, world["klass"], publish_at=utcnow() + timedelta(hours=1))
    assert told(world) == set()
    assert notification_events.notify_due_posts(utcnow()) == 0
    later = utcnow() + timedelta(hours=1, minutes=1)
    assert notification_events.notify_due_posts(later) == 1
    assert notification_events.notify_due_posts(later + timedelta(minutes=1)) == 0
    assert told(world) == {"linked parent", "second linked parent", "classmate's parent"}
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 3
    assert db.session.get(Post, post.id).notified_at is not None


def test_an_old_or_removed_post_is_not_announced_late(world):
    author = world["people"]["author"]
    make_post(author, world["klass"], published_at=utcnow() - timedelta(days=3))
    make_post(author, world["klass"], removed_at=utcnow())
    assert notification_events.notify_due_posts() == 0
    assert told(world) == set()


def test_a_post_to_thirty_families_costs_the_same_queries_as_to_three(app):
    def cost(families):
        school = make_school()
        klass = make_class(school)
        for _ in range(families):
            make_parent(school, children=[make_pupil(klass)])
        teacher = make_teacher(school, classes=[klass])
        draft = PostDraft(kind="news", body="Hello families")
        return lookups(lambda: stories.save_post(
            None, author=teacher, school=school, school_class=klass, draft=draft, media_list=[],
            pupils_by_id={}, publish_at=utcnow()))
    small, large = cost(3), cost(30)
    assert small == large
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 33


# ---- comments and likes --------------------------------------------------------------------------

def test_a_comment_on_a_post_tells_its_author_only(world):
    p = world["people"]
    post = make_post(p["author"], world["klass"])
    stories.add_comment(post, p["linked parent"], "What a lovely day!")
    assert told(world) == {"author"}
    (row,) = rows_of(p["author"])
    assert (row.kind, row.subject, row.group_key) == ("comment", f"post:{post.id}", f"comment:post:{post.id}")
    stories.add_comment(post, p["author"], "Thank you!")  # their own: nothing
    assert told(world) == {"author"} and rows_of(p["author"])[0].count == 1


def test_a_held_comment_tells_the_author_only_when_released(world):
    p = world["people"]
    moderation.save_word_list(world["school"], "en", "rubbish", p["head"])
    post = make_post(p["author"], world["klass"])
    comment = stories.add_comment(post, p["linked parent"], "rubbish photo", send_held=True)
    assert told(world) == set()
    moderation.decide(p["co-teacher"], comment, moderation.RELEASED)
    assert told(world) == {"author"}


def _item(world, status="approved"):
    from app.models import PortfolioItem
    item = PortfolioItem(school_id=world["school"].id, pupil_id=world["zosia"].id, class_id=world["klass"].id,
                         by_pupil=True, body="My volcano", status=status)
    db.session.add(item)
    db.session.commit()
    return item


def test_a_comment_on_a_childs_work_tells_the_childs_family_only(world):
    p = world["people"]
    item = _item(world)
    stories.add_comment(item, p["author"], "Brilliant volcano, Zosia!")
    assert told(world) == {"linked parent", "second linked parent"}
    row = rows_of(p["linked parent"])[0]
    assert row.subject == f"portfolio_item:{item.id}" and row.pupil_id == world["zosia"].id
    with force_locale("en"):
        assert notifications.describe(row) == "Ms Oak commented on Zosia K.'s work"
    # One parent's comment tells the other, not themself.
    db.session.execute(Notification.__table__.delete())
    db.session.commit()
    stories.add_comment(item, p["linked parent"], "We loved it at home too")
    assert told(world) == {"second linked parent"}


def test_work_the_family_cannot_see_tells_them_nothing(world):
    p = world["people"]
    pending = _item(world, status="pending")
    stories.add_comment(pending, p["author"], "Nearly there")
    stories.toggle_like(pending, p["author"])
    removed = _item(world)
    removed.removed_at = utcnow()
    db.session.commit()
    stories.toggle_like(removed, p["author"])
    assert told(world) == set()


def test_three_likes_make_one_line_and_unliking_takes_nothing_back(world):
    p = world["people"]
    post = make_post(p["author"], world["klass"])
    for name in ("linked parent", "classmate's parent", "co-teacher"):
        stories.toggle_like(post, p[name])
    assert told(world) == {"author"}
    (row,) = rows_of(p["author"])
    assert row.count == 3 and row.group_key == f"like:post:{post.id}" and unread_of(p["author"]) == 1
    with force_locale("en"):
        assert notifications.describe(row) == f"{p['co-teacher'].name} and 2 other people liked your post"
    stories.toggle_like(post, p["co-teacher"])  # unlike
    db.session.expire_all()
    assert rows_of(p["author"])[0].count == 3
    stories.toggle_like(post, p["author"])  # their own like: nothing
    db.session.expire_all()
    assert rows_of(p["author"])[0].count == 3


def test_a_like_on_a_childs_work_tells_the_family(world):
    p = world["people"]
    item = _item(world)
    stories.toggle_like(item, p["author"])
    assert told(world, "like") == {"linked parent", "second linked parent"}


# ---- pupils' work, reports ------------------------------------------------------------------------

def test_work_waiting_for_approval_tells_the_class_teachers(world):
    zosia = world["zosia"]
    portfolio.add_pupil_item(zosia, body="My poem", media_list=[])
    portfolio.add_pupil_item(zosia, body="My second poem", media_list=[])
    assert told(world) == {"author", "co-teacher"}
    (row,) = rows_of(world["people"]["author"])
    klass = world["klass"]
    assert (row.subject, row.group_key, row.count, row.actor_id) == (
        f"queue:{klass.id}", f"work:{klass.id}", 2, None)
    with force_locale("en"):
        assert notifications.describe(row) == "2 pieces of work are waiting for your approval"


def test_work_approved_automatically_waits_for_no_one(world):
    world["klass"].auto_approve_portfolio = True
    db.session.commit()
    portfolio.add_pupil_item(world["zosia"], body="My poem", media_list=[])
    assert told(world) == set()


def test_a_report_tells_the_senior_leaders_without_naming_the_reporter(world):
    p = world["people"]
    post = make_post(p["author"], world["klass"])
    report, _created = safeguarding.report(p["linked parent"], "post", post, "Not kind")
    assert told(world) == {"senior", "head"}
    row = rows_of(p["head"])[0]
    assert (row.subject, row.group_key, row.actor_id) == (f"report:{report.id}", f"report:{world['school'].id}",
                                                          None)
    safeguarding.report(p["senior"], "post", post, "I agree")
    db.session.expire_all()
    assert rows_of(p["senior"])[0].count == 1 and rows_of(p["head"])[0].count == 2  # not told of their own


def test_a_senior_leaders_own_report_does_not_tell_them(world):
    p = world["people"]
    post = make_post(p["author"], world["klass"])
    safeguarding.report(p["senior"], "post", post, "Not kind")
    assert told(world) == {"head"}


# ---- points -------------------------------------------------------------------------------------

def _category(school, kind="positive"):
    from app.models import PointCategory
    return db.session.scalars(select(PointCategory).where(PointCategory.school_id == school.id,
                                                          PointCategory.kind == kind)).first()


def test_points_tell_only_the_parents_who_asked(world):
    p = world["people"]
    want_points(p["linked parent"], p["classmate's parent"])
    points.award_points(p["author"], [world["zosia"]], _category(world["school"]), "k1")
    assert told(world) == {"linked parent"}  # the second parent kept the default: off
    category = _category(world["school"])
    points.award_points(p["author"], [world["zosia"]], category, "k2")
    (row,) = rows_of(p["linked parent"])
    assert row.subject == f"pupil:{world['zosia'].id}" and row.count == 2
    assert notifications.params_of(row) == {"points": 2 * category.value}
    with force_locale("en"):
        assert notifications.describe(row) == f"Zosia K. got {2 * category.value} points"


def test_needs_work_points_never_tell_the_family(world):
    p = world["people"]
    world["school"].needs_work_enabled = True
    db.session.commit()
    want_points(p["linked parent"], email="instant")
    points.award_points(p["author"], [world["zosia"]], _category(world["school"], "needs_work"), "nw")
    assert told(world) == set()
    assert db.session.scalar(select(func.count()).select_from(EmailDelivery)) == 0


def test_approved_reading_tells_the_parents_who_asked(world):
    p = world["people"]
    want_points(p["second linked parent"])
    entry = points.log_reading(p["linked parent"], world["zosia"], utcnow().date(), 20, "Matilda")
    points.review_reading(p["author"], [entry])
    assert told(world) == {"second linked parent"}


def test_a_class_award_of_thirty_costs_the_same_queries_as_one_of_three(app):
    def cost(size):
        school = make_school()
        klass = make_class(school)
        pupils = [make_pupil(klass) for _ in range(size)]
        parents = [make_parent(school, children=[pupil]) for pupil in pupils]
        want_points(*parents[:2])  # a few asked for points, most kept the default
        teacher = make_teacher(school, classes=[klass])
        category = _category(school)
        db.session.commit()
        db.session.expire_all()  # the route's pupils come fresh from the database
        pupils = points.pupils_by_ids(school, [p.id for p in pupils])
        teacher, category = db.session.get(User, teacher.id), db.session.get(type(category), category.id)
        return lookups(lambda: points.award_points(teacher, pupils, category, f"class-{size}"))
    assert cost(3) == cost(30)
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 4


# ---- keeping ----------------------------------------------------------------------------------------

def test_the_retention_run_deletes_notifications_and_emails_after_90_days(world):
    p = world["people"]
    messaging.send(p["author"], staff=p["author"], pupil=world["zosia"], parent=p["linked parent"], body="Hello")
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(EmailDelivery)) == 1
    (result,) = [r for r in retention.run(utcnow() + timedelta(days=89)) if r[0] == world["school"].id]
    assert "notifications" not in result[2]
    (result,) = [r for r in retention.run(utcnow() + timedelta(days=91)) if r[0] == world["school"].id]
    assert result[2]["notifications"] == 1 and result[2]["email_deliveries"] == 1
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0


def test_erasing_a_pupil_deletes_the_notifications_about_them(world):
    p = world["people"]
    want_points(p["linked parent"])
    points.award_points(p["author"], [world["zosia"]], _category(world["school"]), "e1")
    points.award_points(p["author"], [world["maja"]], _category(world["school"]), "e2")
    want_points(p["classmate's parent"])
    points.award_points(p["author"], [world["maja"]], _category(world["school"]), "e3")
    summary = retention.erasure_summary(world["zosia"])
    counts = retention.erase_pupil(world["zosia"], p["head"])
    assert summary["notifications"] == counts["notifications"] == 1
    assert told(world) == {"classmate's parent"}

