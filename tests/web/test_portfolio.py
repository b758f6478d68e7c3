"""A pupil's own story: a teacher adds photos or a note that only the pupil's family and staff see;
families like and comment; every role's access to an item and its photo, in each state."""
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Comment, MediaFile, PortfolioItem
from app.models.base import utcnow
from tests.conftest import client_as, outcome
from tests.factories import (
    make_class,
    make_head,
    make_parent,
    make_photo,
    make_pupil,
    make_school,
    make_senior,
    make_teacher,
    photo_upload,
)


@pytest.fixture
def world(app):
    school = make_school()
    klass = make_class(school, name="Oak")
    other = make_class(school, name="Ash")
    zosia = make_pupil(klass, name="Zosia K.")
    maja = make_pupil(klass, name="Maja P.")
    sam = make_pupil(other, name="Sam T.")
    teacher = make_teacher(school, classes=[klass])
    people = {
        "teacher": teacher,
        "other teacher": make_teacher(school, classes=[other]),
        "senior leader": make_senior(school),
        "head": make_head(school),
        "zosia's parent": make_parent(school, children=[zosia]),
        "maja's parent": make_parent(school, children=[maja]),
        "sam's parent": make_parent(school, children=[sam]),
        "zosia": zosia,
        "maja": maja,
        "other school's head": make_head(make_school()),
    }
    return dict(school=school, klass=klass, zosia=zosia, maja=maja, teacher=teacher, people=people)


def _item(world, status="approved", shared=False, by_pupil=False, photo=True):
    item = PortfolioItem(school_id=world["school"].id, pupil_id=world["zosia"].id, class_id=world["klass"].id,
                         added_by_id=None if by_pupil else world["teacher"].id, by_pupil=by_pupil,
                         body="My Roman shield", status=status, share_requested=shared,
                         shared_at=utcnow() if shared else None)
    db.session.add(item)
    db.session.commit()
    media = None
    if photo:
        media = make_photo(world["teacher"], tags=[world["zosia"]])
        media.portfolio_item_id = item.id
        db.session.commit()
    return item, media


def test_teacher_adds_photos_and_a_note_for_one_family(world, login_as):
    teacher = login_as(world["teacher"])
    response = teacher.post(f"/portfolio/pupils/{world['zosia'].id}/items",
                            data={"body": "Zosia read to the class today!", "files": [photo_upload(), photo_upload()]},
                            content_type="multipart/form-data")
    assert response.status_code == 302
    item = db.session.scalar(select(PortfolioItem))
    assert item.status == "approved" and not item.by_pupil and item.added_by_id == world["teacher"].id
    media = list(db.session.scalars(select(MediaFile).where(MediaFile.portfolio_item_id == item.id)))
    assert len(media) == 2 and all(m.tagged_pupil_ids == {world["zosia"].id} for m in media)
    parent = login_as(world["people"]["zosia's parent"])
    page = parent.get(f"/portfolio/pupils/{world['zosia'].id}").get_data(as_text=True)
    assert "Zosia read to the class today!" in page and f"/media/{media[0].id}/thumb" in page
    assert f"/media/{media[0].id}/large" in page and f"/media/{media[0].id}/feed" not in page
    item_page = parent.get(f"/portfolio/items/{item.id}").get_data(as_text=True)
    assert f"/media/{media[0].id}/feed" in item_page
    assert login_as(world["people"]["maja's parent"]).get(f"/portfolio/pupils/{world['zosia'].id}").status_code == 404


def test_adding_needs_a_note_or_a_photo_and_a_refused_file_keeps_the_note(world, login_as):
    teacher = login_as(world["teacher"])
    empty = teacher.post(f"/portfolio/pupils/{world['zosia'].id}/items", data={"body": "  "})
    assert empty.status_code == 422 and "Write a note or add a photo" in empty.get_data(as_text=True)
    from io import BytesIO

    from werkzeug.datastructures import FileStorage
    svg = FileStorage(BytesIO(b'<svg xmlns="http://www.w3.org/2000/svg"></svg>'), filename="star.png")
    refused = teacher.post(f"/portfolio/pupils/{world['zosia'].id}/items",
                           data={"body": "Keep these words", "files": [svg, photo_upload()]},
                           content_type="multipart/form-data")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Keep these words" in page and "star.png" in page
    assert db.session.scalar(select(func.count()).select_from(PortfolioItem)) == 0
    assert db.session.scalar(select(func.count()).select_from(MediaFile)) == 0


@pytest.mark.parametrize("who, allowed", [
    ("teacher", True), ("senior leader", True), ("head", True),
    ("other teacher", False), ("zosia's parent", False), ("zosia", False), ("other school's head", False),
])
def test_who_may_add_to_a_pupils_story(world, login_as, who, allowed):
    response = login_as(world["people"][who]).post(f"/portfolio/pupils/{world['zosia'].id}/items",
                                                    data={"body": "A note"})
    assert response.status_code == (302 if allowed else 404)


# who sees an item and its photo, in each state: (approved, pending, sent back, shared)
ACCESS = [
    ("anonymous", (302, 302, 302, 302)),
    ("teacher", (200, 200, 200, 200)),
    ("senior leader", (200, 200, 200, 200)),
    ("head", (200, 200, 200, 200)),
    ("other teacher", (404, 404, 404, 404)),
    ("zosia's parent", (200, 404, 404, 200)),
    ("maja's parent", (404, 404, 404, 404)),
    ("sam's parent", (404, 404, 404, 404)),
    ("zosia", (200, 200, 200, 200)),
    ("maja", (404, 404, 404, 200)),
    ("other school's head", (404, 404, 404, 404)),
]
STATES = [("approved", False), ("pending", False), ("sent_back", False), ("approved", True)]


@pytest.mark.parametrize("who, expected", ACCESS)
def test_who_sees_an_item_and_its_photo_in_each_state(world, client, login_as, who, expected):
    items = [_item(world, status=status, shared=shared, by_pupil=True) for status, shared in STATES]
    viewer = client_as(client, login_as, world["people"], who)
    for (item, media), status in zip(items, expected, strict=True):
        assert outcome(viewer.get(f"/portfolio/items/{item.id}")) == status, (who, item.status, item.shared)
        assert outcome(viewer.get(f"/media/{media.id}/feed")) == status, (who, item.status, item.shared)


def test_the_pupil_story_lists_what_each_reader_may_see(world, login_as):
    for status, shared in STATES:
        item, _ = _item(world, status=status, shared=shared, by_pupil=True, photo=False)
        item.body = f"item {status} {shared}"
    db.session.commit()
    parent = login_as(world["people"]["zosia's parent"])
    parent_page = parent.get(f"/portfolio/pupils/{world['zosia'].id}").get_data(as_text=True)
    assert "item approved False" in parent_page and "item approved True" in parent_page
    assert "item pending" not in parent_page and "item sent_back" not in parent_page
    pupil_page = login_as(world["zosia"]).get(f"/portfolio/pupils/{world['zosia'].id}").get_data(as_text=True)
    assert "item pending" in pupil_page and "Waiting for the teacher" in pupil_page


def test_families_like_and_comment_and_comments_stay_in_the_family(world, login_as):
    item, _ = _item(world)
    parent = login_as(world["people"]["zosia's parent"])
    assert parent.post(f"/portfolio/items/{item.id}/like").status_code == 302
    assert parent.post(f"/portfolio/items/{item.id}/comments", data={"body": "So proud of you!"}).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Comment)) == 1
    second_carer = make_parent(world["school"], children=[world["zosia"]])
    assert "So proud of you!" in login_as(second_carer).get(f"/portfolio/items/{item.id}").get_data(as_text=True)
    assert "So proud of you!" in login_as(world["teacher"]).get(f"/portfolio/items/{item.id}").get_data(as_text=True)
    assert "1 like" in login_as(world["teacher"]).get(f"/portfolio/pupils/{world['zosia'].id}").get_data(as_text=True)
    assert login_as(world["zosia"]).post(f"/portfolio/items/{item.id}/comments", data={"body": "hi"}).status_code == 404


def test_a_pending_item_takes_no_likes_or_comments_from_parents(world, login_as):
    item, _ = _item(world, status="pending", by_pupil=True)
    parent = login_as(world["people"]["zosia's parent"])
    assert parent.post(f"/portfolio/items/{item.id}/like").status_code == 404
    assert parent.post(f"/portfolio/items/{item.id}/comments", data={"body": "x"}).status_code == 404
