"""Running the school, without HTTP: the pupil import, classes, pupils, staff, the rollover."""
import itertools
import os
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEntry, Passcode, Pupil, SchoolClass, StaffInvite
from app.models.base import utcnow
from app.models.people import AVATARS, ROLE_HEAD, ROLE_SENIOR, ROLE_TEACHER
from app.services import school_admin as sa
from app.services.pupils import picture_password_length
from app.services.school_calendar import current_academic_year
from tests.factories import (
    make_class,
    make_head,
    make_parent,
    make_pupil,
    make_school,
    make_teacher,
    make_team,
)

SAMPLE = "/work/shared/data/pupils-mis-export.csv"
HEADER = "UPN,Legal Surname,Legal Forename,Preferred Forename,Year,Reg Group,Gender,Date of Birth,Home Language\r\n"


def csv_bytes(*rows, header=HEADER, bom=True):
    text = header + "".join(row + "\r\n" for row in rows)
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def sample():
    with open(SAMPLE, "rb") as fh:
        return fh.read()


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def audits(action):
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


_codes = itertools.count(1)


def make_passcode(pupil, used=False, revoked=False):
    n = next(_codes)
    code = Passcode(school_id=pupil.school_id, pupil_id=pupil.id, code_hash=f"{n:064d}",
                    hint=f"{n % 10000:04d}", expires_at=utcnow() + timedelta(days=90),
                    used_at=utcnow() if used else None, revoked_at=utcnow() if revoked else None)
    db.session.add(code)
    db.session.commit()
    return code


# ---- reading the file -----------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("Nursery", 0), ("N", 0), ("N1", 0), ("N2", 0), ("nursery", 0),
    ("Reception", 1), ("R", 1), ("YR", 1), ("rec", 1),
    ("Year 1", 2), ("Y1", 2), ("1", 2), ("Year 3", 4), ("Y3", 4), ("3", 4), ("year  3", 4),
    ("Yr 6", 7), ("Year 6", 7), ("6", 7),
    ("Year 7", None), ("Y9", None), ("0", None), ("Year", None), ("", None), ("Reception 2", None),
])
def test_year_groups_written_every_way(app, text, expected):
    assert sa.parse_year_group(text) == expected


def test_the_real_sample_file_reads_cleanly(app):
    plan = sa.read_pupil_csv(sample())
    assert plan.file_errors == [] and plan.error_rows == []
    assert len(plan.rows) == 28
    first = plan.rows[0]
    assert first.line == 2 and first.upn == "H982597919074"  # the BOM did not stick to "UPN"
    names = [row.display_name for row in plan.rows]
    assert "Zosia K." in names          # preferred forename wins
    assert "Łukasz W." in names         # no preferred forename: the legal one
    assert "مريم A." in names            # Arabic script, Latin surname initial
    assert "一鸣 C." in names
    assert not any("\r" in row.home_language or "\r" in row.display_name for row in plan.rows)
    by_class = {row.class_name: row.year_group for row in plan.rows}
    assert by_class == {"3K": 4, "RW": 1, "N1": 0, "6H": 7}
    assert plan.rows[-1].line == 29 and plan.rows[-1].home_language == "Urdu"


def test_plain_lf_file_without_bom_and_other_column_names(app):
    data = (b"upn,Surname,Forename,Year Group,Registration Group\n"
            b"A1,Nowak,Maja,R,RW\n\n")
    plan = sa.read_pupil_csv(data)
    assert plan.file_errors == [] and [(r.display_name, r.year_group, r.class_name) for r in plan.rows] == [
        ("Maja N.", 1, "RW")]


def test_missing_columns_are_named(app):
    data = csv_bytes("A1,Nowak,Maja,,Reception,RW,F,2021-01-01,Polish",
                     header="UPN,Legal Surname,Legal Forename,Preferred Forename,Gender\r\n")
    plan = sa.read_pupil_csv(data)
    assert not plan.ok and plan.rows == []
    assert any("Year" in message for message in plan.file_errors)
    assert any("Reg Group" in message for message in plan.file_errors)
    assert len(plan.file_errors) == 2


def test_bad_year_group_is_a_row_error_with_its_line(app):
    plan = sa.read_pupil_csv(csv_bytes(
        "A1,Nowak,Maja,,Reception,RW,F,,",
        "A2,Khan,Ibrahim,,Year 9,9X,M,,"))
    assert not plan.ok
    [bad] = plan.error_rows
    assert bad.line == 3 and "Year 9" in bad.errors[0] and bad.action == "error"
    assert plan.rows[0].errors == []


def test_duplicate_upn_within_the_file(app):
    plan = sa.read_pupil_csv(csv_bytes(
        "A1,Nowak,Maja,,Reception,RW,F,,",
        "B2,Khan,Ibrahim,,Reception,RW,M,,",
        "a1,Nowak,Maja,,Reception,RW,F,,"))
    [bad] = plan.error_rows
    assert bad.line == 4 and "A1" in bad.errors[0] and "line 2" in bad.errors[0]


def test_missing_forename_and_surname(app):
    plan = sa.read_pupil_csv(csv_bytes(
        "A1,Nowak,,,Reception,RW,F,,",
        "A2,,Ibrahim,,Reception,RW,M,,",
        "A3,,,,Reception,RW,M,,"))
    lines = {row.line: row.errors for row in plan.error_rows}
    assert set(lines) == {2, 3, 4}
    assert any("forename" in e for e in lines[2]) and not any("surname" in e for e in lines[2])
    assert any("surname" in e for e in lines[3]) and not any("forename" in e for e in lines[3])
    assert len(lines[4]) == 2


def test_missing_upn_and_class(app):
    plan = sa.read_pupil_csv(csv_bytes(",Nowak,Maja,,Reception,,F,,"))
    [bad] = plan.error_rows
    assert any("UPN" in e for e in bad.errors) and any("class" in e for e in bad.errors)


def test_one_class_with_two_year_groups_in_the_file(app):
    plan = sa.read_pupil_csv(csv_bytes("A1,Nowak,Maja,,Year 3,3K,F,,", "A2,Khan,Ali,,Year 4,3K,M,,"))
    [bad] = plan.error_rows
    assert bad.line == 3 and "3K" in bad.errors[0]


def test_invalid_utf8_is_one_message_for_the_whole_file(app):
    data = HEADER.encode() + "A1,Wiśniewski,Łukasz,,Year 3,3K,M,,Polish\r\n".encode("cp1250")
    plan = sa.read_pupil_csv(data)
    assert plan.rows == [] and len(plan.file_errors) == 1
    assert "UTF-8" in plan.file_errors[0] and "line 2" in plan.file_errors[0]


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\r\n\r\n", b"   "])
def test_empty_file(app, data):
    plan = sa.read_pupil_csv(data)
    assert plan.file_errors == ["The file is empty."] and not plan.ok


def test_headings_but_no_pupils(app):
    plan = sa.read_pupil_csv(csv_bytes("", ",,,,,,,,"))
    assert len(plan.file_errors) == 1 and "no pupils" in plan.file_errors[0]


def test_too_large_a_file(app):
    plan = sa.read_pupil_csv(b"x" * (sa.MAX_IMPORT_BYTES + 1))
    assert len(plan.file_errors) == 1 and "too large" in plan.file_errors[0]


# ---- comparing with the school and importing --------------------------------------------------

def test_sample_import_adds_everyone_in_one_go(app):
    school = make_school()
    head = make_head(school)
    plan = sa.import_pupils(school, head, sample())
    assert plan.count("add") == 28
    year = current_academic_year()
    classes = {c.name: c for c in db.session.scalars(select(SchoolClass).where(
        SchoolClass.school_id == school.id))}
    assert {n: (c.year_group, c.academic_year) for n, c in classes.items()} == {
        "3K": (4, year), "RW": (1, year), "N1": (0, year), "6H": (7, year)}
    assert len({c.class_code for c in classes.values()}) == 4
    pupils = list(db.session.scalars(select(Pupil).where(Pupil.school_id == school.id)))
    assert len(pupils) == 28
    zosia = next(p for p in pupils if p.upn == "H982597919074")
    assert zosia.display_name == "Zosia K." and zosia.school_class.name == "3K"
    assert zosia.home_language == "Polish" and zosia.avatar in AVATARS
    assert len(zosia.picture_sequence) == picture_password_length(4)
    isla = next(p for p in pupils if p.display_name == "Isla B.")
    assert len(isla.picture_sequence) == picture_password_length(0)
    [entry] = audits("pupils.imported")
    assert entry.detail["added"] == 28 and sorted(entry.detail["classes_created"]) == ["3K", "6H", "N1", "RW"]
    assert not hasattr(Pupil, "date_of_birth") and not hasattr(Pupil, "gender")


def test_reimport_updates_by_upn_instead_of_duplicating(app):
    school = make_school()
    head = make_head(school)
    sa.import_pupils(school, head, sample())
    again = sa.plan_pupil_import(school, sample())
    assert again.ok and again.count("unchanged") == 28 and again.new_classes == []
    moved = csv_bytes("H982597919074,Kowalska,Zofia,,Year 3,3P,F,,Polish")
    plan = sa.import_pupils(school, head, moved)
    assert plan.count("update") == 1
    zofia = db.session.scalar(select(Pupil).where(Pupil.upn == "H982597919074"))
    assert zofia.display_name == "Zofia K." and zofia.school_class.name == "3P"
    assert count(Pupil, Pupil.school_id == school.id) == 28


def test_a_left_pupil_in_the_file_returns(app):
    school = make_school()
    klass = make_class(school, name="3K", year_group=4)
    pupil = make_pupil(klass, name="Zosia K.", upn="H1", status="left")
    plan = sa.import_pupils(school, make_head(school), csv_bytes("H1,Kowalski,Zofia,Zosia,Year 3,3K,F,,"))
    assert plan.rows[0].action == "update"
    db.session.refresh(pupil)
    assert pupil.status == "active" and pupil.left_on is None


def test_existing_class_with_another_year_group_is_a_row_error(app):
    school = make_school()
    make_class(school, name="3K", year_group=5)
    plan = sa.plan_pupil_import(school, csv_bytes("A1,Nowak,Maja,,Year 3,3K,F,,", "A2,Khan,Ali,,Year 4,4M,M,,"))
    assert [row.line for row in plan.error_rows] == [2]
    assert "3K" in plan.error_rows[0].errors[0] and plan.rows[1].action == "add"
    assert plan.new_classes == [("4M", 5)]
    same = sa.plan_pupil_import(school, csv_bytes("A1,Nowak,Maja,,Year 4,3k,F,,"))
    assert same.ok and same.new_classes == []  # the class's name matched whatever its case


def test_last_years_class_of_the_same_name_does_not_count(app):
    school = make_school()
    make_class(school, name="3K", year_group=5, academic_year=current_academic_year() - 1,
               archived_at=utcnow())
    plan = sa.plan_pupil_import(school, csv_bytes("A1,Nowak,Maja,,Year 3,3K,F,,"))
    assert plan.ok and plan.new_classes == [("3K", 4)]


def test_any_error_anywhere_imports_nothing(app):
    school = make_school()
    head = make_head(school)
    data = sample().replace(b"Year 6,6H,M,2014-10-23", b"Year 8,6H,M,2014-10-23")
    with pytest.raises(sa.ImportRejected) as caught:
        sa.import_pupils(school, head, data)
    assert [row.line for row in caught.value.plan.error_rows] == [29]
    db.session.rollback()
    assert count(Pupil) == 0 and count(SchoolClass) == 0 and audits("pupils.imported") == []


def test_the_same_upn_in_another_school_is_another_pupil(app):
    other = make_school()
    theirs = make_pupil(make_class(other, name="3K"), name="Someone E.", upn="H982597919074")
    school = make_school()
    sa.import_pupils(school, make_head(school), sample())
    db.session.refresh(theirs)
    assert theirs.display_name == "Someone E." and theirs.school_id == other.id
    assert count(Pupil, Pupil.school_id == school.id) == 28


# ---- classes, teams, pupils -------------------------------------------------------------------

def test_class_names_are_unique_per_school_and_year(app):
    school, other = make_school(), make_school()
    head = make_head(school)
    make_class(other, name="3K")
    make_class(school, name="3K", academic_year=current_academic_year() - 1, archived_at=utcnow())
    klass = sa.create_class(school, head, name=" 3K ", year_group=4)
    assert klass.name == "3K" and klass.academic_year == current_academic_year() and klass.class_code
    with pytest.raises(sa.AdminError) as caught:
        sa.create_class(school, head, name="3k", year_group=4)
    assert caught.value.field == "name"
    second = sa.create_class(school, head, name="4M", year_group=5)
    with pytest.raises(sa.AdminError):
        sa.update_class(second, head, name="3K", year_group=5)
    assert [e.target_id for e in audits("class.created")] == [klass.id, second.id]


def test_class_teachers_come_from_this_schools_staff(app):
    school, other = make_school(), make_school()
    head = make_head(school)
    mine, theirs = make_teacher(school), make_teacher(other)
    parent = make_parent(school)
    klass = sa.create_class(school, head, name="3K", year_group=4, teacher_ids=[mine.id])
    assert klass.teachers == [mine]
    for outsider in (theirs, parent):
        with pytest.raises(sa.AdminError) as caught:
            sa.update_class(klass, head, name="3K", year_group=4, teacher_ids=[mine.id, outsider.id])
        assert caught.value.field == "teachers"
        db.session.rollback()
    sa.update_class(klass, head, name="3K", year_group=5, teacher_ids=[head.id])
    assert klass.teachers == [head] and klass.year_group == 5
    suspended = make_teacher(school, status="suspended")
    assert suspended not in sa.teacher_choices(school, klass)
    with pytest.raises(sa.AdminError):  # not given a class while suspended...
        sa.update_class(klass, head, name="3K", year_group=5, teacher_ids=[suspended.id])
    db.session.rollback()
    klass.teachers.append(suspended)
    db.session.commit()
    assert suspended in sa.teacher_choices(school, klass)  # ...but kept when already teaching it
    sa.update_class(klass, head, name="3K", year_group=5, teacher_ids=[head.id, suspended.id])
    assert set(klass.teachers) == {head, suspended}


def test_teams_and_pupil_details(app):
    school, other = make_school(), make_school()
    head = make_head(school)
    red = sa.create_team(school, head, name="Phoenix", colour="red")
    with pytest.raises(sa.AdminError):
        sa.create_team(school, head, name="phoenix", colour="blue")
    with pytest.raises(sa.AdminError):
        sa.create_team(school, head, name="Dragons", colour="pink")
    sa.update_team(red, head, name="Phoenixes", colour="orange")
    assert (red.name, red.colour) == ("Phoenixes", "orange")
    pupil = make_pupil(make_class(school))
    sa.update_pupil(pupil, head, display_name="Zosia K.", team_id=red.id, avatar="owl")
    assert (pupil.display_name, pupil.team, pupil.avatar) == ("Zosia K.", red, "owl")
    foreign = make_team(other)
    with pytest.raises(sa.AdminError):
        sa.update_pupil(pupil, head, display_name="Zosia K.", team_id=foreign.id, avatar="owl")
    with pytest.raises(sa.AdminError):
        sa.update_pupil(pupil, head, display_name="Zosia K.", team_id=None, avatar="photo")


def test_move_pupil_only_within_this_schools_current_classes(app):
    school, other = make_school(), make_school()
    head = make_head(school)
    here, there = make_class(school, name="3K"), make_class(school, name="4M", year_group=5)
    old = make_class(school, name="5A", academic_year=current_academic_year() - 1, archived_at=utcnow())
    foreign = make_class(other, name="4Z")
    pupil = make_pupil(here)
    for target in (foreign, old, here):
        with pytest.raises(sa.AdminError):
            sa.move_pupil(pupil, head, target.id)
    assert sa.move_pupil(pupil, head, there.id) == there
    assert pupil.class_id == there.id and [p.id for p in sa.class_pupils(there)] == [pupil.id]
    assert audits("pupil.moved")[0].detail == {"from_class": here.id, "to_class": there.id}


def test_mark_left_ends_sessions_and_unused_passcodes(app):
    school = make_school()
    head = make_head(school)
    klass = make_class(school)
    pupil, classmate = make_pupil(klass), make_pupil(klass)
    unused, used, theirs = make_passcode(pupil), make_passcode(pupil, used=True), make_passcode(classmate)
    version = pupil.session_version
    sa.mark_pupil_left(pupil, head)
    db.session.refresh(unused), db.session.refresh(used), db.session.refresh(theirs)
    assert pupil.status == "left" and pupil.left_on == sa.school_today(school)
    assert pupil.session_version == version + 1
    assert unused.revoked_at is not None and used.revoked_at is None and theirs.revoked_at is None
    assert [p.id for p in sa.class_pupils(klass)] == [classmate.id]
    with pytest.raises(sa.AdminError):
        sa.mark_pupil_left(pupil, head)
    assert len(audits("pupil.left")) == 1


# ---- settings and staff -----------------------------------------------------------------------

def test_school_settings(app):
    school = make_school()
    head = make_head(school)
    with pytest.raises(sa.AdminError) as caught:
        sa.update_school_settings(school, head, name="X", timezone="Mars/Olympus", office_phone="",
                                  office_email="", default_locale="en")
    assert caught.value.field == "timezone"
    db.session.rollback()
    changed = sa.update_school_settings(school, head, name="Oak Primary", timezone="Europe/Warsaw",
                                        office_phone="0161 496 0001", office_email="Office@Oak.test",
                                        default_locale="en")
    assert set(changed) == {"name", "timezone", "office_phone", "office_email"}
    assert (school.timezone, school.office_email) == ("Europe/Warsaw", "office@oak.test")
    assert audits("school.settings_changed")[0].detail == {"fields": sorted(changed)}


def test_who_may_invite_whom(app, tmp_path):
    school = make_school()
    head = make_head(school)
    manager = make_teacher(school, can_manage_school=True)
    link = lambda token: f"http://hearth.test/auth/invite/{token}"
    made = sa.invite_staff_member(school, manager, name="Ann Lee", email="Ann@School.test",
                                  role=ROLE_TEACHER, can_manage_school=False, link_for_token=link)
    assert made.mailed and made.link.startswith("http://hearth.test/auth/invite/")
    assert made.invite.email == "ann@school.test" and made.invite.role == ROLE_TEACHER
    mails = os.listdir(app.config["MAIL_OUTBOX_DIR"])
    assert len(mails) == 1
    with open(os.path.join(app.config["MAIL_OUTBOX_DIR"], mails[0]), "rb") as fh:
        assert made.link.encode() in fh.read().replace(b"=\n", b"")
    for role, manage in ((ROLE_SENIOR, False), (ROLE_HEAD, False), (ROLE_TEACHER, True)):
        with pytest.raises(sa.AdminError):
            sa.invite_staff_member(school, manager, name="B", email="b@school.test", role=role,
                                   can_manage_school=manage, link_for_token=link)
    senior = sa.invite_staff_member(school, head, name="C", email="c@school.test", role=ROLE_SENIOR,
                                    can_manage_school=True, link_for_token=link).invite
    assert senior.can_manage_school
    with pytest.raises(sa.AdminError) as caught:  # an address that already has an account
        sa.invite_staff_member(school, head, name="M", email=manager.email, role=ROLE_TEACHER,
                               can_manage_school=False, link_for_token=link)
    assert caught.value.field == "email"
    assert [i.id for i in sa.pending_invites(school)] == [senior.id, made.invite.id]
    sa.cancel_invite(senior, head)
    assert db.session.get(StaffInvite, senior.id).revoked_at is not None
    with pytest.raises(sa.AdminError):
        sa.cancel_invite(senior, head)


def test_only_the_head_lets_staff_run_the_school(app):
    school = make_school()
    head, other_head = make_head(school), make_head(school)
    teacher = make_teacher(school)
    manager = make_teacher(school, can_manage_school=True)
    with pytest.raises(sa.AdminError):
        sa.set_can_manage_school(teacher, manager, True)
    with pytest.raises(sa.AdminError):
        sa.set_can_manage_school(other_head, head, False)
    with pytest.raises(sa.AdminError):
        sa.set_can_manage_school(make_parent(school), head, True)
    sa.set_can_manage_school(teacher, head, True)
    sa.set_can_manage_school(manager, head, False)
    assert teacher.can_manage_school and not manager.can_manage_school
    assert [e.detail["allowed"] for e in audits("staff.manage_school_changed")] == [True, False]


# ---- the year-end rollover --------------------------------------------------------------------

def rollover_school():
    school = make_school()
    head = make_head(school)
    year = current_academic_year()
    teacher = make_teacher(school)
    classes = {name: make_class(school, name=name, year_group=group, teachers=[teacher])
               for name, group in (("N1", 0), ("3K", 4), ("6H", 7))}
    old = make_class(school, name="6Z", year_group=7, academic_year=year - 1, archived_at=utcnow())
    pupils = {name: make_pupil(klass) for name, klass in classes.items()}
    return SimpleNamespace(school=school, head=head, year=year, classes=classes, old=old, pupils=pupils)


def test_rollover_plan_says_exactly_what_will_happen(app):
    w = rollover_school()
    make_passcode(w.pupils["3K"]), make_passcode(w.pupils["3K"], used=True)
    plan = sa.rollover_plan(w.school)
    assert plan.blocked is None and (plan.from_year, plan.to_year) == (w.year, w.year + 1)
    assert [(c.name, str(label), n) for c, label, n in plan.moving] == [("N1", "Reception", 1),
                                                                        ("3K", "Year 4", 1)]
    assert [(c.name, n) for c, n in plan.leaving] == [("6H", 1)]
    assert (plan.pupils_moving, plan.pupils_leaving, plan.passcodes) == (2, 1, 1)


def test_rollover_moves_classes_up_and_year_6_leaves(app):
    w = rollover_school()
    classes, pupils, year = w.classes, w.pupils, w.year
    unused, used = make_passcode(pupils["3K"]), make_passcode(pupils["N1"], used=True)
    codes = {name: c.class_code for name, c in classes.items()}
    old_code = w.old.class_code
    leaver_version = pupils["6H"].session_version
    summary = sa.roll_over_year(w.school, w.head, year)
    assert summary == {"from_year": year, "to_year": year + 1, "moved": 2, "archived": 1,
                       "pupils_left": 1, "passcodes_revoked": 1}
    for obj in (*classes.values(), w.old, unused, used, *pupils.values()):
        db.session.refresh(obj)
    assert (classes["N1"].year_group, classes["N1"].academic_year) == (1, year + 1)
    assert (classes["3K"].year_group, classes["3K"].academic_year) == (5, year + 1)
    assert classes["6H"].archived_at is not None and classes["6H"].academic_year == year
    assert all(classes[n].class_code != codes[n] for n in codes) and w.old.class_code == old_code
    assert pupils["3K"].class_id == classes["3K"].id and pupils["3K"].status == "active"
    assert pupils["6H"].status == "left" and pupils["6H"].left_on == sa.school_today(w.school)
    assert pupils["6H"].session_version == leaver_version + 1
    assert unused.revoked_at is not None and used.revoked_at is None
    assert classes["3K"].teachers and sa.school_year(w.school) == year + 1
    assert [c.name for c in sa.classes_of_year(w.school)] == ["N1", "3K"]
    assert len(audits("school.rolled_over")) == 1


def test_rollover_submitted_twice_moves_classes_once(app):
    w = rollover_school()
    sa.roll_over_year(w.school, w.head, w.year)
    with pytest.raises(sa.AdminError) as caught:
        sa.roll_over_year(w.school, w.head, w.year)
    assert "already" in str(caught.value)
    db.session.rollback()
    with pytest.raises(sa.AdminError):  # a year ahead of the calendar: not again until September
        sa.roll_over_year(w.school, w.head, w.year + 1)
    db.session.rollback()
    klass = db.session.get(SchoolClass, w.classes["3K"].id)
    assert (klass.year_group, klass.academic_year) == (5, w.year + 1)
    assert sa.rollover_plan(w.school).blocked
    assert len(audits("school.rolled_over")) == 1


def test_rollover_is_for_the_head_and_this_school_only(app):
    w = rollover_school()
    theirs = make_class(make_school(), name="3K", year_group=4)
    with pytest.raises(sa.AdminError):
        sa.roll_over_year(w.school, make_teacher(w.school, can_manage_school=True), w.year)
    sa.roll_over_year(w.school, w.head, w.year)
    db.session.refresh(theirs)
    assert (theirs.year_group, theirs.academic_year) == (4, w.year)


def test_a_late_rollover_still_works(app):
    school = make_school()
    head = make_head(school)
    last_year = current_academic_year() - 1
    klass = make_class(school, name="3K", year_group=4, academic_year=last_year)
    assert sa.school_year(school) == last_year and sa.overview(school)["rollover_due"]
    sa.roll_over_year(school, head, last_year)
    db.session.refresh(klass)
    assert klass.academic_year == last_year + 1 and not sa.overview(school)["rollover_due"]
