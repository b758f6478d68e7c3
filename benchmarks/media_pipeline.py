"""A phone photo through the media pipeline: the bytes that reach a parent, and the time it takes.

Run: .venv/bin/python -m benchmarks.media_pipeline  [--repeat N]
It makes a 12 MP JPEG that looks like a phone photo (soft gradients, shapes, fine edges and sensor-like
noise, EXIF with GPS; about 3 MB), then stores it N times with store_upload inside an app context, with
a temporary MEDIA_ROOT and a temporary SQLite database, exactly as an upload from a post would be.
It prints each variant's bytes and dimensions and the median processing time. Budgets (QUALITY.md,
issue 4): the feed photo <= 60 KB, the thumbnail <= 30 KB. The machine is noisy: read the median,
never one run.
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

FEED_BUDGET = 60_000
THUMB_BUDGET = 30_000
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def measure(repeat):
    from app import create_app
    from app.extensions import db
    from tests.media_samples import phone_photo

    started = time.perf_counter()
    photo = phone_photo()
    made_in = time.perf_counter() - started
    folder = tempfile.mkdtemp(prefix="hearth-media-")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/media.db",
                      "MEDIA_ROOT": os.path.join(folder, "media")})
    times, result = [], None
    try:
        result = _run(app, photo, repeat, times)
    finally:
        with app.app_context():
            db.engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)
    return photo, made_in, result, times


def _run(app, photo, repeat, times):
    from PIL import Image

    from app.extensions import db
    from app.services.media import file_path, store_upload
    from tests.factories import make_school, make_teacher
    from tests.media_samples import upload
    with app.app_context():
        db.create_all()
        school = make_school(name="Benchmark Primary")
        teacher = make_teacher(school)
        store_upload(upload(photo, "warm-up.jpg"), school_id=school.id, uploaded_by=teacher)  # imports, caches
        for n in range(repeat):
            started = time.perf_counter()
            media = store_upload(upload(photo, f"IMG_{n:04d}.JPG", "image/jpeg"), school_id=school.id,
                                 uploaded_by=teacher)
            times.append(time.perf_counter() - started)
            db.session.commit()
        return {variant: (file_path(media, variant).stat().st_size, Image.open(file_path(media, variant)).size)
                for variant in ("feed", "large", "thumb")}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    photo, made_in, result, times = measure(args.repeat)

    print(f"input: a 4032 x 3024 JPEG of {len(photo):,} bytes ({len(photo) / 1_000_000:.1f} MB; "
          f"made in {made_in:.1f} s)\n")
    print(f"{'variant':<8} {'bytes':>9} {'of input':>9}  {'width x height':<15} budget")
    budgets = {"feed": FEED_BUDGET, "thumb": THUMB_BUDGET}
    within = True
    for variant, (size, (width, height)) in result.items():
        budget = budgets.get(variant)
        verdict = "" if budget is None else f"<= {budget:,} {'ok' if size <= budget else 'OVER'}"
        within = within and (budget is None or size <= budget)
        print(f"{variant:<8} {size:>9,} {size / len(photo):>8.1%}  {f'{width} x {height}':<15} {verdict}")
    total = sum(size for size, _dims in result.values())
    print(f"{'stored':<8} {total:>9,} {total / len(photo):>8.1%}  (the original is not kept)\n")
    print(f"processing time per photo: median {statistics.median(times) * 1000:.0f} ms, "
          f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms over {len(times)} runs "
          f"({os.cpu_count()} CPUs)")
    return 0 if within else 1


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    sys.exit(main())
