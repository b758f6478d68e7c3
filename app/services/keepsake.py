"""The keepsake: a child's approved work of one academic year, as one zip a family keeps.

The archive holds each photo's large WebP (and each video) under ``photos/`` and ``videos/``, and an
``index.html`` that opens offline from the unzipped folder: inline CSS only, no scripts, nothing
remote, every piece of user text escaped. It is written into a temporary file on disk, one media
file at a time, so building it never holds more than one file's chunk of image data in memory.
"""
import re
import tempfile
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import get_locale
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..i18n import text_direction
from ..models import Comment, MediaFile, PortfolioItem, User
from ..models.base import utcnow
from ..models.portfolio import ITEM_APPROVED
from .audit import audit
from .media import file_path
from .points import school_today
from .school_calendar import current_academic_year, end_of_academic_year
from .stories import visible_comments_clause

INDEX_TEMPLATE = "keepsake/archive_index.html"
YEARS_BACK = 12


def year_label(year):
    """2026 -> "2026-27"."""
    return f"{year}-{(year + 1) % 100:02d}"


def year_bounds(year, tz_name):
    """The academic year as naive UTC: after the end of the year before, up to its own end."""
    return end_of_academic_year(year - 1, tz_name), end_of_academic_year(year, tz_name)


def school_year_now(school, now=None):
    return current_academic_year(school_today(school, now))


def academic_year_of(moment, tz_name):
    """The academic year of a naive UTC time, in the school's time zone."""
    local = moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(tz_name))
    return current_academic_year(local.date())


def years_to_choose(pupil, now=None):
    """[(year, approved items that year)], newest first: the current year, and each earlier year
    back to the first approved item (one query on the pupil's index)."""
    school = pupil.school
    current = school_year_now(school, now)
    counts = defaultdict(int)
    for created_at in db.session.scalars(select(PortfolioItem.created_at).where(
            PortfolioItem.pupil_id == pupil.id, PortfolioItem.status == ITEM_APPROVED,
            PortfolioItem.shown_to_others())):
        counts[academic_year_of(created_at, school.timezone)] += 1
    first = max(min(counts, default=current), current - YEARS_BACK)
    return [(year, counts.get(year, 0)) for year in range(current, first - 1, -1)]


def archive_name(pupil, year):
    """"Zosia-K-2026-27-keepsake.zip" (letters of any script kept; the rest become hyphens)."""
    stem = re.sub(r"[\W_]+", "-", pupil.display_name or "").strip("-") or "pupil"
    return f"{stem}-{year_label(year)}-keepsake.zip"


@dataclass
class Entry:
    """One item as the index shows it: its local date, text, files in the archive, comments."""
    item: PortfolioItem
    day: object
    photos: list = field(default_factory=list)  # [(archive name, MediaFile)]
    videos: list = field(default_factory=list)
    comments: list = field(default_factory=list)


@dataclass
class Keepsake:
    file: object  # an open temporary file, at its start
    size: int
    filename: str
    items: int
    photos: int
    videos: int


def entries_for(pupil, reader, year):
    """The approved items of the year, oldest first, with their media and the comments this reader
    may see: three queries whatever the number of items."""
    school = pupil.school
    start, end = year_bounds(year, school.timezone)
    items = list(db.session.scalars(
        select(PortfolioItem).where(PortfolioItem.pupil_id == pupil.id, PortfolioItem.school_id == pupil.school_id,
                                    PortfolioItem.status == ITEM_APPROVED, PortfolioItem.shown_to_others(),
                                    PortfolioItem.created_at > start,
                                    PortfolioItem.created_at <= end)
        .options(joinedload(PortfolioItem.added_by))
        .order_by(PortfolioItem.created_at, PortfolioItem.id)))
    tz = ZoneInfo(school.timezone)
    entries = {i.id: Entry(i, i.created_at.replace(tzinfo=ZoneInfo("UTC")).astimezone(tz).date()) for i in items}
    if not entries:
        return []
    ids = list(entries)
    numbers = defaultdict(int)  # photos/<date>-<n>: n counts the day's files
    media_rows = db.session.scalars(select(MediaFile).where(MediaFile.portfolio_item_id.in_(ids))
                                    .order_by(MediaFile.portfolio_item_id, MediaFile.position, MediaFile.id))
    by_item = defaultdict(list)
    for media in media_rows:
        by_item[media.portfolio_item_id].append(media)
    for item_id in ids:  # oldest item first, so the numbers follow the order of the index
        entry = entries[item_id]
        for media in by_item[item_id]:
            if not _on_disk(media):
                continue
            if media.is_image:
                numbers[("photos", entry.day)] += 1
                entry.photos.append((f"photos/{entry.day.isoformat()}-{numbers[('photos', entry.day)]}.webp", media))
            elif media.is_video:
                numbers[("videos", entry.day)] += 1
                entry.videos.append((f"videos/{entry.day.isoformat()}-{numbers[('videos', entry.day)]}.mp4", media))
    # The rule of stories.comments_for, for every item at once; a comment a teacher hid from
    # families, or one held for review (issue 8), stays out of the keepsake whoever downloads it.
    comments = db.session.scalars(
        select(Comment).join(User, User.id == Comment.author_id)
        .where(Comment.portfolio_item_id.in_(ids), Comment.shown_to_others(),
               visible_comments_clause(reader, school))
        .options(joinedload(Comment.author)).order_by(Comment.created_at, Comment.id))
    for comment in comments:
        entries[comment.portfolio_item_id].comments.append(comment)
    return list(entries.values())


def _on_disk(media):
    variant = "large" if media.is_image else "video" if media.is_video else None
    if variant is None:
        return False
    if file_path(media, variant).is_file():
        return True
    current_app.logger.warning("keepsake: the %s of media %s is missing on disk", variant, media.id)
    return False


def render_index(pupil, year, entries, made_at):
    """The archive's index.html, from the app's (autoescaping) Jinja environment with only what
    it is given: no request, no session, no address of this server."""
    locale = str(get_locale() or "en")
    template = current_app.jinja_env.get_template(INDEX_TEMPLATE)
    return template.render(pupil=pupil, school=pupil.school, year_label=year_label(year), entries=entries,
                           made_at=made_at, lang=locale.replace("_", "-"), text_dir=text_direction(locale))


def build_keepsake(pupil, reader, year, now=None):
    """Write the year's keepsake into a temporary file and audit the download. The caller sends
    the file and closes it (which deletes it)."""
    now = now or utcnow()
    entries = entries_for(pupil, reader, year)
    index = render_index(pupil, year, entries, now)
    files = [(name, media, "large") for entry in entries for name, media in entry.photos]
    files += [(name, media, "video") for entry in entries for name, media in entry.videos]
    out, size, written = write_archive("hearth-keepsake-", [("index.html", index)], files)
    photos = sum(1 for name in written if name.startswith("photos/"))
    videos = sum(1 for name in written if name.startswith("videos/"))
    audit("export.keepsake", "pupil", pupil.id, actor=reader, school_id=pupil.school_id,
          detail={"year": year, "items": len(entries), "photos": photos, "videos": videos, "bytes": size})
    db.session.commit()
    return Keepsake(out, size, archive_name(pupil, year), len(entries), photos, videos)


def write_archive(prefix, texts, files):
    """A zip in a temporary file on disk (gone when closed), at its start: ``texts`` [(name, str)]
    compressed, then ``files`` [(name, MediaFile, variant)] copied from disk one at a time.
    Returns (file, size, the names of the files written); a file deleted meanwhile is left out.
    The keepsake and a family's own data (services/exports.py) are both made by this."""
    out = tempfile.TemporaryFile(prefix=prefix)
    written = []
    try:
        with zipfile.ZipFile(out, "w") as archive:
            for name, text in texts:
                archive.writestr(name, text, compress_type=zipfile.ZIP_DEFLATED)
            for name, media, variant in files:
                if _add(archive, media, variant, name):
                    written.append(name)
        size = out.seek(0, 2)
        out.seek(0)
    except BaseException:
        out.close()
        raise
    return out, size, written


def _add(archive, media, variant, name):
    """One file from disk into the archive, copied in small chunks by ZipFile.write. WebP and H.264
    are compressed already: stored as they are."""
    try:
        archive.write(file_path(media, variant), name, compress_type=zipfile.ZIP_STORED)
    except FileNotFoundError:  # deleted since the listing: nothing of it was written
        return 0
    return 1
