"""Monitoring by senior leaders (issue 8, SECURITY.md 12 and 29): read-only looks at any class, each
one audited; private conversations opened only with a recorded reason, for 30 minutes, attachments
included; nobody else reaches any of it."""
import re
import time

import pytest
import time_machine
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditEntry,
    Comment,
    Conversation,
    Like,
    MediaFile,
    Message,
    PointAward,
    PortfolioItem,
    PostSeen,
)
from app.models.base import utcnow
from app.services import points as points_service
from tests.conftest import client_as, htmx_headers, outcome, without_secrets
from tests.factories import (
    make_class,
    make_head,
    make_parent,
    make_post,
    make_pupil,
    make_school,
    make_senior,
    make_teacher,
    photo_upload,
)

REASON = "Concern raised by the class teacher about this family"


@pytest.fixture
def world(app, login_as):
    school = make_school()
    klass = make_class(school, name="Oak", year_group=6)
    other = make_class(school, name="Ash", year_group=6)
    zosia = make_pupil(klass, name="Zosia K.")
    sam = make_pupil(other, name="Sam T.")
    teacher = make_teacher(school, classes=[klass], name="Ms Patel")
    elsewhere = make_school()
    elsewhere_class = make_class(elsewhere, name="Elm")
    people = {
        "teacher of class": teacher,
        "other teacher": make_teacher(school, classes=[other]),
        "senior leader": make_senior(school, name="Mr Okafor"),
        "another senior leader": make_senior(school),
        "senior who teaches the class": make_senior(school, classes=[klass]),
        "head": make_head(school),
        "zosia's parent": make_parent(school, children=[zosia], name="Anna K."),
        "sam's parent": make_parent(school, children=[sam]),
        "zosia": zosia,
        "other school's senior": make_senior(elsewhere),
        "other school's head": make_head(elsewhere),
    }
    # A real conversation through the app: the parent writes with a photo, the teacher answers.
    parent = login_as(people["zosia's parent"])
    sent = parent.post(f"/messages/new?pupil={zosia.id}&staff={teacher.id}",
                       data={"body": "Zosia was upset after football today", "action": "send",
                             "files": [photo_upload()]}, content_type="multipart/form-data")
    assert sent.status_code == 302
    convo = db.session.scalar(select(Conversation))
    assert login_as(teacher).post(f"/messages/{convo.id}", data={"body": "Thank you, I will talk to her",
                                                                  "action": "send"}).status_code == 302
    media = db.session.scalar(select(MediaFile).where(MediaFile.message_id.is_not(None)))
    return dict(school=school, klass=klass, other=other, zosia=zosia, sam=sam, teacher=teacher, people=people,
                convo=db.session.get(Conversation, convo.id), media=media, elsewhere_class=elsewhere_class)


def audited(action, **where):
    stmt = select(func.count(AuditEntry.id)).where(AuditEntry.action == action)
    for column, value in where.items():
        stmt = stmt.where(getattr(AuditEntry, column) == value)
    return db.session.scalar(stmt)


def looks(target_id=None):
    stmt = select(AuditEntry).where(AuditEntry.action == "monitoring.viewed").order_by(AuditEntry.id)
    if target_id is not None:
        stmt = stmt.where(AuditEntry.target_id == target_id)
    return [(e.actor_user_id, e.target_type, e.target_id, e.detail["what"]) for e in db.session.scalars(stmt)]


def open_with_reason(client, convo, reason=REASON):
    return client.post(f"/monitoring/conversations/{convo.id}/open", data={"reason": reason})


def urls(world):
    k, z, c = world["klass"].id, world["zosia"].id, world["convo"].id
    return [
        "/monitoring/",
        f"/monitoring/classes/{k}/story",
        f"/monitoring/classes/{k}/points",
        f"/monitoring/classes/{k}/student-story",
        "/monitoring/conversations?q=Zos",
        f"/monitoring/conversations?class={k}",
        f"/monitoring/pupils/{z}/conversations",
        f"/monitoring/conversations/{c}/open",
        f"/monitoring/conversations/{c}",
    ]


# ---- who may monitor --------------------------------------------------------------------------------

ACCESS = [
    # who, what every monitoring page answers (the conversation itself: 302 to its reason form)
    ("senior leader", 200),
    ("head", 200),
    ("teacher of class", 404),
    ("other teacher", 404),
    ("zosia's parent", 404),
    ("sam's parent", 404),
    ("zosia", 404),
    ("other school's senior", 404),  # their own school's overview, 404 for every id of this one
    ("other school's head", 404),
    ("anonymous", 302),
]
PARTICIPANTS = {"teacher of class", "zosia's parent"}


@pytest.mark.parametrize("who,status", ACCESS)
def test_who_may_use_the_monitoring_pages(world, client, login_as, who, status):
    viewer = client_as(client, login_as, world["people"], who)
    for url in urls(world):
        expected = status
        if status == 200 and url.endswith(f"/conversations/{world['convo'].id}"):
            expected = 302
        if who.startswith("other school's") and url in ("/monitoring/", "/monitoring/conversations?q=Zos"):
            expected = 200  # their own school's overview and search, which finds nobody of this one
        response = viewer.get(url)
        assert outcome(response) == expected, (who, url)
        assert expected != 200 or who not in ("other school's senior", "other school's head") or (
            "Zosia" not in response.get_data(as_text=True) and "Oak" not in response.get_data(as_text=True))
    # Opening a conversation with a good reason: only the school's senior leaders.
    response = open_with_reason(viewer, world["convo"])
    assert outcome(response) == (404 if status == 404 else 302), who
    if status == 404:
        assert audited("monitoring.conversation") == 0
        if who not in PARTICIPANTS:
            assert outcome(viewer.get(f"/media/{world['media'].id}/thumb")) == 404


def test_another_schools_ids_are_missing_for_a_senior_leader(world, login_as):
    senior = login_as(world["people"]["other school's senior"])
    before = audited("access.refused")
    for url in urls(world)[1:]:
        if "?" not in url:
            assert senior.get(url).status_code == 404, url
    assert audited("access.refused") > before  # refusals are recorded
    own = login_as(world["people"]["senior leader"])
    assert own.get(f"/monitoring/classes/{world['elsewhere_class'].id}/story").status_code == 404
    assert own.get(f"/monitoring/conversations?class={world['elsewhere_class'].id}").status_code == 404
    assert looks() == []


# ---- looking at a class, read-only, each look audited -----------------------------------------------

def test_the_overview_lists_every_class_with_its_pages(world, login_as):
    page = login_as(world["people"]["senior leader"]).get("/monitoring/").get_data(as_text=True)
    for klass in (world["klass"], world["other"]):
        for path in ("story", "points", "student-story"):
            assert f'href="/monitoring/classes/{klass.id}/{path}"' in page
    assert f'href="/monitoring/conversations?class={world["klass"].id}"' in page
    assert 'action="/monitoring/conversations" method="get"' in page
    assert looks() == []  # the overview shows no class's content


def test_each_look_is_written_to_the_audit_log(world, login_as):
    senior = world["people"]["senior leader"]
    client = login_as(senior)
    k = world["klass"].id
    for path in ("story", "points", "student-story", "story"):
        assert client.get(f"/monitoring/classes/{k}/{path}").status_code == 200
    assert looks() == [(senior.id, "school_class", k, "story"), (senior.id, "school_class", k, "points"),
                       (senior.id, "school_class", k, "student-story"), (senior.id, "school_class", k, "story")]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "monitoring.viewed"))
    assert entry.school_id == world["school"].id


def test_older_posts_loading_are_the_same_look(world, login_as):
    for n in range(25):
        make_post(world["teacher"], world["klass"], body=f"Oak news {n}")
    client = login_as(world["people"]["senior leader"])
    first = client.get(f"/monitoring/classes/{world['klass'].id}/story").get_data(as_text=True)
    cursor = re.search(r'\?before=([^"&]+)"', first).group(1)
    more = client.get(f"/monitoring/classes/{world['klass'].id}/story?before={cursor}", headers=htmx_headers())
    assert more.status_code == 200 and "<html" not in more.get_data(as_text=True)
    assert "Oak news" in more.get_data(as_text=True) and "Oak news 24" not in more.get_data(as_text=True)
    assert len(looks()) == 1


def test_the_class_story_is_shown_without_any_control(world, login_as):
    post = make_post(world["teacher"], world["klass"], body="Our trip to the museum")
    make_post(world["teacher"], world["other"], body="Ash class news")
    page = login_as(world["people"]["senior leader"]).get(
        f"/monitoring/classes/{world['klass'].id}/story").get_data(as_text=True)
    assert "Our trip to the museum" in page and "Ash class news" not in page
    assert "0 likes" in page and "0 comments" in page
    for control in (f"/stories/posts/{post.id}/like", f"/stories/posts/{post.id}/edit",
                    f"/stories/posts/{post.id}#comments", "/stories/new", 'name="body"'):
        assert control not in page, control


def test_points_show_totals_and_recent_awards_without_the_award_screen(world, login_as):
    teacher = world["teacher"]
    category = points_service.categories(world["school"])[0]
    points_service.award_points(teacher, [world["zosia"]], category, "key-1")
    page = login_as(world["people"]["senior leader"]).get(
        f"/monitoring/classes/{world['klass'].id}/points").get_data(as_text=True)
    assert "Zosia K." in page and category.name in page and "Ms Patel" in page
    assert "1 point" in page
    assert f"/points/class/{world['klass'].id}/award" not in page and 'name="pupil"' not in page


def test_the_student_story_is_shown_without_any_control(world, login_as):
    zosia = world["zosia"]
    item = PortfolioItem(school_id=zosia.school_id, pupil_id=zosia.id, class_id=zosia.class_id, by_pupil=True,
                         body="My Roman shield", status="approved", share_requested=True, shared_at=utcnow())
    db.session.add(item)
    db.session.commit()
    page = login_as(world["people"]["senior leader"]).get(
        f"/monitoring/classes/{world['klass'].id}/student-story").get_data(as_text=True)
    assert "My Roman shield" in page and "0 likes" in page
    for control in (f"/portfolio/items/{item.id}/like", f'href="/portfolio/items/{item.id}"',
                    "/portfolio/class/", 'name="body"'):
        assert control not in page, control


def test_looking_writes_nothing_but_the_audit_entries(world, login_as):
    make_post(world["teacher"], world["klass"], body="Our trip")

    def counts():
        return [db.session.scalar(select(func.count()).select_from(model))
                for model in (Like, Comment, PostSeen, PointAward, PortfolioItem, Message)]
    before = counts()
    client = login_as(world["people"]["senior leader"])
    for url in urls(world)[:7]:
        assert client.get(url).status_code == 200, url
    assert counts() == before


# ---- the normal class pages, opened by a senior leader who does not teach the class -----------------

def normal_pages(klass):
    return {"story": f"/stories/class/{klass.id}", "points": f"/points/class/{klass.id}",
            "student-story": f"/portfolio/class/{klass.id}", "class": f"/classes/{klass.id}"}


def test_a_senior_leader_opening_a_class_page_they_do_not_teach_is_audited(world, login_as):
    senior = world["people"]["senior leader"]
    client = login_as(senior)
    for url in normal_pages(world["klass"]).values():
        assert client.get(url).status_code == 200, url
    assert looks() == [(senior.id, "school_class", world["klass"].id, what)
                       for what in ("story", "points", "student-story", "class")]
    # The points grid refreshing itself (htmx) is the same look.
    client.get(normal_pages(world["klass"])["points"], headers=htmx_headers())
    assert len(looks()) == 4


@pytest.mark.parametrize("who", ["teacher of class", "senior who teaches the class"])
def test_those_who_teach_the_class_are_not_monitoring(world, login_as, who):
    client = login_as(world["people"][who])
    for url in normal_pages(world["klass"]).values():
        assert client.get(url).status_code == 200, url
    assert looks() == []
    if who == "senior who teaches the class":  # the monitoring pages record every look
        assert client.get(f"/monitoring/classes/{world['klass'].id}/points").status_code == 200
        assert len(looks()) == 1


# ---- finding a pupil's conversations ------------------------------------------------------------------

def test_a_pupil_is_found_by_name_or_by_class(world, login_as):
    client = login_as(world["people"]["senior leader"])
    found = client.get("/monitoring/conversations?q=zos").get_data(as_text=True)
    assert f'href="/monitoring/pupils/{world["zosia"].id}/conversations"' in found and "Sam T." not in found
    assert "No pupil with that name" in client.get("/monitoring/conversations?q=Nobody").get_data(as_text=True)
    by_class = client.get(f"/monitoring/conversations?class={world['other'].id}").get_data(as_text=True)
    assert "Sam T." in by_class and "Zosia K." not in by_class


def test_a_search_for_a_wildcard_finds_nobody(world, login_as):
    page = login_as(world["people"]["senior leader"]).get("/monitoring/conversations?q=%25").get_data(as_text=True)
    assert "Zosia K." not in page and "No pupil with that name" in page


def test_the_list_of_conversations_shows_who_how_many_and_when_but_no_content(world, login_as):
    senior = world["people"]["senior leader"]
    page = login_as(senior).get(f"/monitoring/pupils/{world['zosia'].id}/conversations").get_data(as_text=True)
    assert "Ms Patel" in page and "Anna K." in page
    assert re.search(r'<td class="num">2</td>', page)
    assert "upset" not in page and "talk to her" not in page
    assert f'href="/monitoring/conversations/{world["convo"].id}/open"' in page
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "monitoring.viewed"))
    assert (entry.actor_user_id, entry.target_type, entry.target_id, entry.detail) == (
        senior.id, "pupil", world["zosia"].id, {"what": "conversations"})


# ---- opening a conversation with a reason ----------------------------------------------------------------

@pytest.mark.parametrize("reason,message", [
    ("", "Write why you need to read this conversation"),
    ("   ", "Write why you need to read this conversation"),
    ("Concern", "at least 3 words"),
    ("x " * 600, "under 1,000 characters"),
])
def test_a_reason_is_required(world, login_as, reason, message):
    client = login_as(world["people"]["senior leader"])
    response = open_with_reason(client, world["convo"], reason)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and message in page
    assert 'name="reason"' in page and 'aria-invalid="true"' in page
    if reason.strip():
        assert reason.strip()[:20] in page  # what was typed is kept
    assert audited("monitoring.conversation") == 0
    assert client.get(f"/monitoring/conversations/{world['convo'].id}").status_code == 302
    assert client.get(f"/media/{world['media'].id}/thumb").status_code == 404


def test_the_reason_is_recorded_as_written(world, login_as):
    senior = world["people"]["senior leader"]
    reason = 'Parent complaint <script>alert(1)</script> & "quotes"'
    assert open_with_reason(login_as(senior), world["convo"], reason).status_code == 302
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "monitoring.conversation"))
    assert (entry.actor_user_id, entry.target_type, entry.target_id, entry.school_id) == (
        senior.id, "conversation", world["convo"].id, world["school"].id)
    assert entry.detail["reason"] == reason  # data, not markup: the log's pages escape it when shown
    assert "<script>" not in login_as(senior).get(f"/monitoring/pupils/{world['zosia'].id}/conversations").text


def test_the_grant_shows_the_conversation_read_only_and_its_attachment(world, login_as):
    convo = world["convo"]
    markers = (convo.staff_read_id, convo.staff_read_at, convo.other_read_id, convo.other_read_at)
    client = login_as(world["people"]["senior leader"])
    response = open_with_reason(client, convo)
    assert response.headers["Location"].endswith(f"/monitoring/conversations/{convo.id}")
    page = client.get(f"/monitoring/conversations/{convo.id}").get_data(as_text=True)
    assert "Zosia was upset after football today" in page and "talk to her" in page
    assert f'/media/{world["media"].id}/thumb' in page
    for control in ('name="body"', "/report", "data-poll", f"/messages/{convo.id}/read", "Hide (sent by mistake)"):
        assert control not in page, control
    assert client.get(f"/media/{world['media'].id}/thumb").status_code == 200
    assert client.get(f"/media/{world['media'].id}/large").status_code == 200
    # Reading marks nothing as read, on either side.
    db.session.expire_all()
    convo = db.session.get(Conversation, convo.id)
    assert (convo.staff_read_id, convo.staff_read_at, convo.other_read_id, convo.other_read_at) == markers
    # With the grant, the reason form goes straight to the conversation; the participants' own
    # conversation page stays theirs alone.
    assert client.get(f"/monitoring/conversations/{convo.id}/open").status_code == 302
    assert client.get(f"/messages/{convo.id}").status_code == 404
    assert audited("monitoring.conversation") == 1


def test_earlier_messages_load_within_the_grant(world, login_as):
    convo, teacher = world["convo"], world["teacher"]
    from app.services import messaging
    for n in range(messaging.PAGE + 2):
        messaging.reply(teacher, convo, body=f"Note {n}")
    client = login_as(world["people"]["senior leader"])
    open_with_reason(client, convo)
    page = client.get(f"/monitoring/conversations/{convo.id}").get_data(as_text=True)
    assert "Zosia was upset" not in page
    before = re.search(r'before=(\d+)', page).group(1)
    earlier = client.get(f"/monitoring/conversations/{convo.id}?before={before}", headers=htmx_headers())
    assert earlier.status_code == 200 and "Zosia was upset" in earlier.get_data(as_text=True)
    assert "<html" not in earlier.get_data(as_text=True)


def test_the_grant_ends_after_30_minutes(world, login_as):
    convo, media = world["convo"], world["media"]
    with time_machine.travel(time.time(), tick=False) as traveller:
        client = login_as(world["people"]["senior leader"])
        open_with_reason(client, convo)
        traveller.shift(29 * 60)
        assert client.get(f"/monitoring/conversations/{convo.id}").status_code == 200
        assert client.get(f"/media/{media.id}/thumb").status_code == 200
        traveller.shift(2 * 60)
        response = client.get(f"/monitoring/conversations/{convo.id}")
        assert response.status_code == 302 and response.headers["Location"].endswith("/open")
        assert client.get(f"/media/{media.id}/thumb").status_code == 404
        assert "Why do you need to read" in client.get(f"/monitoring/conversations/{convo.id}/open").text
        # A new reason, a new entry, a new half hour.
        open_with_reason(client, convo, "Second look after the meeting with the family")
        assert client.get(f"/monitoring/conversations/{convo.id}").status_code == 200
    assert audited("monitoring.conversation") == 2


def test_the_grant_is_for_one_senior_leader_and_one_conversation(world, login_as):
    convo, media = world["convo"], world["media"]
    client = login_as(world["people"]["senior leader"])
    open_with_reason(client, convo)
    other = login_as(world["people"]["another senior leader"])
    assert other.get(f"/monitoring/conversations/{convo.id}").status_code == 302
    assert other.get(f"/media/{media.id}/thumb").status_code == 404
    # The same browser, another senior leader signed in: the grant is not theirs.
    with client.session_transaction() as sess:
        sess["_user_id"] = world["people"]["another senior leader"].get_id()
    assert client.get(f"/monitoring/conversations/{convo.id}").status_code == 302
    assert client.get(f"/media/{media.id}/thumb").status_code == 404
    # Another conversation of the same pupil is not opened by this one's reason.
    from app.services import messaging
    second = messaging.send(world["teacher"], staff=world["teacher"], pupil=world["zosia"],
                            parent=world["people"]["zosia's parent"], body="x")
    assert second.conversation_id == convo.id  # the same pair: one conversation
    senior_other = messaging.send(world["people"]["head"], staff=world["people"]["head"], pupil=world["zosia"],
                                  parent=world["people"]["zosia's parent"], body="A word from the head")
    assert login_as(world["people"]["senior leader"]).get(
        f"/monitoring/conversations/{senior_other.conversation_id}").status_code == 302


def test_the_participants_page_is_unchanged_by_monitoring(world, login_as):
    convo = world["convo"]
    teacher, parent = login_as(world["teacher"]), login_as(world["people"]["zosia's parent"])
    before = [without_secrets(c.get(f"/messages/{convo.id}").get_data(as_text=True)) for c in (teacher, parent)]
    open_with_reason(login_as(world["people"]["senior leader"]), convo)
    after = [without_secrets(c.get(f"/messages/{convo.id}").get_data(as_text=True)) for c in (teacher, parent)]
    assert after == before
    assert all("monitor" not in page.lower() for page in after)


def test_the_read_only_pages_cost_the_same_queries_whatever_the_data(world, login_as):
    from tests.conftest import count_page_queries
    client = login_as(world["people"]["senior leader"])
    k = world["klass"].id
    pages = [f"/monitoring/classes/{k}/story", f"/monitoring/classes/{k}/points",
             f"/monitoring/pupils/{world['zosia'].id}/conversations", f"/monitoring/conversations?class={k}"]
    category = points_service.categories(world["school"])[0]
    points_service.award_points(world["teacher"], [world["zosia"]], category, "first")
    make_post(world["teacher"], world["klass"], body="First news")
    small = [count_page_queries(client, url)[0] for url in pages]
    pupils = [make_pupil(world["klass"]) for _ in range(4)]
    for n in range(3):
        points_service.award_points(world["teacher"], pupils + [world["zosia"]], category, f"more-{n}")
        make_post(world["teacher"], world["klass"], body=f"More news {n}")
    from app.services import messaging
    head = world["people"]["head"]
    messaging.send(head, staff=head, pupil=world["zosia"], parent=world["people"]["zosia's parent"], body="Hello")
    assert [count_page_queries(client, url)[0] for url in pages] == small


def test_a_message_translates_for_the_grant_holder_only(world, login_as):
    message = db.session.scalar(select(Message).order_by(Message.id))
    client = login_as(world["people"]["senior leader"])
    url = f"/translate/message/{message.id}"
    assert client.post(url, data={"style": "message"}, headers=htmx_headers()).status_code == 404
    open_with_reason(client, world["convo"])
    answer = client.post(url, data={"style": "message"}, headers=htmx_headers())
    assert answer.status_code == 200 and "Zosia was upset" in answer.get_data(as_text=True)
    assert login_as(world["people"]["another senior leader"]).post(
        url, data={"style": "message"}, headers=htmx_headers()).status_code == 404


def test_an_attachment_of_a_message_removed_after_a_report_stays_closed(world, login_as):
    client = login_as(world["people"]["senior leader"])
    open_with_reason(client, world["convo"])
    message = db.session.get(Message, world["media"].message_id)
    message.removed_at = utcnow()
    db.session.commit()
    assert client.get(f"/media/{world['media'].id}/thumb").status_code == 404
    assert "Zosia was upset" not in client.get(f"/monitoring/conversations/{world['convo'].id}").text


def test_the_other_side_cannot_open_the_attachment_of_a_held_or_removed_message(world, login_as):
    teacher, parent = login_as(world["teacher"]), login_as(world["people"]["zosia's parent"])
    url = f"/media/{world['media'].id}/thumb"
    assert teacher.get(url).status_code == 200
    message = db.session.get(Message, world["media"].message_id)
    message.held_at, message.held_words = utcnow(), "words"
    db.session.commit()
    assert teacher.get(url).status_code == 404  # held: not delivered yet
    assert parent.get(url).status_code == 200  # its sender still sees what they sent
    message.held_decision = "released"
    db.session.commit()
    assert teacher.get(url).status_code == 200
    message.removed_at = utcnow()
    db.session.commit()
    assert teacher.get(url).status_code == 404
