"""Reading the audit log: the head's filtered, keyset-paged list and its CSV export (issue 8 part 7).

Writing is app/services/audit.py. Entries are stored in UTC; the date filters are days in the
school's time zone. Viewing and exporting are themselves written to the log.
"""
import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, false, or_, select

from ..extensions import db
from ..models import AuditEntry, Pupil, User
from .audit import audit

PAGE_SIZE = 50
# A spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = ("at_utc", "actor", "actor_user_id", "actor_pupil_id", "action", "target_type",
               "target_id", "detail")


@dataclass(frozen=True)
class AuditFilters:
    action: str = ""
    who: str = ""
    target_type: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def as_detail(self):
        """What was asked for, for the audit entry that records the look."""
        values = {"action": self.action, "who": self.who, "target_type": self.target_type,
                  "date_from": self.date_from.isoformat() if self.date_from else "",
                  "date_to": self.date_to.isoformat() if self.date_to else ""}
        return {key: value for key, value in values.items() if value}


@dataclass
class AuditPage:
    entries: list
    actors: dict          # (kind, id) -> name, kind "user" or "pupil"
    next_cursor: str | None


def actions_present(school_id):
    return list(db.session.scalars(select(AuditEntry.action).where(AuditEntry.school_id == school_id)
                                   .distinct().order_by(AuditEntry.action)))


def target_types_present(school_id):
    return list(db.session.scalars(
        select(AuditEntry.target_type).where(AuditEntry.school_id == school_id,
                                             AuditEntry.target_type.is_not(None))
        .distinct().order_by(AuditEntry.target_type)))


def _utc_start_of(day, zone):
    """Midnight at the start of ``day`` in the school's zone, as a naive UTC datetime."""
    local = datetime.combine(day, time(0, 0), tzinfo=zone)
    return local.astimezone(UTC).replace(tzinfo=None)


def _who_condition(school_id, who):
    """Entries by the people ``who`` names: a name (or part of one) or an account number "#12"."""
    who = who.strip()
    number = re.fullmatch(r"#?\s*(\d{1,9})", who)
    if number:
        ident = int(number.group(1))
        return or_(AuditEntry.actor_user_id == ident, AuditEntry.actor_pupil_id == ident)
    pattern = "%" + who.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    user_ids = list(db.session.scalars(select(User.id).where(
        User.school_id == school_id, User.name.ilike(pattern, escape="\\"))))
    pupil_ids = list(db.session.scalars(select(Pupil.id).where(
        Pupil.school_id == school_id, Pupil.display_name.ilike(pattern, escape="\\"))))
    if not user_ids and not pupil_ids:
        return false()
    return or_(AuditEntry.actor_user_id.in_(user_ids or [-1]),
               AuditEntry.actor_pupil_id.in_(pupil_ids or [-1]))


def _statement(school, filters):
    stmt = select(AuditEntry).where(AuditEntry.school_id == school.id)
    if filters.action:
        stmt = stmt.where(AuditEntry.action == filters.action)
    if filters.target_type:
        stmt = stmt.where(AuditEntry.target_type == filters.target_type)
    if filters.who.strip():
        stmt = stmt.where(_who_condition(school.id, filters.who))
    zone = ZoneInfo(school.timezone or "Europe/London")
    if filters.date_from:
        stmt = stmt.where(AuditEntry.at >= _utc_start_of(filters.date_from, zone))
    if filters.date_to:
        stmt = stmt.where(AuditEntry.at < _utc_start_of(filters.date_to + timedelta(days=1), zone))
    return stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())


def _cursor_of(entry):
    return f"{entry.at.strftime('%Y%m%dT%H%M%S%f')}-{entry.id}"


def parse_cursor(value):
    """(at, id) from an "Older" link, or None when it is missing or not one of ours."""
    match = re.fullmatch(r"(\d{8}T\d{12})-(\d{1,12})", value or "")
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1), "%Y%m%dT%H%M%S%f"), int(match.group(2))
    except ValueError:
        return None


def actor_names(school_id, entries):
    """Names of the people behind ``entries``, in two queries: staff and parents by name, pupils by
    display name. An account that no longer exists (or belongs elsewhere) has no name here."""
    user_ids = {e.actor_user_id for e in entries if e.actor_user_id is not None}
    pupil_ids = {e.actor_pupil_id for e in entries if e.actor_pupil_id is not None}
    names = {}
    if user_ids:
        for ident, name in db.session.execute(select(User.id, User.name).where(
                User.id.in_(user_ids), User.school_id == school_id)):
            names[("user", ident)] = name
    if pupil_ids:
        for ident, name in db.session.execute(select(Pupil.id, Pupil.display_name).where(
                Pupil.id.in_(pupil_ids), Pupil.school_id == school_id)):
            names[("pupil", ident)] = name
    return names


def actor_key(entry):
    if entry.actor_user_id is not None:
        return ("user", entry.actor_user_id)
    if entry.actor_pupil_id is not None:
        return ("pupil", entry.actor_pupil_id)
    return None


def view_page(school, filters, by, before=None, size=PAGE_SIZE):
    """One page of the log, newest first, after the ``before`` cursor; the look is audited."""
    stmt = _statement(school, filters)
    cursor = parse_cursor(before)
    if cursor:
        at, ident = cursor
        stmt = stmt.where(or_(AuditEntry.at < at, and_(AuditEntry.at == at, AuditEntry.id < ident)))
    rows = list(db.session.scalars(stmt.limit(size + 1)))
    more = len(rows) > size
    entries = rows[:size]
    page = AuditPage(entries=entries, actors=actor_names(school.id, entries),
                     next_cursor=_cursor_of(entries[-1]) if more else None)
    detail = filters.as_detail()
    if cursor:
        detail["page_after"] = before
    audit("audit.viewed", "school", school.id, detail=detail, actor=by, school_id=school.id)
    db.session.commit()
    return page


def neutralise(value):
    """A cell a spreadsheet will show as text, never run as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def _utc_iso(moment):
    return moment.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


def export_csv(school, filters, by):
    """The whole filtered log as CSV text (UTC ISO times, formulas neutralised); the export is audited."""
    entries = list(db.session.scalars(_statement(school, filters)))
    names = actor_names(school.id, entries)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        key = actor_key(entry)
        name = names.get(key, f"#{key[1]}") if key else ""
        writer.writerow([neutralise(cell) for cell in (
            _utc_iso(entry.at), name, entry.actor_user_id, entry.actor_pupil_id, entry.action,
            entry.target_type, entry.target_id,
            json.dumps(entry.detail, ensure_ascii=False, sort_keys=True))])
    audit("audit.exported", "school", school.id, detail=dict(filters.as_detail(), rows=len(entries)),
          actor=by, school_id=school.id)
    db.session.commit()
    return out.getvalue()


def detail_items(entry):
    """An entry's detail as (key, text) pairs for the page; the template escapes the text."""
    items = []
    for key, value in sorted(entry.detail.items()):
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
        items.append((key, text))
    return items
