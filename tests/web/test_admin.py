"""The admin blueprint: full pages, the staff list fragment, the sample import end to end, and who
may reach each page and action (every "no" cell written out)."""
import base64
import io
import os
import re
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEntry, Pupil, School, SchoolClass, StaffInvite, Team, User
from app.models.people import ROLE_SENIOR, ROLE_TEACHER
from app.services import accounts
from app.services.school_calendar import current_academic_year
from tests.conftest import htmx_headers, sign_in
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

SAMPLE = "/work/shared/data/pupils-mis-export.csv"


ROLES = ["head", "manager", "teacher", "senior", "parent", "pupil", "anonymous", "other_head"]


def world():
    school, other = make_school(name="Oak Primary"), make_school(name="Elm Primary")
    klass = make_class(school, name="3K", year_group=4)
    spare = make_class(school, name="4M", year_group=5)
    pupil = make_pupil(klass, name="Zosia K.", upn="H1")
    team = make_team(school, name="Phoenix", colour="red")
    teacher = make_teacher(school, classes=[klass], name="Tom Teacher", email="tom@oak.example.org")
    invite, _token = accounts.invite_staff(school, "new@oak.example.org", "New Person", ROLE_TEACHER)
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
    return SimpleNamespace(school=school, other=other, klass=klass, spare=spare, pupil=pupil, team=team,
                           teacher=teacher, invite=invite, people=people)


def client_for(app, account):
    client = app.test_client()
    return sign_in(client, account) if account is not None else client


def expected(codes):
    """'200 200 404 ...' in the order of ROLES."""
    return dict(zip(ROLES, (int(code) for code in codes.split())))


def snapshot(w):
    """Everything of school A that an admin action could change."""
    db.session.expire_all()
    school = db.session.get(School, w.school.id)
    sid = w.school.id
    rows = lambda stmt: sorted(db.session.execute(stmt).all())
    return (
        (school.name, school.timezone, school.office_phone),
        rows(select(SchoolClass.name, SchoolClass.year_group, SchoolClass.academic_year,
                    SchoolClass.archived_at, SchoolClass.class_code).where(SchoolClass.school_id == sid)),
        rows(select(Pupil.display_name, Pupil.class_id, Pupil.status, Pupil.team_id, Pupil.avatar,
                    Pupil.session_version).where(Pupil.school_id == sid)),
        rows(select(Team.name, Team.colour).where(Team.school_id == sid)),
        rows(select(StaffInvite.id, StaffInvite.revoked_at).where(StaffInvite.school_id == sid)),
        rows(select(User.id, User.can_manage_school).where(User.school_id == sid)),
        db.session.scalar(select(func.count(AuditEntry.id)).where(
            AuditEntry.school_id == sid, AuditEntry.action != "access.refused")),
    )


# ---- who may see each page ---------------------------------------------------------------------
#                                    head manager teacher senior parent pupil anon other_head
PAGES = [
    ("/admin/",                          "200 200 404 404 404 404 302 200"),
    ("/admin/settings",                  "200 404 404 404 404 404 302 200"),
    ("/admin/classes",                   "200 200 404 404 404 404 302 200"),
    ("/admin/classes/new",               "200 200 404 404 404 404 302 200"),
    ("/admin/classes/{klass}/edit",      "200 200 404 404 404 404 302 404"),
    ("/admin/classes/{klass}",           "200 200 404 404 404 404 302 404"),
    ("/admin/teams",                     "200 200 404 404 404 404 302 200"),
    ("/admin/teams/{team}",              "200 200 404 404 404 404 302 404"),
    ("/admin/pupils/{pupil}",            "200 200 404 404 404 404 302 404"),
    ("/admin/import",                    "200 200 404 404 404 404 302 200"),
    ("/admin/staff",                     "200 200 404 404 404 404 302 200"),
    ("/admin/rollover",                  "200 404 404 404 404 404 302 200"),
]


@pytest.mark.parametrize("path, codes", PAGES)
def test_who_may_see_each_page(app, path, codes):
    w = world()
    url = path.format(klass=w.klass.id, team=w.team.id, pupil=w.pupil.id)
    for role, code in expected(codes).items():
        r = client_for(app, w.people[role]).get(url)
        assert r.status_code == code, (role, url, r.status_code)
        if code == 302:
            assert "/auth/login" in r.headers["Location"]
        if role == "other_head" and code == 200:
            assert "Oak Primary" not in r.text and "Zosia" not in r.text
            assert w.klass.class_code not in r.text and "Tom Teacher" not in r.text


# ---- who may do each action (the "no" cells change nothing of school A) ------------------------
#  302 for head/manager = done (tested in detail below); other_head's 302 acts on their own school.
ACTIONS = [
    ("/admin/settings", lambda w: {"name": "Taken", "timezone": "Europe/London", "default_locale": "en"},
     "302 404 404 404 404 404 302 302"),
    ("/admin/classes/new", lambda w: {"name": "9Z", "year_group": "4"},
     "302 302 404 404 404 404 302 302"),
    ("/admin/classes/{klass}/edit", lambda w: {"name": "Renamed", "year_group": "4"},
     "302 302 404 404 404 404 302 404"),
    ("/admin/teams", lambda w: {"name": "Dragons", "colour": "blue"},
     "302 302 404 404 404 404 302 302"),
    ("/admin/teams/{team}", lambda w: {"name": "Renamed", "colour": "blue"},
     "302 302 404 404 404 404 302 404"),
    ("/admin/pupils/{pupil}", lambda w: {"display_name": "Renamed", "team_id": "0", "avatar": "owl"},
     "302 302 404 404 404 404 302 404"),
    ("/admin/pupils/{pupil}/move", lambda w: {"class_id": str(w.spare.id)},
     "302 302 404 404 404 404 302 404"),
    ("/admin/pupils/{pupil}/leave", lambda w: {},
     "302 302 404 404 404 404 302 404"),
    ("/admin/staff/{teacher}/manager", lambda w: {"allowed": "y"},
     "302 404 404 404 404 404 302 404"),
    ("/admin/staff/invites/{invite}/revoke", lambda w: {},
     "302 302 404 404 404 404 302 404"),
    ("/admin/import/confirm", lambda w: {"data": base64.b64encode(
        b"UPN,Legal Surname,Legal Forename,Year,Reg Group\r\nX9,Nowak,Maja,R,RW\r\n").decode()},
     "302 302 404 404 404 404 302 302"),
    ("/admin/rollover", lambda w: {"from_year": str(current_academic_year())},
     "302 404 404 404 404 404 302 302"),
    ("/admin/staff/invite", lambda w: {"name": "Eve", "email": "eve@oak.example.org", "role": "teacher"},
     "200 200 404 404 404 404 302 200"),
]


def _action_cells():
    for path, form, codes in ACTIONS:
        for role, code in expected(codes).items():
            yield pytest.param(path, form, role, code, id=f"{role}-POST-{path}")


@pytest.mark.parametrize("path, form, role, code", list(_action_cells()))
def test_who_may_do_each_action(app, path, form, role, code):
    w = world()
    url = path.format(klass=w.klass.id, team=w.team.id, pupil=w.pupil.id, teacher=w.teacher.id,
                      invite=w.invite.id)
    before = snapshot(w)
    r = client_for(app, w.people[role]).post(url, data=form(w))
    assert r.status_code == code, (role, url, r.status_code)
    if role in ("head", "manager") and code in (200, 302):
        assert snapshot(w) != before  # the action did something
    else:
        assert snapshot(w) == before  # refused, or acted on another school only


def test_a_get_never_writes(app, login_as):
    w = world()
    before = snapshot(w)
    head = login_as(w.people["head"])
    for path in ("/admin/pupils/{p}/leave", "/admin/pupils/{p}/move", "/admin/import/confirm",
                 "/admin/staff/invite"):
        assert head.get(path.format(p=w.pupil.id)).status_code == 405
    assert snapshot(w) == before


def test_posts_need_the_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        w = world()
        before = snapshot(w)
        client = sign_in(app.test_client(), w.people["head"])
        for path in (f"/admin/pupils/{w.pupil.id}/leave", "/admin/rollover", "/admin/classes/new"):
            r = client.post(path, data={"from_year": current_academic_year(), "name": "X", "year_group": 4})
            assert r.status_code == 400
        assert snapshot(w) == before


# ---- pages, in detail --------------------------------------------------------------------------

def test_overview_counts_and_links(app, login_as):
    w = world()
    r = login_as(w.people["head"]).get("/admin/")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "private, no-store"
    facts = re.sub(r"\s+", " ", r.text)
    assert "<dt>Classes</dt><dd>2</dd>" in facts.replace("> <", "><")
    assert "<dt>Pupils</dt><dd>1</dd>" in facts.replace("> <", "><")
    assert "<dt>Staff</dt><dd>4</dd>" in facts.replace("> <", "><")  # teacher, head, manager, senior
    for path in ("/admin/classes", "/admin/import", "/admin/teams", "/admin/staff", "/admin/settings",
                 "/admin/rollover"):
        assert f'href="{path}"' in r.text
    manager_page = login_as(w.people["manager"]).get("/admin/").text
    assert 'href="/admin/settings"' not in manager_page and 'href="/admin/rollover"' not in manager_page


def test_settings_keep_bad_input_and_save_good(app, login_as):
    w = world()
    head = login_as(w.people["head"])
    r = head.post("/admin/settings", data={"name": "Oak Primary", "timezone": "Europe/Londn",
                                           "office_phone": "0161 496 0999", "default_locale": "en"})
    assert r.status_code == 200
    assert "is not a time zone we know" in r.text and 'value="Europe/Londn"' in r.text
    assert 'aria-invalid="true"' in r.text and 'value="0161 496 0999"' in r.text
    r = head.post("/admin/settings", data={"name": "Oak Primary", "timezone": "Europe/Dublin",
                                           "office_phone": "0161 496 0999", "office_email": "hi@oak.example.org",
                                           "default_locale": "en"})
    assert r.status_code == 302
    page = head.get(r.headers["Location"]).text
    assert "have been saved" in page
    assert 'href="tel:01614960999"' in page and 'href="mailto:hi@oak.example.org"' in page  # the footer
    db.session.refresh(w.school)
    assert w.school.timezone == "Europe/Dublin"


def test_create_and_edit_a_class(app, login_as):
    w = world()
    manager = login_as(w.people["manager"])
    form = manager.get("/admin/classes/new").text
    assert "Tom Teacher" in form and 'type="checkbox"' in form
    r = manager.post("/admin/classes/new", data={"name": "3k", "year_group": "4"})
    assert r.status_code == 200 and "already a class called 3k" in r.text and 'value="3k"' in r.text
    r = manager.post("/admin/classes/new", data={"name": "RW", "year_group": "1",
                                                 "teachers": [str(w.teacher.id)]})
    assert r.status_code == 302
    klass = db.session.scalar(select(SchoolClass).where(SchoolClass.name == "RW"))
    assert klass.year_group == 1 and klass.teachers == [w.teacher] and len(klass.class_code) == 6
    assert r.headers["Location"].endswith(f"/admin/classes/{klass.id}")
    r = manager.post(f"/admin/classes/{klass.id}/edit", data={"name": "RW", "year_group": "1"})
    assert r.status_code == 302
    db.session.refresh(klass)
    assert klass.teachers == []
    listing = manager.get("/admin/classes").text
    assert "RW" in listing and "Reception" in listing and klass.class_code in listing


def test_teams_are_created_and_renamed(app, login_as):
    w = world()
    head = login_as(w.people["head"])
    r = head.post("/admin/teams", data={"name": "phoenix", "colour": "blue"})
    assert r.status_code == 200 and "already a team called phoenix" in r.text
    assert head.post("/admin/teams", data={"name": "Dragons", "colour": "green"}).status_code == 302
    assert head.post(f"/admin/teams/{w.team.id}", data={"name": "Phoenixes", "colour": "orange"}).status_code == 302
    page = head.get("/admin/teams").text
    assert "Dragons" in page and "Phoenixes" in page and "Orange" in page


def test_pupil_page_edits_moves_and_marks_as_left(app, login_as):
    w = world()
    manager = login_as(w.people["manager"])
    page = manager.get(f"/admin/pupils/{w.pupil.id}").text
    assert "Zosia K." in page and "4M" in page and "Phoenix" in page and 'value="rocket"' in page
    r = manager.post(f"/admin/pupils/{w.pupil.id}", data={"display_name": "", "team_id": "0", "avatar": "owl"})
    assert r.status_code == 200 and "Enter the pupil" in r.text
    r = manager.post(f"/admin/pupils/{w.pupil.id}",
                     data={"display_name": "Zosia Kow.", "team_id": str(w.team.id), "avatar": "owl"})
    assert r.status_code == 302
    r = manager.post(f"/admin/pupils/{w.pupil.id}/move", data={"class_id": str(w.spare.id)})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/admin/classes/{w.spare.id}")
    pupil = db.session.get(Pupil, w.pupil.id)
    assert (pupil.display_name, pupil.team_id, pupil.avatar, pupil.class_id) == (
        "Zosia Kow.", w.team.id, "owl", w.spare.id)
    pupil_client = login_as(pupil)
    assert pupil_client.get("/admin/").status_code == 404  # signed in, as a pupil
    r = manager.post(f"/admin/pupils/{w.pupil.id}/leave")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/admin/classes/{w.spare.id}")
    pupil = db.session.get(Pupil, w.pupil.id)
    assert pupil.status == "left" and pupil.left_on is not None
    class_page = manager.get(r.headers["Location"]).text
    assert "Zosia Kow. has been marked as left." in class_page
    assert "No pupils in this class yet." in class_page and 'class="plain pupil-list"' not in class_page
    assert manager.get(f"/admin/pupils/{w.pupil.id}").status_code == 404
    assert "/auth/login" in pupil_client.get("/admin/").headers["Location"]  # their session ended


def test_moving_to_another_schools_class_is_refused(app, login_as):
    w = world()
    theirs = make_class(w.other, name="9X")
    r = login_as(w.people["head"]).post(f"/admin/pupils/{w.pupil.id}/move", data={"class_id": str(theirs.id)})
    assert r.status_code == 200 and "Not a valid choice" in r.text
    assert db.session.get(Pupil, w.pupil.id).class_id == w.klass.id


# ---- the import, end to end --------------------------------------------------------------------

def upload(client, data, name="pupils.csv"):
    return client.post("/admin/import", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def hidden_data(html):
    match = re.search(r'<input[^>]*name="data"[^>]*value="([^"]+)"', html)
    return match.group(1) if match else None


def test_sample_file_import_end_to_end(app, login_as):
    school = make_school()
    head = login_as(make_head(school))
    with open(SAMPLE, "rb") as fh:
        data = fh.read()
    assert "<h1>Import pupils</h1>" in head.get("/admin/import").text
    preview = upload(head, data)
    assert preview.status_code == 200
    assert preview.text.count("Will add") == 28 and "Import 28 pupils" in preview.text
    assert "Zosia K." in preview.text and "مريم A." in preview.text and "一鸣 C." in preview.text
    assert "2017-11-02" not in preview.text  # dates of birth are not kept, nor shown
    assert db.session.scalar(select(func.count(Pupil.id))) == 0  # a preview imports nothing
    carried = hidden_data(preview.text)
    assert base64.b64decode(carried) == data
    r = head.post("/admin/import/confirm", data={"data": carried})
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/classes")
    page = head.get(r.headers["Location"]).text
    assert "Imported 28 pupils." in page and "6H" in page and "Nursery" in page
    assert db.session.scalar(select(func.count(Pupil.id)).where(Pupil.school_id == school.id)) == 28
    again = upload(head, data)
    assert again.text.count("No change") == 28 and "Will add" not in again.text
    assert "nothing to import" in again.text and "Import 28 pupils" not in again.text
    r = head.post("/admin/import/confirm", data={"data": carried})  # a second confirm: no duplicates
    assert db.session.scalar(select(func.count(Pupil.id))) == 28


def test_a_file_with_errors_lists_each_and_imports_nothing(app, login_as):
    school = make_school()
    make_class(school, name="4M", year_group=5)
    head = login_as(make_head(school))
    bad = ("\ufeffUPN,Legal Surname,Legal Forename,Preferred Forename,Year,Reg Group\r\n"
           "A1,Nowak,Maja,,Reception,RW\r\n"
           "A1,Khan,Ibrahim,,Reception,RW\r\n"
           "A3,Popescu,,,Year 3,3K\r\n"
           "A4,Silva,Bia,,Year 10,3K\r\n"
           "A5,Ali,Zainab,,Year 3,4M\r\n").encode()
    preview = upload(head, bad)
    assert preview.status_code == 200
    assert "Nothing will be imported" in preview.text and "4 rows have problems" in preview.text
    for line, reason in ((3, "also on line 2"), (4, "forename is missing"), (5, "“Year 10” is not a year group"),
                         (6, "already exists as Year 4")):
        assert re.search(rf"Line {line}: [^<]*{reason}", preview.text), (line, reason)
    assert "Import " not in re.sub(r"Import pupils|Back to import", "", preview.text)
    assert hidden_data(preview.text) is None
    forced = head.post("/admin/import/confirm", data={"data": base64.b64encode(bad).decode()})
    assert forced.status_code == 200 and "Nothing will be imported" in forced.text
    assert db.session.scalar(select(func.count(Pupil.id))) == 0


@pytest.mark.parametrize("data, message", [
    (b"UPN,Legal Surname,Legal Forename,Year\r\nA1,Nowak,Maja,R\r\n", "The column “Reg Group” is missing."),
    ("UPN,Legal Surname,Legal Forename,Year,Reg Group\r\nA1,Wiśniewski,Łukasz,3,3K\r\n".encode("cp1250"),
     "not saved as UTF-8"),
    (b"", "The file is empty."),
])
def test_whole_file_problems_are_shown(app, login_as, data, message):
    head = login_as(make_head(make_school()))
    r = upload(head, data)
    assert r.status_code == 200 and message in r.text and hidden_data(r.text) is None


def test_no_file_and_a_garbled_confirmation(app, login_as):
    head = login_as(make_head(make_school()))
    r = head.post("/admin/import", data={}, content_type="multipart/form-data")
    assert r.status_code == 200 and "Choose the CSV file to import." in r.text
    r = head.post("/admin/import/confirm", data={"data": "not base64!"})
    assert r.status_code == 200 and "upload it again" in r.text


# ---- staff ---------------------------------------------------------------------------------------

def test_invite_link_shown_once_and_emailed(app, login_as):
    w = world()
    head = login_as(w.people["head"])
    page = head.get("/admin/staff").text
    assert "Tom Teacher" in page and "new@oak.example.org" in page and 'value="senior_leader"' in page
    r = head.post("/admin/staff/invite", data={"name": "Sam Senior", "email": "sam@oak.example.org",
                                               "role": ROLE_SENIOR})
    assert r.status_code == 200
    link = re.search(r'id="invite-link"[^>]*value="([^"]+)"', r.text).group(1)
    assert "/auth/invite/" in link and "We have emailed this link to sam@oak.example.org" in r.text
    token = link.rsplit("/", 1)[1]
    assert token not in head.get("/admin/staff").text  # shown once only
    assert app.test_client().get(f"/auth/invite/{token}").status_code == 200
    outbox = app.config["MAIL_OUTBOX_DIR"]
    mail = b""
    for name in os.listdir(outbox):
        with open(os.path.join(outbox, name), "rb") as fh:
            mail += fh.read()
    assert token.encode() in mail.replace(b"=\n", b"")
    r = head.post("/admin/staff/invite", data={"name": "Tom", "email": w.teacher.email, "role": ROLE_TEACHER})
    assert r.status_code == 200 and "already has an account" in r.text and 'id="invite-link"' not in r.text


def test_a_manager_invites_teachers_only(app, login_as):
    w = world()
    manager = login_as(w.people["manager"])
    page = manager.get("/admin/staff").text
    assert 'value="teacher"' in page and 'value="senior_leader"' not in page
    assert "run the school" not in page.split('id="staff-list"')[1].split("</table>")[0].replace("Runs the school", "")
    r = manager.post("/admin/staff/invite", data={"name": "Sam", "email": "sam@oak.example.org", "role": ROLE_SENIOR})
    assert r.status_code == 200 and "Not a valid choice" in r.text
    r = manager.post("/admin/staff/invite", data={"name": "Sam", "email": "sam@oak.example.org", "role": ROLE_TEACHER,
                                                  "can_manage_school": "y"})
    assert r.status_code == 200 and "Only the headteacher" in r.text
    assert db.session.scalar(select(func.count(StaffInvite.id)).where(StaffInvite.email == "sam@oak.example.org")) == 0


def test_head_toggles_running_the_school_with_and_without_htmx(app, login_as):
    w = world()
    head = login_as(w.people["head"])
    r = head.post(f"/admin/staff/{w.teacher.id}/manager", data={"allowed": "y"})
    assert r.status_code == 302
    assert db.session.get(User, w.teacher.id).can_manage_school is True
    r = head.post(f"/admin/staff/{w.teacher.id}/manager", data={"allowed": ""}, headers=htmx_headers())
    assert r.status_code == 200 and "HX-Request" in r.headers["Vary"]
    assert r.text.lstrip().startswith('<div id="staff-list">') and "<html" not in r.text
    assert "Tom Teacher no longer runs the school." in r.text
    assert db.session.get(User, w.teacher.id).can_manage_school is False
    r = head.post(f"/admin/staff/{w.people['head'].id}/manager", data={"allowed": ""}, headers=htmx_headers())
    assert "A headteacher always runs the school." in r.text


def test_revoke_an_invitation(app, login_as):
    w = world()
    manager = login_as(w.people["manager"])
    r = manager.post(f"/admin/staff/invites/{w.invite.id}/revoke")
    assert r.status_code == 302
    assert db.session.get(StaffInvite, w.invite.id).revoked_at is not None
    page = manager.get("/admin/staff").text
    assert "has been cancelled" in page and "No invitations are waiting." in page


# ---- the year-end rollover --------------------------------------------------------------------

def test_rollover_confirmation_then_once_only(app, login_as):
    w = world()
    six = make_class(w.school, name="6H", year_group=7)
    leaver = make_pupil(six, name="Grace T.")
    head = login_as(w.people["head"])
    year = current_academic_year()
    page = head.get("/admin/rollover").text
    text = re.sub(r"\s+", " ", page)
    assert "3K: Year 3 → Year 4 (1 pupil)" in text and "4M: Year 4 → Year 5 (0 pupils)" in text
    assert "6H (1 pupil)" in text and "new class code" in text
    assert f'name="from_year" type="hidden" value="{year}"' in page
    r = head.post("/admin/rollover", data={"from_year": year})
    assert r.status_code == 302
    assert "The year-end rollover is done" in head.get(r.headers["Location"]).text
    again = head.post("/admin/rollover", data={"from_year": year})  # the double tap
    assert again.status_code == 302
    assert "already been done" in head.get(again.headers["Location"]).text
    klass = db.session.get(SchoolClass, w.klass.id)
    assert (klass.year_group, klass.academic_year) == (5, year + 1)
    assert db.session.get(Pupil, leaver.id).status == "left"
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "school.rolled_over")) == 1
