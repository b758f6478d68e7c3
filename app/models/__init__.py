"""Domain models, one module per domain. Importing this package registers every table."""
from .audit import AuditEntry
from .consent import PhotoConsent
from .media import MediaFile, MediaTag
from .people import Acknowledgement, ParentLink, Passcode, PolicyDocument, Pupil, StaffInvite, User
from .points import PointAward, PointCategory, ReadingLogEntry
from .portfolio import PortfolioItem
from .school import YEAR_GROUPS, School, SchoolClass, Team, class_teachers, year_group_label
from .stories import Comment, Like, Post, PostRevision, PostSeen

__all__ = [
    "Acknowledgement", "AuditEntry", "Comment", "Like", "MediaFile", "MediaTag", "ParentLink", "Passcode",
    "PhotoConsent", "PointAward", "PointCategory", "PolicyDocument", "PortfolioItem", "Post", "PostRevision",
    "PostSeen", "Pupil", "ReadingLogEntry", "School", "SchoolClass", "StaffInvite", "Team", "User",
    "YEAR_GROUPS", "class_teachers", "year_group_label",
]
