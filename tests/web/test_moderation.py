"""Language the school does not allow (issue 8): the writer is told kindly before sending, a
confirmed comment or message is held for a teacher's review and seen by no one else meanwhile,
reviewers release or reject it, and the school edits its word lists."""
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEntry, BlockedWord, Comment, Conversation, Message, PortfolioItem
from app.services import messaging, moderation, stories
from tests.conftest import client_as, count_queries, htmx_headers, outcome
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

RUDE = "Tell that teacher she is a twat"


@pytest.fixture
def world(app):
    school = make_school()
    school.comments_open_to_class = True  # so that another family would see a comment, if shown
    klass = make_class(school, name="Oak", year_group=6)
    other = make_class(school, name="Ash", year_group=6)
    zosia = make_pupil(klass, name="Zosia K.")
    maja = make_pupil(klass, name="Maja P.")
    teacher = make_teacher(school, classes=[klass], name="Ms Patel")
    people = {
        "teacher": teacher,
        "other teacher": make_teacher(school, classes=[other]),
        "teacher who runs the school": make_teacher(school, can_manage_school=True),
        "senior leader": make_senior(school),
        "head": make_head(school),
        "parent A": make_parent(school, children=[zosia], name="Anna K."),
        "parent B": make_parent(school, children=[maja], name="Bea P."),
        "zosia": zosia,
        "other school's head": make_head(make_school()),
    }
    post = make_post(teacher, klass, body="Our trip to the museum")
    db.session.commit()
    return dict(school=school, klass=klass, zosia=zosia, teacher=teacher, post=post, people=people)


def _comment(client, world, body=RUDE):
    return client.post(f"/stories/posts/{world['post'].id}/comments", data={"body": body})


def _held_comment(world, author="parent A", body=RUDE):
    return stories.add_comment(world["post"], world["people"][author], body, send_held=True)


# ---- before sending --------------------------------------------------------------------------------

@pytest.mark.parametrize("htmx", [False, True])
def test_a_comment_with_listed_words_is_not_sent_and_the_writer_is_told_kindly(world, login_as, htmx):
    parent = login_as(world["people"]["parent A"])
    response = parent.post(f"/stories/posts/{world['post'].id}/comments", data={"body": RUDE},
                           headers=htmx_headers() if htmx else {})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert ("<html" in page) is not htmx  # the comments block alone for htmx
    assert "Please check your comment before it is sent" in page and "twat" in page
    assert "a teacher will read it before anyone else sees it" in page
    assert "Change my message" in page and 'name="held_ack" value="y"' in page
    assert f"{RUDE}</textarea>" in page  # the text stays in the box
    assert db.session.scalar(select(func.count()).select_from(Comment)) == 0


def test_a_clean_comment_is_added_at_once(world, login_as):
    parent = login_as(world["people"]["parent A"])
    assert parent.post(f"/stories/posts/{world['post'].id}/comments",
                       data={"body": "Classic! See you in Scunthorpe"}).status_code == 302
    comment = db.session.scalar(select(Comment))
    assert comment.held_at is None and comment.held_words is None


def test_confirmed_a_comment_is_held_and_only_its_writer_sees_it(world, login_as):
    parent = login_as(world["people"]["parent A"])
    response = parent.post(f"/stories/posts/{world['post'].id}/comments", data={"body": RUDE, "held_ack": "y"})
    assert response.status_code == 302
    comment = db.session.scalar(select(Comment))
    assert comment.held_at is not None and comment.held_words == "twat" and comment.held_decision is None
    mine = parent.get(f"/stories/posts/{world['post'].id}").get_data(as_text=True)
    assert RUDE in mine and "Waiting for a teacher to check this." in mine
    for who in ("parent B", "zosia", "teacher", "other teacher", "senior leader"):
        page = login_as(world["people"][who]).get(f"/stories/posts/{world['post'].id}").get_data(as_text=True)
        assert RUDE not in page, who
    people = world["people"]
    assert stories.post_card(world["post"], people["parent A"]).comments == 1
    assert stories.post_card(world["post"], people["parent B"]).comments == 0
    assert stories.post_card(world["post"], people["teacher"]).comments == 0
    # Nor through the translate endpoint, which reads a comment by its id.
    assert login_as(people["parent B"]).post(f"/translate/comment/{comment.id}", data={}).status_code == 404


def test_a_portfolio_comment_is_held_too_and_the_pupils_teacher_reviews_it(world, login_as):
    item = PortfolioItem(school_id=world["school"].id, pupil_id=world["zosia"].id, class_id=world["klass"].id,
                         added_by_id=world["teacher"].id, body="My Roman shield", status="approved")
    db.session.add(item)
    db.session.commit()
    parent = login_as(world["people"]["parent A"])
    warned = parent.post(f"/portfolio/items/{item.id}/comments", data={"body": "What a load of bollocks"})
    assert warned.status_code == 200 and "bollocks" in warned.get_data(as_text=True)
    assert parent.post(f"/portfolio/items/{item.id}/comments",
                       data={"body": "What a load of bollocks", "held_ack": "y"}).status_code == 302
    comment = db.session.scalar(select(Comment))
    assert comment.awaiting_review
    assert moderation.can_review(world["teacher"], comment)
    assert not moderation.can_review(world["people"]["other teacher"], comment)
    assert "bollocks" not in login_as(world["teacher"]).get(f"/portfolio/items/{item.id}").get_data(as_text=True)
    assert "bollocks" in login_as(world["teacher"]).get("/moderation/held").get_data(as_text=True)


# ---- messages ------------------------------------------------------------------------------------------

def _conversation(world):
    messaging.send(world["teacher"], staff=world["teacher"], pupil=world["zosia"],
                   parent=world["people"]["parent A"], body="Hello from Oak class")
    return db.session.scalar(select(Conversation))


@pytest.mark.parametrize("htmx", [False, True])
def test_a_message_with_listed_words_asks_first_and_keeps_the_text(world, login_as, htmx):
    convo = _conversation(world)
    parent = login_as(world["people"]["parent A"])
    response = parent.post(f"/messages/{convo.id}", data={"body": RUDE, "action": "send"},
                           headers=htmx_headers(**{"HX-Boosted": "true"}) if htmx else {})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Please check your message before it is sent" in page and "Send it for a teacher to check" in page
    assert f"{RUDE}</textarea>" in page
    assert db.session.scalar(select(func.count()).select_from(Message)) == 1


def test_a_held_message_is_invisible_to_the_other_side_until_released(world, login_as):
    convo = _conversation(world)
    people, teacher = world["people"], world["teacher"]
    marker = messaging.live_marker(convo, teacher)
    teacher_client = login_as(teacher)
    teacher_client.post(f"/messages/{convo.id}/read")
    parent = login_as(people["parent A"])
    sent = parent.post(f"/messages/{convo.id}", data={"body": RUDE, "action": "send", "held_ack": "y"})
    assert sent.status_code == 302
    message = db.session.scalar(select(Message).where(Message.held_at.is_not(None)))
    assert message.held_words == "twat"
    assert "Waiting for a teacher to check this." in parent.get(f"/messages/{convo.id}").get_data(as_text=True)

    assert messaging.unread_count(teacher) == 0
    assert RUDE not in teacher_client.get("/messages/").get_data(as_text=True)
    assert RUDE not in teacher_client.get(f"/messages/{convo.id}").get_data(as_text=True)
    assert teacher_client.get(f"/messages/{convo.id}/live?v={marker}&since=1",
                              headers=htmx_headers()).status_code == 204
    assert teacher_client.post(f"/translate/message/{message.id}", data={}).status_code == 404
    assert teacher_client.post(f"/messages/m/{message.id}/hide").status_code == 404

    created = message.created_at
    assert teacher_client.post(f"/moderation/held/message/{message.id}",
                               data={"decision": "released"}).status_code == 302
    db.session.expire_all()
    message = db.session.get(Message, message.id)
    assert message.held_decision == "released" and message.created_at == created
    assert messaging.unread_count(teacher) == 1
    assert RUDE in teacher_client.get(f"/messages/{convo.id}").get_data(as_text=True)
    assert "Waiting for a teacher" not in parent.get(f"/messages/{convo.id}").get_data(as_text=True)


def test_a_rejected_message_is_never_shown_and_its_writer_is_told(world, login_as):
    convo = _conversation(world)
    people = world["people"]
    messaging.reply(people["parent A"], convo, body=RUDE, send_held=True)
    message = db.session.scalar(select(Message).where(Message.held_at.is_not(None)))
    senior = login_as(people["senior leader"])
    assert senior.post(f"/moderation/held/message/{message.id}", data={"decision": "rejected"},
                       headers=htmx_headers()).status_code == 200
    assert messaging.unread_count(world["teacher"]) == 0
    assert RUDE not in login_as(world["teacher"]).get(f"/messages/{convo.id}").get_data(as_text=True)
    page = login_as(people["parent A"]).get(f"/messages/{convo.id}").get_data(as_text=True)
    assert RUDE in page and "A teacher decided not to share this." in page
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "moderation.rejected"))
    assert entry.target_id == message.id and entry.actor_user_id == people["senior leader"].id


def test_a_broadcast_is_held_once_for_every_family_and_released_together(world, login_as):
    people = world["people"]
    teacher = login_as(world["teacher"])
    maja_id = people["parent B"].children[0].id
    data = {"body": "No more shit excuses about homework", "pupils": [str(world["zosia"].id), str(maja_id)]}
    warned = teacher.post(f"/messages/broadcast/{world['klass'].id}", data=data)
    assert warned.status_code == 200 and "Send it for a teacher to check" in warned.get_data(as_text=True)
    assert warned.get_data(as_text=True).count(" checked>") == 2  # the ticks stay
    assert teacher.post(f"/messages/broadcast/{world['klass'].id}", data={**data, "held_ack": "y"}).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Message).where(Message.held_at.is_not(None))) == 2
    assert messaging.unread_count(people["parent A"]) == 0
    # Staff messages are reviewed by senior leaders only, and one entry stands for the copies.
    assert moderation.held_count(world["teacher"]) == 0
    assert moderation.held_count(people["senior leader"]) == 1
    queue = login_as(people["senior leader"]).get("/moderation/held").get_data(as_text=True)
    assert "Message to 2 families" in queue
    entry = moderation.held_queue(people["senior leader"])[0]
    login_as(people["senior leader"]).post(f"/moderation/held/message/{entry.obj.id}",
                                           data={"decision": "released"})
    assert messaging.unread_count(people["parent A"]) == 1 and messaging.unread_count(people["parent B"]) == 1


# ---- reviewers ---------------------------------------------------------------------------------------

COMMENT_REVIEWERS = [
    # who                               may release a parent's held comment on an Oak post?
    ("teacher", 302),
    ("senior leader", 302),
    ("head", 302),
    ("other teacher", 404),
    ("teacher who runs the school", 404),  # runs the school, does not teach Oak, not a senior leader
    ("parent A", 404),  # the writer
    ("parent B", 404),
    ("zosia", 404),
    ("other school's head", 404),
    ("anonymous", 302),  # sent to sign in
]


@pytest.mark.parametrize("who,expected", COMMENT_REVIEWERS)
def test_who_reviews_a_held_comment(world, client, login_as, who, expected):
    comment = _held_comment(world)
    c = client_as(client, login_as, world["people"], who)
    assert outcome(c.post(f"/moderation/held/comment/{comment.id}", data={"decision": "released"})) == expected
    db.session.expire_all()
    decided = db.session.get(Comment, comment.id).held_decision
    assert decided == ("released" if expected == 302 and who != "anonymous" else None)


MESSAGE_REVIEWERS = [
    # who                            from a parent   from the teacher
    ("teacher", 302, 404),  # the conversation's member of staff; never their own
    ("senior leader", 302, 302),
    ("head", 302, 302),
    ("other teacher", 404, 404),
    ("teacher who runs the school", 404, 404),
    ("parent A", 404, 404),
    ("parent B", 404, 404),
    ("zosia", 404, 404),
    ("other school's head", 404, 404),
]


@pytest.mark.parametrize("who,from_parent,from_teacher", MESSAGE_REVIEWERS)
def test_who_reviews_a_held_message(world, login_as, who, from_parent, from_teacher):
    convo = _conversation(world)
    people = world["people"]
    by_parent = messaging.reply(people["parent A"], convo, body=RUDE, send_held=True)
    by_teacher = messaging.reply(world["teacher"], convo, body="Stop being a twat", send_held=True)
    c = login_as(people[who])
    assert outcome(c.post(f"/moderation/held/message/{by_parent.id}", data={"decision": "rejected"})) == from_parent
    assert outcome(c.post(f"/moderation/held/message/{by_teacher.id}", data={"decision": "rejected"})) == from_teacher
    queue = c.get("/moderation/held")
    if queue.status_code == 200:
        page = queue.get_data(as_text=True)
        assert "Nothing to check." in page


def test_the_queue_shows_what_each_reviewer_may_review_escaped(world, login_as):
    people = world["people"]
    _held_comment(world, body="<b>twat</b> <script>alert(1)</script>")
    page = login_as(world["teacher"]).get("/moderation/held").get_data(as_text=True)
    assert "&lt;b&gt;twat&lt;/b&gt;" in page and "<script>alert(1)" not in page
    assert "Anna K." in page and "Oak" in page and "Words found" in page
    assert "Nothing to check." in login_as(people["other teacher"]).get("/moderation/held").get_data(as_text=True)
    assert outcome(login_as(people["parent B"]).get("/moderation/held")) == 404
    assert moderation.held_count(world["teacher"]) == 1
    assert moderation.nav_held(people["parent A"]) is None
    senior = db.session.get(type(people["senior leader"]), people["senior leader"].id)
    assert count_queries(lambda: moderation.held_count(senior)) == 1


def test_releasing_shows_a_comment_to_others_at_its_original_time_and_is_audited(world, login_as):
    comment = _held_comment(world)
    created = comment.created_at
    teacher = login_as(world["teacher"])
    assert teacher.post(f"/moderation/held/comment/{comment.id}", data={"decision": "released"},
                        headers=htmx_headers()).headers.get("HX-Trigger") == "heldChanged"
    page = login_as(world["people"]["parent B"]).get(f"/stories/posts/{world['post'].id}").get_data(as_text=True)
    assert RUDE in page
    db.session.expire_all()
    comment = db.session.get(Comment, comment.id)
    assert comment.created_at == created and comment.held_decided_by_id == world["teacher"].id
    assert db.session.scalar(select(AuditEntry.id).where(AuditEntry.action == "moderation.released",
                                                         AuditEntry.target_id == comment.id)) is not None
    again = teacher.post(f"/moderation/held/comment/{comment.id}", data={"decision": "rejected"})
    assert again.status_code == 302 and db.session.get(Comment, comment.id).held_decision == "released"


def test_rejecting_a_comment_keeps_it_from_others_and_tells_its_writer(world, login_as):
    comment = _held_comment(world)
    login_as(world["teacher"]).post(f"/moderation/held/comment/{comment.id}", data={"decision": "rejected"})
    assert RUDE not in login_as(world["people"]["parent B"]).get(
        f"/stories/posts/{world['post'].id}").get_data(as_text=True)
    mine = login_as(world["people"]["parent A"]).get(f"/stories/posts/{world['post'].id}").get_data(as_text=True)
    assert "A teacher decided not to share this." in mine


def test_a_bad_decision_is_refused(world, login_as):
    comment = _held_comment(world)
    teacher = login_as(world["teacher"])
    assert teacher.post(f"/moderation/held/comment/{comment.id}", data={"decision": "delete"}).status_code == 400
    assert teacher.post(f"/moderation/held/post/{comment.id}", data={"decision": "released"}).status_code == 404


# ---- the word lists -----------------------------------------------------------------------------------

WORDS_ACCESS = [
    ("head", 200),
    ("senior leader", 200),
    ("teacher who runs the school", 200),
    ("teacher", 404),
    ("other teacher", 404),
    ("parent A", 404),
    ("zosia", 404),
    ("anonymous", 302),
]


@pytest.mark.parametrize("who,expected", WORDS_ACCESS)
def test_who_edits_the_word_lists(world, client, login_as, who, expected):
    c = client_as(client, login_as, world["people"], who)
    assert outcome(c.get("/moderation/words")) == expected
    assert outcome(c.get("/moderation/words/en")) == expected
    assert outcome(c.post("/moderation/words/en", data={"words": "blast"})) == (302 if expected == 200 else expected)
    saved = set(db.session.scalars(select(BlockedWord.word).where(BlockedWord.school_id == world["school"].id)))
    assert saved == ({"", "blast"} if expected == 200 else set())


def test_the_english_list_is_the_default_until_saved_and_then_the_schools_own(world, login_as):
    head = login_as(world["people"]["head"])
    overview = head.get("/moderation/words").get_data(as_text=True)
    assert "Polski" in overview and "اردو" in overview and "suggested list" in overview
    assert "\narse\narsehole\n" in head.get("/moderation/words/en").get_data(as_text=True)  # the default
    assert db.session.scalar(select(func.count()).select_from(BlockedWord)) == 0  # nothing written by a GET

    assert head.post("/moderation/words/en", data={"words": "Bother\n\nbother\nBLAST it"}).status_code == 302
    assert moderation.word_lists(world["school"].id)["en"] == ["blast it", "bother"]
    parent = login_as(world["people"]["parent A"])
    assert "bother" in _comment(parent, world, body="Oh BOTHER").get_data(as_text=True)
    assert _comment(parent, world, body="You twat").status_code == 302  # no longer on the list
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "moderation.words_saved"))
    assert entry.actor_user_id == world["people"]["head"].id and '"language": "en"' in entry.detail_json

    assert head.post("/moderation/words/en", data={"words": ""}).status_code == 302  # empty is allowed
    assert moderation.word_lists(world["school"].id)["en"] == []
    assert not moderation.uses_default(world["school"].id)


def test_every_list_is_used_whatever_the_writers_language(world, login_as):
    head = login_as(world["people"]["head"])
    head.post("/moderation/words/pl", data={"words": "kurwa"})
    head.post("/moderation/words/ur", data={"words": "کتا"})
    parent = login_as(world["people"]["parent A"])
    assert "kurwa" in _comment(parent, world, body="Kurwa, the trip!").get_data(as_text=True)
    assert "کتا" in _comment(parent, world, body="تم کتا ہو").get_data(as_text=True)
    assert moderation.word_lists(world["school"].id)["en"]  # English still the default list


def test_a_long_line_gets_a_clear_message_and_the_list_typed_is_kept(world, login_as):
    head = login_as(world["people"]["head"])
    typed = "blast\n" + "x" * 81
    response = head.post("/moderation/words/en", data={"words": typed})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Line 2 has 81 characters" in page and "x" * 81 in page and 'aria-invalid="true"' in page
    assert db.session.scalar(select(func.count()).select_from(BlockedWord)) == 0
    assert head.get("/moderation/words/xx").status_code == 404


def test_lists_do_not_cross_schools(world, login_as):
    other_head = world["people"]["other school's head"]
    login_as(other_head).post("/moderation/words/en", data={"words": "museum"})
    assert moderation.find_in_school(world["school"].id, "the museum") == []
    assert moderation.find_in_school(other_head.school_id, "the museum") == ["museum"]
    comment = _held_comment(world)
    assert login_as(other_head).post(f"/moderation/held/comment/{comment.id}",
                                     data={"decision": "released"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).held_decision is None
