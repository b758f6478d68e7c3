"""Reports and the misuse process (issue 8 part 3): reporting what you can see, the senior leaders'
queue, hiding, warning, suspending (every session ends), ending, reinstating, pausing Hearth."""
from datetime import date, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from app.extensions import db
from app.models import AccountAction, AuditEntry, Comment, ContentReport, Conversation, Message, PortfolioItem
from app.models.base import utcnow
from app.services import safeguarding
from tests.conftest import client_as, outcome
from tests.factories import (
    PASSWORD,
    make_class,
    make_comment,
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
        "maja's parent": make_parent(school, children=[maja], name="Piotr P."),
        "sam's parent": make_parent(school, children=[sam]),
        "zosia": zosia,
        "sam": sam,
        "other school's head": make_head(make_school()),
    }
    post = make_post(teacher, klass, body="Sports day on Friday")
    comment = make_comment(people["maja's parent"], post, body="This is a rude comment")
    convo = Conversation(school_id=school.id, kind="parent", pair_key=f"parent:{teacher.id}:x:{maja.id}",
                         staff_id=teacher.id, parent_id=people["maja's parent"].id, pupil_id=maja.id)
    db.session.add(convo)
    db.session.flush()
    message = Message(school_id=school.id, conversation_id=convo.id, sender_user_id=people["maja's parent"].id,
                      from_staff=False, body="An unkind message")
    item = PortfolioItem(school_id=school.id, pupil_id=zosia.id, class_id=klass.id, by_pupil=True,
                         body="My volcano", status="approved")
    db.session.add_all([message, item])
    db.session.commit()
    return dict(school=school, klass=klass, post=post, comment=comment, message=message, item=item,
                people=people, teacher=teacher)


def _url(kind, target):
    return f"/safeguarding/report/{kind}/{target.id}"


def _report(world, reporter="zosia's parent", kind="comment", target=None, reason=""):
    target = target or world[kind if kind != "portfolio_item" else "item"]
    item, _created = safeguarding.report(world["people"][reporter], kind, target, reason)
    return item


def _audited(action):
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


# ---- reporting -------------------------------------------------------------------------------------

REPORT_ACCESS = [
    # (who, what, expected on GET of the report form)
    ("anonymous", "post", 302),
    ("zosia's parent", "post", 200),
    ("sam's parent", "post", 404),            # another class's story
    ("zosia", "post", 200),                   # pupils report too
    ("sam", "post", 404),
    ("teacher", "post", 404),                 # their own post
    ("other school's head", "post", 404),
    ("zosia's parent", "comment", 404),       # comments are seen by staff and the writer's family only
    ("teacher", "comment", 200),
    ("senior leader", "comment", 200),
    ("maja's parent", "comment", 404),        # their own comment
    ("sam's parent", "comment", 404),
    ("other school's head", "comment", 404),
    ("zosia's parent", "portfolio_item", 200),
    ("maja's parent", "portfolio_item", 404),  # another family's child
    ("teacher", "portfolio_item", 200),
    ("zosia", "portfolio_item", 404),          # her own work
    ("other school's head", "portfolio_item", 404),
    ("teacher", "message", 200),               # a participant
    ("maja's parent", "message", 404),         # the sender
    ("senior leader", "message", 404),         # not in the conversation
    ("zosia's parent", "message", 404),
    ("other school's head", "message", 404),
]


@pytest.mark.parametrize("who,kind,expected", REPORT_ACCESS)
def test_who_may_report_what(world, client, login_as, who, kind, expected):
    c = client_as(client, login_as, world["people"], who)
    target = world["item" if kind == "portfolio_item" else kind]
    assert outcome(c.get(_url(kind, target))) == expected
    response = c.post(_url(kind, target), data={"reason": "x"})
    assert outcome(response) == (302 if expected in (200, 302) else 404)
    reports = db.session.scalar(select(func.count()).select_from(ContentReport))
    assert reports == (1 if expected == 200 else 0)


def test_unknown_kinds_and_missing_things_are_404(world, login_as):
    parent = login_as(world["people"]["zosia's parent"])
    assert parent.get(f"/safeguarding/report/user/{world['teacher'].id}").status_code == 404
    assert parent.get("/safeguarding/report/post/999999").status_code == 404


def test_a_report_with_no_reason_is_taken_and_thanked_and_a_second_is_not_made(world, login_as):
    parent = login_as(world["people"]["zosia's parent"])
    response = parent.post(_url("post", world["post"]), data={"reason": ""}, follow_redirects=True)
    assert "Thank you. A senior leader will look at this." in response.get_data(as_text=True)
    parent.post(_url("post", world["post"]), data={"reason": "again"})
    reports = list(db.session.scalars(select(ContentReport)))
    assert [(r.target_type, r.reason, r.status) for r in reports] == [("post", "", "open")]
    assert _audited("report.created") == 1


def test_a_pupil_reports_a_message_from_a_teacher(world, login_as):
    zosia = world["people"]["zosia"]
    convo = Conversation(school_id=world["school"].id, kind="pupil", pair_key=f"pupil:{world['teacher'].id}:{zosia.id}",
                         staff_id=world["teacher"].id, pupil_id=zosia.id)
    db.session.add(convo)
    db.session.flush()
    message = Message(school_id=world["school"].id, conversation_id=convo.id, sender_user_id=world["teacher"].id,
                      from_staff=True, body="Hello Zosia")
    db.session.add(message)
    db.session.commit()
    pupil = login_as(zosia)
    page = pupil.get(f"/messages/{convo.id}").get_data(as_text=True)
    assert _url("message", message) in page
    assert pupil.post(_url("message", message), data={"reason": ""}).status_code == 302
    report = db.session.scalar(select(ContentReport))
    assert (report.reporter_pupil_id, report.reporter_user_id) == (zosia.id, None)


def test_the_message_route_uses_the_same_mechanism(world, login_as):
    teacher = login_as(world["teacher"])
    teacher.post(f"/messages/m/{world['message'].id}/report", data={"reason": "Rude"})
    teacher.post(_url("message", world["message"]), data={"reason": "Rude again"})
    assert db.session.scalar(select(func.count()).select_from(ContentReport)) == 1
    assert _audited("report.created") == 1


def test_report_links_are_shown_to_readers_not_authors(world, login_as):
    teacher_page = login_as(world["teacher"]).get(f"/stories/posts/{world['post'].id}").get_data(as_text=True)
    assert _url("comment", world["comment"]) in teacher_page
    assert _url("post", world["post"]) not in teacher_page  # her own post
    parent_page = login_as(world["people"]["zosia's parent"]).get(f"/stories/posts/{world['post'].id}")
    assert _url("post", world["post"]) in parent_page.get_data(as_text=True)


# ---- the queue -------------------------------------------------------------------------------------

QUEUE_ACCESS = [
    ("anonymous", 302), ("zosia's parent", 404), ("zosia", 404), ("teacher", 404),
    ("senior leader", 200), ("head", 200), ("other school's head", 200),
]


@pytest.mark.parametrize("who,expected", QUEUE_ACCESS)
def test_only_senior_leaders_work_the_queue(world, client, login_as, who, expected):
    item = _report(world, reporter="teacher", reason="<b>unkind</b>")
    c = client_as(client, login_as, world["people"], who)
    response = c.get("/safeguarding/")
    assert outcome(response) == expected
    page = response.get_data(as_text=True)
    if who in ("senior leader", "head"):
        assert "This is a rude comment" in page and "&lt;b&gt;unkind&lt;/b&gt;" in page and "1 open report" in page
        assert "Piotr P." in page and "Ms Patel" in page
    if who == "other school's head":
        assert "rude comment" not in page  # their own school's queue, empty
    detail = c.get(f"/safeguarding/reports/{item.id}")
    assert outcome(detail) == (404 if expected == 200 and who == "other school's head" else expected)


def test_dismiss_with_a_note(world, login_as):
    item = _report(world, reporter="teacher")
    senior = login_as(world["people"]["senior leader"])
    senior.post(f"/safeguarding/reports/{item.id}/dismiss", data={"note": "Talked to them"})
    db.session.refresh(item)
    assert (item.status, item.outcome_note, item.resolved_by_id) == (
        "dismissed", "Talked to them", world["people"]["senior leader"].id)
    assert "rude comment" not in senior.get("/safeguarding/").get_data(as_text=True)
    assert _audited("report.dismissed") == 1


def test_hiding_a_comment_takes_it_from_families(world, login_as):
    item = _report(world, reporter="teacher")
    maja_family = login_as(world["people"]["maja's parent"])
    login_as(world["people"]["senior leader"]).post(f"/safeguarding/reports/{item.id}/hide", data={"note": ""})
    comment = db.session.get(Comment, world["comment"].id)
    assert comment.hidden_at is not None and comment.hidden_by_id == world["people"]["senior leader"].id
    assert db.session.get(ContentReport, item.id).status == "actioned"
    db.session.commit()
    world["school"].comments_open_to_class = True
    db.session.commit()
    parent_page = login_as(world["people"]["zosia's parent"]).get(f"/stories/posts/{world['post'].id}")
    assert "rude comment" not in parent_page.get_data(as_text=True)
    assert maja_family.get(f"/stories/posts/{world['post'].id}").status_code == 200
    assert _audited("content.removed") == 1


def test_a_removed_message_is_not_shown_to_the_other_side(world, login_as):
    item = _report(world, reporter="teacher", kind="message")
    login_as(world["people"]["senior leader"]).post(f"/safeguarding/reports/{item.id}/hide", data={})
    message = db.session.get(Message, world["message"].id)
    assert message.removed_at is not None
    # Hidden from every reader but the record (the moderation part applies Message.shown_to_others()).
    page = login_as(world["teacher"]).get(f"/messages/{message.conversation_id}").get_data(as_text=True)
    assert "An unkind message" not in page
    reply = Message(school_id=world["school"].id, conversation_id=message.conversation_id,
                    sender_user_id=world["teacher"].id, from_staff=True, body="A sharp reply")
    db.session.add(reply)
    db.session.commit()
    parent = login_as(world["people"]["maja's parent"])
    assert "A sharp reply" in parent.get(f"/messages/{message.conversation_id}").get_data(as_text=True)
    parent.post(_url("message", reply), data={"reason": ""})
    login_as(world["people"]["senior leader"]).post(
        f"/safeguarding/reports/{db.session.scalar(select(func.max(ContentReport.id)))}/hide", data={})
    assert "A sharp reply" not in parent.get(f"/messages/{message.conversation_id}").get_data(as_text=True)


def test_a_removed_post_and_item_are_gone_for_families_and_marked_for_staff(world, login_as):
    post_report = _report(world, kind="post", target=world["post"])
    item_report = _report(world, reporter="teacher", kind="portfolio_item")
    senior = login_as(world["people"]["senior leader"])
    senior.post(f"/safeguarding/reports/{post_report.id}/hide", data={})
    senior.post(f"/safeguarding/reports/{item_report.id}/hide", data={})
    parent = login_as(world["people"]["zosia's parent"])
    assert "Sports day" not in parent.get("/stories/").get_data(as_text=True)
    assert parent.get(f"/stories/posts/{world['post'].id}").status_code == 404
    assert parent.get(f"/portfolio/items/{world['item'].id}").status_code == 404
    assert "My volcano" not in parent.get(f"/portfolio/pupils/{world['people']['zosia'].id}").get_data(as_text=True)
    staff_page = login_as(world["teacher"]).get(f"/stories/posts/{world['post'].id}").get_data(as_text=True)
    assert "Sports day" in staff_page and "Removed after a report" in staff_page


def test_a_pupils_work_offers_only_hide_and_dismiss(world, login_as):
    item = _report(world, reporter="teacher", kind="portfolio_item")
    page = login_as(world["people"]["senior leader"]).get(f"/safeguarding/reports/{item.id}").get_data(as_text=True)
    assert "the class teacher talks to the child" in page
    assert "Hide the content" in page and "Dismiss the report" in page and "Suspend" not in page


# ---- steps on accounts -----------------------------------------------------------------------------

ACT_ON = [
    # (actor, subject, allowed)
    ("senior leader", "maja's parent", True),
    ("senior leader", "teacher", False),   # only the head acts on staff
    ("senior leader", "head", False),
    ("senior leader", "senior leader", False),  # not on themselves
    ("head", "teacher", True),
    ("head", "senior leader", True),
    ("head", "maja's parent", True),
    ("head", "head", False),
    ("teacher", "maja's parent", False),
    ("zosia's parent", "maja's parent", False),
    ("other school's head", "maja's parent", False),
]


@pytest.mark.parametrize("actor,subject,allowed", ACT_ON)
def test_who_may_act_on_whom(world, login_as, actor, subject, allowed):
    people = world["people"]
    assert safeguarding.may_act_on(people[actor], people[subject]) is allowed
    c = login_as(people[actor])
    response = c.post(f"/safeguarding/accounts/{people[subject].id}/warn", data={"reason": "Please be kind"})
    assert response.status_code == (302 if allowed else 404)
    warned = db.session.scalar(select(func.count()).select_from(AccountAction))
    assert warned == (1 if allowed else 0)


def test_a_warning_must_be_read_at_the_next_sign_in_before_anything_else(world, app, login_as):
    parent = world["people"]["maja's parent"]
    signed_in = login_as(parent)
    assert signed_in.get("/stories/").status_code == 200
    login_as(world["people"]["senior leader"]).post(f"/safeguarding/accounts/{parent.id}/warn",
                                                    data={"reason": "Your comment was unkind"})
    # Giving the warning ends the parent's sessions: their next visit is a sign-in.
    assert signed_in.get("/stories/").status_code == 302
    browser = app.test_client()
    response = browser.post("/auth/login", data={"email": parent.email, "password": PASSWORD})
    assert response.status_code == 302
    response = browser.get("/stories/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/safeguarding/warning")
    assert browser.get("/messages/").headers["Location"].endswith("/safeguarding/warning")
    page = browser.get("/safeguarding/warning").get_data(as_text=True)
    assert "Your comment was unkind" in page and "I have read this" in page
    assert browser.post("/safeguarding/warning").status_code == 302
    assert browser.get("/stories/").status_code == 200
    action = db.session.scalar(select(AccountAction))
    assert action.acknowledged_at is not None
    assert _audited("account.warned") == 1 and _audited("account.warning_read") == 1
    # Read once: the next sign-in goes straight in.
    again = app.test_client()
    again.post("/auth/login", data={"email": parent.email, "password": PASSWORD})
    assert again.get("/stories/").status_code == 200


def test_a_warning_needs_a_reason(world, login_as):
    parent = world["people"]["maja's parent"]
    item = _report(world, reporter="teacher")
    page = login_as(world["people"]["senior leader"]).post(
        f"/safeguarding/accounts/{parent.id}/warn", data={"reason": " ", "report_id": item.id})
    assert page.status_code == 200 and "Write the reason" in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(AccountAction)) == 0


def test_suspension_signs_out_every_browser_and_says_until_when(world, login_as, app):
    parent = world["people"]["maja's parent"]
    phone, laptop = login_as(parent), login_as(parent)
    assert phone.get("/stories/").status_code == 200 and laptop.get("/stories/").status_code == 200
    until = date.today() + timedelta(days=7)
    response = login_as(world["people"]["senior leader"]).post(
        f"/safeguarding/accounts/{parent.id}/suspend",
        data={"suspend-reason": "Abusive comments", "suspend-until": until.isoformat()})
    assert response.status_code == 302
    for browser in (phone, laptop):
        assert outcome(browser.get("/stories/")) == 302
    user = db.session.get(type(parent), parent.id)
    assert (user.status, user.status_reason) == ("suspended", "Abusive comments")
    login = app.test_client().post("/auth/login", data={"email": user.email, "password": PASSWORD})
    text = login.get_data(as_text=True)
    assert "suspended until" in text and str(until.day) in text and "Abusive comments" in text
    assert _audited("account.suspended") == 1


def test_a_suspension_with_no_end_date_says_it_is_an_ending(world, login_as):
    parent = world["people"]["maja's parent"]
    response = login_as(world["people"]["senior leader"]).post(
        f"/safeguarding/accounts/{parent.id}/suspend", data={"suspend-reason": "Abusive", "suspend-until": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "With no end date it is an ending" in page
    assert "End the account" in page and 'value="Abusive"' in page  # what they typed is kept
    assert db.session.get(type(parent), parent.id).status == "active"


def test_an_expired_suspension_no_longer_blocks(world, login_as):
    parent = world["people"]["maja's parent"]
    senior = world["people"]["senior leader"]
    safeguarding.suspend(senior, parent, "Abusive", date.today() + timedelta(days=2))
    assert not parent.is_active
    with time_machine.travel(utcnow() + timedelta(days=4), tick=False):
        assert parent.is_active
        assert login_as(parent).get("/stories/").status_code == 200


def test_ending_an_account_asks_first_then_signs_out(world, login_as):
    parent = world["people"]["maja's parent"]
    signed_in = login_as(parent)
    senior = login_as(world["people"]["senior leader"])
    first = senior.post(f"/safeguarding/accounts/{parent.id}/end", data={"reason": "Threats to staff"})
    assert first.status_code == 200 and "Yes, end the account" in first.get_data(as_text=True)
    assert db.session.get(type(parent), parent.id).status == "active"
    senior.post(f"/safeguarding/accounts/{parent.id}/end", data={"reason": "Threats to staff", "confirm": "yes"})
    assert db.session.get(type(parent), parent.id).status == "ended"
    assert outcome(signed_in.get("/stories/")) == 302
    assert _audited("account.ended") == 1
    senior.post(f"/safeguarding/accounts/{parent.id}/reinstate", data={"reason": "Apologised"})
    assert db.session.get(type(parent), parent.id).status == "active"
    assert [a.kind for a in safeguarding.history(parent)] == ["reinstate", "end"]
    assert _audited("account.reinstated") == 1


def test_the_account_page_shows_status_and_history(world, client, login_as):
    parent = world["people"]["maja's parent"]
    safeguarding.warn(world["people"]["head"], parent, "Be kind")
    for who, expected in [("anonymous", 302), ("teacher", 404), ("zosia's parent", 404),
                          ("other school's head", 404), ("senior leader", 200)]:
        response = client_as(client, login_as, world["people"], who).get(f"/safeguarding/accounts/{parent.id}")
        assert outcome(response) == expected
    page = login_as(world["people"]["senior leader"]).get(f"/safeguarding/accounts/{parent.id}").get_data(as_text=True)
    assert "Warned" in page and "Be kind" in page and "not read yet" in page


# ---- pausing ---------------------------------------------------------------------------------------

def test_the_head_pauses_hearth_for_families_and_pupils(world, client, login_as):
    people = world["people"]
    for who in ("senior leader", "teacher", "zosia's parent"):
        assert outcome(login_as(people[who]).post("/safeguarding/pause", data={"message": "x"})) == 404
    head = login_as(people["head"])
    empty = head.post("/safeguarding/pause", data={"message": ""})
    assert "Write the message" in empty.get_data(as_text=True)
    head.post("/safeguarding/pause", data={"message": "Hearth is closed while we look into a problem."})
    assert world["school"].paused_at is not None
    for who in ("zosia's parent", "zosia"):
        page = login_as(people[who]).get("/stories/")
        text = page.get_data(as_text=True)
        assert "closed while we look into a problem" in text and "01234 567890" in text
        assert "Sports day" not in text
    assert "Sports day" in login_as(people["teacher"]).get("/stories/").get_data(as_text=True)
    signing_in = client.post("/auth/login", data={"email": people["zosia's parent"].email, "password": PASSWORD})
    assert "closed while we look" in signing_in.get_data(as_text=True)
    assert client.get("/stories/").status_code == 302  # not signed in
    head.post("/safeguarding/unpause", data={})
    assert "Sports day" in login_as(people["zosia's parent"]).get("/stories/").get_data(as_text=True)
    assert (_audited("school.paused"), _audited("school.unpaused")) == (1, 1)


def test_the_demo_adds_one_open_report_on_a_comment(world):
    from app.demo_safeguarding import seed_safeguarding
    report = seed_safeguarding(world["school"])
    assert (report.target_type, report.target_id, report.status) == ("comment", world["comment"].id, "open")
    assert seed_safeguarding(world["school"]) is None  # a second run adds nothing
    assert [v.report.id for v in safeguarding.open_reports(world["school"].id)] == [report.id]
