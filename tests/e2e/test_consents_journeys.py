"""Photo consent as people use it: a parent answers on a phone with one tap either way (with and
without JavaScript); the office records a paper form on the class list; a teacher reads the list
and a pupil's history. axe-core on every page and after every swap."""
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, sign_in
from tests.factories import PASSWORD, make_class, make_head, make_parent, make_pupil, make_school, make_teacher


def _world(live_server):
    with live_server.app.app_context():
        school = make_school(name="Broughton Primary")
        klass = make_class(school, name="3K", year_group=4)
        teacher = make_teacher(school, classes=[klass], name="Mrs King", email="king@example.org")
        head = make_head(school, name="Mr Okafor", email="head@example.org")
        zosia = make_pupil(klass, name="Zosia K.")
        ayaan = make_pupil(klass, name="Ayaan H.")
        parent = make_parent(school, children=[zosia], email="anna@example.org")
        return {"class_id": klass.id, "zosia": zosia.id, "ayaan": ayaan.id, "teacher": teacher.email,
                "head": head.email, "parent": parent.email}


def _answer(section):
    return section.locator("p", has_text="Your answer:")


def test_parent_answers_and_changes_their_mind_with_one_tap(live_server, page, check_axe):
    world = _world(live_server)
    sign_in(page, world["parent"], PASSWORD)
    page.wait_for_url(re.compile(r"/family/"))
    page.goto(f"/family/child/{world['zosia']}")
    section = page.locator("#photo-consent")
    expect(section.get_by_role("heading", name="Photos on the Class Story")).to_be_visible()
    expect(_answer(section)).to_contain_text("Not recorded")
    check_axe(page)
    url = page.url
    section.get_by_role("button", name="No, keep photos of Zosia K. off the class page").click()
    expect(_answer(section)).to_contain_text("No")
    expect(section.get_by_role("status")).to_have_text("Saved: photos of Zosia K. stay off the class page.")
    assert page.url == url  # only the section was swapped
    check_axe(page)
    # Changing it back takes the same one tap.
    section.get_by_role("button", name="Yes, photos of Zosia K. may be shared with the class").click()
    expect(_answer(section)).to_contain_text("Yes")
    expect(section.get_by_role("status")).to_have_text("Saved: photos of Zosia K. may be shared with the class.")
    assert page.evaluate("document.activeElement.id") == "photo-consent-yes"
    check_axe(page)


def test_parent_answers_without_javascript(live_server, make_context):
    world = _world(live_server)
    page = make_context(java_script_enabled=False).new_page()
    sign_in(page, world["parent"], PASSWORD)
    page.wait_for_url(re.compile(r"/family/"))
    page.goto(f"/family/child/{world['zosia']}")
    page.get_by_role("button", name="No, keep photos of Zosia K. off the class page").click()
    page.wait_for_url(re.compile(rf"/family/child/{world['zosia']}#photo-consent$"))
    expect(page.get_by_text("Saved: photos of Zosia K. stay off the class page.")).to_be_visible()
    expect(_answer(page.locator("#photo-consent"))).to_contain_text("No")
    page.get_by_role("button", name="Yes, photos of Zosia K. may be shared with the class").click()
    expect(_answer(page.locator("#photo-consent"))).to_contain_text("Yes")


@pytest.mark.parametrize("viewport", [DESKTOP], ids=["1024px"])
def test_office_records_a_paper_form_and_a_teacher_reads_the_history(live_server, page, make_context, check_axe):
    world = _world(live_server)
    sign_in(page, world["head"], PASSWORD)
    page.wait_for_url(re.compile(r"/classes/$"))
    page.goto(f"/classes/{world['class_id']}")
    page.get_by_role("link", name="Photo consent").click()
    expect(page.get_by_role("heading", name=re.compile("Photo consent"))).to_be_visible()
    check_axe(page)
    row = page.locator(f"#pupil-{world['ayaan']}")
    expect(row).to_contain_text("Not recorded")
    row.get_by_role("button", name="No, on paper").click()
    expect(row.locator(".badge")).to_have_text("No")
    expect(row.get_by_role("status")).to_have_text("Saved: photos of Ayaan H. stay off the class page.")
    check_axe(page)

    teacher = make_context().new_page()
    sign_in(teacher, world["teacher"], PASSWORD)
    teacher.wait_for_url(re.compile(r"/classes/$"))
    teacher.goto(f"/consents/classes/{world['class_id']}")
    expect(teacher.locator(f"#pupil-{world['ayaan']} .badge")).to_have_text("No")
    expect(teacher.get_by_role("button", name="No, on paper")).to_have_count(0)  # read-only for teachers
    teacher.locator(f"#pupil-{world['ayaan']}").get_by_role("link", name="History").click()
    expect(teacher.get_by_role("heading", name="Ayaan H.")).to_be_visible()
    expect(teacher.get_by_role("cell", name="On a paper form, recorded by the office")).to_be_visible()
    expect(teacher.get_by_role("cell", name="Mr Okafor")).to_be_visible()
    expect(teacher.get_by_role("cell", name="Version 1")).to_be_visible()
    check_axe(teacher)
