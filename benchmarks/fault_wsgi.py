"""The WSGI app the fault script (``benchmarks.faults``) serves with gunicorn: Hearth's own app,
plus two things that exist only here, never in the application's code:

* ``HEARTH_BENCH_MAIL_DIR``: where mail goes when no MAIL_SERVER is set (instead of instance/mail),
  so that a benchmark writes nothing into the project's folder;
* ``HEARTH_FAULT_PAUSE_FILE``: a pause point for the "worker killed mid-request" scenario. A request
  carrying the header ``X-Hearth-Fault-Pause: 1`` that has written PointAward rows stops just
  before its COMMIT: every row of the action has been flushed to PostgreSQL (inside the open
  transaction), this worker writes what it flushed and its process id to that file, then sleeps
  (``HEARTH_FAULT_PAUSE_SECONDS``, 20 by default). The script reads the file and kills this very
  process with SIGKILL while it sleeps, so the kill lands between the writes and the commit every
  time, not by luck of timing. Requests without the header are untouched.

Run: ``gunicorn benchmarks.fault_wsgi:app`` (the fault script does it; not for production).
"""
import json
import os
import time
from collections import Counter

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from app import create_app

HEADER = "X-Hearth-Fault-Pause"
app = create_app()
if os.environ.get("HEARTH_BENCH_MAIL_DIR"):
    app.config["MAIL_OUTBOX_DIR"] = os.environ["HEARTH_BENCH_MAIL_DIR"]

PAUSE_FILE = os.environ.get("HEARTH_FAULT_PAUSE_FILE")


def _marked():
    return has_request_context() and request.headers.get(HEADER) == "1"


if PAUSE_FILE:
    @event.listens_for(Session, "after_flush")
    def _count_flushed(session, flush_context):
        """Count the rows each flush of a marked request inserts (``session.new`` is still the
        flush's list here), by model."""
        if _marked():
            counts = session.info.setdefault("fault_flushed", Counter())
            for obj in session.new:
                counts[type(obj).__name__] += 1

    @event.listens_for(Session, "before_commit")
    def _pause_before_commit(session):
        """Flush whatever is pending, then, if this transaction wrote awards, report and sleep."""
        if not _marked():
            return
        session.flush()
        counts = session.info.get("fault_flushed") or {}
        if not counts.get("PointAward"):
            return
        partial = PAUSE_FILE + ".part"
        with open(partial, "w") as fh:
            json.dump({"pid": os.getpid(), "flushed": dict(counts), "at": time.time()}, fh)
        os.replace(partial, PAUSE_FILE)
        time.sleep(float(os.environ.get("HEARTH_FAULT_PAUSE_SECONDS", "20")))
