"""A senior leader's read-only access to a private conversation they opened with a reason.

Kept in the senior leader's own session (signed cookie), never in the database: it ends with the
session, after ``monitoring.GRANT_LENGTH``, and belongs to the account that opened it, so another
senior leader (or the same one after signing in again) is asked for a reason again. The media
route asks ``holds_grant`` too, so that the conversation's attachments open while it lasts.
"""
from flask import session

from ...services import monitoring

SESSION_KEY = "monitoring_grants"


def _grants():
    grants = session.get(SESSION_KEY)
    return grants if isinstance(grants, dict) else {}


def grant_ends(account, conversation):
    """When this account's access to the conversation ends (naive UTC), or None: no access now."""
    if conversation is None or not account.is_authenticated:
        return None
    grant = _grants().get(str(conversation.id))
    if not monitoring.grant_is_valid(grant, account, conversation):
        return None
    return monitoring.grant_end(grant)


def holds_grant(account, conversation):
    return grant_ends(account, conversation) is not None


def keep_grant(account, conversation, until):
    """Remember the grant; those that are over (or another account's) are dropped at the same time."""
    kept = {key: grant for key, grant in _grants().items()
            if isinstance(grant, list) and len(grant) == 3 and grant[0] == account.id
            and monitoring.grant_still_running(grant)}
    kept[str(conversation.id)] = monitoring.grant_record(account, conversation, until)
    session[SESSION_KEY] = kept
