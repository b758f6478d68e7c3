from datetime import datetime, timezone


def utcnow():
    """The current time in UTC, naive: every timestamp in the database is naive UTC."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
