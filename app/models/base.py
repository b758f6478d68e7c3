from datetime import UTC, datetime


def utcnow():
    """The current time in UTC, naive: every timestamp in the database is naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)
