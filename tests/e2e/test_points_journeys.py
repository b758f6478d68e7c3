"""Team points as people use them: a teacher on an iPad awards to one pupil and to the whole class and
undoes one, while a parent's page, left open, shows the new points without a reload; a parent logs
reading and the teacher's approval turns it into a point; the class screen without JavaScript."""
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE, sign_in
from tests.factories import PASSWORD, make_class, make_parent, make_pupil, make_school, make_teacher

IPAD = {"width": 1024, "height": 768}


def _world(live_server):
    with live_server.app.app_context():
        school = make_school(name="Broughton Primary")
        klass = make_class(school, name="3K", year_group=4)
        teacher = make_teacher(school, classes=[klass], name="Mrs King", email="king@example.org")
        zosia = make_pupil(klass, name="Zosia K.")
        for name in ("Ayaan H.", "Nusrat B.", "Ionut P."):
            make_pupil(klass, name=name)
        parent = make_parent(school, children=[zosia], email="anna@example.org")
        return {"class_id": klass.id, "zosia": zosia.id, "teacher": teacher.email, "parent": parent.email}


def _count(page, label):
    return int(page.locator(".points-sum div", has_text=label).locator("dd").inner_text())


@pytest.mark.parametrize("viewport", [IPAD], ids=["1024px"])
def test_teacher_awards_and_undoes_while_a_parent_watches(live_server, browser, make_context, page, check_axe):
    world = _world(live_server)
    # The parent's phone, left open on their child's page.
    parent = make_context(viewport=PHONE).new_page()
    sign_in(parent, world["parent"], PASSWORD)
    parent.wait_for_url(re.compile(r"/family/"))
    parent.goto(f"/family/child/{world['zosia']}")
    expect(parent.get_by_role("heading", name="Team points")).to_be_visible()
    check_axe(parent)
    assert _count(parent, "Today") == 0

    # The teacher's iPad.
    sign_in(page, world["teacher"], PASSWORD)
    page.wait_for_url(re.compile(r"/classes/"))
    page.goto(f"/points/class/{world['class_id']}")
    check_axe(page)
    page.get_by_text("Zosia K.").click()               # tap a tile ...
    page.get_by_role("button", name=re.compile("Teamwork")).click()  # ... tap a category
    expect(page.locator("#points-status")).to_contain_text("Zosia K.")
    expect(page.locator(".pupil-tile", has_text="Zosia K.").locator(".tile-count")).to_contain_text("1")

    # The parent sees it arrive, without reloading.
    expect(parent.locator(".points-sum div", has_text="Today").locator("dd")).to_have_text("1", timeout=15000)
    expect(parent.get_by_text("Teamwork").first).to_be_visible()

    # The whole class, in one tap, then undo.
    page.get_by_role("button", name="Select all").click()
    expect(page.locator(".pupil-tile input:checked")).to_have_count(4)
    page.get_by_role("button", name=re.compile("Showing Values")).click()
    expect(page.locator("#points-status")).to_contain_text("4")
    expect(page.locator(".pupil-tile", has_text="Zosia K.").locator(".tile-count")).to_contain_text("2")
    expect(parent.locator(".points-sum div", has_text="Today").locator("dd")).to_have_text("2", timeout=15000)
    page.get_by_role("button", name="Undo").click()
    expect(page.locator(".pupil-tile", has_text="Zosia K.").locator(".tile-count")).to_contain_text("1")
    expect(parent.locator(".points-sum div", has_text="Today").locator("dd")).to_have_text("1", timeout=15000)
    check_axe(page)
    check_axe(parent)


def test_class_screen_without_javascript(live_server, make_context):
    world = _world(live_server)
    page = make_context(java_script_enabled=False, viewport=DESKTOP).new_page()
    sign_in(page, world["teacher"], PASSWORD)
    page.wait_for_url(re.compile(r"/classes/"))
    page.goto(f"/points/class/{world['class_id']}")
    page.get_by_text("Ayaan H.").click()
    page.get_by_text("Nusrat B.").click()
    page.get_by_label(re.compile("Note")).fill("Brilliant group work")
    page.get_by_role("button", name=re.compile("Teamwork")).click()
    expect(page.locator("#points-status")).to_contain_text("Teamwork")
    expect(page.locator(".pupil-tile", has_text="Ayaan H.").locator(".tile-count")).to_contain_text("1")
    expect(page.locator(".pupil-tile", has_text="Nusrat B.").locator(".tile-count")).to_contain_text("1")
    expect(page.locator(".pupil-tile", has_text="Zosia K.").locator(".tile-count")).to_contain_text("0")
    page.get_by_role("button", name="Undo").click()
    expect(page.locator(".pupil-tile", has_text="Ayaan H.").locator(".tile-count")).to_contain_text("0")
    # Reloading the page (a re-sent form on a weak connection) never awards twice.
    page.get_by_role("button", name="Select all").click()
    page.get_by_role("button", name=re.compile("Showing Values")).click()
    # Wait for the redirect to land before reloading (reloading mid-navigation detaches the page).
    expect(page.locator("#points-status")).to_contain_text("Showing Values")
    expect(page.locator(".pupil-tile", has_text="Zosia K.").locator(".tile-count")).to_contain_text("1")
    page.reload()
    expect(page.locator(".pupil-tile", has_text="Zosia K.").locator(".tile-count")).to_contain_text("1")


@pytest.mark.parametrize("viewport", [PHONE], ids=["390px"])
def test_parent_logs_reading_and_the_teacher_approves_it(live_server, page, make_context, check_axe):
    world = _world(live_server)
    sign_in(page, world["parent"], PASSWORD)
    page.wait_for_url(re.compile(r"/family/"))
    page.goto(f"/family/child/{world['zosia']}")
    page.get_by_role("link", name="Record reading").click()
    expect(page.get_by_role("heading", name="Reading at home")).to_be_visible()
    check_axe(page)
    page.get_by_label("Minutes read").fill("900")
    page.get_by_label("What was read").fill("The Owl Who Was Afraid of the Dark")
    page.get_by_role("button", name="Record reading").click()
    expect(page.get_by_text(re.compile("from 1 to"))).to_be_visible()   # refused, with the reason
    expect(page.get_by_label("What was read")).to_have_value("The Owl Who Was Afraid of the Dark")
    page.get_by_label("Minutes read").fill("20")
    page.get_by_role("button", name="Record reading").click()
    expect(page.get_by_text("The Owl Who Was Afraid of the Dark").first).to_be_visible()

    teacher = make_context(viewport=IPAD).new_page()
    sign_in(teacher, world["teacher"], PASSWORD)
    teacher.wait_for_url(re.compile(r"/classes/"))
    teacher.goto("/reading/queue")
    check_axe(teacher)
    expect(teacher.get_by_text("The Owl Who Was Afraid of the Dark")).to_be_visible()
    teacher.get_by_role("button", name="Approve all").click()
    expect(teacher.get_by_text("The Owl Who Was Afraid of the Dark")).to_have_count(0)

    page.goto(f"/family/child/{world['zosia']}")
    expect(page.locator(".points-sum div", has_text="Today").locator("dd")).to_have_text("1")
    expect(page.get_by_text("Completing reading/homework at home").first).to_be_visible()
    page.goto(f"/reading/child/{world['zosia']}")
    expect(page.get_by_text(re.compile("earned a point", re.I)).first).to_be_visible()


@pytest.mark.parametrize("viewport", [PHONE], ids=["390px"])
def test_teacher_on_a_phone_reaches_the_categories_without_scrolling_back(live_server, page, check_axe):
    """On a trip, a teacher has only a phone: the categories stay at the bottom of the screen."""
    world = _world(live_server)
    sign_in(page, world["teacher"], PASSWORD)
    page.wait_for_url(re.compile(r"/classes/"))
    page.goto(f"/points/class/{world['class_id']}")
    check_axe(page)
    page.get_by_text("Zosia K.").click()
    teamwork = page.get_by_role("button", name=re.compile("Teamwork"))
    page.get_by_text("Ayaan H.").click()
    assert page.locator(".points-dock").bounding_box()["y"] < 844  # in view without scrolling
    teamwork.click()
    expect(page.locator("#points-status")).to_contain_text("for 2 pupils")
    check_axe(page)
