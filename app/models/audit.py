"""The audit log: append-only (SECURITY.md 29), in the application and in the database.

The ORM refuses to change or delete an entry (below, and app/services/audit.py for the bulk paths);
triggers in the database refuse it too, for raw SQL and for anything but Hearth that connects. The
triggers are made with the table (create_all, the tests) and by migration d2f1a9c3e7b4 (installs),
which writes the same statements out.
"""
import json

from sqlalchemy import DDL, event

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


# The same refusal in the database itself. TRUNCATE and DROP (a test database's clean-up, removing
# an install) are not row changes and stay possible for the database's owner.
SQLITE_TRIGGERS = [
    DDL("CREATE TRIGGER IF NOT EXISTS audit_entry_no_update BEFORE UPDATE ON audit_entry "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"),
    DDL("CREATE TRIGGER IF NOT EXISTS audit_entry_no_delete BEFORE DELETE ON audit_entry "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"),
]
POSTGRESQL_TRIGGERS = [
    DDL("CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'the audit log is append-only'; END; $$ LANGUAGE plpgsql"),
    DDL("DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry"),
    DDL("CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry "
        "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()"),
]
for _ddl in SQLITE_TRIGGERS:
    event.listen(AuditEntry.__table__, "after_create", _ddl.execute_if(dialect="sqlite"))
for _ddl in POSTGRESQL_TRIGGERS:
    event.listen(AuditEntry.__table__, "after_create", _ddl.execute_if(dialect="postgresql"))
