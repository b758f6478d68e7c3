"""Language the school does not allow, as people meet it: a parent's comment with a listed word is
stopped with a kind question (htmx, and with JavaScript off for a message), sent for a teacher to
check, released by the class teacher from the queue, and then seen by another family."""
import re

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.factories import (
    PASSWORD,
    make_class,
    make_head,
    make_parent,
    make_post,
    make_pupil,
    make_school,
    make_teacher,
)

RUDE = "That trip was total bollocks"


def _world(live_server):
    with live_server.app.app_context():
        school = make_school(name="Broughton Primary")
        school.comments_open_to_class = True
        klass = make_class(school, name="3K", year_group=4)
        teacher = make_teacher(school, classes=[klass], name="Mrs King", email="king@example.org")
        zosia = make_pupil(klass, name="Zosia K.")
        maja = make_pupil(klass, name="Maja P.")
        make_parent(school, children=[zosia], email="anna@example.org", name="Anna K.")
        make_parent(school, children=[maja], email="bea@example.org", name="Bea P.")
        make_head(school, email="head@example.org")
        post = make_post(teacher, klass, body="Our trip to the museum")
        return {"post": post.id, "teacher": teacher.id, "zosia": zosia.id}


def test_a_held_comment_waits_for_the_teacher_and_is_then_shared(live_server, make_context, page, check_axe):
    world = _world(live_server)
    sign_in(page, "anna@example.org", PASSWORD)
    page.wait_for_url(re.compile(r"/family/"))
    page.goto(f"/stories/posts/{world['post']}")
    page.get_by_label("Your comment").fill(RUDE)
    page.get_by_role("button", name="Add comment").click()
    warning = page.locator("#held-warning")
    expect(warning).to_contain_text("bollocks")
    expect(page.get_by_label("Your comment")).to_have_value(RUDE)  # nothing typed is lost
    check_axe(page)
    page.get_by_role("button", name="Send it for a teacher to check").click()
    expect(page.locator(".comment .held-state")).to_have_text("Waiting for a teacher to check this.")

    other = make_context().new_page()
    sign_in(other, "bea@example.org", PASSWORD)
    other.wait_for_url(re.compile(r"/family/"))
    other.goto(f"/stories/posts/{world['post']}")
    expect(other.get_by_text(RUDE)).to_have_count(0)

    teacher = make_context().new_page()
    sign_in(teacher, "king@example.org", PASSWORD)
    teacher.wait_for_url(re.compile(r"/classes/"))
    teacher.goto("/moderation/held")
    expect(teacher.locator(".held-entry")).to_contain_text("bollocks")
    check_axe(teacher)
    teacher.get_by_role("button", name="Release").click()
    expect(teacher.locator(".held-entry.decided")).to_be_visible()

    other.reload()
    expect(other.get_by_text(RUDE)).to_be_visible()


def test_a_message_asks_first_with_javascript_off(live_server, make_context, check_axe):
    world = _world(live_server)
    page = make_context(java_script_enabled=False).new_page()
    sign_in(page, "anna@example.org", PASSWORD)
    page.wait_for_url(re.compile(r"/family/"))
    page.goto(f"/messages/new?pupil={world['zosia']}&staff={world['teacher']}")
    page.get_by_label("Your message").fill(RUDE)
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#held-warning")).to_contain_text("a teacher will read it before anyone else sees it")
    expect(page.get_by_label("Your message")).to_have_value(RUDE)
    page.get_by_role("button", name="Send it for a teacher to check").click()
    page.wait_for_url(re.compile(r"/messages/\d+"))
    expect(page.locator(".held-state")).to_have_text("Waiting for a teacher to check this.")

    head = make_context().new_page()
    sign_in(head, "head@example.org", PASSWORD)
    head.goto("/moderation/words/en")
    check_axe(head)
    head.goto("/moderation/words")
    check_axe(head)
