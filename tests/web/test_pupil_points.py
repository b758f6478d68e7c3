"""A pupil's own points, and their class's and team's totals: never another child's (SECURITY.md 24)."""
import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from app.extensions import db
from app.services import points
from tests.factories import (
    make_class,
    make_head,
    make_parent,
    make_pupil,
    make_school,
    make_senior,
    make_teacher,
    make_team,
)

_keys = itertools.count(1)
NOW = datetime(2025, 3, 12, 12, 0, tzinfo=UTC)  # a Wednesday


def _world(**school_kw):
    school = make_school(**school_kw)
    red = make_team(school, name="Red Kites")
    klass = make_class(school, name="3K")
    other_class = make_class(school, name="4B")
    child = make_pupil(klass, name="Zosia K.", team_id=red.id)
    classmate = make_pupil(klass, name="Amir H.", team_id=red.id)
    other_class_teammate = make_pupil(other_class, name="Wren P.", team_id=red.id)
    other_team_classmate = make_pupil(klass, name="Ola B.")
    teacher = make_teacher(school, classes=[klass, other_class], name="Ms Abbott")
    return {"school": school, "klass": klass, "team": red, "child": child, "classmate": classmate,
            "teammate": other_class_teammate, "other": other_team_classmate, "teacher": teacher}


def award(world, pupil, name="Teamwork", times=1, when=None):
    category = next(c for c in points.categories(world["school"], kinds=("positive", "needs_work"))
                    if c.name == name)
    for _ in range(times):
        points.award_points(world["teacher"], [pupil], category, f"k{next(_keys)}", now=when)


def points_section(html):
    """The pupil's points section, without the drawings (their paths are full of digits)."""
    start = html.index('aria-labelledby="my-points"')
    section = html[start:html.index("</section>", start)]
    return re.sub(r"<svg.*?</svg>", "", section, flags=re.S)


def numbers(section):
    return [int(n) for n in re.findall(r"<(?:dd|strong)>(\d+)</(?:dd|strong)>", section)]


@time_machine.travel(NOW, tick=False)
def test_own_points_today_week_and_by_category_with_class_and_team_totals(app, login_as):
    world = _world()
    award(world, world["child"], "Teamwork", times=2)
    award(world, world["child"], "Showing Values", when=datetime(2025, 3, 10, 9, 0))  # Monday
    award(world, world["child"], "Teamwork", when=datetime(2025, 3, 7, 9, 0))  # last week
    award(world, world["classmate"], "Keeping Ourselves Safe", times=13)  # class and team
    award(world, world["teammate"], "Behaviour for Learning", times=5)  # team only
    award(world, world["other"], "Showing Values", times=7)  # class only
    section = points_section(login_as(world["child"]).get("/classroom/me").text)
    assert "<dt>Today</dt><dd>2</dd>" in section and "<dt>This week</dt><dd>3</dd>" in section
    by_category = dict(re.findall(r'<span hx-disable>([^<]+)</span><strong>(\d+)</strong>', section))
    assert by_category == {"Showing Values": "1", "Behaviour for Learning": "0", "Keeping Ourselves Safe": "0",
                           "Teamwork": "2", "Completing reading/homework at home": "0"}
    assert re.search(r"My class <span hx-disable>3K</span></dt><dd>23</dd>", section)  # 3 + 13 + 7
    assert re.search(r"My team <span hx-disable>Red Kites</span></dt><dd>21</dd>", section)  # 3 + 13 + 5
    # Totals only: no other child's name, and none of their own numbers.
    for name in ("Amir", "Wren", "Ola"):
        assert name not in section
    assert sorted(numbers(section)) == sorted([2, 3, 1, 0, 0, 2, 0, 23, 21])
    assert not {13, 5, 7} & set(numbers(section))


@time_machine.travel(NOW, tick=False)
def test_needs_work_points_are_never_on_the_pupils_own_screen(app, login_as):
    """Needs-work points are seen by the pupil's teachers and parents only (issue 3), even when the
    school uses them: the pupil's page may be open on the shared class iPad."""
    world = _world(needs_work_enabled=True)
    award(world, world["child"], "Needs work: listening")
    award(world, world["classmate"], "Needs work: listening", times=4)
    award(world, world["child"], "Teamwork")
    client = login_as(world["child"])
    section = points_section(client.get("/classroom/me").text)
    assert "Needs work" not in section and "<dt>Today</dt><dd>1</dd>" in section
    assert re.search(r"My class <span hx-disable>3K</span></dt><dd>1</dd>", section)  # needs-work not in totals
    assert 4 not in numbers(section)


@time_machine.travel(NOW, tick=False)
def test_undone_points_and_a_retired_category_with_points(app, login_as):
    world = _world()
    teamwork = next(c for c in points.categories(world["school"]) if c.name == "Teamwork")
    made = points.award_points(world["teacher"], [world["child"]], teamwork, "undo-me")
    points.undo_awards(world["teacher"], made[0].request_key)
    award(world, world["child"], "Showing Values")
    values = next(c for c in points.categories(world["school"]) if c.name == "Showing Values")
    values.retired_at = datetime.now(UTC).replace(tzinfo=None)
    db.session.commit()
    section = points_section(login_as(world["child"]).get("/classroom/me").text)
    assert "<dt>Today</dt><dd>1</dd>" in section
    assert re.search(r"Showing Values</span><strong>1</strong>", section)  # retired, but earned this week
    assert re.search(r"Teamwork</span><strong>0</strong>", section)


def test_a_pupil_without_class_or_team_sees_their_own_points(app, login_as):
    world = _world()
    loner = make_pupil(world["klass"], name="New P.")
    loner.class_id = None
    db.session.commit()
    page = login_as(loner).get("/classroom/me")
    assert page.status_code == 200 and "Together this week" not in page.text


# who -> status for GET /classroom/me (only a pupil has a "me" page)
ME_PAGE = {
    "the pupil": 200,
    "teacher of class": 404,
    "senior leader": 404,
    "head": 404,
    "parent of the pupil": 404,
    "anonymous": 302,
}


@pytest.mark.parametrize("who,status", ME_PAGE.items())
def test_me_page_access(app, login_as, who, status):
    world = _world()
    accounts = {
        "the pupil": world["child"], "teacher of class": world["teacher"],
        "senior leader": make_senior(world["school"]), "head": make_head(world["school"]),
        "parent of the pupil": make_parent(world["school"], children=[world["child"]]), "anonymous": None,
    }
    account = accounts[who]
    client = login_as(account) if account is not None else app.test_client()
    r = client.get("/classroom/me")
    assert r.status_code == status
    assert ("My team points" in r.text) == (status == 200)


def test_class_and_team_totals_count_this_week_only(app, login_as):
    with time_machine.travel(NOW, tick=False) as traveller:
        world = _world()
        award(world, world["classmate"], times=3)
        traveller.shift(timedelta(days=5))  # the next Monday
        award(world, world["classmate"])
        section = points_section(login_as(world["child"]).get("/classroom/me").text)
    assert re.search(r"My class <span hx-disable>3K</span></dt><dd>1</dd>", section)
