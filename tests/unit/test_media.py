"""The media pipeline (SECURITY.md 18-21): type by content, limits, metadata gone, variants, storage."""
import io
import json
import os
import shutil
import subprocess
import time
from datetime import timedelta

import pytest
import time_machine
from PIL import Image, ImageCms
from sqlalchemy import func, select
from werkzeug.exceptions import NotFound

from app.extensions import db
from app.models import MediaFile
from app.models.base import utcnow
from app.models.stories import Post
from app.services import media as media_service
from app.services.media import UploadRefused, file_path, media_response, store_upload
from tests import media_samples as samples
from tests.factories import make_class, make_pupil, make_school, make_teacher

IMAGE_VARIANTS = ("feed", "large", "thumb")
# Between one and two times the pixel limit Pillow warns before the pipeline refuses: expected here.
pytestmark = pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")


@pytest.fixture
def world(app):
    school = make_school()
    teacher = make_teacher(school)
    return school, teacher


def store(world, data, filename="upload", **kw):
    """Upload a file as the teacher. A video is checked here and transcoded by its job, which
    runs in this process when the upload commits (no Redis): committed here, it is ready."""
    school, teacher = world
    kw.setdefault("uploaded_by", teacher)
    media = store_upload(samples.upload(data, filename), school_id=school.id, **kw)
    if media.is_video:
        db.session.commit()
    return media


def files_under(root):
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def media_root(app):
    from pathlib import Path
    return Path(app.config["MEDIA_ROOT"])


def opened(path):
    image = Image.open(path)
    image.load()
    return image


# ---- photos ----------------------------------------------------------------------------------

def test_a_jpeg_with_gps_comes_out_with_no_metadata_at_all(world):
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    original = samples.jpeg_with_gps(icc=srgb)
    assert b"Exif" in original and b"PhoneMaker" in original and b"xmpmeta" in original  # the sample is honest

    media = store(world, original, "IMG_2041.JPG")

    assert media.kind == "image" and media.content_type == "image/webp"
    assert media.bytes_received == len(original) and media.uploaded_by_id == world[1].id
    for variant in IMAGE_VARIANTS:
        raw = file_path(media, variant).read_bytes()
        for secret in (b"Exif", b"GPS", b"PhoneMaker", b"Phone 15", b"2025:06:12", b"xmpmeta", b"XMP ",
                       b"ICCP", b"Elm Road"):
            assert secret not in raw, (variant, secret)
        image = opened(file_path(media, variant))
        assert image.format == "WEBP"
        assert dict(image.getexif()) == {}
        assert not {"exif", "xmp", "icc_profile", "comment"} & set(image.info)


def test_orientation_is_applied_so_a_sideways_phone_photo_stands_up(world):
    media = store(world, samples.jpeg_with_gps(size=(400, 200), orientation=6), "sideways.jpg")

    feed = opened(file_path(media, "feed")).convert("RGB")
    assert feed.size == (200, 400) and (media.width, media.height) == (200, 400)
    # Orientation 6 turns the picture a quarter clockwise: the red top-left corner ends top-right.
    red_corner, blue_corner = feed.getpixel((feed.width - 10, 10)), feed.getpixel((10, 10))
    assert red_corner[0] > 180 and red_corner[2] < 80
    assert blue_corner[2] > 150 and blue_corner[0] < 100


@pytest.mark.parametrize("size, feed, large, thumb", [
    ((3000, 2000), (720, 480), (1280, 853), (360, 240)),
    ((2000, 3000), (640, 960), (853, 1280), (240, 360)),
    ((500, 300), (500, 300), (500, 300), (360, 216)),  # never enlarged
])
def test_variants_fit_their_boxes_as_webp(world, size, feed, large, thumb):
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize(size).convert("RGB").save(buffer, "PNG")

    media = store(world, buffer.getvalue(), "drawing.png")

    sizes = {variant: opened(file_path(media, variant)).size for variant in IMAGE_VARIANTS}
    assert sizes == {"feed": feed, "large": large, "thumb": thumb}
    assert (media.width, media.height, media.large_width, media.large_height) == feed + large
    assert media.bytes_stored == sum(file_path(media, v).stat().st_size for v in IMAGE_VARIANTS)


def test_a_12_megapixel_phone_photo_is_light_enough_for_the_feed(world):
    photo = samples.phone_photo()
    assert len(photo) > 2_500_000  # a realistic phone JPEG, not a flat test card

    media = store(world, photo, "IMG_0001.JPG")

    assert file_path(media, "feed").stat().st_size <= 60_000
    assert file_path(media, "thumb").stat().st_size <= 30_000
    assert (media.width, media.height) == (720, 540)
    assert (media.large_width, media.large_height) == (1280, 960)


def test_colours_are_converted_to_srgb_from_the_embedded_profile(world):
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (255, 0, 0)).save(buffer, "PNG", icc_profile=samples.swapped_primaries_icc())

    media = store(world, buffer.getvalue(), "wide-gamut.png")

    red, green, blue = opened(file_path(media, "feed")).convert("RGB").getpixel((32, 32))
    assert green > 200 and red < 60 and blue < 60  # this profile's "red" is sRGB green


def test_a_png_keeps_its_transparency(world):
    media = store(world, samples.png_with_alpha(), "sticker.png")

    feed = opened(file_path(media, "feed"))
    assert feed.mode == "RGBA"
    assert feed.getpixel((1, 1))[3] == 0 and feed.getpixel((150, 100))[3] > 150


def test_a_heic_photo_is_accepted(world):
    media = store(world, samples.heic(), "IMG_5000.HEIC")

    feed = opened(file_path(media, "feed"))
    assert feed.format == "WEBP" and feed.size == (400, 300)
    assert b"PhoneMaker" not in file_path(media, "large").read_bytes()


def test_an_animation_keeps_its_first_frame_only(world):
    media = store(world, samples.animated_webp(), "wave.webp")

    feed = Image.open(file_path(media, "feed"))
    assert getattr(feed, "n_frames", 1) == 1
    red, green, blue = feed.convert("RGB").getpixel((10, 10))
    assert red > 150 and green < 60 and blue < 60


# ---- refusals --------------------------------------------------------------------------------

def big_jpeg(tmp_path):
    return open(samples.sparse_file(tmp_path / "huge.jpg", 40 * 1024 * 1024, samples.jpeg_with_gps()), "rb")


def truncated_jpeg(_tmp_path):
    return samples.jpeg_with_gps()[:700]


REFUSALS = [
    # (what, file name, the bytes, words the message must hold)
    ("a 40 MB photo", "huge.jpg", big_jpeg, ["40 MB", "20 MB"]),
    ("20,000 x 20,000 pixels", "bomb.png", lambda _: samples.png_header_only(20_000, 20_000), ["pixels", "50"]),
    ("8,000 x 8,000 pixels", "big.png", lambda _: samples.png_header_only(8_000, 8_000), ["pixels", "50"]),
    ("HTML named .jpg", "photo.jpg", lambda _: samples.HTML_AS_JPEG, ["not a kind of file", "JPEG"]),
    ("an SVG", "logo.svg", lambda _: samples.SVG, ["SVG", "PNG or JPEG"]),
    ("SVG named .png", "logo.png", lambda _: samples.SVG, ["SVG"]),
    ("a PDF that is not a PDF", "letter.pdf", lambda _: samples.NOT_A_PDF, ["named like a PDF"]),
    ("a PDF cut short", "letter.pdf", lambda _: samples.minimal_pdf()[:-20], ["damaged"]),
    ("a damaged photo", "cut.jpg", truncated_jpeg, ["damaged"]),
    ("an empty file", "nothing.jpg", lambda _: b"", ["empty"]),
    ("a plain zip", "homework.docx", lambda _: samples.plain_zip(), ["not a kind of file"]),
    ("a macro document", "quiz.docm", lambda _: samples.docx(macros=True), ["macros"]),
]


@pytest.mark.parametrize("what, filename, make, words", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_bad_files_are_refused_with_their_own_message_and_leave_nothing(app, world, tmp_path, what, filename,
                                                                        make, words):
    data = make(tmp_path)
    with pytest.raises(UploadRefused) as refused:
        store_upload(samples.upload(data, filename, "image/jpeg"), school_id=world[0].id, uploaded_by=world[1])
    for word in words:
        assert word in refused.value.message
    assert refused.value.filename == filename
    assert files_under(media_root(app)) == []
    assert db.session.scalar(select(func.count(MediaFile.id))) == 0


def test_each_refusal_says_something_different(app, world, tmp_path):
    messages = {}
    for what, filename, make, _words in REFUSALS:
        with pytest.raises(UploadRefused) as refused:
            store(world, make(tmp_path), filename)
        messages[what] = refused.value.message.replace(filename, "")
    same_kind = {("20,000 x 20,000 pixels", "8,000 x 8,000 pixels"), ("an SVG", "SVG named .png"),
                 ("a PDF cut short", "a damaged photo"), ("HTML named .jpg", "a plain zip")}
    for a in messages:
        for b in messages:
            if a < b and (a, b) not in same_kind and (b, a) not in same_kind:
                assert messages[a] != messages[b], (a, b)


def test_a_pixel_bomb_is_refused_from_its_header_without_decoding(world, monkeypatch):
    from PIL import ImageFile

    def no_decoding(self):
        raise AssertionError("decoded a picture that should have been refused from its header")
    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    for width, height in ((20_000, 20_000), (8_000, 8_000)):
        with pytest.raises(UploadRefused, match="too many pixels"):
            store(world, samples.png_header_only(width, height), "bomb.png")


def test_the_type_comes_from_the_content_not_the_name(world):
    media = store(world, samples.png_with_alpha(), "not-really.pdf")
    assert media.kind == "image"
    document = store(world, samples.minimal_pdf(), "scan.jpg")
    assert document.kind == "document" and document.filename == "scan.pdf"


@pytest.mark.parametrize("allow, data, filename, words", [
    (("image",), samples.FAKE_MP4_HEAD, "trip.mp4", "videos can't be added here"),
    (("image", "video"), samples.minimal_pdf(), "letter.pdf", "documents can't be added here"),
    (("document",), samples.png_with_alpha(), "sticker.png", "photos can't be added here"),
])
def test_a_kind_not_allowed_here_is_refused(app, world, allow, data, filename, words):
    with pytest.raises(UploadRefused, match=words):
        store(world, data, filename, allow=allow)
    assert files_under(media_root(app)) == []


def test_not_accepted_names_only_what_this_place_takes(world):
    with pytest.raises(UploadRefused) as refused:
        store(world, samples.HTML_AS_JPEG, "photo.jpg", allow=("image",))
    assert "JPEG, PNG, WebP or HEIC" in refused.value.message
    assert "PDF" not in refused.value.message and "MP4" not in refused.value.message


def test_a_failure_after_the_files_are_written_leaves_no_file(app, world, monkeypatch):
    def broken_flush(*args, **kwargs):
        raise RuntimeError("database went away")
    monkeypatch.setattr(db.session, "flush", broken_flush)
    with pytest.raises(RuntimeError):
        store(world, samples.jpeg_with_gps(), "photo.jpg")
    assert files_under(media_root(app)) == []


def test_an_upload_rolled_back_with_its_transaction_leaves_no_file(app, world):
    media = store(world, samples.jpeg_with_gps(), "photo.jpg")
    paths = [file_path(media, v) for v in IMAGE_VARIANTS]
    assert all(p.exists() for p in paths)

    db.session.rollback()

    assert not any(p.exists() for p in paths)


# ---- quota -----------------------------------------------------------------------------------

def test_the_daily_quota_counts_the_last_24_hours_per_uploader(app, world):
    school, teacher = world
    photo = samples.jpeg_with_gps()
    app.config["MEDIA_DAILY_QUOTA_BYTES"] = len(photo) * 2 + 10
    first = store(world, photo, "1.jpg")
    store(world, photo, "2.jpg")
    db.session.commit()

    with pytest.raises(UploadRefused, match="limit") as refused:
        store(world, photo, "3.jpg")
    assert "tomorrow" in refused.value.message
    colleague = make_teacher(school)
    store(world, photo, "theirs.jpg", uploaded_by=colleague)  # a quota each

    first.created_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    store(world, photo, "3.jpg")  # yesterday's upload no longer counts


def test_a_pupil_has_a_quota_of_their_own(app, world):
    school, _teacher = world
    pupil = make_pupil(make_class(school))
    photo = samples.jpeg_with_gps()
    app.config["MEDIA_DAILY_QUOTA_BYTES"] = len(photo) + 10
    media = store(world, photo, "mine.jpg", uploaded_by=None, uploaded_by_pupil=pupil)
    assert media.uploaded_by_pupil_id == pupil.id and media.uploaded_by_id is None
    with pytest.raises(UploadRefused, match="limit"):
        store(world, photo, "again.jpg", uploaded_by=None, uploaded_by_pupil=pupil)


# ---- documents -------------------------------------------------------------------------------

def test_a_real_pdf_is_kept_and_shown_inline_in_the_browsers_viewer(app, world):
    pdf = samples.minimal_pdf()
    media = store(world, pdf, "Homework week 3.pdf")

    assert media.kind == "document" and media.content_type == "application/pdf"
    assert media.filename == "Homework week 3.pdf"
    assert file_path(media, "file").read_bytes() == pdf
    with app.test_request_context():
        response = media_response(media, "file")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline")
    # Not "sandbox": iPhones show a sandboxed PDF as a blank page. Never framed by another site.
    assert response.headers["Content-Security-Policy"] == "frame-ancestors 'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "private, no-cache"
    response.close()


def test_a_word_document_is_kept_under_a_clean_name_and_served_as_a_download(app, world):
    media = store(world, samples.docx(), "C:\\Users\\teacher\\..\\Spellings: week <3>.doc")

    assert media.content_type.endswith("wordprocessingml.document")
    assert media.filename == "Spellings week 3.docx"
    assert file_path(media, "file").suffix == ".docx"
    with app.test_request_context():
        response = media_response(media, "file")
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "Spellings week 3.docx" in response.headers["Content-Disposition"]
    assert response.headers["Content-Security-Policy"] == "sandbox"
    response.close()


def test_an_opendocument_file_and_a_non_latin_name_are_accepted(world):
    media = store(world, samples.odt(), "Lista lektur – ł ą.odt")
    assert media.content_type == "application/vnd.oasis.opendocument.text"
    assert media.filename == "Lista lektur ł ą.odt"


# ---- serving ---------------------------------------------------------------------------------

def test_an_image_is_served_privately_and_revalidated(app, world):
    media = store(world, samples.jpeg_with_gps(), "photo.jpg")
    with app.test_request_context():
        response = media_response(media, "feed")
        etag = response.headers["ETag"]
    assert response.mimetype == "image/webp" and response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    response.close()
    with app.test_request_context(headers={"If-None-Match": etag}):
        again = media_response(media, "feed")
    assert again.status_code == 304
    again.close()
    with app.test_request_context(), pytest.raises(NotFound):
        media_response(media, "video")


def test_files_live_under_media_root_with_random_names(app, world):
    school, _teacher = world
    first = store(world, samples.jpeg_with_gps(), "same.jpg")
    second = store(world, samples.jpeg_with_gps(), "same.jpg")

    assert first.storage_key != second.storage_key and len(first.storage_key) >= 32
    path = file_path(first, "feed")
    assert path == media_root(app) / str(school.id) / first.storage_key[:2] / f"{first.storage_key}.feed.webp"
    assert "same" not in str(path)
    assert len(files_under(media_root(app))) == 6  # three variants each, no original, no temp file


# ---- clearing up -----------------------------------------------------------------------------

def test_prune_staged_removes_old_unattached_uploads_only(app, world):
    school, teacher = world
    old_staged = store(world, samples.jpeg_with_gps(), "old.jpg")
    new_staged = store(world, samples.jpeg_with_gps(), "new.jpg")
    posted = store(world, samples.jpeg_with_gps(), "posted.jpg")
    post = Post(school_id=school.id, author_id=teacher.id, body="Sports day")
    db.session.add(post)
    db.session.flush()
    posted.post_id = post.id
    old_staged.created_at = posted.created_at = utcnow() - timedelta(days=2)
    db.session.commit()
    old_paths = [file_path(old_staged, v) for v in IMAGE_VARIANTS]
    old_id = old_staged.id

    assert media_service.prune_staged() == 1

    assert db.session.get(MediaFile, old_id) is None
    assert not any(p.exists() for p in old_paths)
    assert all(file_path(m, "feed").exists() for m in (new_staged, posted))


def test_discard_removes_the_files_when_the_deletion_commits(world):
    media = store(world, samples.jpeg_with_gps(), "photo.jpg")
    db.session.commit()
    paths = [file_path(media, v) for v in IMAGE_VARIANTS]

    media_service.discard(media)
    assert all(p.exists() for p in paths)  # not yet: the deletion could still be rolled back
    db.session.commit()

    assert not any(p.exists() for p in paths)
    assert db.session.scalar(select(func.count(MediaFile.id))) == 0


def test_delete_files_removes_them_at_once(world):
    media = store(world, samples.jpeg_with_gps(), "photo.jpg")
    media_service.delete_files(media)
    assert not any(file_path(media, v).exists() for v in IMAGE_VARIANTS)


def test_the_prune_command_also_sweeps_orphaned_files(app, world):
    media = store(world, samples.jpeg_with_gps(), "kept.jpg")
    db.session.commit()
    orphan = media_root(app) / str(world[0].id) / "zz" / "zzorphan.feed.webp"
    leftover = orphan.parent / ".tmp-abc.part"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"a file whose row was never committed")
    leftover.write_bytes(b"half a file")
    three_days_ago = time.time() - 3 * 86400
    for path in (orphan, leftover, file_path(media, "feed")):
        os.utime(path, (three_days_ago, three_days_ago))

    result = app.test_cli_runner().invoke(args=["media", "prune"])

    assert result.exit_code == 0, result.output
    assert "0 staged upload(s) and 2 orphaned file(s); queued 0 waiting video(s) again." in result.output
    assert not orphan.exists() and not leftover.exists()
    assert file_path(media, "feed").exists()


# ---- video -----------------------------------------------------------------------------------

def _ffmpeg_or_skip():
    if shutil.which("ffmpeg") and shutil.which("ffprobe"):
        return
    if os.environ.get("HEARTH_REQUIRE_FFMPEG") == "1":
        pytest.fail("HEARTH_REQUIRE_FFMPEG=1 but ffmpeg/ffprobe are not installed (apt install ffmpeg)")
    pytest.skip("ffmpeg/ffprobe are not installed: the video pipeline is not tested here")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """3 s of 1080p test pattern with a title and a GPS location in its metadata."""
    _ffmpeg_or_skip()
    return samples.video_clip(tmp_path_factory.mktemp("video") / "trip.mp4", seconds=3, size=(1920, 1080),
                              metadata={"title": "Year 4 at 12 Elm Road", "location": "+51.5-000.1/"})


@pytest.fixture(scope="module")
def small_clip(tmp_path_factory):
    _ffmpeg_or_skip()
    return samples.video_clip(tmp_path_factory.mktemp("video") / "small.mp4", seconds=2, size=(320, 240))


def ffprobe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
                          "-show_chapters", str(path)], capture_output=True, check=True, timeout=30).stdout
    return json.loads(out)


def test_a_video_is_transcoded_to_720p_h264_without_metadata(app, world, clip):
    source = ffprobe(clip)
    assert source["format"]["tags"]["title"] and "location" in source["format"]["tags"]  # the sample is honest

    media = store(world, clip.read_bytes(), "trip.mp4")

    assert media.kind == "video" and media.content_type == "video/mp4"
    assert (media.width, media.height) == (1280, 720)
    assert media.duration_seconds == pytest.approx(3, abs=0.3)
    out = ffprobe(file_path(media, "video"))
    video = next(s for s in out["streams"] if s["codec_type"] == "video")
    audio = next(s for s in out["streams"] if s["codec_type"] == "audio")
    assert video["codec_name"] == "h264" and video["pix_fmt"] == "yuv420p"
    assert video["profile"] in ("High", "Main") and (video["width"], video["height"]) == (1280, 720)
    assert audio["codec_name"] == "aac"
    assert {s["codec_type"] for s in out["streams"]} == {"video", "audio"} and out["chapters"] == []
    tags = json.dumps([out["format"].get("tags", {})] + [s.get("tags", {}) for s in out["streams"]]).lower()
    assert "title" not in tags and "location" not in tags and "elm road" not in tags
    raw = file_path(media, "video").read_bytes()
    assert b"Elm Road" not in raw and b"+51.5" not in raw
    assert raw.index(b"moov") < raw.index(b"mdat")  # +faststart: plays before it has all arrived
    poster = opened(file_path(media, "poster"))
    assert poster.format == "WEBP" and poster.size == (720, 405)


def test_a_video_is_served_in_ranges(app, world, small_clip):
    media = store(world, small_clip.read_bytes(), "small.mp4")
    size = file_path(media, "video").stat().st_size
    with app.test_request_context(headers={"Range": "bytes=0-99"}):
        response = media_response(media, "video")
    assert response.status_code == 206 and response.mimetype == "video/mp4"
    assert response.headers["Content-Range"] == f"bytes 0-99/{size}"
    assert response.headers["Cache-Control"] == "private, no-cache"
    response.direct_passthrough = False
    assert len(response.get_data()) == 100
    response.close()
    with app.test_request_context():
        poster = media_response(media, "poster")
    assert poster.mimetype == "image/webp" and poster.headers["Accept-Ranges"] == "bytes"
    poster.close()


def test_an_hdr_phone_video_is_tone_mapped_to_ordinary_h264(app, world, tmp_path):
    _ffmpeg_or_skip()
    hdr = samples.video_clip(tmp_path / "IMG_0042.MOV", seconds=1, size=(640, 360), audio=False, hdr=True)

    media = store(world, hdr.read_bytes(), "IMG_0042.MOV")

    video = next(s for s in ffprobe(file_path(media, "video"))["streams"] if s["codec_type"] == "video")
    assert (video["codec_name"], video["pix_fmt"]) == ("h264", "yuv420p")
    assert video["color_transfer"] == "bt709" and video["color_primaries"] == "bt709"
    assert (media.width, media.height) == (640, 360)
    assert all(p.exists() for p in (file_path(media, "video"), file_path(media, "poster")))


def _stored_paths(media):
    return {variant: file_path(media, variant) for variant in ("video", "poster")}


def test_a_video_is_checked_in_the_request_and_transcoded_by_its_job_once_committed(app, world, small_clip):
    school, teacher = world
    media = store_upload(samples.upload(small_clip.read_bytes(), "small.mp4"), school_id=school.id,
                         uploaded_by=teacher)
    # The request's part: checked, kept for the job (not served), its length and frame known
    assert media.status == "processing" and not media.ready
    assert media.duration_seconds == pytest.approx(2, abs=0.3) and (media.width, media.height) == (320, 240)
    original = media_service._original_path(school.id, media.storage_key)
    assert original.is_file() and original.read_bytes() == small_clip.read_bytes()
    assert not any(path.exists() for path in _stored_paths(media).values())
    with app.test_request_context(), pytest.raises(NotFound):
        media_response(media, "video")
    with app.test_request_context(), pytest.raises(NotFound):
        media_response(media, "poster")
    media_id = media.id

    db.session.commit()  # no Redis: the job runs in this process, at once outside a request

    media = db.session.get(MediaFile, media_id)
    assert media.status == "ready" and media.ready
    assert (media.width, media.height) == (320, 240) and media.duration_seconds == pytest.approx(2, abs=0.3)
    paths = _stored_paths(media)
    assert all(path.is_file() for path in paths.values()) and not original.exists()
    assert media.bytes_stored == sum(path.stat().st_size for path in paths.values())
    assert sorted(files_under(media_root(app))) == sorted(paths.values())
    with app.test_request_context():
        response = media_response(media, "video")
    assert response.status_code == 200
    response.close()
    assert media_service.process_video(media_id) is None  # run again: left alone
    assert db.session.get(MediaFile, media_id).ready


def test_a_rolled_back_video_upload_leaves_no_file_and_queues_nothing(app, world, small_clip):
    media = store(world, samples.jpeg_with_gps(), "photo.jpg")  # something committed first
    db.session.commit()
    school, teacher = world
    store_upload(samples.upload(small_clip.read_bytes(), "small.mp4"), school_id=school.id, uploaded_by=teacher)
    db.session.rollback()
    db.session.commit()
    assert db.session.scalar(select(func.count(MediaFile.id))) == 1
    assert {path.name.split(".")[0] for path in files_under(media_root(app))} == {media.storage_key}


def test_a_video_ffmpeg_cannot_make_is_marked_failed_and_its_original_deleted(app, world, small_clip, caplog):
    school, teacher = world
    media = store_upload(samples.upload(small_clip.read_bytes(), "small.mp4"), school_id=school.id,
                         uploaded_by=teacher)  # ffprobe accepted it
    media_id = media.id
    app.config["FFMPEG_PATH"] = shutil.which("false") or "/bin/false"  # and then ffmpeg fails
    db.session.commit()
    media = db.session.get(MediaFile, media_id)
    assert media.status == "failed" and media.failed and media.bytes_stored == 0
    assert files_under(media_root(app)) == []  # no variant, and the original is gone
    assert "could not be prepared" in caplog.text
    with app.test_request_context(), pytest.raises(NotFound):
        media_response(media, "poster")
    assert media_service.process_video(media_id) is None  # run again: left alone


def test_a_video_deleted_while_waiting_takes_its_original_with_it(app, world, small_clip, monkeypatch):
    from app import jobs
    queued = []
    monkeypatch.setattr(jobs, "enqueue", lambda target, *args: queued.append((target, args)))  # a lost job
    school, teacher = world
    media = store_upload(samples.upload(small_clip.read_bytes(), "small.mp4"), school_id=school.id,
                         uploaded_by=teacher)
    db.session.commit()
    assert queued == [("app.services.media:process_video", (media.id,))]
    assert db.session.get(MediaFile, media.id).processing and len(files_under(media_root(app))) == 1
    media_id = media.id
    media_service.discard(media)
    db.session.commit()
    assert files_under(media_root(app)) == []
    assert media_service.process_video(media_id) is None  # the job, late: nothing to do


def test_a_video_whose_job_was_lost_is_queued_again_by_the_sweep(app, world, small_clip, monkeypatch):
    from app import jobs
    lost = []
    monkeypatch.setattr(jobs, "enqueue", lambda target, *args: lost.append(args))  # Redis lost it
    media = store(world, small_clip.read_bytes(), "small.mp4")
    assert lost == [(media.id,)] and db.session.get(MediaFile, media.id).processing
    monkeypatch.undo()
    assert media_service.requeue_waiting_videos() == 0  # not waiting long enough yet
    with time_machine.travel(utcnow() + timedelta(minutes=31), tick=False):
        result = app.test_cli_runner().invoke(args=["media", "prune"])  # the hourly timer
    assert "queued 1 waiting video(s) again." in result.output  # and ran at once (no Redis)
    assert db.session.get(MediaFile, media.id).ready and file_path(media, "video").is_file()
    assert media_service.requeue_waiting_videos(older_than=timedelta(0)) == 0


def test_a_portfolio_video_being_prepared_is_a_note_for_staff_and_absent_for_the_family(
        app, world, small_clip, monkeypatch, login_as):
    from app import jobs
    from app.services.portfolio import add_teacher_item
    from tests.factories import make_parent
    school, _teacher = world
    klass = make_class(school, name="Oak")
    teacher = make_teacher(school, classes=[klass])
    pupil = make_pupil(klass, name="Zosia K.")
    parent = make_parent(school, children=[pupil])
    monkeypatch.setattr(jobs, "enqueue", lambda target, *args: None)  # the worker has not got to it
    media = store(world, small_clip.read_bytes(), "small.mp4", uploaded_by=teacher)
    item = add_teacher_item(pupil, teacher, "Our volcano", [media])
    for url in (f"/portfolio/items/{item.id}", f"/portfolio/pupils/{pupil.id}"):
        staff_page = login_as(teacher).get(url).get_data(as_text=True)
        assert "Our volcano" in staff_page and "The video is being prepared" in staff_page, url
        assert f"/media/{media.id}/" not in staff_page and "<video" not in staff_page
        family_page = login_as(parent).get(url).get_data(as_text=True)
        assert "Our volcano" in family_page and "being prepared" not in family_page, url
        assert f"/media/{media.id}/" not in family_page and "<video" not in family_page
    media_service.process_video(media.id)
    family_page = login_as(parent).get(f"/portfolio/items/{item.id}").get_data(as_text=True)
    assert f'src="/media/{media.id}/video"' in family_page


@pytest.mark.parametrize("state", ["processing", "failed"])
def test_exports_and_keepsakes_leave_out_a_video_not_prepared(app, world, small_clip, monkeypatch, state):
    import zipfile

    from app import jobs
    from app.models import MediaTag
    from app.services.exports import build_family_export
    from app.services.keepsake import build_keepsake, school_year_now
    from app.services.portfolio import add_teacher_item
    from tests.factories import make_parent, make_post
    school, _teacher = world
    klass = make_class(school, name="Oak")
    teacher = make_teacher(school, classes=[klass])
    pupil = make_pupil(klass, name="Zosia K.")
    parent = make_parent(school, children=[pupil])
    monkeypatch.setattr(jobs, "enqueue", lambda target, *args: None)  # never prepared
    in_post = store(world, small_clip.read_bytes(), "post.mp4", uploaded_by=teacher)
    in_post.tags.append(MediaTag(pupil_id=pupil.id))
    make_post(teacher, klass, body="Trip", media=[in_post])
    on_story = store(world, small_clip.read_bytes(), "story.mp4", uploaded_by=teacher)
    add_teacher_item(pupil, teacher, "Our volcano", [on_story])
    for media in (in_post, on_story):
        media.status = state
    db.session.commit()

    export = build_family_export(parent)
    with zipfile.ZipFile(export.file) as archive:
        assert not [n for n in archive.namelist() if n.endswith(".mp4")]
        index = archive.read("index.html").decode()
    export.file.close()
    assert "<video" not in index and "no longer stored" not in index
    keepsake = build_keepsake(pupil, parent, school_year_now(school))
    assert keepsake.items == 1 and keepsake.videos == 0
    with zipfile.ZipFile(keepsake.file) as archive:
        assert "Our volcano" in archive.read("index.html").decode()
        assert not [n for n in archive.namelist() if n.endswith(".mp4")]
    keepsake.file.close()


def test_a_photo_is_ready_at_once_and_rows_from_before_the_migration_are_ready(app, world):
    media = store(world, samples.jpeg_with_gps(), "photo.jpg")
    db.session.commit()
    assert media.status == "ready"
    column = MediaFile.__table__.c.status
    assert column.server_default.arg == "ready" and not column.nullable


def test_a_video_longer_than_the_limit_is_refused(app, world, tmp_path):
    _ffmpeg_or_skip()
    app.config["MEDIA_MAX_VIDEO_SECONDS"] = 1
    short = samples.video_clip(tmp_path / "long.mp4", seconds=3, size=(160, 120), audio=False)
    with pytest.raises(UploadRefused, match="3 seconds long: videos can be up to 1 second"):
        store(world, short.read_bytes(), "long.mp4")
    assert files_under(media_root(app)) == []


def test_something_that_only_starts_like_a_video_is_refused_as_damaged(app, world):
    _ffmpeg_or_skip()
    with pytest.raises(UploadRefused, match="damaged"):
        store(world, samples.FAKE_MP4_HEAD + b"\x00" * 2000, "trip.mp4")


def test_a_video_too_big_is_refused_before_any_work(app, world):
    app.config["MEDIA_MAX_VIDEO_BYTES"] = 1000
    app.config["FFPROBE_PATH"] = app.config["FFMPEG_PATH"] = shutil.which("true") or "/bin/true"
    with pytest.raises(UploadRefused, match="videos can be up to"):
        store(world, samples.FAKE_MP4_HEAD + b"\x00" * 2000, "trip.mp4")


def test_without_ffmpeg_a_video_gets_a_clear_refusal(app, world):
    app.config["FFMPEG_PATH"] = "/nowhere/ffmpeg"
    assert media_service.ffmpeg_available() is False
    with pytest.raises(UploadRefused, match="server can't take videos.*ffmpeg"):
        store(world, samples.FAKE_MP4_HEAD, "trip.mp4")
    store(world, samples.jpeg_with_gps(), "photo.jpg")  # photos still work


@pytest.mark.parametrize("stream, expected", [
    ({"width": 1920, "height": 1080}, (1280, 720)),
    ({"width": 1080, "height": 1920}, (720, 1280)),
    ({"width": 1920, "height": 1080, "side_data_list": [{"rotation": -90}]}, (720, 1280)),
    ({"width": 640, "height": 480}, (640, 480)),
    ({"width": 641, "height": 361}, (642, 362)),
    ({"width": 720, "height": 576, "sample_aspect_ratio": "16:11"}, (1048, 576)),
])
def test_the_video_frame_is_at_most_720p_even_and_upright(stream, expected):
    assert media_service._video_size(stream, "clip") == expected
