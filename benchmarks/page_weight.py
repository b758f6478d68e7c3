"""Bytes over the wire (compressed) for the main pages, against QUALITY.md's budgets.

Run: .venv/bin/python -m benchmarks.page_weight
It builds the demo school in a temporary SQLite database, signs in as its users and fetches each
page with `Accept-Encoding: br, gzip`, as a phone would, then the page's CSS and JavaScript.
"""
import os
import re
import sys
import tempfile
import time

KB = 1024
BUDGET_HTML = 14 * KB
BUDGET_CSS = 10 * KB
BUDGET_OWN_JS = 3 * KB
BUDGET_FIRST_VISIT = 45 * KB


def _sign_in(client, account_id):
    with client.session_transaction() as sess:
        now = int(time.time())
        sess.update({"_user_id": account_id, "_fresh": True, "auth_at": now, "seen_at": now})


def measure():
    from app import create_app
    from app.demo import build_demo
    from app.extensions import db
    from app.models import Pupil, SchoolClass, User
    folder = tempfile.mkdtemp(prefix="hearth-bench-")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.db",
                      "WTF_CSRF_ENABLED": True, "RATELIMIT_ENABLED": False,
                      "MAIL_OUTBOX_DIR": os.path.join(folder, "mail"), "MEDIA_ROOT": os.path.join(folder, "media")})
    with app.app_context():
        db.create_all()
        build_demo()

        def account(**where):
            return db.session.scalar(db.select(User).filter_by(**where)).get_id()
        head = account(email="head@hearth-demo.example")
        teacher = account(email="teacher@hearth-demo.example")
        parent = account(email="parent2@hearth-demo.example")
        klass = db.session.scalar(db.select(SchoolClass).filter_by(name="3K"))
        pupil = db.session.scalar(db.select(Pupil).filter_by(picture_password="sun-cat-tree-star"))
        pages = [
            ("sign-in", None, "/auth/login"),
            ("passcode entry", None, "/join"),
            ("pupil class screen", None, f"/classroom/c/{klass.class_code}"),
            ("parent home", parent, "/family/"),
            ("parent: child", parent, f"/family/child/{pupil.id}"),
            ("teacher: my classes", teacher, "/classes/"),
            ("teacher: class 3K", teacher, f"/classes/{klass.id}"),
            ("teacher: points 3K", teacher, f"/points/class/{klass.id}"),
            ("teacher: report", teacher, f"/reports/points?scope={klass.id}&period=week"),
            ("teacher: reading queue", teacher, "/reading/queue"),
            ("parent: reading log", parent, f"/reading/child/{pupil.id}"),
            ("head: school", head, "/admin/"),
            ("pupil home", pupil.get_id(), "/classroom/me"),
            ("parent: class story", parent, "/stories/"),
            ("parent: child's own story", parent, f"/portfolio/pupils/{pupil.id}"),
            ("teacher: class story", teacher, f"/stories/class/{klass.id}"),
            ("teacher: new post", teacher, f"/stories/new?class={klass.id}"),
        ]
    # Each request runs in an app context of its own, as in a real server.
    rows = []
    for label, account_id, path in pages:
        client = app.test_client()
        if account_id is not None:
            _sign_in(client, account_id)
        r = client.get(path, headers={"Accept-Encoding": "br, gzip"})
        plain = client.get(path).text
        asset_bytes = 0
        for url in sorted(set(re.findall(r'(?:href|src)="(/assets/[^"#]+\.(?:css|js|svg))', plain))):
            asset_bytes += len(client.get(url, headers={"Accept-Encoding": "br, gzip"}).data)
        rows.append((label, r.status_code, len(r.data), asset_bytes, len(r.data) + asset_bytes))
    css = app.test_client().get(_asset(app, "css/app.css"), headers={"Accept-Encoding": "br, gzip"})
    js = app.test_client().get(_asset(app, "js/app.js"), headers={"Accept-Encoding": "br, gzip"})
    return rows, len(css.data), len(js.data)


def _asset(app, name):
    from app.web import asset_url
    with app.test_request_context():
        return asset_url(name)


def main():
    rows, css, js = measure()
    print(f"{'page':<22} {'status':>6} {'HTML B':>8} {'assets B':>9} {'first visit B':>14}  budgets")
    ok = True
    for label, status, html, assets, total in rows:
        verdict = []
        verdict.append("HTML ok" if html <= BUDGET_HTML else "HTML OVER")
        verdict.append("first ok" if total <= BUDGET_FIRST_VISIT else "first OVER")
        ok &= html <= BUDGET_HTML and total <= BUDGET_FIRST_VISIT and status == 200
        print(f"{label:<22} {status:>6} {html:>8} {assets:>9} {total:>14}  {', '.join(verdict)}")
    print(f"\nCSS (all, compressed): {css} B (budget {BUDGET_CSS})   own JS: {js} B (budget {BUDGET_OWN_JS})")
    print("assets = the page's CSS, JavaScript and SVG (icon, avatar and picture sprite), compressed.")
    print("Repeat visits fetch the HTML only: assets carry hashed names and a one-year immutable cache.")
    return 0 if ok and css <= BUDGET_CSS and js <= BUDGET_OWN_JS else 1


if __name__ == "__main__":
    sys.exit(main())
