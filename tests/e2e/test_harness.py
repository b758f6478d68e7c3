"""The browser harness on the journey every adult shares: signing in and out."""
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE, sign_in
from tests.factories import PASSWORD, make_head, make_school


def _make_head(live_server):
    with live_server.app.app_context():
        school = make_school(name="Oakfield Primary")
        return make_head(school, name="Ada Okafor").email


def _sign_in_and_out(live_server, page, email):
    home = f"{live_server.url}/classes/"  # a head's home is their classes
    with page.expect_response(home) as landing:
        sign_in(page, email, PASSWORD)
    assert landing.value.status == 200
    page.wait_for_url(home)

    page.goto("/auth/account")
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    expect(page.get_by_text("Ada Okafor")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_server.url}/auth/login")
    expect(page.get_by_text("You have signed out.")).to_be_visible()

    page.goto("/auth/account")  # the session has really ended
    expect(page).to_have_url(re.compile(r"/auth/login"))


def test_head_signs_in_and_out(live_server, page):
    email = _make_head(live_server)
    page.goto("/auth/login")
    assert page.evaluate("() => typeof window.htmx") == "object"  # the boosted journey
    _sign_in_and_out(live_server, page, email)


def test_head_signs_in_and_out_without_javascript(live_server, make_context):
    page = make_context(java_script_enabled=False).new_page()
    _sign_in_and_out(live_server, page, _make_head(live_server))


def test_wrong_password_is_refused_next_to_the_form(live_server, page):
    email = _make_head(live_server)
    sign_in(page, email, "not the password")
    expect(page.get_by_role("alert")).to_contain_text("do not match an account")
    expect(page.get_by_label("Email address")).to_have_value(email)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1024px"])
def test_sign_in_page_passes_axe(live_server, page, check_axe):
    with live_server.app.app_context():
        make_school(name="Oakfield Primary")  # the page then shows the office's contact
    page.goto("/auth/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    check_axe(page)


def test_axe_check_reports_violations(live_server, page, check_axe):
    page.goto("/auth/login")
    page.evaluate("() => document.querySelector('label[for=email]').remove()")
    with pytest.raises(pytest.fail.Exception, match="label"):
        check_axe(page)


def test_guard_records_other_hosts_and_csp_violations(live_server, page, guard):
    page.context.route("http://elsewhere.test/**", lambda route: route.fulfill(body="elsewhere"))
    page.goto("http://elsewhere.test/")
    page.goto("/auth/login")
    with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        page.evaluate("""() => {
            const script = document.createElement("script");
            script.textContent = "window.ran = true";
            document.body.append(script);
        }""")
    # Chromium reports it twice: on the console and as a securitypolicyviolation event.
    for _ in range(50):
        if any('"directive": "script-src-elem"' in v for v in guard.csp_violations):
            break
        page.wait_for_timeout(100)
    assert any("Content Security Policy" in v and "script-src" in v for v in guard.csp_violations)
    assert any('"directive": "script-src-elem"' in v for v in guard.csp_violations)
    assert guard.foreign_requests == ["http://elsewhere.test/"]
    assert page.evaluate("() => window.ran") is None
    assert len(guard.problems()) == 2
    guard.foreign_requests.clear()  # seen: the test's own teardown must not fail on them
    guard.csp_violations.clear()
