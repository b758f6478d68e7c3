"""The academic year: it starts on 1 September, in the school's time zone."""
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


def current_academic_year(today=None):
    """The calendar year in which the current academic year started (2026 for 2026-27)."""
    today = today or date.today()
    return today.year if today.month >= 9 else today.year - 1


def end_of_academic_year(academic_year, tz_name="Europe/London"):
    """The last moment of 31 August that ends the academic year, as naive UTC."""
    local = datetime.combine(date(academic_year + 1, 8, 31), time(23, 59, 59), ZoneInfo(tz_name))
    return local.astimezone(UTC).replace(tzinfo=None)
