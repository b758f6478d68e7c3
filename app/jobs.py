"""Background jobs: work that should not hold up a request (mail; later media and translation).

A job is a plain function named ``"package.module:function"`` and called with simple arguments
(ids, never objects)::

    jobs.enqueue_after_commit("app.services.email_delivery:deliver", delivery.id)  # once committed
    jobs.enqueue("app.services.email_delivery:deliver", delivery.id)               # now

With ``REDIS_URL`` set, a job goes to the RQ queue "hearth" and ``flask jobs worker`` runs it.
Without Redis, or when Redis does not answer, it runs in this process: after the response has been
sent when it was queued during a request, at once otherwise (commands, tests calling services).
Either way it runs in an application context of its own. A job that fails is logged and never
breaks its caller, so jobs keep their truth in the database and are safe to run twice: a sweep
such as ``flask notify send-due`` picks up whatever a lost job left undone.
"""
import importlib
import logging
from functools import partial

import click
import redis
from flask import current_app, has_app_context, has_request_context, request
from flask.cli import AppGroup
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.wsgi import ClosingIterator

from .extensions import db

QUEUE = "hearth"  # config JOBS_QUEUE overrides it (tests use a queue of their own)
FAILED_JOB_DAYS = 7  # how long RQ keeps a failed job for a look with `rq info`
# RQ kills a job after this many seconds (its own default is 180). The longest job is a video's
# transcoding (services/media.py process_video), which FFMPEG_TIMEOUT bounds (300 s by default)
# plus a few probes of at most 30 s each: a job killed half-way would leave the video waiting.
JOB_TIMEOUT = 15 * 60
_PENDING = "hearth_jobs"  # db.session.info: [(savepoint or None, target, args)] until the commit
_AFTER_RESPONSE = "hearth.jobs_after_response"  # WSGI environ: in-process jobs of this request
log = logging.getLogger(__name__)
jobs_cli = AppGroup("jobs", help="Background jobs (mail, media, translation).")
_queues = {}
_standalone_app = None


def resolve(target):
    """The function that ``"package.module:function"`` names (ValueError or ImportError if none)."""
    module, _, name = target.partition(":")
    function = getattr(importlib.import_module(module), name, None) if name else None
    if not callable(function):
        raise ValueError(f"{target!r} names no function: write 'package.module:function'")
    return function


def enqueue_after_commit(target, *args):
    """Queue the job when the current database transaction commits; drop it if it rolls back
    (a rolled-back savepoint drops the jobs queued inside it)."""
    resolve(target)  # a typo fails here, in the caller, not later in a worker
    session = db.session()
    if not session.in_transaction():
        session.begin()  # the job belongs to this transaction: its rollback drops it
    session.info.setdefault(_PENDING, []).append((session.get_nested_transaction(), target, args))


def enqueue(target, *args):
    """Queue the job now: on Redis when configured and answering, else in this process."""
    resolve(target)
    app = current_app._get_current_object()
    url = app.config.get("REDIS_URL")
    if url:
        try:
            _queue(url, app.config.get("JOBS_QUEUE", QUEUE)).enqueue(
                run_job, target, *args, result_ttl=0, failure_ttl=FAILED_JOB_DAYS * 86400,
                job_timeout=max(JOB_TIMEOUT, int(app.config.get("FFMPEG_TIMEOUT") or 0) + 300))
            return
        except redis.RedisError as error:
            log.warning("jobs: Redis did not answer (%s); running %s%r in this process instead "
                        "(the database keeps the truth: `flask notify send-due` sends any mail missed)",
                        error, target, args)
    if has_request_context() and _AFTER_RESPONSE in request.environ:
        request.environ[_AFTER_RESPONSE].append((target, args))
    else:
        _run_all(app, [(target, args)])


def run_job(target, *args):
    """What the RQ worker runs. The work horse is forked from ``flask jobs worker``, whose app it
    inherits (``rq worker`` alone makes one); it opens database connections of its own."""
    global _standalone_app
    if has_app_context():
        app = current_app._get_current_object()
    else:
        if _standalone_app is None:
            from . import create_app
            _standalone_app = create_app()
        app = _standalone_app
    with app.app_context():
        db.engine.dispose(close=False)  # connections inherited over fork() stay the parent's
        try:
            resolve(target)(*args)  # an error propagates: RQ logs it and keeps the failed job
        finally:
            db.session.remove()
            db.engine.dispose()


def _queue(url, name):
    if (url, name) not in _queues:
        from rq import Queue
        connection = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        _queues[url, name] = Queue(name, connection=connection)
    return _queues[url, name]


def _run_all(app, waiting):
    for target, args in waiting:
        with app.app_context():
            try:
                resolve(target)(*args)
            except Exception:
                log.exception("jobs: %s%r failed", target, args)


class _RunAfterResponse:
    """WSGI middleware: a request's in-process jobs run when the server has sent the response and
    closes it (gunicorn and the development server do; so does the test client, which reads the
    whole body first: see FreshContextClient in tests/conftest.py). A response without jobs passes
    through untouched, so sendfile still serves media."""

    def __init__(self, app, wsgi_app):
        self.app, self.wsgi_app = app, wsgi_app

    def __call__(self, environ, start_response):
        waiting = environ[_AFTER_RESPONSE] = []
        body = None
        try:
            body = self.wsgi_app(environ, start_response)
        finally:
            del environ[_AFTER_RESPONSE]  # from here on a job runs at once
            if body is None:  # the application raised: no response will be sent
                _run_all(self.app, waiting)
        return ClosingIterator(body, partial(_run_all, self.app, waiting)) if waiting else body


@event.listens_for(Session, "after_commit")
def _dispatch(session):
    if session.in_nested_transaction():  # a savepoint released: wait for the real commit
        return
    for _savepoint, target, args in session.info.pop(_PENDING, ()):
        enqueue(target, *args)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session, previous_transaction):
    pending = session.info.get(_PENDING)
    if not pending:
        return
    if not previous_transaction.nested:
        del session.info[_PENDING]
        return
    session.info[_PENDING] = [job for job in pending if not _within(job[0], previous_transaction)]


def _within(transaction, outer):
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop once the queue is empty (for a timer or a test).")
def worker_command(burst):
    """Run the jobs queued in Redis; run it as a service next to the web server."""
    from rq import Worker
    url = current_app.config.get("REDIS_URL")
    if not url:
        raise click.ClickException("REDIS_URL is not set: without Redis every job runs inside the "
                                   "web process and no worker is needed.")
    queue = _queue(url, current_app.config.get("JOBS_QUEUE", QUEUE))
    db.engine.dispose()  # each job runs in a forked work horse: hand it no open connections
    try:
        Worker([queue], connection=queue.connection).work(burst=burst, logging_level="INFO")
    except redis.ConnectionError as error:
        raise click.ClickException(f"Redis (REDIS_URL) did not answer: {error}") from None


def init_app(app):
    """Run a request's in-process jobs after its response; add `flask jobs`."""
    app.wsgi_app = _RunAfterResponse(app, app.wsgi_app)
    app.cli.add_command(jobs_cli)
