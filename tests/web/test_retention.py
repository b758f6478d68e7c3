"""The retention blueprint: the periods page, erasing a pupil, who may do each (every "no" cell
written out), and `flask retention run` through the CLI runner."""
import re
from datetime import date, datetime
from types import SimpleNamespace

import pytest
import time_machine
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEntry, ParentLink, Pupil, School, User
from tests.conftest import sign_in
from tests.factories import (
    make_class,
    make_head,
    make_parent,
    make_post,
    make_pupil,
    make_school,
    make_senior,
    make_teacher,
)

ROLES = ["head", "manager", "teacher", "senior", "parent", "pupil", "anonymous", "other_head"]


def world():
    school, other = make_school(name="Oak Primary"), make_school(name="Elm Primary")
    klass = make_class(school, name="3K")
    pupil = make_pupil(klass, name="Zosia K.")
    leaver = make_pupil(klass, name="Leon L.", status="left", left_on=date(2026, 7, 20))
    people = {
        "head": make_head(school, name="Helen Head"),
        "manager": make_teacher(school, can_manage_school=True, name="Mo Manager"),
        "teacher": make_teacher(school, classes=[klass]),
        "senior": make_senior(school),
        "parent": make_parent(school, children=[pupil, leaver]),
        "pupil": pupil,
        "anonymous": None,
        "other_head": make_head(other),
    }
    return SimpleNamespace(school=school, other=other, klass=klass, pupil=pupil, leaver=leaver, people=people,
                           pupil_id=pupil.id, leaver_id=leaver.id)


def client_for(app, account):
    client = app.test_client()
    return sign_in(client, account) if account is not None else client


def expected(codes):
    return dict(zip(ROLES, (int(code) for code in codes.split())))


def periods(school_id):
    db.session.expire_all()
    school = db.session.get(School, school_id)
    return (school.retention_points_months, school.retention_messages_months, school.retention_portfolio_months,
            school.retention_posts_months, school.retention_after_leaving_months)


def erasures():
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "pupil.erased"))


# ---- who may see and do what ---------------------------------------------------------------------
#                                        head manager teacher senior parent pupil anon other_head
PAGES = [
    ("/retention/",                          "200 200 404 404 404 404 302 200"),
    ("/retention/pupils/{pupil}/erase",      "200 404 404 404 404 404 302 404"),
    ("/retention/pupils/{leaver}/erase",     "200 404 404 404 404 404 302 404"),
]


@pytest.mark.parametrize("path, codes", PAGES)
def test_who_may_see_each_page(app, path, codes):
    w = world()
    url = path.format(pupil=w.pupil_id, leaver=w.leaver_id)
    for role, code in expected(codes).items():
        r = client_for(app, w.people[role]).get(url)
        assert r.status_code == code, (role, url, r.status_code)
        if code == 302:
            assert "/auth/login" in r.headers["Location"]
        if role == "other_head" and code == 200:
            assert "Zosia" not in r.text and "Leon" not in r.text


#                                        head manager teacher senior parent pupil anon other_head
SAVE_CELLS = "302 302 404 404 404 404 302 302"


def test_who_may_change_the_periods(app):
    w = world()
    for role, code in expected(SAVE_CELLS).items():
        db.session.expire_all()
        school = db.session.get(School, w.school.id)
        school.retention_posts_months = None
        db.session.commit()
        r = client_for(app, w.people[role]).post("/retention/", data={"posts": "12"})
        assert r.status_code == code, (role, r.status_code)
        changed = periods(w.school.id)[3] == 12
        assert changed == (role in ("head", "manager")), role  # another school's head changes their own
    assert periods(w.other.id)[3] == 12


#                                        head manager teacher senior parent pupil anon other_head
ERASE_CELLS = "302 404 404 404 404 404 302 404"


def test_who_may_erase_a_pupil(app):
    w = world()
    for role, code in expected(ERASE_CELLS).items():
        pupil_id = make_pupil(w.klass, name="Ana A.").id
        r = client_for(app, w.people[role]).post(f"/retention/pupils/{pupil_id}/erase",
                                                 data={"confirm_name": "Ana A."})
        assert r.status_code == code, (role, r.status_code)
        gone = db.session.get(Pupil, pupil_id) is None
        assert gone == (role == "head"), role
        if role == "anonymous":
            assert "/auth/login" in r.headers["Location"]


# ---- the periods page ----------------------------------------------------------------------------

def test_the_periods_page_shows_each_default_and_its_reason(app, login_as):
    w = world()
    r = login_as(w.people["manager"]).get("/retention/")
    assert r.status_code == 200
    for label in ("Points and reading log", "Messages", "Student Story (portfolios)", "Class Story posts",
                  "After a pupil leaves"):
        assert label in r.text
    assert "Default: 24 months" in r.text and "Default: 96 months" in r.text and "Default: 6 months" in r.text
    assert "the current and the previous school year" in r.text
    assert 'inputmode="numeric"' in r.text
    assert "Leon L." not in r.text  # the list of leavers, with its erase links, is the head's
    head_page = login_as(w.people["head"]).get("/retention/").text
    assert "Leon L." in head_page and f"/retention/pupils/{w.leaver_id}/erase" in head_page
    assert "Zosia K." not in head_page  # still at the school
    assert "21 Jan 2027" in head_page  # left on 20 July 2026, six months on


@pytest.mark.parametrize("field, typed, message", [
    ("points", "abc", "Enter a whole number of months, like 24, or leave it empty for the default."),
    ("messages", "1.5", "Enter a whole number of months, like 24, or leave it empty for the default."),
    ("posts", "-3", "Enter a whole number of months, like 24, or leave it empty for the default."),
    ("points", "0", "Enter a number of months from 12 to 120, or leave it empty for the default."),
    ("posts", "121", "Enter a number of months from 6 to 120, or leave it empty for the default."),
    ("after_leaving", "37", "Enter a number of months from 1 to 36, or leave it empty for the default."),
])
def test_bad_periods_are_refused_next_to_the_field_and_what_was_typed_is_kept(app, login_as, field, typed,
                                                                              message):
    w = world()
    data = {"points": "", "messages": "", "portfolio": "30", "posts": "", "after_leaving": ""}
    data[field] = typed
    r = login_as(w.people["head"]).post("/retention/", data=data)
    assert r.status_code == 200
    error = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', r.text)
    assert error and error.group(1).strip() == message
    assert re.search(rf'<input[^>]*id="{field}"[^>]*value="{re.escape(typed)}"', r.text) or \
        re.search(rf'<input[^>]*value="{re.escape(typed)}"[^>]*id="{field}"', r.text)
    assert 'value="30"' in r.text  # the other boxes keep what was typed too
    assert periods(w.school.id) == (None, None, None, None, None)


def test_saving_the_periods_is_audited_and_an_empty_box_means_the_default(app, login_as):
    w = world()
    head = login_as(w.people["head"])
    r = head.post("/retention/", data={"points": " 36 ", "messages": "", "portfolio": "84", "posts": "12",
                                      "after_leaving": "3"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/retention/")
    assert periods(w.school.id) == (36, None, 84, 12, 3)
    page = head.get("/retention/").text
    assert "The retention periods have been saved." in page and 'value="36"' in page
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "retention.periods_changed")).one()
    assert entry.actor_user_id == w.people["head"].id
    assert entry.detail["points"] == {"from": None, "to": 36} and "messages" not in entry.detail
    head.post("/retention/", data={"points": "", "messages": "", "portfolio": "84", "posts": "12",
                                   "after_leaving": "3"})
    assert periods(w.school.id) == (None, None, 84, 12, 3)


# ---- erasing a pupil -----------------------------------------------------------------------------

def test_the_confirmation_page_says_what_will_go_and_what_stays(app, login_as):
    w = world()
    r = login_as(w.people["head"]).get(f"/retention/pupils/{w.pupil_id}/erase")
    assert r.status_code == 200
    assert "Zosia K." in r.text and "1 link to a parent or carer" in r.text
    assert "0 point awards" in r.text
    assert "append-only" in r.text and "Parents' and carers' accounts stay" in r.text
    assert 'name="confirm_name"' in r.text and 'autocomplete="off"' in r.text
    assert f'href="/exports/pupils/{w.pupil_id}"' in r.text  # a copy for the family first


@pytest.mark.parametrize("typed, message", [
    ("Zosia", "That is not the pupil's name. Type it exactly as it is shown above to confirm."),
    ("Leon L.", "That is not the pupil's name. Type it exactly as it is shown above to confirm."),
    ("", "Type the pupil's name, as it is shown above, to confirm."),
])
def test_a_wrong_name_erases_nothing_and_says_why(app, login_as, typed, message):
    w = world()
    r = login_as(w.people["head"]).post(f"/retention/pupils/{w.pupil_id}/erase", data={"confirm_name": typed})
    assert r.status_code == 200
    error = re.search(r'<p class="error" id="confirm_name-error">([^<]*)</p>', r.text)
    assert error and error.group(1).strip().replace("&#39;", "'") == message
    if typed:
        assert f'value="{typed}"' in r.text
    assert db.session.get(Pupil, w.pupil_id) is not None and erasures() == 0


def test_the_right_name_erases_the_pupil_and_the_parent_keeps_the_account(app, login_as):
    w = world()
    head = login_as(w.people["head"])
    r = head.post(f"/retention/pupils/{w.pupil_id}/erase", data={"confirm_name": "  zosia   k. "})
    assert r.status_code == 302 and r.headers["Location"].endswith("/retention/")
    assert "Zosia K. has been erased from Hearth." in head.get("/retention/").text
    assert db.session.get(Pupil, w.pupil_id) is None
    assert db.session.get(User, w.people["parent"].id).is_active
    assert db.session.scalar(select(func.count()).select_from(ParentLink).where(
        ParentLink.parent_id == w.people["parent"].id)) == 1  # the other child
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "pupil.erased")).one()
    assert entry.target_id == w.pupil_id and "Zosia" not in entry.detail_json
    assert head.get(f"/retention/pupils/{w.pupil_id}/erase").status_code == 404


def test_a_pupil_of_another_school_is_not_found(app, login_as):
    w = world()
    other_pupil = make_pupil(make_class(w.other), name="Ola O.")
    head = login_as(w.people["head"])
    assert head.get(f"/retention/pupils/{other_pupil.id}/erase").status_code == 404
    assert head.post(f"/retention/pupils/{other_pupil.id}/erase",
                     data={"confirm_name": "Ola O."}).status_code == 404
    assert db.session.get(Pupil, other_pupil.id) is not None
    assert head.get("/retention/pupils/999999/erase").status_code == 404


def test_the_admin_pupil_page_links_to_the_erase_page_for_the_head_only(app, login_as):
    w = world()
    link = f"/retention/pupils/{w.pupil_id}/erase"
    assert link in login_as(w.people["head"]).get(f"/admin/pupils/{w.pupil_id}").text
    assert link not in login_as(w.people["manager"]).get(f"/admin/pupils/{w.pupil_id}").text


# ---- flask retention run -------------------------------------------------------------------------

def test_the_command_deletes_what_is_due_and_a_second_run_says_nothing_was(app):
    w = world()
    teacher = w.people["teacher"]
    with time_machine.travel(datetime(2024, 1, 10), tick=False):
        make_post(teacher, w.klass, body="An old post")
    runner = app.test_cli_runner()
    with time_machine.travel(datetime(2027, 2, 1), tick=False):
        dry = runner.invoke(args=["retention", "run", "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert "Oak Primary" in dry.output and "would delete" in dry.output and "Dry run" in dry.output
        assert db.session.get(Pupil, w.leaver_id) is not None
        first = runner.invoke(args=["retention", "run"])
        second = runner.invoke(args=["retention", "run"])
    assert first.exit_code == 0, first.output
    assert re.search(r"Oak Primary \(school \d+\): deleted", first.output)
    assert re.search(r"\b1 pupils erased after leaving", first.output)
    assert re.search(r"\b1 posts", first.output)
    assert "Elm Primary" in first.output and "nothing was due" in first.output
    db.session.expire_all()
    assert db.session.get(Pupil, w.leaver_id) is None and db.session.get(Pupil, w.pupil_id) is not None
    assert second.exit_code == 0 and "Nothing was due: nothing was deleted." in second.output
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "retention.run")) == 4  # one per school per run
