"""Notifications as a parent uses them, on a phone: the count in the navigation, opening one to land
on the thing, marking all read in one tap; then choosing what comes by email, and the next daily
digest following those choices (sent to a real SMTP server)."""
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.services import email_delivery, notifications
from app.services.notifications import COMMENT, POINTS, POST
from tests.e2e.conftest import PHONE, sign_in
from tests.factories import PASSWORD, make_class, make_parent, make_post, make_pupil, make_school, make_teacher


def _world(live_server):
    with live_server.app.app_context():
        school = make_school(name="Broughton Primary")
        klass = make_class(school, name="5M", year_group=6)
        teacher = make_teacher(school, classes=[klass], name="Mrs Mensah", email="mensah@example.org")
        zosia = make_pupil(klass, name="Zosia K.")
        parent = make_parent(school, children=[zosia], email="anna@example.org", name="Anna K.")
        posts = [make_post(teacher, klass, body=body) for body in ("Our trip to the museum", "Sports day")]
        for post in posts:
            notifications.notify([parent], POST, f"post:{post.id}", actor=teacher, params={"class_name": "5M"})
        db.session.commit()
        return dict(parent_id=parent.id, teacher_id=teacher.id, zosia_id=zosia.id, parent=parent.email,
                    first_post=posts[0].id, school_tz=school.timezone, digest_time=school.digest_time)


def _next_digest_time(world):
    """The school's next digest time after now, as naive UTC (how Hearth stores times)."""
    zone = ZoneInfo(world["school_tz"])
    local = datetime.now(UTC).astimezone(zone)
    at = datetime.combine(local.date(), world["digest_time"], tzinfo=zone)
    if at <= local:
        at = datetime.combine(local.date() + timedelta(days=1), world["digest_time"], tzinfo=zone)
    return at.astimezone(UTC).replace(tzinfo=None)


@pytest.mark.parametrize("viewport", [PHONE], ids=["390px"])
def test_a_parent_reads_chooses_and_the_next_digest_follows(live_server, page, make_context, check_axe,
                                                            smtp_server):
    world = _world(live_server)
    sign_in(page, world["parent"], PASSWORD)
    page.wait_for_url(re.compile(r"/family/"))
    nav = page.locator("#nav-notifications")
    expect(nav.locator(".badge")).to_have_text("2")
    expect(nav).to_contain_text("(2 unread)")  # for screen readers: the number alone says nothing

    # Open Notifications from the navigation; open the older one: it lands on the post.
    nav.click()
    expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    expect(page.locator(".notification.unread")).to_have_count(2)
    check_axe(page)
    page.locator(".notification").nth(1).get_by_role("button").click()
    page.wait_for_url(re.compile(rf"/stories/posts/{world['first_post']}$"))
    expect(page.get_by_text("Our trip to the museum")).to_be_visible()
    expect(page.locator("#nav-notifications .badge")).to_have_text("1")
    check_axe(page)

    # Back to the list: one still unread; "Mark all as read" in one tap, no reload.
    page.locator("#nav-notifications").click()
    expect(page.locator(".notification.unread")).to_have_count(1)
    page.evaluate("window.__notReloaded = true")
    page.get_by_role("button", name="Mark all as read").click()
    expect(page.locator(".notification.unread")).to_have_count(0)
    expect(page.locator("#nav-notifications .badge")).to_have_count(0)
    expect(page.get_by_role("button", name="Mark all as read")).to_have_count(0)
    assert page.evaluate("window.__notReloaded === true")
    check_axe(page)

    # Choose: points in Hearth and in the daily email; comments in Hearth only, no email.
    page.get_by_role("link", name="Choose what you hear about, and how").first.click()
    expect(page.get_by_role("heading", name="What you hear about")).to_be_visible()
    expect(page.get_by_text("The daily email comes at 17:00.")).to_be_visible()
    check_axe(page)
    points = page.get_by_role("group", name="Points for your child", exact=True)
    points.get_by_label("Show in Hearth").check()
    points.get_by_label("In one email a day").check()
    page.get_by_role("group", name="Comments", exact=True).get_by_label("No email").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_contain_text("Saved.")
    expect(page.get_by_role("group", name="Points for your child", exact=True)
           .get_by_label("In one email a day")).to_be_checked()
    expect(page.get_by_role("group", name="Comments", exact=True).get_by_label("No email")).to_be_checked()
    check_axe(page)

    # News arrives (made through the service, as the feature services do), then the digest runs.
    with live_server.app.app_context():
        from app.models import Pupil, User
        parent = db.session.get(User, world["parent_id"])
        teacher = db.session.get(User, world["teacher_id"])
        zosia = db.session.get(Pupil, world["zosia_id"])
        notifications.notify([parent], COMMENT, "portfolio_item:1", actor=teacher, pupil=zosia)
        notifications.notify([parent], POINTS, f"pupil:{zosia.id}", actor=teacher, pupil=zosia,
                             params={"points": 3})
        db.session.commit()
    page.reload()
    expect(page.locator("#nav-notifications .badge")).to_have_text("2")  # both show in Hearth

    live_server.app.config.update(smtp_server.config)
    with live_server.app.app_context():
        made, _sent = email_delivery.send_digests(_next_digest_time(world))
    assert made == 1
    digests = [m for m in smtp_server.messages if m["To"] == world["parent"]]
    assert len(digests) == 1
    text = digests[0].get_body(preferencelist=("plain",)).get_content()
    assert "Zosia K. got 3 points" in text
    assert "commented" not in text and "Mrs Mensah posted" not in text  # no email; already read
    assert digests[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # The email's own link stops the daily email, in a browser that is not signed in.
    link = digests[0]["List-Unsubscribe"].strip("<>")
    stranger = make_context().new_page()
    stranger.goto(link)
    expect(stranger.get_by_text("The daily email", exact=True)).to_be_visible()
    expect(stranger.get_by_text(world["parent"])).to_have_count(0)
    check_axe(stranger)
    stranger.get_by_role("button", name="Stop the daily email").click()
    expect(stranger.get_by_role("status")).to_contain_text("You will no longer get the daily email.")
    check_axe(stranger)
    with live_server.app.app_context():
        from app.models import User
        choices = notifications.preferences_for(db.session.get(User, world["parent_id"]))
    assert [kind for kind, choice in choices.items() if choice.email == "digest"] == []
    assert choices[POINTS].in_app
