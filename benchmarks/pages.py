"""The main pages on a small school and on a large one: bytes, SQL statements and server time.

Run: .venv/bin/python -m benchmarks.pages  [--repeat 15] [--warmup 3] [--no-photo] [--folder DIR]
Takes about 3 minutes on a shared 2-core machine (measured 147 to 227 s): 40 to 75 s to build the
large school, 30 to 45 s the demo (its photos go through store_upload), about a minute of requests,
and the photo memory run (benchmarks.photo_memory, about 30 s; --no-photo skips it).

The set-up is "one school on a small server": one SQLite database in a temporary folder, with
MEDIA_ROOT and the mail outbox beside it, holding the large school (app.demo_large.build_school(1,
SIZES["large"]): ~600 pupils and a year of history, 356k point awards, 4k posts with photos, 100k
messages), built first so that the database and media folder can be weighed on their own, and then
the demo school (app.demo.build_demo: ~30 pupils, a few days of history). Both builds are timed.
The demo has nothing on its pupils' own stories, no reading logged and one message for parent2,
so the benchmark then gives the demo's 3K, through the services (top_up_demo), what the large
school's generator gives each class: three teacher's notes on Zosia's own story, a fortnight of
reading logged by about 30% of the class's families (app.demo_large's rule), and 36 messages
between parent2 and the 3K teacher (more than the conversation page's 30): else those pages would
compare an empty page, or one message, with a full page, and measure the page's content rather
than the school's size and history.

Each main page is requested in-process (app.test_client(), one client per page, the session signed
in directly, as benchmarks.page_weight does) by the same kind of user in each school:

  demo school                                  large school
  head@, senior@, teacher@ (3K)                head@, senior@, teacher.3k@ of school-1
  parent2@ (one child, Zosia in 3K)            a parent with one child, in 3K, and one conversation
                                               with the class teacher (the median length of those)
  Zosia (pupil, signed in on the class iPad)   that parent's child

For each page and school it measures
- Bytes: the HTML as a phone receives it (Accept-Encoding: gzip, deflate, br: the app answers in
  brotli), and the first visit: that HTML plus every CSS, JavaScript and SVG file the page references
  under /assets/, each compressed as served (photos and other media excluded). Goals (QUALITY.md):
  any page's HTML <= 14 KB; the parent home page's first visit <= 45 KB; all the CSS <= 10 KB; our
  own JavaScript <= 3 KB (htmx itself, ~16 KB, is printed without a goal). The larger school's
  figure is printed, with the demo's beside it; both are held to the goal.
- Queries: SQL statements per request (SQLAlchemy's before_cursor_execute), counted on every timed
  request. Goal (issue 10): the same on the demo and on the large school. Also, on the large
  school, each page's SELECTs are explained (EXPLAIN QUERY PLAN) and the tables of history read
  end to end are listed (no goal: printed so that a missing index shows; with both schools in one
  database a whole-table scan costs the demo as much as the large school, so the ratio hides it).
- Server time: the median of --repeat requests after --warmup warm-up requests (time.perf_counter
  around the test client's call: routing, queries, rendering and compression, no network), the
  two schools' requests interleaved so that the machine's noise falls on both alike. Goal: the
  large school's median / the demo's <= 1.5 for every page.
- Disk: the large school's SQLite database (after a WAL checkpoint) and its media folder.
- Memory: one 12-megapixel phone photo (JPEG, and HEIC) through store_upload, from
  benchmarks.photo_memory (goal: peak resident memory <= 250 MB).

--folder DIR keeps the databases in DIR and, when DIR already holds them, reuses them without
building (a development aid: build times and sizes then come from the first run's notes).
Everything started or made is removed at the end unless --folder was given.
"""
import argparse
import gc
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time

from benchmarks.page_weight import _sign_in
from benchmarks.table import Row, all_met, render

KB = 1024
MB = 1024 * 1024
BUDGET_HTML = 14 * KB
BUDGET_PARENT_FIRST_VISIT = 45 * KB
BUDGET_CSS = 10 * KB
BUDGET_OWN_JS = 3 * KB
GOAL_RATIO = 1.5
PHONE = {"Accept-Encoding": "gzip, deflate, br",
         "User-Agent": "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
                       "Chrome/126.0.0.0 Mobile Safari/537.36"}
ASSET = re.compile(r'(?:href|src)="(/assets/[^"#]+\.(?:css|js|svg))')
LARGE_SCHOOL = 1
# The tables that grow with the school's history: a page must never read one of them whole.
HISTORY_TABLES = {"point_award", "post", "post_seen", "post_revision", "story_like", "comment", "media_file",
                  "media_tag", "conversation", "message", "notification", "email_delivery", "portfolio_item",
                  "reading_log_entry", "translation", "audit_entry", "content_report", "acknowledgement"}

# (label, who, path): ``who`` names a user of the school (None: nobody signed in), the path's fields
# come from the school's people (see _people).
PAGES = [
    ("sign-in", None, "/auth/login"),
    ("passcode entry", None, "/join"),
    ("pupil: class screen", None, "/classroom/c/{class_code}"),
    ("pupil: home", "pupil", "/classroom/me"),
    ("parent: home", "parent", "/family/"),
    ("parent: child", "parent", "/family/child/{child}"),
    ("parent: class story", "parent", "/stories/"),
    ("parent: child's own story", "parent", "/portfolio/pupils/{child}"),
    ("parent: messages inbox", "parent", "/messages/"),
    ("parent: a conversation", "parent", "/messages/{conversation}"),
    ("parent: notifications", "parent", "/notifications/"),
    ("teacher: my classes", "teacher", "/classes/"),
    ("teacher: class page", "teacher", "/classes/{class_id}"),
    ("teacher: points screen", "teacher", "/points/class/{class_id}"),
    ("teacher: class story", "teacher", "/stories/class/{class_id}"),
    ("teacher: points report", "teacher", "/reports/points?scope={class_id}&period=week"),
    ("teacher: reading queue", "teacher", "/reading/queue"),
    ("teacher: messages inbox", "teacher", "/messages/"),
    ("head: school page", "head", "/admin/"),
    ("senior: monitoring", "senior", "/monitoring/"),
]
PARENT_HOME = "parent: home"


# ---- the two schools ----------------------------------------------------------------------------------

def make_app(folder):
    from app import create_app
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/hearth.db",
                       "WTF_CSRF_ENABLED": True, "RATELIMIT_ENABLED": False, "MAIL_QUIET": True,
                       "MAIL_OUTBOX_DIR": os.path.join(folder, "mail"),
                       "MEDIA_ROOT": os.path.join(folder, "media")})


def build(app, folder, log=print):
    """Both schools in the folder's database; {"large_s", "demo_s", "database_bytes", "media_bytes"}.
    Reuses what a previous run with the same folder built (its notes say how long that took)."""
    from app.demo import build_demo
    from app.demo_large import SIZES, build_school, database_size, folder_size
    from app.extensions import db
    notes_path = os.path.join(folder, "notes.json")
    if os.path.exists(notes_path):
        with open(notes_path) as fh:
            notes = json.load(fh)
        log(f"Reusing the schools in {folder} (built in {notes['large_s']:.0f} s + {notes['demo_s']:.0f} s).")
        return notes | {"reused": True}
    notes = {}
    with app.app_context():
        db.create_all()
        log("Building the large school ...")
        started = time.perf_counter()
        build_school(LARGE_SCHOOL, SIZES["large"])
        db.session.commit()
        notes["large_s"] = time.perf_counter() - started
        notes["database_bytes"] = database_size()
        notes["media_bytes"] = folder_size(app.config["MEDIA_ROOT"])
        log(f"  {notes['large_s']:.1f} s; database {notes['database_bytes'] / MB:.1f} MB, "
            f"media {notes['media_bytes'] / MB:.1f} MB")
        log("Building the demo school ...")
        started = time.perf_counter()
        build_demo()
        db.session.commit()
        notes["demo_s"] = time.perf_counter() - started
        log(f"  {notes['demo_s']:.1f} s")
        notes["demo_added"] = top_up_demo()
        log(f"  then, through the services: {notes['demo_added']}")
        db.session.remove()
    with open(notes_path, "w") as fh:
        json.dump(notes, fh)
    return notes | {"reused": False}


def top_up_demo():
    """What the large school's generator gives every class, given to the demo's 3K, which starts
    without it: teacher's notes on Zosia's own story (each large-school pupil has two), the last
    fortnight of reading logged at home by the families of about 30% of the class, every 2 to 4
    days (app.demo_large's rule; Zosia's included), and a conversation between parent2 and the
    class teacher longer than a page (30 messages; the large school's run to 75 and more). Without
    them those demo pages are empty or hold one message, and the comparison would weigh an empty
    page against a full one, not a small school against a large one. Made through the services,
    as the teacher and the parents would; returns what was added, in words."""
    import random
    from datetime import timedelta

    from sqlalchemy import select

    from app.demo_large import BOOKS, DAYS, PARENT_LINES, PORTFOLIO_NOTES, SIZES, TEACHER_LINES
    from app.extensions import db
    from app.models import ParentLink, Pupil, User
    from app.models.base import utcnow
    from app.services import messaging
    from app.services.points import log_reading, school_today
    from app.services.portfolio import add_teacher_item
    rng = random.Random(20260901)
    zosia = db.session.scalar(select(Pupil).where(Pupil.picture_password == "sun-cat-tree-star"))
    teacher = db.session.scalar(select(User).where(User.email == "teacher@hearth-demo.example"))
    parent = db.session.scalar(select(User).where(User.email == "parent2@hearth-demo.example"))
    notes = PORTFOLIO_NOTES[:3]
    for body in notes:
        add_teacher_item(zosia, teacher, body, [])

    today = school_today(zosia.school)
    families = db.session.execute(
        select(Pupil, User).join(ParentLink, ParentLink.pupil_id == Pupil.id)
        .join(User, User.id == ParentLink.parent_id)
        .where(Pupil.class_id == zosia.class_id, Pupil.status == "active").order_by(Pupil.id, User.id)).all()
    first_parent = {}
    for pupil, grown_up in families:
        first_parent.setdefault(pupil.id, (pupil, grown_up))
    first_parent[zosia.id] = (zosia, parent)
    readers, entries = 0, 0
    for pupil_id, (pupil, grown_up) in first_parent.items():
        if pupil_id != zosia.id and rng.random() >= SIZES["large"].reading_share:
            continue
        readers += 1
        for back in range(1, 14, rng.choice((2, 3, 4))):
            log_reading(grown_up, pupil, today - timedelta(days=back), rng.choice((10, 15, 20, 30)), rng.choice(BOOKS))
            entries += 1

    now, count = utcnow(), 36
    for n in range(count):
        sender, lines = (parent, PARENT_LINES) if n % 2 == 0 else (teacher, TEACHER_LINES)
        body = lines[n // 2 % len(lines)].format(child="Zosia", day=DAYS[n % len(DAYS)])
        messaging.send(sender, staff=teacher, pupil=zosia, parent=parent, body=body, language="en",
                       now=now - timedelta(days=42) + timedelta(hours=n * 27))
    db.session.commit()
    return (f"{len(notes)} notes on Zosia's own story; {entries} reading log entries from {readers} 3K families; "
            f"{count} messages between parent2 and the 3K teacher")


def _people(app):
    """{"demo": fields, "large": fields}: the account ids and the path fields of each school's users."""
    from sqlalchemy import func, select

    from app.demo_large import email
    from app.extensions import db
    from app.models import Conversation, Message, ParentLink, Pupil, SchoolClass, User
    found = {}
    with app.app_context():
        def user(address):
            account = db.session.scalar(select(User).where(User.email == address))
            assert account is not None, f"no user {address}"
            return account

        # The demo: the README's users; parent2 has one child, Zosia in 3K.
        demo_parent = user("parent2@hearth-demo.example")
        demo_teacher = user("teacher@hearth-demo.example")
        zosia = db.session.scalar(select(Pupil).where(Pupil.picture_password == "sun-cat-tree-star"))
        demo_class = db.session.get(SchoolClass, zosia.class_id)
        demo_convo = db.session.scalar(select(Conversation.id).where(
            Conversation.parent_id == demo_parent.id).order_by(Conversation.id))
        found["demo"] = dict(head=user("head@hearth-demo.example").get_id(),
                             senior=user("senior@hearth-demo.example").get_id(),
                             teacher=demo_teacher.get_id(), parent=demo_parent.get_id(), pupil=zosia.get_id(),
                             child=zosia.id, class_id=demo_class.id, class_code=demo_class.class_code,
                             conversation=demo_convo)

        # The large school: its 3K teacher, and the 3K parent most like parent2: one child, one
        # conversation, with the class teacher; of those, the one whose conversation is of median length.
        teacher = user(email(LARGE_SCHOOL, "teacher.3k"))
        klass = teacher.classes[0]
        one_child = (select(ParentLink.parent_id).group_by(ParentLink.parent_id)
                     .having(func.count(ParentLink.id) == 1))
        one_convo = (select(Conversation.parent_id).where(Conversation.parent_id.is_not(None))
                     .group_by(Conversation.parent_id).having(func.count(Conversation.id) == 1))
        length = select(func.count(Message.id)).where(Message.conversation_id == Conversation.id).scalar_subquery()
        candidates = db.session.execute(
            select(Conversation.id, Conversation.parent_id, Conversation.pupil_id, length)
            .join(Pupil, Pupil.id == Conversation.pupil_id)
            .where(Pupil.class_id == klass.id, Conversation.staff_id == teacher.id,
                   Conversation.parent_id.in_(one_child), Conversation.parent_id.in_(one_convo))
            .order_by(length, Conversation.id)).all()
        assert candidates, "no parent in the large school's 3K with one child and one conversation"
        convo_id, parent_id, child_id, convo_length = candidates[len(candidates) // 2]
        child = db.session.get(Pupil, child_id)
        found["large"] = dict(head=user(email(LARGE_SCHOOL, "head")).get_id(),
                              senior=user(email(LARGE_SCHOOL, "senior")).get_id(),
                              teacher=teacher.get_id(), parent=db.session.get(User, parent_id).get_id(),
                              pupil=child.get_id(), child=child.id, class_id=klass.id,
                              class_code=klass.class_code, conversation=convo_id)
        found["sizes"] = {"large conversation": convo_length,
                          "demo conversation": db.session.scalar(select(func.count(Message.id)).where(
                              Message.conversation_id == demo_convo))}
        db.session.remove()
    return found


# ---- one page ---------------------------------------------------------------------------------------

class Page:
    """One page of one school, with a client of its own signed in as the page's user."""

    def __init__(self, app, label, account_id, path):
        self.label, self.path = label, path
        self.client = app.test_client()
        if account_id is not None:
            _sign_in(self.client, account_id)
        self.times, self.statements, self.scans = [], [], {}

    def get(self, headers=PHONE):
        response = self.client.get(self.path, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"{self.label}: GET {self.path} answered {response.status_code} "
                               f"{response.headers.get('Location', '')}")
        return response

    def timed(self, counter):
        counter.clear()
        started = time.perf_counter()
        self.get()
        self.times.append(time.perf_counter() - started)
        self.statements.append(len(counter))

    def weigh(self):
        """(HTML bytes as sent, its encoding, {asset path: bytes as sent})."""
        page = self.get()
        plain = self.get(headers={"User-Agent": PHONE["User-Agent"]}).get_data(as_text=True)
        assets = {}
        for url in sorted(set(ASSET.findall(plain))):
            asset = self.client.get(url, headers=PHONE)
            assert asset.status_code == 200, (url, asset.status_code)
            assets[url] = len(asset.data)
        return len(page.data), page.headers.get("Content-Encoding", "identity"), assets


def run_pages(app, people, repeat, warmup, log=print):
    """{label: {"demo": Page, "large": Page}} with times and statement counts gathered."""
    from sqlalchemy import event

    from app.extensions import db
    with app.app_context():
        engine = db.engine
    counter = []

    def count(*_args):
        counter.append(1)
    pages = {}
    for label, who, path in PAGES:
        pages[label] = {school: Page(app, label, people[school][who] if who else None,
                                     path.format(**people[school]))
                        for school in ("demo", "large")}
    captured = []

    def capture(_conn, _cursor, statement, parameters, _context, executemany):
        if not executemany:
            captured.append((statement, parameters))
    event.listen(engine, "before_cursor_execute", count)
    try:
        for label, pair in pages.items():
            for page in pair.values():
                for _n in range(warmup):  # templates compiled, caches filled, first-visit writes done
                    page.get()
            gc.collect()
            for n in range(repeat):  # interleaved: the noise of the machine falls on both schools alike
                for school in (("demo", "large") if n % 2 == 0 else ("large", "demo")):
                    pair[school].timed(counter)
            captured.clear()
            event.listen(engine, "before_cursor_execute", capture)
            try:
                pair["large"].get()
            finally:
                event.remove(engine, "before_cursor_execute", capture)
            pair["large"].scans = whole_table_scans(engine, captured)
            log(f"  {label:<28} {_ms(pair['demo'])} / {_ms(pair['large'])} ms, "
                f"{_counts(pair['demo'])} / {_counts(pair['large'])} statements"
                + (f"; scans {', '.join(sorted(pair['large'].scans))}" if pair["large"].scans else ""))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return pages


def whole_table_scans(engine, statements):
    """{table: first statement} for the tables of history that SQLite's plan reads from end to end.

    Both schools share the database, so a statement that walks a whole table costs the demo as much
    as the large school, and the time ratio cannot see the missing index: the plan can."""
    if engine.dialect.name != "sqlite":
        return {}
    found = {}
    raw = engine.raw_connection()
    try:
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            for row in raw.driver_connection.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall():
                scanned = re.match(r"SCAN (\w+)", row[3])
                if scanned and scanned.group(1) in HISTORY_TABLES:
                    found.setdefault(scanned.group(1), " ".join(statement.split())[:160])
    finally:
        raw.close()
    return found


def _ms(page):
    return f"{statistics.median(page.times) * 1000:6.1f}"


def _counts(page):
    low, high = min(page.statements), max(page.statements)
    return str(low) if low == high else f"{low}-{high}"


def _kb(size):
    return f"{size / KB:.1f} KB"


# ---- the rows -----------------------------------------------------------------------------------------

def rows_for(pages, notes):
    bytes_rows, first_rows, query_rows, time_rows = [], [], [], []
    all_assets = {}
    for label, pair in pages.items():
        weights = {school: page.weigh() for school, page in pair.items()}
        html = {school: w[0] for school, w in weights.items()}
        first = {school: w[0] + sum(w[2].values()) for school, w in weights.items()}
        for _school, (_html, _enc, assets) in weights.items():
            all_assets.update(assets)
        encodings = "/".join(sorted({w[1] for w in weights.values()}))
        bytes_rows.append(Row("Bytes", f"{label}: HTML ({encodings}), large school (demo)",
                              f"{_kb(html['large'])} ({_kb(html['demo'])})", "<= 14 KB",
                              max(html.values()) <= BUDGET_HTML))
        goal = label == PARENT_HOME
        first_rows.append(Row("Bytes", f"{label}: first visit, HTML+CSS+JS+SVG, large (demo)",
                              f"{_kb(first['large'])} ({_kb(first['demo'])})", "<= 45 KB" if goal else "",
                              max(first.values()) <= BUDGET_PARENT_FIRST_VISIT if goal else None))
        demo, large = pair["demo"], pair["large"]
        same = set(demo.statements) == set(large.statements) and len(set(demo.statements)) == 1
        query_rows.append(Row("Queries", f"{label}: SQL statements, demo / large",
                              f"{_counts(demo)} / {_counts(large)}", "equal", same))
        demo_ms, large_ms = statistics.median(demo.times) * 1000, statistics.median(large.times) * 1000
        ratio = large_ms / demo_ms
        time_rows.append(Row("Server time", f"{label}: large / demo (median ms {demo_ms:.1f} / {large_ms:.1f})",
                             f"{ratio:.2f}", f"<= {GOAL_RATIO}", ratio <= GOAL_RATIO))
    scanned = {}
    for label, pair in pages.items():
        for table in pair["large"].scans:
            scanned.setdefault(table, []).append(label)
    query_rows.append(Row("Queries", "pages whose SQL reads a whole table of history (SQLite's query plan)",
                          "; ".join(f"{table} on {len(labels)}" for table, labels in sorted(scanned.items()))
                          or "none"))
    css = sum(size for url, size in all_assets.items() if url.endswith(".css"))
    own_js = sum(size for url, size in all_assets.items() if url.endswith(".js") and "/vendor/" not in url)
    vendor_js = sum(size for url, size in all_assets.items() if url.endswith(".js") and "/vendor/" in url)
    svg = sum(size for url, size in all_assets.items() if url.endswith(".svg"))
    asset_rows = [
        Row("Bytes", "CSS, all of it (br)", _kb(css), "<= 10 KB", css <= BUDGET_CSS),
        Row("Bytes", "JavaScript: our own (br)", _kb(own_js), "<= 3 KB", own_js <= BUDGET_OWN_JS),
        Row("Bytes", "JavaScript: htmx 2 (br)", _kb(vendor_js), "", None),
        Row("Bytes", f"SVG: icon and sprites, all pages ({sum(u.endswith('.svg') for u in all_assets)} files, br)",
            _kb(svg), "", None),
    ]
    built = "reused" if notes.get("reused") else "built"
    disk_rows = [
        Row("Disk", f"large school ({built} in {notes['large_s']:.0f} s): SQLite database",
            f"{notes['database_bytes'] / MB:.1f} MB"),
        Row("Disk", "large school: media folder (photos, 3 sizes each)", f"{notes['media_bytes'] / MB:.1f} MB"),
        Row("Disk", "demo school: build time (photos processed through store_upload)", f"{notes['demo_s']:.0f} s"),
    ]
    return bytes_rows + asset_rows + first_rows + query_rows + time_rows + disk_rows


def measure(repeat=15, warmup=3, photo=True, folder=None, log=print):
    """The production table's rows for the main pages (Bytes, Queries, Server time, Disk) and, with
    ``photo``, the 12-megapixel photo's memory (Memory)."""
    from app.extensions import db
    keep = folder is not None
    folder = folder or tempfile.mkdtemp(prefix="hearth-pages-")
    os.makedirs(folder, exist_ok=True)
    app = None
    try:
        app = make_app(folder)
        notes = build(app, folder, log=log)
        people = _people(app)
        log(f"Pages ({repeat} timed requests each after {warmup} warm-ups), median ms demo / large, "
            f"statements demo / large:")
        pages = run_pages(app, people, repeat, warmup, log=log)
        rows = rows_for(pages, notes)
        log(f"(The conversations: demo {people['sizes']['demo conversation']} message(s), "
            f"large {people['sizes']['large conversation']}.)")
    finally:
        if app is not None:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    if photo:
        from benchmarks import photo_memory
        log("A 12-megapixel photo through store_upload, in a child process ...")
        rows += photo_memory.measure()
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="timed requests per page and school")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up requests per page and school")
    parser.add_argument("--no-photo", action="store_true", help="skip the photo memory measurement")
    parser.add_argument("--folder", help="keep (or reuse) the schools' database and media here")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = measure(args.repeat, args.warmup, photo=not args.no_photo, folder=args.folder)
    print()
    print(render(rows, title="Main pages: demo school and large school, measured in this run"))
    print(f"\nRun time: {time.perf_counter() - started:.0f} s.")
    return 0 if all_met(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
