"""Misuse, as it happens: a parent reports a comment, a senior leader hides it and suspends the
author, who is signed out in both of the browsers they were signed in on and told until when."""
import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from app.extensions import db
from tests.e2e.conftest import PHONE, sign_in
from tests.factories import (
    PASSWORD,
    make_class,
    make_comment,
    make_parent,
    make_post,
    make_pupil,
    make_school,
    make_senior,
    make_teacher,
)

IPAD = {"width": 1024, "height": 768}


def _school(live_server):
    with live_server.app.app_context():
        school = make_school(name="Broughton Primary")
        school.office_phone, school.office_email = "01632 960123", "office@broughton.example"
        school.comments_open_to_class = True
        klass = make_class(school, name="5M", year_group=6, class_code="FVMNS5", academic_year=2026)
        teacher = make_teacher(school, classes=[klass], name="Mrs Mensah", email="mensah@example.org")
        senior = make_senior(school, name="Mr Osei", email="osei@example.org")
        ada, ben = make_pupil(klass, name="Ada L."), make_pupil(klass, name="Ben R.")
        reporter = make_parent(school, children=[ada], email="ada.family@example.org", name="Grace L.")
        author = make_parent(school, children=[ben], email="ben.family@example.org", name="Rob R.")
        post = make_post(teacher, klass, body="Our trip to the science museum")
        comment = make_comment(author, post, body="What a waste of a day, useless teachers")
        db.session.commit()
        return dict(post_id=post.id, comment_id=comment.id, reporter=reporter.email, author=author.email,
                    senior=senior.email)


@pytest.mark.parametrize("viewport", [PHONE], ids=["390px"])
def test_a_reported_comment_is_hidden_and_its_author_suspended_and_signed_out(
        live_server, page, make_context, check_axe):
    world = _school(live_server)
    post_url = f"/stories/posts/{world['post_id']}"

    # The author is signed in on a phone and on a laptop.
    phone, laptop = make_context().new_page(), make_context(viewport=IPAD).new_page()
    for browser in (phone, laptop):
        sign_in(browser, world["author"], PASSWORD)
        browser.wait_for_url(re.compile(r"/family/"))

    # Another parent reads the comment and reports it, without giving a reason.
    sign_in(page, world["reporter"], PASSWORD)
    page.wait_for_url(re.compile(r"/family/"))
    page.goto(post_url)
    comment = page.locator(f"#comment-{world['comment_id']}")
    expect(comment).to_contain_text("useless teachers")
    check_axe(page)
    comment.get_by_role("link", name="Report").click()
    expect(page.get_by_role("heading", name="Report this to the school")).to_be_visible()
    check_axe(page)
    page.get_by_role("button", name="Report it").click()
    expect(page.locator(".flashes")).to_contain_text("Thank you. A senior leader will look at this.")
    check_axe(page)

    # A senior leader works the queue: hides the comment, then suspends its author for a week.
    leader = make_context(viewport=IPAD).new_page()
    sign_in(leader, world["senior"], PASSWORD)
    leader.wait_for_url(lambda url: "/auth/login" not in url)
    leader.goto("/safeguarding/")
    expect(leader.locator("main")).to_contain_text("1 open report")
    expect(leader.locator("main")).to_contain_text("useless teachers")
    check_axe(leader)
    leader.get_by_role("link", name="Look at this report").click()
    expect(leader.locator("main")).to_contain_text("No reason given.")
    check_axe(leader)
    leader.get_by_role("button", name="Hide the content").click()
    expect(leader.locator("main")).to_contain_text("Removed after a report")
    check_axe(leader)
    until = date.today() + timedelta(days=7)
    leader.get_by_label("Reason (the person will read this)").nth(1).fill("Abusive comments about staff")
    leader.get_by_label("Suspended until").fill(until.isoformat())
    leader.get_by_role("button", name="Suspend", exact=True).click()
    expect(leader.locator(".flashes")).to_contain_text("is suspended and has been signed out everywhere")
    check_axe(leader)

    # Both of the author's browsers are signed out at their next request.
    for browser in (phone, laptop):
        browser.goto(post_url)
        browser.wait_for_url(re.compile(r"/auth/login"))
        check_axe(browser)
    # Signing in again says why, and until when.
    sign_in(phone, world["author"], PASSWORD)
    problem = phone.locator(".error-summary")
    expect(problem).to_contain_text(f"suspended until {until.strftime('%A')} {until.day} {until.strftime('%B')}")
    expect(problem).to_contain_text("Abusive comments about staff")
    check_axe(phone)

    # The parent who reported it no longer sees the comment.
    page.goto(post_url)
    expect(page.locator("main")).not_to_contain_text("useless teachers")
