from tests.factories import make_class, make_parent, make_pupil, make_school


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json == {"status": "ok"}


def test_login_page_renders_with_headers(client):
    r = client.get("/auth/login")
    assert r.status_code == 200
    assert b"Sign in" in r.data
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_parent_home_lists_children(app, login_as):
    school = make_school()
    klass = make_class(school, name="3K")
    child = make_pupil(klass, name="Zosia K.")
    parent = make_parent(school, children=[child])
    r = login_as(parent).get("/family/")
    assert r.status_code == 200
    assert "Zosia K." in r.text and "3K" in r.text
    assert r.headers["Cache-Control"] == "private, no-store"


def test_unknown_page_is_friendly_404(client):
    r = client.get("/no-such-page")
    assert r.status_code == 404 and "could not find" in r.text
