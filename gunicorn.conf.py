"""gunicorn's settings for Hearth, read by `gunicorn wsgi:app` from this folder.

Every value can be changed from the environment (/etc/hearth.env) or on the command line, which wins.
The README's production section explains the choices; `make bench` measures them.
"""
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Processes: one per core plus one. Each takes about 100 MB once warm (make bench prints the peak).
workers = int(os.environ.get("WEB_CONCURRENCY", (os.cpu_count() or 1) + 1))
# Threads per process: a request waiting on PostgreSQL, on a translation provider (at most
# TRANSLATION_TIMEOUT seconds) or on the disk leaves the others running.
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))  # a worker silent this long is replaced
graceful_timeout = 30
keepalive = 5  # seconds an idle connection from nginx is kept
# Set GUNICORN_MAX_REQUESTS to replace a worker after that many requests (spread, so that they are
# not all replaced at once), should a worker's memory ever grow; 0 (the default) never does.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
# The request id nginx sends (and Hearth returns) links an access log line to the app's log lines.
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms id=%({x-request-id}o)s'
