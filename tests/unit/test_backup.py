"""Backups (issue 10 part 6): made while writes go on, restored into an empty database, every row
acknowledged before the backup began is there, and the copy passes the database's own checks."""
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from app.extensions import db
from app.models import School
from app.services import backup as backups
from tests.conftest import PG_URL, _clean, build_app


def _writer(app, acked, stop):
    """Commit schools one by one until told to stop; each id goes into ``acked`` once committed."""
    with app.app_context():
        i = 0
        while not stop.is_set():
            i += 1
            school = School(name=f"Written {i}", slug=f"written-{i}-{threading.get_ident()}")
            db.session.add(school)
            db.session.commit()
            acked.append(school.id)
        db.session.remove()


def _restore_target(tmp_path, database_url):
    """An app pointing at an empty database and media folder, for the restore."""
    if database_url:
        import psycopg
        url = make_url(database_url)
        name = f"{url.database}_restore"
        admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        uri = url.set(database=name).render_as_string(hide_password=False)
    else:
        uri = "sqlite:///" + str(tmp_path / "restored.db")
    return build_app(tmp_path / "restored", uri, MEDIA_ROOT=str(tmp_path / "restored-media"))


def test_a_backup_made_during_writes_restores_every_acknowledged_row(app, tmp_path, database_url):
    media = Path(app.config["MEDIA_ROOT"])
    (media / "2026" / "11").mkdir(parents=True)
    (media / "2026" / "11" / "photo.webp").write_bytes(b"RIFF....WEBP" * 100)
    (media / "2026" / "11" / ".tmp-upload.part").write_bytes(b"half an upload")
    acked, stop = [], threading.Event()
    writer = threading.Thread(target=_writer, args=(app, acked, stop))
    writer.start()
    try:
        while len(acked) < 20:
            time.sleep(0.01)
        before = list(acked)
        result = backups.make_backup(tmp_path / "backups")
        while len(acked) < len(before) + 5:
            time.sleep(0.01)
    finally:
        stop.set()
        writer.join()
    assert result.path.name.startswith("hearth-") and not result.path.name.endswith(".partial")
    assert result.media_files == 1
    assert len(acked) > len(before)  # writes really went on around the backup

    restored = _restore_target(tmp_path, database_url)
    try:
        with restored.app_context():
            if not database_url:
                db.create_all()  # an empty database with the schema, as after a fresh install
            manifest = backups.restore_backup(result.path)
            assert manifest["media_files"] == 1
            ids = set(db.session.scalars(select(School.id)))
            assert set(before) <= ids
            assert ids <= set(acked)
            if not database_url:
                assert backups.integrity_problems(make_url(restored.config["SQLALCHEMY_DATABASE_URI"]).database) == []
            restored_media = Path(restored.config["MEDIA_ROOT"])
            assert (restored_media / "2026" / "11" / "photo.webp").read_bytes() == b"RIFF....WEBP" * 100
            assert not (restored_media / "2026" / "11" / ".tmp-upload.part").exists()
    finally:
        _clean(restored)


def test_restore_refuses_a_database_that_holds_a_school_unless_told_to_replace(app, tmp_path):
    db.session.add(School(name="Kept", slug="kept"))
    db.session.commit()
    result = backups.make_backup(tmp_path / "backups")
    db.session.add(School(name="After the backup", slug="after"))
    db.session.commit()
    with pytest.raises(backups.BackupError, match="--replace"):
        backups.restore_backup(result.path)
    assert db.session.scalar(select(func.count()).select_from(School)) == 2
    backups.restore_backup(result.path, replace=True)
    assert db.session.scalars(select(School.slug)).all() == ["kept"]


def test_a_folder_that_is_not_a_backup_is_refused(app, tmp_path):
    (tmp_path / "random").mkdir()
    with pytest.raises(backups.BackupError, match="not a Hearth backup"):
        backups.restore_backup(tmp_path / "random")


@pytest.mark.skipif(bool(PG_URL), reason="the SQLite copy's integrity check")
def test_a_damaged_sqlite_copy_is_refused_on_restore(app, tmp_path):
    result = backups.make_backup(tmp_path / "backups")
    copy = result.path / backups.SQLITE_FILE
    data = bytearray(copy.read_bytes())
    data[4096:8192] = b"\xff" * 4096  # scribble over a page of the copy
    copy.write_bytes(bytes(data))
    with pytest.raises(backups.BackupError):
        backups.restore_backup(result.path, replace=True)


def test_the_commands(app, tmp_path):
    db.session.add(School(name="Kept", slug="kept"))
    db.session.commit()
    runner = app.test_cli_runner()
    out = runner.invoke(args=["backup", "--to", str(tmp_path / "b")])
    assert out.exit_code == 0, out.output
    assert "Backed up to" in out.output
    (folder,) = (tmp_path / "b").iterdir()
    refused = runner.invoke(args=["restore", str(folder)])
    assert refused.exit_code != 0 and "--replace" in refused.output
    done = runner.invoke(args=["restore", str(folder), "--replace"])
    assert done.exit_code == 0, done.output
