"""Domain models, one module per domain. Importing this package registers every table."""
from .audit import AuditEntry
from .calendar import CalendarEntry, StaffAway, StaffHours
from .consent import PhotoConsent
from .media import MediaFile, MediaTag
from .messaging import AccountAction, BlockedWord, ContentReport, Conversation, Message, PupilMessagingYear
from .notifications import EmailDelivery, Notification, NotificationPreference
from .people import Acknowledgement, ParentLink, Passcode, PolicyDocument, Pupil, StaffInvite, User
from .points import PointAward, PointCategory, ReadingLogEntry
from .portfolio import PortfolioItem
from .school import YEAR_GROUPS, School, SchoolClass, Team, class_teachers, year_group_label
from .stories import Comment, Like, Post, PostRevision, PostSeen
from .translation import GlossaryTerm, Translation

__all__ = [
    "AccountAction", "Acknowledgement", "AuditEntry", "BlockedWord", "CalendarEntry", "Comment",
    "ContentReport", "Conversation", "EmailDelivery", "Notification", "NotificationPreference",
    "Message", "Like", "MediaFile", "MediaTag", "ParentLink", "Passcode",
    "PhotoConsent", "PointAward", "PointCategory", "PolicyDocument", "PortfolioItem", "Post", "PostRevision",
    "PostSeen", "Pupil", "PupilMessagingYear", "ReadingLogEntry", "School", "SchoolClass", "StaffAway",
    "StaffHours", "StaffInvite", "Team", "User", "GlossaryTerm", "Translation", "YEAR_GROUPS",
    "class_teachers", "year_group_label",
]
