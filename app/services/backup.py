"""Backups (issue 10 part 6): the database and the media in one folder, and back again.

``make_backup`` writes ``hearth-<UTC time>/`` with:

- the database: on SQLite a copy made through SQLite's online backup API (a consistent snapshot
  while the app keeps writing), checked with ``PRAGMA integrity_check``; on PostgreSQL a
  ``pg_dump --format=custom`` (one transaction, so also a consistent snapshot);
- ``media/``: the uploaded files, copied after the database snapshot, so every file a row of the
  snapshot names is there (files are written before their row commits, and never changed after);
- ``manifest.json``: when, from which schema revision, what it holds.

The folder is written as ``.partial`` and renamed when complete: a backup that stopped half-way
never looks finished. ``restore_backup`` puts a folder back, refusing a database that already holds
a school unless told to replace it.
"""
import json
import os
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from ..extensions import db
from ..models.base import utcnow

FORMAT = 1
SQLITE_FILE = "hearth.sqlite3"
PG_FILE = "hearth.pgdump"


class BackupError(RuntimeError):
    pass


@dataclass
class BackupResult:
    path: Path
    database_bytes: int
    media_files: int
    media_bytes: int
    seconds: float


def _url():
    return make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])


def _libpq_url(url):
    """The URL as pg_dump and pg_restore take it (no SQLAlchemy driver name)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _media_root():
    return Path(current_app.config["MEDIA_ROOT"])


def _revision():
    try:
        return db.session.scalar(text("SELECT version_num FROM alembic_version"))
    except Exception:  # a database made by create_all (tests) has no alembic table
        db.session.rollback()
        return None


def integrity_problems(path):
    """What SQLite's integrity check finds wrong in a database file ([] when it is sound)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as err:
        return [str(err)]
    finally:
        conn.close()
    return [] if rows == ["ok"] else rows


def _copy_sqlite(source, target):
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        # All pages in one step: a consistent snapshot; writers wait for the read lock only.
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _copy_media(source, target):
    files = size = 0
    if not source.is_dir():
        target.mkdir(parents=True)
        return files, size
    for folder, _dirs, names in os.walk(source):
        rel = Path(folder).relative_to(source)
        (target / rel).mkdir(parents=True, exist_ok=True)
        for name in names:
            if name.startswith(".tmp-"):
                continue  # an upload still being written: its row is not committed
            src = Path(folder) / name
            try:
                shutil.copy2(src, target / rel / name)
            except FileNotFoundError:
                continue  # deleted since the snapshot (the retention run); its row is gone too
            files += 1
            size += src.stat().st_size if src.exists() else 0
    return files, size


def make_backup(destination, now=None):
    """Write a complete backup folder under ``destination`` and return what it holds."""
    started = time.monotonic()
    now = now or utcnow()
    url = _url()
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    name = f"hearth-{now:%Y%m%dT%H%M%S}"
    final = destination / name
    partial = destination / (name + ".partial")
    if final.exists():
        raise BackupError(f"{final} already exists")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir()
    revision = _revision()
    if url.get_backend_name() == "sqlite":
        database = url.database
        if not database or database == ":memory:":
            raise BackupError("an in-memory database cannot be backed up")
        db_file = partial / SQLITE_FILE
        _copy_sqlite(database, db_file)
        problems = integrity_problems(db_file)
        if problems:
            raise BackupError("the copy failed SQLite's integrity check: " + "; ".join(problems[:5]))
    elif url.get_backend_name() == "postgresql":
        db_file = partial / PG_FILE
        run = subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--file", str(db_file),
                              "--dbname", _libpq_url(url)], capture_output=True, text=True)
        if run.returncode != 0:
            raise BackupError("pg_dump failed: " + run.stderr.strip())
    else:
        raise BackupError(f"no backup method for {url.get_backend_name()}")
    media_files, media_bytes = _copy_media(_media_root(), partial / "media")
    manifest = {
        "format": FORMAT, "created_at": now.isoformat() + "Z", "database": url.get_backend_name(),
        "database_file": db_file.name, "schema_revision": revision,
        "media_files": media_files, "media_bytes": media_bytes,
    }
    (partial / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(partial, final)
    return BackupResult(final, (final / db_file.name).stat().st_size, media_files, media_bytes,
                        time.monotonic() - started)


def read_manifest(folder):
    path = Path(folder) / "manifest.json"
    if not path.is_file():
        raise BackupError(f"{folder} is not a Hearth backup (no manifest.json)")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{folder} was made by an unknown version of Hearth")
    return manifest


def _holds_a_school():
    from ..models import School
    try:
        return bool(db.session.scalar(select(func.count()).select_from(School)))
    except Exception:
        db.session.rollback()
        return False


def restore_backup(folder, replace=False):
    """Put a backup folder back: the database, then the media. Returns the manifest."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    url = _url()
    if manifest["database"] != url.get_backend_name():
        raise BackupError(f"this backup is of a {manifest['database']} database, "
                          f"and DATABASE_URL is {url.get_backend_name()}")
    if _holds_a_school() and not replace:
        raise BackupError("the database already holds a school: pass --replace to overwrite it")
    db.session.remove()
    db.engine.dispose()
    source = folder / manifest["database_file"]
    if manifest["database"] == "sqlite":
        problems = integrity_problems(source)
        if problems:
            raise BackupError("the backup's database failed SQLite's integrity check")
        target = Path(url.database)
        target.parent.mkdir(parents=True, exist_ok=True)
        incoming = target.with_name(target.name + ".restoring")
        shutil.copy2(source, incoming)
        for suffix in ("-wal", "-shm"):
            Path(str(target) + suffix).unlink(missing_ok=True)
        os.replace(incoming, target)
    else:
        run = subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                              "--dbname", _libpq_url(url), str(source)], capture_output=True, text=True)
        if run.returncode != 0:
            raise BackupError("pg_restore failed: " + run.stderr.strip())
    media = _media_root()
    incoming = media.with_name(media.name + ".restoring")
    if incoming.exists():
        shutil.rmtree(incoming)
    shutil.copytree(folder / "media", incoming)
    if media.exists():
        old = media.with_name(media.name + ".before-restore")
        if old.exists():
            shutil.rmtree(old)
        os.replace(media, old)
        os.replace(incoming, media)
        shutil.rmtree(old)
    else:
        os.replace(incoming, media)
    return manifest
