"""Messaging as people use it: a parent writes on the Friday evening before half-term and is told
when to expect a reply; the teacher reads it on the Monday after, and the parent's open page shows
"Seen"; a teacher writes to five families at once; a pupil writes when their year group may."""
import re
from datetime import UTC, date, datetime

import pytest
import time_machine
from playwright.sync_api import expect

from app.extensions import db
from app.models.calendar import CalendarEntry
from app.models.messaging import PupilMessagingYear
from tests.e2e.conftest import PHONE, sign_in
from tests.factories import PASSWORD, make_class, make_parent, make_pupil, make_school, make_teacher

IPAD = {"width": 1024, "height": 768}


def _school(live_server, families=1):
    with live_server.app.app_context():
        school = make_school(name="Broughton Primary")
        school.office_phone, school.office_email = "01632 960123", "office@broughton.example"
        klass = make_class(school, name="5M", year_group=6, class_code="FVMNS5", academic_year=2026)
        teacher = make_teacher(school, classes=[klass], name="Mrs Mensah", email="mensah@example.org")
        pupils = [make_pupil(klass, name=f"Child {i}.", picture_password="sun-cat-tree") for i in range(families)]
        parents = [make_parent(school, children=[p], email=f"family{i}@example.org", name=f"Parent {i}")
                   for i, p in enumerate(pupils)]
        for kind, name, first, last in (("term", "Spring term", date(2027, 1, 5), date(2027, 3, 26)),
                                        ("holiday", "February half-term", date(2027, 2, 15), date(2027, 2, 19))):
            db.session.add(CalendarEntry(school_id=school.id, kind=kind, name=name, first_day=first, last_day=last))
        db.session.commit()
        return dict(school_id=school.id, class_id=klass.id, teacher=teacher.email,
                    parents=[p.email for p in parents], pupils=[p.id for p in pupils])


@pytest.mark.parametrize("viewport", [PHONE], ids=["390px"])
def test_friday_evening_before_half_term_and_seen_on_monday(live_server, page, make_context, check_axe):
    world = _school(live_server)
    # Friday 12 February 2027, 19:00 in London: half-term is the next week.
    with time_machine.travel(datetime(2027, 2, 12, 19, 0, tzinfo=UTC), tick=True) as traveller:
        sign_in(page, world["parents"][0], PASSWORD)
        page.wait_for_url(re.compile(r"/family/"))
        page.get_by_role("link", name=re.compile("^Messages")).click()
        page.get_by_role("link", name="New message").click()
        page.get_by_role("link", name="Mrs Mensah").click()
        notice = page.locator(".quiet-notice")
        expect(notice).to_contain_text("Mrs Mensah is not working now.")
        expect(notice).to_contain_text("from 08:00 on Monday 22 February")
        expect(notice).to_contain_text("reply by Wednesday 24 February")
        expect(page.locator(".signpost")).to_contain_text("01632 960123")
        check_axe(page)
        page.get_by_label("Your message").fill("Could Child 0. bring the costume after half-term instead?")
        page.get_by_role("button", name="Send", exact=True).click()
        expect(page.locator(".msg.mine")).to_contain_text("costume after half-term")
        expect(page.locator("#seen")).to_contain_text("not seen yet")
        expect(page.locator(".quiet-notice")).to_contain_text("Monday 22 February")
        check_axe(page)

        # Monday after half-term, 08:40: the teacher, on the class iPad, sees it waiting.
        traveller.move_to(datetime(2027, 2, 22, 8, 40, tzinfo=UTC))
        teacher = make_context(viewport=IPAD).new_page()
        sign_in(teacher, world["teacher"], PASSWORD)
        teacher.wait_for_url(re.compile(r"/classes/"))
        expect(teacher.locator("#nav-messages .badge")).to_have_text("1")
        teacher.locator("#nav-messages").click()
        teacher.get_by_role("link", name=re.compile("Parent 0")).click()
        expect(teacher.locator(".msg.theirs")).to_contain_text("costume after half-term")
        expect(teacher.locator(".quiet-notice")).to_have_count(0)
        check_axe(teacher)
        # The parent's page, still open, shows "Seen" without a reload.
        expect(page.locator("#seen")).to_contain_text("Seen", timeout=15_000)
        teacher.get_by_label("Your message").fill("Of course. Thank you for letting me know.")
        teacher.get_by_role("button", name="Send", exact=True).click()
        expect(teacher.locator(".msg.mine")).to_contain_text("Of course.")
        expect(page.locator(".msg.theirs")).to_contain_text("Of course.", timeout=15_000)


@pytest.mark.parametrize("viewport", [IPAD], ids=["1024px"])
def test_a_teacher_messages_five_families_at_once(live_server, page, make_context, check_axe):
    world = _school(live_server, families=6)
    sign_in(page, world["teacher"], PASSWORD)
    page.wait_for_url(re.compile(r"/classes/"))
    page.goto("/messages/")
    page.get_by_role("link", name="Message 5M families").click()
    for i in range(5):
        page.get_by_label(f"Child {i}.").check()
    page.get_by_label("Your message").fill("The trip letters are due back on Friday, please.")
    check_axe(page)
    page.get_by_role("button", name="Send to the ticked families").click()
    expect(page.locator(".flash")).to_contain_text("Sent to 5 families")
    expect(page.locator(".inbox-row")).to_have_count(5)
    parent = make_context(viewport=PHONE).new_page()
    sign_in(parent, world["parents"][3], PASSWORD)
    parent.wait_for_url(re.compile(r"/family/"))
    expect(parent.locator("#nav-messages .badge")).to_have_text("1")
    parent.goto("/messages/")
    expect(parent.locator(".inbox-row")).to_have_count(1)
    expect(parent.locator(".inbox-row")).to_contain_text("trip letters")
    check_axe(parent)
    left_out = make_context(viewport=PHONE).new_page()
    sign_in(left_out, world["parents"][5], PASSWORD)
    left_out.wait_for_url(re.compile(r"/family/"))
    expect(left_out.locator("#nav-messages .badge")).to_have_count(0)


def _pupil_signs_in(page, name):
    if page.get_by_role("heading", name="Tap your name").count() == 0:
        page.goto("/classroom/")
        page.get_by_label(re.compile("class code", re.I)).fill("FVMNS5")
        page.get_by_role("button", name="Go").click()
    page.get_by_role("link", name=re.compile(name)).click()
    for picture in ("Sun", "Cat", "Tree"):
        page.get_by_role("button", name=picture, exact=True).click()
    expect(page.get_by_role("heading", name=re.compile(f"Hello, {name}"))).to_be_visible()


@pytest.mark.parametrize("viewport", [IPAD], ids=["1024px"])
def test_a_pupil_writes_only_when_their_year_group_may(live_server, page, make_context, check_axe, guard):
    world = _school(live_server, families=1)
    with live_server.app.app_context():
        from app.models import SchoolClass
        other = make_class(db.session.get(SchoolClass, world["class_id"]).school, name="2B", year_group=3,
                           class_code="TWBB22", academic_year=2026)
        make_teacher(other.school, classes=[other], name="Mr Brown", email="brown@example.org")
        make_pupil(other, name="Ola Z.", picture_password="sun-cat-tree")
        db.session.add(PupilMessagingYear(school_id=world["school_id"], year_group=6))  # Year 5 only
        db.session.commit()
    _pupil_signs_in(page, "Child 0.")
    page.get_by_role("link", name=re.compile("^Messages")).click()
    page.get_by_role("link", name="New message").click()
    page.get_by_role("link", name="Mrs Mensah").click()
    page.get_by_label("Your message").fill("I finished my volcano!")
    check_axe(page)
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator(".msg.mine")).to_contain_text("I finished my volcano!")
    check_axe(page)

    # A Year 2 pupil, on another iPad: no Messages, and the address answers "not switched on".
    guard.allow_console(r"status of 404")
    other_page = make_context(viewport=IPAD).new_page()
    other_page.goto("/classroom/")
    other_page.get_by_label(re.compile("class code", re.I)).fill("TWBB22")
    other_page.get_by_role("button", name="Go").click()
    other_page.get_by_role("link", name=re.compile("Ola Z.")).click()
    for picture in ("Sun", "Cat", "Tree"):
        other_page.get_by_role("button", name=picture, exact=True).click()
    expect(other_page.get_by_role("heading", name=re.compile("Hello, Ola"))).to_be_visible()
    expect(other_page.get_by_role("link", name=re.compile("^Messages"))).to_have_count(0)
    other_page.goto("/messages/new")
    expect(other_page.locator("main")).to_contain_text("not switched on")

    teacher = make_context(viewport=IPAD).new_page()
    sign_in(teacher, world["teacher"], PASSWORD)
    teacher.wait_for_url(re.compile(r"/classes/"))
    teacher.goto("/messages/")
    teacher.get_by_role("link", name=re.compile("Child 0.")).click()
    expect(teacher.locator(".msg.theirs")).to_contain_text("I finished my volcano!")
