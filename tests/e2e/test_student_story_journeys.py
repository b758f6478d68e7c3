"""The Student Story as people use it: a Year 2 pupil signs in on the class iPad, photographs their
work and sends it; the teacher approves it for the class and likes it; the parent sees it and
comments; a classmate sees it only once it is shared and approved."""
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, sign_in
from tests.factories import PASSWORD, make_class, make_parent, make_pupil, make_school, make_teacher

IPAD = {"width": 1024, "height": 768}


def _pupil_signs_in(page, name, pictures):
    if page.get_by_role("heading", name="Tap your name").count() == 0:  # the iPad remembers its class
        page.goto("/classroom/")
        page.get_by_label(re.compile("class code", re.I)).fill("STARS2")
        page.get_by_role("button", name="Go").click()
    page.get_by_role("link", name=re.compile(name)).click()
    for picture in pictures:
        page.get_by_role("button", name=picture, exact=True).click()
    expect(page.get_by_role("heading", name=re.compile(f"Hello, {name}"))).to_be_visible()


def _work_photo(tmp_path):
    from PIL import Image, ImageDraw
    image = Image.new("RGB", (1600, 1200), (250, 248, 240))
    draw = ImageDraw.Draw(image)
    for n in range(8):
        draw.line((100, 150 + n * 120, 1500, 150 + n * 120), fill=(120, 140, 200), width=4)
    draw.ellipse((600, 300, 1000, 700), outline=(200, 60, 40), width=12)
    path = tmp_path / "my-work.jpg"
    image.save(path, "JPEG", quality=85)
    return str(path)


@pytest.mark.parametrize("viewport", [IPAD], ids=["1024px"])
def test_a_pupils_work_goes_to_the_teacher_the_family_and_then_the_class(live_server, make_context, page,
                                                                         check_axe, tmp_path):
    with live_server.app.app_context():
        school = make_school(name="Broughton Primary")
        klass = make_class(school, name="2S", year_group=3, class_code="STARS2")
        teacher = make_teacher(school, classes=[klass], name="Mr Sousa", email="sousa@example.org")
        amara = make_pupil(klass, name="Amara O.", picture_password="sun-cat-tree")
        make_pupil(klass, name="Leo B.", picture_password="moon-fish-car")
        make_parent(school, children=[amara], email="amara.family@example.org")
        class_id, teacher_email = klass.id, teacher.email

    # The pupil, on the class iPad.
    _pupil_signs_in(page, "Amara O.", ("Sun", "Cat", "Tree"))
    page.get_by_role("link", name="Add my work").click()
    check_axe(page)
    page.locator("#camera").set_input_files(_work_photo(tmp_path))  # the camera, as a test image
    expect(page.locator("#media-items img")).to_have_count(1, timeout=20_000)
    page.get_by_label(re.compile("caption|say", re.I)).first.fill("My number line to 100")
    page.get_by_label("Show my class").check()
    check_axe(page)
    page.get_by_role("button", name="Send to my teacher").click()
    expect(page.get_by_text(re.compile("teacher", re.I)).first).to_be_visible()
    expect(page.locator("main")).to_contain_text("My number line to 100")
    page.goto("/classroom/me")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Tap your name")).to_be_visible()

    # A classmate, on the same iPad: not shared yet, so nothing to see.
    _pupil_signs_in(page, "Leo B.", ("Moon", "Fish", "Car"))
    page.goto(f"/portfolio/class/{class_id}")
    expect(page.locator("main")).not_to_contain_text("My number line to 100")
    page.goto("/classroom/me")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Tap your name")).to_be_visible()

    # The teacher approves it for the class and likes it.
    teacher_page = make_context().new_page()
    sign_in(teacher_page, teacher_email, PASSWORD)
    teacher_page.wait_for_url(re.compile(r"/classes/"))
    teacher_page.goto("/portfolio/queue")
    expect(teacher_page.locator("main")).to_contain_text("My number line to 100")
    check_axe(teacher_page)
    teacher_page.get_by_role("button", name="Approve and share with the class").first.click()
    expect(teacher_page.locator("main")).not_to_contain_text("My number line to 100")
    teacher_page.goto(f"/portfolio/class/{class_id}")
    item = teacher_page.locator("article", has_text="My number line to 100")
    item.get_by_role("button", name="Like").click()
    expect(item.get_by_role("button", name="Like")).to_have_attribute("aria-pressed", "true")

    # The parent sees it on their phone and comments.
    parent = make_context(viewport=PHONE).new_page()
    sign_in(parent, "amara.family@example.org", PASSWORD)
    parent.wait_for_url(re.compile(r"/family/"))
    parent.get_by_role("link", name=re.compile("Amara O.")).first.click()
    parent.get_by_role("link", name="Amara O.'s story").click()
    work = parent.locator("article", has_text="My number line to 100")
    expect(work.locator("img")).to_have_count(1)
    check_axe(parent)
    work.get_by_role("link", name=re.compile("comment")).click()
    parent.get_by_label("Your comment").fill("Brilliant work, Amara!")
    parent.get_by_role("button", name="Add comment").click()
    expect(parent.locator(".comment-list")).to_contain_text("Brilliant work, Amara!")
    check_axe(parent)

    # The classmate now sees it on the Student Story; a classmate's family would not.
    _pupil_signs_in(page, "Leo B.", ("Moon", "Fish", "Car"))
    page.get_by_role("link", name="Our Student Story").click()
    expect(page.locator("main")).to_contain_text("My number line to 100")
    check_axe(page)
