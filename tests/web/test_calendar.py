"""The calendar pages: who may reach each page and action (every "no" cell written out), the forms'
errors keeping what was typed, the CSV import good and bad, and the quiet-hours notice."""
import io
import re
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace

import pytest
from flask import render_template
from flask_babel import force_locale
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEntry, CalendarEntry, School, StaffAway, StaffHours, User
from app.services import working_time as wt
from app.services.school_calendar import current_academic_year
from tests.conftest import sign_in
from tests.factories import (
    make_away,
    make_calendar_entry,
    make_class,
    make_head,
    make_parent,
    make_pupil,
    make_school,
    make_senior,
    make_staff_hours,
    make_teacher,
)

ROLES = ["head", "manager", "teacher", "senior", "parent", "pupil", "anonymous", "other_head"]


def this_year():
    return current_academic_year(wt.school_today(SimpleNamespace(timezone="Europe/London")))


def in_year(month, day, year=None):
    """A day of the current academic year (September to August)."""
    year = year or this_year()
    return date(year if month >= 9 else year + 1, month, day)


def world():
    school, other = make_school(name="Oak Primary"), make_school(name="Elm Primary")
    klass = make_class(school, name="3K")
    pupil = make_pupil(klass, name="Zosia K.")
    teacher = make_teacher(school, classes=[klass], name="Ms Patel")
    people = {
        "head": make_head(school, name="Helen Head"),
        "manager": make_teacher(school, can_manage_school=True, name="Mo Manager"),
        "teacher": teacher,
        "senior": make_senior(school),
        "parent": make_parent(school, children=[pupil]),
        "pupil": pupil,
        "anonymous": None,
        "other_head": make_head(other),
    }
    entry = make_calendar_entry(school, "term", name="Oak autumn", first_day=in_year(9, 2),
                                last_day=in_year(12, 18))
    other_entry = make_calendar_entry(other, "holiday", name="Elm half-term", first_day=in_year(10, 26),
                                      last_day=in_year(10, 30))
    away = make_away(teacher, date.today() + timedelta(days=10), date.today() + timedelta(days=12),
                     note="Oak residential")
    return SimpleNamespace(school=school, other=other, teacher=teacher, people=people, entry=entry,
                           other_entry=other_entry, away=away)


def client_for(app, account):
    client = app.test_client()
    return sign_in(client, account) if account is not None else client


def expected(codes):
    return dict(zip(ROLES, (int(code) for code in codes.split()), strict=True))


def snapshot(w):
    """Everything of Oak Primary that a calendar action could change."""
    db.session.expire_all()
    school = db.session.get(School, w.school.id)
    rows = lambda stmt: sorted(db.session.execute(stmt).all())
    return (
        (school.working_days, school.day_starts, school.day_ends),
        rows(select(CalendarEntry.kind, CalendarEntry.name, CalendarEntry.first_day, CalendarEntry.last_day)
             .where(CalendarEntry.school_id == w.school.id)),
        rows(select(StaffHours.user_id, StaffHours.weekday, StaffHours.starts, StaffHours.ends).where(
            StaffHours.user_id.in_(select(User.id).where(User.school_id == w.school.id)))),
        rows(select(StaffAway.id, StaffAway.user_id).where(StaffAway.school_id == w.school.id)),
    )


# ---- who may see each page ------------------------------------------------------------------------
#                                   head manager teacher senior parent pupil anon other_head
PAGES = [
    ("/calendar/",                     "200 200 404 404 404 404 302 200"),
    ("/calendar/?year={next_year}",    "200 200 404 404 404 404 302 200"),
    ("/calendar/import",               "200 200 404 404 404 404 302 200"),
    ("/calendar/entries/{entry}",      "200 200 404 404 404 404 302 404"),
    ("/calendar/entries/{other_entry}", "404 404 404 404 404 404 302 200"),
    ("/calendar/hours",                "200 200 200 200 404 404 302 200"),
]


@pytest.mark.parametrize("path, codes", PAGES)
def test_who_may_see_each_page(app, path, codes):
    w = world()
    url = path.format(entry=w.entry.id, other_entry=w.other_entry.id, next_year=this_year() + 1)
    for role, code in expected(codes).items():
        r = client_for(app, w.people[role]).get(url)
        assert r.status_code == code, (role, url, r.status_code)
        if code == 302:
            assert "/auth/login" in r.headers["Location"]
        if role == "other_head" and code == 200:
            assert "Oak autumn" not in r.text and "Oak residential" not in r.text


# ---- who may do each action (the "no" cells change nothing of Oak Primary) ----------------------------

def _entry_form(w):
    return {"kind": "inset", "name": "INSET day", "first_day": in_year(1, 4).isoformat(), "last_day": ""}


ACTIONS = [
    ("/calendar/entries", _entry_form,                         "302 302 404 404 404 404 302 302"),
    ("/calendar/entries/{entry}", _entry_form,                 "302 302 404 404 404 404 302 404"),
    ("/calendar/entries/{entry}/delete", lambda w: {},         "302 302 404 404 404 404 302 404"),
    ("/calendar/school-hours", lambda w: {"working_days": ["0", "1", "2", "3"], "day_starts": "08:30",
                                          "day_ends": "16:00"}, "302 302 404 404 404 404 302 302"),
    ("/calendar/import", lambda w: {"text": f"INSET,INSET day,{in_year(1, 4).isoformat()},"},
     "302 302 404 404 404 404 302 302"),
    ("/calendar/hours", lambda w: {"works_1": "y", "starts_1": "09:00", "ends_1": "15:00"},
     "302 302 302 302 404 404 302 302"),
    ("/calendar/away", lambda w: {"first_day": (date.today() + timedelta(days=30)).isoformat(),
                                  "last_day": (date.today() + timedelta(days=31)).isoformat(), "note": "Trip"},
     "302 302 302 302 404 404 302 302"),
    # Only its owner (the teacher) may remove an away period.
    ("/calendar/away/{away}/remove", lambda w: {}, "404 404 302 404 404 404 302 404"),
]


def _action_cells():
    for path, form, codes in ACTIONS:
        for role, code in expected(codes).items():
            yield pytest.param(path, form, role, code, id=f"{role}-POST-{path}")


@pytest.mark.parametrize("path, form, role, code", list(_action_cells()))
def test_who_may_do_each_action(app, path, form, role, code):
    w = world()
    url = path.format(entry=w.entry.id, away=w.away.id)
    before = snapshot(w)
    r = client_for(app, w.people[role]).post(url, data=form(w))
    assert r.status_code == code, (role, url, r.status_code)
    acts_here = code == 302 and role not in ("anonymous", "other_head")
    if acts_here:
        assert snapshot(w) != before  # the action did something
    else:
        assert snapshot(w) == before  # refused, or acted on another school only


def test_another_schools_entry_cannot_be_changed_or_deleted(app, login_as):
    w = world()
    head = login_as(w.people["head"])
    url = f"/calendar/entries/{w.other_entry.id}"
    assert head.post(url, data=_entry_form(w)).status_code == 404
    assert head.post(url + "/delete").status_code == 404
    assert db.session.get(CalendarEntry, w.other_entry.id).name == "Elm half-term"
    refused = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "access.refused")).all()
    assert {e.target_type for e in refused} == {"calendarentry"}


def test_a_get_never_writes(app, login_as):
    w = world()
    before = snapshot(w)
    head = login_as(w.people["head"])
    for path in (f"/calendar/entries/{w.entry.id}/delete", "/calendar/school-hours", "/calendar/away",
                 f"/calendar/away/{w.away.id}/remove", "/calendar/entries"):
        assert head.get(path).status_code == 405
    assert snapshot(w) == before


def test_posts_need_the_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        w = world()
        before = snapshot(w)
        client = sign_in(app.test_client(), w.people["head"])
        for path, form, _codes in ACTIONS[:4]:
            assert client.post(path.format(entry=w.entry.id), data=form(w)).status_code == 400
        assert snapshot(w) == before


# ---- the calendar page ---------------------------------------------------------------------------

def test_the_calendar_lists_the_years_entries_in_date_order(app, login_as):
    w = world()
    make_calendar_entry(w.school, "bank_holiday", name="Christmas Day", first_day=in_year(12, 25))
    make_calendar_entry(w.school, "holiday", name="October half-term", first_day=in_year(10, 26),
                        last_day=in_year(10, 30))
    make_calendar_entry(w.school, "inset", name="Next year's INSET", first_day=in_year(9, 1, this_year() + 1))
    r = login_as(w.people["head"]).get("/calendar/")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "private, no-store"
    page = r.text
    assert page.index("Oak autumn") < page.index("October half-term") < page.index("Christmas Day")
    assert "Next year&#39;s INSET" not in page and "Elm half-term" not in page
    assert "Holiday or half-term" in page and "Bank holiday" in page
    assert f'href="/calendar/entries/{w.entry.id}"' in page
    assert "No terms have been entered" not in page
    nxt = login_as(w.people["head"]).get(f"/calendar/?year={this_year() + 1}").text
    assert "Next year&#39;s INSET" in nxt and "Oak autumn" not in nxt
    assert "No terms have been entered for this year yet" in nxt


def test_a_school_without_terms_is_told_how_days_are_counted(app, login_as):
    w = world()
    db.session.delete(db.session.get(CalendarEntry, w.entry.id))
    db.session.commit()
    page = login_as(w.people["head"]).get("/calendar/").text
    assert "No terms have been entered yet" in page and "every working day" in page


def test_adding_an_entry_with_mistakes_keeps_what_was_typed(app, login_as):
    w = world()
    head = login_as(w.people["head"])
    r = head.post("/calendar/entries", data={"kind": "holiday", "name": "  ", "first_day": "2026-12-21",
                                             "last_day": "2026-12-01"})
    assert r.status_code == 200
    assert "Enter a name, like Autumn term or INSET day." in r.text
    assert 'value="2026-12-21"' in r.text and 'value="2026-12-01"' in r.text
    r = head.post("/calendar/entries", data={"kind": "holiday", "name": "Winter break",
                                             "first_day": "31/02/2027", "last_day": "2026-12-01"})
    assert "Enter a date like 2026-09-01." in r.text and 'value="31/02/2027"' in r.text
    assert 'value="Winter break"' in r.text and 'aria-invalid="true"' in r.text
    r = head.post("/calendar/entries", data={"kind": "holiday", "name": "Winter break",
                                             "first_day": in_year(12, 21).strftime("%d/%m/%Y"),
                                             "last_day": in_year(1, 1).isoformat()})
    assert r.status_code == 302
    added = db.session.scalar(select(CalendarEntry).where(CalendarEntry.name == "Winter break"))
    assert (added.kind, added.first_day, added.last_day) == ("holiday", in_year(12, 21), in_year(1, 1))
    assert added.created_by_id == w.people["head"].id


def test_editing_and_deleting_an_entry(app, login_as):
    w = world()
    head = login_as(w.people["manager"])
    entry_id = w.entry.id
    page = head.get(f"/calendar/entries/{entry_id}").text
    assert 'value="Oak autumn"' in page and f'value="{in_year(9, 2).isoformat()}"' in page
    r = head.post(f"/calendar/entries/{w.entry.id}", data={"kind": "term", "name": "Oak autumn",
                                                          "first_day": in_year(9, 3).isoformat(),
                                                          "last_day": in_year(9, 1).isoformat()})
    assert r.status_code == 200 and "on or after the first day" in r.text
    r = head.post(f"/calendar/entries/{w.entry.id}", data={"kind": "term", "name": "Oak autumn 1",
                                                          "first_day": in_year(9, 3).isoformat(),
                                                          "last_day": in_year(10, 23).isoformat()})
    assert r.status_code == 302
    assert db.session.get(CalendarEntry, w.entry.id).name == "Oak autumn 1"
    assert head.post(f"/calendar/entries/{entry_id}/delete").status_code == 302
    assert db.session.get(CalendarEntry, entry_id) is None
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("calendar.%"))).all()
    assert actions == ["calendar.entry_changed", "calendar.entry_deleted"]


def test_the_school_hours_form(app, login_as):
    w = world()
    head = login_as(w.people["head"])
    page = head.get("/calendar/").text
    assert 'value="08:00"' in page and 'value="17:30"' in page and 'type="time"' in page
    r = head.post("/calendar/school-hours", data={"day_starts": "18:00", "day_ends": "9am"})
    assert r.status_code == 200
    assert "Tick at least one working day." in r.text and "Enter a time like 08:00." in r.text
    assert 'value="18:00"' in r.text and 'value="9am"' in r.text
    r = head.post("/calendar/school-hours", data={"working_days": ["0", "1", "2", "3", "4"],
                                                  "day_starts": "18:00", "day_ends": "09:00"})
    assert "The day must end after it starts." in r.text
    r = head.post("/calendar/school-hours", data={"working_days": ["0", "1", "2", "3", "4"],
                                                  "day_starts": "08:45", "day_ends": "15:30"})
    assert r.status_code == 302
    school = db.session.get(School, w.school.id)
    assert (school.working_days, school.day_starts, school.day_ends) == ("0,1,2,3,4", time(8, 45), time(15, 30))


# ---- the CSV import -------------------------------------------------------------------------------------

def _csv(year):
    return (f"kind,name,first_day,last_day\n"
            f"Term,Spring term,04/01/{year + 1},26/03/{year + 1}\n"
            f"Half term,February half-term,{year + 1}-02-15,{year + 1}-02-19\n"
            f"Bank holiday,Good Friday,{year + 1}-03-26,\n")


def test_importing_a_good_file(app, login_as):
    w = world()
    head = login_as(w.people["head"])
    data = {"file": (io.BytesIO(("\ufeff" + _csv(this_year())).encode("utf-8")), "dates.csv")}
    r = head.post("/calendar/import", data=data, content_type="multipart/form-data")
    assert r.status_code == 302
    assert "Imported 3 dates." in head.get(r.headers["Location"]).text
    names = db.session.scalars(select(CalendarEntry.name).where(CalendarEntry.school_id == w.school.id)).all()
    assert sorted(names) == ["February half-term", "Good Friday", "Oak autumn", "Spring term"]


def test_importing_pasted_rows_twice_adds_them_once(app, login_as):
    w = world()
    head = login_as(w.people["manager"])
    assert head.post("/calendar/import", data={"text": _csv(this_year())}).status_code == 302
    r = head.post("/calendar/import", data={"text": _csv(this_year())}, follow_redirects=True)
    assert "Imported 0 dates. 3 were already in the calendar." in r.text
    assert db.session.scalar(select(func.count(CalendarEntry.id)).where(
        CalendarEntry.school_id == w.school.id)) == 4


def test_a_bad_import_names_each_row_imports_nothing_and_keeps_the_text(app, login_as):
    w = world()
    head = login_as(w.people["head"])
    year = this_year() + 1
    text = (f"kind,name,first_day,last_day\nTerm,Spring term,{year}-01-04,{year}-03-26\n"
            f"Fortnight,Odd,{year}-01-04,\nHoliday,<b>Break</b>,{year}-02-19,{year}-02-15\n")
    r = head.post("/calendar/import", data={"text": text})
    assert r.status_code == 200
    assert "Nothing was imported" in r.text
    assert "Row 3: “Fortnight” is not a kind of date" in r.text
    assert "Row 4: The last day must be on or after the first day." in r.text
    assert "Row 2" not in r.text
    assert "&lt;b&gt;Break&lt;/b&gt;" in r.text and "<b>Break" not in r.text  # the text is kept, escaped
    assert db.session.scalar(select(func.count(CalendarEntry.id)).where(
        CalendarEntry.school_id == w.school.id)) == 1
    r = head.post("/calendar/import", data={"text": "  "})
    assert "Choose a CSV file, or paste the rows into the box." in r.text


def test_a_bad_uploaded_file_comes_back_as_text_to_correct(app, login_as):
    w = world()
    head = login_as(w.people["head"])
    data = {"file": (io.BytesIO("Term,Café term,2020-01-01,2020-02-01\n".encode("cp1252")), "dates.csv")}
    r = head.post("/calendar/import", data=data, content_type="multipart/form-data")
    assert r.status_code == 200 and "Row 1:" in r.text and "Term,Café term,2020-01-01,2020-02-01" in r.text


# ---- a staff member's own hours and away days -------------------------------------------------------

def test_hours_form_errors_keep_the_input(app, login_as):
    w = world()
    teacher = login_as(w.teacher)
    page = teacher.get("/calendar/hours").text
    assert page.count('type="checkbox"') == 5 and "Monday" in page and "Saturday" not in page
    r = teacher.post("/calendar/hours", data={"works_1": "y", "starts_1": "07:15", "ends_1": "15:00",
                                              "works_3": "y", "starts_3": "half nine", "ends_3": "12:00",
                                              "works_4": "y", "starts_4": "13:00", "ends_4": "12:00"})
    assert r.status_code == 200
    assert "Start at 08:00 or later: the school&#39;s day starts then." in r.text
    assert "Enter a time like 08:00." in r.text and "Finish after you start." in r.text
    assert 'value="07:15"' in r.text and 'value="half nine"' in r.text and 'value="13:00"' in r.text
    assert db.session.scalar(select(func.count()).select_from(StaffHours)) == 0
    r = teacher.post("/calendar/hours", data={"starts_1": "09:00", "ends_1": "15:00"})
    assert "Tick at least one day you work." in r.text


def test_a_part_time_teacher_saves_their_days(app, login_as):
    w = world()
    teacher = login_as(w.teacher)
    r = teacher.post("/calendar/hours", data={"works_1": "y", "starts_1": "08:00", "ends_1": "17:30",
                                              "works_3": "y", "starts_3": "09:00", "ends_3": "15:00",
                                              "starts_0": "08:00", "ends_0": "17:30"})
    assert r.status_code == 302
    rows = db.session.execute(select(StaffHours.weekday, StaffHours.starts, StaffHours.ends).where(
        StaffHours.user_id == w.teacher.id).order_by(StaffHours.weekday)).all()
    assert rows == [(1, time(8, 0), time(17, 30)), (3, time(9, 0), time(15, 0))]
    page = teacher.get("/calendar/hours").text
    assert 'checked id="works_1"' in page and 'checked id="works_3"' in page
    assert 'id="works_0"' in page and 'checked id="works_0"' not in page
    assert 'name="starts_3" type="time" value="09:00"' in page


def test_away_days_are_added_listed_and_removed(app, login_as):
    w = world()
    teacher = login_as(w.teacher)
    start = date.today() + timedelta(days=40)
    r = teacher.post("/calendar/away", data={"first_day": start.isoformat(),
                                             "last_day": (start - timedelta(days=2)).isoformat(),
                                             "note": "Year 5 trip"})
    assert r.status_code == 200 and "on or after the first day" in r.text and 'value="Year 5 trip"' in r.text
    r = teacher.post("/calendar/away", data={"first_day": start.isoformat(), "last_day": start.isoformat(),
                                             "note": "<script>x</script>"})
    assert r.status_code == 302
    page = teacher.get("/calendar/hours").text
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "Oak residential" in page
    away_id = w.away.id
    assert teacher.post(f"/calendar/away/{away_id}/remove").status_code == 302
    assert db.session.get(StaffAway, away_id) is None


# ---- the quiet-hours notice ----------------------------------------------------------------------

def _render_notice(app, notice, school):
    with app.test_request_context("/"):
        return render_template("calendar/_quiet_notice.html", notice=notice, school=school)


def _words(html):
    return " ".join(re.sub(r"<[^>]+>", " ", html).split()).replace(" .", ".")


def test_the_notice_says_when_the_teacher_will_next_be_working(app):
    w = world()
    make_calendar_entry(w.school, "holiday", name="Half-term", first_day=date(2026, 10, 26),
                        last_day=date(2026, 10, 30))
    make_calendar_entry(w.school, "term", name="Autumn 2026", first_day=date(2026, 9, 1),
                        last_day=date(2026, 12, 18))
    sent = datetime(2026, 10, 23, 18, 0)  # 19:00 BST, naive UTC as stored
    html = _render_notice(app, wt.quiet_notice(w.teacher, sent), w.school)
    text = _words(html)
    assert 'role="note"' in html and "hx-disable" in html
    assert ("Ms Patel is not working now. They will next be working from 08:00 on Monday 2 November. "
            "You can usually expect a reply by Wednesday 4 November.") in text
    working = wt.quiet_notice(w.teacher, datetime(2026, 11, 26, 10, 0))
    assert _render_notice(app, working, w.school).strip() == ""


def test_the_notice_while_away_sends_urgent_matters_to_the_office(app):
    w = world()
    make_calendar_entry(w.school, "term", name="Autumn 2026", first_day=date(2026, 9, 1),
                        last_day=date(2026, 12, 18))
    make_away(w.teacher, date(2026, 11, 9), date(2026, 11, 13), note="Year 6 residential")
    w.school.office_phone, w.school.office_email = "01234 567890", "office@school.example"
    db.session.commit()
    html = _render_notice(app, wt.quiet_notice(w.teacher, datetime(2026, 11, 10, 11, 0)), w.school)
    text = _words(html)
    assert ("Ms Patel is away (Year 6 residential) until Friday 13 November and will not usually reply "
            "to messages.") in text
    assert "For anything that can't wait, contact the school office: 01234 567890 · office@school.example" in text
    assert 'href="tel:01234567890"' in html and 'href="mailto:office@school.example"' in html


def test_the_notice_follows_the_readers_language(app):
    w = world()
    make_staff_hours(w.teacher, {1: (time(8, 0), time(17, 30))})
    notice = wt.quiet_notice(w.teacher, datetime(2026, 11, 26, 19, 0))  # Thursday evening
    with app.test_request_context("/"), force_locale("pl"):
        html = render_template("calendar/_quiet_notice.html", notice=notice, school=w.school)
    assert "1 grudnia" in html  # Tuesday 1 December, in Polish
