"""Messaging: who may write to whom, what is refused, the record that cannot be deleted, receipts,
unread counts, the live poll, several families at once, pupils by year group."""
import gzip
import io
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import ContentReport, Conversation, MediaFile, Message, PupilMessagingYear
from app.models.base import utcnow
from app.services import messaging
from app.services.messaging import MessageError
from tests.conftest import client_as, count_queries, htmx_headers, outcome
from tests.factories import (
    make_class,
    make_head,
    make_parent,
    make_pupil,
    make_school,
    make_senior,
    make_teacher,
    photo_upload,
)


@pytest.fixture
def world(app):
    school = make_school()
    school.office_phone, school.office_email = "01234 567890", "office@school.example"
    klass = make_class(school, name="Oak", year_group=6)
    other = make_class(school, name="Ash", year_group=6)
    zosia = make_pupil(klass, name="Zosia K.")
    maja = make_pupil(klass, name="Maja P.")
    sam = make_pupil(other, name="Sam T.")
    teacher = make_teacher(school, classes=[klass], name="Ms Patel")
    people = {
        "teacher": teacher,
        "other teacher": make_teacher(school, classes=[other]),
        "senior leader": make_senior(school),
        "head": make_head(school),
        "zosia's parent": make_parent(school, children=[zosia], name="Anna K."),
        "maja's parent": make_parent(school, children=[maja]),
        "sam's parent": make_parent(school, children=[sam]),
        "zosia": zosia,
        "maja": maja,
        "other school's head": make_head(make_school()),
    }
    db.session.commit()
    return dict(school=school, klass=klass, other=other, zosia=zosia, maja=maja, sam=sam, teacher=teacher,
                people=people)


def _new_url(world, **kw):
    query = "&".join(f"{k}={v}" for k, v in kw.items())
    return f"/messages/new?{query}"


def _parent_writes(world, login_as, body="Could Zosia bring her PE kit on Thursday instead?"):
    parent = login_as(world["people"]["zosia's parent"])
    response = parent.post(_new_url(world, pupil=world["zosia"].id, staff=world["teacher"].id),
                           data={"body": body, "action": "send"})
    return parent, response


def test_a_parent_writes_and_the_teacher_reads_and_the_parent_sees_seen(world, login_as):
    parent, response = _parent_writes(world, login_as)
    assert response.status_code == 302
    convo = db.session.scalar(select(Conversation))
    assert (convo.staff_id, convo.parent_id, convo.pupil_id) == (
        world["teacher"].id, world["people"]["zosia's parent"].id, world["zosia"].id)
    page = parent.get(f"/messages/{convo.id}").get_data(as_text=True)
    assert "PE kit" in page and "Sent, not seen yet" in page
    assert "01234 567890" in page  # the office, for what messaging is not for

    teacher = login_as(world["teacher"])
    assert messaging.unread_count(world["teacher"]) == 1
    inbox = teacher.get("/messages/").get_data(as_text=True)
    assert "Anna K." in inbox and "Parent of <bdi>Zosia K.</bdi>" in inbox and 'class="badge"' in inbox
    page = teacher.get(f"/messages/{convo.id}").get_data(as_text=True)
    assert "PE kit" in page and f'hx-post="/messages/{convo.id}/read"' in page
    assert teacher.post(f"/messages/{convo.id}/read", headers=htmx_headers()).status_code == 204
    assert messaging.unread_count(world["teacher"]) == 0
    assert "Seen" in parent.get(f"/messages/{convo.id}").get_data(as_text=True)

    reply = teacher.post(f"/messages/{convo.id}", data={"body": "Yes, Thursday is fine.", "action": "send"})
    assert reply.status_code == 302
    assert messaging.unread_count(world["people"]["zosia's parent"]) == 1
    assert "Yes, Thursday is fine." in parent.get(f"/messages/{convo.id}").get_data(as_text=True)


def test_a_second_message_goes_to_the_same_conversation(world, login_as):
    parent, _ = _parent_writes(world, login_as)
    again = parent.get(_new_url(world, pupil=world["zosia"].id, staff=world["teacher"].id))
    convo = db.session.scalar(select(Conversation))
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/messages/{convo.id}")
    _parent_writes(world, login_as, body="And thank you!")
    assert db.session.scalar(select(func.count()).select_from(Conversation)) == 1
    assert db.session.scalar(select(func.count()).select_from(Message)) == 2


ACCESS = [
    # who                     sees the conversation?
    ("teacher", 200),
    ("zosia's parent", 200),
    ("maja's parent", 404),
    ("sam's parent", 404),
    ("other teacher", 404),
    ("senior leader", 404),   # monitoring, with a recorded reason, comes with the safeguarding issue
    ("head", 404),
    ("zosia", 404),
    ("maja", 404),
    ("other school's head", 404),
    ("anonymous", 302),
]


@pytest.mark.parametrize("who,expected", ACCESS)
def test_nobody_reads_a_conversation_they_are_not_in(world, client, login_as, who, expected):
    _parent_writes(world, login_as)
    convo = db.session.scalar(select(Conversation))
    message = db.session.scalar(select(Message))
    c = client_as(client, login_as, world["people"], who)
    assert outcome(c.get(f"/messages/{convo.id}")) == expected
    assert outcome(c.get(f"/messages/{convo.id}/live?v=x")) == expected
    assert outcome(c.get(f"/messages/m/{message.id}/report")) == expected
    sent = c.post(f"/messages/{convo.id}", data={"body": "Hello", "action": "send"})
    assert outcome(sent) == (302 if expected == 200 else expected)
    count = db.session.scalar(select(func.count()).select_from(Message))
    assert count == (2 if expected == 200 else 1)


REFUSED_NEW = [
    # who writes, to whom -> refused (404: the pair does not exist for them)
    ("sam's parent", lambda w: dict(pupil=w["zosia"].id, staff=w["teacher"].id)),        # not their child
    ("zosia's parent", lambda w: dict(pupil=w["zosia"].id, staff=w["people"]["other teacher"].id)),
    ("other teacher", lambda w: dict(pupil=w["zosia"].id, parent=w["people"]["zosia's parent"].id)),
    ("teacher", lambda w: dict(pupil=w["zosia"].id, parent=w["people"]["maja's parent"].id)),  # not linked
    ("teacher", lambda w: dict(pupil=w["sam"].id, parent=w["people"]["sam's parent"].id)),    # not taught
    ("teacher", lambda w: dict(pupil=w["zosia"].id)),  # pupil messaging is off for Year 5
    ("other school's head", lambda w: dict(pupil=w["zosia"].id, parent=w["people"]["zosia's parent"].id)),
]


@pytest.mark.parametrize("who,target", REFUSED_NEW)
def test_messages_to_people_one_may_not_write_to_are_refused(world, login_as, who, target):
    c = login_as(world["people"][who])
    response = c.post(_new_url(world, **target(world)), data={"body": "Hello", "action": "send"})
    assert response.status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0


def test_a_teacher_writes_to_a_parent_and_a_senior_leader_to_any_family(world, login_as):
    teacher = login_as(world["teacher"])
    url = _new_url(world, pupil=world["zosia"].id, parent=world["people"]["zosia's parent"].id)
    assert "Message to Anna K." in teacher.get(url).get_data(as_text=True)
    assert teacher.post(url, data={"body": "Zosia was a star today.", "action": "send"}).status_code == 302
    senior = login_as(world["people"]["senior leader"])
    url = _new_url(world, pupil=world["sam"].id, parent=world["people"]["sam's parent"].id)
    assert senior.post(url, data={"body": "Hello from the office team.", "action": "send"}).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Conversation)) == 2


@pytest.mark.parametrize("body,expected", [
    ("", "Write a message first."),
    ("   \n  ", "Write a message first."),
    ("x" * 50_000, "up to 5,000 characters"),
])
def test_an_empty_or_huge_message_is_refused_and_the_text_kept(world, login_as, body, expected):
    parent, response = _parent_writes(world, login_as, body=body)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert expected in page
    if body.strip():
        assert body[:200] in page  # what was typed is still in the box
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0


def test_an_unsafe_attachment_is_refused_and_the_text_kept(world, login_as):
    parent = login_as(world["people"]["zosia's parent"])
    fake = (io.BytesIO(b"<html><script>alert(1)</script></html>"), "holiday.jpg")
    response = parent.post(_new_url(world, pupil=world["zosia"].id, staff=world["teacher"].id),
                           data={"body": "Our holiday photo", "action": "send", "files": [fake]},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "holiday.jpg" in page and "Our holiday photo" in page
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0
    assert db.session.scalar(select(func.count()).select_from(MediaFile)) == 0


def test_an_office_document_is_refused_in_messages(world, login_as):
    from tests.media_samples import docx
    parent = login_as(world["people"]["zosia's parent"])
    response = parent.post(_new_url(world, pupil=world["zosia"].id, staff=world["teacher"].id),
                           data={"body": "The form", "action": "send",
                                 "files": [(io.BytesIO(docx()), "form.docx")]},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "photos and PDF files only" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(MediaFile)) == 0


def test_a_photo_travels_with_a_message_and_only_the_two_sides_see_it(world, login_as):
    parent = login_as(world["people"]["zosia's parent"])
    response = parent.post(_new_url(world, pupil=world["zosia"].id, staff=world["teacher"].id),
                           data={"body": "Her model volcano", "action": "send", "files": [photo_upload()]},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    media = db.session.scalar(select(MediaFile))
    message = db.session.scalar(select(Message))
    assert media.message_id == message.id and not media.staged
    assert login_as(world["teacher"]).get(f"/media/{media.id}/thumb").status_code == 200
    assert parent.get(f"/media/{media.id}/large").status_code == 200
    for who in ("maja's parent", "other teacher", "senior leader", "zosia"):
        assert login_as(world["people"][who]).get(f"/media/{media.id}/thumb").status_code == 404, who


def test_an_attachment_uploaded_first_then_sent(world, login_as):
    parent = login_as(world["people"]["zosia's parent"])
    up = parent.post("/messages/uploads", data={"file": photo_upload()}, content_type="multipart/form-data",
                     headers=htmx_headers())
    assert up.status_code == 200
    media = db.session.scalar(select(MediaFile))
    assert media.staged and f'value="{media.id}"' in up.get_data(as_text=True)
    # Someone else cannot attach it.
    other = login_as(world["people"]["maja's parent"])
    other.post(_new_url(world, pupil=world["maja"].id, staff=world["teacher"].id),
               data={"body": "Mine now", "action": "send", "media": [str(media.id)]})
    db.session.expire_all()
    assert db.session.get(MediaFile, media.id).message_id is None
    response = parent.post(_new_url(world, pupil=world["zosia"].id, staff=world["teacher"].id),
                           data={"body": "", "action": "send", "media": [str(media.id)]})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(MediaFile, media.id).message_id is not None


def test_messages_cannot_be_deleted_and_hiding_works_only_within_a_minute(world, login_as):
    _parent_writes(world, login_as, body="Sent to the wrong teacher, sorry")
    message = db.session.scalar(select(Message))
    parent_user = world["people"]["zosia's parent"]
    with pytest.raises(MessageError):
        messaging.hide(world["teacher"], message)  # only the sender
    with pytest.raises(MessageError):
        messaging.hide(parent_user, message, now=message.created_at + timedelta(seconds=61))
    parent = login_as(parent_user)
    response = parent.post(f"/messages/m/{message.id}/hide")
    assert response.status_code == 302
    db.session.expire_all()
    kept = db.session.get(Message, message.id)
    assert kept.hidden_at is not None and kept.body == "Sent to the wrong teacher, sorry"
    teacher_page = login_as(world["teacher"]).get(f"/messages/{kept.conversation_id}").get_data(as_text=True)
    assert "wrong teacher" not in teacher_page and "The sender hid this message." in teacher_page
    routes = {rule.rule for rule in parent.application.url_map.iter_rules()}
    assert not any("delete" in r for r in routes if r.startswith("/messages"))


def test_a_message_can_be_reported_to_senior_leaders(world, login_as):
    _parent_writes(world, login_as, body="Something unkind")
    message = db.session.scalar(select(Message))
    teacher = login_as(world["teacher"])
    assert "Something unkind" in teacher.get(f"/messages/m/{message.id}/report").get_data(as_text=True)
    response = teacher.post(f"/messages/m/{message.id}/report", data={"reason": "Rude to staff"})
    assert response.status_code == 302
    report = db.session.scalar(select(ContentReport))
    assert (report.target_type, report.target_id, report.reporter_user_id, report.reason) == (
        "message", message.id, world["teacher"].id, "Rude to staff")


def test_an_absence_gets_a_reminder_to_tell_the_office_before_sending(world, login_as):
    parent, response = _parent_writes(world, login_as, body="Zosia is off sick today with a temperature.")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Please tell the school office as well" in page
    assert "off sick today" in page and db.session.scalar(select(func.count()).select_from(Message)) == 0
    response = parent.post(_new_url(world, pupil=world["zosia"].id, staff=world["teacher"].id),
                           data={"body": "Zosia is off sick today with a temperature.", "action": "send",
                                 "absence_ack": "y"})
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Message)) == 1


@pytest.mark.parametrize("text,absent", [
    ("She won't be in tomorrow, dentist appointment", True),
    ("Zosia jest chora i nie przyjdzie dzisiaj", True),
    ("Zosia está doente hoje", True),
    ("زوسیا آج بیمار ہے", True),
    ("Thank you for the lovely photos!", False),
    ("Could she bring her PE kit on Thursday?", False),
])
def test_absence_words_in_several_languages(text, absent):
    assert messaging.looks_like_absence(text) is absent


def test_the_live_poll_is_empty_until_something_changes(world, login_as):
    parent, _ = _parent_writes(world, login_as)
    convo = db.session.scalar(select(Conversation))
    page = parent.get(f"/messages/{convo.id}").get_data(as_text=True)
    marker = messaging.live_marker(convo, world["people"]["zosia's parent"])
    assert f"v={marker}" in page
    quiet = parent.get(f"/messages/{convo.id}/live?v={marker}&since=1", headers=htmx_headers())
    assert quiet.status_code == 204 and quiet.get_data() == b"" and "Set-Cookie" not in quiet.headers
    login_as(world["teacher"]).post(f"/messages/{convo.id}", data={"body": "Of course.", "action": "send"})
    fresh = parent.get(f"/messages/{convo.id}/live?v={marker}&since=1", headers=htmx_headers())
    assert fresh.status_code == 200 and "Of course." in fresh.get_data(as_text=True)
    assert 'hx-swap-oob="outerHTML"' in fresh.get_data(as_text=True)


def test_a_teacher_messages_five_families_at_once_each_in_private(world, login_as):
    klass = world["klass"]
    pupils = [world["zosia"], world["maja"]] + [make_pupil(klass, name=f"Child {i}") for i in range(3)]
    parents = [world["people"]["zosia's parent"], world["people"]["maja's parent"]]
    parents += [make_parent(world["school"], children=[p]) for p in pupils[2:]]
    db.session.commit()
    teacher = login_as(world["teacher"])
    form = teacher.get(f"/messages/broadcast/{klass.id}").get_data(as_text=True)
    assert "Child 2" in form
    response = teacher.post(f"/messages/broadcast/{klass.id}",
                            data={"body": "Trip letters are due on Friday.",
                                  "pupils": [str(p.id) for p in pupils] + [str(world["sam"].id)]})
    assert response.status_code == 302
    convos = list(db.session.scalars(select(Conversation)))
    assert len(convos) == 5 and {c.parent_id for c in convos} == {p.id for p in parents}
    for parent_user in parents:
        assert messaging.unread_count(parent_user) == 1
        page = login_as(parent_user).get("/messages/").get_data(as_text=True)
        assert "Trip letters" in page and page.count('class="inbox-row') == 1
    assert messaging.unread_count(world["people"]["sam's parent"]) == 0


def test_a_broadcast_with_nobody_ticked_keeps_the_text(world, login_as):
    teacher = login_as(world["teacher"])
    response = teacher.post(f"/messages/broadcast/{world['klass'].id}", data={"body": "Trip letters"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Choose at least one family." in page and "Trip letters" in page
    assert login_as(world["people"]["other teacher"]).get(f"/messages/broadcast/{world['klass'].id}").status_code == 404


def test_pupils_message_only_when_their_year_group_has_it_on(world, login_as):
    zosia = login_as(world["zosia"])
    assert zosia.get("/messages/new").status_code == 404
    refused = zosia.post(_new_url(world, staff=world["teacher"].id), data={"body": "Hi", "action": "send"})
    assert refused.status_code == 404
    head = login_as(world["people"]["head"])
    assert head.post("/messages/settings", data={"years": ["6"]}).status_code == 302  # Year 5
    assert db.session.scalar(select(PupilMessagingYear.year_group)) == 6
    assert "Ms Patel" in zosia.get("/messages/new").get_data(as_text=True)
    response = zosia.post(_new_url(world, staff=world["teacher"].id),
                          data={"body": "I finished my story!", "action": "send"})
    assert response.status_code == 302
    convo = db.session.scalar(select(Conversation))
    assert convo.kind == "pupil" and convo.parent_id is None
    # The teacher replies; Maja cannot see Zosia's conversation; switched off, the pupil cannot write.
    teacher = login_as(world["teacher"])
    assert teacher.post(f"/messages/{convo.id}", data={"body": "Well done!", "action": "send"}).status_code == 302
    assert login_as(world["maja"]).get(f"/messages/{convo.id}").status_code == 404
    head.post("/messages/settings", data={})
    response = zosia.post(f"/messages/{convo.id}", data={"body": "Hello again", "action": "send"})
    assert response.status_code == 422 and "closed" in response.get_data(as_text=True)


SETTINGS_ACCESS = [("head", 200), ("senior leader", 404), ("teacher", 404), ("zosia's parent", 404),
                   ("zosia", 404), ("anonymous", 302)]


@pytest.mark.parametrize("who,expected", SETTINGS_ACCESS)
def test_only_the_schools_managers_switch_pupil_messaging(world, client, login_as, who, expected):
    c = client_as(client, login_as, world["people"], who)
    assert outcome(c.get("/messages/settings")) == expected
    c.post("/messages/settings", data={"years": ["6"]})
    assert (db.session.scalar(select(func.count()).select_from(PupilMessagingYear)) == 1) is (expected == 200)


def test_the_unread_count_for_sixty_conversations_is_one_query(world):
    teacher = world["teacher"]
    now = utcnow()
    for i in range(60):
        pupil = make_pupil(world["klass"], name=f"Pupil {i}")
        parent_user = make_parent(world["school"], children=[pupil])
        messaging.send(parent_user, staff=teacher, pupil=pupil, parent=parent_user, body=f"Hello {i}", now=now)
    db.session.expire_all()
    teacher = db.session.get(type(teacher), teacher.id)
    counts = []
    assert count_queries(lambda: counts.append(messaging.unread_count(teacher))) == 1
    assert counts == [60]


def test_a_long_conversation_opens_on_the_latest_thirty_light_and_bounded(world, login_as):
    parent_user, teacher = world["people"]["zosia's parent"], world["teacher"]
    start = utcnow() - timedelta(days=30)

    def fill(n, offset=0):
        for i in range(n):
            sender = teacher if i % 2 else parent_user
            messaging.send(sender, staff=teacher, pupil=world["zosia"], parent=parent_user,
                           body=f"Message number {offset + i}: " + "about the week's reading. " * 3,
                           now=start + timedelta(minutes=offset + i))
    fill(50)
    convo_id = db.session.scalar(select(Conversation.id))
    client = login_as(parent_user)
    small = count_queries(lambda: client.get(f"/messages/{convo_id}"))
    fill(450, offset=50)
    response = client.get(f"/messages/{convo_id}")
    large = count_queries(lambda: client.get(f"/messages/{convo_id}"))
    page = response.get_data(as_text=True)
    assert page.count('class="msg ') == 30 and "Message number 499" in page and "Message number 469:" not in page
    assert "Earlier messages" in page
    assert len(gzip.compress(response.get_data(), 6)) <= 14 * 1024
    assert large == small
    last_id = db.session.scalar(select(func.max(Message.id)))
    earlier = client.get(f"/messages/{convo_id}?before={last_id - 29}", headers=htmx_headers())
    assert earlier.get_data(as_text=True).count('class="msg ') == 30


def test_the_navigation_shows_unread_conversations(world, login_as):
    _parent_writes(world, login_as)
    page = login_as(world["teacher"]).get("/classes/").get_data(as_text=True)
    assert 'id="nav-messages"' in page and "(1 unread)" in page


def test_a_double_tap_sends_one_message(world, login_as):
    parent = login_as(world["people"]["zosia's parent"])
    url = _new_url(world, pupil=world["zosia"].id, staff=world["teacher"].id)
    form = parent.get(url).get_data(as_text=True)
    key = re.search(r'name="request_key" value="([0-9a-f]{32})"', form).group(1)
    first = parent.post(url, data={"body": "Hello twice?", "action": "send", "request_key": key})
    again = parent.post(url, data={"body": "Hello twice?", "action": "send", "request_key": key})
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(Message)) == 1
    other = parent.post(url, data={"body": "Hello twice?", "action": "send", "request_key": "f" * 32})
    assert other.status_code == 302 and db.session.scalar(select(func.count()).select_from(Message)) == 2


def test_two_identical_concurrent_sends_make_one_row(world, app):
    """SECURITY.md 31: the same form sent twice at the same moment makes one message."""
    from app.models import Pupil, User
    ids = (world["people"]["zosia's parent"].id, world["teacher"].id, world["zosia"].id)
    db.session.commit()
    start, errors, results = threading.Barrier(2), [], []

    def tap():
        with app.app_context():
            try:
                start.wait(timeout=20)
                parent_user, teacher, pupil = (db.session.get(User, ids[0]), db.session.get(User, ids[1]),
                                               db.session.get(Pupil, ids[2]))
                results.append(messaging.send(parent_user, staff=teacher, pupil=pupil, parent=parent_user,
                                              body="Same tap", request_key="k" * 32).id)
            except Exception as error:  # reported below
                errors.append(error)

    threads = [threading.Thread(target=tap) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert db.session.scalar(select(func.count()).select_from(Message)) == 1
    assert len(set(results)) == 1


def test_a_broadcast_sent_twice_reaches_each_family_once(world, login_as):
    teacher = login_as(world["teacher"])
    data = {"body": "Trip letters are due on Friday.", "pupils": [str(world["zosia"].id), str(world["maja"].id)],
            "request_key": "b" * 32}
    assert teacher.post(f"/messages/broadcast/{world['klass'].id}", data=data).status_code == 302
    assert teacher.post(f"/messages/broadcast/{world['klass'].id}", data=data).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Message)) == 2
