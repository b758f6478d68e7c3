"""Consent and transparency as families use them (issue 8): a parent withdraws photo consent and
another parent no longer sees that photo, on the page or by its address; the head finds the
withdrawal in the audit log and can publish a new privacy notice; the privacy pages for parents
and pupils read well on a phone. axe-core on every page."""
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, sign_in
from tests.factories import (
    PASSWORD,
    make_class,
    make_head,
    make_parent,
    make_photo,
    make_post,
    make_pupil,
    make_school,
    make_teacher,
    set_consent,
)


def _world(live_server):
    with live_server.app.app_context():
        school = make_school(name="Broughton Primary")
        klass = make_class(school, name="3K", year_group=4)
        teacher = make_teacher(school, classes=[klass], name="Mrs King", email="king@example.org")
        head = make_head(school, name="Mr Okafor", email="head@example.org")
        zosia = set_consent(make_pupil(klass, name="Zosia K."), "yes")
        ayaan = set_consent(make_pupil(klass, name="Ayaan H."), "yes")
        make_parent(school, children=[zosia], email="anna@example.org", name="Anna Kowalska")
        make_parent(school, children=[ayaan], email="farah@example.org")
        of_zosia = make_photo(teacher, tags=[zosia], colour=(30, 90, 160))
        of_ayaan = make_photo(teacher, tags=[ayaan], colour=(160, 90, 30))
        of_zosia.alt_text, of_ayaan.alt_text = "Zosia's shield", "Ayaan's shield"
        make_post(teacher, klass, body="Our Roman shields are finished!", media=[of_zosia, of_ayaan])
        return {"zosia": zosia.id, "of_zosia": of_zosia.id, "of_ayaan": of_ayaan.id, "head": head.email}


@pytest.mark.parametrize("viewport", [PHONE], ids=["390px"])
def test_a_parent_withdraws_photo_consent_and_another_parent_no_longer_sees_that_photo(
        live_server, make_context, page, check_axe):
    world = _world(live_server)
    other = make_context().new_page()
    sign_in(other, "farah@example.org", PASSWORD)
    other.wait_for_url(re.compile(r"/family/"))
    other.goto("/stories/")
    images = other.locator("article.post").first.locator(".post-media img")
    expect(images).to_have_count(2)
    zosia_photo = f"/media/{world['of_zosia']}/feed"
    assert other.request.get(zosia_photo).status == 200

    sign_in(page, "anna@example.org", PASSWORD)
    page.wait_for_url(re.compile(r"/family/"))
    page.goto(f"/family/child/{world['zosia']}")
    section = page.locator("#photo-consent")
    section.get_by_role("button", name="No, keep photos of Zosia K. off the class page").click()
    expect(section.get_by_role("status")).to_have_text("Saved: photos of Zosia K. stay off the class page.")
    check_axe(page)

    # At once: the other family's next look shows only their own child's photo, and the address of
    # Zosia's photo no longer answers.
    other.reload()
    images = other.locator("article.post").first.locator(".post-media img")
    expect(images).to_have_count(1)
    expect(images.first).to_have_attribute("alt", "Ayaan's shield")
    expect(other.locator("article.post").first).to_contain_text("Our Roman shields are finished!")
    assert other.request.get(zosia_photo).status == 404
    assert other.request.get(f"/media/{world['of_ayaan']}/feed").status == 200
    check_axe(other)

    # The head finds the withdrawal in the audit log, with who gave it.
    head = make_context().new_page()
    sign_in(head, world["head"], PASSWORD)
    head.wait_for_url(re.compile(r"/classes/"))
    head.goto("/audit/")
    head.get_by_label("What happened").select_option("consent.photo")
    head.get_by_role("button", name="Show").click()
    entries = head.locator(".audit-entry")
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text("consent.photo")
    expect(entries.first).to_contain_text("Anna Kowalska")
    check_axe(head)
    # and can publish a new privacy notice, starting from Hearth's suggested text.
    head.goto("/consent/documents")
    check_axe(head)
    head.get_by_role("link", name="Start from Hearth's suggested text").first.click()
    expect(head.get_by_label("Text")).to_have_value(re.compile("senior leaders, who monitor Hearth"))
    check_axe(head)


@pytest.mark.parametrize("viewport", [PHONE], ids=["390px"])
def test_the_privacy_pages_for_families_and_for_pupils(live_server, page, check_axe):
    world = _world(live_server)
    page.goto("/privacy/")  # signed out
    expect(page.get_by_role("heading", name="Your family's information on Hearth")).to_be_visible()
    check_axe(page)
    sign_in(page, "anna@example.org", PASSWORD)
    page.wait_for_url(re.compile(r"/family/"))
    page.goto("/privacy/")
    photos = page.locator(".privacy-children")
    expect(photos).to_contain_text("Zosia K.")
    page.get_by_text(re.compile("The school's full privacy notice")).click()
    expect(page.get_by_text(re.compile("senior leaders, who monitor Hearth"))).to_be_visible()
    check_axe(page)
    photos.get_by_role("link", name="Change the answer for Zosia K.").click()
    page.wait_for_url(re.compile(rf"/family/child/{world['zosia']}#photo-consent$"))
    page.goto("/privacy/pupils")
    expect(page.get_by_text("Tell a grown-up if something online upsets you.")).to_be_visible()
    check_axe(page)
