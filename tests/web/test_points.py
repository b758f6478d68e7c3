"""The points pages: the teacher's class screen (award, undo) and the school's categories.

Access tables for every role, the full page and the htmx fragments, the JavaScript-off
POST/redirect/GET, refusals that write nothing, the queries and the bytes of the class screen.
"""
import gzip
import re
from datetime import timedelta

import pytest
from sqlalchemy import event, func, insert, select

from app.extensions import db
from app.models import AuditEntry, PointAward, PointCategory
from app.models.base import utcnow
from app.services import points
from tests.conftest import client_as, htmx_headers, sign_in
from tests.factories import (
    make_cast,
    make_class,
    make_head,
    make_pupil,
    make_school,
    make_teacher,
    make_team,
)

KEY_RE = re.compile(r'name="request_key" value="([0-9a-f]{32})"')


@pytest.fixture
def world(app):
    school = make_school(name="Oakfield Primary")
    klass = make_class(school, name="3K")
    other_class = make_class(school, name="5R")
    zosia = make_pupil(klass, name="Zosia K.")
    people = make_cast(school, klass, other_class, zosia)
    return school, klass, other_class, zosia, people


_client = client_as


def category(school, name="Showing Values"):
    return db.session.scalar(select(PointCategory).where(PointCategory.school_id == school.id,
                                                         PointCategory.name == name))


def award_count():
    return db.session.scalar(select(func.count(PointAward.id)))


def page_key(response):
    return KEY_RE.search(response.text).group(1)


# ---- access --------------------------------------------------------------------------------------------

# who -> class screen (GET), award (POST), undo of that award (POST), whether the award is written
CLASS_SCREEN = [
    ("teacher of class", 200, 302, 302, True),
    ("other teacher", 404, 404, 404, False),
    ("teacher who runs the school", 404, 404, 404, False),  # runs the school; neither teaches nor leads
    ("senior leader", 200, 302, 302, True),
    ("head", 200, 302, 302, True),
    ("parent", 404, 404, 404, False),
    ("pupil", 404, 404, 404, False),
    ("anonymous", 302, 302, 302, False),  # sent to sign in
    ("other school's head", 404, 404, 404, False),
]


@pytest.mark.parametrize("who, screen, award, undo, writes", CLASS_SCREEN)
def test_class_screen_access(world, client, login_as, who, screen, award, undo, writes):
    school, klass, other_class, zosia, people = world
    c = _client(client, login_as, people, who)
    r = c.get(f"/points/class/{klass.id}")
    assert r.status_code == screen
    if who == "anonymous":
        assert r.headers["Location"].startswith("/auth/login")
    data = {"pupil": zosia.id, "category_id": category(school).id, "request_key": "k" * 32}
    assert c.post(f"/points/class/{klass.id}/award", data=data).status_code == award
    assert award_count() == (1 if writes else 0)
    assert c.post(f"/points/class/{klass.id}/undo", data={"request_key": "k" * 32}).status_code == undo
    undone = db.session.scalar(select(func.count()).where(PointAward.undone_at.is_not(None)))
    assert undone == (1 if writes else 0)


# who -> categories page (GET), edit one of this school's categories (GET), retire it (POST), retired?
CATEGORIES = [
    ("teacher of class", 404, 404, 404, False),
    ("other teacher", 404, 404, 404, False),
    ("teacher who runs the school", 200, 200, 302, True),
    ("senior leader", 404, 404, 404, False),
    ("head", 200, 200, 302, True),
    ("parent", 404, 404, 404, False),
    ("pupil", 404, 404, 404, False),
    ("anonymous", 302, 302, 302, False),  # sent to sign in
    ("other school's head", 200, 404, 404, False),  # their own school's list; never ours
]


@pytest.mark.parametrize("who, listing, edit, retire, retired", CATEGORIES)
def test_categories_access(world, client, login_as, who, listing, edit, retire, retired):
    school, klass, other_class, zosia, people = world
    values = category(school)
    c = _client(client, login_as, people, who)
    assert c.get("/points/categories").status_code == listing
    assert c.get(f"/points/categories/{values.id}").status_code == edit
    assert c.post(f"/points/categories/{values.id}/retire").status_code == retire
    assert (values.retired_at is not None) == retired


def test_the_class_page_links_to_the_screen_for_those_who_award(world, login_as):
    school, klass, other_class, zosia, people = world
    link = f'href="/points/class/{klass.id}"'
    assert link in login_as(people["teacher of class"]).get(f"/classes/{klass.id}").text
    assert link in login_as(people["senior leader"]).get(f"/classes/{klass.id}").text
    assert link not in login_as(people["teacher who runs the school"]).get(f"/classes/{klass.id}").text
    assert 'href="/points/categories"' in login_as(people["head"]).get("/admin/").text


def test_posts_need_the_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        school = make_school()
        klass = make_class(school)
        zosia = make_pupil(klass)
        c = sign_in(app.test_client(), make_teacher(school, classes=[klass]))
        data = {"pupil": zosia.id, "category_id": category(school).id, "request_key": "k" * 32}
        assert c.post(f"/points/class/{klass.id}/award", data=data).status_code == 400
        assert award_count() == 0
        token = re.search(r'name="csrf_token" value="([^"]+)"', c.get(f"/points/class/{klass.id}").text).group(1)
        r = c.post(f"/points/class/{klass.id}/award", data=data, headers=htmx_headers(**{"X-CSRFToken": token}))
        assert r.status_code == 200 and award_count() == 1


# ---- the class screen ------------------------------------------------------------------------------------

def test_full_page_has_tiles_categories_and_a_fresh_key(world, login_as):
    school, klass, other_class, zosia, people = world
    c = login_as(people["teacher of class"])
    r = c.get(f"/points/class/{klass.id}")
    assert r.status_code == 200 and "<html" in r.text and "HX-Request" in r.headers["Vary"]
    assert "Zosia K." in r.text and f'name="pupil" value="{zosia.id}"' in r.text
    for each in points.categories(school):
        assert f'name="category_id" value="{each.id}"' in r.text
    assert 'form="award-form"' in r.text and f'action="/points/class/{klass.id}/award"' in r.text
    assert "<img" not in r.text and 'style="' not in r.text and "<script>" not in r.text
    assert page_key(r) != page_key(c.get(f"/points/class/{klass.id}"))


def test_select_buttons_tick_the_class_or_a_team(world, login_as):
    school, klass, other_class, zosia, people = world
    oak, ash = make_team(school, name="Oak", colour="green"), make_team(school, name="Ash", colour="red")
    zosia.team_id = oak.id
    adam = make_pupil(klass, name="Adam B.", team_id=ash.id)
    c = login_as(people["teacher of class"])
    page = c.get(f"/points/class/{klass.id}").text
    assert f'name="team" value="{oak.id}"' in page and "Select Ash" in page and " checked" not in page
    # JavaScript off: the Select buttons re-render the page with those pupils ticked.
    page = c.get(f"/points/class/{klass.id}?select=all").text
    assert "<html" in page and page.count(" checked") == 2
    # htmx: only the grid comes back.
    r = c.get(f"/points/class/{klass.id}?team={ash.id}", headers=htmx_headers())
    assert r.text.lstrip().startswith('<div id="points-grid">') and "<html" not in r.text
    assert r.text.count(" checked") == 1 and f'value="{adam.id}" checked' in r.text


def test_award_with_htmx_answers_the_grid_and_the_confirmation(world, login_as):
    school, klass, other_class, zosia, people = world
    c = login_as(people["teacher of class"])
    key = page_key(c.get(f"/points/class/{klass.id}"))
    data = {"pupil": zosia.id, "category_id": category(school).id, "request_key": key}
    r = c.post(f"/points/class/{klass.id}/award", data=data, headers=htmx_headers())
    assert r.status_code == 200 and "<html" not in r.text and "HX-Request" in r.headers["Vary"]
    assert r.headers["HX-Trigger"] == "pointsChanged"
    assert r.text.lstrip().startswith('<div id="points-grid">')
    assert '<div id="points-status" hx-swap-oob="innerHTML">' in r.text
    assert "1 point for Zosia K. — Showing Values" in r.text
    assert f'name="request_key" value="{key}"' in r.text  # the Undo form carries the award's key
    assert page_key(r) != key and " checked" not in r.text  # a new key; the selection is cleared
    assert re.search(r'class="tile-count">1<', r.text)
    assert 'name="category_id"' not in r.text  # the category buttons are not sent again
    # A double tap (the same key again) awards once.
    c.post(f"/points/class/{klass.id}/award", data=data, headers=htmx_headers())
    assert award_count() == 1


def test_award_to_several_pupils_in_one_tap(world, login_as):
    school, klass, other_class, zosia, people = world
    adam = make_pupil(klass, name="Adam B.")
    c = login_as(people["teacher of class"])
    data = {"pupil": [zosia.id, adam.id], "category_id": category(school, "Teamwork").id,
            "request_key": "a" * 32, "note": "Tidied the library"}
    r = c.post(f"/points/class/{klass.id}/award", data=data, headers=htmx_headers())
    assert "1 point each for 2 pupils — Teamwork" in r.text
    notes = db.session.scalars(select(PointAward.note)).all()
    assert notes == ["Tidied the library", "Tidied the library"]


def test_without_javascript_award_redirects_and_shows_undo(world, login_as):
    school, klass, other_class, zosia, people = world
    c = login_as(people["teacher of class"])
    key = page_key(c.get(f"/points/class/{klass.id}"))
    data = {"pupil": zosia.id, "category_id": category(school).id, "request_key": key}
    r = c.post(f"/points/class/{klass.id}/award", data=data)
    assert r.status_code == 302 and r.headers["Location"] == f"/points/class/{klass.id}?done={key}"
    # The browser re-sends the POST (back, then resend): still one award.
    assert c.post(f"/points/class/{klass.id}/award", data=data).status_code == 302
    assert award_count() == 1
    page = c.get(r.headers["Location"]).text
    assert "1 point for Zosia K. — Showing Values" in page
    assert f'action="/points/class/{klass.id}/undo"' in page and page_key(c.get(r.headers["Location"])) != key
    r = c.post(f"/points/class/{klass.id}/undo", data={"request_key": key})
    assert r.status_code == 302 and r.headers["Location"] == f"/points/class/{klass.id}?done={key}"
    page = c.get(r.headers["Location"]).text
    assert "Undone: 1 point for Zosia K." in page and f'action="/points/class/{klass.id}/undo"' not in page
    assert db.session.scalar(select(PointAward.undone_at)) is not None and award_count() == 1


def test_undo_with_htmx_updates_the_tiles(world, login_as):
    school, klass, other_class, zosia, people = world
    c = login_as(people["teacher of class"])
    data = {"pupil": zosia.id, "category_id": category(school).id, "request_key": "u" * 32}
    c.post(f"/points/class/{klass.id}/award", data=data, headers=htmx_headers())
    r = c.post(f"/points/class/{klass.id}/undo", data={"request_key": "u" * 32}, headers=htmx_headers())
    assert r.status_code == 200 and "Undone: 1 point for Zosia K." in r.text
    assert re.search(r'class="tile-count">0<', r.text) and "/undo" not in r.text
    assert db.session.scalar(select(func.count()).where(AuditEntry.action == "points.undone")) == 1


def test_undo_too_late_or_of_someone_elses_award_is_refused(world, login_as):
    school, klass, other_class, zosia, people = world
    points.award_points(people["teacher of class"], [zosia], category(school), "late",
                        now=utcnow() - points.UNDO_WINDOW - timedelta(minutes=1))
    c = login_as(people["teacher of class"])
    r = c.post(f"/points/class/{klass.id}/undo", data={"request_key": "late"}, headers=htmx_headers())
    assert r.status_code == 200 and "too late" in r.text
    r = login_as(people["head"]).post(f"/points/class/{klass.id}/undo", data={"request_key": "late"})
    assert r.status_code == 302
    assert db.session.scalar(select(PointAward.undone_at)) is None


def _refusals(school, klass, other_class, zosia):
    retired = category(school, "Teamwork")
    points.retire_category(retired, make_head(school))
    needs_work = db.session.scalar(select(PointCategory).where(PointCategory.school_id == school.id,
                                                               PointCategory.kind == "needs_work"))
    stranger = make_pupil(other_class, name="Ola P.")
    theirs = make_pupil(make_class(make_school()), name="Far A.")
    good = category(school).id
    return [
        ({"pupil": zosia.id, "category_id": retired.id}, "not in use any more"),
        ({"pupil": zosia.id, "category_id": needs_work.id}, "not in use any more"),
        ({"pupil": zosia.id, "category_id": 987654}, "not in use any more"),
        ({"pupil": zosia.id, "category_id": category(make_school()).id}, "not in use any more"),
        ({"pupil": stranger.id, "category_id": good}, "only award points to pupils in your classes"),
        ({"pupil": theirs.id, "category_id": good}, "could not find one of those pupils"),
        ({"pupil": 987654, "category_id": good}, "could not find one of those pupils"),
        ({"pupil": "x", "category_id": good}, "Tap one or more pupils"),
        ({"category_id": good}, "Choose at least one pupil."),
        ({"pupil": zosia.id}, "Tap one or more pupils"),
        ({"pupil": zosia.id, "category_id": good, "request_key": ""}, "out of date"),
    ]


def test_refused_awards_write_nothing_and_say_why(world, login_as):
    school, klass, other_class, zosia, people = world
    c = login_as(people["teacher of class"])
    for data, message in _refusals(school, klass, other_class, zosia):
        data = {"request_key": "r" * 32, **data}
        r = c.post(f"/points/class/{klass.id}/award", data=data, headers=htmx_headers())
        assert r.status_code == 200 and message in r.text, (data, r.text[-600:])
        assert 'class="points-outcome points-error"' in r.text
        r = c.post(f"/points/class/{klass.id}/award", data=data)
        assert r.status_code == 422 and message in r.text and "<html" in r.text
    assert award_count() == 0


def test_a_refusal_keeps_the_ticks_and_the_note(world, login_as):
    school, klass, other_class, zosia, people = world
    c = login_as(people["teacher of class"])
    data = {"pupil": zosia.id, "category_id": category(school).id, "request_key": "n" * 32,
            "note": "Great <b>effort</b> " + "x" * 140}
    r = c.post(f"/points/class/{klass.id}/award", data=data, headers=htmx_headers())
    assert 'id="note-error"' in r.text and "Keep the note to 140 characters." in r.text
    assert f'value="{zosia.id}" checked' in r.text
    assert "Great &lt;b&gt;effort&lt;/b&gt;" in r.text and "<b>effort" not in r.text
    assert award_count() == 0


def test_needs_work_appears_only_when_turned_on_and_never_on_the_tiles(world, login_as):
    school, klass, other_class, zosia, people = world
    c = login_as(people["teacher of class"])
    needs_work = db.session.scalar(select(PointCategory).where(PointCategory.school_id == school.id,
                                                               PointCategory.kind == "needs_work"))
    assert f'value="{needs_work.id}"' not in c.get(f"/points/class/{klass.id}").text
    points.set_needs_work(school, people["head"], True)
    page = c.get(f"/points/class/{klass.id}").text
    assert f'value="{needs_work.id}"' in page and "category-buttons needs-work" in page
    data = {"pupil": zosia.id, "category_id": needs_work.id, "request_key": "w" * 32}
    r = c.post(f"/points/class/{klass.id}/award", data=data, headers=htmx_headers())
    assert "A needs-work point has been recorded for 1 pupil." in r.text
    assert "Zosia K. —" not in r.text and re.search(r'class="tile-count">0<', r.text)
    assert award_count() == 1


def test_a_retired_category_is_not_offered(world, login_as):
    school, klass, other_class, zosia, people = world
    teamwork = category(school, "Teamwork")
    points.retire_category(teamwork, people["head"])
    page = login_as(people["teacher of class"]).get(f"/points/class/{klass.id}").text
    assert f'value="{teamwork.id}"' not in page and "Teamwork" not in page


def test_user_text_is_inert(world, login_as):
    school, klass, other_class, zosia, people = world
    zosia.display_name = '<img src=x onerror=alert(1)>'
    points.add_category(school, people["head"], name='<div hx-get="/auth/logout">Kind</div>', icon="star",
                        value=1, kind="positive")
    page = login_as(people["teacher of class"]).get(f"/points/class/{klass.id}").text
    assert "<img src=x" not in page and '<div hx-get="/auth/logout">' not in page
    assert '<ul class="pupil-tiles" hx-disable>' in page


def _count_queries(fn, *args, **kwargs):
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        fn(*args, **kwargs)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def _bulk_awards(school, klass, pupils, teacher, per_pupil):
    now = utcnow()
    cat = category(school)
    rows = [dict(school_id=school.id, pupil_id=p.id, class_id=klass.id, category_id=cat.id,
                 awarded_by_id=teacher.id, value=1, needs_work=False, request_key=f"bulk-{p.id}-{i}",
                 awarded_at=now - timedelta(minutes=i % 600))
            for p in pupils for i in range(per_pupil)]
    db.session.execute(insert(PointAward), rows)
    db.session.commit()


def test_class_screen_queries_do_not_grow_with_history(app, login_as):
    counts = []
    for per_pupil in (10, 2000):
        school = make_school()
        klass = make_class(school)
        pupils = [make_pupil(klass, team_id=make_team(school).id) for _ in range(3)]
        teacher = make_teacher(school, classes=[klass])
        _bulk_awards(school, klass, pupils, teacher, per_pupil)
        c = login_as(teacher)
        screen = f"/points/class/{klass.id}"
        data = {"pupil": pupils[0].id, "category_id": category(school).id, "request_key": "q" * 32}
        c.get(screen)  # warm up
        counts.append(_count_queries(c.get, screen))
        counts.append(_count_queries(c.post, f"{screen}/award", data=data, headers=htmx_headers()))
    print(f"queries (screen, award) with 10 points a pupil: {counts[:2]}; with 2,000: {counts[2:]}")
    assert counts[0] == counts[2] and counts[1] == counts[3], counts


def test_class_screen_bytes_for_thirty_pupils(world, login_as):
    """QUALITY.md: the class screen <= 14 KB compressed; an award's answer <= 2 KB."""
    school, klass, other_class, zosia, people = world
    teams = [make_team(school, name=n, colour=c) for n, c in (("Oak", "green"), ("Ash", "red"), ("Elm", "blue"))]
    for i in range(29):
        make_pupil(klass, name=f"Pupil{i:02d} {chr(65 + i % 26)}.", avatar=["fox", "owl", "bear"][i % 3],
                   team_id=teams[i % 3].id)
    points.set_needs_work(school, people["head"], True)
    c = login_as(people["teacher of class"])
    page = c.get(f"/points/class/{klass.id}")
    data = {"pupil": zosia.id, "category_id": category(school).id, "request_key": page_key(page)}
    answer = c.post(f"/points/class/{klass.id}/award", data=data, headers=htmx_headers())
    page_bytes, answer_bytes = len(gzip.compress(page.data)), len(gzip.compress(answer.data))
    print(f"class screen, 30 pupils: {len(page.data)} B, gzip {page_bytes} B; "
          f"award answer: {len(answer.data)} B, gzip {answer_bytes} B")
    assert page_bytes <= 14 * 1024 and answer_bytes <= 2 * 1024


# ---- categories -----------------------------------------------------------------------------------------

def test_categories_page_lists_in_order_with_icons(world, login_as):
    school, klass, other_class, zosia, people = world
    r = login_as(people["head"]).get("/points/categories")
    names = [c.name for c in points.categories(school, include_retired=True, kinds=points.CATEGORY_KINDS)]
    positions = [r.text.index(f">{name}</strong>") for name in names]
    assert positions == sorted(positions)
    assert r.text.count('<svg class="icon"') >= len(names) + 12  # each row, and each icon choice
    assert 'name="icon" required type="radio"' in r.text and 'name="enabled"' in r.text


def test_adding_a_category_with_mistakes_keeps_the_typing(world, login_as):
    school, klass, other_class, zosia, people = world
    c = login_as(people["head"])
    r = c.post("/points/categories", data={"name": "Kindness", "icon": "rocket", "value": "9", "kind": "positive"})
    assert r.status_code == 200
    assert 'id="icon-error"' in r.text and 'id="value-error"' in r.text
    assert 'value="Kindness"' in r.text and 'value="9"' in r.text
    r = c.post("/points/categories", data={"name": "showing values", "icon": "star", "value": "1", "kind": "positive"})
    assert 'id="name-error"' in r.text and "There is already a category called showing values." in r.text
    r = c.post("/points/categories", data={"name": "Kindness", "icon": "sparkle", "value": "2", "kind": "positive"})
    assert r.status_code == 302 and r.headers["Location"] == "/points/categories"
    assert category(school, "Kindness").value == 2
    assert "The category Kindness has been added." in c.get("/points/categories").text


def test_editing_moving_retiring_and_bringing_back(world, login_as):
    school, klass, other_class, zosia, people = world
    c = login_as(people["head"])
    values, behaviour = points.categories(school)[:2]
    page = c.get(f"/points/categories/{values.id}").text
    assert 'value="Showing Values"' in page
    assert '<input checked id="icon-1" name="icon" required type="radio" value="heart">' in page
    r = c.post(f"/points/categories/{values.id}", data={"name": "", "icon": "star", "value": "1", "kind": "positive"})
    assert r.status_code == 200 and re.search(r'id="name-error">Enter the category(\'|&#39;)s name', r.text)
    r = c.post(f"/points/categories/{values.id}", data={"name": "Values", "icon": "star", "value": "2",
                                                        "kind": "positive"})
    assert r.status_code == 302 and values.name == "Values" and values.icon == "star"
    assert c.post(f"/points/categories/{behaviour.id}/move", data={"direction": "up"}).status_code == 302
    assert points.categories(school)[:2] == [behaviour, values]
    assert c.post(f"/points/categories/{values.id}/retire").status_code == 302 and values.retired
    assert "Bring back" in c.get("/points/categories").text
    assert c.post(f"/points/categories/{values.id}/restore").status_code == 302 and not values.retired
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("points.%"))
                                 .order_by(AuditEntry.id)).all()
    assert actions == ["points.category_changed", "points.category_moved", "points.category_retired",
                       "points.category_restored"]


def test_needs_work_setting(world, login_as):
    school, klass, other_class, zosia, people = world
    c = login_as(people["teacher who runs the school"])
    assert 'name="enabled" type="checkbox" value="y">' in c.get("/points/categories").text
    assert c.post("/points/categories/needs-work", data={"enabled": "y"}).status_code == 302
    assert school.needs_work_enabled is True
    assert "checked" in re.search(r'<input[^>]*name="enabled"[^>]*>', c.get("/points/categories").text).group(0)
    c.post("/points/categories/needs-work", data={})
    assert school.needs_work_enabled is False
    assert login_as(people["senior leader"]).post("/points/categories/needs-work",
                                                  data={"enabled": "y"}).status_code == 404
    assert school.needs_work_enabled is False
