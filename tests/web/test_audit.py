"""The audit log (SECURITY.md 29): append-only from the application, the head's filtered list and CSV."""
import csv
import html
import io
import re
from datetime import datetime

import pytest
from sqlalchemy import delete, func, select, update

from app.extensions import db
from app.models import AuditEntry
from app.models.audit import AuditLogIsAppendOnly
from app.services.audit import audit
from app.services.audit_log import neutralise
from tests.conftest import client_as, htmx_headers
from tests.factories import make_cast, make_class, make_pupil, make_school


@pytest.fixture
def world(app):
    school = make_school(name="Oakfield Primary")
    klass = make_class(school, name="3K")
    other_class = make_class(school, name="5R")
    pupil = make_pupil(klass, name="Zosia K.")
    people = make_cast(school, klass, other_class, pupil)
    return school, klass, pupil, people


def add_entry(school, action, at=None, actor=None, target_type=None, target_id=None, detail=None,
              user_id=None, pupil_id=None):
    """An entry as the application writes it, at a chosen moment (UTC)."""
    entry = audit(action, target_type, target_id, detail=detail, school_id=school.id, actor=actor)
    if at is not None:
        entry.at = at
    if user_id is not None or pupil_id is not None:
        entry.actor_user_id, entry.actor_pupil_id = user_id, pupil_id
    db.session.commit()
    return entry


def text_of(response):
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


def entries_of(response):
    """The actions listed on a page, in order."""
    return re.findall(r'<p class="audit-head">\s*<time[^>]*>[^<]*</time>\s*<code>([^<]+)</code>', response.text)


def rows_of(response):
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def count(action):
    return db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == action))


# who -> the list, the CSV. Only the head reads the log; a 302 is the way to the sign-in page.
ACCESS = [
    ("head", 200, 200),
    ("senior leader", 404, 404),
    ("teacher who runs the school", 404, 404),
    ("teacher of class", 404, 404),
    ("other teacher", 404, 404),
    ("parent", 404, 404),
    ("pupil", 404, 404),
    ("anonymous", 302, 302),
]


@pytest.mark.parametrize("who, page, export", ACCESS)
def test_access(world, client, login_as, who, page, export):
    school, klass, pupil, people = world
    c = client_as(client, login_as, people, who)
    assert c.get("/audit/").status_code == page
    assert c.get("/audit/export.csv").status_code == export
    looked = page == 200
    assert count("audit.viewed") == (1 if looked else 0)
    assert count("audit.exported") == (1 if looked else 0)
    if who not in ("head", "anonymous"):
        assert count("access.refused") == 2


def test_another_schools_head_sees_none_of_this_schools_entries(world, login_as):
    school, klass, pupil, people = world
    add_entry(school, "pupil.updated", target_type="pupil", target_id=pupil.id, detail={"note": "Oakfield only"})
    c = login_as(people["other school's head"])
    page = c.get("/audit/?action=pupil.updated")
    assert "Oakfield only" not in page.text
    assert "Oakfield only" not in c.get("/audit/export.csv").get_data(as_text=True)
    assert "pupil.updated" not in c.get("/audit/").text  # not even offered as a filter


def test_viewing_and_exporting_are_recorded_with_the_filters(world, login_as):
    school, klass, pupil, people = world
    head = people["head"]
    c = login_as(head)
    c.get("/audit/?action=consent.acknowledged&who=Zosia")
    c.get("/audit/export.csv?target_type=policy_document")
    viewed = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "audit.viewed"))
    exported = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "audit.exported"))
    assert viewed.actor_user_id == head.id and viewed.school_id == school.id
    assert viewed.detail == {"action": "consent.acknowledged", "who": "Zosia"}
    assert exported.detail["target_type"] == "policy_document"
    assert exported.actor_user_id == head.id


def test_newest_first_with_actors_by_name(world, login_as):
    school, klass, pupil, people = world
    teacher = people["teacher of class"]
    add_entry(school, "a.first", at=datetime(2026, 3, 1, 9), actor=teacher)
    add_entry(school, "a.second", at=datetime(2026, 3, 2, 9), actor=pupil)
    add_entry(school, "a.third", at=datetime(2026, 3, 3, 9), user_id=987654)  # account since erased
    add_entry(school, "a.fourth", at=datetime(2026, 3, 4, 9), pupil_id=876543)
    page = login_as(people["head"]).get("/audit/?date_from=01/03/2026&date_to=04/03/2026")
    assert entries_of(page) == ["a.fourth", "a.third", "a.second", "a.first"]
    text = text_of(page)
    assert teacher.name in text
    assert "Zosia K. (pupil)" in text
    assert "#987654" in text
    assert "pupil #876543" in text


@pytest.mark.parametrize("query, expected", [
    ("action=story.post_pinned", ["story.post_pinned"]),
    ("target_type=message", ["message.report"]),
    ("who=zosia", ["portfolio.item_added"]),
    ("who=Teacher+of", []),  # nobody is called that
    ("action=story.post_pinned&target_type=message", []),
    # Days are the school's (London, summer time): 23:30 UTC on 30 June is 1 July at the school.
    ("date_from=01/07/2026&date_to=01/07/2026", ["message.report", "story.post_pinned"]),
    ("date_from=2026-06-30&date_to=2026-06-30", ["portfolio.item_added"]),
    ("date_to=30/06/2026", ["portfolio.item_added"]),
])
def test_filters(world, login_as, query, expected):
    school, klass, pupil, people = world
    teacher = people["teacher of class"]
    add_entry(school, "portfolio.item_added", at=datetime(2026, 6, 30, 12), actor=pupil, target_type="portfolio_item",
              target_id=1)
    add_entry(school, "story.post_pinned", at=datetime(2026, 6, 30, 23, 30), actor=teacher, target_type="post",
              target_id=2)
    add_entry(school, "message.report", at=datetime(2026, 7, 1, 10), actor=people["parent"], target_type="message",
              target_id=3)
    page = login_as(people["head"]).get(f"/audit/?{query}")
    assert page.status_code == 200
    listed = [a for a in entries_of(page) if a in ("portfolio.item_added", "story.post_pinned", "message.report")]
    assert listed == expected


def test_who_by_account_number_and_filter_choices(world, login_as):
    school, klass, pupil, people = world
    teacher = people["teacher of class"]
    add_entry(school, "class.updated", actor=teacher, target_type="class", target_id=klass.id)
    page = login_as(people["head"]).get(f"/audit/?who=%23{teacher.id}&action=class.updated")
    assert entries_of(page) == ["class.updated"]
    # The choices are the actions and kinds present in this school's log.
    assert '<option selected value="class.updated">class.updated</option>' in page.text
    assert '<option value="class">class</option>' in page.text


@pytest.mark.parametrize("typed", ["31/02", "31/02/2026", "yesterday", "2026-13-01"])
def test_a_date_that_is_not_a_date_gets_a_message_and_keeps_the_other_filters(world, login_as, typed):
    school, klass, pupil, people = world
    add_entry(school, "class.updated", actor=people["head"])
    c = login_as(people["head"])
    page = c.get("/audit/", query_string={"date_from": typed, "who": "Zosia", "action": "class.updated"})
    assert page.status_code == 200
    text = text_of(page)
    assert f"“{typed}” is not a date we can read" in text
    assert 'aria-invalid="true"' in page.text
    assert 'value="Zosia"' in page.text
    assert f'value="{typed}"' in page.text
    assert '<option selected value="class.updated">' in page.text
    assert entries_of(page) == []  # nothing listed until the date is right: no half-filtered list
    assert count("audit.viewed") == 0
    export = c.get("/audit/export.csv", query_string={"date_to": typed})
    assert export.status_code == 400
    assert "is not a date we can read" in text_of(export)


def test_the_last_day_before_the_first_is_refused(world, login_as):
    school, klass, pupil, people = world
    page = login_as(people["head"]).get("/audit/?date_from=10/03/2026&date_to=01/03/2026")
    assert "The last day must be on or after the first day." in text_of(page)


def test_user_text_in_details_is_escaped(world, login_as):
    school, klass, pupil, people = world
    add_entry(school, "message.report", actor=people["parent"], target_type="message", target_id=1,
              detail={"reason": "<script>alert(1)</script>", "<b>key</b>": "<div hx-get=/auth/logout hx-trigger=load>"})
    page = login_as(people["head"]).get("/audit/?action=message.report")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<b>key</b>" not in page.text and "&lt;b&gt;key&lt;/b&gt;" in page.text
    assert "<div hx-get=/auth/logout" not in page.text
    # The user's text sits in an element htmx leaves alone, written in its own direction.
    assert re.search(r'<dd hx-disable dir="auto">&lt;script&gt;', page.text)


def test_keyset_pages_newest_first_and_the_next_page_as_a_fragment(world, login_as):
    school, klass, pupil, people = world
    for n in range(55):
        add_entry(school, "points.undone", at=datetime(2026, 1, 1, 8, n), actor=people["head"], detail={"n": str(n)})
    c = login_as(people["head"])
    first = c.get("/audit/?action=points.undone")
    assert len(entries_of(first)) == 50
    older = re.search(r'<li class="older"><a href="([^"]+)"', first.text).group(1)
    older = html.unescape(older)
    assert "action=points.undone" in older  # the filters travel with the cursor
    rest = c.get(older, headers=htmx_headers())
    assert "<html" not in rest.text  # only the entries, swapped in place of the link
    assert len(entries_of(rest)) == 5
    assert 'class="older"' not in rest.text
    shown = re.findall(r"<dd hx-disable dir=\"auto\">(\d+)</dd>", first.text + rest.text)
    assert shown == [str(n) for n in range(54, -1, -1)]
    # Without JavaScript the link is a page of its own.
    assert len(entries_of(c.get(older))) == 5
    assert count("audit.viewed") == 3


def test_csv_export_utc_iso_times_and_no_formulas(world, login_as):
    school, klass, pupil, people = world
    parent = people["parent"]
    parent.name = "=HYPERLINK(\"http://evil.test\",\"click\")"
    db.session.commit()
    add_entry(school, "message.report", at=datetime(2026, 7, 1, 9, 5, 7), actor=parent, target_type="message",
              target_id=4, detail={"reason": "+1 rude"})
    response = login_as(people["head"]).get("/audit/export.csv?action=message.report")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = rows_of(response)
    assert len(rows) == 1
    row = rows[0]
    assert row["at_utc"] == "2026-07-01T09:05:07Z"
    assert row["actor"] == "'=HYPERLINK(\"http://evil.test\",\"click\")"
    assert row["actor_user_id"] == str(parent.id)
    assert row["action"] == "message.report" and row["target_type"] == "message" and row["target_id"] == "4"
    assert row["detail"] == '{"reason": "+1 rude"}'


@pytest.mark.parametrize("cell, expected", [
    ("=1+2", "'=1+2"), ("+44 7700", "'+44 7700"), ("-3", "'-3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("Zosia", "Zosia"), ("", ""), (None, ""), (12, "12"),
])
def test_neutralise(cell, expected):
    assert neutralise(cell) == expected


def test_csv_export_keeps_the_filters(world, login_as):
    school, klass, pupil, people = world
    add_entry(school, "class.updated", actor=people["head"])
    add_entry(school, "team.created", actor=people["head"])
    rows = rows_of(login_as(people["head"]).get("/audit/export.csv?action=team.created"))
    assert [row["action"] for row in rows] == ["team.created"]


# ---- append-only ------------------------------------------------------------------------------

def test_an_entry_object_cannot_be_changed_or_deleted(world):
    school, klass, pupil, people = world
    entry = add_entry(school, "class.updated")
    entry.action = "nothing.happened"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEntry, entry.id))
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(AuditEntry, entry.id).action == "class.updated"


BULK = [
    ("execute update", lambda: db.session.execute(update(AuditEntry).values(action="x"))),
    ("execute update where", lambda: db.session.execute(
        update(AuditEntry).where(AuditEntry.action == "class.updated").values(detail_json="{}"))),
    ("execute delete", lambda: db.session.execute(delete(AuditEntry))),
    ("execute delete of the table", lambda: db.session.execute(delete(AuditEntry.__table__))),
    ("execute update of the table", lambda: db.session.execute(update(AuditEntry.__table__).values(action="x"))),
    ("query update", lambda: db.session.query(AuditEntry).update({"action": "x"})),
    ("query delete", lambda: db.session.query(AuditEntry).filter(AuditEntry.id > 0).delete()),
]


@pytest.mark.parametrize("how, run", BULK, ids=[b[0] for b in BULK])
def test_bulk_updates_and_deletes_are_refused(world, how, run):
    school, klass, pupil, people = world
    add_entry(school, "class.updated")
    before = db.session.scalar(select(func.count(AuditEntry.id)))
    with pytest.raises(AuditLogIsAppendOnly):
        run()
    db.session.rollback()
    assert db.session.scalar(select(func.count(AuditEntry.id))) == before
    assert count("class.updated") == 1


def test_bulk_changes_to_other_tables_still_work(world):
    school, klass, pupil, people = world
    from app.models import Pupil
    db.session.execute(update(Pupil).where(Pupil.id == pupil.id).values(display_name="Zosia L."))
    db.session.commit()
    assert db.session.get(Pupil, pupil.id).display_name == "Zosia L."


RAW = [
    ("raw update", "UPDATE audit_entry SET action = 'nothing.happened'"),
    ("raw delete", "DELETE FROM audit_entry"),
]


@pytest.mark.parametrize("how, statement", RAW, ids=[r[0] for r in RAW])
def test_the_database_itself_refuses_raw_changes(world, how, statement):
    """SQL that goes around the ORM (a console, another program) meets a trigger in the database."""
    from sqlalchemy import text
    from sqlalchemy.exc import DatabaseError
    school, klass, pupil, people = world
    add_entry(school, "class.updated")
    db.session.commit()
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(text(statement))
    db.session.rollback()
    assert count("class.updated") == 1
