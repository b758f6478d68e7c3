"""The audit log: append-only from the application (SECURITY.md 29)."""
import json

from sqlalchemy import event

from ..extensions import db
from .base import utcnow


class AuditEntry(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    school_id = db.Column(db.ForeignKey("school.id"), index=True)
    at = db.Column(db.DateTime, nullable=False, default=utcnow)  # UTC
    actor_user_id = db.Column(db.Integer)  # no foreign key: the log outlives the accounts it names
    actor_pupil_id = db.Column(db.Integer)
    action = db.Column(db.String(60), nullable=False)
    target_type = db.Column(db.String(40))
    target_id = db.Column(db.Integer)
    detail_json = db.Column(db.Text, nullable=False, default="{}")

    @property
    def detail(self):
        return json.loads(self.detail_json or "{}")


class AuditLogIsAppendOnly(RuntimeError):
    pass


@event.listens_for(AuditEntry, "before_update")
def _refuse_update(mapper, connection, target):
    raise AuditLogIsAppendOnly("audit entries cannot be changed")


@event.listens_for(AuditEntry, "before_delete")
def _refuse_delete(mapper, connection, target):
    raise AuditLogIsAppendOnly("audit entries cannot be deleted")
