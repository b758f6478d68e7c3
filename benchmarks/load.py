"""Throughput ratios and the 200-user load run (issue 10), against gunicorn + PostgreSQL + Redis.

Run it standalone (about 5 to 6 minutes on a 2-core machine, most of it building the schools)::

    .venv/bin/python -m benchmarks.load            # prints the table; exit 0 when every goal is met
    .venv/bin/python -m benchmarks.load --users 50 --seconds 20     # a quicker look

``measure()`` returns the same rows for ``benchmarks/production.py`` (``make bench``). It needs the
PostgreSQL of ``BENCH_POSTGRES_URL`` (see ``benchmarks/serve.py``) and ``redis-server``; without
them it prints why it skipped and returns no goal rows.

What one run does, all on 127.0.0.1:

1. Set-up: a fresh PostgreSQL database, ``flask db upgrade``, ``flask demo`` (Hearth Demo Primary)
   and ``flask demo --size large`` (school 1 of the trust: ~600 pupils and a year of history), each
   as an operator would type it; a redis-server of its own; MEDIA_ROOT in a temporary folder.
   The database's and the media folder's sizes are printed ("Disk").
2. Throughput: gunicorn (2 workers x 4 threads, gthread; see WORKERS) serves
   ``benchmarks.bench_wsgi:app``, the real Hearth app with a bare ``Flask(__name__)`` route mounted
   at ``/bare/``. For each endpoint in turn, CONNECTIONS keep-alive connections (asyncio, raw sockets,
   in this process: gunicorn's workers are other processes) send requests back to back for WARM_UP
   seconds (not counted), then DURATION seconds (counted). Endpoints: the bare route; the parent home
   page ``/family/`` (the large school's README parent, two children); the class points screen
   ``/points/class/<3K>`` as 3K's teacher; a points award (exactly what a teacher's tap sends with
   htmx: the form's csrf_token, a fresh request_key, one ticked pupil, the empty note, and the tapped
   category button's ``category_id``, with htmx's headers; acknowledged when it answers 200 with
   ``HX-Trigger: pointsChanged``); and the Class Story feed ``/stories/`` as that parent. Figures:
   requests per second and the ratio to the bare route's, plus the workers' CPU time per request
   (from /proc), which does not depend on how much CPU the load generator took.
3. The load run: a new gunicorn (same workers and threads) serves ``wsgi:app`` with
   TRUSTED_PROXIES=1, as behind nginx. USERS simulated people, split over LOAD_PROCESSES processes
   of asyncio, each person on a connection of their own with a distinct X-Forwarded-For (as nginx
   would send). Everyone signs in with their real password (Argon2id) before the timed window. Then
   for SECONDS seconds:

   - every class teacher of the large school keeps the class points screen open and taps an award
     every 2 to 6 seconds (one pupil, sometimes two or three), using the request_key each answer
     carries, as the page does; once in the run each posts a text post to the Class Story (the real
     editor form, "Publish"), and teachers with conversations send one reply;
   - MESSAGING parents open a conversation with their child's teacher (it polls every 25 s as the
     page's ``hx-get`` does) and send a message every 15 to 40 seconds;
   - every other parent reads: the home page, a child's page or the Class Story feed (with the
     feed's "seen" POST and its first photos, cached afterwards as a browser would), staying 5 to 20
     seconds on a page, or 30 to 90 seconds on four visits in ten, and polling the page's live
     points (``hx-get`` ... ``every 25s``) while it is open; the poll follows each new marker.

   Reported: requests made, errors (any status other than 2xx/3xx, a socket error or a timeout;
   goal 0), p50/p95/p99 latency, requests per second; then the PointAward rows the database gained
   in the run against the award rows the clients saw acknowledged (goal: equal, no lost award).
   Every gunicorn worker's VmRSS is sampled each second and its VmHWM (peak) read at the end: the
   peak of one worker through the load run (sign-ins included) against 200 MB.

Everything started (gunicorn, redis-server, the database, the temporary folder, the load processes)
is stopped or removed at the end, also on failure.
"""
import argparse
import asyncio
import gzip
import html
import multiprocessing
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from urllib.parse import urlencode, urlsplit

if __package__ in (None, ""):  # `python benchmarks/load.py`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import serve, table  # noqa: E402

WORKERS = 2        # gunicorn workers: one per core of the 2-core machine
THREADS = 4        # gthread, as the README's `gunicorn -w 3 --threads 4`: keep-alive, and a slow
                   # request (a photo, a sign-in's hash) does not hold up the worker's other users
CONNECTIONS = 8    # throughput: keep-alive connections sending back to back
WARM_UP = 2.0      # throughput: seconds per endpoint before counting
DURATION = 10.0    # throughput: seconds counted per endpoint
USERS = 200        # load run: simulated people
SECONDS = 60.0     # load run: the timed window
LOAD_PROCESSES = 2  # load run: processes sharing the simulated people
MESSAGING = 25     # load run: parents writing in a conversation
SIGN_IN_AT_ONCE = 4  # load run: sign-ins in flight per load process (as people arrive, not a stampede)
TIMEOUT = 30.0     # any request taking longer is an error
MB = 1024 * 1024
DATABASE = "hearth_bench_load"  # made afresh for the run and dropped afterwards
LARGE = 1          # the large school is school 1 of the trust: addresses ...@school-1.hearth-demo.example
PARENT_PASSWORD = "demo-parent-password"
STAFF_PASSWORD = "demo-staff-password"
PARENT_NOTES = ["Thank you for the update about the reading books, we will practise tonight.",
                "Could you tell me which page of the spelling booklet to look at this week?",
                "We loved the photos from the class trip. Thank you for organising it.",
                "Just to say the library book came back in the bag today.",
                "Is the swimming kit needed on Tuesday or on Wednesday this term?"]
STAFF_NOTES = ["Thank you for letting me know. We will keep an eye on it in class.",
               "Page 12 of the booklet, please. Ten minutes a night is plenty.",
               "Tuesday this term, please. Goggles are welcome."]
POST_TEXTS = ["Today we planted sunflower seeds in the garden. Ask your child how deep the seeds go!",
              "A reminder that the class assembly is on Friday at 9:00. Families are very welcome.",
              "Our times tables challenge continues this week: practise the 6s and the 7s at home."]


# ---- an asyncio HTTP/1.1 client: one connection, cookies, CSRF ---------------------------------------

class Answer:
    __slots__ = ("status", "headers", "body", "seconds")

    def __init__(self, status, headers, body, seconds):
        self.status, self.headers, self.body, self.seconds = status, headers, body, seconds

    def header(self, name, default=""):
        return self.headers.get(name, default)

    @property
    def text(self):
        encoding = self.header("content-encoding")
        body = self.body
        if encoding == "br":
            import brotli
            body = brotli.decompress(body)
        elif encoding == "gzip":
            body = gzip.decompress(body)
        return body.decode("utf-8", "replace")


class RequestFailed(Exception):
    """A socket error, a timeout, or a connection closed before a whole answer arrived."""


class SignInFailed(RuntimeError):
    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


class AsyncClient:
    """A browser-like client on one keep-alive connection (reopened when the server closes it)."""

    IDLE = 1.0  # gthread closes a keep-alive connection idle for 2 s: reopen before that, never race it

    def __init__(self, port, forwarded_for=None, timeout=TIMEOUT):
        self.port, self.forwarded_for, self.timeout = port, forwarded_for, timeout
        self.cookies, self.csrf = {}, None
        self.reader = self.writer = None
        self.last_used = 0.0

    def clone(self):
        """Another connection with the same session (another tab of the same browser)."""
        other = AsyncClient(self.port, self.forwarded_for, self.timeout)
        other.cookies, other.csrf = dict(self.cookies), self.csrf
        return other

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, method, path, form=None, headers=None):
        body = urlencode(form, doseq=True).encode() if form is not None else b""
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", f"User-Agent: {serve.USER_AGENT}",
                 "Accept-Encoding: br, gzip", "Accept-Language: en-GB,en;q=0.9", "Accept: text/html,*/*"]
        if self.forwarded_for:
            lines.append(f"X-Forwarded-For: {self.forwarded_for}")
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if method != "GET":
            lines.append(f"Content-Length: {len(body)}")
            if form is not None:
                lines.append("Content-Type: application/x-www-form-urlencoded")
            if self.csrf:
                lines.append(f"X-CSRFToken: {self.csrf}")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        started = time.monotonic()
        for attempt in (1, 2):
            reused = self.writer is not None and time.monotonic() - self.last_used < self.IDLE
            if not reused:
                self.close()
            try:
                if self.writer is None:
                    self.reader, self.writer = await asyncio.wait_for(
                        asyncio.open_connection("127.0.0.1", self.port), self.timeout)
                self.writer.write(data)
                answer = await asyncio.wait_for(self._read(), self.timeout - (time.monotonic() - started))
                break
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as error:
                self.close()
                # A kept-alive connection the server had just closed: a GET may go again at once.
                if attempt == 1 and reused and method == "GET" and not isinstance(error, TimeoutError):
                    continue
                raise RequestFailed(f"{method} {path}: {type(error).__name__} {error}") from error
        self.last_used = time.monotonic()
        answer.seconds = self.last_used - started
        return answer

    async def _read(self):
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if not line:
                continue
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                key, _, rest = value.partition("=")
                cookie = rest.split(";", 1)[0]
                if cookie and "max-age=0" not in value.lower():
                    self.cookies[key] = cookie
                else:
                    self.cookies.pop(key, None)
            headers[name] = value
        if status in (204, 304) or status < 200:
            body = b""
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                parts.append(chunk[:-2])
            body = b"".join(parts)
        elif "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        else:
            body = await self.reader.read()
            headers["connection"] = "close"
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Answer(status, headers, body, 0.0)

    async def get(self, path, headers=None):
        return await self.request("GET", path, headers=headers)

    async def post(self, path, form, headers=None):
        form = list(form.items()) if isinstance(form, dict) else list(form)
        if self.csrf and not any(k == "csrf_token" for k, _v in form):
            form.append(("csrf_token", self.csrf))
        return await self.request("POST", path, form=form, headers=headers)

    def take_csrf(self, answer):
        if "text/html" in answer.header("content-type"):
            match = CSRF.search(answer.text)
            if match:
                self.csrf = match.group(1)

    async def sign_in(self, email, password):
        """The real sign-in form; returns the page it lands on."""
        self.take_csrf(await self.get("/auth/login"))
        answer = await self.post("/auth/login", {"email": email, "password": password})
        if answer.status != 302:
            raise SignInFailed(f"sign-in as {email} answered {answer.status}", answer.status)
        landing = await self.follow(answer)
        if landing.status != 200:  # the page's CSRF token is the session's: without it no form works
            raise SignInFailed(f"sign-in as {email}: the first page answered {landing.status}", landing.status)
        self.take_csrf(landing)
        return landing

    async def sign_in_patiently(self, email, password, attempts=5):
        """sign_in, tried again as a person would after "try again in a moment": a 5xx or a dropped
        connection (the fault benchmark may be restarting the machine's PostgreSQL meanwhile)."""
        for attempt in range(1, attempts + 1):
            try:
                return await self.sign_in(email, password)
            except (SignInFailed, RequestFailed) as error:
                if attempt == attempts or not (isinstance(error, RequestFailed) or error.status >= 500):
                    raise
                self.close()
                self.cookies, self.csrf = {}, None
                await asyncio.sleep(2 * attempt)

    async def follow(self, answer, hops=3):
        while answer.status in (301, 302, 303) and hops:
            parts = urlsplit(answer.header("location"))
            answer = await self.get(parts.path + (f"?{parts.query}" if parts.query else ""))
            hops -= 1
        return answer


CSRF = re.compile(r'(?:name="csrf[-_]token"[^>]*?(?:value|content)=|"X-CSRFToken":\s*)"([^"]+)"')
POLL = re.compile(r'hx-get="([^"]+)"\s+hx-trigger="every (\d+)s"')
REQUEST_KEY = re.compile(r'name="request_key" value="([0-9a-f]+)"')
PUPIL = re.compile(r'name="pupil" value="(\d+)"')
CATEGORY = re.compile(r'name="category_id" value="(\d+)"')
CHILD = re.compile(r'href="/family/child/(\d+)"')
SEEN = re.compile(r'<form class="seen"[^>]*>\s*<input type="hidden" name="posts" value="([0-9,]*)"')
IMAGE = re.compile(r'<img src="(/media/[^"]+)"')
TITLE = re.compile(r"<title>([^<]*)</title>")
INPUT = re.compile(r"<(input|textarea|select|button)\b([^>]*)>", re.S)
ATTR = re.compile(r'([a-zA-Z_:-]+)(?:="([^"]*)")?')


def htmx_headers(port, page, target):
    return {"HX-Request": "true", "HX-Current-URL": f"http://127.0.0.1:{port}{page}", "HX-Target": target}


def form_fields(page, form_id):
    """The fields a browser sends from form ``form_id`` of ``page`` (no submit button, no files)."""
    start = page.find(f'id="{form_id}"')
    end = page.find("</form>", start)
    fields = []
    for tag, attrs in INPUT.findall(page[start:end]):
        attr = {k: html.unescape(v or "") for k, v in ATTR.findall(attrs)}
        kind = attr.get("type", "text")
        if tag == "button" or "name" not in attr or kind in ("file", "submit"):
            continue
        if kind in ("checkbox", "radio") and "checked" not in attr:
            continue
        fields.append((attr["name"], attr.get("value", "on" if kind == "checkbox" else "")))
    return fields


# ---- throughput ----------------------------------------------------------------------------------------

def worker_cpu_seconds(pids):
    """User + system CPU time of these processes so far (from /proc/<pid>/stat)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / os.sysconf("SC_CLK_TCK")


async def _hammer(clients, send, warm_up, duration):
    """Every client sends requests back to back; returns (answers, failures) counted in the window."""
    begin = time.monotonic()
    counted_from, until = begin + warm_up, begin + warm_up + duration
    tally = {"ok": 0, "bad": 0, "latencies": []}

    async def loop(client):
        while time.monotonic() < until:
            sent_at = time.monotonic()
            try:
                good = await send(client)
            except RequestFailed:
                good = False
            if sent_at >= counted_from and time.monotonic() <= until:
                tally["ok" if good else "bad"] += 1
                if good:
                    tally["latencies"].append(time.monotonic() - sent_at)

    await asyncio.gather(*(loop(c) for c in clients))
    for c in clients:
        c.close()
    return tally


def throughput(port, worker_pids, people, connections=CONNECTIONS, warm_up=WARM_UP, duration=DURATION,
               log=print):
    """Requests per second for each endpoint, and the workers' CPU per request."""
    async def run():
        parent = AsyncClient(port)
        await parent.sign_in_patiently(people["parent"], PARENT_PASSWORD)
        teacher = AsyncClient(port)
        await teacher.sign_in_patiently(people["teacher"], STAFF_PASSWORD)
        class_path = f"/points/class/{people['class_id']}"
        screen = await teacher.get(class_path)
        teacher.take_csrf(screen)
        page = screen.text
        pupils = PUPIL.findall(page)
        categories = CATEGORY.findall(page.split("needs-work", 1)[0])
        if screen.status != 200 or not pupils or not categories:
            raise RuntimeError(f"the points screen {class_path} answered {screen.status} without pupils or categories")
        rng = random.Random(7)
        acknowledged = [0]

        def expect(path, status=200, who=parent):
            async def send(client):
                return (await client.get(path)).status == status
            return who, send

        async def award(client):
            form = [("csrf_token", client.csrf), ("request_key", uuid.uuid4().hex), ("pupil", rng.choice(pupils)),
                    ("note", ""), ("category_id", rng.choice(categories))]
            headers = dict(htmx_headers(port, class_path, "points-grid"), **{"HX-Trigger": "award-form"})
            answer = await client.request("POST", class_path + "/award", form=form, headers=headers)
            good = answer.status == 200 and "pointsChanged" in answer.header("hx-trigger")
            acknowledged[0] += good
            return good

        endpoints = [("bare Flask route /bare/", expect("/bare/")),
                     # For scale, no goal: Hearth's smallest route, through its hooks and one query.
                     ("Hearth's /healthz (all hooks, 1 query)", expect("/healthz")),
                     ("parent home /family/", expect("/family/")),
                     ("class points screen (teacher)", expect(class_path, who=teacher)),
                     ("points award (htmx POST)", (teacher, award)),
                     ("Class Story feed /stories/ (parent)", expect("/stories/"))]
        results = []
        for name, (who, send) in endpoints:
            clients = [who.clone() for _n in range(connections)]
            cpu_before, at = worker_cpu_seconds(worker_pids()), time.monotonic()
            tally = await _hammer(clients, send, warm_up, duration)
            cpu = worker_cpu_seconds(worker_pids()) - cpu_before
            whole = time.monotonic() - at
            # CPU per request: the whole stretch's CPU over every request it served (warm-up too).
            served = (tally["ok"] + tally["bad"]) * (whole / duration)
            results.append(dict(name=name, rate=tally["ok"] / duration, bad=tally["bad"],
                                median=statistics.median(tally["latencies"]) if tally["latencies"] else 0.0,
                                cpu_ms=1000 * cpu / served if served else 0.0))
            log(f"  {name:<40} {tally['ok'] / duration:8.1f} req/s  median {results[-1]['median'] * 1000:6.1f} ms"
                f"  worker CPU {results[-1]['cpu_ms']:6.2f} ms/request  failures {tally['bad']}")
        return results

    return asyncio.run(run())


# ---- the load run: simulated people --------------------------------------------------------------------

class Recorder:
    """Every request of one load process: (what, seconds, ok) and the errors' descriptions."""

    def __init__(self, port, start, deadline):
        self.port, self.start, self.deadline = port, start, deadline
        self.rows, self.errors = [], []
        self.awards_acknowledged = self.awards_refused = 0
        self.posts = self.messages = 0

    def in_window(self):
        return time.monotonic() < self.deadline

    async def call(self, what, client, method, path, form=None, headers=None, ok=(200, 399)):
        """One request, recorded; None when it failed (socket error, timeout, status >= 400)."""
        sent_at = time.monotonic()
        try:
            if method == "GET":
                answer = await client.get(path, headers=headers)
            else:
                answer = await client.post(path, form or {}, headers=headers)
        except RequestFailed as error:
            self.rows.append((what, time.monotonic() - sent_at, False))
            self.errors.append(f"{what}: {error}")
            return None
        good = ok[0] <= answer.status <= ok[1]
        self.rows.append((what, answer.seconds, good))
        if not good:
            title = TITLE.search(answer.text) if "text/html" in answer.header("content-type") else None
            self.errors.append(f"{what}: {method} {path} answered {answer.status}"
                               + (f" ({html.unescape(title.group(1)).strip()})" if title else ""))
            return None
        return answer

    async def pause(self, seconds):
        """Sleep, but not past the end of the window; False when the window is over."""
        left = self.deadline - time.monotonic()
        await asyncio.sleep(max(0.0, min(seconds, left)))
        return self.in_window()


class OpenPage:
    """A page open in a browser tab: its live poll (hx-get ... every Ns), if it has one."""

    def __init__(self, rec, client, path, answer, target):
        self.rec, self.client, self.path, self.target = rec, client, path, target
        self.poll, self.every = None, None
        self.take(answer)

    def take(self, answer):
        match = POLL.search(answer.text) if answer is not None and answer.status == 200 else None
        if match:
            self.poll, self.every = html.unescape(match.group(1)), int(match.group(2))

    async def stay(self, seconds, what="poll"):
        """Keep the page open for ``seconds``, polling as htmx does (the timer starts at load)."""
        until = min(time.monotonic() + seconds, self.rec.deadline)
        next_poll = time.monotonic() + (self.every or 1e9)
        while True:
            if next_poll >= until:
                await self.rec.pause(until - time.monotonic())
                return self.rec.in_window()
            if not await self.rec.pause(next_poll - time.monotonic()):
                return False
            answer = await self.rec.call(what, self.client, "GET", self.poll,
                                         headers=htmx_headers(self.rec.port, self.path, self.target))
            if answer is not None and answer.status == 200:
                self.take(answer)
            next_poll = time.monotonic() + self.every


async def parent_reader(rec, client, person, rng):
    """Home, a child's page or the Class Story feed; staying a while on each, polling when it polls."""
    children, cached = [], set()
    await rec.pause(rng.uniform(0, 5))
    page = "home"
    while rec.in_window():
        if page == "home" or not children:
            path, target, what = "/family/", "children", "home"
        elif page == "child":
            path, target, what = f"/family/child/{rng.choice(children)}", "points", "child page"
        else:
            path, target, what = "/stories/", None, "story feed"
        answer = await rec.call(what, client, "GET", path)
        if answer is not None and what == "home":
            children = CHILD.findall(answer.text) or children
        if answer is not None and what == "story feed":
            text = answer.text
            seen = SEEN.search(text)
            if seen:  # hx-trigger="load": the feed says which posts it showed
                await rec.call("story seen", client, "POST", "/stories/seen", {"posts": seen.group(1)},
                               headers=htmx_headers(rec.port, path, "none"))
            for image in [i for i in IMAGE.findall(text) if i not in cached][:3]:  # the first screenful
                cached.add(image)
                if not rec.in_window():
                    break
                await rec.call("photo", client, "GET", html.unescape(image))
        tab = OpenPage(rec, client, path, answer, target or "")
        dwell = rng.uniform(30, 90) if rng.random() < 0.4 else rng.uniform(5, 20)
        if not await tab.stay(dwell):
            return
        page = rng.choices(["home", "child", "feed"], weights=[0.4, 0.3, 0.3])[0]


async def parent_writer(rec, client, person, rng):
    """A conversation open with the child's teacher: polled, and a message every 15 to 40 seconds."""
    path = f"/messages/{person['conversation']}"
    await rec.pause(rng.uniform(0, 5))
    answer = await rec.call("conversation", client, "GET", path)
    while rec.in_window():
        tab = OpenPage(rec, client, path, answer, "live")
        if not await tab.stay(rng.uniform(15, 40), what="message poll"):
            return
        answer = await send_message(rec, client, path, answer, rng.choice(PARENT_NOTES))


async def send_message(rec, client, path, page, text):
    """The conversation's composer, sent; returns the conversation page it redirects to."""
    if page is None:
        page = await rec.call("conversation", client, "GET", path)
        if page is None:
            return None
    fields = [(k, v) for k, v in form_fields(page.text, "composer") if k != "body"]
    sent = await rec.call("message send", client, "POST", path, fields + [("body", text), ("action", "send")],
                          ok=(302, 302))
    if sent is None:
        return None
    rec.messages += 1
    return await rec.call("conversation", client, "GET", _location(sent))


def _location(answer):
    parts = urlsplit(answer.header("location"))
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def teacher(rec, client, person, rng):
    """The class points screen: an award every 2 to 6 s; one Class Story post; a reply to a family."""
    class_path = f"/points/class/{person['class_id']}"
    post_at = rec.start + rng.uniform(5, max(6.0, rec.deadline - rec.start - 10))
    reply_at = rec.start + rng.uniform(5, max(6.0, rec.deadline - rec.start - 5)) if person["conversations"] else None
    await rec.pause(rng.uniform(0, 3))
    while rec.in_window():
        screen = await rec.call("points screen", client, "GET", class_path)
        if screen is None:
            if not await rec.pause(3):
                return
            continue
        page = screen.text
        pupils, categories = PUPIL.findall(page), CATEGORY.findall(page.split("needs-work", 1)[0])
        key = REQUEST_KEY.search(page)
        while rec.in_window() and key and pupils and categories:
            if not await rec.pause(rng.uniform(2, 6)):
                return
            chosen = rng.sample(pupils, rng.choice((1, 1, 1, 2, 3)))
            form = ([("csrf_token", client.csrf), ("request_key", key.group(1))] + [("pupil", p) for p in chosen]
                    + [("note", ""), ("category_id", rng.choice(categories))])
            headers = dict(htmx_headers(rec.port, class_path, "points-grid"), **{"HX-Trigger": "award-form"})
            answer = await rec.call("award", client, "POST", class_path + "/award", form, headers=headers)
            if answer is not None:
                if "pointsChanged" in answer.header("hx-trigger"):
                    rec.awards_acknowledged += len(chosen)
                else:
                    rec.awards_refused += 1
                key = REQUEST_KEY.search(answer.text)  # the grid comes back with the next tap's key
            else:
                break  # reload the screen, as a teacher would after an error
            if post_at and time.monotonic() >= post_at:
                post_at = None
                await post_story(rec, client, person, rng)
                break  # back to the points screen
            if reply_at and time.monotonic() >= reply_at:
                reply_at = None
                path = f"/messages/{rng.choice(person['conversations'])}"
                await send_message(rec, client, path, None, rng.choice(STAFF_NOTES))
                break


async def post_story(rec, client, person, rng):
    """The Class Story editor for the teacher's class, then "Publish" with a text post."""
    editor = await rec.call("story editor", client, "GET", f"/stories/new?class={person['class_id']}")
    if editor is None:
        return
    fields = [(k, v) for k, v in form_fields(editor.text, "post-form") if k not in ("body", "action")]
    sent = await rec.call("story publish", client, "POST", f"/stories/new?class={person['class_id']}",
                          fields + [("body", rng.choice(POST_TEXTS)), ("action", "publish")], ok=(302, 302))
    if sent is not None:
        rec.posts += 1
        await rec.call("story post", client, "GET", _location(sent))


BEHAVIOURS = {"reader": parent_reader, "writer": parent_writer, "teacher": teacher}


def load_process(port, people, ready, go, go_at, results, seconds, seed):
    """One load process: sign its people in, say so, wait for the start, run them, send the figures."""
    async def run():
        clients = [AsyncClient(port, forwarded_for=p["forwarded_for"]) for p in people]
        gate = asyncio.Semaphore(SIGN_IN_AT_ONCE)
        failures = []

        async def sign_in(client, person):
            async with gate:
                try:
                    await client.sign_in_patiently(person["email"], person["password"])
                except (SignInFailed, RequestFailed) as error:
                    failures.append(f"{person['email']}: {error}")
                client.close()

        began = time.monotonic()
        await asyncio.gather(*(sign_in(c, p) for c, p in zip(clients, people, strict=True)))
        ready.put(("signed in", time.monotonic() - began, failures))
        while not go.is_set():
            await asyncio.sleep(0.02)
        start = go_at.value
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        rec = Recorder(port, start, start + seconds)
        rng = random.Random(seed)
        await asyncio.gather(*(BEHAVIOURS[p["kind"]](rec, c, p, random.Random(rng.random()))
                               for c, p in zip(clients, people, strict=True)))
        for c in clients:
            c.close()
        results.put(dict(rows=rec.rows, errors=rec.errors, awards=rec.awards_acknowledged,
                         refused=rec.awards_refused, posts=rec.posts, messages=rec.messages,
                         ended=time.monotonic() - start))

    asyncio.run(run())


def load_run(port, people, worker_pids, seconds=SECONDS, processes=LOAD_PROCESSES, log=print):
    """Run ``people`` against the server; returns the figures, the memory samples included."""
    context = multiprocessing.get_context("fork")
    go_at = context.Value("d", 0.0)  # the monotonic clock is the machine's: the same in every process
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    shares = [people[i::processes] for i in range(processes)]
    workers = [context.Process(target=load_process, args=(port, share, ready, go, go_at, results, seconds, 100 + i),
                               daemon=True) for i, share in enumerate(shares)]
    samples = []  # (phase, pid, VmRSS KiB)
    stop = threading.Event()
    phase = ["sign-in"]

    def sample():
        while not stop.is_set():
            for pid in worker_pids():
                samples.append((phase[0], pid, serve.resident_kb(pid, "VmRSS")))
            stop.wait(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    try:
        for w in workers:
            w.start()
        sampler.start()
        began = time.monotonic()
        signed = [ready.get(timeout=600) for _w in workers]
        sign_in_seconds = time.monotonic() - began
        failures = [f for _tag, _s, fs in signed for f in fs]
        hwm_after_sign_in = {pid: serve.resident_kb(pid, "VmHWM") for pid in worker_pids()}
        log(f"  {len(people) - len(failures)} of {len(people)} people signed in in {sign_in_seconds:.1f} s"
            + (f"; failures: {failures[:3]}" if failures else ""))
        phase[0] = "window"
        go_at.value = time.monotonic() + 0.5
        go.set()
        figures = [results.get(timeout=seconds + 120) for _w in workers]
        phase[0] = "after"
        hwm = {pid: serve.resident_kb(pid, "VmHWM") for pid in worker_pids()}
        for w in workers:
            w.join(timeout=10)
    finally:
        stop.set()
        for w in workers:
            if w.is_alive():
                w.terminate()
                w.join(timeout=5)
    return dict(figures=figures, people=len(people), sign_in_seconds=sign_in_seconds, sign_in_failures=failures,
                hwm_after_sign_in=hwm_after_sign_in, hwm=hwm, samples=samples)


# ---- set-up --------------------------------------------------------------------------------------------

def _query(url, sql, *args):
    import psycopg
    with psycopg.connect(serve._psycopg_url(url)) as conn:
        return conn.execute(sql, args).fetchall()


def people_of_large_school(url, users, messaging=MESSAGING):
    """The simulated people: every class teacher, MESSAGING parents with a conversation open, and
    readers for the rest; each with a distinct X-Forwarded-For."""
    domain = f"@school-{LARGE}.hearth-demo.example"
    school_id = _query(url, "SELECT id FROM school WHERE slug = %s", f"hearth-school-{LARGE}")[0][0]
    teachers = _query(url, """SELECT u.id, u.email, ct.class_id FROM "user" u
                              JOIN class_teacher ct ON ct.user_id = u.id
                              WHERE u.school_id = %s AND u.role = 'teacher' ORDER BY u.id""", school_id)
    # Conversations a parent and the child's class teacher may still write in.
    conversations = _query(url, """
        SELECT c.id, c.staff_id, c.parent_id, pu.email FROM conversation c
        JOIN pupil p ON p.id = c.pupil_id
        JOIN class_teacher ct ON ct.class_id = p.class_id AND ct.user_id = c.staff_id
        JOIN parent_link pl ON pl.parent_id = c.parent_id AND pl.pupil_id = c.pupil_id
        JOIN "user" pu ON pu.id = c.parent_id
        WHERE c.school_id = %s AND c.kind = 'parent' AND p.status = 'active' AND pu.status = 'active'
        ORDER BY c.id""", school_id)
    parents = _query(url, """SELECT id, email FROM "user" WHERE school_id = %s AND role = 'parent'
                             AND status = 'active' AND email LIKE %s ORDER BY id""", school_id, "family%")
    teacher_3k = next((e for _i, e, _c in teachers if e.startswith("teacher.3k@")), teachers[0][1])
    class_3k = next(c for _i, e, c in teachers if e == teacher_3k)
    people = [dict(kind="teacher", email=email, password=STAFF_PASSWORD, class_id=class_id,
                   conversations=[c[0] for c in conversations if c[1] == uid][:5])
              for uid, email, class_id in teachers[:users]]
    writers, taken = [], set()
    for convo_id, _staff, parent_id, email in conversations:
        if len(writers) >= min(messaging, users - len(people)):
            break
        if parent_id not in taken:
            taken.add(parent_id)
            writers.append(dict(kind="writer", email=email, password=PARENT_PASSWORD, conversation=convo_id))
    people += writers
    readers = [dict(kind="reader", email=email, password=PARENT_PASSWORD)
               for pid, email in parents if pid not in taken][:users - len(people)]
    people += readers
    for n, person in enumerate(people):
        person["forwarded_for"] = f"10.{1 + n // 62500}.{(n // 250) % 250}.{1 + n % 250}"
    counts = {k: sum(p["kind"] == k for p in people) for k in BEHAVIOURS}
    return people, dict(parent="parent" + domain, teacher=teacher_3k, class_id=class_3k, school_id=school_id,
                        counts=counts)


def folder_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _ds, fs in os.walk(path) for f in fs)


def percentile(values, p):
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


# ---- the whole run -------------------------------------------------------------------------------------

def measure(users=USERS, seconds=SECONDS, duration=DURATION, log=print):
    """Set up, measure throughput, run the load; returns the table's rows."""
    if not serve.postgres_available():
        log("benchmarks.load skipped: PostgreSQL is not reachable at BENCH_POSTGRES_URL "
            f"({serve.POSTGRES_URL.rsplit('@', 1)[-1]}).")
        return [table.Row("Load run", "skipped: no PostgreSQL (throughput, load run, memory, disk)", "not run")]
    if shutil.which("redis-server") is None:
        log("benchmarks.load skipped: redis-server is not installed (Debian: apt-get install redis-server).")
        return [table.Row("Load run", "skipped: no redis-server (throughput, load run, memory, disk)", "not run")]
    rows = []
    folder = tempfile.mkdtemp(prefix="hearth-bench-load-")
    media, logs = os.path.join(folder, "media"), os.path.join(folder, "logs")
    os.makedirs(media)
    os.makedirs(logs)
    try:
        with serve.postgres_database(DATABASE) as url, serve.RedisServer() as redis_server:
            # ---- set-up
            log("Set-up: a fresh PostgreSQL database, flask db upgrade, flask demo, flask demo --size large")
            env = serve.app_env(url, redis_server.url, media)
            builder = dict(env)
            builder.pop("HEARTH_ENV")  # `flask demo` refuses to run in production, rightly
            for attempt in (1, 2, 3):
                try:
                    timings = _build(builder, log)
                    break
                except RuntimeError as error:
                    # PostgreSQL restarted under the build (the fault benchmark does that to the
                    # machine's server): wait for it, start again from an empty database.
                    lost = any(w in str(error) for w in ("OperationalError", "AdminShutdown", "connection"))
                    if attempt == 3 or not lost or not _postgres_back(url):
                        raise
                    log(f"  PostgreSQL went away during the set-up ({str(error).splitlines()[-1][:90]}); again")
                    _recreate_database(DATABASE)
                    shutil.rmtree(media)
                    os.makedirs(media)
            started_at = _postmaster_started(url)
            database_bytes = _query(url, "SELECT pg_database_size(current_database())")[0][0]
            media_bytes = folder_bytes(media)
            rows += [table.Row("Disk", "set-up: db upgrade + demo + large school (PostgreSQL)",
                               f"{sum(timings.values()):.0f} s"),
                     table.Row("Disk", "database on disk: demo + large school (pg_database_size)",
                               f"{database_bytes / MB:.0f} MB"),
                     table.Row("Disk", "media folder: demo + large school", f"{media_bytes / MB:.0f} MB")]
            people, named = people_of_large_school(url, users)
            log(f"  large school: {named['counts']} simulated; throughput as {named['parent']}, "
                f"{named['teacher']} (class {named['class_id']})")

            # ---- throughput
            log(f"Throughput: gunicorn {WORKERS} workers x {THREADS} threads (gthread), {CONNECTIONS} keep-alive "
                f"connections, {WARM_UP:.0f} s warm-up + {duration:.0f} s per endpoint")
            log_path = os.path.join(logs, "throughput.log")
            with serve.Gunicorn(env, workers=WORKERS, threads=THREADS, app="benchmarks.bench_wsgi:app",
                                log=log_path) as server:
                results = throughput(server.port, server.worker_pids, named, duration=duration, log=log)
            if any(r["bad"] for r in results):
                _log_tail(log_path, log)
            rows += _restart_note("Throughput", url, started_at, log)
            started_at = _postmaster_started(url)
            bare = results[0]
            rows.append(table.Row("Throughput", f"{bare['name']}: requests per second",
                                  f"{bare['rate']:.0f}/s ({bare['cpu_ms']:.1f} ms CPU)"))
            goals = {"parent home /family/": 0.35, "points award (htmx POST)": 0.5}
            for result in results[1:]:
                ratio = result["rate"] / bare["rate"] if bare["rate"] else 0.0
                goal = goals.get(result["name"])
                rows.append(table.Row("Throughput", f"{result['name']}: ratio to bare",
                                      f"{ratio:.2f} ({result['rate']:.0f}/s, {result['cpu_ms']:.1f} ms CPU)",
                                      f">= {goal}" if goal else "",
                                      (ratio >= goal and result["bad"] == 0) if goal else None))
            failed = sum(r["bad"] for r in results)
            rows.append(table.Row("Throughput", "failed requests during the throughput runs", str(failed), "0",
                                  failed == 0))

            # ---- the load run
            before = _query(url, "SELECT coalesce(max(id), 0), count(*) FROM point_award")[0]
            posts_before = _query(url, "SELECT count(*) FROM post")[0][0]
            messages_before = _query(url, "SELECT count(*) FROM message")[0][0]
            log(f"Load run: {len(people)} people ({named['counts']}), {seconds:.0f} s, "
                f"{LOAD_PROCESSES} load processes, gunicorn {WORKERS} x {THREADS} (gthread), TRUSTED_PROXIES=1")
            load_env = dict(env, TRUSTED_PROXIES="1")
            log_path = os.path.join(logs, "load.log")
            with serve.Gunicorn(load_env, workers=WORKERS, threads=THREADS, timeout=60, log=log_path) as server:
                outcome = load_run(server.port, people, server.worker_pids, seconds=seconds, log=log)
            if any(f["errors"] for f in outcome["figures"]):
                _log_tail(log_path, log)
            import redis
            queued = redis.Redis.from_url(redis_server.url).llen("rq:queue:hearth")
            log(f"  background jobs left waiting in Redis (no `flask jobs worker` in this run): {queued}")
            restarted = _restart_note("Load run", url, started_at, log)
            made = _query(url, "SELECT count(*) FROM point_award WHERE id > %s", before[0])[0][0]
            posts = _query(url, "SELECT count(*) FROM post")[0][0] - posts_before
            messages = _query(url, "SELECT count(*) FROM message")[0][0] - messages_before
            rows += load_rows(outcome, seconds, made, posts, messages, log) + restarted
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        _drop_database_if_left(DATABASE)
    return rows


def _build(env, log):
    """flask db upgrade, flask demo, flask demo --size large; their times in seconds."""
    timings = {}
    for name, args in (("db upgrade", ("db", "upgrade")), ("demo", ("demo",)),
                       ("large school", ("demo", "--size", "large"))):
        started = time.perf_counter()
        done = serve.run_flask(env, *args, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed ({done.returncode}):\n"
                               + "\n".join((done.stdout + done.stderr).strip().splitlines()[-12:]))
        timings[name] = time.perf_counter() - started
        log(f"  flask {' '.join(args):<22} {timings[name]:6.1f} s")
    return timings


def _restart_note(section, url, started_at, log):
    """A row saying so when PostgreSQL restarted since the set-up (another process did it: the fault
    benchmark restarts the machine's server), since its errors are then not Hearth's own."""
    _postgres_back(url, wait=60)
    now = _postmaster_started(url)
    if now == started_at:
        return []
    log(f"  NOTE: PostgreSQL restarted (it started at {started_at}, now {now}): some other process restarted it")
    return [table.Row(section, "NOTE: PostgreSQL was restarted by another process during this part", "yes")]


def _postmaster_started(url):
    """When PostgreSQL last started: a change means it restarted in between (None: not answering)."""
    try:
        return _query(url, "SELECT pg_postmaster_start_time()")[0][0]
    except Exception:  # noqa: BLE001
        return None


def _postgres_back(url, wait=90):
    """Wait until PostgreSQL answers again; False if it does not within ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if serve.postgres_available():
            return True
        time.sleep(1)
    return False


def _recreate_database(name):
    import psycopg
    with psycopg.connect(serve._psycopg_url(serve.POSTGRES_URL), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _drop_database_if_left(name, seconds=30):
    """serve.postgres_database drops its database; if PostgreSQL was restarting just then (the fault
    benchmark restarts it), try again for a while so that nothing is left behind."""
    import psycopg
    deadline = time.monotonic() + seconds
    while True:
        try:
            with psycopg.connect(serve._psycopg_url(serve.POSTGRES_URL), autocommit=True, connect_timeout=3) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except psycopg.Error:
            if time.monotonic() > deadline:
                return
            time.sleep(1)


def _log_tail(path, log, lines=8):
    """The end of gunicorn's error log when something went wrong (it goes with the temporary folder)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            tail = f.read().strip().splitlines()[-lines:]
    except OSError:
        return
    for line in tail:
        log(f"  gunicorn log: {line}")


def load_rows(outcome, seconds, made, posts, messages, log):
    figures = outcome["figures"]
    records = [r for f in figures for r in f["rows"]]
    errors = [e for f in figures for e in f["errors"]]
    latencies = [r[1] for r in records if r[2]]
    acknowledged = sum(f["awards"] for f in figures)
    refused = sum(f["refused"] for f in figures)
    window = max(f["ended"] for f in figures)
    kinds = sorted({r[0] for r in records})
    log(f"  {'request':<16} {'count':>6} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for kind in kinds:
        mine = [r for r in records if r[0] == kind]
        good = [r[1] for r in mine if r[2]]
        log(f"  {kind:<16} {len(mine):>6} {sum(not r[2] for r in mine):>6} {percentile(good, 50) * 1000:8.0f} "
            f"{percentile(good, 95) * 1000:8.0f} {percentile(good, 99) * 1000:8.0f}")
    for error in errors[:10]:
        log(f"  error: {error}")
    log(f"  posts published {posts} (clients saw {sum(f['posts'] for f in figures)}), messages sent {messages} "
        f"(clients saw {sum(f['messages'] for f in figures)}), awards refused {refused}")
    ms = lambda p: f"{percentile(latencies, p) * 1000:.0f} ms"  # noqa: E731
    failed = len(outcome["sign_in_failures"])
    people = outcome["people"]
    rows = [table.Row("Load run", "people signed in with their passwords before the window (Argon2id)",
                      f"{people - failed} of {people} in {outcome['sign_in_seconds']:.0f} s", "all", failed == 0),
            table.Row("Load run", f"requests made in {seconds:.0f} s", f"{len(records):,}"),
            table.Row("Load run", "requests per second", f"{len(records) / window:.1f}"),
            table.Row("Load run", "errors (status >= 400, socket error, timeout)", str(len(errors)), "0",
                      not errors),
            table.Row("Load run", "latency p50 / p95 / p99", f"{ms(50)} / {ms(95)} / {ms(99)}"),
            table.Row("Load run", "point awards: rows made in the database / acknowledged to clients",
                      f"{made} / {acknowledged}", "equal", made == acknowledged and acknowledged > 0)]
    hwm = outcome["hwm"]
    peak = max(hwm.values()) if hwm else 0
    signed_peak = max(outcome["hwm_after_sign_in"].values()) if outcome["hwm_after_sign_in"] else 0
    window_rss = max((kb for phase, _pid, kb in outcome["samples"] if phase == "window"), default=0)
    rows += [table.Row("Memory", "peak resident memory of one worker through the load run (VmHWM)",
                       f"{peak / 1024:.0f} MB", "<= 200 MB", 0 < peak <= 200 * 1024),
             table.Row("Memory", "  of which reached by the end of the sign-ins (VmHWM)",
                       f"{signed_peak / 1024:.0f} MB"),
             table.Row("Memory", "  largest VmRSS sampled in the timed window (each second)",
                       f"{window_rss / 1024:.0f} MB")]
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=USERS)
    parser.add_argument("--seconds", type=float, default=SECONDS)
    parser.add_argument("--duration", type=float, default=DURATION, help="throughput seconds per endpoint")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = measure(users=args.users, seconds=args.seconds, duration=args.duration)
    print()
    print(table.render(rows, title="Hearth under load: measured in this run"))
    print(f"\nWhole run: {time.perf_counter() - started:.0f} s")
    skipped = not any(r.met is not None for r in rows)
    return 0 if table.all_met(rows) and not skipped else 1


if __name__ == "__main__":
    sys.exit(main())
