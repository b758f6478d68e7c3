"""Messaging at scale: the open conversation's live poll, a conversation of 500 messages, and the unread count.

Run: .venv/bin/python -m benchmarks.messaging  [--polls N] [--repeat N] [--messages N] [--few N]
It builds a school in a temporary SQLite database: two classes of 30 pupils, one parent each, and
four teachers who teach both classes. Every message goes through the real service
(`messaging.send(..., now=...)`, which keeps each conversation's counters): Ms Abbott has a
conversation with all 60 families, Mr Bell with 10, Mrs Cole with 5 (a third of them unread for
the teacher), and Mr Dunn one of 500 messages with Zosia's parent and one of 50 with Maja's, over
five months, with one message hidden by its sender. Then, issue 6's budgets:

1. The live poll (QUALITY.md: a live update while idle <= 1 KB a minute). gunicorn runs the app
   with two worker processes on 127.0.0.1 (with an access log naming the worker of each request).
   Zosia's parent signs in through the real form, opens the conversation of 500 messages and polls
   its live block as htmx does (every 25 s, so 2.4 polls a minute), with the headers a browser adds.
   Every byte of each request and of each answer is counted as it crosses the socket. The budget
   applies to the answers (status line, headers, body): what the parent's phone downloads. The
   requests are printed too, for information (HTTP/2 header compression makes repeats a few bytes).
   Then Mr Dunn sends a message from this process, a third one, through `messaging.send`: the next
   poll, answered by whichever worker gets it, must carry its text, and so must the same poll sent
   again (two at once, so that a busy worker leaves the other to answer) until both workers have
   answered it. The parent's page then records "Seen" as htmx would (its hx-post), and is polled
   until it is idle again.
2. The conversation page of 500 messages, as the parent's phone fetches it (`Accept-Encoding: br,
   gzip`; the app compresses with flask-compress): the latest 30 and a link to earlier ones; HTML
   <= 14 KB; the same SQL queries at 50 and at 500 messages; the median server time at 500 within
   1.5x the time at 50 (Flask test client, alternating between the two, medians of --repeat each).
3. The unread count of a teacher with 60 conversations costs one query; the navigation page
   (/classes/, which shows the unread badge) the same queries for 5 and 60 conversations; the inbox
   (/messages/, 30 a page) the same queries for 10 and 60 conversations and <= 14 KB compressed.

The machine is noisy: read the ratios and medians, never one timing. Exit status 1 when a budget is
missed.
"""
import argparse
import html as htmlmod
import os
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urlencode

from benchmarks.live_poll import (
    BUDGET_PER_MINUTE,
    POLL_SECONDS,
    _cookies,
    _free_port,
    _text,
    build_request,
    exchange,
)
from benchmarks.story_feed import _sign_in

KB = 1024
BUDGET_HTML = 14 * KB
GOAL_RATIO = 1.5
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PARENT_LINES = [
    "Hi {name}, {child} said the spelling test has moved to {day}. Is that right?",
    "Thank you for letting us know about the trip on {day}. Does {child} need a packed lunch?",
    "{child} has been a bit worried about the times tables check. Is there anything we can practise at home?",
    "Sorry, the reading record was left in the car this morning. We will bring it in on {day}.",
    "Could {child} stay inside at lunch on {day}? Her wrist is still sore from the weekend.",
    "We loved the photos of the Roman shields! {child} has not stopped talking about it.",
    "Is it PE on {day} or {day2} this half-term? The kit went home for a wash.",
    "{child} finished the book about the lighthouse keeper and would like a new one, please.",
    "Just to say {child} has a dentist's check-up at 9:30 on {day} and will come in afterwards.",
    "Can I help with the school fair? I am free on {day} afternoon.",
    "The homework sheet asks for a cereal box; would a shoe box do instead?",
    "{child} mentioned a disagreement at playtime with a friend. Is everything all right now?",
    "Thanks so much for your help with this, it really made a difference to {child}'s week.",
]
TEACHER_LINES = [
    "Hello, thank you for your message. Yes, the spelling test is now on {day}; the list went home last week.",
    "No packed lunch needed on {day}: the school kitchen is sending lunches with the coach. Waterproofs, please!",
    "{child} is doing really well. Ten minutes of the times tables game on the class page most evenings will help.",
    "That's fine, bring it in when you can. {child} read beautifully to me on {day2}.",
    "Of course. I'll let the lunchtime team know; {child} can help in the library instead.",
    "I'm so glad! {child} made the best shield in the class, with a very fierce eagle on it.",
    "PE is on {day} and {day2} this half-term. Trainers are fine if the plimsolls are too small.",
    "Brilliant news. I've put three new books aside for {child} to choose from on {day}.",
    "Thank you for letting me know. I'll make sure {child} has the morning's work when she arrives.",
    "That would be wonderful. I'll pass your name to the PTA; they'll be in touch before {day}.",
    "A shoe box is perfect. We'll be turning them into Roman houses on {day}.",
    "I spoke to both of them on {day2} and they are friends again. I'll keep an eye on it.",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


def _app(folder):
    from app import create_app
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/messaging.db",
                       "MEDIA_ROOT": os.path.join(folder, "media"), "WTF_CSRF_ENABLED": True,
                       "RATELIMIT_ENABLED": False, "MAIL_OUTBOX_DIR": os.path.join(folder, "mail")})


def _body(rng, lines, child, name):
    """One to three sentences, as families and teachers write them."""
    words = {"child": child.split()[0], "name": name, "day": rng.choice(DAYS), "day2": rng.choice(DAYS)}
    count = rng.choice((1, 1, 2, 2, 3))
    return " ".join(line.format(**words) for line in rng.sample(lines, count))


def _thread(rng, teacher, pupil, parent, sides, start, end):
    """Messages between ``teacher`` and ``parent`` from ``start`` to ``end``, through the service.

    ``sides`` is the senders in order ("parent" or "teacher"), or a count: that many messages in runs
    of a few from each side, the parent's last."""
    from app.services import messaging
    if isinstance(sides, int):
        count, sides, from_parent = sides, [], True
        for n in range(count):
            sides.append("parent" if from_parent or n == count - 1 else "teacher")
            from_parent = rng.random() < (0.4 if from_parent else 0.6)
    step = (end - start) / max(len(sides) - 1, 1)
    sent = []
    for n, side in enumerate(sides):
        sender, lines = (parent, PARENT_LINES) if side == "parent" else (teacher, TEACHER_LINES)
        sent.append(messaging.send(sender, staff=teacher, pupil=pupil, parent=parent,
                                   body=_body(rng, lines, pupil.display_name, teacher.name),
                                   now=start + step * n))
    return sent


def build(app, args):
    from app.extensions import db
    from app.models.base import utcnow
    from app.services import messaging
    from tests.factories import make_class, make_parent, make_pupil, make_school, make_teacher
    rng = random.Random(6)
    with app.app_context():
        db.create_all()
        school = make_school(name="Messaging Primary")
        classes = [make_class(school, name=name, year_group=3) for name in ("3K", "3L")]
        teachers = {key: make_teacher(school, classes=classes, name=name, email=f"{key}@messaging.test")
                    for key, name in (("abbott", "Ms Abbott"), ("bell", "Mr Bell"), ("cole", "Mrs Cole"),
                                      ("dunn", "Mr Dunn"))}
        names = ["Zosia K.", "Maja P."] + [f"Pupil {n:02d}." for n in range(2, 60)]
        pupils = [make_pupil(classes[n // 30], name=name) for n, name in enumerate(names)]
        parents = [make_parent(school, children=[p], name=f"Parent of {p.display_name}",
                               email=f"parent{n}@messaging.test") for n, p in enumerate(pupils)]
        now = utcnow()
        started = time.perf_counter()
        sent = 0
        unread = {}
        for key, families in (("abbott", args.conversations), ("bell", 10), ("cole", 5)):
            teacher = teachers[key]
            for n in range(families):
                # Parent, teacher's reply, and for a third of the families the parent again (unread).
                end = now - timedelta(hours=2 + n * 7)
                sides = ["parent", "teacher", "parent"] if n % 3 == 0 else ["parent", "teacher"]
                sent += len(_thread(rng, teacher, pupils[n], parents[n], sides, end - timedelta(hours=6), end))
            unread[key] = len(range(0, families, 3))
        long_end = now - timedelta(hours=3)
        big = _thread(rng, teachers["dunn"], pupils[0], parents[0], args.messages,
                      long_end - timedelta(days=150), long_end)
        small = _thread(rng, teachers["dunn"], pupils[1], parents[1], args.few,
                        long_end - timedelta(days=15), long_end)
        sent += len(big) + len(small)
        # A message sent by mistake among the latest, hidden by its sender within the minute.
        mistaken = next(m for m in reversed(big[:-3]) if m.from_staff)
        messaging.hide(teachers["dunn"], mistaken, now=mistaken.created_at + timedelta(seconds=20))
        world = {
            "seconds": time.perf_counter() - started, "sent": sent, "unread": unread,
            "big": big[0].conversation_id, "small": small[0].conversation_id,
            "parent_big": parents[0].get_id(), "parent_small": parents[1].get_id(),
            "parent_email": parents[0].email, "dunn": teachers["dunn"].get_id(), "dunn_id": teachers["dunn"].id,
            "pupil": pupils[0].id, "parent_id": parents[0].id,
            **{key: t.get_id() for key, t in teachers.items() if key != "dunn"},
            **{f"{key}_id": t.id for key, t in teachers.items()},
        }
        assert messaging.unread_count(teachers["abbott"]) == unread["abbott"]
        return world


# ---- 1. the live poll across two worker processes ---------------------------------------------------

def _wait_for(port):
    for _ in range(150):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start")


def _live_url(page):
    return htmlmod.unescape(re.search(r'<div id="live"[^>]* hx-get="([^"]+)"', page).group(1))


def send_from_this_process(app, world, text):
    from app.extensions import db
    from app.models import Pupil, User
    from app.services import messaging
    with app.app_context():
        teacher = db.session.get(User, world["dunn_id"])
        messaging.send(teacher, staff=teacher, pupil=db.session.get(Pupil, world["pupil"]),
                       parent=db.session.get(User, world["parent_id"]), body=text)


def live_poll(app, world, folder, polls):
    from tests.factories import PASSWORD
    port = _free_port()
    access_log = os.path.join(folder, "access.log")
    env = dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], SECRET_KEY="bench-" + "x" * 40,
               HEARTH_ENV="development", MEDIA_ROOT=os.path.join(folder, "media"))
    server = subprocess.Popen([os.path.join(ROOT, ".venv", "bin", "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}",
                               "--log-level", "warning", "--access-logfile", access_log,
                               "--access-logformat", "%(p)s %(s)s %(U)s", "wsgi:app"], cwd=ROOT, env=env)
    result = {}
    try:
        _wait_for(port)
        jar = {}
        _q, _a, _s, headers, body = exchange(port, build_request("GET", "/auth/login", port))
        _cookies(headers, jar)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', _text(headers, body)).group(1)
        form = urlencode({"csrf_token": token, "email": world["parent_email"], "password": PASSWORD}).encode()
        _q, _a, status, headers, _b = exchange(port, build_request("POST", "/auth/login", port, jar, body=form))
        _cookies(headers, jar)
        assert status == 302, f"sign-in answered {status}"
        page_path = f"/messages/{world['big']}"
        _q, _a, status, headers, body = exchange(port, build_request(
            "GET", page_path, port, jar, headers=[("Accept", "text/html")]))
        assert status == 200, f"the conversation answered {status}"
        _cookies(headers, jar)
        page = _text(headers, body)
        assert "/read" not in page.split('<div id="live"', 1)[1].split("</div>", 1)[0], "the parent had unread messages"
        live = _live_url(page)
        csrf = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
        htmx = [("Accept", "*/*"), ("HX-Request", "true"), ("HX-Trigger", "live"), ("HX-Target", "live"),
                ("HX-Current-URL", f"http://127.0.0.1:{port}{page_path}"), ("X-CSRFToken", csrf),
                ("Referer", f"http://127.0.0.1:{port}{page_path}")]
        sent = received = 0
        for _ in range(polls):
            req, resp, status, headers, body = exchange(port, build_request("GET", live, port, jar, htmx))
            assert status == 204 and body == b"", f"an idle poll answered {status} with {len(body)} B"
            sent, received = sent + req, received + resp
        result.update(sent=sent / polls, received=received / polls,
                      example="\r\n".join(["HTTP/1.1 204 NO CONTENT"] + [f"{k}: {v}" for k, v in headers]))

        text = f"Thank you, see you on Monday. Reference {secrets.token_hex(4)}."
        send_from_this_process(app, world, text)
        _q, resp, status, headers, body = exchange(port, build_request("GET", live, port, jar, htmx))
        _cookies(headers, jar)
        block = _text(headers, body) if body else ""
        result.update(changed_status=status, changed_bytes=resp, found=text in block,
                      encoding=next((v for k, v in headers if k.lower() == "content-encoding"), "none"))
        # The same poll again (the page's marker is still the old one), two at once so that a busy
        # worker leaves the other to answer, until both workers have answered it: each must carry the
        # message.
        answers = [(status, text in block)]
        for _ in range(10):
            if len(set(_worker_of_last_live(access_log, polls + len(answers))[polls:])) > 1:
                break
            with ThreadPoolExecutor(2) as pool:
                pair = list(pool.map(lambda _n: exchange(port, build_request("GET", live, port, jar, htmx)), range(2)))
            answers += [(again, bool(body) and text in _text(headers, body))
                        for _q, _r, again, headers, body in pair]
        answers = [(pid, status, found) for pid, (status, found)
                   in zip(_worker_of_last_live(access_log, polls + len(answers))[polls:], answers, strict=False)]
        result["answers"] = answers
        # What htmx does next: the block's read form posts itself (hx-trigger="load"), then polling
        # goes on with the block's new marker until an answer is empty again.
        settle = []
        for _ in range(4):
            read = re.search(r'hx-post="([^"]+/read)"', block)
            if read:
                form = urlencode({"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', block).group(1)})
                _q, resp, status, _h, _b = exchange(port, build_request(
                    "POST", htmlmod.unescape(read.group(1)), port, jar, htmx, body=form.encode()))
                settle.append(("read", status, resp))
            live = _live_url(block) if block else live
            _q, resp, status, headers, body = exchange(port, build_request("GET", live, port, jar, htmx))
            settle.append(("poll", status, resp))
            if status == 204:
                break
            block = _text(headers, body)
        result["settle"] = settle
    finally:
        server.terminate()
        server.wait(timeout=10)
    result["idle_workers"] = Counter(_live_workers(access_log)[:polls])
    return result


def _live_workers(access_log):
    """The worker (pid) that answered each poll, in order, from gunicorn's access log."""
    workers = []
    if os.path.exists(access_log):
        with open(access_log) as log:
            for line in log:
                pid, _status, path = line.split()[:3]
                if path.endswith("/live"):
                    workers.append(pid.strip("<>"))
    return workers


def _worker_of_last_live(access_log, count):
    """The workers of the first ``count`` polls, once all are logged (a worker logs just after answering)."""
    for _ in range(100):
        workers = _live_workers(access_log)
        if len(workers) >= count:
            return workers[:count]
        time.sleep(0.01)
    return workers


# ---- 2. a conversation of 500 messages ------------------------------------------------------------

def _client(app, account_id, url):
    client = app.test_client()
    _sign_in(client, account_id)
    for _ in range(3):  # warm-up: templates compiled, caches filled
        assert client.get(url).status_code == 200
    return client


def count_queries(app, client, url):
    from sqlalchemy import event

    from app.extensions import db
    with app.app_context():
        engine = db.engine
    statements = []

    def count(*args):
        statements.append(1)
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def weigh(app, account_id, url):
    client = _client(app, account_id, url)
    page = client.get(url, headers={"Accept-Encoding": "br, gzip"})
    plain = client.get(url).text
    return {"bytes": len(page.data), "encoding": page.headers.get("Content-Encoding", "none"),
            "shown": len(re.findall(r'<li class="msg ', plain)), "earlier": "Earlier messages" in plain,
            "notice": 'class="quiet-notice"' in plain, "rows": len(re.findall(r'class="inbox-row', plain))}


def conversation_pages(app, world, repeat):
    import gc
    small_url, big_url = f"/messages/{world['small']}", f"/messages/{world['big']}"
    weights = (weigh(app, world["parent_small"], small_url), weigh(app, world["parent_big"], big_url))
    queries = {}
    for who in ("parent", "teacher"):
        small = _client(app, world["parent_small"] if who == "parent" else world["dunn"], small_url)
        big = _client(app, world["parent_big"] if who == "parent" else world["dunn"], big_url)
        queries[who] = (count_queries(app, small, small_url), count_queries(app, big, big_url))
    clients = [(_client(app, world["parent_small"], small_url), small_url),
               (_client(app, world["parent_big"], big_url), big_url)]
    times = [[], []]
    gc.collect()
    for i in range(repeat):  # alternate, so that the machine's noise falls on both alike
        for k in ((0, 1) if i % 2 == 0 else (1, 0)):
            client, url = clients[k]
            started = time.perf_counter()
            client.get(url)
            times[k].append(time.perf_counter() - started)
    return weights, queries, [statistics.median(t) for t in times]


# ---- 3. the unread count, the navigation and the inbox ----------------------------------------------

def unread_queries(app, world, key):
    from sqlalchemy import event

    from app.extensions import db
    from app.models import User
    from app.services import messaging
    results = {}
    for name, function in (("unread_count", messaging.unread_count), ("nav_unread", messaging.nav_unread)):
        with app.app_context():
            teacher = db.session.get(User, world[f"{key}_id"])
            _loaded = (teacher.school_id, teacher.role)  # before counting
            statements = []

            def count(*args, statements=statements):
                statements.append(1)
            event.listen(db.engine, "before_cursor_execute", count)
            try:
                value = function(teacher)
            finally:
                event.remove(db.engine, "before_cursor_execute", count)
            results[name] = (len(statements), value)
    return results


def navigation_and_inbox(app, world):
    pages = {}
    for label, url, few in (("navigation /classes/", "/classes/", "cole"), ("inbox /messages/", "/messages/", "bell")):
        pages[label] = (count_queries(app, _client(app, world[few], url), url),
                        count_queries(app, _client(app, world["abbott"], url), url))
    return pages, weigh(app, world["abbott"], "/messages/")


# ---- the report ---------------------------------------------------------------------------------------

def _yes(good):
    return "yes" if good else "NO"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=12, help="idle polls to count")
    parser.add_argument("--repeat", type=int, default=60, help="requests per page for the median times")
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--few", type=int, default=50)
    parser.add_argument("--conversations", type=int, default=60, help="Ms Abbott's conversations")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    if not 10 < args.conversations <= 60:
        parser.error("--conversations: more than 10 (Mr Bell's) and at most 60 (the families)")
    sys.path.insert(0, ROOT)
    run_started = time.perf_counter()
    folder = tempfile.mkdtemp(prefix="hearth-messaging-")
    try:
        app = _app(folder)
        world = build(app, args)
        weights, queries, medians = conversation_pages(app, world, args.repeat)
        unread = unread_queries(app, world, "abbott")
        pages, inbox = navigation_and_inbox(app, world)
        poll = live_poll(app, world, folder, args.polls)  # last: it adds a message
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    failed = False
    per_minute = 60 / POLL_SECONDS

    print(f"Built 60 families in 2 classes, 4 teachers; {world['sent']:,} messages sent through messaging.send "
          f"in {world['seconds']:.1f} s.\n")
    print(f"1. Zosia's parent's conversation of {args.messages} messages left open: the live poll, gunicorn with "
          f"2 worker processes, {args.polls} idle polls.\n\nAn idle poll's answer, as received:\n")
    print(poll["example"] + "\n")
    answer = poll["received"] * per_minute
    failed |= answer > BUDGET_PER_MINUTE
    print(f"| per idle poll | bytes a poll | bytes a minute ({per_minute:.1f} polls) | budget | within |")
    print("|---|---:|---:|---:|---|")
    print(f"| answer (status line, headers, body): the budget applies to this | {poll['received']:.0f} | "
          f"{answer:.0f} | {BUDGET_PER_MINUTE:,} | {_yes(answer <= BUDGET_PER_MINUTE)} |")
    print(f"| request (HTTP/1.1, browser headers, session cookie), for information | {poll['sent']:.0f} | "
          f"{poll['sent'] * per_minute:.0f} | | |")
    both = poll["received"] + poll["sent"]
    print(f"| request + answer, for information | {both:.0f} | {both * per_minute:.0f} | | |")
    workers = ", ".join(f"pid {pid}: {n}" for pid, n in sorted(poll["idle_workers"].items()))
    print(f"\nIdle polls answered by each worker: {workers}.")
    first_pid, _status, _found = poll["answers"][0]
    ok = poll["changed_status"] == 200 and poll["found"]
    print(f"Mr Dunn's message, sent from this process (a third one): the next poll answered {poll['changed_status']} "
          f"({poll['changed_bytes']:,} B on the wire, {poll['encoding']}) from worker pid {first_pid}; "
          f"its text {'is' if poll['found'] else 'is NOT'} in the block.")
    by_worker = Counter(pid for pid, _s, _f in poll["answers"])
    every = all(status == 200 and found for _pid, status, found in poll["answers"])
    ok &= every
    failed |= not ok
    print(f"The same poll repeated (two at once) until both workers had answered it: "
          f"{', '.join(f'pid {pid}: {n}' for pid, n in sorted(by_worker.items()))}; "
          f"{'every answer carried the message' if every else 'NOT every answer carried the message'}"
          f"{'' if len(by_worker) > 1 else ' (only one worker answered in 10 tries)'}.")
    steps = "; ".join(f"{kind} {status} ({size:,} B)" for kind, status, size in poll["settle"])
    settled = bool(poll["settle"]) and poll["settle"][-1][1] == 204
    settled &= all(status in (200, 204) for kind, status, _size in poll["settle"])
    failed |= not settled
    print(f"Then, as htmx goes on: {steps}; {'idle again' if settled else 'NOT idle again'}.\n")

    small, big = weights
    print("2. The conversation page as the parent's phone fetches it (Accept-Encoding: br, gzip).\n")
    print(f"| conversation page | {args.few} messages | {args.messages} messages | budget | within |")
    print("|---|---:|---:|---:|---|")
    html_ok = big["bytes"] <= BUDGET_HTML and small["bytes"] <= BUDGET_HTML
    print(f"| HTML bytes ({big['encoding']}) | {small['bytes']:,} | {big['bytes']:,} | {BUDGET_HTML:,} | "
          f"{_yes(html_ok)} |")
    shown_ok = big["shown"] == 30 and big["earlier"] and small["earlier"]
    print(f"| messages shown, and a link to earlier ones | {small['shown']}, "
          f"{'link' if small['earlier'] else 'NO link'} | {big['shown']}, {'link' if big['earlier'] else 'NO link'} "
          f"| 30, link | {_yes(shown_ok)} |")
    failed |= not html_ok or not shown_ok
    for who, (few, many) in queries.items():
        failed |= few != many
        print(f"| SQL queries, {who} | {few} | {many} | equal | {_yes(few == many)} |")
    ratio = medians[1] / medians[0]
    failed |= ratio > GOAL_RATIO
    print(f"| median server time, parent ({args.repeat} requests each) | {medians[0] * 1000:.1f} ms | "
          f"{medians[1] * 1000:.1f} ms | ratio <= {GOAL_RATIO} | {ratio:.2f}, {_yes(ratio <= GOAL_RATIO)} |")
    print(f"\nThe quiet-hours notice {'is' if big['notice'] else 'is not'} on the page at the time of this run "
          "(it shows outside Mr Dunn's working hours).\n")

    print(f"3. Ms Abbott's {args.conversations} conversations ({world['unread']['abbott']} unread), "
          f"Mr Bell's 10, Mrs Cole's 5.\n")
    print("| what | queries | value | budget | within |")
    print("|---|---:|---:|---:|---|")
    for name, (count, value) in unread.items():
        good = count == 1 and value == world["unread"]["abbott"]
        failed |= not good
        print(f"| messaging.{name}(Ms Abbott) | {count} | {value} | 1 query | {_yes(good)} |")
    print(f"\n| page | queries (few) | queries ({args.conversations} conversations) | equal |")
    print("|---|---:|---:|---|")
    for label, (few, many) in pages.items():
        failed |= few != many
        who = "5, Mrs Cole" if "classes" in label else "10, Mr Bell"
        print(f"| {label} ({who}) | {few} | {many} | {_yes(few == many)} |")
    inbox_ok = inbox["bytes"] <= BUDGET_HTML
    failed |= not inbox_ok
    print(f"\n| inbox of {args.conversations} conversations | bytes | budget | within |")
    print("|---|---:|---:|---|")
    print(f"| HTML ({inbox['encoding']}), {inbox['rows']} rows on the first page | {inbox['bytes']:,} | "
          f"{BUDGET_HTML:,} | {_yes(inbox_ok)} |")
    print(f"\nThe whole run took {time.perf_counter() - run_started:.0f} s.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
