"""The parent's Class Story feed: bytes on the wire, queries, and whether it stays flat over 5 years.

Run: .venv/bin/python -m benchmarks.story_feed  [--repeat N] [--years N]
It builds a class in a temporary SQLite database and posts 10 posts with 2 photos each, every photo
a ~3 MB 12 MP phone JPEG through the real pipeline (two distinct photos, stored under 20 files).
It fetches the parent's feed as a phone would (`Accept-Encoding: br, gzip`), then each photo the
page shows, and prints the HTML bytes, each feed photo's bytes and the first load (HTML, CSS, JS
and the photos in view on a 390 x 844 phone). Then it copies the database, adds five school years
of posts (190 school days x 1 post, a third with a photo row) to the copy, and compares the feed's
SQL queries and median server time on both. Budgets (QUALITY.md, issue 4): HTML <= 14 KB, each feed
photo <= 60 KB, the first load <= 45 KB plus the photos in view; the same queries with 5 years of
posts, and a median time within 1.5x. The machine is noisy: read the ratios and medians.
"""
import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta

KB = 1024
BUDGET_HTML = 14 * KB
BUDGET_PHOTO = 60_000
BUDGET_FIRST_LOAD = 45 * KB
GOAL_RATIO = 1.5
IN_VIEW = 2  # photos in the first screen of a 390 x 844 phone: the first post's two


def _app(folder, name):
    from app import create_app
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/{name}",
                       "MEDIA_ROOT": os.path.join(folder, "media"), "WTF_CSRF_ENABLED": True,
                       "RATELIMIT_ENABLED": False, "MAIL_OUTBOX_DIR": os.path.join(folder, "mail")})


def _sign_in(client, account_id):
    with client.session_transaction() as sess:
        now = int(time.time())
        sess.update({"_user_id": account_id, "_fresh": True, "auth_at": now, "seen_at": now})


def build(app):
    from app.extensions import db
    from app.models import MediaTag
    from app.models.base import utcnow
    from app.services.media import store_upload
    from tests.factories import make_class, make_parent, make_post, make_pupil, make_school, make_teacher, set_consent
    from tests.media_samples import phone_photo, upload
    with app.app_context():
        db.create_all()
        school = make_school(name="Benchmark Primary")
        klass = make_class(school, name="3K")
        teacher = make_teacher(school, classes=[klass])
        pupils = [set_consent(make_pupil(klass, name=f"Pupil {n}."), "yes") for n in range(28)]
        parent = make_parent(school, children=[pupils[0]])
        photos = [phone_photo(seed=seed) for seed in (7, 11)]
        now = utcnow()
        for n in range(10):
            media = []
            for k, data in enumerate(photos):
                item = store_upload(upload(data, f"IMG_{n}{k}.JPG", "image/jpeg"), school_id=school.id,
                                    uploaded_by=teacher)
                item.tags.append(MediaTag(pupil_id=pupils[(n + k) % len(pupils)].id))
                item.alt_text = "Children at work in the classroom"
                media.append(item)
            make_post(teacher, klass, body=f"Class news {n}: this week we have been learning about the Romans. "
                      "Ask your child to tell you one thing they found out!", media=media,
                      published_at=now - timedelta(hours=10 - n))
        return {"parent": parent.get_id(), "teacher": teacher.get_id(), "class_id": klass.id,
                "school_id": school.id, "teacher_id": teacher.id}


def add_years(app, world, years):
    """Five school years of older posts, one a school day, a third with a photo row."""
    from app.extensions import db
    from app.models import MediaFile, Post
    from app.models.base import utcnow
    with app.app_context():
        start = utcnow() - timedelta(days=1)
        template = db.session.scalar(db.select(MediaFile).limit(1))
        posts, media = [], []
        for day in range(years * 190):
            when = start - timedelta(days=day * 365 / 190)
            posts.append(Post(school_id=world["school_id"], class_id=world["class_id"],
                              author_id=world["teacher_id"], kind="news", body=f"Older news {day}",
                              published_at=when, created_at=when))
        db.session.add_all(posts)
        db.session.flush()
        for n, post in enumerate(posts):
            if n % 3 == 0:
                media.append(MediaFile(school_id=world["school_id"], kind="image", storage_key=f"old-{n}",
                                       content_type="image/webp", width=template.width, height=template.height,
                                       bytes_stored=template.bytes_stored, no_child_confirmed=True,
                                       uploaded_by_id=world["teacher_id"], post_id=post.id))
        db.session.add_all(media)
        db.session.commit()
        return len(posts)


def weigh(app, world):
    from app.web import asset_url
    client = app.test_client()
    _sign_in(client, world["parent"])
    page = client.get("/stories/", headers={"Accept-Encoding": "br, gzip"})
    plain = client.get("/stories/").text
    photos = re.findall(r'<img src="(/media/\d+/feed)"', plain)
    photo_bytes = [len(client.get(url).data) for url in photos]
    with app.test_request_context():
        assets = [asset_url("css/app.css"), asset_url("js/app.js"), asset_url("vendor/htmx.min.js")]
    asset_bytes = sum(len(client.get(url, headers={"Accept-Encoding": "br, gzip"}).data) for url in assets)
    return len(page.data), photo_bytes, asset_bytes


def time_feed(app, account_id, repeat):
    from sqlalchemy import event

    from app.extensions import db
    client = app.test_client()
    _sign_in(client, account_id)
    statements = []
    with app.app_context():
        engine = db.engine

    def count(*args):
        statements.append(1)
    event.listen(engine, "before_cursor_execute", count)
    client.get("/stories/")
    queries = len(statements)
    event.remove(engine, "before_cursor_execute", count)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        assert client.get("/stories/").status_code == 200
        times.append(time.perf_counter() - started)
    return queries, times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--years", type=int, default=5)
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    folder = tempfile.mkdtemp(prefix="hearth-feed-")
    try:
        fresh = _app(folder, "fresh.db")
        started = time.perf_counter()
        world = build(fresh)
        built_in = time.perf_counter() - started
        html, photos, assets = weigh(fresh, world)
        for suffix in ("", "-wal", "-shm"):  # SQLite in WAL mode: the log holds recent writes
            if os.path.exists(os.path.join(folder, "fresh.db" + suffix)):
                shutil.copy(os.path.join(folder, "fresh.db" + suffix), os.path.join(folder, "years.db" + suffix))
        old = _app(folder, "years.db")
        added = add_years(old, world, args.years)

        rows = []
        for who in ("parent", "teacher"):
            fresh_times, old_times = [], []
            for _ in range(3):  # alternate, so that the machine's noise falls on both alike
                q_fresh, t = time_feed(fresh, world[who], args.repeat // 3)
                fresh_times += t
                q_old, t = time_feed(old, world[who], args.repeat // 3)
                old_times += t
            rows.append((who, q_fresh, q_old, statistics.median(fresh_times), statistics.median(old_times)))
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    first_load = html + assets + sum(photos[:IN_VIEW])
    print(f"Built 10 posts with 20 phone photos through the pipeline in {built_in:.1f} s; "
          f"added {added} older posts ({args.years} school years).\n")
    print("| what | bytes | budget | within |")
    print("|---|---:|---:|---|")
    print(f"| feed HTML (br) | {html:,} | {BUDGET_HTML:,} | {'yes' if html <= BUDGET_HTML else 'NO'} |")
    print(f"| CSS + JS (br), first visit only | {assets:,} | | |")
    print(f"| feed photos on the page | {len(photos)} | 20 | |")
    print(f"| largest feed photo | {max(photos):,} | {BUDGET_PHOTO:,} | "
          f"{'yes' if max(photos) <= BUDGET_PHOTO else 'NO'} |")
    print(f"| median feed photo | {int(statistics.median(photos)):,} | | |")
    within = html + assets <= BUDGET_FIRST_LOAD
    verdict = "yes" if within else "NO"
    print(f"| first load: HTML + CSS + JS | {html + assets:,} | {BUDGET_FIRST_LOAD:,} | {verdict} |")
    print(f"| first load with the {IN_VIEW} photos in view | {first_load:,} | "
          f"{BUDGET_FIRST_LOAD:,} + photos | |")
    print("\n| feed for | queries (10 posts) | queries (5 years) | median ms (10 posts) "
          "| median ms (5 years) | ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    failed = html > BUDGET_HTML or max(photos) > BUDGET_PHOTO or not within
    for who, q_fresh, q_old, t_fresh, t_old in rows:
        ratio = t_old / t_fresh
        failed |= q_fresh != q_old
        print(f"| {who} | {q_fresh} | {q_old} | {t_fresh * 1000:.1f} | {t_old * 1000:.1f} | {ratio:.2f} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
