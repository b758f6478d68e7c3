"""Every schema change is a migration: upgrading an empty database gives exactly the models."""
import os

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from app.extensions import db
from tests.conftest import PG_URL, build_app


def _fresh_database_url(tmp_path):
    if not PG_URL:
        return "sqlite:///" + str(tmp_path / "migrated.db")
    import psycopg
    from sqlalchemy.engine import make_url
    url = make_url(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"{url.database}_migrations_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


def test_migrations_build_the_models_and_go_back_down(tmp_path):
    app = build_app(tmp_path, _fresh_database_url(tmp_path))
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"render_as_batch": True}),
                                    db.metadata)
        assert diff == []
        downgrade(revision="base")
        tables = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        db.engine.dispose()
