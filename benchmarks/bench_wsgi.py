"""The WSGI app the throughput benchmark serves: Hearth, plus a bare Flask route at ``/bare/``.

    gunicorn -w 2 --threads 4 benchmarks.bench_wsgi:app

Everything but ``/bare`` goes to the real Hearth app, made by the same ``create_app()`` as
``wsgi:app`` (same environment, same middleware). ``/bare/`` is a ``Flask(__name__)`` app of one
route answering a short text: no session, no database, no templates, no compression. Served by the
same gunicorn workers in the same run, it is the yardstick that ``benchmarks/load.py`` divides
Hearth's requests per second by, so that the ratios do not depend on how fast the machine is.
"""
from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from app import create_app

hearth = create_app()
bare = Flask(__name__)


@bare.route("/")
def hello():
    return "Hello from a bare Flask route.\n", 200, {"Content-Type": "text/plain; charset=utf-8"}


app = DispatcherMiddleware(hearth, {"/bare": bare})
