"""A parent sees their own child's team points, updated live (SECURITY.md 12, 23-24; QUALITY.md)."""
import itertools
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from app.extensions import db
from app.models import PointAward
from app.services import points
from tests.conftest import count_page_queries, htmx_headers, outcome
from tests.factories import (
    make_class,
    make_head,
    make_parent,
    make_pupil,
    make_school,
    make_senior,
    make_teacher,
)

POLLS_PER_MINUTE = 60 / 25  # hx-trigger="every 25s"
# What the server in front adds to every answer (gunicorn or nginx): measured by
# benchmarks/live_poll.py against gunicorn; counted here so the budget covers the real wire.
SERVER_HEADERS = len("Date: Wed, 19 Mar 2025 18:00:00 GMT\r\nServer: gunicorn\r\nConnection: keep-alive\r\n")
_keys = itertools.count(1)


def _world(**school_kw):
    school = make_school(**school_kw)
    klass = make_class(school, name="3K")
    child = make_pupil(klass, name="Zosia K.")
    classmate = make_pupil(klass, name="Amir H.")
    teacher = make_teacher(school, classes=[klass], name="Ms Abbott")
    other_school = make_school()
    return {
        "school": school, "klass": klass, "child": child, "classmate": classmate,
        "teacher of class": teacher,
        "other teacher": make_teacher(school, classes=[make_class(school, name="4B")]),
        "senior leader": make_senior(school),
        "head": make_head(school),
        "own parent": make_parent(school, children=[child]),
        "other parent": make_parent(school, children=[classmate]),
        "the pupil": child,
        "anonymous": None,
        "head of another school": make_head(other_school),
    }


def category(school, name):
    return next(c for c in points.categories(school, kinds=("positive", "needs_work")) if c.name == name)


def award(world, name="Teamwork", pupil=None, when=None, note=None):
    return points.award_points(world["teacher of class"], [pupil or world["child"]],
                               category(world["school"], name), f"k{next(_keys)}", note=note, now=when)[0]


def client_for(app, login_as, account):
    return login_as(account) if account is not None else app.test_client()


def live_url(html):
    return re.search(r'hx-get="([^"]*/points/live\?v=[^"]+)"', html).group(1)


# ---- who may see a child's points ------------------------------------------------------------

# who -> status for the child page and its live block (the block answers 200 to a stale marker)
ACCESS = {
    "teacher of class": 404,
    "other teacher": 404,
    "senior leader": 404,
    "head": 404,
    "own parent": 200,
    "other parent": 404,
    "the pupil": 404,
    "anonymous": 302,
    "head of another school": 404,
}


@pytest.mark.parametrize("who,status", ACCESS.items())
@pytest.mark.parametrize("path", ["/family/child/{id}", "/family/child/{id}/points/live?v=stale"])
def test_child_points_access(app, login_as, who, status, path):
    world = _world()
    award(world, note="Lovely teamwork")
    r = client_for(app, login_as, world[who]).get(path.format(id=world["child"].id), headers=htmx_headers())
    assert outcome(r) == status
    assert ("Lovely teamwork" in r.text) == (status == 200)


@pytest.mark.parametrize("who,status", [("own parent", 200), ("other parent", 200), ("teacher of class", 404),
                                        ("the pupil", 404), ("anonymous", 302), ("head of another school", 404)])
def test_home_live_access(app, login_as, who, status):
    world = _world()
    r = client_for(app, login_as, world[who]).get("/family/points/live?v=stale", headers=htmx_headers())
    assert outcome(r) == status
    assert ("Zosia K." in r.text) == (who == "own parent")


# ---- what the parent sees --------------------------------------------------------------------

def test_each_award_with_category_value_teacher_and_time_in_the_schools_zone(app, login_as):
    now = datetime(2025, 3, 12, 13, 5, tzinfo=UTC)  # a Wednesday; New York is on summer time (UTC-4)
    with time_machine.travel(now, tick=False):
        world = _world(timezone="America/New_York")
        award(world, "Teamwork", note="Shared the glue sticks")
        award(world, "Showing Values", when=datetime(2025, 3, 11, 3, 30))  # Monday 23:30 in New York
        page = login_as(world["own parent"]).get(f"/family/child/{world['child'].id}").text
    block = page[page.index('id="points"'):page.index("Week by week")]
    assert "Teamwork" in block and "Showing Values" in block and "+1 point" in block
    assert "Ms Abbott" in block and "Shared the glue sticks" in block
    assert ">09:05<" in block and ">23:30<" in block  # times in the school's zone, not UTC
    assert "Today" in block and "Monday 10 March" in block


def test_needs_work_points_shown_to_own_parent_only_when_the_school_uses_them(app, login_as):
    world = _world(needs_work_enabled=True)
    award(world, "Needs work: listening", note="Talked over others")
    award(world, "Teamwork")
    parent = login_as(world["own parent"])
    page = parent.get(f"/family/child/{world['child'].id}").text
    assert "Needs work: listening" in page and "Talked over others" in page
    assert "Needs work today" in page and "1 needs-work point" in page
    world["school"].needs_work_enabled = False
    db.session.commit()
    page = parent.get(f"/family/child/{world['child'].id}").text
    assert "Needs work: listening" not in page and "Talked over others" not in page
    assert "Needs work today" not in page and "Teamwork" in page


def test_another_childs_points_never_appear(app, login_as):
    world = _world(needs_work_enabled=True)
    award(world, "Teamwork", pupil=world["classmate"], note="Amir's own note")
    award(world, "Needs work: listening", pupil=world["classmate"], note="Amir's needs-work note")
    award(world, "Showing Values")
    own = login_as(world["own parent"])
    page = own.get(f"/family/child/{world['child'].id}").text
    assert "Amir" not in page and "Showing Values" in page
    assert re.search(r"<dt>Today</dt><dd>1</dd>", page)
    assert "Amir" not in own.get("/family/").text
    assert own.get(f"/family/child/{world['classmate'].id}").status_code == 404
    assert own.get(f"/family/child/{world['classmate'].id}/points/live?v=x").status_code == 404


def test_home_shows_each_childs_points_today(app, login_as):
    world = _world()
    sibling = make_pupil(make_class(world["school"], name="5R"), name="Kasia K.")
    parent = make_parent(world["school"], children=[world["child"], sibling])
    award(world)
    award(world, "Showing Values")
    award(world, when=datetime.now(UTC).replace(tzinfo=None) - timedelta(days=2))  # not today
    award(world, pupil=world["classmate"])
    page = login_as(parent).get("/family/").text
    cards = {name: re.search(re.escape(name) + r".*?(\d+) points? today", page, re.S).group(1)
             for name in ("Zosia K.", "Kasia K.")}
    assert cards == {"Zosia K.": "2", "Kasia K.": "0"}
    assert "Amir" not in page


# ---- live updates ----------------------------------------------------------------------------

def test_poll_answers_204_until_points_change_then_the_new_block(app, login_as):
    world = _world()
    client = login_as(world["own parent"])
    url = live_url(client.get(f"/family/child/{world['child'].id}").text)
    idle = client.get(url, headers=htmx_headers())
    assert idle.status_code == 204 and idle.data == b""
    assert list(idle.headers.keys()) == ["Cache-Control"]

    made = award(world, note="Brilliant answer")
    fresh = client.get(url, headers=htmx_headers())
    assert fresh.status_code == 200 and "Brilliant answer" in fresh.text
    assert fresh.text.lstrip().startswith('<section class="panel" id="points"')  # the block, not the page
    assert "<html" not in fresh.text and "Content-Security-Policy" in fresh.headers
    new_url = live_url(fresh.text)
    assert new_url != url
    assert client.get(new_url, headers=htmx_headers()).status_code == 204

    points.undo_awards(world["teacher of class"], made.request_key)  # an undo is a change too
    after_undo = client.get(new_url, headers=htmx_headers())
    assert after_undo.status_code == 200 and "Brilliant answer" not in after_undo.text


def test_home_poll_is_one_request_for_all_children(app, login_as):
    world = _world()
    sibling = make_pupil(make_class(world["school"], name="5R"), name="Kasia K.")
    parent = make_parent(world["school"], children=[world["child"], sibling])
    client = login_as(parent)
    url = live_url(client.get("/family/").text)
    assert client.get(url, headers=htmx_headers()).status_code == 204
    award(world, pupil=world["classmate"])  # another family's child: nothing new here
    assert client.get(url, headers=htmx_headers()).status_code == 204
    points.award_points(world["senior leader"], [sibling], category(world["school"], "Teamwork"), "sib-1")
    fresh = client.get(url, headers=htmx_headers())
    assert fresh.status_code == 200 and re.search(r"Kasia K\..*?1 point today", fresh.text, re.S)


def test_marker_changes_when_the_schools_day_changes(app, login_as):
    with time_machine.travel(datetime(2025, 3, 12, 23, 50, tzinfo=UTC), tick=False) as traveller:
        world = _world()
        award(world)
        client = login_as(world["own parent"])
        url = live_url(client.get(f"/family/child/{world['child'].id}").text)
        assert client.get(url, headers=htmx_headers()).status_code == 204
        traveller.shift(timedelta(minutes=20))  # past midnight in London: "today" is empty again
        fresh = client.get(url, headers=htmx_headers())
        assert fresh.status_code == 200 and "<dt>Today</dt><dd>0</dd>" in fresh.text


def _wire_bytes(response):
    head = f"HTTP/1.1 {response.status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in response.headers.items())
    return len((head + "\r\n").encode("latin-1")) + len(response.data)


def test_an_idle_minute_costs_under_1kb(app, login_as, capsys):
    """The 204 carries no security headers and no session cookie, even when the session is a real
    one (permanent, so Flask would re-send the cookie) and due for its once-a-minute refresh."""
    world = _world()
    client = login_as(world["own parent"])
    with client.session_transaction() as sess:
        sess.permanent = True
        sess["seen_at"] = int(time.time()) - 120
    url = live_url(client.get(f"/family/child/{world['child'].id}", headers=htmx_headers()).text)
    idle = client.get(url, headers=htmx_headers())
    assert idle.status_code == 204
    assert "Set-Cookie" not in idle.headers and "Content-Security-Policy" not in idle.headers
    per_poll = _wire_bytes(idle) + SERVER_HEADERS
    per_minute = per_poll * POLLS_PER_MINUTE
    with capsys.disabled():
        print(f"\nidle poll: {_wire_bytes(idle)} B from the app + {SERVER_HEADERS} B from the server = "
              f"{per_poll} B; {POLLS_PER_MINUTE:.1f} polls a minute = {per_minute:.0f} B a minute")
    assert per_minute <= 1024
    page = client.get(f"/family/child/{world['child'].id}")
    assert _wire_bytes(page) > 4 * _wire_bytes(idle)  # what a full answer would have cost


def test_the_poll_does_not_keep_an_idle_session_alive(app, login_as):
    world = _world()
    client = login_as(world["own parent"])
    with client.session_transaction() as sess:
        sess.permanent = True
        sess["seen_at"] = int(time.time()) - 120
    url = live_url(client.get(f"/family/child/{world['child'].id}", headers=htmx_headers()).text)
    with client.session_transaction() as sess:
        sess["seen_at"] = seen = int(time.time()) - 120
    client.get(url, headers=htmx_headers())
    with client.session_transaction() as sess:
        assert sess["seen_at"] == seen


# ---- the week-by-week chart ------------------------------------------------------------------

def _chart_rows(html):
    table = html[html.index("<caption>Points per week</caption>"):html.index("</table>")]
    return re.findall(r'<th scope="row">([^<]+)</th><td>(\d+)</td>', table)


def test_week_chart_counts_by_the_schools_weeks_across_a_clock_change(app, login_as):
    """Los Angeles: summer time began on Sunday 9 March 2025. Weeks start on Monday, local time."""
    now = datetime(2025, 3, 19, 18, 0, tzinfo=UTC)  # Wednesday 19 March, 11:00 in Los Angeles
    with time_machine.travel(now, tick=False):
        world = _world(timezone="America/Los_Angeles")
        for day in (4, 5, 6):  # week of 3 March (PST, UTC-8)
            award(world, when=datetime(2025, 3, day, 20, 0))
        award(world, when=datetime(2025, 3, 10, 7, 30))  # Monday 10 March 00:30 PDT: week of 10 March
        award(world, when=datetime(2025, 3, 10, 6, 30))  # Sunday 9 March 23:30 PDT: week of 3 March
        award(world, when=datetime(2025, 3, 17, 6, 30))  # Sunday 16 March 23:30 PDT: week of 10 March
        award(world, when=datetime(2025, 3, 17, 7, 30))  # Monday 17 March 00:30 PDT: this week
        award(world, when=datetime(2025, 3, 19, 17, 0))  # today, 10:00 PDT
        award(world, when=datetime(2024, 12, 30, 20, 0))  # eleven weeks back: not on the chart
        award(world, pupil=world["classmate"], when=datetime(2025, 3, 18, 20, 0))  # another child
        nw = category(world["school"], "Needs work: listening")
        world["school"].needs_work_enabled = True
        db.session.commit()
        points.award_points(world["teacher of class"], [world["child"]], nw, "nw-1", now=datetime(2025, 3, 18, 20))
        world["school"].needs_work_enabled = False  # turned off again: not shown
        db.session.commit()
        page = login_as(world["own parent"]).get(f"/family/child/{world['child'].id}").text
    rows = _chart_rows(page)
    assert len(rows) == 10
    assert rows[0][0] == "13 January 2025" and rows[-1][0] == "17 March 2025"
    assert dict(rows) == {**{label: "0" for label, _n in rows[:7]},
                          "3 March 2025": "4", "10 March 2025": "2", "17 March 2025": "2"}
    assert "<dt>Today</dt><dd>1</dd>" in page and "<dt>This week</dt><dd>2</dd>" in page
    chart = page[page.index('<svg class="week-chart"'):page.index("</svg>", page.index('<svg class="week-chart"'))]
    assert 'role="img"' in chart and "This week: 2. Most in one week: 4." in chart
    assert "style=" not in chart
    heights = [float(h) for h in re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="26" height="([\d.]+)"', chart)]
    assert heights[7] == 120.0 and heights[8] == heights[9] == 60.0 and heights[0] == 0.0


def test_week_chart_mirrors_for_right_to_left_readers(app):
    """Arabic or Urdu readers read time from right to left: this week's bar is on the left."""
    from flask import render_template

    from app.blueprints.family.routes import child_points
    world = _world()
    award(world)
    with app.test_request_context("/"):
        for direction, this_week_x in (("ltr", 367), ("rtl", 7)):
            html = render_template("family/child.html", pupil=world["child"], pts=child_points(world["child"]),
                                   text_dir=direction)
            assert re.search(rf'<g class="bar now">\s*<rect x="{this_week_x}"', html)


# ---- queries stay flat as history grows ------------------------------------------------------

def _history(world, pupil, count):
    """`count` awards spread over the past year, a tenth of them this week."""
    school = world["school"]
    categories = points.categories(school)
    now = datetime.now(UTC).replace(tzinfo=None)
    db.session.add_all(PointAward(
        school_id=school.id, pupil_id=pupil.id, class_id=pupil.class_id, category_id=categories[i % 5].id,
        awarded_by_id=world["teacher of class"].id, value=1, note=f"note {i}", request_key=f"h{pupil.id}-{i}",
        awarded_at=now - (timedelta(seconds=i) if i % 10 == 0 else timedelta(days=7 + i % 350)))
        for i in range(count))
    db.session.commit()


@time_machine.travel(datetime(2025, 3, 12, 12, 0, tzinfo=UTC), tick=False)  # a Wednesday noon
def test_child_page_queries_the_same_for_10_and_2000_awards(app, login_as):
    world = _world()
    busy = world["classmate"]
    _history(world, world["child"], 10)
    _history(world, busy, 2000)
    few = count_page_queries(login_as(world["own parent"]), f"/family/child/{world['child'].id}")[0]
    many_client = login_as(world["other parent"])
    many = count_page_queries(many_client, f"/family/child/{busy.id}")[0]
    assert few == many
    page = many_client.get(f"/family/child/{busy.id}").text
    assert page.count('class="award"') == 50 and "Showing the latest 50 points of this week." in page
    own = login_as(world["own parent"])
    assert count_page_queries(many_client, "/family/")[0] == count_page_queries(own, "/family/")[0]


def test_an_open_page_asks_for_news_well_within_30_seconds(app, login_as):
    from app.config import Config
    assert Config.LIVE_POLL_SECONDS <= 30
    world = _world()
    page = login_as(world["own parent"]).get(f"/family/child/{world['child'].id}").text
    assert f'hx-trigger="every {Config.LIVE_POLL_SECONDS}s"' in page
    award(world)
    live = login_as(world["own parent"]).get(f"/family/child/{world['child'].id}/points/live?v=stale",
                                             headers=htmx_headers())
    assert f'hx-trigger="every {Config.LIVE_POLL_SECONDS}s"' in live.text  # the fragment keeps polling
