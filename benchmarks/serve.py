"""What the production benchmarks share: databases, a Redis of their own, gunicorn, and an HTTP client.

Nothing here is Hearth-specific beyond the sign-in form: the benchmarks (``benchmarks.production``,
``benchmarks.load``, ``benchmarks.faults``) start real processes on 127.0.0.1 the way a school's
server runs them, and talk to them over real sockets.

PostgreSQL: ``BENCH_POSTGRES_URL`` names a server and a role that may create databases
(default: the CI's ``postgresql://hearth:hearth-ci-only@127.0.0.1:5432/postgres``). Each benchmark
makes a database of its own there and drops it afterwards. Redis: a ``redis-server`` of our own is
started on a free port with no persistence, so that stopping it (the fault script does) touches
nothing else.
"""
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".venv", "bin")
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL",
                              "postgresql://hearth:hearth-ci-only@127.0.0.1:5432/postgres")
SECRET = "bench-secret-" + "x" * 40
USER_AGENT = ("Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/126.0.0.0 Mobile Safari/537.36")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


# ---- PostgreSQL -------------------------------------------------------------------------------------

def postgres_available():
    try:
        import psycopg
        with psycopg.connect(_psycopg_url(POSTGRES_URL), connect_timeout=3):
            return True
    except Exception:  # noqa: BLE001  (any failure means: no PostgreSQL for the benchmark)
        return False


def _psycopg_url(url):
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _with_database(url, name):
    parts = urlsplit(_psycopg_url(url))
    return urlunsplit(parts._replace(path="/" + name))


@contextmanager
def postgres_database(name):
    """A new, empty PostgreSQL database (dropped afterwards); yields its SQLAlchemy URL."""
    import psycopg
    admin = _psycopg_url(POSTGRES_URL)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(admin, name).replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---- Redis --------------------------------------------------------------------------------------------

class RedisServer:
    """A redis-server of the benchmark's own, on a free port, keeping nothing on disk."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (Debian: apt-get install redis-server)")
        self.process = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1",
                                         "--save", "", "--appendonly", "no"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_for_port(self.port, 10):
            raise RuntimeError("redis-server did not start")
        return self

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# ---- gunicorn -----------------------------------------------------------------------------------------

def app_env(database_url, redis_url=None, media_root=None, **extra):
    """The environment a production process gets (see the README's production section)."""
    env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY=SECRET, HEARTH_ENV="production",
               MAIL_QUIET="1", TRANSLATION_PROVIDER="", PYTHONUNBUFFERED="1")
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    if media_root:
        env["MEDIA_ROOT"] = media_root
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Gunicorn:
    """``gunicorn`` serving ``app`` (``wsgi:app`` by default) on a free port of 127.0.0.1."""

    def __init__(self, env, workers=2, threads=1, app="wsgi:app", timeout=30, log=None, args=()):
        self.env, self.workers, self.threads, self.app = env, workers, threads, app
        self.timeout, self.args = timeout, list(args)
        self.port = free_port()
        self.log = log or os.path.join(tempfile.gettempdir(), f"hearth-bench-gunicorn-{self.port}.log")
        self.process = None

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_path="/healthz"):
        command = [os.path.join(BIN, "gunicorn"), "-w", str(self.workers), "--threads", str(self.threads),
                   "-b", f"127.0.0.1:{self.port}", "--timeout", str(self.timeout), "--graceful-timeout", "5",
                   "--log-level", "warning", "--error-logfile", self.log, *self.args, self.app]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log}")
            try:
                if Client(self.port).get(ready_path).status == 200 and len(self.worker_pids()) >= self.workers:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer {ready_path}; see {self.log}")

    def worker_pids(self):
        """The worker processes' ids (the master's children)."""
        if self.process is None:
            return []
        try:
            with open(f"/proc/{self.process.pid}/task/{self.process.pid}/children") as f:
                return [int(pid) for pid in f.read().split()]
        except OSError:
            return []

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.process = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def resident_kb(pid, field="VmRSS"):
    """A process's resident memory in KiB (``VmHWM`` for its peak so far), or 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_flask(env, *args, check=True):
    """``flask --app wsgi <args>`` in a process of its own (as an operator would type it)."""
    return subprocess.run([os.path.join(BIN, "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env,
                          check=check, capture_output=True, text=True)


# ---- HTTP ---------------------------------------------------------------------------------------------

class Response:
    def __init__(self, status, headers, body, sent, received):
        self.status, self.headers, self.body = status, headers, body
        self.sent, self.received = sent, received  # bytes on the wire, headers included

    def header(self, name, default=None):
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), default)

    @property
    def text(self):
        import gzip

        import brotli
        encoding = self.header("content-encoding", "")
        raw = (brotli.decompress(self.body) if encoding == "br" else gzip.decompress(self.body)
               if encoding == "gzip" else self.body)
        return raw.decode("utf-8", "replace")


class Client:
    """A browser-like HTTP/1.1 client on one keep-alive connection, with cookies and CSRF.

    It asks for compressed answers as a phone does and counts the bytes that cross the socket."""

    def __init__(self, port, timeout=30):
        self.port, self.timeout = port, timeout
        self.cookies = {}
        self.csrf = None
        self.conn = None

    def _connection(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        return self.conn

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method, path, form=None, headers=None, retry=True):
        body = urlencode(form).encode() if form is not None else None
        sent_headers = {"Host": f"127.0.0.1:{self.port}", "User-Agent": USER_AGENT,
                        "Accept-Encoding": "br, gzip", "Accept-Language": "en-GB,en;q=0.9",
                        "Accept": "text/html,*/*"}
        if self.cookies:
            sent_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            sent_headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.csrf and method != "GET":
            sent_headers["X-CSRFToken"] = self.csrf
        sent_headers.update(headers or {})
        conn = self._connection()
        try:
            conn.request(method, path, body=body, headers=sent_headers)
            answer = conn.getresponse()
            data = answer.read()
        except (http.client.HTTPException, ConnectionError):
            self.close()
            if not retry or method != "GET":
                raise
            return self.request(method, path, form, headers, retry=False)
        head = [(k, v) for k, v in answer.getheaders()]
        for name, value in head:
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        sent = len(f"{method} {path} HTTP/1.1\r\n") + sum(len(k) + len(v) + 4 for k, v in sent_headers.items()) \
            + 2 + len(body or b"")
        received = 17 + sum(len(k) + len(v) + 4 for k, v in head) + 2 + len(data)
        if answer.getheader("Connection", "").lower() == "close":
            self.close()
        response = Response(answer.status, head, data, sent, received)
        match = re.search(r'name="csrf[-_]token"[^>]*(?:value|content)="([^"]+)"', response.text) \
            if "text/html" in (response.header("content-type") or "") else None
        if match:
            self.csrf = match.group(1)
        return response

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, form, **kw):
        form = dict(form)
        if self.csrf and "csrf_token" not in form:
            form["csrf_token"] = self.csrf
        return self.request("POST", path, form=form, **kw)

    def sign_in(self, email, password):
        """The real sign-in form; raises unless it signs the user in."""
        self.get("/auth/login")
        answer = self.post("/auth/login", {"email": email, "password": password})
        if answer.status != 302:
            raise RuntimeError(f"sign-in as {email} answered {answer.status}")
        self.get(answer.header("location", "/"))
        return self


def main():
    """A smoke run of the harness: PostgreSQL, Redis and gunicorn answering /readyz."""
    if not postgres_available():
        print("PostgreSQL is not reachable at BENCH_POSTGRES_URL; nothing to check.")
        return 1
    with postgres_database("hearth_bench_smoke") as url, RedisServer() as redis_server:
        env = app_env(url, redis_server.url)
        run_flask(env, "db", "upgrade")
        with Gunicorn(env, workers=2) as server:
            answer = Client(server.port).get("/readyz")
            print(answer.status, answer.text.strip(), "workers:", server.worker_pids(),
                  "RSS KiB:", [resident_kb(p) for p in server.worker_pids()])
    return 0


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    sys.exit(main())
