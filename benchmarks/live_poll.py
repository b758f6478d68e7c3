"""Bytes on the wire for a parent's page left open: the live points poll (QUALITY.md: <= 1 KB a minute).

Run: .venv/bin/python -m benchmarks.live_poll
It builds a small school in a temporary SQLite database, starts gunicorn with two worker processes
on 127.0.0.1, signs a parent in through the real sign-in form, opens their child's page and then
polls the live block as htmx does (every 25 seconds, so 2.4 polls a minute), counting every byte
of each answer exactly as it arrives on the socket (status line, headers, body). The requests are
sent with the headers a browser adds (cookie, CSRF header, user agent ...) and counted too.
A teacher then awards a point from this process, a third one: the next poll, answered by whichever
worker gets it, carries the new block.
"""
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

POLL_SECONDS = 25
BUDGET_PER_MINUTE = 1024
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
USER_AGENT = ("Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/126.0.0.0 Mobile Safari/537.36")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def exchange(port, request):
    """Send one request on a new connection; return (request bytes, response bytes, status, headers, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        raw = b""
        while b"\r\n\r\n" not in raw:
            chunk = conn.recv(65536)
            if not chunk:
                break
            raw += chunk
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = [tuple(line.split(": ", 1)) for line in lines[1:]]
        length = int(next((v for k, v in headers if k.lower() == "content-length"), "0"))
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
            raw += chunk
    return len(request), len(raw), status, headers, body


def build_request(method, path, port, cookies=None, headers=(), body=b""):
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"User-Agent: {USER_AGENT}",
             "Accept-Encoding: gzip, deflate, br, zstd", "Accept-Language: en-GB,en;q=0.9"]
    lines += [f"{k}: {v}" for k, v in headers]
    if cookies:
        lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()))
    if body:
        lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _cookies(headers, jar):
    for name, value in headers:
        if name.lower() == "set-cookie":
            key, _, rest = value.partition("=")
            jar[key] = rest.split(";", 1)[0]


def _text(headers, body):
    import gzip

    import brotli
    encoding = next((v for k, v in headers if k.lower() == "content-encoding"), "")
    return (brotli.decompress(body) if encoding == "br" else gzip.decompress(body) if encoding == "gzip"
            else body).decode()


def setup(folder):
    from app import create_app
    from app.extensions import db
    from tests.factories import PASSWORD, make_class, make_parent, make_pupil, make_school, make_teacher
    uri = f"sqlite:///{folder}/poll.db"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": uri})
    with app.app_context():
        db.create_all()
        school = make_school(name="Poll Primary")
        klass = make_class(school, name="3K")
        child = make_pupil(klass, name="Zosia K.")
        teacher = make_teacher(school, classes=[klass], name="Ms Abbott")
        make_parent(school, children=[child], email="parent@poll.test")
        ids = {"child": child.id, "teacher": teacher.id}
    return app, uri, ids, ("parent@poll.test", PASSWORD)


def award_from_this_process(app, ids):
    from app.extensions import db
    from app.models import Pupil, User
    from app.services import points
    with app.app_context():
        teacher = db.session.get(User, ids["teacher"])
        child = db.session.get(Pupil, ids["child"])
        category = points.categories(teacher.school)[0]
        points.award_points(teacher, [child], category, f"bench-{time.time()}")


def main(polls=12):
    folder = tempfile.mkdtemp(prefix="hearth-poll-")
    app, uri, ids, (email, password) = setup(folder)
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=uri, SECRET_KEY="bench-" + "x" * 40, HEARTH_ENV="development")
    server = subprocess.Popen([os.path.join(ROOT, ".venv", "bin", "gunicorn"), "-w", "2", "-b",
                               f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        jar = {}
        _req, _resp, _status, headers, body = exchange(port, build_request("GET", "/auth/login", port))
        _cookies(headers, jar)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', _text(headers, body)).group(1)
        from urllib.parse import urlencode
        form = urlencode({"csrf_token": token, "email": email, "password": password}).encode()
        _req, _resp, status, headers, _body = exchange(port, build_request(
            "POST", "/auth/login", port, jar, body=form))
        _cookies(headers, jar)
        assert status == 302, status
        page_path = f"/family/child/{ids['child']}"
        _req, _resp, status, headers, body = exchange(port, build_request(
            "GET", page_path, port, jar, headers=[("Accept", "text/html")]))
        assert status == 200, status
        html = _text(headers, body)
        live = re.search(r'hx-get="([^"]*/points/live\?v=[^"]+)"', html).group(1)
        csrf = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)
        poll_headers = [("Accept", "*/*"), ("HX-Request", "true"), ("HX-Trigger", "points"),
                        ("HX-Target", "points"), ("HX-Current-URL", f"http://127.0.0.1:{port}{page_path}"),
                        ("X-CSRFToken", csrf), ("Referer", f"http://127.0.0.1:{port}{page_path}"),
                        ("Connection", "keep-alive")]
        sent = received = 0
        for _ in range(polls):
            req, resp, status, headers, body = exchange(port, build_request("GET", live, port, jar, poll_headers))
            assert status == 204 and body == b"", status
            sent, received = sent + req, received + resp
        per_poll_in, per_poll_out = received / polls, sent / polls
        per_minute = 60 / POLL_SECONDS
        example = "\r\n".join(["HTTP/1.1 204 NO CONTENT"] + [f"{k}: {v}" for k, v in headers])

        award_from_this_process(app, ids)
        _req, changed_bytes, status, headers, body = exchange(
            port, build_request("GET", live, port, jar, poll_headers))
        assert status == 200 and b"" != body, status
    finally:
        server.terminate()
        server.wait(timeout=10)

    print("An idle poll's answer, as received from gunicorn (2 worker processes):\n")
    print(example + "\n")
    print(f"answer per idle poll:  {per_poll_in:.0f} B   -> {per_poll_in * per_minute:.0f} B a minute "
          f"({per_minute:.1f} polls a minute; budget {BUDGET_PER_MINUTE} B)")
    print(f"request per poll (HTTP/1.1, browser-like headers, session cookie): {per_poll_out:.0f} B "
          f"-> {per_poll_out * per_minute:.0f} B a minute (HTTP/2 header compression makes repeats a few bytes)")
    print(f"after an award made by a third process: {status}, {changed_bytes} B (compressed block)")
    return 0 if per_poll_in * per_minute <= BUDGET_PER_MINUTE else 1


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    sys.exit(main())
