"""Notifications at scale (issue 9): what news costs as a school grows, and how big its emails are.

Run: .venv/bin/python -m benchmarks.notifications  [--repeat N]
It builds two schools in a temporary SQLite database with the large demo's builder (app/demo_large.py),
people only: a small one (1 class per year group, ~150 pupils) and a large one (3 per year group,
~600 pupils, ~750 parents). Mail goes to the development outbox (a temporary folder), so every email
is really rendered and written. Then:

1. A Class Story post announced to a class's families (notification_events.post_published): SQL
   statements other than INSERTs, for a class of the small school and one of the large school
   (goal: equal), and the median time per announcement.
2. The navigation's unread count: the queries of a parent's page with 0 and with 40 unread
   notifications (goal: equal; the count lives on the user's row).
3. The daily digest (email_delivery.send_digests at the school's digest time) for every parent of
   each school, each with 3 to 6 unread pieces of news: digests made, SQL statements per digest, and
   the median milliseconds per digest (goal: statements per digest do not grow with the school).
4. Email sizes: an instant message email and a digest of 20 lines, in bytes as written (MIME,
   quoted-printable text and HTML together).

The machine is noisy: read the ratios and medians, never one timing. Exit status 1 when a goal is missed.
"""
import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta

DIGEST_DAY = datetime(2026, 11, 25, 17, 5)  # a Wednesday in term, just after the 17:00 digest (UTC = London)


def _counting(db):
    from sqlalchemy import event
    counts = {"all": 0, "insert": 0}

    def before(conn, cursor, statement, *args):
        counts["all"] += 1
        if statement.lstrip().upper().startswith("INSERT"):
            counts["insert"] += 1

    event.listen(db.engine, "before_cursor_execute", before)
    return counts, lambda: event.remove(db.engine, "before_cursor_execute", before)


def build(app, number, forms):
    from app.demo_large import SIZES, build_school
    size = replace(SIZES["large"], forms=forms, days=7, messages=100, posts_per_class_day=0.1, pictures=2,
                   portfolio_per_pupil=0, photos_per_post=(0,))
    school, _created, _report = build_school(number, size, rng=random.Random(number),
                                             now=DIGEST_DAY - timedelta(days=1), log=lambda *a, **k: None)
    return school


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="hearth-bench-notify-")
    import logging
    logging.getLogger("hearth.mail").setLevel(logging.WARNING)  # one line per email otherwise
    os.environ.setdefault("SECRET_KEY", "benchmark-only")
    from app import create_app
    from app.extensions import db
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{work}/bench.db", "MEDIA_ROOT": f"{work}/media",
                      "MAIL_OUTBOX_DIR": f"{work}/mail", "MAIL_QUIET": True, "PUBLIC_URL": "https://hearth.example",
                      "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False})
    failures = []
    try:
        with app.app_context(), app.test_request_context(base_url="https://hearth.example"):
            db.create_all()
            print("Building a small school (7 classes) and a large one (21 classes): people only ...", flush=True)
            small = build(app, 1, ("K",))
            large = build(app, 2, ("K", "M", "S"))
            rows = announce(db, small, large, args.repeat, failures)
            rows += nav_count(app, db, large, failures)
            rows += digests(db, work, (small, large), failures)
            rows += sizes(db, work, large)
        print()
        print(f"{'measure':<58} {'figure':>16}  goal")
        for name, figure, goal in rows:
            print(f"{name:<58} {figure:>16}  {goal}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("\nMissed: " + "; ".join(failures))
        sys.exit(1)


def _school(db, school):
    return school


def announce(db, small, large, repeat, failures):
    from sqlalchemy import func, select

    from app.models import ParentLink, Post, Pupil, SchoolClass
    from app.services import notification_events
    rows, statements = [], {}
    for label, report in (("small", small), ("large", large)):
        school = _school(db, report)
        klass = db.session.scalars(select(SchoolClass).where(SchoolClass.school_id == school.id)
                                   .order_by(SchoolClass.id)).first()
        families = db.session.scalar(select(func.count(func.distinct(ParentLink.parent_id))).join(
            Pupil, Pupil.id == ParentLink.pupil_id).where(Pupil.class_id == klass.id))
        times = []
        for i in range(repeat):
            post = Post(school_id=school.id, class_id=klass.id, author_id=klass.teachers[0].id, kind="news",
                        body=f"News {i}", published_at=DIGEST_DAY - timedelta(hours=3))
            db.session.add(post)
            db.session.flush()
            counts, stop = _counting(db)
            started = time.perf_counter()
            notification_events.post_published(post, now=DIGEST_DAY - timedelta(hours=3))
            db.session.commit()
            times.append(time.perf_counter() - started)
            stop()
            statements[label] = counts["all"] - counts["insert"]
        rows.append((f"class post to {families} families ({label} school): statements", statements[label],
                     "equal"))
        rows.append((f"  median ms per announcement ({label} school)", f"{statistics.median(times) * 1000:.1f}", ""))
    if statements["small"] != statements["large"]:
        failures.append("announcing a post costs more statements in the large school")
    return rows


def nav_count(app, db, large, failures):
    from sqlalchemy import select

    from app.models import User
    from app.services import notifications
    parent = db.session.scalars(select(User).where(User.school_id == large.id, User.role == "parent")
                                .order_by(User.id)).first()
    client = app.test_client()
    with client.session_transaction() as sess:
        now = int(time.time())
        sess.update({"_user_id": parent.get_id(), "_fresh": True, "auth_at": now, "seen_at": now})

    def page_statements():
        counts, stop = _counting(db)
        response = client.get("/family/")
        stop()
        assert response.status_code == 200, response.status_code
        return counts["all"]

    notifications.mark_all_read(parent)
    before = page_statements()
    for i in range(40):
        notifications.notify([parent], notifications.MESSAGE, f"conversation:{900000 + i}")
    db.session.commit()
    after = page_statements()
    if before != after:
        failures.append("the navigation count costs a query")
    return [("parent home page statements, 0 vs 40 unread", f"{before} vs {after}", "equal")]


def digests(db, work, reports, failures):
    from sqlalchemy import select

    from app.models import User
    from app.services import email_delivery, notifications
    rng = random.Random(9)
    rows, per_digest = [], {}
    for label, report in zip(("small", "large"), reports, strict=True):
        parents = db.session.scalars(select(User).where(User.school_id == report.id,
                                                        User.role == "parent")).all()
        actor = db.session.scalars(select(User).where(User.school_id == report.id,
                                                      User.role == "teacher")).first()
        for parent in parents:
            for j in range(rng.randint(3, 6)):
                kind = rng.choice((notifications.POST, notifications.COMMENT, notifications.LIKE))
                notifications.notify([parent], kind, f"post:{800000 + j}", actor=actor,
                                     now=DIGEST_DAY - timedelta(hours=2 + j))
        db.session.commit()
        other = [r.id for r in reports if r is not report]
        from app.models import School
        # Only this school is due: the other's digest time is moved past the end of the day.
        for school in db.session.scalars(select(School).where(School.id.in_(other))):
            school.digest_time = datetime(2000, 1, 1, 23, 59).time()
        mine = db.session.get(School, report.id)
        mine.digest_time = datetime(2000, 1, 1, 17, 0).time()
        db.session.commit()
        counts, stop = _counting(db)
        started = time.perf_counter()
        made, outcomes = email_delivery.send_digests(now=DIGEST_DAY)
        seconds = time.perf_counter() - started
        stop()
        per_digest[label] = counts["all"] / max(made, 1)
        rows.append((f"digests for {len(parents)} parents ({label} school): made / sent",
                     f"{made} / {outcomes.get('sent', 0)}", "one each"))
        rows.append((f"  statements per digest ({label} school)", f"{per_digest[label]:.1f}", "flat"))
        rows.append((f"  ms per digest, rendered and written ({label} school)",
                     f"{seconds * 1000 / max(made, 1):.1f}", ""))
        if made != len(parents) or outcomes.get("sent", 0) != made:
            failures.append(f"not one digest per parent in the {label} school")
        again, _ = email_delivery.send_digests(now=DIGEST_DAY + timedelta(minutes=15))
        rows.append((f"  digests made by a second run ({label} school)", again, "0"))
        if again:
            failures.append("a second run made digests")
    if per_digest["large"] > per_digest["small"] * 1.2:
        failures.append("statements per digest grow with the school")
    return rows


def sizes(db, work, large):
    from sqlalchemy import select

    from app.models import User
    from app.services import email_delivery, notifications
    parent = db.session.scalars(select(User).where(User.school_id == large.id, User.role == "parent")
                                .order_by(User.id.desc())).first()
    teacher = db.session.scalars(select(User).where(User.school_id == large.id,
                                                    User.role == "teacher")).first()
    outbox = os.path.join(work, "mail")
    seen = set(os.listdir(outbox))
    notifications.notify([parent], notifications.MESSAGE, "conversation:1", actor=teacher,
                         now=DIGEST_DAY + timedelta(days=1))
    db.session.commit()
    email_delivery.send_due(now=DIGEST_DAY + timedelta(days=1))
    instant = [f for f in os.listdir(outbox) if f not in seen]
    seen |= set(instant)
    for j in range(20):
        notifications.notify([parent], notifications.COMMENT, f"post:{700000 + j}", actor=teacher,
                             now=DIGEST_DAY + timedelta(days=1, hours=1, minutes=j))
    db.session.commit()
    email_delivery.send_digests(now=DIGEST_DAY + timedelta(days=1, hours=1))
    digest = [f for f in os.listdir(outbox) if f not in seen]
    size = lambda names: os.path.getsize(os.path.join(outbox, names[0])) if names else 0  # noqa: E731
    return [("instant message email, bytes", f"{size(instant):,}", ""),
            ("digest of 20 lines, bytes", f"{size(digest):,}", "")]


if __name__ == "__main__":
    main()
