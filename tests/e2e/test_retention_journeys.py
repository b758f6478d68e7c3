"""Retention in a real browser (htmx on): the head corrects a period, then erases a pupil after
typing a wrong name once. axe-core on each page, errors included."""
import re
from datetime import date

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, make_class, make_head, make_parent, make_pupil, make_school


def _world(live_server):
    with live_server.app.app_context():
        school = make_school(name="Broughton Primary")
        klass = make_class(school, name="3K", year_group=4)
        pupil = make_pupil(klass, name="Zosia K.")
        leaver = make_pupil(klass, name="Leon L.", status="left", left_on=date(2026, 7, 20))
        make_parent(school, children=[pupil, leaver])
        head = make_head(school, email="head@example.org")
        return {"head": head.email, "pupil": pupil.id, "leaver": leaver.id}


def test_the_head_sets_a_period_and_erases_a_pupil(live_server, page, check_axe):
    world = _world(live_server)
    sign_in(page, world["head"], PASSWORD)
    page.wait_for_url(re.compile(r"/(staff|classes|admin)?"))
    page.goto("/retention/")
    check_axe(page)
    box = page.get_by_label("Class Story posts")
    box.fill("3")
    page.get_by_role("button", name="Save the periods").click()
    expect(page.locator("#posts-error")).to_have_text(re.compile("from 6 to 120"))
    expect(box).to_have_value("3")
    check_axe(page)
    box.fill("12")
    page.get_by_role("button", name="Save the periods").click()
    expect(page.get_by_text("The retention periods have been saved.")).to_be_visible()
    expect(page.get_by_label("Class Story posts")).to_have_value("12")

    page.goto(f"/admin/pupils/{world['pupil']}")
    page.get_by_role("link", name="Erase this pupil…").click()
    page.wait_for_url(re.compile(rf"/retention/pupils/{world['pupil']}/erase$"))
    expect(page.get_by_role("heading", name="What will be deleted")).to_be_visible()
    check_axe(page)
    page.get_by_label("Type the pupil's name to confirm").fill("Zosia")
    page.get_by_role("button", name="Erase this pupil").click()
    expect(page.locator("#confirm_name-error")).to_have_text(re.compile("That is not the pupil's name"))
    check_axe(page)
    page.get_by_label("Type the pupil's name to confirm").fill("Zosia K.")
    page.get_by_role("button", name="Erase this pupil").click()
    page.wait_for_url(re.compile(r"/retention/$"))
    expect(page.get_by_text("Zosia K. has been erased from Hearth.")).to_be_visible()
    expect(page.get_by_role("link", name="Erase now Leon L.")).to_be_visible()
    check_axe(page)
