"""Peak memory of processing one 12-megapixel phone photo, as a school's server does it.

Run: .venv/bin/python -m benchmarks.photo_memory          (about 30 seconds: encoding the HEIC takes most)

It makes the photo a phone sends (tests.media_samples.phone_photo: a 4032 x 3024 JPEG of about 3 MB,
with a phone's EXIF) and the same picture as a 12-megapixel HEIC (what an iPhone sends: photos can
be HEIC because app.services.media registers pillow-heif). Each file is then stored by
app.services.media.store_upload in a fresh child process of its own, with a temporary SQLite
database and MEDIA_ROOT, the upload read from a file as werkzeug spools a large form post.

For each photo it prints the child's resident memory just before the upload (the baseline: Python,
Flask, SQLAlchemy and Pillow loaded, the app made) and its peak over the whole run (the kernel's
high-water mark, VmHWM; not getrusage's ru_maxrss, which Linux carries over an exec from the forked
parent, here the process that drew the photo). Goal (issue 10): peak <= 250 MB. A JPEG is
decoded at a reduced scale (Pillow's draft(), DCT scaling) when that still covers the largest stored
size; a HEIC has no such shortcut and is decoded at full size.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MB = 1024 * 1024
GOAL_MB = 250


def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _child(path, folder):
    """In the child process: store the photo at ``path`` once; print what memory it took, as JSON."""
    from werkzeug.datastructures import FileStorage

    from app import create_app
    from app.extensions import db
    from app.models import School
    from app.services.media import store_upload

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/photo.db",
                      "MEDIA_ROOT": os.path.join(folder, "media")})
    with app.app_context():
        db.create_all()
        school = School(name="Photo Primary", slug="photo-primary", timezone="Europe/London")
        db.session.add(school)
        db.session.commit()
        with open(path, "rb") as stream:
            upload = FileStorage(stream=stream, filename=os.path.basename(path))
            baseline_kb = _status_kb("VmRSS")
            baseline_peak_kb = _status_kb("VmHWM")
            media = store_upload(upload, school_id=school.id)
            db.session.commit()
        peak_kb = _status_kb("VmHWM")
        result = {"baseline_kb": baseline_kb, "peak_before_kb": baseline_peak_kb, "peak_kb": peak_kb,
                  "stored": [media.width, media.height, media.large_width, media.large_height],
                  "bytes_stored": media.bytes_stored}
        db.engine.dispose()
    print(json.dumps(result))


def make_photos(folder):
    """The 12 MP JPEG (tests.media_samples.phone_photo) and the same picture as a HEIC, on disk."""
    import io

    import pillow_heif
    from PIL import Image

    from tests.media_samples import phone_exif, phone_photo
    pillow_heif.register_heif_opener()
    jpeg = phone_photo()
    paths = {"JPEG": os.path.join(folder, "IMG_0001.jpg"), "HEIC": os.path.join(folder, "IMG_0002.heic")}
    with open(paths["JPEG"], "wb") as fh:
        fh.write(jpeg)
    with Image.open(io.BytesIO(jpeg)) as image:
        # x265's fastest preset: the default takes a minute here; the decoder's work is the same.
        image.save(paths["HEIC"], "HEIF", quality=80, exif=phone_exif(1).tobytes(),
                   enc_params={"preset": "ultrafast"})
    return paths


def run_child(path, folder):
    """Store one photo in a fresh Python process; its measurements as a dict."""
    work = tempfile.mkdtemp(prefix="store-", dir=folder)
    done = subprocess.run([sys.executable, "-m", "benchmarks.photo_memory", "--child", path, work],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"storing {os.path.basename(path)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure():
    """Rows for the production table (section "Memory")."""
    from benchmarks.table import Row
    folder = tempfile.mkdtemp(prefix="hearth-photo-memory-")
    rows = []
    try:
        paths = make_photos(folder)
        for kind, path in paths.items():
            from PIL import Image
            with Image.open(path) as image:
                pixels = image.width * image.height
            result = run_child(path, folder)
            peak = result["peak_kb"] * 1024
            rows.append(Row("Memory", f"one {pixels / 1e6:.0f} MP {kind} photo ({os.path.getsize(path) / MB:.1f} MB): "
                            f"peak RSS of the process (before: {result['baseline_kb'] / 1024:.0f} MB)",
                            f"{peak / MB:.0f} MB", f"<= {GOAL_MB} MB", peak <= GOAL_MB * MB))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return rows


def main():
    from benchmarks.table import all_met, render
    rows = measure()
    print(render(rows, title="A 12-megapixel phone photo through store_upload"))
    return 0 if all_met(rows) else 1


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
    else:
        sys.exit(main())
