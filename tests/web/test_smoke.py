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


def test_readyz_without_redis(client):
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json == {"status": "ok", "database": "ok"}


def test_readyz_says_when_redis_does_not_answer(make_app):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens on port 1
    r = app.test_client().get("/readyz")
    assert r.status_code == 503 and r.json["redis"] == "unavailable" and r.json["database"] == "ok"


def test_probes_answer_503_when_the_database_does_not(tmp_path):
    """The probes answer for themselves (not a 500 from loading the school first)."""
    from tests.conftest import build_app
    app = build_app(tmp_path, f"sqlite:///{tmp_path}/no-such-folder/hearth.db")  # cannot be opened
    client = app.test_client()
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json == {"status": "not ready", "database": "unavailable"}
    r = client.get("/healthz")
    assert r.status_code == 503 and r.json == {"status": "database unavailable"}


def test_with_the_database_down_a_page_is_a_plain_503_with_the_usual_headers(tmp_path):
    """The error page itself needs the database (the school, the reader): when that is what failed,
    a plain page that needs nothing says to try again, with Retry-After, never a bare server error."""
    from tests.conftest import build_app
    app = build_app(tmp_path, f"sqlite:///{tmp_path}/no-such-folder/hearth.db", PROPAGATE_EXCEPTIONS=False)
    r = app.test_client().get("/auth/login")
    assert r.status_code == 503 and r.headers["Retry-After"] == "30"
    assert "Try again in a moment" in r.text and r.mimetype == "text/html"
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["Cache-Control"] == "no-cache" and r.headers["X-Request-ID"]  # a visitor
    polish = app.test_client().get("/auth/login", headers={"Accept-Language": "pl,en;q=0.5"})
    assert polish.status_code == 503 and '<html lang="pl" dir="ltr">' in polish.text
    assert "Try again in a moment" not in polish.text
    arabic = app.test_client()
    arabic.set_cookie("hearth_lang", "ar")
    assert '<html lang="ar" dir="rtl">' in arabic.get("/family/").text


def test_readyz_with_a_real_redis(make_app):
    import os

    import pytest
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set (CI sets it and starts redis-server)")
    r = make_app(REDIS_URL=url).test_client().get("/readyz")
    assert r.status_code == 200 and r.json["redis"] == "ok"


def test_every_answer_carries_a_request_id(client):
    first, second = client.get("/healthz"), client.get("/healthz")
    assert len(first.headers["X-Request-ID"]) == 32 and first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    assert client.get("/healthz", headers={"X-Request-ID": "from-nginx-42"}).headers["X-Request-ID"] == "from-nginx-42"
