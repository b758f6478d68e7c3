"""A pupil's own story at scale: the page's bytes and queries, and the keepsake of a full year.

Run: .venv/bin/python -m benchmarks.portfolio_scale  [--items N] [--keepsake N] [--repeat N]
It builds a class in a temporary SQLite database. Zosia gets 30 items, each with a ~3 MB 12 MP
phone JPEG through the real media pipeline (three distinct photos, uploaded again and again); Maja
gets 5. It fetches Zosia's story as her parent's phone would (`Accept-Encoding: br, gzip`) and every
photo the page shows, weighs each thumbnail, and counts the SQL queries of the page for 5 and for
30 items, as a parent and as the teacher. Then Oskar gets a year of 200 items (each photo a copy of
one the pipeline made, under its own name; a third with comments), and a separate process, started
before any photo was processed, builds his keepsake as his parent would download it: the time, the
zip's size and the peak memory, both Python's allocations (tracemalloc) and the rise of the
process's peak resident set (getrusage maxrss). Budgets (QUALITY.md, issue 5): the page's HTML
<= 14 KB, each thumbnail <= 30 KB, the same queries for 5 and 30 items, and a keepsake that never
holds its images at once (both peaks under a quarter of the photos' bytes). The machine is noisy:
read the ratios and medians.
"""
import argparse
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta

KB = 1024
MB = 1024 * 1024
BUDGET_HTML = 14 * KB
BUDGET_THUMB = 30 * KB
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _app(folder):
    from app import create_app
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/portfolio.db",
                       "MEDIA_ROOT": os.path.join(folder, "media"), "WTF_CSRF_ENABLED": True,
                       "RATELIMIT_ENABLED": False, "MAIL_OUTBOX_DIR": os.path.join(folder, "mail")})


def _sign_in(client, account_id):
    with client.session_transaction() as sess:
        now = int(time.time())
        sess.update({"_user_id": account_id, "_fresh": True, "auth_at": now, "seen_at": now})


def _item(pupil, teacher, body, when, by_pupil=True):
    from app.extensions import db
    from app.models import PortfolioItem
    item = PortfolioItem(school_id=pupil.school_id, pupil_id=pupil.id, class_id=pupil.class_id, by_pupil=by_pupil,
                         added_by_id=None if by_pupil else teacher.id, body=body, status="approved",
                         reviewed_by_id=teacher.id, reviewed_at=when, created_at=when)
    db.session.add(item)
    db.session.flush()
    return item


def build(app, items, small):
    """Zosia's items with photos through the pipeline, Maja's few: the page's data."""
    from app.extensions import db
    from app.models import MediaTag
    from app.models.base import utcnow
    from app.services.media import store_upload
    from tests.factories import make_class, make_parent, make_pupil, make_school, make_teacher
    from tests.media_samples import phone_photo, upload
    with app.app_context():
        db.create_all()
        school = make_school(name="Benchmark Primary")
        klass = make_class(school, name="3K")
        teacher = make_teacher(school, classes=[klass])
        zosia, maja, oskar = (make_pupil(klass, name=name) for name in ("Zosia K.", "Maja P.", "Oskar W."))
        parent = make_parent(school, children=[zosia, maja])
        oskar_parent = make_parent(school, children=[oskar])
        photos = [phone_photo(seed=seed) for seed in (7, 11, 13)]
        now = utcnow()
        for pupil, count in ((zosia, items), (maja, small)):
            for n in range(count):
                when = now - timedelta(days=count - n)
                item = _item(pupil, teacher, f"My work on day {n}: a drawing of the Roman fort with its gates, "
                             "towers and the soldiers' houses.", when, by_pupil=n % 3 != 0)
                media = store_upload(upload(photos[n % len(photos)], f"IMG_{n:04d}.JPG", "image/jpeg"),
                                     school_id=school.id, uploaded_by=teacher)
                media.portfolio_item_id, media.alt_text = item.id, "A drawing of a Roman fort"
                media.tags.append(MediaTag(pupil_id=pupil.id))
            db.session.commit()
        return {"parent": parent.get_id(), "teacher": teacher.get_id(), "zosia": zosia.id, "maja": maja.id,
                "oskar": oskar.id, "oskar_parent": oskar_parent.id, "teacher_id": teacher.id}


def add_year(app, world, count):
    """Oskar's year of items: each photo a copy of one the pipeline made, under a name of its own."""
    from app.extensions import db
    from app.models import Comment, MediaFile, Pupil, User
    from app.models.base import utcnow
    from app.models.media import VARIANTS
    from app.services.media import file_path
    with app.app_context():
        oskar = db.session.get(Pupil, world["oskar"])
        teacher = db.session.get(User, world["teacher_id"])
        sources = list(db.session.scalars(db.select(MediaFile).where(MediaFile.portfolio_item_id.is_not(None))
                                          .order_by(MediaFile.id).limit(3)))
        now = utcnow()
        photo_bytes = 0
        for n in range(count):
            when = now - timedelta(hours=(count - n) * 6)  # within this school year
            item = _item(oskar, teacher, f"Oskar's work {n}: <b>a story</b> about a dragon & a knight.", when)
            source = sources[n % len(sources)]
            copy = MediaFile(school_id=source.school_id, kind=source.kind, storage_key=secrets.token_hex(16),
                             content_type=source.content_type, width=source.width, height=source.height,
                             large_width=source.large_width, large_height=source.large_height,
                             bytes_stored=source.bytes_stored, uploaded_by_id=teacher.id,
                             portfolio_item_id=item.id, position=0)
            for variant in VARIANTS[source.kind]:
                target = file_path(copy, variant)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(file_path(source, variant), target)
            photo_bytes += file_path(copy, "large").stat().st_size
            db.session.add(copy)
            if n % 3 == 0:
                db.session.add(Comment(school_id=oskar.school_id, author_id=teacher.id, portfolio_item_id=item.id,
                                       body="Wonderful imagination, Oskar!", created_at=when))
                db.session.add(Comment(school_id=oskar.school_id, author_id=world["oskar_parent"],
                                       portfolio_item_id=item.id, body="We read it together at bedtime.",
                                       created_at=when + timedelta(hours=1)))
        db.session.commit()
        return photo_bytes


def weigh(app, world):
    """Zosia's story as her parent's phone gets it: the HTML on the wire, each photo shown, and
    every thumbnail of her items."""
    from app.extensions import db
    from app.models import MediaFile, PortfolioItem
    from app.services.media import file_path
    client = app.test_client()
    _sign_in(client, world["parent"])
    url = f"/portfolio/pupils/{world['zosia']}"
    page = client.get(url, headers={"Accept-Encoding": "br, gzip"})
    plain = client.get(url).text
    shown = re.findall(r'<img[^>]* src="(/media/\d+/(?:thumb|feed))"', plain)
    shown_bytes = [len(client.get(src).data) for src in shown]
    with app.app_context():
        thumbs = [file_path(m, "thumb").stat().st_size for m in db.session.scalars(
            db.select(MediaFile).join(PortfolioItem, PortfolioItem.id == MediaFile.portfolio_item_id)
            .where(PortfolioItem.pupil_id == world["zosia"]))]
    encoding = page.headers.get("Content-Encoding", "none")
    cards = len(re.findall(r'<article[^>]* id="item-\d+"', plain))
    return len(page.data), encoding, cards, shown, shown_bytes, thumbs


def count_queries(app, account_id, url):
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
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def measure_keepsake(folder):
    """Run in a process of its own, started before the parent processed any photo (on Linux a
    process inherits the peak resident set of the one it was started from): it waits for the ids on
    its standard input, then builds the keepsake, so that the rise of its peak is the keepsake's."""
    import resource
    import tracemalloc

    from app.extensions import db
    from app.models import Pupil, User
    from app.services import keepsake
    asked = json.loads(sys.stdin.readline())
    pupil_id, reader_id = asked["pupil"], asked["reader"]
    app = _app(folder)
    with app.test_request_context("/"):
        pupil = db.session.get(Pupil, pupil_id)
        reader = db.session.get(User, reader_id)
        year = keepsake.school_year_now(pupil.school)
        keepsake.entries_for(pupil, reader, year)  # warm: imports, templates, the database's pages
        db.session.rollback()
        # First build: the time, and the rise of the process's peak resident set.
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * KB
        started = time.perf_counter()
        made = keepsake.build_keepsake(pupil, reader, year)
        seconds = time.perf_counter() - started
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * KB
        streamed = 0
        while chunk := made.file.read(64 * KB):  # as send_file streams it
            streamed += len(chunk)
        made.file.close()
        # Second build under tracemalloc (slower): the peak of Python's own allocations.
        tracemalloc.start()
        again = keepsake.build_keepsake(pupil, reader, year)
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        again.file.close()
        return {"seconds": seconds, "peak": peak, "rss_before": rss_before, "rss_rise": rss_after - rss_before,
                "size": made.size, "streamed": streamed, "items": made.items, "photos": made.photos}


def start_children(folder, repeat):
    return [subprocess.Popen([sys.executable, "-m", "benchmarks.portfolio_scale", "--measure-keepsake", folder],
                             cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            for _ in range(repeat)]


def keepsake_in_children(children, world):
    runs = []
    for child in children:  # one after the other: each build has the machine to itself
        out, _err = child.communicate(json.dumps({"pupil": world["oskar"], "reader": world["oskar_parent"]}) + "\n",
                                      timeout=600)
        if child.returncode != 0:
            raise RuntimeError("the keepsake build failed")
        runs.append(json.loads(out.strip().splitlines()[-1]))
    return runs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--small", type=int, default=5)
    parser.add_argument("--keepsake", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3, help="keepsake builds (each in a new process)")
    parser.add_argument("--measure-keepsake", metavar="FOLDER", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sys.path.insert(0, ROOT)
    if args.measure_keepsake:
        print(json.dumps(measure_keepsake(args.measure_keepsake)))
        return 0

    folder = tempfile.mkdtemp(prefix="hearth-portfolio-")
    children = start_children(folder, args.repeat)  # now, while this process is small
    try:
        app = _app(folder)
        started = time.perf_counter()
        world = build(app, args.items, args.small)
        built_in = time.perf_counter() - started
        html, encoding, cards, shown, shown_bytes, thumbs = weigh(app, world)
        queries = {}
        for who in ("parent", "teacher"):
            queries[who] = (count_queries(app, world[who], f"/portfolio/pupils/{world['maja']}"),
                            count_queries(app, world[who], f"/portfolio/pupils/{world['zosia']}"))
        photo_bytes = add_year(app, world, args.keepsake)
        runs = keepsake_in_children(children, world)
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
        shutil.rmtree(folder, ignore_errors=True)

    print(f"Built {args.items + args.small} items with 12 MP phone photos through the pipeline in {built_in:.1f} s; "
          f"{args.keepsake} more items for the keepsake (copies of those photos).\n")
    print("| what | bytes | budget | within |")
    print("|---|---:|---:|---|")
    print(f"| pupil's story HTML ({encoding}), {cards} of {args.items} items on the first page | {html:,} | "
          f"{BUDGET_HTML:,} | {'yes' if html <= BUDGET_HTML else 'NO'} |")
    variant = "thumb" if shown and shown[0].endswith("/thumb") else "feed"
    if shown_bytes:
        print(f"| photos the page shows ({len(shown)}, the {variant} variant): largest | {max(shown_bytes):,} | "
              f"{BUDGET_THUMB if variant == 'thumb' else 60_000:,} | "
              f"{'yes' if max(shown_bytes) <= (BUDGET_THUMB if variant == 'thumb' else 60_000) else 'NO'} |")
    print(f"| thumbnails of all {len(thumbs)} photos: largest | {max(thumbs):,} | {BUDGET_THUMB:,} | "
          f"{'yes' if max(thumbs) <= BUDGET_THUMB else 'NO'} |")
    print(f"| thumbnails: median | {int(statistics.median(thumbs)):,} | | |")
    print(f"\n| the pupil's story for | queries ({args.small} items) | queries ({args.items} items) |")
    print("|---|---:|---:|")
    for who, (few, many) in queries.items():
        print(f"| {who} | {few} | {many} |")

    peak = max(r["peak"] for r in runs)
    rise = max(r["rss_rise"] for r in runs)
    last = runs[-1]
    print(f"\n| keepsake of {last['items']} items, {last['photos']} photos ({args.repeat} builds, "
          "each in a new process) | value |")
    print("|---|---:|")
    print(f"| build time, median | {statistics.median(r['seconds'] for r in runs) * 1000:,.0f} ms |")
    print(f"| the photos' bytes (large WebP) | {photo_bytes:,} |")
    print(f"| zip size | {last['size']:,} ({last['size'] / photo_bytes:.3f} of the photos) |")
    print(f"| peak Python allocations (tracemalloc), largest | {peak:,} ({peak / photo_bytes:.1%} of the photos) |")
    print(f"| resident set before the build | {last['rss_before']:,} |")
    print(f"| rise of the peak resident set during the build (maxrss), largest | {rise:,} "
          f"({rise / photo_bytes:.1%} of the photos) |")

    failed = html > BUDGET_HTML or max(thumbs) > BUDGET_THUMB
    failed |= any(few != many for few, many in queries.values())
    failed |= peak > photo_bytes / 4 or rise > photo_bytes / 4
    failed |= any(r["streamed"] != r["size"] for r in runs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
