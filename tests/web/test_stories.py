"""The Class Story through the app: posting, consent at publishing and at display, the feed,
pagination, likes, comments, seen counts, and who may see each post and each photo."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Comment, Like, MediaFile, PortfolioItem, Post, PostRevision
from app.models.base import utcnow
from app.services import media as media_service
from tests.conftest import client_as, count_page_queries, htmx_headers, outcome
from tests.factories import (
    make_class,
    make_head,
    make_parent,
    make_photo,
    make_post,
    make_pupil,
    make_school,
    make_senior,
    make_teacher,
    photo_upload,
    set_consent,
)


@pytest.fixture
def world(app):
    school = make_school()
    klass = make_class(school, name="Oak")
    other = make_class(school, name="Ash")
    zosia = set_consent(make_pupil(klass, name="Zosia K."), "yes")
    maja = set_consent(make_pupil(klass, name="Maja P."), "yes")
    noor = make_pupil(klass, name="Noor A.")  # consent not recorded
    sam = set_consent(make_pupil(other, name="Sam T."), "yes")
    teacher = make_teacher(school, classes=[klass], name="Ms Oak")
    people = {
        "teacher": teacher,
        "other teacher": make_teacher(school, classes=[other]),
        "senior leader": make_senior(school),
        "head": make_head(school),
        "zosia's parent": make_parent(school, children=[zosia]),
        "maja's parent": make_parent(school, children=[maja]),
        "noor's parent": make_parent(school, children=[noor]),
        "sam's parent": make_parent(school, children=[sam]),
        "zosia": zosia,
        "sam": sam,
        "other school's head": make_head(make_school()),
    }
    return dict(school=school, klass=klass, other=other, zosia=zosia, maja=maja, noor=noor, sam=sam,
                teacher=teacher, people=people)


def _publish(client, klass, body="Hello", files=None, **fields):
    data = {"audience": str(klass.id) if klass else "school", "kind": "news", "body": body,
            "comments_enabled": "y", "action": "publish", **fields}
    if files:
        data["files"] = files
    return client.post("/stories/new", data=data, content_type="multipart/form-data")


# ---- posting -------------------------------------------------------------------------------------

def test_teacher_posts_text_with_a_link_and_the_class_families_see_it(world, login_as):
    teacher = login_as(world["teacher"])
    response = _publish(teacher, world["klass"], body="Trip on Friday!\nSee https://example.org/trip.")
    assert response.status_code == 302
    post = db.session.scalar(select(Post))
    assert post.published_at is not None and post.class_id == world["klass"].id
    page = login_as(world["people"]["zosia's parent"]).get("/stories/").get_data(as_text=True)
    assert '<a href="https://example.org/trip" rel="noopener noreferrer nofollow ugc">' in page
    assert "Trip on Friday!" in page and "Oak" in page
    assert "Trip on Friday" not in login_as(world["people"]["sam's parent"]).get("/stories/").get_data(as_text=True)


def test_user_text_is_inert(world, login_as):
    make_post(world["teacher"], world["klass"],
              body='<img src=x onerror=alert(1)> <div hx-get=/logout hx-trigger=load>')
    page = login_as(world["people"]["zosia's parent"]).get("/stories/").get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;div hx-get=/logout" in page


def test_post_to_a_class_the_teacher_does_not_teach_is_refused(world, login_as):
    response = _publish(login_as(world["teacher"]), world["other"], body="Not mine")
    assert response.status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Post)) == 0


def test_only_senior_leaders_post_to_the_whole_school_and_every_family_sees_it(world, login_as):
    assert _publish(login_as(world["teacher"]), None, body="Everyone").status_code == 404
    assert _publish(login_as(world["people"]["senior leader"]), None, body="Sports day for everyone").status_code == 302
    for who in ("zosia's parent", "sam's parent", "zosia", "other teacher"):
        assert "Sports day for everyone" in login_as(world["people"][who]).get("/stories/").get_data(as_text=True), who


def test_drafts_and_scheduled_posts_are_hidden_until_their_time(world, login_as):
    teacher = login_as(world["teacher"])
    teacher.post("/stories/new", data={"audience": str(world["klass"].id), "kind": "reminder",
                                       "body": "Draft words", "action": "draft"})
    draft = db.session.scalar(select(Post))
    assert draft.published_at is None
    parent = login_as(world["people"]["zosia's parent"])
    assert parent.get(f"/stories/posts/{draft.id}").status_code == 404
    assert "Draft words" in teacher.get("/stories/").get_data(as_text=True)  # in "drafts and scheduled"

    future = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = teacher.post(f"/stories/posts/{draft.id}/edit", data={
        "kind": "reminder", "body": "Draft words", "action": "schedule", "publish_at": future})
    assert response.status_code == 302
    db.session.refresh(draft)
    assert draft.published_at > utcnow()
    assert parent.get(f"/stories/posts/{draft.id}").status_code == 404
    assert "Draft words" not in parent.get("/stories/").get_data(as_text=True)
    draft.published_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert parent.get(f"/stories/posts/{draft.id}").status_code == 200


def test_scheduling_in_the_past_is_refused_and_the_text_kept(world, login_as):
    response = login_as(world["teacher"]).post("/stories/new", data={
        "audience": str(world["klass"].id), "kind": "news", "body": "Keep me", "action": "schedule",
        "publish_at": "2001-01-01T09:00"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Choose a time in the future" in page and "Keep me" in page


def test_editing_a_live_post_keeps_its_history(world, login_as):
    post = make_post(world["teacher"], world["klass"], body="First words")
    teacher = login_as(world["teacher"])
    response = teacher.post(f"/stories/posts/{post.id}/edit", data={
        "kind": "news", "body": "Second words", "action": "save", "comments_enabled": "y"})
    assert response.status_code == 302
    db.session.refresh(post)
    assert post.body == "Second words" and post.edited_at is not None
    revision = db.session.scalar(select(PostRevision))
    assert revision.body == "First words"
    assert "First words" in teacher.get(f"/stories/posts/{post.id}/history").get_data(as_text=True)
    assert login_as(world["people"]["zosia's parent"]).get(f"/stories/posts/{post.id}/history").status_code == 404
    assert login_as(world["people"]["other teacher"]).get(f"/stories/posts/{post.id}/edit").status_code == 404


def test_one_pinned_post_per_class(world, login_as):
    first = make_post(world["teacher"], world["klass"], body="First")
    second = make_post(world["teacher"], world["klass"], body="Second")
    teacher = login_as(world["teacher"])
    teacher.post(f"/stories/posts/{first.id}/pin", data={"pinned": "1"})
    teacher.post(f"/stories/posts/{second.id}/pin", data={"pinned": "1"})
    db.session.refresh(first)
    db.session.refresh(second)
    assert first.pinned_at is None and second.pinned_at is not None
    page = login_as(world["people"]["zosia's parent"]).get("/stories/").get_data(as_text=True)
    assert page.index("Second") < page.index("First") and "Pinned" in page


def test_deleting_a_post_deletes_its_photos(world, login_as):
    photo = make_photo(world["teacher"], tags=[world["zosia"]])
    post = make_post(world["teacher"], world["klass"], media=[photo])
    path = media_service.file_path(photo, "feed")
    assert path.exists()
    post_id, photo_id = post.id, photo.id
    teacher = login_as(world["teacher"])
    assert teacher.post(f"/stories/posts/{post_id}/delete").status_code == 302
    assert not path.exists()
    assert db.session.scalar(select(func.count()).select_from(Post)) == 0
    assert login_as(world["people"]["zosia's parent"]).get(f"/media/{photo_id}/feed").status_code == 404


# ---- photos and consent at publishing --------------------------------------------------------------

def _upload_then_publish(client, klass, tags=(), body="Our trip", **extra):
    first = _publish(client, klass, body=body, files=[photo_upload()])
    assert first.status_code == 200, first.status_code
    assert "1 file added" in first.get_data(as_text=True)
    assert body in first.get_data(as_text=True)  # the text is kept across the upload
    media_id = int(re.search(r'name="media" value="(\d+)"', first.get_data(as_text=True)).group(1))
    data = {"audience": str(klass.id), "kind": "news", "body": body, "action": "publish", "media": str(media_id),
            f"tag-{media_id}": [str(p.id) for p in tags], **extra}
    return media_id, client.post("/stories/new", data=data)


def test_photos_of_consenting_pupils_are_published_and_seen_by_the_class(world, login_as):
    teacher = login_as(world["teacher"])
    media_id, response = _upload_then_publish(teacher, world["klass"], tags=[world["zosia"], world["maja"]])
    assert response.status_code == 302
    media = db.session.get(MediaFile, media_id)
    assert media.post_id is not None and media.tagged_pupil_ids == {world["zosia"].id, world["maja"].id}
    maja_parent = login_as(world["people"]["maja's parent"])
    assert f"/media/{media_id}/feed" in maja_parent.get("/stories/").get_data(as_text=True)
    image = maja_parent.get(f"/media/{media_id}/feed")
    assert image.status_code == 200 and image.mimetype == "image/webp"
    assert "private" in image.headers["Cache-Control"]


def test_a_photo_of_a_pupil_without_consent_is_stopped_and_can_go_on_their_own_story(world, login_as):
    teacher = login_as(world["teacher"])
    media_id, response = _upload_then_publish(teacher, world["klass"], tags=[world["noor"]], body="Painting day")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Noor A." in page and "can&#39;t go on the Class Story" in page
    assert "Painting day" in page
    assert db.session.scalar(select(func.count()).select_from(Post)) == 0
    own = f'{media_id}:{world["noor"].id}'
    assert f'name="own_story" value="{own}"' in page

    response = teacher.post("/stories/new", data={
        "audience": str(world["klass"].id), "kind": "news", "body": "Painting day", "media": str(media_id),
        f"tag-{media_id}": [str(world["noor"].id)], "own_story": own})
    assert response.status_code == 200
    assert "own story" in response.get_data(as_text=True)
    item = db.session.scalar(select(PortfolioItem))
    assert item.pupil_id == world["noor"].id
    media = db.session.get(MediaFile, media_id)
    assert media.portfolio_item_id == item.id and media.post_id is None

    people = world["people"]
    for who, expected in [("noor's parent", 200), ("teacher", 200), ("senior leader", 200),
                          ("zosia's parent", 404), ("maja's parent", 404), ("sam's parent", 404),
                          ("zosia", 404), ("other school's head", 404)]:
        client = login_as(people[who])
        assert outcome(client.get(f"/media/{media_id}/feed")) == expected, who
        assert outcome(client.get(f"/portfolio/items/{item.id}")) == expected, who


def test_own_story_is_not_offered_when_two_children_lack_consent(world, login_as):
    set_consent(world["maja"], "no")
    teacher = login_as(world["teacher"])
    media_id, response = _upload_then_publish(teacher, world["klass"], tags=[world["noor"], world["maja"]])
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'name="own_story"' not in page
    assert "more than one child without consent" in page
    forged = teacher.post("/stories/new", data={
        "audience": str(world["klass"].id), "kind": "news", "body": "x", "media": str(media_id),
        f"tag-{media_id}": [str(world["noor"].id), str(world["maja"].id)],
        "own_story": f"{media_id}:{world['noor'].id}"})
    assert forged.status_code == 400


def test_an_untagged_photo_needs_the_no_child_confirmation(world, login_as):
    teacher = login_as(world["teacher"])
    media_id, response = _upload_then_publish(teacher, world["klass"], tags=[])
    assert response.status_code == 422
    assert "No child can be identified" in response.get_data(as_text=True)
    response = teacher.post("/stories/new", data={
        "audience": str(world["klass"].id), "kind": "news", "body": "Our garden", "media": str(media_id),
        f"nochild-{media_id}": "1", "action": "publish"})
    assert response.status_code == 302
    assert login_as(world["people"]["noor's parent"]).get(f"/media/{media_id}/feed").status_code == 200


def test_a_refused_upload_keeps_the_text_and_says_why(world, login_as):
    from io import BytesIO

    from werkzeug.datastructures import FileStorage
    fake = FileStorage(stream=BytesIO(b"<html><script>alert(1)</script></html>"), filename="photo.jpg",
                       content_type="image/jpeg")
    response = _publish(login_as(world["teacher"]), world["klass"], body="Words I typed", files=[fake])
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Words I typed" in page and "photo.jpg" in page
    assert db.session.scalar(select(func.count()).select_from(MediaFile)) == 0


def test_someone_elses_staged_upload_cannot_be_used(world, login_as):
    mine = make_photo(world["people"]["other teacher"], no_child=True)
    response = login_as(world["teacher"]).post("/stories/new", data={
        "audience": str(world["klass"].id), "kind": "news", "body": "Taking it", "media": str(mine.id),
        f"nochild-{mine.id}": "1", "action": "publish"})
    assert response.status_code == 302
    db.session.refresh(mine)
    assert mine.post_id is None
    assert login_as(world["teacher"]).get(f"/media/{mine.id}/thumb").status_code == 404


def test_javascript_upload_answers_the_file_card(world, login_as):
    response = login_as(world["teacher"]).post("/stories/uploads", data={
        "audience": str(world["klass"].id), "file": photo_upload()}, headers=htmx_headers(),
        content_type="multipart/form-data")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'name="media"' in page and "Zosia K." in page and "Who is in this photo?" in page
    assert "Sam T." not in page  # another class's pupils are not offered
    bad = login_as(world["teacher"]).post("/stories/uploads", data={"audience": str(world["other"].id),
                                                                     "file": photo_upload()},
                                          content_type="multipart/form-data")
    assert bad.status_code == 404


# ---- consent at display ------------------------------------------------------------------------------

def test_withdrawn_consent_hides_earlier_photos_from_other_families_at_once(world, login_as):
    photo = make_photo(world["teacher"], tags=[world["zosia"]])
    other_photo = make_photo(world["teacher"], tags=[world["maja"]])
    post = make_post(world["teacher"], world["klass"], body="Sports day", media=[photo, other_photo])
    maja_parent = login_as(world["people"]["maja's parent"])
    assert maja_parent.get(f"/media/{photo.id}/feed").status_code == 200

    from app.services.photo_consent import record_photo_consent
    record_photo_consent(world["zosia"], "no", source="parent", by=world["people"]["zosia's parent"])

    assert maja_parent.get(f"/media/{photo.id}/feed").status_code == 404
    assert maja_parent.get(f"/media/{photo.id}/large").status_code == 404
    page = maja_parent.get("/stories/").get_data(as_text=True)
    assert f"/media/{photo.id}/" not in page and f"/media/{other_photo.id}/feed" in page
    assert login_as(world["people"]["zosia's parent"]).get(f"/media/{photo.id}/feed").status_code == 200
    teacher = login_as(world["teacher"])
    assert teacher.get(f"/media/{photo.id}/feed").status_code == 200
    feed = teacher.get("/stories/").get_data(as_text=True)
    assert "Hidden from other families" in feed and "/stories/review" in feed
    assert f"/stories/posts/{post.id}/edit" in teacher.get("/stories/review").get_data(as_text=True)


# ---- the feed -----------------------------------------------------------------------------------------

def test_feed_pages_ten_posts_at_a_time_without_repeats(world, login_as):
    base = utcnow() - timedelta(days=30)
    for n in range(25):
        make_post(world["teacher"], world["klass"], body=f"Post number {n:02d}", published_at=base + timedelta(hours=n))
    parent = login_as(world["people"]["zosia's parent"])
    seen, url, pages = [], "/stories/", 0
    while url:
        response = parent.get(url, headers=htmx_headers() if pages else {})
        page = response.get_data(as_text=True)
        seen += re.findall(r"Post number (\d\d)", page)
        found = re.search(r'<a href="(/stories/\?before=[^"]+)"', page)
        url = found.group(1).replace("&amp;", "&") if found else None
        pages += 1
    assert pages == 3
    assert seen == [f"{n:02d}" for n in range(24, -1, -1)]


def test_new_posts_since_the_last_visit_are_marked(world, login_as):
    parent = login_as(world["people"]["zosia's parent"])
    assert "new post" not in parent.get("/stories/").get_data(as_text=True)
    make_post(world["teacher"], world["klass"], body="Fresh news", published_at=utcnow() + timedelta(seconds=1))
    import time
    time.sleep(1.1)
    page = parent.get("/stories/").get_data(as_text=True)
    assert "1 new post since your last visit" in page


def test_feed_queries_do_not_grow_with_posts_photos_or_history(app, world, login_as):
    def add_posts(count, photos):
        for n in range(count):
            media = [make_photo(world["teacher"], tags=[world["zosia"]]) for _ in range(photos)]
            post = make_post(world["teacher"], world["klass"], body=f"p{n}", media=media)
            db.session.add(Comment(school_id=post.school_id, author_id=world["people"]["zosia's parent"].id,
                                   post_id=post.id, body="lovely"))
            db.session.add(Like(user_id=world["people"]["maja's parent"].id, post_id=post.id))
        db.session.commit()

    add_posts(2, 1)
    parent = login_as(world["people"]["zosia's parent"])
    teacher = login_as(world["teacher"])
    small = (count_page_queries(parent, "/stories/")[0], count_page_queries(teacher, "/stories/")[0])
    add_posts(12, 2)
    large = (count_page_queries(parent, "/stories/")[0], count_page_queries(teacher, "/stories/")[0])
    assert small == large


# ---- likes and comments ----------------------------------------------------------------------------------

def test_one_like_per_person_toggled(world, login_as):
    post = make_post(world["teacher"], world["klass"])
    parent = login_as(world["people"]["zosia's parent"])
    response = parent.post(f"/stories/posts/{post.id}/like", data={"next": "/stories/"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/stories/#post-{post.id}")
    assert db.session.scalar(select(func.count()).select_from(Like)) == 1
    fragment = parent.post(f"/stories/posts/{post.id}/like", headers=htmx_headers())
    assert fragment.status_code == 200 and 'aria-pressed="false"' in fragment.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Like)) == 0
    assert login_as(world["zosia"]).post(f"/stories/posts/{post.id}/like").status_code == 404
    assert login_as(world["people"]["sam's parent"]).post(f"/stories/posts/{post.id}/like").status_code == 404


def test_comments_are_seen_by_staff_and_the_commenters_family_only(world, login_as):
    post = make_post(world["teacher"], world["klass"])
    zosia = world["zosia"]
    second_carer = make_parent(world["school"], children=[zosia])
    parent = login_as(world["people"]["zosia's parent"])
    assert parent.post(f"/stories/posts/{post.id}/comments", data={"body": "Well done all!"}).status_code == 302
    visible = {"zosia's parent": True, "teacher": True, "senior leader": True, "maja's parent": False,
               "zosia": True}
    for who, expected in visible.items():
        page = login_as(world["people"][who]).get(f"/stories/posts/{post.id}").get_data(as_text=True)
        assert ("Well done all!" in page) is expected, who
    assert "Well done all!" in login_as(second_carer).get(f"/stories/posts/{post.id}").get_data(as_text=True)
    world["school"].comments_open_to_class = True
    db.session.commit()
    assert "Well done all!" in login_as(world["people"]["maja's parent"]).get(
        f"/stories/posts/{post.id}").get_data(as_text=True)


def test_after_an_htmx_comment_the_box_is_empty_again(world, login_as):
    post = make_post(world["teacher"], world["klass"])
    parent = login_as(world["people"]["zosia's parent"])
    response = parent.post(f"/stories/posts/{post.id}/comments", data={"body": "Lovely work, 3K!"},
                           headers=htmx_headers())
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and page.count("Lovely work, 3K!") == 1  # the comment, not the box
    box = re.search(r"<textarea[^>]*>(.*?)</textarea>", page, re.S)
    assert box is not None and box.group(1).strip() == ""


def test_teacher_hides_and_deletes_comments_and_turns_them_off(world, login_as):
    post = make_post(world["teacher"], world["klass"])
    parent = login_as(world["people"]["zosia's parent"])
    parent.post(f"/stories/posts/{post.id}/comments", data={"body": "Rude words"})
    comment = db.session.scalar(select(Comment))
    teacher = login_as(world["teacher"])
    assert login_as(world["people"]["other teacher"]).post(f"/stories/comments/{comment.id}/hide").status_code == 404
    assert teacher.post(f"/stories/comments/{comment.id}/hide", data={"hide": "1"}).status_code == 302
    assert "Rude words" not in parent.get(f"/stories/posts/{post.id}").get_data(as_text=True)
    assert "Rude words" in teacher.get(f"/stories/posts/{post.id}").get_data(as_text=True)
    assert teacher.post(f"/stories/comments/{comment.id}/delete").status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Comment)) == 0

    teacher.post(f"/stories/posts/{post.id}/comments-setting", data={"enabled": "0"})
    refused = parent.post(f"/stories/posts/{post.id}/comments", data={"body": "Hello?"})
    assert refused.status_code == 422 and "Comments are turned off" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Comment)) == 0


def test_pupils_read_but_do_not_comment(world, login_as):
    post = make_post(world["teacher"], world["klass"])
    pupil = login_as(world["zosia"])
    assert pupil.get(f"/stories/posts/{post.id}").status_code == 200
    assert pupil.post(f"/stories/posts/{post.id}/comments", data={"body": "hi"}).status_code == 404


def test_teacher_sees_how_many_families_have_seen_a_post(world, login_as):
    post = make_post(world["teacher"], world["klass"])
    second_carer = make_parent(world["school"], children=[world["zosia"]])
    for account in (world["people"]["zosia's parent"], second_carer, world["people"]["maja's parent"]):
        assert login_as(account).post("/stories/seen", data={"posts": f"{post.id}"}).status_code == 204
    outsider = login_as(world["people"]["sam's parent"])
    assert outsider.post("/stories/seen", data={"posts": f"{post.id}"}).status_code == 204
    page = login_as(world["teacher"]).get("/stories/").get_data(as_text=True)
    assert "Seen by 2 of 3 families" in page  # two families of three (Zosia's counted once, Sam's not at all)


def test_a_get_of_the_feed_writes_nothing(world, login_as):
    make_post(world["teacher"], world["klass"])
    from app.models import PostSeen
    login_as(world["people"]["zosia's parent"]).get("/stories/")
    assert db.session.scalar(select(func.count()).select_from(PostSeen)) == 0


# ---- who sees what --------------------------------------------------------------------------------------

@pytest.mark.parametrize("who, post_status, media_status", [
    ("anonymous", 302, 302),
    ("teacher", 200, 200),
    ("other teacher", 404, 404),
    ("senior leader", 200, 200),
    ("head", 200, 200),
    ("zosia's parent", 200, 200),
    ("noor's parent", 200, 200),
    ("sam's parent", 404, 404),
    ("zosia", 200, 200),
    ("sam", 404, 404),
    ("other school's head", 404, 404),
])
def test_who_sees_a_class_post_and_its_photo(world, client, login_as, who, post_status, media_status):
    photo = make_photo(world["teacher"], tags=[world["zosia"]])
    post = make_post(world["teacher"], world["klass"], media=[photo])
    viewer = client_as(client, login_as, world["people"], who)
    assert outcome(viewer.get(f"/stories/posts/{post.id}")) == post_status
    for variant in ("feed", "large", "thumb"):
        assert outcome(viewer.get(f"/media/{photo.id}/{variant}")) == media_status
    assert outcome(viewer.get(f"/media/{photo.id}/original")) in (404, 302)


@pytest.mark.parametrize("who, allowed", [
    ("teacher", True), ("senior leader", True), ("head", True),
    ("other teacher", False), ("zosia's parent", False), ("zosia", False), ("other school's head", False),
])
def test_who_may_edit_delete_and_pin(world, login_as, who, allowed):
    post_id = make_post(world["teacher"], world["klass"], body="Original").id
    client = login_as(world["people"][who])
    expected = 200 if allowed else 404
    assert client.get(f"/stories/posts/{post_id}/edit").status_code == expected
    assert client.post(f"/stories/posts/{post_id}/pin", data={"pinned": "1"}).status_code == (302 if allowed else 404)
    assert client.post(f"/stories/posts/{post_id}/delete").status_code == (302 if allowed else 404)
    remaining = db.session.scalar(select(func.count()).select_from(Post))
    assert remaining == (0 if allowed else 1)


def test_csrf_is_required_to_post(make_app, world):
    from tests.conftest import sign_in
    app = make_app(WTF_CSRF_ENABLED=True)
    client = sign_in(app.test_client(), world["teacher"])
    response = client.post("/stories/new", data={"audience": str(world["klass"].id), "kind": "news",
                                                  "body": "x", "action": "publish"})
    assert response.status_code == 400


# ---- reviewing photos after a consent change; bad files; video and documents -------------------------

def test_the_teacher_reviews_a_hidden_photo_and_moves_it_to_the_childs_own_story(world, login_as):
    photo = make_photo(world["teacher"], tags=[world["zosia"]])
    post = make_post(world["teacher"], world["klass"], body="Sports day", media=[photo])
    set_consent(world["zosia"], "no")
    teacher = login_as(world["teacher"])
    editor = teacher.get(f"/stories/posts/{post.id}/edit").get_data(as_text=True)
    assert "hidden from other families" in editor
    own = f'{photo.id}:{world["zosia"].id}'
    assert f'name="own_story" value="{own}"' in editor
    response = teacher.post(f"/stories/posts/{post.id}/edit", data={
        "kind": "news", "body": "Sports day", "media": str(photo.id), f"tag-{photo.id}": str(world["zosia"].id),
        "own_story": own})
    assert response.status_code == 200
    db.session.refresh(photo)
    assert photo.post_id is None and photo.portfolio_item_id is not None
    assert "Nothing to review." in teacher.get("/stories/review").get_data(as_text=True)
    assert login_as(world["people"]["zosia's parent"]).get(f"/media/{photo.id}/feed").status_code == 200
    assert login_as(world["people"]["maja's parent"]).get(f"/media/{photo.id}/feed").status_code == 404


def _bad_files(tmp_path):
    from io import BytesIO

    from werkzeug.datastructures import FileStorage

    from tests import media_samples as samples
    big = samples.sparse_file(tmp_path / "big.jpg", 40 * 1024 * 1024, b"\xff\xd8\xff\xe0")
    return [
        ("a 40 MB file", lambda: FileStorage(open(big, "rb"), filename="big.jpg"), "20 MB"),
        ("20,000 x 20,000 pixels", lambda: FileStorage(BytesIO(samples.png_header_only(20000, 20000)),
                                                        filename="huge.png"), "pixels"),
        ("HTML named .jpg", lambda: FileStorage(BytesIO(b"<!doctype html><p>hi</p>"), filename="cat.jpg"),
         "cat.jpg"),
        ("an SVG", lambda: FileStorage(BytesIO(b'<svg xmlns="http://www.w3.org/2000/svg"/>'), filename="a.svg"),
         "SVG"),
        ("a PDF that is not one", lambda: FileStorage(BytesIO(b"just text, no PDF"), filename="letter.pdf"),
         "is not one"),
    ]


def test_each_bad_file_is_refused_with_its_own_message_and_the_text_is_kept(world, login_as, tmp_path):
    teacher = login_as(world["teacher"])
    messages = set()
    for label, make, expected in _bad_files(tmp_path):
        response = _publish(teacher, world["klass"], body="Trip text I typed", files=[make()])
        page = response.get_data(as_text=True)
        assert response.status_code == 422, label
        assert "Trip text I typed" in page, label
        assert expected in page, (label, expected)
        messages.add(re.search(r'<p class="notice warn" role="alert">([^<]*)</p>', page).group(1))
    assert len(messages) == 5  # five different messages
    assert db.session.scalar(select(func.count()).select_from(MediaFile)) == 0
    assert db.session.scalar(select(func.count()).select_from(Post)) == 0


def test_a_document_is_listed_and_served_as_the_post_allows(world, login_as):
    from werkzeug.datastructures import FileStorage

    from tests import media_samples as samples
    teacher = login_as(world["teacher"])
    first = _publish(teacher, world["klass"], body="Spellings", files=[
        FileStorage(__import__("io").BytesIO(samples.minimal_pdf()), filename="Spellings week 3.pdf")])
    media_id = int(re.search(r'name="media" value="(\d+)"', first.get_data(as_text=True)).group(1))
    assert teacher.post("/stories/new", data={"audience": str(world["klass"].id), "kind": "home_learning",
                                              "body": "Spellings", "media": str(media_id),
                                              "action": "publish"}).status_code == 302
    page = login_as(world["people"]["zosia's parent"]).get("/stories/").get_data(as_text=True)
    assert "Spellings week 3.pdf" in page
    pdf = login_as(world["people"]["zosia's parent"]).get(f"/media/{media_id}/file")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert login_as(world["people"]["sam's parent"]).get(f"/media/{media_id}/file").status_code == 404


def test_a_short_video_is_tagged_published_and_streamed(world, login_as, tmp_path):
    import os
    import shutil

    from werkzeug.datastructures import FileStorage

    from tests import media_samples as samples
    if not shutil.which("ffmpeg") and os.environ.get("HEARTH_REQUIRE_FFMPEG") != "1":
        pytest.skip("ffmpeg is not installed (CI installs it and sets HEARTH_REQUIRE_FFMPEG=1)")
    clip = samples.video_clip(tmp_path / "trip.mp4", seconds=2, size=(640, 360))
    teacher = login_as(world["teacher"])
    upload = teacher.post("/stories/uploads", data={"audience": str(world["klass"].id),
                                                    "file": FileStorage(open(clip, "rb"), filename="trip.mp4")},
                          headers=htmx_headers(), content_type="multipart/form-data")
    assert upload.status_code == 200 and "Who is in this video?" in upload.get_data(as_text=True)
    media_id = int(re.search(r'name="media" value="(\d+)"', upload.get_data(as_text=True)).group(1))
    assert teacher.post("/stories/new", data={"audience": str(world["klass"].id), "kind": "news", "body": "Our trip",
                                              "media": str(media_id), f"tag-{media_id}": str(world["zosia"].id),
                                              "action": "publish"}).status_code == 302
    parent = login_as(world["people"]["maja's parent"])
    page = parent.get("/stories/").get_data(as_text=True)
    assert f'src="/media/{media_id}/video"' in page and f'poster="/media/{media_id}/poster"' in page
    ranged = parent.get(f"/media/{media_id}/video", headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and len(ranged.data) == 100 and ranged.mimetype == "video/mp4"
    assert login_as(world["people"]["sam's parent"]).get(f"/media/{media_id}/video").status_code == 404


def test_a_video_still_being_prepared_shows_a_note_to_staff_and_nothing_to_families(world, login_as, tmp_path,
                                                                                      monkeypatch):
    """The upload is checked in the request; its transcoding is a job (held back here, as a busy
    worker would). Until it has run: a note for staff, nothing for families, no file to anyone."""
    import os
    import shutil

    from werkzeug.datastructures import FileStorage

    from app import jobs
    from app.models import MediaFile
    from app.services.media import process_video
    from tests import media_samples as samples
    if not shutil.which("ffmpeg") and os.environ.get("HEARTH_REQUIRE_FFMPEG") != "1":
        pytest.skip("ffmpeg is not installed (CI installs it and sets HEARTH_REQUIRE_FFMPEG=1)")
    waiting = []
    monkeypatch.setattr(jobs, "enqueue", lambda target, *args: waiting.append((target, args)))
    clip = samples.video_clip(tmp_path / "trip.mp4", seconds=2, size=(640, 360))
    teacher = login_as(world["teacher"])
    upload = teacher.post("/stories/uploads", data={"audience": str(world["klass"].id),
                                                    "file": FileStorage(open(clip, "rb"), filename="trip.mp4")},
                          headers=htmx_headers(), content_type="multipart/form-data")
    text = upload.get_data(as_text=True)
    assert upload.status_code == 200 and "The video is being prepared" in text and "/poster" not in text
    media_id = int(re.search(r'name="media" value="(\d+)"', text).group(1))
    assert waiting == [("app.services.media:process_video", (media_id,))]
    assert teacher.post("/stories/new", data={"audience": str(world["klass"].id), "kind": "news", "body": "Our trip",
                                              "media": str(media_id), f"tag-{media_id}": str(world["zosia"].id),
                                              "action": "publish"}).status_code == 302
    staff_page = teacher.get("/stories/").get_data(as_text=True)
    assert "Our trip" in staff_page and "The video is being prepared" in staff_page
    assert "<video" not in staff_page and f"/media/{media_id}/" not in staff_page
    assert teacher.get(f"/media/{media_id}/video").status_code == 404
    assert teacher.get(f"/media/{media_id}/poster").status_code == 404
    parent = login_as(world["people"]["maja's parent"])
    family_page = parent.get("/stories/").get_data(as_text=True)
    assert "Our trip" in family_page and "being prepared" not in family_page
    assert "<video" not in family_page and f"/media/{media_id}/" not in family_page
    assert parent.get(f"/media/{media_id}/video").status_code == 404

    process_video(media_id)  # the worker gets to it

    family_page = parent.get("/stories/").get_data(as_text=True)
    assert f'src="/media/{media_id}/video"' in family_page and "being prepared" not in family_page
    assert parent.get(f"/media/{media_id}/poster").status_code == 200

    db.session.get(MediaFile, media_id).status = "failed"  # as if ffmpeg could not make it
    db.session.commit()
    staff_page = teacher.get("/stories/").get_data(as_text=True)
    assert "This video could not be prepared" in staff_page and "<video" not in staff_page
    family_page = parent.get("/stories/").get_data(as_text=True)
    assert "could not be prepared" not in family_page and "<video" not in family_page


def test_senior_leaders_can_open_any_class_story_and_each_look_is_audited(world, login_as):
    from app.models import AuditEntry
    make_post(world["teacher"], world["other"], body="Ash class news")
    senior = login_as(world["people"]["senior leader"])
    page = senior.get("/stories/").get_data(as_text=True)
    assert f'/stories/class/{world["klass"].id}"' in page and f'/stories/class/{world["other"].id}"' in page
    assert "Ash class news" in senior.get(f"/stories/class/{world['other'].id}").get_data(as_text=True)
    looks = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "monitoring.viewed"))
    assert [(entry.target_id, entry.detail) for entry in looks] == [(world["other"].id, {"what": "story"})]
    parent_page = login_as(world["people"]["zosia's parent"]).get("/stories/").get_data(as_text=True)
    assert f'/stories/class/{world["other"].id}"' not in parent_page


def test_a_double_tap_on_publish_makes_one_post(world, login_as):
    """SECURITY.md 31: the new-post form carries a key; the same form again shows the first post."""
    teacher = login_as(world["teacher"])
    form = teacher.get(f"/stories/new?class={world['klass'].id}").get_data(as_text=True)
    key = re.search(r'name="request_key" value="([0-9a-f]{32})"', form).group(1)
    data = {"audience": str(world["klass"].id), "kind": "news", "body": "Once only", "action": "publish",
            "request_key": key, "no_child": []}
    first = teacher.post("/stories/new", data=data)
    again = teacher.post("/stories/new", data=data)
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(Post)) == 1


def test_two_identical_concurrent_new_posts_make_one_row(world, app):
    import threading

    from app.models import SchoolClass, User
    from app.services import stories
    from app.services.stories import PostDraft
    ids = (world["teacher"].id, world["klass"].id)
    db.session.commit()
    start, errors, made = threading.Barrier(2), [], []

    def publish():
        with app.app_context():
            try:
                start.wait(timeout=20)
                teacher, klass = db.session.get(User, ids[0]), db.session.get(SchoolClass, ids[1])
                made.append(stories.save_post(None, author=teacher, school=teacher.school, school_class=klass,
                                              draft=PostDraft(kind="news", body="Same tap"), media_list=[],
                                              pupils_by_id={}, publish_at=utcnow(), request_key="p" * 32).id)
            except Exception as error:  # reported below
                errors.append(error)

    threads = [threading.Thread(target=publish) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert db.session.scalar(select(func.count()).select_from(Post)) == 1 and len(set(made)) == 1
