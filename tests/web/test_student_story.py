"""The Student Story: pupils add their work (photos or writing), teachers approve it, send it back
with a kind note or share it with the class; who sees each piece in each state; the class settings;
comments kept to the teacher and the child's family; bounded queries on a page of 30 items."""
import gzip
import re
from datetime import timedelta
from io import BytesIO

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from app.extensions import db
from app.models import AuditEntry, Comment, Like, MediaFile, PortfolioItem
from app.models.base import utcnow
from app.services.media import store_upload
from tests.conftest import client_as, count_page_queries, htmx_headers, outcome, sign_in
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


@pytest.fixture
def world(app):
    school = make_school()
    klass = make_class(school, name="Oak", year_group=3)
    other = make_class(school, name="Ash")
    zosia = make_pupil(klass, name="Zosia K.")
    maja = make_pupil(klass, name="Maja P.")
    sam = make_pupil(other, name="Sam T.")
    teacher = make_teacher(school, classes=[klass], name="Ms Oak")
    people = {
        "teacher": teacher,
        "other teacher": make_teacher(school, classes=[other]),
        "teacher who runs the school": make_teacher(school, can_manage_school=True),
        "senior leader": make_senior(school),
        "head": make_head(school),
        "zosia": zosia,
        "maja": maja,
        "sam": sam,
        "zosia's parent": make_parent(school, children=[zosia]),
        "maja's parent": make_parent(school, children=[maja]),
        "sam's parent": make_parent(school, children=[sam]),
        "other school's head": make_head(make_school()),
    }
    return dict(school=school, klass=klass, other=other, zosia=zosia, maja=maja, sam=sam, teacher=teacher,
                people=people)


def pupil_item(world, who="zosia", status="pending", share=False, shared=False, photos=1, body="My Roman shield",
               created_at=None):
    """A piece of a pupil's own work, with photos the pupil uploaded, straight into the database."""
    pupil = world["people"][who]
    item = PortfolioItem(school_id=pupil.school_id, pupil_id=pupil.id, class_id=pupil.class_id, by_pupil=True,
                         body=body, status=status, share_requested=share or shared,
                         shared_at=utcnow() if shared else None, created_at=created_at or utcnow())
    db.session.add(item)
    db.session.flush()
    for position in range(photos):
        media = store_upload(photo_upload(), school_id=pupil.school_id, uploaded_by_pupil=pupil, allow=("image",))
        media.portfolio_item_id, media.position = item.id, position
    db.session.commit()
    return item


def svg_file(name="star.png"):
    return FileStorage(BytesIO(b'<svg xmlns="http://www.w3.org/2000/svg"></svg>'), filename=name)


def audited(action):
    return db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == action))


# ---- who sees a piece of work in each state --------------------------------------------------------

STATES = [  # (status, share requested, shared)
    ("pending", True, False),
    ("approved", True, False),
    ("sent_back", True, False),
    ("approved", True, True),
]
# the item page and its photo, in each state: (pending, approved, sent back, shared)
ACCESS = [
    ("anonymous", (302, 302, 302, 302)),
    ("teacher", (200, 200, 200, 200)),
    ("other teacher", (404, 404, 404, 404)),
    ("teacher who runs the school", (200, 200, 200, 200)),
    ("senior leader", (200, 200, 200, 200)),
    ("head", (200, 200, 200, 200)),
    ("zosia", (200, 200, 200, 200)),
    ("maja", (404, 404, 404, 200)),
    ("sam", (404, 404, 404, 404)),
    ("zosia's parent", (404, 200, 404, 200)),
    ("maja's parent", (404, 404, 404, 404)),
    ("sam's parent", (404, 404, 404, 404)),
    ("other school's head", (404, 404, 404, 404)),
]


@pytest.mark.parametrize("who, expected", ACCESS)
def test_who_sees_a_pupils_work_and_its_photos_in_each_state(world, client, login_as, who, expected):
    items = [pupil_item(world, status=s, share=r, shared=sh) for s, r, sh in STATES]
    media = {i.id: db.session.scalar(select(MediaFile).where(MediaFile.portfolio_item_id == i.id)) for i in items}
    viewer = client_as(client, login_as, world["people"], who)
    for item, status in zip(items, expected, strict=True):
        where = (who, item.status, item.shared)
        assert outcome(viewer.get(f"/portfolio/items/{item.id}")) == status, where
        for variant in ("thumb", "feed", "large"):
            assert outcome(viewer.get(f"/media/{media[item.id].id}/{variant}")) == status, (where, variant)


# the class's Student Story page: 200 with only the shared piece listed, else 404 (302 anonymous)
CLASS_STORY = [
    ("anonymous", 302), ("teacher", 200), ("other teacher", 404), ("teacher who runs the school", 200),
    ("senior leader", 200), ("head", 200), ("zosia", 200), ("maja", 200), ("sam", 404),
    ("zosia's parent", 404), ("maja's parent", 404), ("sam's parent", 404), ("other school's head", 404),
]


@pytest.mark.parametrize("who, expected", CLASS_STORY)
def test_the_student_story_is_for_the_class_and_staff_and_not_their_families(world, client, login_as, who, expected):
    for n, (status, share, shared) in enumerate(STATES):
        pupil_item(world, status=status, share=share, shared=shared, photos=0, body=f"piece {n}")
    response = client_as(client, login_as, world["people"], who).get(f"/portfolio/class/{world['klass'].id}")
    assert outcome(response) == expected
    if expected == 200:
        page = response.get_data(as_text=True)
        assert "piece 3" in page
        assert "piece 0" not in page and "piece 1" not in page and "piece 2" not in page


def test_a_pupil_story_lists_each_state_in_words_a_child_understands(world, login_as):
    teacher = world["teacher"]
    waiting = pupil_item(world, body="waiting piece", photos=0)
    liked = pupil_item(world, status="approved", body="liked piece", photos=0)
    back = pupil_item(world, status="sent_back", body="sent back piece", photos=0)
    back.review_note = "Could you add your name?"
    db.session.add(Like(user_id=teacher.id, portfolio_item_id=liked.id))
    db.session.commit()
    page = login_as(world["zosia"]).get(f"/portfolio/pupils/{world['zosia'].id}").get_data(as_text=True)
    assert "Waiting for the teacher" in page and "Your teacher liked it" in page
    assert "Sent back" in page and "Your teacher says:" in page and "Could you add your name?" in page
    parent_page = login_as(world["people"]["zosia's parent"]).get(
        f"/portfolio/pupils/{world['zosia'].id}").get_data(as_text=True)
    assert "liked piece" in parent_page
    assert "waiting piece" not in parent_page and "sent back piece" not in parent_page
    assert "Could you add your name?" not in parent_page
    assert waiting.id and back.id


# ---- a pupil adds their work --------------------------------------------------------------------

def test_a_pupil_sends_photos_with_javascript_off_and_it_waits_for_the_teacher(world, login_as):
    zosia = login_as(world["zosia"])
    page = zosia.get("/portfolio/new").get_data(as_text=True)
    assert 'capture="environment"' in page and 'accept="image/*"' in page and "Show my class" in page
    response = zosia.post("/portfolio/new", data={
        "mode": "photo", "body": "My volcano", "share": "y", "action": "send",
        "files": [photo_upload("volcano.jpg"), photo_upload("volcano2.jpg")]}, content_type="multipart/form-data")
    assert response.status_code == 302
    item = db.session.scalar(select(PortfolioItem))
    assert (item.status, item.by_pupil, item.share_requested, item.shared_at) == ("pending", True, True, None)
    assert item.body == "My volcano" and item.added_by_id is None
    media = list(db.session.scalars(select(MediaFile).where(MediaFile.portfolio_item_id == item.id)))
    assert len(media) == 2 and all(m.uploaded_by_pupil_id == world["zosia"].id for m in media)
    assert audited("portfolio.item_submitted") == 1
    # nobody but staff and the pupil sees it before approval
    assert login_as(world["people"]["zosia's parent"]).get(f"/portfolio/items/{item.id}").status_code == 404
    assert login_as(world["maja"]).get(f"/media/{media[0].id}/thumb").status_code == 404
    assert login_as(world["teacher"]).get(f"/media/{media[0].id}/thumb").status_code == 200


def test_a_refused_photo_says_why_and_keeps_the_caption_and_the_good_photo(world, login_as):
    zosia = login_as(world["zosia"])
    response = zosia.post("/portfolio/new", data={
        "mode": "photo", "body": "Keep my words", "action": "send", "files": [svg_file(), photo_upload()]},
        content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Keep my words" in page and "star.png" in page and "SVG" in page
    assert db.session.scalar(select(func.count()).select_from(PortfolioItem)) == 0
    staged = db.session.scalar(select(MediaFile))
    assert staged is not None and staged.staged and f'name="media" value="{staged.id}"' in page
    sent = zosia.post("/portfolio/new", data={"mode": "photo", "body": "Keep my words", "action": "send",
                                              "media": str(staged.id)})
    assert sent.status_code == 302
    db.session.refresh(staged)
    assert staged.portfolio_item_id == db.session.scalar(select(PortfolioItem.id))


def test_photos_upload_one_at_a_time_and_come_back_as_a_preview(world, login_as):
    zosia = login_as(world["zosia"])
    response = zosia.post("/portfolio/uploads", data={"file": photo_upload()}, headers=htmx_headers(),
                          content_type="multipart/form-data")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    media = db.session.scalar(select(MediaFile))
    assert f'name="media" value="{media.id}"' in page and f"/media/{media.id}/thumb" in page and "Remove" in page
    assert media.uploaded_by_pupil_id == world["zosia"].id and media.staged
    assert zosia.get(f"/media/{media.id}/thumb").status_code == 200
    assert login_as(world["maja"]).get(f"/media/{media.id}/thumb").status_code == 404
    refused = zosia.post("/portfolio/uploads", data={"file": svg_file()}, content_type="multipart/form-data")
    assert refused.status_code == 422 and "SVG" in refused.get_data(as_text=True)
    pdf = zosia.post("/portfolio/uploads", data={"file": FileStorage(BytesIO(b"%PDF-1.4\n%%EOF\n"), filename="a.pdf")},
                     content_type="multipart/form-data")
    assert pdf.status_code == 422
    # a classmate cannot use Zosia's upload; the teacher's own uploader is not this one
    login_as(world["maja"]).post("/portfolio/new", data={"mode": "photo", "body": "mine", "action": "send",
                                                         "media": str(media.id)})
    assert db.session.get(MediaFile, media.id).staged
    assert login_as(world["teacher"]).post("/portfolio/uploads", data={"file": photo_upload()},
                                           content_type="multipart/form-data").status_code == 404
    sent = zosia.post("/portfolio/new", data={"mode": "photo", "action": "send", "media": str(media.id)})
    assert sent.status_code == 302
    assert db.session.get(MediaFile, media.id).portfolio_item_id is not None


def test_a_pupil_removes_a_photo_before_sending(world, login_as):
    zosia = login_as(world["zosia"])
    zosia.post("/portfolio/uploads", data={"file": photo_upload()}, content_type="multipart/form-data")
    media_id = db.session.scalar(select(MediaFile.id))
    page = zosia.post("/portfolio/new", data={"mode": "photo", "body": "Still here", "media": str(media_id),
                                              "remove": str(media_id)})
    assert page.status_code == 200 and "Still here" in page.get_data(as_text=True)
    assert db.session.get(MediaFile, media_id) is None


def test_writing_something_needs_words(world, login_as):
    zosia = login_as(world["zosia"])
    assert "My writing" in zosia.get("/portfolio/new?mode=write").get_data(as_text=True)
    empty = zosia.post("/portfolio/new", data={"mode": "write", "body": "   ", "action": "send"})
    assert empty.status_code == 422 and "Take a photo or write something first." in empty.get_data(as_text=True)
    sent = zosia.post("/portfolio/new", data={"mode": "write", "body": "Once upon a time", "action": "send"})
    assert sent.status_code == 302
    item = db.session.scalar(select(PortfolioItem))
    assert item.body == "Once upon a time" and item.status == "pending" and not item.share_requested


def test_home_learning_is_chosen_among_the_classs_recent_tasks(world, login_as):
    teacher = world["teacher"]
    task = make_post(teacher, world["klass"], kind="home_learning", body="Build a bridge from paper")
    old = make_post(teacher, world["klass"], kind="home_learning", body="An old task",
                    published_at=utcnow() - timedelta(weeks=7))
    news = make_post(teacher, world["klass"], kind="news", body="Sports day news")
    elsewhere = make_post(world["people"]["other teacher"], world["other"], kind="home_learning", body="Ash task")
    zosia = login_as(world["zosia"])
    page = zosia.get("/portfolio/new").get_data(as_text=True)
    assert "Build a bridge from paper" in page
    assert "An old task" not in page and "Sports day news" not in page and "Ash task" not in page
    for wrong in (old, news, elsewhere):
        refused = zosia.post("/portfolio/new", data={"mode": "write", "body": "My bridge", "action": "send",
                                                     "home_learning": str(wrong.id)})
        assert refused.status_code == 422 and "My bridge" in refused.get_data(as_text=True)
    assert zosia.post("/portfolio/new", data={"mode": "write", "body": "My bridge", "action": "send",
                                              "home_learning": str(task.id)}).status_code == 302
    assert db.session.scalar(select(PortfolioItem.home_learning_post_id)) == task.id


def test_with_uploads_switched_off_there_is_no_prompt_and_no_way_in(world, login_as):
    zosia = login_as(world["zosia"])
    assert "Add my work" in zosia.get("/classroom/me").get_data(as_text=True)
    assert "Add my work" in zosia.get(f"/portfolio/pupils/{world['zosia'].id}").get_data(as_text=True)
    world["klass"].pupil_uploads_enabled = False
    db.session.commit()
    assert "/portfolio/new" not in zosia.get("/classroom/me").get_data(as_text=True)
    assert "/portfolio/new" not in zosia.get(f"/portfolio/pupils/{world['zosia'].id}").get_data(as_text=True)
    assert zosia.get("/portfolio/new").status_code == 404
    assert zosia.post("/portfolio/new", data={"mode": "write", "body": "x", "action": "send"}).status_code == 404
    assert zosia.post("/portfolio/uploads", data={"file": photo_upload()},
                      content_type="multipart/form-data").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(MediaFile)) == 0
    assert db.session.scalar(select(func.count()).select_from(PortfolioItem)) == 0


def test_auto_approve_shows_the_family_at_once_but_sharing_waits_for_a_teacher(world, login_as):
    world["klass"].auto_approve_portfolio = True
    db.session.commit()
    zosia = login_as(world["zosia"])
    assert "Add it to my story" in zosia.get("/portfolio/new").get_data(as_text=True)
    assert zosia.post("/portfolio/new", data={"mode": "write", "body": "My poem", "share": "y",
                                              "action": "send"}).status_code == 302
    item = db.session.scalar(select(PortfolioItem))
    assert item.status == "approved" and item.share_requested and item.shared_at is None
    parent = login_as(world["people"]["zosia's parent"])
    assert "My poem" in parent.get(f"/portfolio/pupils/{world['zosia'].id}").get_data(as_text=True)
    maja = login_as(world["maja"])
    assert "My poem" not in maja.get(f"/portfolio/class/{world['klass'].id}").get_data(as_text=True)
    queue = login_as(world["teacher"]).get("/portfolio/queue").get_data(as_text=True)
    assert "My poem" in queue and "Share with the class" in queue
    login_as(world["teacher"]).post(f"/portfolio/items/{item.id}/sharing", data={"share": "yes"})
    assert "My poem" in maja.get(f"/portfolio/class/{world['klass'].id}").get_data(as_text=True)


# ---- the teacher's queue ----------------------------------------------------------------------------

def test_the_queue_holds_the_teachers_classes_and_senior_leaders_see_all(world, login_as):
    pupil_item(world, body="Zosia's work")
    pupil_item(world, who="sam", body="Sam's work")
    teacher_page = login_as(world["teacher"]).get("/portfolio/queue").get_data(as_text=True)
    assert "Zosia&#39;s work" in teacher_page and "Sam&#39;s work" not in teacher_page
    other_page = login_as(world["people"]["other teacher"]).get("/portfolio/queue").get_data(as_text=True)
    assert "Sam&#39;s work" in other_page and "Zosia&#39;s work" not in other_page
    senior_page = login_as(world["people"]["senior leader"]).get("/portfolio/queue").get_data(as_text=True)
    assert "Zosia&#39;s work" in senior_page and "Sam&#39;s work" in senior_page
    assert "/thumb" in teacher_page and "Zosia K." in teacher_page
    for who in ("zosia", "zosia's parent"):
        assert login_as(world["people"][who]).get("/portfolio/queue").status_code == 404
    filtered = login_as(world["teacher"]).get(f"/portfolio/queue?class={world['other'].id}")
    assert filtered.status_code == 404


def test_approve_and_the_family_sees_it(world, login_as):
    item = pupil_item(world)
    teacher = login_as(world["teacher"])
    response = teacher.post(f"/portfolio/items/{item.id}/approve", data={"next": "/portfolio/queue"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/portfolio/queue")
    db.session.refresh(item)
    assert item.status == "approved" and item.reviewed_by_id == world["teacher"].id and item.shared_at is None
    assert audited("portfolio.item_approved") == 1
    assert login_as(world["people"]["zosia's parent"]).get(f"/portfolio/items/{item.id}").status_code == 200
    assert login_as(world["maja"]).get(f"/portfolio/items/{item.id}").status_code == 404


def test_approve_and_share_or_keep_private_when_the_pupil_asked_to_share(world, login_as):
    shared = pupil_item(world, share=True, body="share me")
    private = pupil_item(world, share=True, body="keep me")
    teacher = login_as(world["teacher"])
    page = teacher.get("/portfolio/queue").get_data(as_text=True)
    assert "Approve and share with the class" in page and "Approve, keep it private" in page
    teacher.post(f"/portfolio/items/{shared.id}/approve", data={"share": "yes"})
    teacher.post(f"/portfolio/items/{private.id}/approve", data={"share": "no"})
    db.session.refresh(shared)
    db.session.refresh(private)
    assert shared.shared and shared.status == "approved"
    assert private.status == "approved" and not private.share_requested and private.shared_at is None
    story = login_as(world["maja"]).get(f"/portfolio/class/{world['klass'].id}").get_data(as_text=True)
    assert "share me" in story and "keep me" not in story
    assert login_as(world["maja"]).get(f"/portfolio/items/{shared.id}").status_code == 200
    assert login_as(world["people"]["maja's parent"]).get(f"/portfolio/items/{shared.id}").status_code == 404


def test_sharing_decided_after_approval(world, login_as):
    yes = pupil_item(world, status="approved", share=True, body="yes please")
    no = pupil_item(world, status="approved", share=True, body="not this one")
    teacher = login_as(world["teacher"])
    page = teacher.get("/portfolio/queue").get_data(as_text=True)
    assert "yes please" in page and "not this one" in page and "Keep it private" in page
    assert teacher.post(f"/portfolio/items/{yes.id}/sharing", data={"share": "yes"}).status_code == 302
    assert teacher.post(f"/portfolio/items/{no.id}/sharing", data={"share": "no"}).status_code == 302
    db.session.refresh(yes)
    db.session.refresh(no)
    assert yes.shared and not no.share_requested and no.approved
    assert "yes please" not in teacher.get("/portfolio/queue").get_data(as_text=True)
    assert audited("portfolio.item_shared") == 1 and audited("portfolio.item_kept_private") == 1
    assert teacher.post(f"/portfolio/items/{no.id}/sharing", data={"share": "maybe"}).status_code == 400


def test_send_back_needs_a_kind_note_and_the_pupil_reads_it(world, login_as):
    item = pupil_item(world, status="pending")
    teacher = login_as(world["teacher"])
    empty = teacher.post(f"/portfolio/items/{item.id}/send-back", data={"note": "  ", "on": "queue"})
    assert empty.status_code == 422 and "Write a kind note" in empty.get_data(as_text=True)
    db.session.refresh(item)
    assert item.status == "pending"
    from_item_page = teacher.post(f"/portfolio/items/{item.id}/send-back", data={"note": "", "on": "item"})
    assert from_item_page.status_code == 422 and "Your decision" in from_item_page.get_data(as_text=True)
    assert teacher.post(f"/portfolio/items/{item.id}/send-back",
                        data={"note": "Lovely! Can you add labels?"}).status_code == 302
    db.session.refresh(item)
    assert item.status == "sent_back" and item.review_note == "Lovely! Can you add labels?"
    assert audited("portfolio.item_sent_back") == 1
    page = login_as(world["zosia"]).get(f"/portfolio/pupils/{world['zosia'].id}").get_data(as_text=True)
    assert "Lovely! Can you add labels?" in page
    assert login_as(world["people"]["zosia's parent"]).get(f"/portfolio/items/{item.id}").status_code == 404


def test_send_back_with_one_tap_on_a_suggestion(world, login_as):
    item = pupil_item(world)
    teacher = login_as(world["teacher"])
    assert "It is a bit hard to see" in teacher.get("/portfolio/queue").get_data(as_text=True)
    teacher.post(f"/portfolio/items/{item.id}/send-back", data={"note": "", "suggestion": "photo"})
    db.session.refresh(item)
    assert item.status == "sent_back" and "take the photo again" in item.review_note


def test_approve_several_at_once(world, login_as):
    items = [pupil_item(world, photos=0, body=f"bulk {n}") for n in range(3)]
    teacher = login_as(world["teacher"])
    response = teacher.post("/portfolio/queue/approve", data={"item": [str(items[0].id), str(items[2].id)]})
    assert response.status_code == 302
    for item in items:
        db.session.refresh(item)
    assert [i.status for i in items] == ["approved", "pending", "approved"]
    assert audited("portfolio.item_approved") == 2
    assert teacher.post("/portfolio/queue/approve", data={}).status_code == 302


@pytest.mark.parametrize("who, allowed", [
    ("teacher", True), ("senior leader", True), ("head", True),
    ("other teacher", False), ("teacher who runs the school", False), ("zosia", False), ("maja", False),
    ("zosia's parent", False), ("other school's head", False),
])
def test_who_may_approve_send_back_and_share(world, login_as, who, allowed):
    item = pupil_item(world, share=True, photos=0)
    shared_later = pupil_item(world, status="approved", share=True, photos=0)
    client = login_as(world["people"][who])
    expected = 302 if allowed else 404
    assert client.post(f"/portfolio/items/{shared_later.id}/sharing", data={"share": "yes"}).status_code == expected
    if not allowed:
        assert client.post(f"/portfolio/items/{item.id}/send-back", data={"note": "x"}).status_code == 404
    assert client.post(f"/portfolio/items/{item.id}/approve", data={"share": "yes"}).status_code == expected
    db.session.refresh(item)
    db.session.refresh(shared_later)
    assert (item.status, item.shared) == (("approved", True) if allowed else ("pending", False))
    assert shared_later.shared == allowed


def test_approving_another_classs_work_is_refused_and_changes_nothing(world, login_as):
    mine = pupil_item(world, photos=0)
    theirs = pupil_item(world, who="sam", photos=0)
    teacher = login_as(world["teacher"])
    assert teacher.post(f"/portfolio/items/{theirs.id}/approve").status_code == 404
    response = teacher.post("/portfolio/queue/approve", data={"item": [str(mine.id), str(theirs.id)]})
    assert response.status_code == 404
    db.session.refresh(mine)
    db.session.refresh(theirs)
    assert mine.status == "pending" and theirs.status == "pending"
    assert audited("portfolio.item_approved") == 0
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "access.refused")) >= 2


def test_a_teachers_own_additions_are_not_reviewed(world, login_as):
    login_as(world["teacher"]).post(f"/portfolio/pupils/{world['zosia'].id}/items", data={"body": "From school"})
    item = db.session.scalar(select(PortfolioItem))
    assert login_as(world["teacher"]).post(f"/portfolio/items/{item.id}/send-back",
                                           data={"note": "x"}).status_code == 404


def test_the_class_page_shows_how_much_work_waits(world, login_as):
    pupil_item(world, photos=0)
    pupil_item(world, photos=0, status="approved", share=True)
    pupil_item(world, photos=0, status="approved")
    pupil_item(world, who="sam", photos=0)
    page = login_as(world["teacher"]).get(f"/classes/{world['klass'].id}").get_data(as_text=True)
    assert "Student work (2)" in page and f"/portfolio/queue?class={world['klass'].id}" in page
    assert f"/portfolio/class/{world['klass'].id}" in page
    manager = login_as(world["people"]["teacher who runs the school"]).get(f"/classes/{world['klass'].id}")
    assert "Student work (" not in manager.get_data(as_text=True)


# ---- class settings -------------------------------------------------------------------------------

@pytest.mark.parametrize("who, allowed", [
    ("teacher", True), ("teacher who runs the school", True), ("head", True),
    ("other teacher", False), ("senior leader", False), ("zosia", False), ("zosia's parent", False),
    ("other school's head", False),
])
def test_who_may_change_a_classs_student_story_settings(world, login_as, who, allowed):
    response = login_as(world["people"][who]).post(f"/portfolio/class/{world['klass'].id}/settings",
                                                   data={"auto_approve_portfolio": "y"})
    assert response.status_code == (302 if allowed else 404)
    db.session.refresh(world["klass"])
    assert (world["klass"].pupil_uploads_enabled, world["klass"].auto_approve_portfolio) == (
        (False, True) if allowed else (True, False))
    assert audited("portfolio.class_options") == (1 if allowed else 0)


def test_the_settings_are_offered_to_those_who_may_change_them(world, login_as):
    page = login_as(world["teacher"]).get(f"/portfolio/class/{world['klass'].id}").get_data(as_text=True)
    assert "Pupils can add their work" in page and "Approve pupils' work automatically" in page
    pupil_page = login_as(world["zosia"]).get(f"/portfolio/class/{world['klass'].id}").get_data(as_text=True)
    assert "Pupils can add their work" not in pupil_page


# ---- likes and comments ---------------------------------------------------------------------------

@pytest.mark.parametrize("open_to_class", [False, True])
def test_comments_on_pupils_work_stay_with_the_teacher_and_that_family(world, login_as, open_to_class):
    world["school"].comments_open_to_class = open_to_class
    db.session.commit()
    item = pupil_item(world, status="approved", shared=True, photos=0)
    teacher, parent = login_as(world["teacher"]), login_as(world["people"]["zosia's parent"])
    assert teacher.post(f"/portfolio/items/{item.id}/like").status_code == 302
    assert teacher.post(f"/portfolio/items/{item.id}/comments", data={"body": "Super shield!"}).status_code == 302
    assert parent.post(f"/portfolio/items/{item.id}/comments", data={"body": "Proud mum here"}).status_code == 302
    second_carer = make_parent(world["school"], children=[world["zosia"]])
    for who in (login_as(second_carer), login_as(world["zosia"]), teacher, parent):
        page = who.get(f"/portfolio/items/{item.id}").get_data(as_text=True)
        assert "Super shield!" in page and "Proud mum here" in page
    maja = login_as(world["maja"])
    page = maja.get(f"/portfolio/items/{item.id}").get_data(as_text=True)
    assert "Super shield!" in page and "Proud mum here" not in page
    story = maja.get(f"/portfolio/class/{world['klass'].id}").get_data(as_text=True)
    assert "1 comment" in story and "2 comments" not in story
    assert login_as(world["people"]["maja's parent"]).get(f"/portfolio/items/{item.id}").status_code == 404
    assert maja.post(f"/portfolio/items/{item.id}/comments", data={"body": "hi"}).status_code == 404
    assert "Your teacher liked it" in login_as(world["zosia"]).get(
        f"/portfolio/pupils/{world['zosia'].id}").get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Comment)) == 2


def test_no_likes_or_comments_on_work_waiting_or_sent_back(world, login_as):
    for status in ("pending", "sent_back"):
        item = pupil_item(world, status=status, photos=0)
        for who in ("teacher", "zosia's parent"):
            client = login_as(world["people"][who])
            assert client.post(f"/portfolio/items/{item.id}/like").status_code == 404
            assert client.post(f"/portfolio/items/{item.id}/comments", data={"body": "x"}).status_code == 404


# ---- speed: a page of 30 pieces ------------------------------------------------------------------

def _fill(world, count, start):
    teacher, parent = world["teacher"], world["people"]["zosia's parent"]
    for n in range(count):
        item = pupil_item(world, status="approved", shared=n % 2 == 0, photos=2,
                          body=f"Piece {start + n}: my drawing of the Roman fort, with its walls and gates.",
                          created_at=utcnow() - timedelta(hours=start + n))
        db.session.add(Like(user_id=teacher.id, portfolio_item_id=item.id))
        db.session.add(Comment(school_id=item.school_id, author_id=parent.id, portfolio_item_id=item.id,
                               body="Well done!"))
    db.session.commit()


def test_a_pupils_page_of_30_pieces_takes_the_same_queries_as_5_and_stays_small(app, world, login_as):
    viewers = [login_as(world["zosia"]), login_as(world["people"]["zosia's parent"]), login_as(world["teacher"])]
    url = f"/portfolio/pupils/{world['zosia'].id}"
    class_url = f"/portfolio/class/{world['klass'].id}"
    maja, teacher = login_as(world["maja"]), viewers[2]
    _fill(world, 5, 0)
    small = [count_page_queries(v, url)[0] for v in viewers]
    class_small = [count_page_queries(v, class_url)[0] for v in (maja, teacher)]
    _fill(world, 25, 5)
    large, pages = [], []
    for viewer in viewers:
        count, response = count_page_queries(viewer, url)
        large.append(count)
        pages.append(response.get_data())
    assert small == large
    assert class_small == [count_page_queries(v, class_url)[0] for v in (maja, teacher)]
    parent_page = pages[1].decode()
    assert len(re.findall(r'class="post item-card"', parent_page)) == 30
    assert len(re.findall(r"/media/\d+/thumb", parent_page)) == 60 and "/feed" not in parent_page
    assert all(re.search(r'<img src="/media/\d+/thumb" width="\d+" height="\d+"', p.decode()) for p in pages)
    for page in pages:
        assert len(gzip.compress(page, 6)) <= 14 * 1024


def test_the_queue_takes_the_same_queries_for_few_and_many(app, world, login_as):
    teacher = login_as(world["teacher"])
    for n in range(2):
        pupil_item(world, share=n == 0)
    small = count_page_queries(teacher, "/portfolio/queue")[0]
    for n in range(10):
        pupil_item(world, who="maja" if n % 2 else "zosia", share=n % 3 == 0)
        pupil_item(world, status="approved", share=True, photos=1)
    assert count_page_queries(teacher, "/portfolio/queue")[0] == small


def test_thumbnails_are_small(world):
    item = pupil_item(world, photos=1)
    media = db.session.scalar(select(MediaFile).where(MediaFile.portfolio_item_id == item.id))
    from app.services.media import file_path
    assert file_path(media, "thumb").stat().st_size <= 30_000


# ---- CSRF ---------------------------------------------------------------------------------------------

def test_reviewing_and_adding_need_the_csrf_token(make_app, world):
    item = pupil_item(world, photos=0)
    app = make_app(WTF_CSRF_ENABLED=True)
    teacher = sign_in(app.test_client(), world["teacher"])
    assert teacher.post(f"/portfolio/items/{item.id}/approve").status_code == 400
    assert teacher.post("/portfolio/queue/approve", data={"item": str(item.id)}).status_code == 400
    assert teacher.post(f"/portfolio/items/{item.id}/send-back", data={"note": "x"}).status_code == 400
    assert teacher.post(f"/portfolio/class/{world['klass'].id}/settings", data={}).status_code == 400
    pupil = sign_in(app.test_client(), world["zosia"])
    assert pupil.post("/portfolio/new", data={"mode": "write", "body": "x", "action": "send"}).status_code == 400
    assert pupil.post("/portfolio/uploads", data={"file": photo_upload()},
                      content_type="multipart/form-data").status_code == 400
    db.session.refresh(item)
    assert item.status == "pending"
