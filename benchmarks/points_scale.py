"""Team points at scale: do the main points pages stay flat when a school year of awards piles up?

Run: .venv/bin/python -m benchmarks.points_scale  [--repeat N] [--pupils-per-class N] [--days N]
It builds a school of 600 pupils (20 classes of 30) in a temporary SQLite database, copies it, and
bulk-inserts a school year of awards into the copy (600 pupils x 190 school days x 3 = 342,000 rows,
timing the insert). Then it measures each page's median server time (Flask test client, many
repetitions, alternating between the empty year and the full year so that the machine's noise falls
on both alike) and its SQL query count in both. Goal (issue 3): each page within 1.5x its empty-year
time, with the same number of queries. The machine is noisy: read the ratios, not absolute times.
Pages not built yet are reported as missing, not measured.
"""
import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

GOAL_RATIO = 1.5
CLASSES = 20
TEAMS = [("Oak", "green"), ("Ash", "red"), ("Elm", "blue"), ("Yew", "yellow")]


def _sign_in(client, account_id):
    with client.session_transaction() as sess:
        now = int(time.time())
        sess.update({"_user_id": account_id, "_fresh": True, "auth_at": now, "seen_at": now})


def build_school(pupils_per_class):
    """The school, its people and its teams; returns what the pages need."""
    from app.extensions import db
    from app.models import ParentLink, Pupil, School, SchoolClass, Team, User
    from app.models.people import ROLE_HEAD, ROLE_PARENT, ROLE_TEACHER
    from app.services.accounts import hash_password
    from app.services.consent import acknowledge, ensure_default_documents, outstanding_documents
    from app.services.points import ensure_default_categories
    from app.services.school_calendar import current_academic_year

    school = School(name="Benchmark Primary", slug="bench", timezone="Europe/London")
    db.session.add(school)
    db.session.flush()
    ensure_default_documents(school)
    ensure_default_categories(school)
    teams = [Team(school_id=school.id, name=name, colour=colour) for name, colour in TEAMS]
    db.session.add_all(teams)
    password = hash_password("benchmark passphrase 1")
    head = User(school_id=school.id, email="head@bench.test", name="Head", role=ROLE_HEAD,
                password_hash=password)
    db.session.add(head)
    year = current_academic_year(datetime.now(ZoneInfo(school.timezone)).date())
    classes = []
    for n in range(CLASSES):
        klass = SchoolClass(school_id=school.id, name=f"{n // 3 + 1}{'ABC'[n % 3]}", year_group=n // 3 + 1,
                            academic_year=year, class_code=f"B{n:05d}")
        teacher = User(school_id=school.id, email=f"t{n}@bench.test", name=f"Teacher {n}",
                       role=ROLE_TEACHER, password_hash=password)
        klass.teachers.append(teacher)
        db.session.add_all([klass, teacher])
        classes.append(klass)
    db.session.flush()
    pupils = []
    for klass in classes:
        for i in range(pupils_per_class):
            pupil = Pupil(school_id=school.id, class_id=klass.id, team_id=teams[i % len(teams)].id,
                          display_name=f"Pupil {klass.name}-{i:02d}", picture_password="sun-cat-tree")
            pupils.append(pupil)
    db.session.add_all(pupils)
    db.session.flush()
    parent = User(school_id=school.id, email="parent@bench.test", name="Parent", role=ROLE_PARENT,
                  password_hash=password)
    db.session.add(parent)
    db.session.flush()
    db.session.add(ParentLink(parent_id=parent.id, pupil_id=pupils[0].id))
    db.session.commit()
    acknowledge(parent, outstanding_documents(parent))
    db.session.commit()
    # Plain values: the objects do not outlive this application context.
    return dict(school_id=school.id, timezone=school.timezone, head=head.get_id(), parent=parent.get_id(),
                teacher_of={k.id: k.teachers[0].id for k in classes},
                teacher_session={k.id: k.teachers[0].get_id() for k in classes},
                classes=[k.id for k in classes], pupils=[(p.id, p.class_id, p.team_id) for p in pupils])


def school_days(timezone, count):
    """The last `count` weekdays up to today, in the school's time zone (newest first)."""
    day, days = datetime.now(ZoneInfo(timezone)).date(), []
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    return days


def insert_year(world, days, per_day=3, chunk=20000):
    """A school year of awards with executemany in chunks; returns (rows, seconds)."""
    from sqlalchemy import insert, select

    from app.extensions import db
    from app.models import PointAward, PointCategory
    cats = list(db.session.execute(select(PointCategory.id, PointCategory.value).where(
        PointCategory.school_id == world["school_id"], PointCategory.kind == "positive",
        PointCategory.retired_at.is_(None))))
    tz, utc = ZoneInfo(world["timezone"]), ZoneInfo("UTC")
    now = datetime.now(utc).replace(tzinfo=None)
    rng = random.Random(190)
    total, started, batch = 0, time.perf_counter(), []

    def flush():
        nonlocal total, batch
        db.session.execute(insert(PointAward), batch)
        total += len(batch)
        batch = []
    for day in days:
        nine = datetime.combine(day, dtime(9, 0), tz).astimezone(utc).replace(tzinfo=None)
        for pupil_id, class_id, team_id in world["pupils"]:
            for n in range(per_day):
                category_id, value = cats[rng.randrange(len(cats))]
                at = min(nine + timedelta(minutes=rng.randrange(360)), now - timedelta(seconds=1))
                batch.append(dict(school_id=world["school_id"], pupil_id=pupil_id, class_id=class_id,
                                  team_id=team_id, category_id=category_id,
                                  awarded_by_id=world["teacher_of"][class_id], value=value, needs_work=False,
                                  request_key=f"{day.isoformat()}-{n}", awarded_at=at))
                if len(batch) >= chunk:
                    flush()
    if batch:
        flush()
    db.session.commit()
    return total, time.perf_counter() - started


def page_list(world):
    klass, pupil = world["classes"][0], world["pupils"][0][0]
    teacher, head, parent = world["teacher_session"][klass], world["head"], world["parent"]
    return [
        # (label, account, path, named by the goal)
        ("parent: child page", parent, f"/family/child/{pupil}", True),
        ("teacher: class screen", teacher, f"/points/class/{klass}", True),
        ("teacher: class report, week", teacher, f"/reports/points?scope={klass}&period=week", True),
        ("teacher: class report, year", teacher, f"/reports/points?scope={klass}&period=year", False),
        ("head: school report, week", head, "/reports/points?scope=school&period=week", False),
        ("head: assembly display", head, "/reports/teams/display", False),
        ("head: display, cache cleared", head, "/reports/teams/display#uncached", False),
        ("head: team totals page", head, "/reports/teams", False),
    ]


def routable(app, path):
    from werkzeug.exceptions import MethodNotAllowed, NotFound
    from werkzeug.routing import RequestRedirect
    try:
        app.url_map.bind("localhost").match(path.split("?")[0], method="GET")
    except RequestRedirect:
        return True
    except (NotFound, MethodNotAllowed):
        return False
    return True


def _checkpoint(app):
    """Fold the WAL into the database file: both databases start from the same kind of state."""
    from app.extensions import db
    with app.app_context():
        db.session.remove()
        raw = db.engine.raw_connection()
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()


def _count_queries(app, client, path):
    from sqlalchemy import event

    from app.extensions import db
    with app.app_context():
        engine = db.engine
    count = 0

    def before(*args, **kwargs):
        nonlocal count
        count += 1
    event.listen(engine, "before_cursor_execute", before)
    try:
        status = client.get(path).status_code
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return status, count


def measure(apps, pages, repeat):
    """{label: [(status, median seconds, queries) per app]}; None for a page not built yet.
    Requests alternate between the apps (empty year, full year), so that the machine's noise
    falls on both alike."""
    import gc
    for app in apps:
        _checkpoint(app)
    results = {}
    for label, account, path, _goal in pages:
        # "#uncached": the settled team sums are dropped before each request (the worst case).
        path, uncached = path.split("#")[0], path.endswith("#uncached")
        if not routable(apps[0], path):
            results[label] = None
            continue
        clients = []
        for app in apps:
            client = app.test_client()
            _sign_in(client, account)
            for _ in range(3):  # warm-up: templates compiled, caches filled
                client.get(path)
            clients.append(client)
        counts = [_count_queries(app, client, path) for app, client in zip(apps, clients, strict=True)]
        times = [[] for _ in apps]
        gc.collect()
        for i in range(repeat):
            order = range(len(apps)) if i % 2 == 0 else reversed(range(len(apps)))
            for k in order:
                if uncached:
                    apps[k].extensions.pop("hearth_team_sums", None)
                started = time.perf_counter()
                clients[k].get(path)
                times[k].append(time.perf_counter() - started)
        results[label] = [(status, statistics.median(t), count)
                          for (status, count), t in zip(counts, times, strict=True)]
    return results


def _make_app(folder, name):
    from app import create_app
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/{name}",
                       "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
                       "MAIL_OUTBOX_DIR": os.path.join(folder, "mail")})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--pupils-per-class", type=int, default=30)
    parser.add_argument("--days", type=int, default=190)
    parser.add_argument("--keep", action="store_true", help="keep the two databases afterwards")
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp(prefix="hearth-points-scale-")
    try:
        return run(args, folder)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


def run(args, folder):

    from app.extensions import db
    empty_app = _make_app(folder, "empty.db")
    with empty_app.app_context():
        db.create_all()
        world = build_school(args.pupils_per_class)
    _checkpoint(empty_app)
    with empty_app.app_context():
        db.engine.dispose()
    shutil.copyfile(os.path.join(folder, "empty.db"), os.path.join(folder, "full.db"))
    full_app = _make_app(folder, "full.db")
    pages = page_list(world)
    days = school_days(world["timezone"], args.days)
    print(f"School: {len(world['classes'])} classes, {len(world['pupils'])} pupils; SQLite in {folder}"
          f" (removed at the end unless --keep)")
    with full_app.app_context():
        rows, seconds = insert_year(world, days)
    print(f"Inserted {rows:,} awards ({len(days)} school days x 3 a pupil) in {seconds:.1f} s "
          f"({rows / seconds:,.0f} rows/s) into a copy of the school; the original keeps an empty year.\n")
    results = measure([empty_app, full_app], pages, args.repeat)

    print(f"{'page':<30} {'status':>6} {'queries':>9} {'empty ms':>9} {'full ms':>9} {'ratio':>6}  verdict")
    ok = True
    for label, _account, path, goal in pages:
        if results[label] is None:
            print(f"{label:<30} {'-':>6} {'-':>9} {'-':>9} {'-':>9} {'-':>6}  missing (not built yet): {path}")
            continue
        before, after = results[label]
        ratio = after[1] / before[1]
        same = before[2] == after[2]
        good = ratio <= GOAL_RATIO and same and before[0] == after[0] == 200
        verdict = ("ok" if good else "OVER") + ("" if same else ", QUERIES DIFFER")
        if not goal:
            verdict += " (extra)"
        else:
            ok &= good
        print(f"{label:<30} {after[0]:>6} {before[2]:>4}/{after[2]:<4} {before[1] * 1000:>9.2f} "
              f"{after[1] * 1000:>9.2f} {ratio:>6.2f}  {verdict}")
    print(f"\nMedians of {args.repeat} requests each through the Flask test client (no network), alternating "
          f"between the empty and the full year.\nGoal: ratio <= {GOAL_RATIO} and the same query count; "
          f"'(extra)' rows are for information.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
