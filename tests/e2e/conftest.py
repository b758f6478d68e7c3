"""Browser journeys: a live Hearth server, Debian's Chromium driven by Playwright, axe-core.

Fixtures
- ``live_server``: the app served on 127.0.0.1 in a thread, with CSRF and rate limits on and a
  database file (or PostgreSQL); ``.url``, ``.app`` and ``.host``. Make objects with the factories
  inside ``with live_server.app.app_context():``.
- ``browser``: one headless Chromium per test process (never ``playwright install``).
- ``make_context(**kw)``: a new browser context (``java_script_enabled=False`` for no-JS
  journeys); ``page``: a page in a new context, its size from the ``viewport`` fixture (a phone,
  390 x 844, unless a test parametrises ``viewport``, e.g. with ``DESKTOP``).
- ``check_axe(page)``: axe-core's WCAG 2.x A and AA rules; fails listing every violation.
- ``sign_in(page, email, password)``: fills in and sends the sign-in form, as a person would.

Every context is guarded: a test fails if the browser requested any other host (SECURITY.md 30),
logged a console error or met a Content-Security-Policy violation (SECURITY.md 17). A test that
expects an error page calls ``guard.allow_console(r"status of 404")`` through the ``guard``
fixture. On failure, a screenshot of every open page goes to test-artifacts/.
"""
import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from app.config import Config
from app.extensions import db
from tests.conftest import _clean, build_app

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
HTMX_JS = ROOT / "app" / "static" / "vendor" / "htmx.min.js"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1024, "height": 768}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
# Schemes that never leave the browser.
LOCAL_SCHEMES = {"data", "blob", "about"}

# Reports `securitypolicyviolation` events, which Chromium raises for every blocked script,
# style or connection, to the test through an exposed binding (init scripts bypass the CSP).
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", function (e) {
  window.__hearthCspViolation({directive: e.violatedDirective, blocked: e.blockedURI,
                               source: e.sourceFile, line: e.lineNumber, sample: e.sample});
}, true);
"""


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, "rep_" + report.when, report)
    return report


# --- the live server --------------------------------------------------------------------------

@dataclass
class LiveServer:
    app: object
    url: str

    @property
    def host(self):
        return urlsplit(self.url).netloc


def _generous_limits():
    """Every rate limit on, but far above what a journey needs."""
    limits = {name: "10000 per minute" for name in dir(Config) if "_LIMIT_PER_" in name}
    limits.update(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    return limits


@pytest.fixture
def live_server(tmp_path, database_url):
    database = database_url or "sqlite:///" + str(tmp_path / "live.db")  # a file: threads share it
    # Pages poll every 2 s here (25 s in real use) so that journeys see live updates quickly.
    application = build_app(tmp_path, database, WTF_CSRF_ENABLED=True, LIVE_POLL_SECONDS=2, **_generous_limits())
    with application.app_context():
        db.create_all()
    server = make_server("127.0.0.1", 0, application, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    application.config["PUBLIC_URL"] = url  # links in mail and letters point here too
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app=application, url=url)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        _clean(application)


# --- the browser ------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"The browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium).")
    if not AXE_JS.exists() or not HTMX_JS.exists():
        pytest.fail("The front-end files are missing: run `make assets` (npm ci) first.")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()
    playwright.stop()


@dataclass
class Guard:
    """What a browser context did that a page of Hearth must never do."""
    own_host: str
    foreign_requests: list = field(default_factory=list)
    console_errors: list = field(default_factory=list)
    csp_violations: list = field(default_factory=list)
    allowed: list = field(default_factory=list)

    def allow_console(self, pattern):
        """Expect console errors matching this regular expression (an error page, say)."""
        self.allowed.append(re.compile(pattern))

    def on_request(self, request):
        parts = urlsplit(request.url)
        if parts.scheme not in LOCAL_SCHEMES and parts.netloc != self.own_host:
            self.foreign_requests.append(request.url)

    def on_console(self, message):
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.csp_violations.append(text)
        elif message.type == "error":
            location = message.location or {}
            self.console_errors.append(f"{text} ({location.get('url', '')}:{location.get('lineNumber', '')})")

    def on_page_error(self, error):
        self.console_errors.append(f"uncaught: {error}")

    def on_csp_violation(self, _source, report):
        self.csp_violations.append(json.dumps(report))

    def problems(self):
        unexpected = [e for e in self.console_errors if not any(p.search(e) for p in self.allowed)]
        found = []
        if self.foreign_requests:
            found.append("requests to other hosts (SECURITY.md 30):\n  " + "\n  ".join(self.foreign_requests))
        if self.csp_violations:
            found.append("Content-Security-Policy violations:\n  " + "\n  ".join(self.csp_violations))
        if unexpected:
            found.append("console errors:\n  " + "\n  ".join(unexpected))
        return found


@pytest.fixture
def viewport():
    """The page size for `page`; parametrise it to test other sizes."""
    return PHONE


@pytest.fixture
def guard(live_server):
    """The guard shared by every context of this test."""
    return Guard(own_host=live_server.host)


@pytest.fixture
def make_context(browser, live_server, guard, viewport, request):
    """make_context(**kw) -> a new guarded browser context; closed (and checked) after the test."""
    contexts = []

    def _make(**kw):
        kw.setdefault("viewport", viewport)
        kw.setdefault("base_url", live_server.url)
        kw.setdefault("locale", "en-GB")
        context = browser.new_context(**kw)
        context.set_default_timeout(10_000)
        context.on("request", guard.on_request)
        context.on("console", guard.on_console)
        context.on("weberror", lambda web_error: guard.on_page_error(web_error.error))
        context.expose_binding("__hearthCspViolation", guard.on_csp_violation)
        context.add_init_script(CSP_LISTENER)
        contexts.append(context)
        return context

    yield _make
    failed = any(getattr(request.node, "rep_" + when, None) is not None
                 and getattr(request.node, "rep_" + when).failed for when in ("setup", "call"))
    try:
        if failed:
            _screenshots(request.node, contexts)
    finally:
        for context in contexts:
            context.close()
    problems = guard.problems()
    if problems:
        pytest.fail("The browser " + "\n".join(problems), pytrace=False)


def _screenshots(node, contexts):
    from playwright.sync_api import Error as PlaywrightError

    ARTIFACTS.mkdir(exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", node.nodeid)[-150:]
    number = 0
    for context in contexts:
        for open_page in context.pages:
            number += 1
            try:
                open_page.screenshot(path=str(ARTIFACTS / f"{stem}-{number}.png"), full_page=True)
            except PlaywrightError as error:  # a crashed page must not hide the test's own failure
                print(f"no screenshot of {open_page.url}: {error}")


@pytest.fixture
def page(make_context):
    return make_context().new_page()


def sign_in(page, email, password):
    """Sign in through the form at /auth/login (works with JavaScript on or off)."""
    page.goto("/auth/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


# --- accessibility ----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def _axe_source():
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture
def check_axe(_axe_source):
    """check_axe(page): run axe-core's WCAG 2.x A/AA rules on the page as it is now."""

    def _check(target_page):
        if not target_page.evaluate("() => typeof window.axe === 'object'"):
            # Evaluated through the DevTools protocol, so the page's CSP neither blocks nor reports it.
            target_page.evaluate(_axe_source)
        options = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
        result = target_page.evaluate("options => axe.run(document, options)", options)
        violations = result["violations"]
        if violations:
            lines = [f"axe found {len(violations)} kind(s) of violation on {target_page.url}:"]
            for violation in violations:
                lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
                for node in violation["nodes"]:
                    lines.append(f"    {' '.join(map(str, node['target']))}: {node['html'][:160]}")
            pytest.fail("\n".join(lines), pytrace=False)

    return _check
