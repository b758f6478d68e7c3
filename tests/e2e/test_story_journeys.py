"""The Class Story as people use it: a teacher posts three photos of consenting pupils from an iPad
and a parent sees them on a phone; a teacher tags a pupil without consent, is stopped, and puts the
photo on that pupil's own story, which only that family sees; a parent likes and comments with
JavaScript off."""
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, sign_in
from tests.factories import (
    PASSWORD,
    make_class,
    make_parent,
    make_post,
    make_pupil,
    make_school,
    make_teacher,
    set_consent,
)

IPAD = {"width": 1024, "height": 768}


def _world(live_server):
    with live_server.app.app_context():
        school = make_school(name="Broughton Primary")
        klass = make_class(school, name="3K", year_group=4)
        teacher = make_teacher(school, classes=[klass], name="Mrs King", email="king@example.org")
        zosia = set_consent(make_pupil(klass, name="Zosia K."), "yes")
        ayaan = set_consent(make_pupil(klass, name="Ayaan H."), "yes")
        noor = make_pupil(klass, name="Noor A.")  # no consent recorded
        zosia_parent = make_parent(school, children=[zosia], email="anna@example.org")
        make_parent(school, children=[ayaan], email="farah@example.org")
        make_parent(school, children=[noor], email="noor.family@example.org")
        return {"class_id": klass.id, "teacher": teacher.email, "parent": zosia_parent.email,
                "teacher_id": teacher.id, "noor": noor.id}


def _photos(tmp_path, count):
    from PIL import Image, ImageDraw
    paths = []
    for n in range(count):
        image = Image.new("RGB", (1200, 900), (240, 230 - n * 30, 200))
        ImageDraw.Draw(image).ellipse((200 + n * 100, 200, 700, 700), fill=(30 + n * 60, 90, 160))
        path = tmp_path / f"work-{n}.jpg"
        image.save(path, "JPEG", quality=85)
        paths.append(str(path))
    return paths


@pytest.mark.parametrize("viewport", [IPAD], ids=["1024px"])
def test_teacher_posts_three_photos_and_a_parent_sees_them(live_server, make_context, page, check_axe, tmp_path):
    world = _world(live_server)
    sign_in(page, world["teacher"], PASSWORD)
    page.wait_for_url(re.compile(r"/classes/"))
    page.goto(f"/stories/new?class={world['class_id']}")
    check_axe(page)
    page.get_by_label("Message").fill("Our Roman shields are finished!\nMore photos next week.")
    page.get_by_label("Celebration").check()
    page.get_by_label("Add files").set_input_files(_photos(tmp_path, 3))
    items = page.locator(".media-item")
    expect(items).to_have_count(3, timeout=20_000)  # each uploaded on its own, with progress
    expect(page.get_by_label("Message")).to_have_value("Our Roman shields are finished!\nMore photos next week.")
    for n in range(3):
        item = items.nth(n)
        item.locator("label.tag", has_text="Zosia K.").click()
        if n == 1:
            item.locator("label.tag", has_text="Ayaan H.").click()
        item.get_by_label(re.compile("Describe it")).fill(f"Shield number {n + 1}")
    check_axe(page)
    page.get_by_role("button", name="Publish", exact=True).click()
    page.wait_for_url(re.compile(r"/stories/posts/\d+"))
    expect(page.get_by_text("Your post is on the story.")).to_be_visible()

    parent = make_context(viewport=PHONE).new_page()
    sign_in(parent, world["parent"], PASSWORD)
    parent.wait_for_url(re.compile(r"/family/"))
    parent.goto("/stories/")
    post = parent.locator("article.post").first
    expect(post).to_contain_text("Our Roman shields are finished!")
    images = post.locator(".post-media img")
    expect(images).to_have_count(3)
    for n in range(3):
        expect(images.nth(n)).to_have_attribute("alt", f"Shield number {n + 1}")
        expect(images.nth(n)).to_have_attribute("loading", "lazy")
        assert images.nth(n).get_attribute("width") and images.nth(n).get_attribute("height")
    images.first.scroll_into_view_if_needed()
    for n in range(3):  # each photo really arrives
        expect(images.nth(n)).to_have_js_property("complete", True)
        assert images.nth(n).evaluate("img => img.naturalWidth") > 0
    check_axe(parent)


@pytest.mark.parametrize("viewport", [PHONE], ids=["390px"])
def test_a_pupil_without_consent_stops_the_photo_which_goes_on_their_own_story(live_server, make_context, page,
                                                                                check_axe, tmp_path, guard):
    guard.allow_console(r"status of (422|404)")  # the refused publish, and another family's 404s
    world = _world(live_server)
    sign_in(page, world["teacher"], PASSWORD)
    page.wait_for_url(re.compile(r"/classes/"))
    page.goto(f"/stories/new?class={world['class_id']}")
    page.get_by_label("Message").fill("Painting outside")
    page.get_by_label("Add files").set_input_files(_photos(tmp_path, 1))
    item = page.locator(".media-item")
    expect(item).to_have_count(1, timeout=20_000)
    item.locator("label.tag", has_text="Noor A.").click()
    page.get_by_role("button", name="Publish", exact=True).click()
    alert = page.locator(".media-item .error")
    expect(alert).to_contain_text("Noor A.")
    expect(alert).to_contain_text("can't go on the Class Story")
    expect(page.get_by_label("Message")).to_have_value("Painting outside")
    check_axe(page)
    page.get_by_role("button", name="Put it on Noor A.'s own story instead").click()
    expect(page.get_by_text("The photo is on Noor A.'s own story")).to_be_visible()
    expect(page.locator(".media-item")).to_have_count(0)

    noor_family = make_context(viewport=PHONE).new_page()
    sign_in(noor_family, "noor.family@example.org", PASSWORD)
    noor_family.wait_for_url(re.compile(r"/family/"))
    noor_family.goto(f"/portfolio/pupils/{world['noor']}")
    expect(noor_family.locator("article.post img")).to_have_count(1)
    src = noor_family.locator("article.post img").get_attribute("src")
    check_axe(noor_family)

    other = make_context(viewport=PHONE).new_page()
    sign_in(other, world["parent"], PASSWORD)
    other.wait_for_url(re.compile(r"/family/"))
    assert other.goto(f"/portfolio/pupils/{world['noor']}").status == 404
    assert other.goto(src).status == 404
    other.goto("/stories/")
    expect(other.locator(f"img[src='{src}']")).to_have_count(0)


@pytest.mark.parametrize("viewport", [PHONE], ids=["390px"])
def test_parent_likes_and_comments_with_javascript_off(live_server, make_context, check_axe):
    world = _world(live_server)
    with live_server.app.app_context():
        from app.extensions import db
        from app.models import User
        teacher = db.session.get(User, world["teacher_id"])
        from app.models import SchoolClass
        make_post(teacher, db.session.get(SchoolClass, world["class_id"]), body="Harvest festival on Friday")
    page = make_context(java_script_enabled=False).new_page()
    sign_in(page, world["parent"], PASSWORD)
    page.wait_for_url(re.compile(r"/family/"))
    page.goto("/stories/")
    post = page.locator("article.post").first
    expect(post).to_contain_text("Harvest festival on Friday")
    post.get_by_role("button", name="Like").click()
    page.wait_for_load_state()
    post = page.locator("article.post").first
    expect(post.get_by_role("button", name="Like")).to_have_attribute("aria-pressed", "true")
    expect(post).to_contain_text("1 like")
    post.get_by_role("link", name="0 comments").click()
    page.get_by_label("Your comment").fill("Zosia is so excited!")
    page.get_by_role("button", name="Add comment").click()
    expect(page.get_by_text("Your comment has been added.")).to_be_visible()
    expect(page.locator(".comment-list")).to_contain_text("Zosia is so excited!")
    post_path = page.url.split("#")[0]

    # axe needs scripts: the same pages, as they are now, in a browser with JavaScript on.
    seen = make_context().new_page()
    sign_in(seen, world["parent"], PASSWORD)
    seen.wait_for_url(re.compile(r"/family/"))
    seen.goto("/stories/")
    expect(seen.locator("article.post .like")).to_have_attribute("aria-pressed", "true")
    check_axe(seen)
    seen.goto(post_path)
    check_axe(seen)


@pytest.mark.parametrize("viewport", [PHONE], ids=["390px"])
def test_on_a_trip_a_failed_upload_is_tried_again_and_nothing_typed_is_lost(live_server, page, tmp_path, guard):
    guard.allow_console(r"ERR_FAILED|ERR_CONNECTION")  # the dropped upload, on purpose
    world = _world(live_server)
    sign_in(page, world["teacher"], PASSWORD)
    page.wait_for_url(re.compile(r"/classes/"))
    page.goto(f"/stories/new?class={world['class_id']}")
    page.get_by_label("Message").fill("Day two of the residential: canoeing!")
    dropped = []

    def drop_first(route):
        if not dropped:
            dropped.append(route.request.url)
            route.abort("connectionfailed")
        else:
            route.continue_()
    page.route("**/stories/uploads", drop_first)
    page.get_by_label("Add files").set_input_files(_photos(tmp_path, 2))
    expect(page.locator(".upload-row .error")).to_contain_text("did not upload")
    expect(page.locator(".media-item")).to_have_count(1, timeout=20_000)  # the second went through
    page.get_by_role("button", name="Try again").click()
    expect(page.locator(".media-item")).to_have_count(2, timeout=20_000)
    expect(page.locator(".upload-row")).to_have_count(0)
    expect(page.get_by_label("Message")).to_have_value("Day two of the residential: canoeing!")
    for n in range(2):
        page.locator(".media-item").nth(n).get_by_label("No child can be identified in it").check()
    page.get_by_role("button", name="Publish", exact=True).click()
    page.wait_for_url(re.compile(r"/stories/posts/\d+"))
    expect(page.locator("article.post .post-media img")).to_have_count(2)
