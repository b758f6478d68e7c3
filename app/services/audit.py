"""Writing to the append-only audit log."""
import json

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import AuditEntry
from ..models.audit import AuditLogIsAppendOnly
from ..models.base import utcnow


def _actor():
    if not has_request_context():
        return None, None, None
    account = current_user
    if account is None or not account.is_authenticated:
        return None, None, None
    if account.is_pupil:
        return None, account.id, account.school_id
    return account.id, None, account.school_id


def audit(action, target_type=None, target_id=None, detail=None, school_id=None, actor=None,
          commit=False):
    """Add an entry to the audit log, in the caller's transaction unless ``commit`` is asked for.

    With ``commit=True`` whatever the request had pending is discarded first (a refused request
    keeps nothing) and the entry is committed on its own. It is written through the request's own
    session: on SQLite a second connection would wait for the write lock this session holds.
    """
    user_id, pupil_id, actor_school = _actor()
    if actor is not None:
        if actor.is_pupil:
            user_id, pupil_id = None, actor.id
        else:
            user_id, pupil_id = actor.id, None
        actor_school = actor.school_id
    values = dict(
        school_id=school_id if school_id is not None else actor_school,
        at=utcnow(), actor_user_id=user_id, actor_pupil_id=pupil_id, action=action,
        target_type=target_type, target_id=target_id,
        detail_json=json.dumps(detail or {}, ensure_ascii=False, sort_keys=True),
    )
    if commit:
        db.session.rollback()
    entry = AuditEntry(**values)
    db.session.add(entry)
    if commit:
        db.session.commit()
    return entry


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state):
    """The ORM refuses to change or delete an AuditEntry object (app/models/audit.py); this refuses
    the bulk paths too: ``session.execute(update(AuditEntry))``, ``delete(AuditEntry)``, the same
    on the table, and ``query.update()``/``query.delete()`` (SECURITY.md 29)."""
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    mapper = state.bind_mapper
    if (mapper is not None and mapper.class_ is AuditEntry) or table is AuditEntry.__table__:
        raise AuditLogIsAppendOnly("audit entries cannot be changed or deleted")
