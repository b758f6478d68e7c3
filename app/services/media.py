"""Safe media: uploads checked by their content, re-encoded, stored under random names (SECURITY.md 18-21).

``store_upload`` is the one way in. It decides what a file is from its bytes (never from its name or
the browser's content type), checks the limits before any heavy work, then:

* photos (JPEG, PNG, WebP, HEIC): first frame, EXIF orientation applied, converted to sRGB, every
  piece of metadata dropped (EXIF with GPS, XMP, ICC, comments), re-encoded as WebP in three sizes;
* videos (MP4/MOV, WebM/Matroska): checked with ffprobe during the upload (type, size, length: a
  refusal is immediate), then transcoded by a background job (``process_video``, on the job queue:
  app/jobs.py) to H.264 at most 720p without metadata, chapters or data streams, plus a WebP
  poster. Until the job has run the MediaFile is "processing" and its checked upload waits as
  ``<key>.original`` beside where the variants will go (never served: it is no variant); readers
  see "The video is being prepared" (staff and the uploader) or nothing (everyone else). A video
  ffmpeg cannot make is "failed" ("This video could not be prepared", to the same people);
* documents: a PDF, or an Office Open XML / OpenDocument file (no macros), kept as uploaded under a
  cleaned name.

The variants are written under ``<MEDIA_ROOT>/<school id>/<key[:2]>/<key>.<variant>.<ext>`` and a
``MediaFile`` is added to the session (flushed, not committed: the caller's service commits). The
original upload is never written to MEDIA_ROOT, except a video's until its job has transcoded it.
Files written for a transaction that is rolled back are removed; files of rows deleted by
``discard`` go when the deletion commits.
"""
import io
import json
import math
import os
import re
import secrets
import shutil
import struct
import subprocess
import tempfile
import time
import unicodedata
import zipfile
from contextlib import suppress
from datetime import timedelta
from pathlib import Path

import pillow_heif
from flask import abort, current_app, send_file
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from .. import jobs
from ..extensions import db
from ..models.base import utcnow
from ..models.media import (
    KIND_DOCUMENT,
    KIND_IMAGE,
    KIND_VIDEO,
    STATUS_FAILED,
    STATUS_PROCESSING,
    STATUS_READY,
    VARIANTS,
    MediaFile,
)

pillow_heif.register_heif_opener()

ALL_KINDS = (KIND_IMAGE, KIND_VIDEO, KIND_DOCUMENT)
MB = 1024 * 1024
_HEAD_BYTES = 4096
_CHUNK = 1024 * 1024

# Photos: the formats Pillow may open, and the sizes we make (box, byte budget).
IMAGE_FORMATS = ("HEIF", "JPEG", "PNG", "WEBP")
IMAGE_SIZES = {
    "large": ((1280, 1280), 250_000),
    "feed": ((720, 960), 60_000),
    "thumb": ((360, 360), 30_000),
}
# WebP qualities tried in turn until a variant fits its budget (a very busy photo keeps the last).
_QUALITIES = (80, 72, 64, 56, 48, 40)
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"mif2"}
# ISO base media boxes that may open a QuickTime file without an ftyp box.
_MOV_FIRST_BOXES = {b"moov", b"mdat", b"wide", b"free", b"skip"}

# Videos: the demuxers we allow (forced, so ffmpeg never guesses) and what ffprobe must then report.
_VIDEO_FORMATS = {"mov": "mov,mp4,m4a,3gp,3g2,mj2", "matroska": "matroska,webm"}
VIDEO_MAX_LONG_SIDE, VIDEO_MAX_SHORT_SIDE = 1280, 720
_PROBE_TIMEOUT = 30

DOCUMENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
}
_DOCUMENT_EXTENSIONS = {content_type: ext for ext, content_type in DOCUMENT_TYPES.items()}
_OOXML_MAIN_PARTS = {"word/document.xml": "docx", "xl/workbook.xml": "xlsx", "ppt/presentation.xml": "pptx"}
_MAX_ZIP_ENTRIES = 20_000

_VARIANT_FILES = {  # variant: (extension, content type); a document's "file" follows its type
    "feed": ("webp", "image/webp"),
    "large": ("webp", "image/webp"),
    "thumb": ("webp", "image/webp"),
    "poster": ("webp", "image/webp"),
    "video": ("mp4", "video/mp4"),
}


class UploadRefused(Exception):
    """An upload we will not keep. ``message`` is for the person who sent it, in their language."""

    def __init__(self, message, filename=None):
        super().__init__(message)
        self.message = message
        self.filename = filename


# ---- the way in --------------------------------------------------------------------------------

def store_upload(upload, *, school_id, uploaded_by=None, uploaded_by_pupil=None, allow=ALL_KINDS):
    """Check, process and store one uploaded file (a werkzeug FileStorage); return its MediaFile.

    Raises UploadRefused with a plain message. Adds and flushes the row; the caller commits."""
    name = _shown_name(upload.filename)
    stream = _seekable(upload.stream)
    size = _stream_size(stream)
    if size == 0:
        raise UploadRefused(_("“%(name)s” is empty.", name=name), name)
    head = stream.read(_HEAD_BYTES)
    stream.seek(0)
    kind, detail = _sniff(head)
    if kind is None:
        if (upload.filename or "").lower().endswith(".pdf"):
            raise UploadRefused(_("“%(name)s” is named like a PDF but is not one. Save it as a PDF again "
                                  "and try once more.", name=name), name)
        raise _not_accepted(name, allow)
    if kind == "svg":
        raise UploadRefused(_("“%(name)s” is an SVG drawing, and drawings in SVG can't be used. Export it "
                              "as a PNG or JPEG and upload that instead.", name=name), name)
    if kind not in allow:
        raise UploadRefused(_kind_not_allowed(kind, name), name)
    if kind == KIND_VIDEO and not ffmpeg_available():
        raise UploadRefused(_("“%(name)s” is a video, and the school's server can't take videos: it needs "
                              "the ffmpeg program, which is not installed. Ask whoever runs Hearth for "
                              "your school, or share photos instead.", name=name), name)
    _check_size(kind, size, name)
    _check_quota(size, uploaded_by, uploaded_by_pupil, name)

    config = current_app.config
    key = secrets.token_urlsafe(24)
    folder = _media_root() / str(school_id) / key[:2]
    media = MediaFile(school_id=school_id, kind=kind, storage_key=key, bytes_received=size,
                      uploaded_by_id=uploaded_by.id if uploaded_by is not None else None,
                      uploaded_by_pupil_id=uploaded_by_pupil.id if uploaded_by_pupil is not None else None)
    written = []
    try:
        if kind == KIND_IMAGE:
            # Photos are made here, in the request: the teacher tags the children in the photo
            # before publishing (for photo consent), so it must be ready to show at once; a 12 MP
            # photo takes well under a second. Videos take longer: their transcoding is a job.
            variants = _image_variants(stream, name, config["MEDIA_MAX_IMAGE_PIXELS"])
            media.content_type = "image/webp"
            media.width, media.height = variants["feed"][1]
            media.large_width, media.large_height = variants["large"][1]
            for variant, (data, _size) in variants.items():
                written.append(_write(folder / f"{key}.{variant}.webp", data=data))
        elif kind == KIND_VIDEO:
            media.content_type = "video/mp4"
            media.status = STATUS_PROCESSING
            _check_video(stream, name, detail, _original_path(school_id, key), media, written)
        else:
            ext = _document_type(stream, head, size, name)
            media.content_type = DOCUMENT_TYPES[ext]
            media.filename = _clean_filename(upload.filename, ext)
            stream.seek(0)
            written.append(_write(folder / f"{key}.file.{ext}", source=stream))
        media.bytes_stored = sum(path.stat().st_size for path in written)
        db.session.add(media)
        db.session.flush()
    except BaseException:
        _unlink(written)
        raise
    _pending(db.session(), "written").extend(written)
    if media.processing:  # a worker, or this process after the response (no Redis), transcodes it
        jobs.enqueue_after_commit("app.services.media:process_video", media.id)
    return media


def ffmpeg_available():
    """Whether both ffmpeg and ffprobe can be run (FFMPEG_PATH / FFPROBE_PATH, else the PATH)."""
    return _tool("ffmpeg") is not None and _tool("ffprobe") is not None


def file_path(media, variant):
    """Where one variant of a MediaFile lives on disk (ValueError for a variant its kind lacks)."""
    if variant not in VARIANTS.get(media.kind, ()):
        raise ValueError(f"{media.kind} has no variant {variant!r}")
    if variant == "file":
        ext = _DOCUMENT_EXTENSIONS[media.content_type]
    else:
        ext = _VARIANT_FILES[variant][0]
    key = media.storage_key
    return _media_root() / str(media.school_id) / key[:2] / f"{key}.{variant}.{ext}"


def media_response(media, variant):
    """The file for a route that has already applied the access rule of the post or pupil it belongs
    to. Conditional (ETag, 304) and ranged (206) for video; never cached without asking again."""
    if variant not in VARIANTS.get(media.kind, ()) or not media.ready:
        abort(404)  # a video still being prepared (or that failed) has nothing to serve
    path = file_path(media, variant)
    if not path.is_file():
        abort(404)
    if media.is_document:
        office = media.content_type != DOCUMENT_TYPES["pdf"]
        response = send_file(path, mimetype=media.content_type, as_attachment=office,
                             download_name=media.filename or f"document.{path.suffix.lstrip('.')}",
                             conditional=True, etag=True, max_age=None)
        if office:
            response.headers["Content-Security-Policy"] = "sandbox"
        else:
            # PDFs open in the browser's own viewer (which never runs a PDF's scripts as this site);
            # CSP sandbox would show iPhones and iPads a blank page.
            response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    else:
        response = send_file(path, mimetype=_VARIANT_FILES[variant][1], conditional=True, etag=True,
                             max_age=None)
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def delete_files(media):
    """Remove a MediaFile's files from disk now (the row is left alone)."""
    _unlink(_paths(media))


def discard(media):
    """Delete a MediaFile: the row now, its files once the deletion is committed."""
    _pending(db.session(), "deleted").extend(_paths(media))
    db.session.delete(media)
    db.session.flush()


def prune_staged(older_than=timedelta(days=1)):
    """Delete files uploaded for a post or portfolio item that was never saved; return how many."""
    cutoff = utcnow() - older_than
    staged = db.session.scalars(select(MediaFile).where(
        MediaFile.post_id.is_(None), MediaFile.portfolio_item_id.is_(None), MediaFile.message_id.is_(None),
        MediaFile.created_at < cutoff)).all()
    for media in staged:
        discard(media)
    db.session.commit()
    return len(staged)


def sweep_orphan_files(older_than=timedelta(days=1)):
    """Remove files under MEDIA_ROOT that no MediaFile names (an upload whose transaction never
    committed, a process killed mid-write) and that are older than ``older_than``; return how many."""
    root = _media_root()
    if not root.is_dir():
        return 0
    cutoff = time.time() - older_than.total_seconds()  # file times are POSIX timestamps
    leftovers, by_key = [], {}
    for school_dir in root.iterdir():
        if not (school_dir.is_dir() and school_dir.name.isdigit()):
            continue
        for path in school_dir.glob("*/*"):
            try:
                if not path.is_file() or path.stat().st_mtime >= cutoff:
                    continue
            except FileNotFoundError:
                continue
            if path.name.startswith(".tmp-"):
                leftovers.append(path)  # a write that never finished
            else:
                by_key.setdefault(path.name.split(".", 1)[0], []).append(path)
    keys = list(by_key)
    known = set()
    for start in range(0, len(keys), 500):
        known.update(db.session.scalars(select(MediaFile.storage_key).where(
            MediaFile.storage_key.in_(keys[start:start + 500]))))
    orphans = leftovers + [path for key, paths in by_key.items() if key not in known for path in paths]
    _unlink(orphans)
    return len(orphans)


# ---- deciding what a file is -----------------------------------------------------------------

def _sniff(head):
    """(kind, detail) from a file's first bytes: ("image", format), ("video", demuxer),
    ("document", "pdf"|"zip"), ("svg", None), or (None, None) for anything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return KIND_IMAGE, "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return KIND_IMAGE, "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return KIND_IMAGE, "WEBP"
    if head[4:8] == b"ftyp":
        box_size = int.from_bytes(head[:4], "big")
        major = head[8:12]
        compatible = {head[i:i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)}
        if major in _HEIF_BRANDS or (major in (b"mif1", b"msf1") and compatible & _HEIF_BRANDS):
            return KIND_IMAGE, "HEIF"
        return KIND_VIDEO, "mov"
    if head[4:8] in _MOV_FIRST_BOXES:
        return KIND_VIDEO, "mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return KIND_VIDEO, "matroska"
    if head.startswith(b"%PDF-"):
        return KIND_DOCUMENT, "pdf"
    if head.startswith(b"PK\x03\x04"):
        return KIND_DOCUMENT, "zip"
    if _looks_like_svg(head):
        return "svg", None
    return None, None


def _looks_like_svg(head):
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            text = head.decode(encoding, errors="ignore")
        except (UnicodeError, LookupError):
            continue
        text = text.lstrip().lower()
        if text.startswith("<") and "<svg" in text:
            return True
    return False


def _document_type(stream, head, size, name):
    """The extension of a document we accept (pdf, docx, xlsx, pptx, odt, ods, odp), or refuse it."""
    if head.startswith(b"%PDF-"):
        stream.seek(max(0, size - 1024))
        tail = stream.read()
        stream.seek(0)
        if b"%%EOF" not in tail:
            raise _damaged(name)
        return "pdf"
    try:
        with zipfile.ZipFile(stream) as archive:
            entries = archive.infolist()
            if len(entries) > _MAX_ZIP_ENTRIES:
                raise _not_accepted(name, (KIND_DOCUMENT,))
            names = {entry.filename for entry in entries}
            if "[Content_Types].xml" in names:
                if any(n.lower().endswith("vbaproject.bin") for n in names) or \
                        b"macroenabled" in _small_entry(archive, "[Content_Types].xml", 1 * MB).lower():
                    raise UploadRefused(_("“%(name)s” contains macros, which can't be shared. Save it "
                                          "without macros (as .docx, .xlsx or .pptx) and try again.",
                                          name=name), name)
                for part, ext in _OOXML_MAIN_PARTS.items():
                    if part in names:
                        return ext
            elif "mimetype" in names:
                declared = _small_entry(archive, "mimetype", 200).decode("ascii", "replace").strip()
                for ext in ("odt", "ods", "odp"):
                    if declared == DOCUMENT_TYPES[ext]:
                        return ext
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, KeyError,
            NotImplementedError, RuntimeError):
        raise _damaged(name) from None
    finally:
        stream.seek(0)
    raise _not_accepted(name, (KIND_DOCUMENT,))


def _small_entry(archive, entry, limit):
    info = archive.getinfo(entry)
    if info.file_size > limit:
        return b""
    with archive.open(info) as fh:
        return fh.read(limit)


# ---- photos ----------------------------------------------------------------------------------

def _image_variants(stream, name, max_pixels):
    """{variant: (webp bytes, (width, height))} for an uploaded photo, or refuse it."""
    image = _open_image(stream, name, max_pixels)
    variants = {}
    source = image
    for variant, (box, budget) in IMAGE_SIZES.items():  # each size made from the one before
        data, source = _encode_webp(source, box, budget)
        variants[variant] = (data, source.size)
    return variants


def _open_image(stream, name, max_pixels):
    """The first frame, upright, in sRGB (RGB or RGBA), with no metadata left on it."""
    # Pillow's own guard, tied to our limit: past twice the limit Image.open refuses by itself (before
    # anything is decoded); between 1x and 2x it only warns, and the header check below refuses.
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        image = Image.open(stream, formats=IMAGE_FORMATS)
    except Image.DecompressionBombError:
        raise _too_many_pixels(name, max_pixels) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error):
        raise _damaged(name) from None  # it began like a photo, but Pillow cannot read it
    if image.width * image.height > max_pixels:  # read from the header: nothing decoded yet
        raise _too_many_pixels(name, max_pixels)
    try:
        if image.format == "JPEG":
            image.draft(None, IMAGE_SIZES["large"][0])  # decode at 1/2, 1/4 or 1/8 when that still covers it
        icc = image.info.get("icc_profile")
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError, struct.error):
        raise _damaged(name) from None
    image = _reduced(image, IMAGE_SIZES["large"][0])
    try:
        upright = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, TypeError, KeyError, struct.error):
        upright = image  # unreadable EXIF: keep the pixels as they are
    clean = _to_srgb(upright, icc)
    clean.info = {}
    return clean


def _reduced(image, box):
    """A photo decoded at full size (HEIC, PNG, WebP: draft() is for JPEG only) shrunk at once by the
    largest whole factor that keeps it covering ``box``, the scale draft() gives a JPEG: the copies
    made after this (orientation, colour, each size) are then a quarter of a 12 MP frame, not all of it."""
    factor = min(image.width // box[0], image.height // box[1])
    if factor < 2 or image.mode not in ("RGB", "RGBA", "L", "LA"):
        return image
    return image.reduce(factor)  # keeps image.info: the EXIF orientation and the colour profile


_SRGB = None


def _srgb_profile():
    global _SRGB
    if _SRGB is None:
        _SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return _SRGB


def _to_srgb(image, icc):
    """RGB (or RGBA when some pixel is see-through), colours moved to sRGB when a profile says how."""
    alpha = None
    if image.mode.startswith("I;16"):
        image = image.convert("I").point(lambda value: value * (1 / 256))  # 16-bit grey: keep the range
    if image.mode in ("1", "I", "F"):
        image = image.convert("L")
    if image.mode in ("L", "LA"):
        if image.has_transparency_data:
            grey = image.convert("LA")
            base, alpha = grey.getchannel("L"), grey.getchannel("A")
        else:
            base = image
    elif image.mode == "CMYK":
        base = image
    elif image.has_transparency_data:
        rgba = image.convert("RGBA")
        base, alpha = rgba.convert("RGB"), rgba.getchannel("A")
    else:
        base = image.convert("RGB")
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            base = ImageCms.profileToProfile(base, source, _srgb_profile(), outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # a broken or mismatched profile: use the numbers as they are
    if base.mode != "RGB":
        base = base.convert("RGB")
    if alpha is not None and alpha.getextrema() != (255, 255):
        base.putalpha(alpha)
    return base


def _encode_webp(image, box, budget):
    """(webp bytes, resized image): fit in box (never enlarged), quality lowered until within budget."""
    resized = image.copy()
    resized.thumbnail(box, Image.Resampling.LANCZOS, reducing_gap=3.0)
    resized.info = {}
    for quality in _QUALITIES:
        buffer = io.BytesIO()
        resized.save(buffer, "WEBP", quality=quality, method=4)
        if buffer.tell() <= budget:
            break
    return buffer.getvalue(), resized


# ---- videos ----------------------------------------------------------------------------------

def _check_video(stream, name, demuxer, original, media, written):
    """In the request: keep the upload as ``original`` (for the job only), check it with ffprobe
    (a refusal comes at once, with its message) and note its length and the frame it will have."""
    limit = current_app.config["MEDIA_MAX_VIDEO_SECONDS"]
    stream.seek(0)
    written.append(_write(original, source=stream))
    video, duration, (width, height), _audio = _checked_probe(str(original), demuxer, name, limit)
    media.width, media.height = width, height  # the job sets the poster's, the same in practice
    media.duration_seconds = round(min(duration, limit), 2)


def _checked_probe(path, demuxer, name, limit):
    """(video stream, duration, output frame, audio stream or None), or UploadRefused."""
    probe = _probe(path, demuxer, name)
    video = next((s for s in probe.get("streams", []) if s.get("codec_type") == "video"
                  and not (s.get("disposition") or {}).get("attached_pic")), None)
    duration = _duration_of(probe, video)
    if video is None or duration is None:
        raise _damaged(name)
    if duration > limit + 0.5:
        raise UploadRefused(_("“%(name)s” is %(length)s long: videos can be up to %(limit)s.",
                              name=name, length=_duration_text(duration),
                              limit=_duration_text(limit)), name)
    audio = next((s for s in probe.get("streams", []) if s.get("codec_type") == "audio"), None)
    return video, duration, _video_size(video, name), audio


def process_video(media_id):
    """The job (app/jobs.py) that prepares an uploaded video: transcode it, make its poster, fill
    in its frame, length and bytes, mark it ready and delete the original; when ffmpeg cannot,
    mark it failed (and delete the original). Safe to run twice: a video that is not waiting
    (ready, failed, or deleted meanwhile) is left alone. No transaction is held while ffmpeg runs."""
    media = db.session.get(MediaFile, media_id)
    if media is None or not media.is_video or not media.processing:
        db.session.rollback()
        return None
    key = media.storage_key
    original = _original_path(media.school_id, key)
    db.session.commit()  # hold no transaction (on SQLite, no write lock) during the work
    name = f"media {media_id}"
    written = []
    try:
        if not original.is_file():
            raise _damaged(name)
        with open(original, "rb") as fh:
            demuxer = _sniff(fh.read(_HEAD_BYTES))[1]
        if demuxer not in _VIDEO_FORMATS:
            raise _damaged(name)
        folder = original.parent
        with tempfile.TemporaryDirectory(prefix="hearth-video-") as work:  # outside MEDIA_ROOT
            output, width, height, duration, poster_bytes = _transcode(str(original), demuxer, name, work)
            with open(output, "rb") as fh:
                written.append(_write(folder / f"{key}.video.mp4", source=fh))
            written.append(_write(folder / f"{key}.poster.webp", data=poster_bytes))
    except Exception as error:
        if _finish(media_id, None, error=error) != STATUS_READY:  # ready: another run made it
            _unlink(written)
        _unlink([original])
        if not isinstance(error, UploadRefused):
            raise  # unexpected: RQ keeps the failed job for a look (in process: logged)
        return STATUS_FAILED
    outcome = _finish(media_id, {"width": width, "height": height, "duration_seconds": duration,
                                 "bytes_stored": sum(path.stat().st_size for path in written)})
    if outcome is None:
        _unlink(written)  # deleted while it was being prepared
    _unlink([original])
    return outcome


def _finish(media_id, values, error=None):
    """Write the job's outcome on the row if it still waits; return the row's status after
    (None when the row is gone: deleted while the video was being prepared)."""
    db.session.rollback()
    media = db.session.get(MediaFile, media_id)
    if media is None or not media.processing:
        status = media.status if media is not None else None
        db.session.rollback()
        return status
    if error is None:
        for field, value in values.items():
            setattr(media, field, value)
        media.status = STATUS_READY
    else:
        current_app.logger.warning("video %s could not be prepared: %s", media_id,
                                   getattr(error, "message", None) or repr(error))
        media.status, media.bytes_stored = STATUS_FAILED, 0
    status = media.status
    try:
        db.session.commit()
    except Exception:  # noqa: BLE001  (the row went meanwhile: StaleDataError)
        db.session.rollback()
        return None
    return status


def requeue_waiting_videos(older_than=timedelta(minutes=30)):
    """Queue again the job of every video still being prepared after ``older_than`` (its job was
    lost with Redis, or its worker killed mid-way); return how many. For a timer, next to
    ``flask media prune``; a video made meanwhile is left alone by its second job."""
    cutoff = utcnow() - older_than
    ids = list(db.session.scalars(select(MediaFile.id).where(
        MediaFile.kind == KIND_VIDEO, MediaFile.status == STATUS_PROCESSING, MediaFile.created_at < cutoff)
        .order_by(MediaFile.id)))
    db.session.commit()
    for media_id in ids:
        jobs.enqueue("app.services.media:process_video", media_id)
    return len(ids)


def _transcode(source, demuxer, name, work):
    """(output path, width, height, duration, poster webp bytes) for a checked upload."""
    config = current_app.config
    limit = config["MEDIA_MAX_VIDEO_SECONDS"]
    video, duration, (width, height), audio = _checked_probe(source, demuxer, name, limit)
    output = os.path.join(work, "video.mp4")
    command = [_tool("ffmpeg"), "-nostdin", "-hide_banner", "-loglevel", "error",
               "-protocol_whitelist", "file", "-f", demuxer, "-i", source,
               "-map", f"0:{int(video['index'])}",
               "-map_metadata", "-1", "-map_metadata:s:v", "-1", "-map_metadata:s:a", "-1",
               "-map_chapters", "-1", "-sn", "-dn", "-t", str(limit),
               "-vf", _video_filters(video, width, height), "-fpsmax", "30",
               "-c:v", "libx264", "-preset", "veryfast", "-crf", "26", "-profile:v", "high",
               "-pix_fmt", "yuv420p", "-color_primaries", "bt709", "-color_trc", "bt709",
               "-colorspace", "bt709"]
    if audio is not None:
        channels = min(int(audio.get("channels") or 2), 2)
        command += ["-map", f"0:{int(audio['index'])}", "-c:a", "aac", "-b:a", "96k", "-ac", str(channels)]
    command += ["-movflags", "+faststart", "-fflags", "+bitexact", "-f", "mp4", "-y", output]
    _run(command, name, config["FFMPEG_TIMEOUT"])
    poster = os.path.join(work, "poster.png")
    for seek in (min(1.0, duration / 2), 0):  # at about 1 s, else the first frame
        _run([_tool("ffmpeg"), "-nostdin", "-hide_banner", "-loglevel", "error", "-ss", f"{seek:.3f}",
              "-i", output, "-frames:v", "1", "-f", "image2", "-c:v", "png", "-y", poster],
             name, _PROBE_TIMEOUT)
        if os.path.exists(poster) and os.path.getsize(poster) > 0:
            break
    else:
        raise _damaged(name)
    with Image.open(poster, formats=["PNG"]) as frame:
        frame.load()
        frame_width, frame_height = frame.size
        poster_bytes, _resized = _encode_webp(frame.convert("RGB"), *IMAGE_SIZES["feed"])
    return output, frame_width, frame_height, round(min(duration, limit), 2), poster_bytes


def _probe(path, demuxer, name):
    output = _run([_tool("ffprobe"), "-v", "error", "-protocol_whitelist", "file", "-f", demuxer,
                   "-print_format", "json", "-show_format", "-show_streams", path], name, _PROBE_TIMEOUT)
    try:
        probe = json.loads(output or b"{}")
    except ValueError:
        raise _damaged(name) from None
    if (probe.get("format") or {}).get("format_name") != _VIDEO_FORMATS[demuxer]:
        raise _damaged(name)
    return probe


def _duration_of(probe, video):
    for value in ((probe.get("format") or {}).get("duration"), (video or {}).get("duration")):
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(seconds) and seconds > 0:
            return seconds
    return None


def _video_size(video, name):
    """The output frame: at most 1280x720 (or 720x1280) keeping the shape, even sides, upright."""
    try:
        width, height = float(video["width"]), float(video["height"])
    except (KeyError, TypeError, ValueError):
        raise _damaged(name) from None
    if width < 2 or height < 2:
        raise _damaged(name)
    ratio = str(video.get("sample_aspect_ratio") or "1:1").split(":")
    with suppress(ValueError, ZeroDivisionError, IndexError):
        if float(ratio[0]) > 0 and float(ratio[1]) > 0:
            width *= float(ratio[0]) / float(ratio[1])
    rotation = 0
    for side_data in video.get("side_data_list") or []:
        with suppress(TypeError, ValueError):
            rotation = int(side_data.get("rotation", rotation))
    with suppress(TypeError, ValueError):
        rotation = int((video.get("tags") or {}).get("rotate", rotation))
    if abs(rotation) % 180 == 90:  # ffmpeg turns the frames upright before scaling
        width, height = height, width
    scale = min(1.0, VIDEO_MAX_LONG_SIDE / max(width, height), VIDEO_MAX_SHORT_SIDE / min(width, height))
    return (max(2, int(width * scale / 2 + 0.5) * 2), max(2, int(height * scale / 2 + 0.5) * 2))


def _video_filters(video, width, height):
    """Scale (and, for HDR from a phone, tone-map to ordinary colours: 8-bit H.264 has no HDR)."""
    scale = f"scale={width}:{height},setsar=1"
    if video.get("color_transfer") in ("arib-std-b67", "smpte2084"):  # HLG, PQ
        return ("zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,tonemap=hable:desat=0,"
                f"zscale=t=bt709:m=bt709:r=tv,format=yuv420p,{scale}")
    return scale


def _run(command, name, timeout):
    try:
        result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                                check=False)
    except subprocess.TimeoutExpired:
        raise UploadRefused(_("“%(name)s” took too long to convert. Try a shorter or smaller video.",
                              name=name), name) from None
    except OSError:
        raise UploadRefused(_("“%(name)s” could not be converted: the school's server can't run ffmpeg "
                              "at the moment. Please try again later.", name=name), name) from None
    if result.returncode != 0:
        current_app.logger.info("ffmpeg refused an upload: %s", result.stderr[-500:].decode("utf-8", "replace"))
        raise _damaged(name)
    return result.stdout


def _tool(name):
    configured = current_app.config.get(f"{name.upper()}_PATH")
    if configured:
        return configured if os.path.isfile(configured) and os.access(configured, os.X_OK) else None
    return shutil.which(name)


# ---- limits and messages ----------------------------------------------------------------------

def _check_size(kind, size, name):
    config = current_app.config
    limit = {KIND_IMAGE: config["MEDIA_MAX_IMAGE_BYTES"], KIND_VIDEO: config["MEDIA_MAX_VIDEO_BYTES"],
             KIND_DOCUMENT: config["MEDIA_MAX_DOCUMENT_BYTES"]}[kind]
    if size <= limit:
        return
    values = {"name": name, "size": _megabytes(size), "limit": _megabytes(limit)}
    if kind == KIND_IMAGE:
        message = _("“%(name)s” is %(size)s: photos can be up to %(limit)s.", **values)
    elif kind == KIND_VIDEO:
        message = _("“%(name)s” is %(size)s: videos can be up to %(limit)s.", **values)
    else:
        message = _("“%(name)s” is %(size)s: documents can be up to %(limit)s.", **values)
    raise UploadRefused(message, name)


def _check_quota(size, user, pupil, name):
    limit = current_app.config.get("MEDIA_DAILY_QUOTA_BYTES")
    if not limit or (user is None and pupil is None):
        return
    query = select(func.coalesce(func.sum(MediaFile.bytes_received), 0)).where(
        MediaFile.created_at >= utcnow() - timedelta(days=1))
    if user is not None:
        query = query.where(MediaFile.uploaded_by_id == user.id)
    else:
        query = query.where(MediaFile.uploaded_by_pupil_id == pupil.id)
    used = db.session.scalar(query) or 0
    if used + size > limit:
        raise UploadRefused(_("“%(name)s” wasn't added: it would go over the limit of %(limit)s of uploads "
                              "a day. You can upload more tomorrow.", name=name, limit=_megabytes(limit)),
                            name)


def _megabytes(size):
    value = math.ceil(size / MB * 10) / 10
    if value >= 10:
        value = math.ceil(value)
    return _("%(number)s MB", number=format_decimal(value))


def _duration_text(seconds):
    seconds = int(math.ceil(seconds - 0.05))
    minutes, rest = divmod(seconds, 60)
    if minutes and not rest:
        return ngettext("%(num)s minute", "%(num)s minutes", minutes)
    if minutes:
        return _("%(minutes)s min %(seconds)s s", minutes=minutes, seconds=rest)
    return ngettext("%(num)s second", "%(num)s seconds", seconds)


def _too_many_pixels(name, max_pixels):
    return UploadRefused(_("“%(name)s” has too many pixels: photos can have up to %(limit)s million. "
                           "Save a smaller copy and try again.", name=name,
                           limit=format_decimal(round(max_pixels / 1_000_000, 1))), name)


def _damaged(name):
    return UploadRefused(_("“%(name)s” seems to be damaged or incomplete, so it can't be used. Try saving "
                           "it again, or choose another file.", name=name), name)


def _not_accepted(name, allow):
    sentences = [_("“%(name)s” is not a kind of file we can use.", name=name)]
    if KIND_IMAGE in allow:
        sentences.append(_("Photos can be JPEG, PNG, WebP or HEIC."))
    if KIND_VIDEO in allow:
        sentences.append(_("Videos can be MP4, MOV or WebM."))
    if KIND_DOCUMENT in allow:
        sentences.append(_("Documents can be PDF, Word, Excel, PowerPoint or OpenDocument files."))
    return UploadRefused(" ".join(sentences), name)


def _kind_not_allowed(kind, name):
    if kind == KIND_IMAGE:
        return _("“%(name)s” is a photo, and photos can't be added here.", name=name)
    if kind == KIND_VIDEO:
        return _("“%(name)s” is a video, and videos can't be added here.", name=name)
    return _("“%(name)s” is a document, and documents can't be added here.", name=name)


def _shown_name(filename):
    """The name a person will recognise in a message: no folders, no control characters, not too long."""
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    if len(base) > 80:
        base = base[:77] + "…"
    return base or _("the file")


def _clean_filename(filename, ext):
    """A name safe to offer on download: letters of any script, digits, spaces and - _ . ( ) ,
    with the extension of the type we detected."""
    base = unicodedata.normalize("NFKC", (filename or "").replace("\\", "/").rsplit("/", 1)[-1])
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = re.sub(r"[^\w\s().,-]+", "", stem)
    stem = re.sub(r"\s+", " ", stem).strip(" ._-")[:100].rstrip(" ._-")
    return f"{stem or 'document'}.{ext}"


# ---- files on disk -----------------------------------------------------------------------------

def _media_root():
    return Path(current_app.config["MEDIA_ROOT"])


def _seekable(stream):
    try:
        stream.seek(0)
        return stream
    except (AttributeError, OSError, io.UnsupportedOperation):
        copy = tempfile.SpooledTemporaryFile(max_size=8 * MB)
        shutil.copyfileobj(stream, copy, _CHUNK)
        copy.seek(0)
        return copy


def _stream_size(stream):
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def _write(path, data=None, source=None):
    """Write a file under a temporary name in its folder, flush it to disk, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as fh:
            if data is not None:
                fh.write(data)
            else:
                shutil.copyfileobj(source, fh, _CHUNK)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return path


def _original_path(school_id, key):
    """Where a video's checked upload waits for its job (not a variant: never served)."""
    return _media_root() / str(school_id) / key[:2] / f"{key}.original"


def _paths(media):
    paths = [file_path(media, variant) for variant in VARIANTS.get(media.kind, ())]
    if media.kind == KIND_VIDEO:  # one still waiting for its job, or whose job was lost
        paths.append(_original_path(media.school_id, media.storage_key))
    return paths


def _unlink(paths):
    for path in paths:
        with suppress(FileNotFoundError):
            os.unlink(path)


# Files follow the transaction: a rolled-back upload leaves no file; a deleted row's files go on commit.

def _pending(session, what):
    return session.info.setdefault(f"hearth_media_{what}", [])


@event.listens_for(Session, "after_commit")
def _after_commit(session):
    _unlink(session.info.pop("hearth_media_deleted", []))
    session.info.pop("hearth_media_written", None)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session):
    _unlink(session.info.pop("hearth_media_written", []))
    session.info.pop("hearth_media_deleted", None)


def discard_files_on_commit(rows):
    """Remove the files of MediaFile rows once the transaction commits, for bulk deletes that never
    load the objects: ``rows`` need only id, kind, school_id, storage_key and content_type."""
    _pending(db.session(), "deleted").extend(path for row in rows for path in _paths(row))
