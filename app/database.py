"""Database engine settings: SQLite in WAL mode with immediate write transactions (SECURITY.md 32)."""
import sqlite3

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

_installed = False


def configure_database(app):
    global _installed
    if _installed:
        return
    _installed = True

    @event.listens_for(Engine, "connect")
    def _on_connect(dbapi_conn, record):
        if not isinstance(dbapi_conn, sqlite3.Connection):
            return
        # We issue BEGIN ourselves (below), so pysqlite must not.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(Engine, "begin")
    def _on_begin(conn):
        if conn.dialect.name != "sqlite":
            return
        # A GET never writes (SECURITY.md 15), so it reads from a snapshot without locking.
        # Everything else takes the write lock at the start, so a transaction that read first
        # never fails with "database is locked" when it comes to write.
        if has_request_context() and request.method in ("GET", "HEAD", "OPTIONS"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
