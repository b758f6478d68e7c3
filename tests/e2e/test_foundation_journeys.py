"""The foundation's journeys, as people do them in Chromium: a head imports a class and prints its
passcode letters; a parent joins with a passcode, then adds a second child; a pupil signs in with the
class code and pictures; the parent's journey again with JavaScript off. axe-core on every page."""
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.extensions import db
from tests.e2e.conftest import DESKTOP, PHONE, sign_in
from tests.factories import PASSWORD, make_class, make_head, make_pupil, make_school, make_teacher

SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "pupils-mis-export.csv"
# The same shape as the management system's export, for a checkout without ../shared.
FALLBACK = ("\ufeffUPN,Legal Surname,Legal Forename,Preferred Forename,Year,Reg Group,Gender,Date of Birth,"
            "Home Language\r\n"
            "H982597919074,Kowalski,Zofia,Zosia,Year 3,3K,F,2017-11-02,Polish\r\n"
            "U337887623286,Wiśniewski,Łukasz,,Year 3,3K,M,2018-03-14,Polish\r\n"
            "T695896935049,Ahmed,Maryam,مريم,Year 3,3K,F,2017-12-08,Arabic\r\n"
            "Y258991394411,Popescu,Ionuț,,Year 3,3K,M,2018-05-19,Romanian\r\n")


def _sample_csv(tmp_path):
    if SAMPLE.exists():
        return SAMPLE
    path = tmp_path / "pupils.csv"
    path.write_bytes(FALLBACK.encode("utf-8"))
    return path


def _count_3k_rows(csv_path):
    return sum(1 for line in csv_path.read_text(encoding="utf-8-sig").splitlines()[1:] if ",3K," in line)


@pytest.mark.parametrize("viewport", [DESKTOP], ids=["1024px"])
def test_head_imports_a_class_and_prints_its_letters(live_server, page, check_axe, tmp_path):
    csv_path = _sample_csv(tmp_path)
    with live_server.app.app_context():
        school = make_school(name="Broughton Primary")
        head = make_head(school, name="Ada Okafor")
        email = head.email
    sign_in(page, email, PASSWORD)
    page.wait_for_url(re.compile(r"/classes/"))

    page.goto("/admin/import")
    check_axe(page)
    page.get_by_label("CSV file").set_input_files(str(csv_path))
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("heading", name="Check the import")).to_be_visible()
    expect(page.get_by_text("Zosia K.").first).to_be_visible()
    check_axe(page)
    page.get_by_role("button", name=re.compile(r"Import \d+ pupils")).click()
    expect(page.get_by_text(re.compile(r"Imported|imported"))).to_be_visible()

    page.goto("/classes/")
    page.get_by_role("link", name=re.compile(r"^3K")).click()
    expect(page.get_by_role("heading", name="3K")).to_be_visible()
    check_axe(page)
    page.get_by_role("link", name="Print passcode letters").click()
    check_axe(page)
    page.get_by_role("button", name="Make the letters").click()
    letters = page.locator("section.letter")
    expect(letters.first).to_be_visible()
    expected = _count_3k_rows(csv_path)
    assert letters.count() == expected
    assert page.locator("section.letter .qr svg").count() == expected
    codes = page.locator(".passcode").all_inner_texts()
    assert len(set(codes)) == expected and all(re.fullmatch(r"[A-Z2-9]{5}-[A-Z2-9]{5}", c) for c in codes)
    check_axe(page)


def _make_family_world(live_server):
    from app.services.passcodes import issue_passcodes
    with live_server.app.app_context():
        school = make_school(name="Broughton Primary")
        three_k = make_class(school, name="3K", year_group=4)
        reception = make_class(school, name="RW", year_group=1)
        teacher = make_teacher(school, classes=[three_k], name="Mrs King")
        zosia = make_pupil(three_k, name="Zosia K.")
        maja = make_pupil(reception, name="Maja K.")
        (_, first), = issue_passcodes([zosia], teacher)
        (_, second), = issue_passcodes([maja], teacher)
        db.session.commit()
    return first, second


def _parent_joins(page, check_axe, first, second, axe=True):
    # The QR code on the letter carries the passcode in the address.
    page.goto(f"/join?code={first}")
    expect(page.get_by_label("Passcode")).to_have_value(first)
    if axe:
        check_axe(page)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    expect(page.get_by_text("Zosia K.")).to_be_visible()
    if axe:
        check_axe(page)
    page.get_by_label("Your name").fill("Anna Kowalska")
    page.get_by_label("Email address").fill("anna@example.org")
    page.get_by_label("Choose a password").fill("our family secret")
    page.get_by_label("Type the password again").fill("our family secret")
    page.get_by_role("button", name="Create account").click()

    expect(page.get_by_role("heading", name="Before you start")).to_be_visible()
    if axe:
        check_axe(page)
    page.get_by_label("I have read the privacy notice").check()
    page.get_by_role("button", name="Continue").click()
    # Straight after linking, the child's page asks the photo question first.
    expect(page.get_by_role("heading", name="Zosia K.")).to_be_visible()
    expect(page.get_by_role("heading", name="Photos on the Class Story")).to_be_visible()
    if axe:
        check_axe(page)
    page.get_by_role("link", name="My children", exact=True).click()
    expect(page.get_by_role("heading", name="My children")).to_be_visible()
    expect(page.get_by_text("Zosia K.")).to_be_visible()

    # A second child, with a second passcode, on the same account.
    page.get_by_role("link", name="Add another child with a passcode").click()
    page.get_by_label("Passcode").fill(second.lower().replace("-", " "))  # typed loosely
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text(re.compile(r"Link Maja K\. \(RW\) to your account"))).to_be_visible()
    if axe:
        check_axe(page)
    page.get_by_role("button", name="Yes, link this child").click()
    expect(page.get_by_role("heading", name="Maja K.")).to_be_visible()
    expect(page.get_by_text("Maja K. is now linked to your account.")).to_be_visible()
    expect(page.get_by_role("heading", name="Photos on the Class Story")).to_be_visible()
    if axe:
        check_axe(page)
    page.get_by_role("link", name="My children", exact=True).click()
    expect(page.get_by_role("link", name=re.compile("Zosia K."))).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("Maja K."))).to_be_visible()


@pytest.mark.parametrize("viewport", [PHONE], ids=["390px"])
def test_parent_joins_with_a_passcode_then_adds_a_second_child(live_server, page, check_axe):
    first, second = _make_family_world(live_server)
    _parent_joins(page, check_axe, first, second)


def test_parent_journey_without_javascript(live_server, make_context, check_axe):
    first, second = _make_family_world(live_server)
    page = make_context(java_script_enabled=False).new_page()
    _parent_joins(page, check_axe, first, second, axe=False)  # axe needs scripts; checked above


def test_a_used_passcode_says_so_and_names_the_office(live_server, page, guard):
    from app.services.passcodes import issue_passcodes, redeem
    from tests.factories import make_parent
    with live_server.app.app_context():
        school = make_school(name="Broughton Primary", office_phone="0161 496 0999")
        klass = make_class(school, name="3K")
        pupil = make_pupil(klass, name="Zosia K.")
        (_, code), = issue_passcodes([pupil], None)
        redeem(code, make_parent(school))
    guard.allow_console(r"status of 4\d\d")
    page.goto("/join")
    page.get_by_label("Passcode").fill(code)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text(re.compile("already been used"))).to_be_visible()
    expect(page.locator("#office-contact").get_by_text("0161 496 0999")).to_be_visible()
    expect(page.get_by_label("Passcode")).to_have_value(code)
    assert "Zosia" not in page.content()


@pytest.mark.parametrize("viewport", [DESKTOP], ids=["1024px"])
def test_pupil_signs_in_with_class_code_and_pictures_then_signs_out(live_server, page, check_axe):
    with live_server.app.app_context():
        school = make_school(name="Broughton Primary")
        klass = make_class(school, name="RW", year_group=1, class_code="RWREDS")
        make_pupil(klass, name="Alfie J.", picture_password="moon-fish-car")
        make_pupil(klass, name="Tasnim R.", picture_password="sun-cat-tree")
    page.goto("/classroom/")
    check_axe(page)
    page.get_by_label(re.compile("class code", re.I)).fill("rwreds")
    page.get_by_role("button", name="Go").click()
    expect(page.get_by_role("heading", name="Tap your name")).to_be_visible()
    check_axe(page)
    page.get_by_role("link", name=re.compile("Tasnim R.")).click()
    expect(page.get_by_role("heading", name="Tap your pictures")).to_be_visible()
    check_axe(page)
    for picture in ("Sun", "Cat", "Tree"):
        page.get_by_role("button", name=picture, exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("Hello, Tasnim R."))).to_be_visible()
    check_axe(page)
    page.get_by_role("button", name="Sign out").click()
    # The iPad goes back to the class's sign-in screen, ready for the next child.
    expect(page.get_by_role("heading", name="Tap your name")).to_be_visible()
    page.goto("/classroom/me")
    expect(page).not_to_have_url(re.compile(r"/classroom/me$"))


@pytest.mark.parametrize("viewport", [DESKTOP], ids=["1024px"])
def test_quick_taps_on_a_slow_network_count_in_the_order_tapped(live_server, page):
    """A child taps faster than a weak connection answers: the taps wait in a queue, and each one
    must still send its own picture. (htmx reads a form's clicked button when a queued request
    leaves, not when it was tapped, so one shared form would send the last picture three times.)"""
    with live_server.app.app_context():
        school = make_school(name="Broughton Primary")
        klass = make_class(school, name="RW", year_group=1, class_code="RWREDS")
        make_pupil(klass, name="Tasnim R.", picture_password="sun-cat-tree")
    page.goto("/classroom/c/RWREDS")
    page.get_by_role("link", name=re.compile("Tasnim R.")).click()
    expect(page.get_by_role("heading", name="Tap your pictures")).to_be_visible()
    page.wait_for_function("() => window.htmx !== undefined")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 600,
                                                  "downloadThroughput": -1, "uploadThroughput": -1})
    for picture in ("Sun", "Cat", "Tree"):
        page.get_by_role("button", name=picture, exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("Hello, Tasnim R."))).to_be_visible(timeout=15_000)
