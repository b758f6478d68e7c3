"""Running the school: settings, classes, teams, pupils, the pupil import, staff, the rollover.

The admin blueprint calls these after its policy checks. Each write is audited and committed here,
in one transaction. Ids that arrive from forms (teachers, teams, classes) are resolved inside the
school only, never trusted as given. Nothing here reads ``request`` or ``session``.
"""
import csv
import io
import re
import smtplib
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..auth_session import revoke_all_sessions
from ..extensions import db
from ..i18n import available_languages
from ..models import Passcode, Pupil, SchoolClass, StaffInvite, Team, User
from ..models.base import utcnow
from ..models.people import AVATARS, STAFF_ROLES
from ..models.school import LAST_YEAR_GROUP, TEAM_COLOURS, YEAR_GROUPS, year_group_label
from ..policies import can_invite_role
from . import accounts
from .audit import audit
from .mail import send_mail
from .pupils import (
    display_name_from,
    new_class_code,
    new_picture_password,
    random_avatar,
)
from .school_calendar import current_academic_year


class AdminError(ValueError):
    """A rule was broken. The message is for the user; ``field`` names the form field it is about."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


def _clean(text):
    """Trim and collapse runs of spaces, as people type and spreadsheets export them."""
    return " ".join((text or "").split())


# ---- the school's day and year ---------------------------------------------------------------

def school_today(school):
    """Today's date where the school is."""
    try:
        zone = ZoneInfo(school.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("Europe/London")
    return datetime.now(zone).date()


def calendar_year(school):
    """The academic year the calendar says it is, at the school."""
    return current_academic_year(school_today(school))


def school_year(school):
    """The academic year the school's classes are in.

    Normally the calendar's. After a rollover done in July it is the next one already, and before
    a late rollover (in September) it is still the last one: the classes are what pupils and staff
    actually use, so they decide. A school with no classes yet follows the calendar.
    """
    latest = db.session.scalar(select(func.max(SchoolClass.academic_year)).where(
        SchoolClass.school_id == school.id, SchoolClass.archived_at.is_(None)))
    return latest if latest is not None else calendar_year(school)


def academic_year_label(year):
    return f"{year}–{(year + 1) % 100:02d}"


def overview(school):
    """Counts for the admin home page, and whether the calendar has moved past the classes."""
    year = school_year(school)
    classes = db.session.scalar(select(func.count(SchoolClass.id)).where(
        SchoolClass.school_id == school.id, SchoolClass.academic_year == year,
        SchoolClass.archived_at.is_(None)))
    pupils = db.session.scalar(select(func.count(Pupil.id)).where(
        Pupil.school_id == school.id, Pupil.status == "active"))
    staff = db.session.scalar(select(func.count(User.id)).where(
        User.school_id == school.id, User.role.in_(STAFF_ROLES), User.status == "active"))
    return {"classes": classes, "pupils": pupils, "staff": staff, "year": year,
            "year_label": academic_year_label(year),
            "rollover_due": year < calendar_year(school)}


# ---- settings ----------------------------------------------------------------------------------

def update_school_settings(school, by, *, name, timezone, office_phone, office_email, default_locale,
                           digest_time=None):
    """Save the school's settings; ``digest_time`` ("HH:MM", the daily email's time) is kept as it
    is when not given."""
    name = _clean(name)
    timezone = (timezone or "").strip()
    if not name:
        raise AdminError(_("Enter the school's name."), "name")
    if timezone not in available_timezones():
        raise AdminError(_("“%(zone)s” is not a time zone we know. Write it like Europe/London.",
                           zone=timezone), "timezone")
    if default_locale not in available_languages():
        raise AdminError(_("Choose one of the languages in the list."), "default_locale")
    values = {"name": name, "timezone": timezone, "office_phone": _clean(office_phone),
              "office_email": accounts.normalise_email(office_email),
              "default_locale": default_locale,
              "digest_time": school.digest_time if digest_time is None else _digest_time(digest_time)}
    changed = sorted(key for key, value in values.items() if getattr(school, key) != value)
    for key in changed:
        setattr(school, key, values[key])
    if changed:
        audit("school.settings_changed", "school", school.id, detail={"fields": changed},
              actor=by, school_id=school.id)
    db.session.commit()
    return changed


def _digest_time(value):
    try:
        return datetime.strptime((value or "").strip(), "%H:%M").time()
    except ValueError:
        raise AdminError(_("Enter a time like 17:00, from 00:00 to 23:59."), "digest_time") from None


# ---- classes -----------------------------------------------------------------------------------

def classes_of_year(school, year=None):
    """The school's classes of an academic year (its current one by default), with teachers."""
    year = school_year(school) if year is None else year
    return list(db.session.scalars(
        select(SchoolClass).where(SchoolClass.school_id == school.id, SchoolClass.academic_year == year,
                                  SchoolClass.archived_at.is_(None))
        .options(selectinload(SchoolClass.teachers))
        .order_by(SchoolClass.year_group, SchoolClass.name)))


def class_list(school):
    """(class, number of pupils) for each class of the school's year, in two queries."""
    classes = classes_of_year(school)
    counts = dict(db.session.execute(
        select(Pupil.class_id, func.count(Pupil.id))
        .where(Pupil.school_id == school.id, Pupil.status == "active",
               Pupil.class_id.in_([c.id for c in classes]))
        .group_by(Pupil.class_id)).all()) if classes else {}
    return [(klass, counts.get(klass.id, 0)) for klass in classes]


def staff_members(school):
    """Everyone on the staff of the school, active first, by name."""
    return list(db.session.scalars(
        select(User).where(User.school_id == school.id, User.role.in_(STAFF_ROLES))
        .order_by((User.status != "active"), User.name)))


def teacher_choices(school, klass=None):
    """Staff who can be given a class: everyone active, and whoever already teaches it."""
    current = {t.id for t in klass.teachers} if klass is not None else set()
    return [u for u in staff_members(school) if u.is_active or u.id in current]


def _teachers_from_ids(school, teacher_ids, klass=None):
    ids = {int(i) for i in teacher_ids or ()}
    if not ids:
        return []
    allowed = {u.id for u in teacher_choices(school, klass)}
    found = list(db.session.scalars(select(User).where(
        User.id.in_(ids & allowed), User.school_id == school.id, User.role.in_(STAFF_ROLES))
        .order_by(User.name)))
    if len(found) != len(ids):
        raise AdminError(_("Choose teachers from this school's staff."), "teachers")
    return found


def _check_class_name(school_id, year, name, exclude_id=None):
    if not name:
        raise AdminError(_("Enter the class's name."), "name")
    stmt = select(SchoolClass.id).where(
        SchoolClass.school_id == school_id, SchoolClass.academic_year == year,
        func.lower(SchoolClass.name) == name.lower())
    if exclude_id is not None:
        stmt = stmt.where(SchoolClass.id != exclude_id)
    if db.session.scalar(stmt.limit(1)) is not None:
        raise AdminError(_("There is already a class called %(name)s in %(year)s.",
                           name=name, year=academic_year_label(year)), "name")


def _check_year_group(year_group):
    if year_group not in dict(YEAR_GROUPS):
        raise AdminError(_("Choose a year group."), "year_group")


def create_class(school, by, *, name, year_group, teacher_ids=()):
    year = school_year(school)
    name = _clean(name)
    _check_year_group(year_group)
    _check_class_name(school.id, year, name)
    klass = SchoolClass(school_id=school.id, name=name, year_group=year_group, academic_year=year,
                        class_code=new_class_code())
    klass.teachers = _teachers_from_ids(school, teacher_ids)
    db.session.add(klass)
    db.session.flush()
    audit("class.created", "school_class", klass.id, actor=by, school_id=school.id,
          detail={"name": name, "year_group": year_group, "academic_year": year,
                  "teachers": [t.id for t in klass.teachers]})
    db.session.commit()
    return klass


def update_class(klass, by, *, name, year_group, teacher_ids=()):
    name = _clean(name)
    _check_year_group(year_group)
    _check_class_name(klass.school_id, klass.academic_year, name, exclude_id=klass.id)
    teachers = _teachers_from_ids(klass.school, teacher_ids, klass)
    before = {"name": klass.name, "year_group": klass.year_group,
              "teachers": sorted(t.id for t in klass.teachers)}
    klass.name, klass.year_group, klass.teachers = name, year_group, teachers
    after = {"name": name, "year_group": year_group, "teachers": sorted(t.id for t in teachers)}
    changed = {key: after[key] for key in after if after[key] != before[key]}
    if changed:
        audit("class.updated", "school_class", klass.id, actor=by, school_id=klass.school_id,
              detail=changed)
    db.session.commit()
    return klass


def class_pupils(klass):
    """The class's pupils who have not left, by name, with their teams."""
    return list(db.session.scalars(
        select(Pupil).where(Pupil.class_id == klass.id, Pupil.school_id == klass.school_id,
                            Pupil.status == "active")
        .options(selectinload(Pupil.team)).order_by(Pupil.display_name)))


# ---- teams -------------------------------------------------------------------------------------

def teams_of(school):
    return list(db.session.scalars(select(Team).where(Team.school_id == school.id).order_by(Team.name)))


def _check_team(school_id, name, colour, exclude_id=None):
    if not name:
        raise AdminError(_("Enter the team's name."), "name")
    if colour not in TEAM_COLOURS:
        raise AdminError(_("Choose a colour."), "colour")
    stmt = select(Team.id).where(Team.school_id == school_id, func.lower(Team.name) == name.lower())
    if exclude_id is not None:
        stmt = stmt.where(Team.id != exclude_id)
    if db.session.scalar(stmt.limit(1)) is not None:
        raise AdminError(_("There is already a team called %(name)s.", name=name), "name")


def create_team(school, by, *, name, colour):
    name = _clean(name)
    _check_team(school.id, name, colour)
    team = Team(school_id=school.id, name=name, colour=colour)
    db.session.add(team)
    db.session.flush()
    audit("team.created", "team", team.id, actor=by, school_id=school.id,
          detail={"name": name, "colour": colour})
    db.session.commit()
    return team


def update_team(team, by, *, name, colour):
    name = _clean(name)
    _check_team(team.school_id, name, colour, exclude_id=team.id)
    before = (team.name, team.colour)
    team.name, team.colour = name, colour
    if before != (name, colour):
        audit("team.updated", "team", team.id, actor=by, school_id=team.school_id,
              detail={"name": name, "colour": colour})
    db.session.commit()
    return team


# ---- pupils ------------------------------------------------------------------------------------

def update_pupil(pupil, by, *, display_name, team_id, avatar):
    display_name = _clean(display_name)
    if not display_name:
        raise AdminError(_("Enter the pupil's name."), "display_name")
    team = None
    if team_id:
        team = db.session.scalar(select(Team).where(Team.id == team_id,
                                                    Team.school_id == pupil.school_id))
        if team is None:
            raise AdminError(_("Choose one of the school's teams."), "team_id")
    if avatar not in AVATARS:
        raise AdminError(_("Choose one of the pictures."), "avatar")
    changed = sorted(key for key, old, new in (
        ("display_name", pupil.display_name, display_name),
        ("team", pupil.team_id, team.id if team else None),
        ("avatar", pupil.avatar, avatar)) if old != new)
    pupil.display_name, pupil.team, pupil.avatar = display_name, team, avatar
    if changed:
        audit("pupil.updated", "pupil", pupil.id, actor=by, school_id=pupil.school_id,
              detail={"fields": changed})
    db.session.commit()
    return pupil


def move_targets(pupil):
    """Classes of the school's year that a pupil can move to."""
    return [c for c in classes_of_year(pupil.school) if c.id != pupil.class_id]


def move_pupil(pupil, by, class_id):
    if pupil.status != "active":
        raise AdminError(_("This pupil has left the school."))
    target = db.session.scalar(select(SchoolClass).where(
        SchoolClass.id == class_id, SchoolClass.school_id == pupil.school_id,
        SchoolClass.academic_year == school_year(pupil.school), SchoolClass.archived_at.is_(None)))
    if target is None:
        raise AdminError(_("Choose one of this year's classes."), "class_id")
    if target.id == pupil.class_id:
        raise AdminError(_("The pupil is already in %(name)s.", name=target.name), "class_id")
    previous = pupil.class_id
    pupil.class_id = target.id
    audit("pupil.moved", "pupil", pupil.id, actor=by, school_id=pupil.school_id,
          detail={"from_class": previous, "to_class": target.id})
    db.session.commit()
    return target


def _revoke_unused_passcodes(school_id, pupil_ids=None):
    """Unused, unrevoked parent passcodes stop working. Returns how many."""
    stmt = (update(Passcode)
            .where(Passcode.school_id == school_id, Passcode.used_at.is_(None),
                   Passcode.revoked_at.is_(None))
            .values(revoked_at=utcnow()).execution_options(synchronize_session=False))
    if pupil_ids is not None:
        if not pupil_ids:
            return 0
        stmt = stmt.where(Passcode.pupil_id.in_(pupil_ids))
    return db.session.execute(stmt).rowcount or 0


def mark_pupil_left(pupil, by):
    """The pupil leaves: off every class list, signed out everywhere, letters not yet used cancelled."""
    if pupil.status != "active":
        raise AdminError(_("This pupil has already left."))
    pupil.status = "left"
    pupil.left_on = school_today(pupil.school)
    revoke_all_sessions(pupil)
    revoked = _revoke_unused_passcodes(pupil.school_id, [pupil.id])
    audit("pupil.left", "pupil", pupil.id, actor=by, school_id=pupil.school_id,
          detail={"class": pupil.class_id, "passcodes_revoked": revoked})
    db.session.commit()
    return pupil


# ---- importing pupils from the management system's CSV export ---------------------------------

MAX_IMPORT_BYTES = 300_000  # about 3,000 pupils; the preview carries the file back in a form field

# key: (the column's name in the common export, other names systems use), all compared casefolded
IMPORT_COLUMNS = {
    "upn": ("UPN", ("upn", "unique pupil number")),
    "surname": ("Legal Surname", ("legal surname", "surname", "last name", "family name")),
    "forename": ("Legal Forename", ("legal forename", "forename", "first name", "given name")),
    "preferred": ("Preferred Forename", ("preferred forename", "preferred first name",
                                         "preferred name", "known as")),
    "year": ("Year", ("year", "year group", "nc year", "ncyear", "national curriculum year")),
    "class": ("Reg Group", ("reg group", "registration group", "reg", "form", "class")),
    "language": ("Home Language", ("home language", "first language", "language")),
}
REQUIRED_COLUMNS = ("upn", "surname", "forename", "year", "class")

_YEAR_WORDS = {
    "nursery": 0, "n": 0, "n1": 0, "n2": 0, "nur": 0, "f1": 0, "fs1": 0,
    "reception": 1, "r": 1, "rec": 1, "yr": 1, "yearr": 1, "f2": 1, "fs2": 1,
}
_YEAR_NUMBER = re.compile(r"^(?:year|yr|y)?(\d{1,2})$")


def parse_year_group(text):
    """The year group for "Year 3", "Y3", "3", "Reception", "R", "Nursery", "N1"...; None if unknown."""
    key = re.sub(r"[\s._-]+", "", (text or "").casefold())
    if key in _YEAR_WORDS:
        return _YEAR_WORDS[key]
    match = _YEAR_NUMBER.match(key)
    if match and 1 <= int(match.group(1)) <= 6:
        return int(match.group(1)) + 1  # Year 1 is stored as 2: Nursery 0, Reception 1
    return None


@dataclass
class ImportRow:
    line: int
    upn: str = ""
    display_name: str = ""
    year_group: int = None
    year_text: str = ""
    class_name: str = ""
    home_language: str = ""
    action: str = "add"  # add, update, unchanged, error
    errors: list = field(default_factory=list)
    changes: list = field(default_factory=list)
    pupil_id: int = None

    @property
    def year_group_label(self):
        return year_group_label(self.year_group) if self.year_group is not None else self.year_text


@dataclass
class ImportPlan:
    """What an import would do: row by row, with every problem found."""
    rows: list = field(default_factory=list)
    file_errors: list = field(default_factory=list)
    new_classes: list = field(default_factory=list)  # [(name, year_group)]
    academic_year: int = None

    @property
    def error_rows(self):
        return [row for row in self.rows if row.errors]

    @property
    def ok(self):
        return bool(self.rows) and not self.file_errors and not self.error_rows

    def count(self, action):
        return sum(1 for row in self.rows if row.action == action)


class ImportRejected(AdminError):
    """The file has problems; nothing was imported. ``plan`` says which."""

    def __init__(self, plan):
        super().__init__(_("Nothing was imported: the file has problems."))
        self.plan = plan


def _match_columns(header):
    names = [" ".join(cell.replace("\ufeff", "").split()).casefold() for cell in header]
    found = {}
    for key, (_name, aliases) in IMPORT_COLUMNS.items():
        for alias in aliases:
            if alias in names:
                found[key] = names.index(alias)
                break
    missing = [IMPORT_COLUMNS[key][0] for key in REQUIRED_COLUMNS if key not in found]
    return found, missing


def read_pupil_csv(data):
    """Read a management system's export: every row with its problems. No database access."""
    plan = ImportPlan()
    if len(data) > MAX_IMPORT_BYTES:
        plan.file_errors.append(_(
            "The file is too large (over %(size)d KB). Split it into several files, a few year "
            "groups each.", size=MAX_IMPORT_BYTES // 1000))
        return plan
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        plan.file_errors.append(_(
            "The file is not saved as UTF-8 text (the first problem is on line %(line)d), so names "
            "with accents or other scripts would be garbled. Export it again as “CSV UTF-8”.",
            line=data[:error.start].count(b"\n") + 1))
        return plan
    text = text.lstrip("\ufeff")
    if not text.strip():
        plan.file_errors.append(_("The file is empty."))
        return plan
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
        while not any(cell.strip() for cell in header):
            header = next(reader)
        columns, missing = _match_columns(header)
        for name in missing:
            plan.file_errors.append(_("The column “%(column)s” is missing.", column=name))
        if missing:
            return plan
        seen_upns = {}
        class_years = {}
        for record in reader:
            if any(cell.strip() for cell in record):
                plan.rows.append(_read_row(reader.line_num, record, columns, seen_upns, class_years))
    except StopIteration:
        pass
    except csv.Error as error:
        plan.file_errors.append(_("The file could not be read as CSV near line %(line)d: %(problem)s",
                                  line=reader.line_num, problem=str(error)))
        return plan
    if not plan.rows and not plan.file_errors:
        plan.file_errors.append(_("The file has column headings but no pupils."))
    return plan


def _read_row(line, record, columns, seen_upns, class_years):
    def cell(key):
        index = columns.get(key)
        return _clean(record[index]) if index is not None and index < len(record) else ""

    row = ImportRow(line=line)
    errors = row.errors
    row.upn = cell("upn").upper()
    if not row.upn:
        errors.append(_("The UPN is missing."))
    elif len(row.upn) > 20:
        errors.append(_("The UPN is too long to be a UPN."))
    elif row.upn in seen_upns:
        errors.append(_("UPN %(upn)s is also on line %(line)d: each pupil must appear once.",
                        upn=row.upn, line=seen_upns[row.upn]))
    else:
        seen_upns[row.upn] = line

    surname, forename = cell("surname"), cell("preferred") or cell("forename")
    if not forename:
        errors.append(_("The forename is missing."))
    if not surname:
        errors.append(_("The surname is missing."))
    row.display_name = display_name_from(forename, surname)
    if len(row.display_name) > 80:
        errors.append(_("The name is too long."))

    row.year_text = cell("year")
    row.year_group = parse_year_group(row.year_text)
    if not row.year_text:
        errors.append(_("The year group is missing."))
    elif row.year_group is None:
        errors.append(_("“%(value)s” is not a year group: use Nursery, Reception or Year 1 to Year 6.",
                        value=row.year_text))

    row.class_name = cell("class")
    if not row.class_name:
        errors.append(_("The registration group (the class) is missing."))
    elif len(row.class_name) > 40:
        errors.append(_("The registration group's name is too long."))
    elif row.year_group is not None:
        first = class_years.setdefault(row.class_name.casefold(), (row.year_group, line))
        if first[0] != row.year_group:
            errors.append(_("Class %(name)s is %(year)s on line %(line)d but %(other)s here.",
                            name=row.class_name, year=year_group_label(first[0]), line=first[1],
                            other=year_group_label(row.year_group)))
    row.home_language = cell("language")[:40]
    if errors:
        row.action = "error"
    return row


def plan_pupil_import(school, data):
    """Read the file and compare it with the school: who would be added, updated, and every problem."""
    plan = read_pupil_csv(data)
    if plan.file_errors:
        return plan
    year = school_year(school)
    plan.academic_year = year
    classes = {c.name.casefold(): c for c in db.session.scalars(select(SchoolClass).where(
        SchoolClass.school_id == school.id, SchoolClass.academic_year == year))}
    pupils = {p.upn.upper(): p for p in db.session.scalars(select(Pupil).options(
        selectinload(Pupil.school_class)).where(Pupil.school_id == school.id, Pupil.upn.is_not(None)))}
    planned = set()
    for row in plan.rows:
        if row.class_name and row.year_group is not None:
            key = row.class_name.casefold()
            klass = classes.get(key)
            if klass is not None and klass.archived_at is not None:
                row.errors.append(_("Class %(name)s of %(year)s has been archived.",
                                    name=klass.name, year=academic_year_label(year)))
            elif klass is not None and klass.year_group != row.year_group:
                row.errors.append(_(
                    "Class %(name)s already exists as %(year)s, but this row says %(other)s.",
                    name=klass.name, year=klass.year_group_label,
                    other=year_group_label(row.year_group)))
            elif klass is None and key not in planned:
                planned.add(key)
                plan.new_classes.append((row.class_name, row.year_group))
        pupil = pupils.get(row.upn) if row.upn else None
        if row.errors:
            row.action = "error"
        elif pupil is not None:
            _describe_update(row, pupil, classes)
    return plan


def _describe_update(row, pupil, classes):
    row.pupil_id = pupil.id
    klass = classes.get(row.class_name.casefold())
    if pupil.status != "active":
        row.changes.append(_("returns to the school"))
    if pupil.display_name != row.display_name:
        row.changes.append(_("name %(old)s → %(new)s", old=pupil.display_name, new=row.display_name))
    if klass is None or pupil.class_id != klass.id:
        old = pupil.school_class.name if pupil.school_class else "—"
        row.changes.append(_("class %(old)s → %(new)s", old=old, new=row.class_name))
    if (pupil.home_language or "") != row.home_language:
        row.changes.append(_("home language"))
    row.action = "update" if row.changes else "unchanged"


def import_pupils(school, by, data):
    """Check the whole file again, then add and update every pupil in one transaction.

    Any problem anywhere raises ImportRejected and nothing is changed.
    """
    plan = plan_pupil_import(school, data)
    if not plan.ok:
        raise ImportRejected(plan)
    year = plan.academic_year
    classes = {c.name.casefold(): c for c in db.session.scalars(select(SchoolClass).where(
        SchoolClass.school_id == school.id, SchoolClass.academic_year == year))}
    for name, year_group in plan.new_classes:
        klass = SchoolClass(school_id=school.id, name=name, year_group=year_group, academic_year=year,
                            class_code=new_class_code())
        db.session.add(klass)
        db.session.flush()
        classes[name.casefold()] = klass
    for row in plan.rows:
        klass = classes[row.class_name.casefold()]
        if row.action == "add":
            db.session.add(Pupil(
                school_id=school.id, class_id=klass.id, upn=row.upn, display_name=row.display_name,
                home_language=row.home_language or None, avatar=random_avatar(),
                picture_password=new_picture_password(klass.year_group)))
        elif row.action == "update":
            pupil = db.session.get(Pupil, row.pupil_id)
            pupil.display_name = row.display_name
            pupil.class_id = klass.id
            pupil.home_language = row.home_language or None
            if pupil.status != "active":
                pupil.status, pupil.left_on = "active", None
    audit("pupils.imported", "school", school.id, actor=by, school_id=school.id, detail={
        "academic_year": year, "added": plan.count("add"), "updated": plan.count("update"),
        "unchanged": plan.count("unchanged"), "classes_created": [n for n, _y in plan.new_classes]})
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise AdminError(_("Someone else changed the school's pupils at the same moment. "
                           "Nothing was imported: please try again.")) from None
    return plan


# ---- staff -------------------------------------------------------------------------------------

def pending_invites(school):
    now = utcnow()
    return list(db.session.scalars(select(StaffInvite).where(
        StaffInvite.school_id == school.id, StaffInvite.accepted_at.is_(None),
        StaffInvite.revoked_at.is_(None), StaffInvite.expires_at > now)
        .order_by(StaffInvite.created_at.desc())))


@dataclass
class Invitation:
    invite: StaffInvite
    link: str  # shown once, never stored
    mailed: bool


def invite_staff_member(school, by, *, name, email, role, can_manage_school, link_for_token):
    """A one-time link for a new member of staff, emailed to them and returned to be shown once."""
    if not can_invite_role(by, role):
        raise AdminError(_("You cannot invite someone with that role."), "role")
    if can_manage_school and not by.is_head:
        raise AdminError(_("Only the headteacher can allow someone to run the school."),
                         "can_manage_school")
    if not _clean(name):
        raise AdminError(_("Enter their name."), "name")
    try:
        invite, token = accounts.invite_staff(school, email, _clean(name), role, invited_by=by,
                                              can_manage_school=bool(can_manage_school))
    except accounts.AccountError as error:
        raise AdminError(str(error), "email") from error
    link = link_for_token(token)
    try:
        days = max(1, round((invite.expires_at - invite.created_at).total_seconds() / 86400))
        send_mail(invite.email, _("You are invited to join %(school)s on Hearth", school=school.name),
                  ngettext("Hello %(name)s,\n\n%(by)s has invited you to join %(school)s on Hearth. "
                           "To create your account, open this link within %(num)d day:\n\n%(link)s\n\n"
                           "The link works once. If you did not expect this email, you can ignore it.",
                           "Hello %(name)s,\n\n%(by)s has invited you to join %(school)s on Hearth. "
                           "To create your account, open this link within %(num)d days:\n\n%(link)s\n\n"
                           "The link works once. If you did not expect this email, you can ignore it.",
                           days, name=invite.name, by=by.name, school=school.name, link=link))
        mailed = True
    except (OSError, smtplib.SMTPException):
        mailed = False
    return Invitation(invite, link, mailed)


def cancel_invite(invite, by):
    if invite.state(utcnow()) != "pending":
        raise AdminError(_("This invitation has already been used, cancelled or has expired."))
    accounts.revoke_invite(invite, by)


def set_can_manage_school(user, by, allowed):
    """The headteacher lets a member of staff run the school, or stops them."""
    if not by.is_head:
        raise AdminError(_("Only the headteacher can change who runs the school."))
    if not user.is_staff or user.school_id != by.school_id:
        raise AdminError(_("Choose a member of this school's staff."))
    if user.is_head:
        raise AdminError(_("A headteacher always runs the school."))
    allowed = bool(allowed)
    if user.can_manage_school != allowed:
        user.can_manage_school = allowed
        audit("staff.manage_school_changed", "user", user.id, actor=by, school_id=user.school_id,
              detail={"allowed": allowed})
    db.session.commit()
    return user


# ---- the year-end rollover --------------------------------------------------------------------

@dataclass
class RolloverPlan:
    from_year: int
    moving: list   # [(class, its new year group's label, number of pupils)]
    leaving: list  # [(class, number of pupils)]
    pupils_moving: int
    pupils_leaving: int
    passcodes: int
    blocked: str = None  # why it cannot run now, for the user

    @property
    def to_year(self):
        return self.from_year + 1

    @property
    def from_label(self):
        return academic_year_label(self.from_year)

    @property
    def to_label(self):
        return academic_year_label(self.to_year)


def _rollover_blocked(school, from_year, classes):
    if not classes:
        return _("There are no classes to move on.")
    if from_year > calendar_year(school):
        return _("The classes have already moved on to %(year)s. The next year-end rollover can be "
                 "done from September.", year=academic_year_label(from_year))
    taken = db.session.scalars(select(SchoolClass.name).where(
        SchoolClass.school_id == school.id, SchoolClass.academic_year == from_year + 1,
        func.lower(SchoolClass.name).in_([c.name.lower() for c in classes]))).all()
    if taken:
        return _("%(year)s already has classes with these names: %(names)s. Rename them first.",
                 year=academic_year_label(from_year + 1), names=", ".join(sorted(taken)))
    return None


def rollover_plan(school):
    """Exactly what the year-end rollover would do now, for the confirmation page."""
    from_year = school_year(school)
    classes = classes_of_year(school, from_year)
    counts = dict(db.session.execute(
        select(Pupil.class_id, func.count(Pupil.id))
        .where(Pupil.school_id == school.id, Pupil.status == "active",
               Pupil.class_id.in_([c.id for c in classes]))
        .group_by(Pupil.class_id)).all()) if classes else {}
    moving = [(c, year_group_label(c.year_group + 1), counts.get(c.id, 0))
              for c in classes if c.year_group < LAST_YEAR_GROUP]
    leaving = [(c, counts.get(c.id, 0)) for c in classes if c.year_group >= LAST_YEAR_GROUP]
    passcodes = db.session.scalar(select(func.count(Passcode.id)).where(
        Passcode.school_id == school.id, Passcode.used_at.is_(None), Passcode.revoked_at.is_(None)))
    return RolloverPlan(
        from_year=from_year, moving=moving, leaving=leaving,
        pupils_moving=sum(n for _c, _label, n in moving),
        pupils_leaving=sum(n for _c, n in leaving), passcodes=passcodes,
        blocked=_rollover_blocked(school, from_year, classes))


def roll_over_year(school, by, from_year):
    """Move every class of ``from_year`` up a year group into the next academic year.

    Year 6 classes are archived and their pupils leave; every class gets a new class code; unused
    parent passcodes are revoked so that new letters are printed. Only classes still in
    ``from_year`` move, so a second submission of the same confirmation changes nothing.
    """
    if not by.is_head:
        raise AdminError(_("Only the headteacher can do the year-end rollover."))
    if from_year != school_year(school):
        raise AdminError(_("The year-end rollover from %(year)s has already been done.",
                           year=academic_year_label(from_year)))
    classes = list(db.session.scalars(
        select(SchoolClass).where(SchoolClass.school_id == school.id,
                                  SchoolClass.academic_year == from_year,
                                  SchoolClass.archived_at.is_(None))
        .order_by(SchoolClass.id).with_for_update()))
    blocked = _rollover_blocked(school, from_year, classes)
    if blocked:
        raise AdminError(blocked)
    now, today = utcnow(), school_today(school)
    moved, archived, left = [], [], 0
    leaving_ids = [c.id for c in classes if c.year_group >= LAST_YEAR_GROUP]
    leavers = list(db.session.scalars(select(Pupil).where(
        Pupil.school_id == school.id, Pupil.status == "active",
        Pupil.class_id.in_(leaving_ids)))) if leaving_ids else []
    for pupil in leavers:
        pupil.status, pupil.left_on = "left", today
        revoke_all_sessions(pupil)
        left += 1
    for klass in classes:
        klass.class_code = new_class_code()
        if klass.year_group >= LAST_YEAR_GROUP:
            klass.archived_at = now
            archived.append(klass.id)
        else:
            klass.year_group += 1
            klass.academic_year = from_year + 1
            moved.append(klass.id)
    revoked = _revoke_unused_passcodes(school.id)
    summary = {"from_year": from_year, "to_year": from_year + 1, "moved": len(moved),
               "archived": len(archived), "pupils_left": left, "passcodes_revoked": revoked}
    audit("school.rolled_over", "school", school.id, actor=by, school_id=school.id, detail=summary)
    db.session.commit()
    return summary
