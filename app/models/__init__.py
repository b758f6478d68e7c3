"""Domain models, one module per domain. Importing this package registers every table."""
from .audit import AuditEntry
from .people import Acknowledgement, ParentLink, Passcode, PolicyDocument, Pupil, StaffInvite, User
from .points import PointAward, PointCategory, ReadingLogEntry
from .school import YEAR_GROUPS, School, SchoolClass, Team, class_teachers, year_group_label

__all__ = [
    "Acknowledgement", "AuditEntry", "ParentLink", "Passcode", "PointAward", "PointCategory",
    "PolicyDocument", "Pupil", "ReadingLogEntry", "School", "SchoolClass", "StaffInvite", "Team", "User",
    "YEAR_GROUPS", "class_teachers", "year_group_label",
]
