"""Home learning: per task, who has handed work in and who has not, and the home-learning point
given from there once per pupil; the count on the post's card for staff."""
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import PointAward, PortfolioItem
from tests.conftest import client_as, count_page_queries, outcome
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

TASK = "Read chapter three of The Iron Man and draw the giant on the cliff. Bring it on Monday please."


@pytest.fixture
def world(app):
    school = make_school()
    klass = make_class(school, name="Oak")
    other = make_class(school, name="Ash")
    zosia = make_pupil(klass, name="Zosia K.")
    maja = make_pupil(klass, name="Maja P.")
    olek = make_pupil(klass, name="Olek W.")
    sam = make_pupil(other, name="Sam T.")
    teacher = make_teacher(school, classes=[klass])
    post = make_post(teacher, klass, body=TASK, kind="home_learning")
    people = {
        "teacher": teacher,
        "other teacher": make_teacher(school, classes=[other]),
        "teacher who runs the school": make_teacher(school, can_manage_school=True),
        "senior leader": make_senior(school),
        "head": make_head(school),
        "zosia's parent": make_parent(school, children=[zosia]),
        "zosia": zosia,
        "other school's head": make_head(make_school()),
    }
    return dict(school=school, klass=klass, other=other, zosia=zosia, maja=maja, olek=olek, sam=sam,
                teacher=teacher, post=post, people=people)


def hand_in(pupil, post, status="approved", body="My drawing"):
    """An item on the pupil's own story that answers a home-learning post."""
    item = PortfolioItem(school_id=pupil.school_id, pupil_id=pupil.id, class_id=pupil.class_id, by_pupil=True,
                         body=body, status=status, home_learning_post_id=post.id if post else None)
    db.session.add(item)
    db.session.commit()
    return item


def _lists(page):
    """The two lists of the page: (handed in, not yet), as their HTML."""
    handed, _sep, rest = page.partition("Not yet (")
    return handed, rest


def _awards():
    return list(db.session.scalars(select(PointAward).order_by(PointAward.pupil_id)))


def test_the_teacher_sees_who_has_handed_in_and_who_has_not(world, login_as):
    post = world["post"]
    first = hand_in(world["zosia"], post)
    second = hand_in(world["zosia"], post, status="pending")
    maja_item = hand_in(world["maja"], post, status="pending")
    hand_in(world["olek"], post, status="sent_back")  # sent back: not handed in
    hand_in(world["olek"], None)  # on his story, but not an answer to this task
    hand_in(world["sam"], post)  # another class's pupil: not on this class's lists
    page = login_as(world["teacher"]).get(f"/stories/posts/{post.id}/hand-ins").get_data(as_text=True)
    handed, not_yet = _lists(page)
    assert "Handed in: 2 of 3" in page
    assert "Zosia K." in handed and "Maja P." in handed and "Olek W." not in handed
    assert "Olek W." in not_yet and "Zosia K." not in not_yet and "Maja P." not in not_yet
    assert "Sam T." not in page
    for item in (first, second, maja_item):
        assert f'href="/portfolio/items/{item.id}"' in handed
    assert handed.count("Waiting for approval") == 2 and handed.count(">Approved<") == 1
    ticked = set(re.findall(r'name="pupil" value="(\d+)" checked', page))
    assert ticked == {str(world["zosia"].id), str(world["maja"].id)}
    assert f'name="pupil" value="{world["olek"].id}"' in not_yet  # paper work can be ticked too


def test_the_lists_take_the_same_queries_for_a_small_and_a_large_class(app, world, login_as):
    teacher = login_as(world["teacher"])
    url = f"/stories/posts/{world['post'].id}/hand-ins"
    hand_in(world["zosia"], world["post"])
    small = count_page_queries(teacher, url)[0]
    for n in range(12):
        pupil = make_pupil(world["klass"], name=f"Extra {n}.")
        if n % 2:
            hand_in(pupil, world["post"])
            hand_in(pupil, world["post"], status="pending")
    assert count_page_queries(teacher, url)[0] == small


def test_a_point_is_given_once_per_pupil_even_on_a_double_submit(world, login_as):
    post = world["post"]
    hand_in(world["zosia"], post)
    hand_in(world["maja"], post, status="pending")
    teacher = login_as(world["teacher"])
    chosen = {"pupil": [str(world["zosia"].id), str(world["maja"].id), str(world["sam"].id)]}
    first = teacher.post(f"/stories/posts/{post.id}/hand-ins/award", data=chosen)
    assert first.status_code == 302 and first.headers["Location"].endswith(f"/stories/posts/{post.id}/hand-ins")
    again = teacher.post(f"/stories/posts/{post.id}/hand-ins/award", data=chosen)
    assert again.status_code == 302
    awards = _awards()
    assert [a.pupil_id for a in awards] == sorted([world["zosia"].id, world["maja"].id])  # Sam: not this class
    assert all(a.category.home_learning and a.awarded_by_id == world["teacher"].id for a in awards)
    assert all(a.note == "Home learning: Read chapter three of The Iron Man and…" for a in awards)
    assert all(a.request_key == f"home-learning-{post.id}" for a in awards)
    # Another member of staff, later: the pupils already have their point for this task.
    senior = login_as(world["people"]["senior leader"])
    assert senior.post(f"/stories/posts/{post.id}/hand-ins/award", data=chosen).status_code == 302
    assert len(_awards()) == 2
    page = teacher.get(f"/stories/posts/{post.id}/hand-ins").get_data(as_text=True)
    assert page.count("Point given") == 2
    assert not re.findall(r'name="pupil" value="(\d+)" checked', page)  # nobody left to tick by default
    # Work handed in on paper: the teacher ticks a pupil who has not handed in here.
    assert teacher.post(f"/stories/posts/{post.id}/hand-ins/award",
                        data={"pupil": [str(world["olek"].id)]}).status_code == 302
    assert len(_awards()) == 3


def test_nothing_ticked_is_refused_with_a_message_and_nothing_awarded(world, login_as):
    response = login_as(world["teacher"]).post(f"/stories/posts/{world['post'].id}/hand-ins/award", data={})
    assert response.status_code == 422 and "Tick at least one pupil" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(PointAward)) == 0


def test_without_a_home_learning_category_the_page_says_so_and_nothing_is_awarded(world, login_as):
    from app.services import points
    points.home_learning_category(world["school"]).home_learning = False
    db.session.commit()
    hand_in(world["zosia"], world["post"])
    teacher = login_as(world["teacher"])
    page = teacher.get(f"/stories/posts/{world['post'].id}/hand-ins").get_data(as_text=True)
    assert "no category for reading and homework at home" in page and 'name="pupil"' not in page
    response = teacher.post(f"/stories/posts/{world['post'].id}/hand-ins/award",
                            data={"pupil": [str(world["zosia"].id)]})
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(PointAward)) == 0


def test_the_award_needs_the_forms_csrf_token(make_app, world):
    from tests.conftest import sign_in
    hand_in(world["zosia"], world["post"])
    client = sign_in(make_app(WTF_CSRF_ENABLED=True).test_client(), world["teacher"])
    response = client.post(f"/stories/posts/{world['post'].id}/hand-ins/award",
                           data={"pupil": [str(world["zosia"].id)]})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(PointAward)) == 0


@pytest.mark.parametrize("who, page_status, award_status", [
    ("anonymous", 302, 302),
    ("teacher", 200, 302),
    ("senior leader", 200, 302),
    ("head", 200, 302),
    ("other teacher", 404, 404),
    ("teacher who runs the school", 404, 404),  # sees the class, but does not teach it
    ("zosia's parent", 404, 404),
    ("zosia", 404, 404),
    ("other school's head", 404, 404),
])
def test_who_may_see_hand_ins_and_give_the_point(world, client, login_as, who, page_status, award_status):
    post = world["post"]
    hand_in(world["zosia"], post)
    viewer = client_as(client, login_as, world["people"], who)
    assert outcome(viewer.get(f"/stories/posts/{post.id}/hand-ins")) == page_status
    response = viewer.post(f"/stories/posts/{post.id}/hand-ins/award", data={"pupil": [str(world["zosia"].id)]})
    assert outcome(response) == award_status
    assert len(_awards()) == (1 if award_status == 302 and who != "anonymous" else 0)


@pytest.mark.parametrize("kind, whole_school", [("news", False), ("reminder", False), ("home_learning", True)])
def test_only_a_class_home_learning_post_has_hand_ins(world, login_as, kind, whole_school):
    author = world["people"]["head"]
    post = make_post(author, None if whole_school else world["klass"], body="Something", kind=kind)
    client = login_as(author)
    assert client.get(f"/stories/posts/{post.id}/hand-ins").status_code == 404
    assert client.post(f"/stories/posts/{post.id}/hand-ins/award",
                       data={"pupil": [str(world["zosia"].id)]}).status_code == 404
    assert len(_awards()) == 0


def test_the_card_shows_staff_how_many_have_handed_in(app, world, login_as):
    post = world["post"]
    hand_in(world["zosia"], post)
    hand_in(world["zosia"], post)  # two pieces from one pupil count once
    hand_in(world["maja"], post, status="sent_back")
    news = make_post(world["teacher"], world["klass"], body="Sports day is on Friday")
    teacher = login_as(world["teacher"])
    feed = teacher.get(f"/stories/class/{world['klass'].id}").get_data(as_text=True)
    assert feed.count("Handed in: 1 of 3") == 1 and f"/stories/posts/{post.id}/hand-ins" in feed
    assert f"/stories/posts/{news.id}/hand-ins" not in feed
    assert "Handed in: 1 of 3" in teacher.get(f"/stories/posts/{post.id}").get_data(as_text=True)
    for who in ("teacher who runs the school", "zosia's parent", "zosia"):
        page = login_as(world["people"][who]).get(f"/stories/posts/{post.id}").get_data(as_text=True)
        assert "Handed in" not in page and "/hand-ins" not in page
    # One query for the whole page: more home-learning posts add none.
    small = count_page_queries(teacher, "/stories/")[0]
    for n in range(6):
        extra = make_post(world["teacher"], world["klass"], body=f"Task {n}", kind="home_learning")
        hand_in(world["olek"], extra)
    assert count_page_queries(teacher, "/stories/")[0] == small
