"""Home reading log pages: the parent's form and list, the teacher's queue (SECURITY.md 12, 15, 31)."""
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from app.extensions import db
from app.models import PointAward, ReadingLogEntry
from app.services import points
from tests.conftest import sign_in
from tests.factories import (
    make_class,
    make_head,
    make_parent,
    make_pupil,
    make_school,
    make_senior,
    make_teacher,
)

NOW = datetime(2025, 3, 12, 12, 0, tzinfo=UTC)
TODAY = date(2025, 3, 12)
KEY = "a" * 22


def _world():
    school = make_school()
    klass = make_class(school, name="3K")
    child = make_pupil(klass, name="Zosia K.")
    other_child = make_pupil(make_class(school, name="4B"), name="Wren P.")
    other_school = make_school()
    return {
        "school": school, "child": child, "other child": other_child,
        "teacher of class": make_teacher(school, classes=[klass], name="Ms Abbott"),
        "other teacher": make_teacher(school, classes=[other_child.school_class]),
        "senior leader": make_senior(school),
        "head": make_head(school),
        "own parent": make_parent(school, children=[child]),
        "other parent": make_parent(school, children=[other_child]),
        "the pupil": child,
        "anonymous": None,
        "head of another school": make_head(other_school),
    }


def client_for(app, login_as, account):
    return login_as(account) if account is not None else app.test_client()


def form(read_on="2025-03-11", minutes="25", title="The Gruffalo", key=KEY):
    return {"read_on": read_on, "minutes": minutes, "title": title, "request_key": key}


def entries():
    return db.session.query(ReadingLogEntry).order_by(ReadingLogEntry.id).all()


def logged(world, title="The Gruffalo", child="child", parent="own parent"):
    return points.log_reading(world[parent], world[child], TODAY, 20, title, today=TODAY)


# ---- the parent's page -----------------------------------------------------------------------

@time_machine.travel(NOW, tick=False)
def test_form_defaults_to_the_schools_today_and_carries_a_key(app, login_as):
    world = _world()
    page = login_as(world["own parent"]).get(f"/reading/child/{world['child'].id}").text
    assert re.search(r'<input[^>]*name="read_on"[^>]*value="2025-03-12"', page)
    assert re.search(r'<input id="request_key" name="request_key" type="hidden" value="[A-Za-z0-9_-]{16,}">', page)
    assert '<label for="minutes">' in page and '<label for="title">' in page
    assert "Nothing recorded yet." in page


@time_machine.travel(NOW, tick=False)
def test_recording_reading_redirects_and_lists_it_as_waiting(app, login_as):
    world = _world()
    client = login_as(world["own parent"])
    r = client.post(f"/reading/child/{world['child'].id}", data=form())
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/reading/child/{world['child'].id}")
    [entry] = entries()
    assert (entry.read_on, entry.minutes, entry.title, entry.status) == (date(2025, 3, 11), 25, "The Gruffalo",
                                                                         "pending")
    assert entry.parent_id == world["own parent"].id and entry.pupil_id == world["child"].id
    page = client.get(r.headers["Location"]).text
    assert "The reading is recorded" in page and "The Gruffalo" in page and "Waiting for the teacher" in page


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("data,field,message", [
    (form(read_on="2025-03-13"), "read_on", "The date cannot be in the future."),
    (form(read_on="yesterday"), "read_on", "Enter the date of the reading."),
    (form(minutes="5000"), "minutes", "Enter the minutes read, from 1 to 300."),
    (form(minutes="0"), "minutes", "Enter the minutes read, from 1 to 300."),
    (form(minutes="lots"), "minutes", "Enter the minutes read, from 1 to 300."),
    (form(title=""), "title", "Say what was read"),
])
def test_bad_input_is_refused_next_to_its_field_and_the_typing_is_kept(app, login_as, data, field, message):
    world = _world()
    r = login_as(world["own parent"]).post(f"/reading/child/{world['child'].id}", data=data)
    assert r.status_code == 200
    error = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', r.text)
    assert error and message in error.group(1)
    assert re.search(rf'<input[^>]*aria-invalid="true"[^>]*id="{field}"|<input[^>]*id="{field}"[^>]*aria-invalid',
                     r.text)
    for name in ("read_on", "minutes", "title"):
        if data[name]:
            assert f'value="{data[name]}"' in r.text  # what was typed, shown again
    assert f'value="{KEY}"' in r.text  # the same key: a corrected resend still records once
    assert entries() == []


@time_machine.travel(NOW, tick=False)
def test_a_resent_form_records_once(app, login_as):
    world = _world()
    client = login_as(world["own parent"])
    for _ in range(3):
        assert client.post(f"/reading/child/{world['child'].id}", data=form()).status_code == 302
    assert len(entries()) == 1
    client.post(f"/reading/child/{world['child'].id}", data=form(key="b" * 22))
    assert len(entries()) == 2


@time_machine.travel(NOW, tick=False)
def test_keys_belong_to_one_parent(app, login_as):
    """Another parent sending the same key records their own entry; they never get ours back."""
    world = _world()
    second = make_parent(world["school"], children=[world["child"]])
    login_as(world["own parent"]).post(f"/reading/child/{world['child'].id}", data=form())
    login_as(second).post(f"/reading/child/{world['child'].id}", data=form(title="Matilda"))
    assert [(e.parent_id, e.title) for e in entries()] == [(world["own parent"].id, "The Gruffalo"),
                                                           (second.id, "Matilda")]


@time_machine.travel(NOW, tick=False)
def test_a_made_up_key_is_not_reused(app, login_as):
    world = _world()
    client = login_as(world["own parent"])
    client.post(f"/reading/child/{world['child'].id}", data=form(key="x"))
    client.post(f"/reading/child/{world['child'].id}", data=form(key="x"))
    assert len(entries()) == 2


# who -> status for GET and POST /reading/child/<id> of "child"
CHILD_LOG = {
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


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("who,status", CHILD_LOG.items())
def test_child_log_access(app, login_as, who, status):
    world = _world()
    logged(world, title="Secret diary")
    client = client_for(app, login_as, world[who])
    r = client.get(f"/reading/child/{world['child'].id}")
    assert r.status_code == status and ("Secret diary" in r.text) == (status == 200)
    r = client.post(f"/reading/child/{world['child'].id}", data=form())
    assert r.status_code == (302 if status == 200 else status)
    assert len(entries()) == (2 if status == 200 else 1)
    if status == 302:
        assert "/auth/login" in r.headers["Location"]


@time_machine.travel(NOW, tick=False)
def test_no_log_for_a_child_who_has_left_or_a_made_up_id(app, login_as):
    world = _world()
    client = login_as(world["own parent"])
    assert client.get("/reading/child/999999").status_code == 404
    world["child"].status = "left"
    db.session.commit()
    assert client.get(f"/reading/child/{world['child'].id}").status_code == 404


def test_child_page_links_to_the_reading_log(app, login_as):
    world = _world()
    page = login_as(world["own parent"]).get(f"/family/child/{world['child'].id}").text
    assert f'href="/reading/child/{world["child"].id}"' in page


def test_posting_needs_the_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        world = _world()
        client = sign_in(app.test_client(), world["own parent"])
        assert client.post(f"/reading/child/{world['child'].id}", data=form()).status_code == 400
        assert client.post("/reading/review", data={"entry": "1", "approve": "y"}).status_code == 400
        assert entries() == []


# ---- the teacher's queue ---------------------------------------------------------------------

# who -> (status of GET /reading/queue, sees the entry of "child")
QUEUE = {
    "teacher of class": (200, True),
    "other teacher": (200, False),
    "senior leader": (200, True),
    "head": (200, True),
    "own parent": (404, False),
    "other parent": (404, False),
    "the pupil": (404, False),
    "anonymous": (302, False),
    "head of another school": (200, False),
}


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("who,expected", QUEUE.items())
def test_queue_access(app, login_as, who, expected):
    world = _world()
    logged(world, title="The Gruffalo")
    r = client_for(app, login_as, world[who]).get("/reading/queue")
    assert (r.status_code, "The Gruffalo" in r.text) == expected


# who -> (status of POST /reading/review approving the entry of "child", approved afterwards)
REVIEW = {
    "teacher of class": (302, True),
    "other teacher": (404, False),
    "senior leader": (302, True),
    "head": (302, True),
    "own parent": (404, False),
    "other parent": (404, False),
    "the pupil": (404, False),
    "anonymous": (302, False),
    "head of another school": (404, False),
}


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("who,expected", REVIEW.items())
def test_review_access(app, login_as, who, expected):
    world = _world()
    entry = logged(world)
    r = client_for(app, login_as, world[who]).post("/reading/review", data={"entry": str(entry.id), "approve": "y"})
    status, approved = expected
    assert r.status_code == status
    assert (db.session.get(ReadingLogEntry, entry.id).status == "approved") == approved
    assert db.session.query(PointAward).count() == (1 if approved else 0)


@time_machine.travel(NOW, tick=False)
def test_one_entry_out_of_reach_refuses_the_whole_request(app, login_as):
    world = _world()
    ours, theirs = logged(world), logged(world, child="other child", parent="other parent")
    client = login_as(world["teacher of class"])
    r = client.post("/reading/review", data={"entry": [str(ours.id), str(theirs.id)], "approve": "y"})
    assert r.status_code == 404 and {e.status for e in entries()} == {"pending"}
    r = client.post("/reading/review", data={"entry": "999999", "approve": "y"})
    assert r.status_code == 404


@time_machine.travel(NOW, tick=False)
def test_approved_reading_becomes_a_point_the_parent_sees(app, login_as):
    world = _world()
    parent = login_as(world["own parent"])
    parent.post(f"/reading/child/{world['child'].id}", data=form(title="Matilda"))
    teacher = login_as(world["teacher of class"])
    queue = teacher.get("/reading/queue").text
    [entry] = entries()
    assert "Matilda" in queue and f'name="entry" value="{entry.id}"' in queue
    r = teacher.post("/reading/review", data={"entry": str(entry.id), "approve": "y", "shown": str(entry.id)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/reading/queue")
    assert "1 entry approved" in teacher.get("/reading/queue").text
    assert "Earned a point" in parent.get(f"/reading/child/{world['child'].id}").text
    child_page = parent.get(f"/family/child/{world['child'].id}").text
    assert "Completing reading/homework at home" in child_page and "Ms Abbott" in child_page
    assert "<dt>Today</dt><dd>1</dd>" in child_page


@time_machine.travel(NOW, tick=False)
def test_not_approved_shows_to_the_parent_and_gives_no_point(app, login_as):
    world = _world()
    entry = logged(world)
    login_as(world["teacher of class"]).post("/reading/review", data={"entry": str(entry.id), "decline": "y"})
    assert "Not approved" in login_as(world["own parent"]).get(f"/reading/child/{world['child'].id}").text
    assert db.session.query(PointAward).count() == 0


@time_machine.travel(NOW, tick=False)
def test_approve_all_approves_what_the_page_showed_only(app, login_as):
    world = _world()
    first, second = logged(world, "One"), logged(world, "Two")
    teacher = login_as(world["teacher of class"])
    shown = re.search(r'name="shown"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="shown"',
                      teacher.get("/reading/queue").text)
    shown = shown.group(1) or shown.group(2)
    assert shown == f"{first.id},{second.id}"
    late = logged(world, "Arrived after the page was shown")
    r = teacher.post("/reading/review", data={"shown": shown, "approve_all": "y"})
    assert r.status_code == 302
    assert [(e.title, e.status) for e in entries()] == [("One", "approved"), ("Two", "approved"),
                                                        (late.title, "pending")]
    assert db.session.query(PointAward).count() == 2


@time_machine.travel(NOW, tick=False)
def test_approving_nothing_says_so(app, login_as):
    world = _world()
    logged(world)
    teacher = login_as(world["teacher of class"])
    r = teacher.post("/reading/review", data={"approve": "y"})
    assert r.status_code == 302 and "Tick at least one entry first." in teacher.get("/reading/queue").text
    assert entries()[0].status == "pending"


@time_machine.travel(NOW, tick=False)
def test_my_classes_links_to_the_queue_with_the_count_waiting(app, login_as):
    world = _world()
    logged(world, "One")
    logged(world, "Two")
    logged(world, "Not mine", child="other child", parent="other parent")
    page = login_as(world["teacher of class"]).get("/classes/").text
    assert re.search(r'href="/reading/queue">Reading at home to approve: 2<', page)
    page = login_as(world["head"]).get("/classes/").text
    assert "Reading at home to approve: 3" in page


@time_machine.travel(NOW, tick=False)
def test_user_text_is_escaped_and_inert(app, login_as):
    world = _world()
    logged(world, title='<img src=x onerror=alert(1)> <div hx-get="/auth/logout" hx-trigger="load">')
    for account, url in ((world["own parent"], f"/reading/child/{world['child'].id}"),
                         (world["teacher of class"], "/reading/queue")):
        page = login_as(account).get(url).text
        assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
        assert re.search(r"<span hx-disable>&lt;img", page)


def test_reading_the_day_before_in_the_schools_zone(app, login_as):
    """00:30 on 13 March in Auckland is still 12 March in UTC: the form offers the school's date."""
    with time_machine.travel(datetime(2025, 3, 12, 11, 30, tzinfo=UTC), tick=False):
        school = make_school(timezone="Pacific/Auckland")
        child = make_pupil(make_class(school))
        parent = make_parent(school, children=[child])
        client = login_as(parent)
        page = client.get(f"/reading/child/{child.id}").text
        assert re.search(r'name="read_on"[^>]*value="2025-03-13"', page)
        r = client.post(f"/reading/child/{child.id}", data=form(read_on="2025-03-13"))
        assert r.status_code == 302 and entries()[0].read_on == date(2025, 3, 13)
        r = client.post(f"/reading/child/{child.id}", data=form(read_on="2025-03-14", key="c" * 22))
        assert "The date cannot be in the future." in r.text


def test_dates_older_than_a_month_are_refused(app, login_as):
    with time_machine.travel(NOW, tick=False):
        world = _world()
        old = (TODAY - timedelta(days=40)).isoformat()
        r = login_as(world["own parent"]).post(f"/reading/child/{world['child'].id}", data=form(read_on=old))
        assert "Record reading from the last month only." in r.text and entries() == []
