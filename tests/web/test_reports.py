"""Reports pages: who may see which report, the filter form, CSV safety, team totals and the
assembly display (team totals only, never a child's name), and queries that do not grow with data."""
import csv
import io
from datetime import datetime, timedelta

import pytest
import time_machine
from sqlalchemy import insert, select

from app.extensions import db
from app.models import AuditEntry, PointAward
from app.models.base import utcnow
from app.services import points
from tests.conftest import client_as, count_queries, htmx_headers, outcome, without_secrets
from tests.factories import (
    make_cast,
    make_class,
    make_head,
    make_pupil,
    make_school,
    make_teacher,
    make_team,
)

CHILD = "Zosia Kowalska-Unique"


@pytest.fixture
def world(app):
    """One school with two classes, a team, points, one person of each kind; another school's head."""
    school = make_school(name="Oakfield Primary")
    klass = make_class(school, name="3K")
    other_class = make_class(school, name="5R")
    team = make_team(school, "Red Kites", "red")
    pupil = make_pupil(klass, name=CHILD, team_id=team.id)
    people = make_cast(school, klass, other_class, pupil)
    head = people["head"]
    category = points.categories(school)[0]
    points.award_points(head, [pupil], category, "k1")
    return school, klass, other_class, team, pupil, people


_client = client_as


# who -> status for: /reports/points (their default), ?scope=<class 3K>, ?scope=school, the CSV of 3K
POINTS = [
    ("teacher of class", 200, 200, 404, 200),
    ("other teacher", 200, 404, 404, 404),
    ("senior leader", 200, 200, 200, 200),
    ("head", 200, 200, 200, 200),
    ("parent", 404, 404, 404, 404),
    ("pupil", 404, 404, 404, 404),
    ("anonymous", 302, 302, 302, 302),
    ("other school's head", 200, 404, 200, 404),
]


@pytest.mark.parametrize("who, default, of_class, school_scope, csv_of_class", POINTS)
def test_points_report_access(world, client, login_as, who, default, of_class, school_scope, csv_of_class):
    school, klass, other_class, team, pupil, people = world
    c = _client(client, login_as, people, who)
    assert c.get("/reports/points").status_code == default
    r = c.get(f"/reports/points?scope={klass.id}&period=week")
    assert r.status_code == of_class
    assert (CHILD in r.text) == (of_class == 200)
    r = c.get("/reports/points?scope=school&period=term")
    assert r.status_code == school_scope
    assert ("3K" in without_secrets(r.text)) == (school_scope == 200 and who != "other school's head")
    r = c.get(f"/reports/points.csv?scope={klass.id}&period=week")
    assert r.status_code == csv_of_class
    assert (CHILD in r.text) == (csv_of_class == 200)
    if who == "anonymous":
        assert r.headers["Location"].startswith("/auth/login")


# who -> status for: /reports/teams, /reports/teams/display, the display's htmx fragment
TEAMS = [
    ("teacher of class", 200, 200, 200),
    ("other teacher", 200, 200, 200),
    ("senior leader", 200, 200, 200),
    ("head", 200, 200, 200),
    ("parent", 404, 404, 404),
    ("pupil", 404, 404, 404),
    ("anonymous", 302, 302, 302),
    ("other school's head", 200, 200, 200),
]


@pytest.mark.parametrize("who, teams, display, fragment", TEAMS)
def test_team_pages_access(world, client, login_as, who, teams, display, fragment):
    school, klass, other_class, team, pupil, people = world
    c = _client(client, login_as, people, who)
    r = c.get("/reports/teams")
    assert r.status_code == teams
    assert ("Red Kites" in r.text) == (teams == 200 and who != "other school's head")
    r = c.get("/reports/teams/display")
    assert r.status_code == display
    assert ("Red Kites" in r.text) == (display == 200 and who != "other school's head")
    assert outcome(c.get("/reports/teams/display", headers=htmx_headers())) == fragment


def test_refused_class_report_is_audited(world, login_as):
    school, klass, other_class, team, pupil, people = world
    login_as(people["other teacher"]).get(f"/reports/points?scope={klass.id}")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "access.refused"))
    assert entry.target_type == "schoolclass" and entry.target_id == klass.id


def test_teacher_chooses_among_their_own_classes_only(world, login_as):
    school, klass, other_class, team, pupil, people = world
    r = login_as(people["teacher of class"]).get("/reports/points")
    assert f'<option selected value="{klass.id}">3K</option>' in r.text
    assert "5R" not in without_secrets(r.text) and 'value="school"' not in r.text
    r = login_as(people["head"]).get("/reports/points")
    assert '<option selected value="school">Whole school</option>' in r.text and ">5R<" in r.text


def test_teacher_without_a_class_is_told_why(world, login_as):
    school = world[0]
    r = login_as(make_teacher(school)).get("/reports/points")
    assert r.status_code == 200 and "not a teacher of any class" in r.text and "<table" not in r.text
    r = login_as(make_teacher(school)).get("/reports/points.csv")
    assert r.status_code == 302 and r.headers["Location"].startswith("/reports/points")


def test_class_report_page(world, login_as):
    school, klass, other_class, team, pupil, people = world
    r = login_as(people["teacher of class"]).get(f"/reports/points?scope={klass.id}&period=term")
    page = r.text
    assert "By pupil" in page and "By category" in page and "By team" in page and "Class total" in page
    assert "approximate until the school's term dates are entered" in page
    assert "Red Kites" in page and "Showing Values" in page
    assert 'class="panel report-filters no-print"' in page  # filters are not printed
    assert f'href="/reports/points.csv?scope={klass.id}&amp;period=term"' in page
    assert 'hx-boost="false"' in page
    assert "style=" not in page.split("<main")[1]
    week = login_as(people["teacher of class"]).get(f"/reports/points?scope={klass.id}&period=week").text
    assert "approximate until" not in week


def test_needs_work_columns_only_when_the_school_uses_them(world, login_as):
    school, klass, other_class, team, pupil, people = world
    client = login_as(people["teacher of class"])
    school.needs_work_enabled = True
    db.session.commit()
    needs = points.categories(school, kinds=("needs_work",))[0]
    points.award_points(people["head"], [pupil], needs, "nw")
    page = client.get(f"/reports/points?scope={klass.id}").text
    assert "Needs work (total)" in page and "Needs work: listening" in page
    csv_text = client.get(f"/reports/points.csv?scope={klass.id}").text
    assert "Needs work (total)" in csv_text
    school.needs_work_enabled = False
    db.session.commit()
    page = client.get(f"/reports/points?scope={klass.id}").text
    assert "Needs work" not in page and "needs-work" not in page
    assert "Needs work" not in client.get(f"/reports/points.csv?scope={klass.id}").text


@pytest.mark.parametrize("args, field, message", [
    ("period=custom&date_from=2026-10-31&date_to=2026-10-01", "date_to", "on or after the first day"),
    ("period=custom&date_from=&date_to=2026-10-01", "date_from", "Enter the first day"),
    ("period=custom&date_from=2026-10-01", "date_to", "Enter the last day"),
    ("period=custom&date_from=31/13/2026&date_to=2026-10-01", "date_from", "Enter a date like"),
    ("period=custom&date_from=1900-01-01&date_to=2026-10-01", "date_from", "between 2000 and 2100"),
    ("period=sometime", "period", "Not a valid choice"),
    ("scope=nonsense", "scope", "Choose a class from the list"),
    ("scope=99999999999999999999", "scope", "Choose a class from the list"),
])
def test_bad_filters_are_explained_next_to_the_field_and_the_typing_is_kept(
        world, login_as, args, field, message):
    school, klass, other_class, team, pupil, people = world
    client = login_as(people["head"])
    r = client.get(f"/reports/points?{args}")
    assert r.status_code == 200
    page = r.text
    error = page.split(f'id="{field}-error">')[1].split("</p>")[0]
    assert message in error
    assert "<table" not in page and "Check the report settings" in page
    for typed in ("2026-10-31", "31/13/2026", "1900-01-01"):
        if typed in args:
            assert f'value="{typed}"' in page
    r = client.get(f"/reports/points.csv?{args}")
    assert r.status_code == 302 and r.headers["Location"].startswith("/reports/points?")


def test_custom_dates_typed_for_another_period_are_ignored_and_kept(world, login_as):
    school, klass, other_class, team, pupil, people = world
    r = login_as(people["head"]).get("/reports/points?period=week&date_from=rubbish")
    assert r.status_code == 200 and "<table" in r.text and 'value="rubbish"' in r.text


def test_custom_period_report_and_csv(world, login_as):
    school, klass, other_class, team, pupil, people = world
    client = login_as(people["head"])
    today = points.school_today(school)
    args = f"scope={klass.id}&period=custom&date_from={today - timedelta(days=3)}&date_to={today}"
    r = client.get(f"/reports/points?{args}")
    assert "1 point" in r.text
    r = client.get(f"/reports/points.csv?{args}")
    assert r.headers["Content-Disposition"] == (
        f"attachment; filename=team-points-3k-{today - timedelta(days=3)}-to-{today}.csv")


def test_csv_is_safe_against_formula_injection(world, login_as):
    school, klass, other_class, team, pupil, people = world
    names = ['=HYPERLINK("http://x","y")', "@SUM(1)", "-2+3"]
    for name in names:
        make_pupil(klass, name=name)
    r = login_as(people["teacher of class"]).get(f"/reports/points.csv?scope={klass.id}&period=year")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert r.headers["Content-Disposition"].startswith('attachment; filename=team-points-3k-')
    assert r.headers["Cache-Control"] == "private, no-store"
    assert r.data.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte-order mark, for Excel
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    cells = {row[0] for row in rows[1:]}
    assert cells == {"'" + name for name in names} | {CHILD}
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)
    totals = {row[0]: row[3] for row in rows[1:]}
    assert totals[CHILD] == "1" and totals["'@SUM(1)"] == "0"


def test_csv_export_is_audited(world, login_as):
    school, klass, other_class, team, pupil, people = world
    login_as(people["senior leader"]).get(f"/reports/points.csv?scope={klass.id}&period=week")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "reports.points_exported"))
    assert entry.actor_user_id == people["senior leader"].id
    assert entry.target_type == "school_class" and entry.target_id == klass.id
    assert entry.detail["period"] == "week" and entry.detail["pupils"] == 1


def test_whole_school_csv_lists_every_pupil_with_their_class(world, login_as):
    school, klass, other_class, team, pupil, people = world
    make_pupil(other_class, name="Omar B.")
    r = login_as(people["head"]).get("/reports/points.csv?scope=school&period=year")
    assert "team-points-whole-school-" in r.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert {(row[0], row[1], row[3]) for row in rows[1:]} == {(CHILD, "3K", "1"), ("Omar B.", "5R", "0")}


def test_reports_link_on_my_classes(world, login_as):
    school, klass, other_class, team, pupil, people = world
    assert 'href="/reports/points"' in login_as(people["teacher of class"]).get("/classes/").text


# ---- team totals and the assembly display -----------------------------------------------------------


def test_team_totals_page_whole_school_and_per_class(world, login_as):
    school, klass, other_class, team, pupil, people = world
    page = login_as(people["teacher of class"]).get("/reports/teams").text
    assert "Whole school" in page and "Team points in 3K" in page
    assert "Team points in 5R" not in page  # a teacher sees their own classes
    assert CHILD not in page
    page = login_as(people["head"]).get("/reports/teams").text
    assert "Team points in 3K" in page and "Team points in 5R" in page


def test_display_shows_team_totals_only(world, login_as):
    school, klass, other_class, team, pupil, people = world
    school.needs_work_enabled = True
    db.session.commit()
    needs = points.categories(school, kinds=("needs_work",))[0]
    for n in range(3):
        points.award_points(people["head"], [pupil], needs, f"nw{n}")
    client = login_as(people["senior leader"])
    page = client.get("/reports/teams/display").text
    assert CHILD not in page and "Zosia" not in page
    assert "Red Kites" in page and 'class="team-card team-red"' in page
    scores = page.split('class="team-scores"')[1].split("</dl>")[0]
    assert scores.count("<dd>1</dd>") == 2  # this week and this term: the needs-work points left out
    assert "Needs" not in page and "needs" not in page
    assert '<header class="top">' not in page and "<nav" not in page and '<footer' not in page
    assert 'hx-get="/reports/teams/display"' in page and 'hx-trigger="every 60s"' in page
    refresh = page.split("<noscript>")[1].split("</noscript>")[0]  # with JavaScript off
    assert 'href="/reports/teams/display"' in refresh and ">Refresh</a>" in refresh
    assert "data-fullscreen hidden" in page
    assert "style=" not in page and "<script>" not in page
    fragment = client.get("/reports/teams/display", headers=htmx_headers())
    assert fragment.text.lstrip().startswith('<div id="team-totals"')
    assert "<html" not in fragment.text and CHILD not in fragment.text
    assert "HX-Request" in fragment.headers["Vary"]


def test_display_counts_this_week_and_this_term_in_the_schools_time_zone(app, login_as):
    school = make_school(timezone="Europe/London")
    klass = make_class(school)
    team = make_team(school, "Kestrels", "yellow")
    pupil = make_pupil(klass, team_id=team.id)
    head = make_head(school)
    category = points.categories(school)[0]
    points.award_points(head, [pupil], category, "sun", now=datetime(2026, 6, 21, 22, 30))  # Sun 23:30
    points.award_points(head, [pupil], category, "mon", now=datetime(2026, 6, 21, 23, 30))  # Mon 00:30
    points.award_points(head, [pupil], category, "spring", now=datetime(2026, 3, 31, 12, 0))
    with time_machine.travel(datetime(2026, 6, 23, 9, 0), tick=False):
        page = login_as(head).get("/reports/teams/display").text
    scores = page.split('class="team-scores"')[1].split("</dl>")[0]
    assert "<dt>This week</dt><dd>1</dd>" in scores and "<dt>This term</dt><dd>2</dd>" in scores


# ---- queries do not grow with the data ----------------------------------------------------------------


def test_queries_are_the_same_for_little_and_much_data(world, login_as):
    school, klass, other_class, team, pupil, people = world
    school.needs_work_enabled = True
    db.session.commit()
    head = people["head"]
    client = login_as(head)
    pages = [f"/reports/points?scope={klass.id}&period=year", "/reports/points?scope=school&period=year",
             f"/reports/points.csv?scope={klass.id}&period=year", "/reports/teams", "/reports/teams/display"]
    for page in pages:  # the first request of a process loads a few things once
        client.get(page)
    small = {page: count_queries(lambda page=page: client.get(page)) for page in pages}

    other_team = make_team(school, "Blue Jays", "blue")
    pupils = [pupil] + [make_pupil(klass, team_id=other_team.id) for _ in range(8)]
    pupils += [make_pupil(other_class, team_id=team.id) for _ in range(5)]
    categories = points.categories(school, kinds=("positive", "needs_work"))
    now = utcnow()
    rows = [dict(school_id=school.id, pupil_id=p.id, class_id=p.class_id, team_id=p.team_id,
                 category_id=c.id, awarded_by_id=head.id, value=c.value, needs_work=c.needs_work,
                 request_key=f"bulk-{p.id}-{c.id}-{n}", awarded_at=now - timedelta(hours=n),
                 undone_at=now if n % 7 == 0 else None)
            for p in pupils for c in categories for n in range(40)]
    db.session.execute(insert(PointAward), rows)
    db.session.commit()
    large = {page: count_queries(lambda page=page: client.get(page)) for page in pages}
    assert large == small
    assert all(count <= 12 for count in small.values()), small
