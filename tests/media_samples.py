"""Sample files for the media tests and benchmark, all made on the spot (no binary fixtures).

Each helper returns bytes, or writes a file and returns its path; ``upload()`` wraps bytes the way
werkzeug hands an uploaded file to a view.
"""
import io
import random
import struct
import subprocess
import zipfile
import zlib

from PIL import Image, ImageDraw, ImageFilter, ImageOps
from werkzeug.datastructures import FileStorage

GPS_IFD = 0x8825
ORIENTATION, MAKE, MODEL, DATETIME, SOFTWARE = 0x0112, 0x010F, 0x0110, 0x0132, 0x0131


def upload(data, filename, content_type="application/octet-stream"):
    """A FileStorage like the one a form post gives a view; the browser's content type is a claim."""
    stream = data if hasattr(data, "read") else io.BytesIO(data)
    return FileStorage(stream=stream, filename=filename, content_type=content_type)


def phone_exif(orientation=1):
    """EXIF as a phone writes it: maker, model, time, and where the photo was taken (a GPS IFD)."""
    exif = Image.Exif()
    exif[MAKE] = "PhoneMaker"
    exif[MODEL] = "Phone 15 Pro"
    exif[DATETIME] = "2025:06:12 14:03:27"
    exif[SOFTWARE] = "17.5.1"
    exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (51.0, 30.0, 12.5)
    gps[3] = "W"
    gps[4] = (0.0, 7.0, 40.2)
    return exif


def wide_marked_image(size=(400, 200)):
    """Landscape, with a red block in the top-left corner so that rotation can be checked."""
    image = Image.new("RGB", size, (40, 120, 200))
    ImageDraw.Draw(image).rectangle((0, 0, size[0] // 4, size[1] // 4), fill=(230, 20, 20))
    return image


def jpeg_with_gps(size=(400, 200), orientation=6, icc=None):
    """A JPEG carrying GPS and device EXIF, an XMP packet, a comment and optionally an ICC profile."""
    buffer = io.BytesIO()
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf'
           b'-syntax-ns#"><rdf:Description exif:GPSLatitude="51,30.2N"/></rdf:RDF></x:xmpmeta>')
    params = {"exif": phone_exif(orientation).tobytes(), "quality": 90, "comment": b"Taken at 12 Elm Road",
              "xmp": xmp}
    if icc:
        params["icc_profile"] = icc
    wide_marked_image(size).save(buffer, "JPEG", **params)
    return buffer.getvalue()


def phone_photo(size=(4032, 3024), quality=92, seed=7):
    """A photographic-looking 12 MP JPEG (~3 MB): soft gradients, shapes, texture at several scales,
    fine edges and sensor-like noise, with a phone's EXIF."""
    rng = random.Random(seed)
    width, height = size
    small = (width // 8, height // 8)
    red = Image.linear_gradient("L").resize(small).rotate(rng.randint(0, 360), expand=False)
    green = Image.radial_gradient("L").resize(small)
    blue = ImageOps.invert(Image.linear_gradient("L").resize(small))
    image = Image.merge("RGB", (red, green, blue))
    draw = ImageDraw.Draw(image)
    for _ in range(60):
        x, y = rng.randrange(small[0]), rng.randrange(small[1])
        r = rng.randrange(8, small[0] // 4)
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        else:
            draw.polygon([(x + rng.randint(-r, r), y + rng.randint(-r, r)) for _ in range(5)], fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(2))
    texture = Image.new("L", small, 128)  # foliage, fabric, gravel: noise at several scales, enlarged smoothly
    for divisor, weight in ((64, 0.5), (16, 0.5), (4, 0.4), (1, 0.3)):
        grain = Image.effect_noise((max(1, small[0] // divisor), max(1, small[1] // divisor)), 50)
        texture = Image.blend(texture, grain.resize(small, Image.Resampling.BICUBIC), weight)
    image = Image.blend(image, Image.merge("RGB", (texture,) * 3), 0.4).resize(size, Image.Resampling.BICUBIC)
    detail = ImageDraw.Draw(image)
    for _ in range(400):  # edges at full resolution: leaves, text, hair
        x, y = rng.randrange(width), rng.randrange(height)
        detail.line((x, y, x + rng.randint(-60, 60), y + rng.randint(-60, 60)),
                    fill=tuple(rng.randrange(256) for _ in range(3)), width=rng.randint(1, 3))
    # Luminance noise and fine texture, as a phone sensor and the world give (made at half size: fast).
    noise = Image.effect_noise((width // 2, height // 2), 60).resize(size, Image.Resampling.BILINEAR)
    image = Image.blend(image, noise.convert("RGB"), 0.25)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, exif=phone_exif(1).tobytes())
    return buffer.getvalue()


def swapped_primaries_icc():
    """An ICC v2 matrix/TRC display profile whose red primary is sRGB's green and vice versa: pure red
    in a picture tagged with it is, in sRGB, pure green. Proves the pipeline honours profiles."""
    def s15(value):
        return struct.pack(">i", round(value * 65536))

    def xyz(x, y, z):
        return b"XYZ " + b"\0" * 4 + s15(x) + s15(y) + s15(z)
    curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, int(2.2 * 256)) + b"\0\0"
    tags = [(b"wtpt", xyz(0.9642, 1.0, 0.8249)),
            (b"rXYZ", xyz(0.3851, 0.7169, 0.0971)), (b"gXYZ", xyz(0.4361, 0.2225, 0.0139)),
            (b"bXYZ", xyz(0.1431, 0.0606, 0.7141)),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    offset = 128 + 4 + 12 * len(tags)
    table, data = struct.pack(">I", len(tags)), b""
    for signature, body in tags:
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (struct.pack(">I", size) + b"\0" * 4 + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
              + b"\0" * 12 + b"acsp" + b"\0" * 24 + struct.pack(">I", 0) + s15(0.9642) + s15(1.0)
              + s15(0.8249) + b"\0" * 48)
    assert len(header) == 128
    return header + table + data


def png_with_alpha(size=(300, 200)):
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((20, 20, size[0] - 20, size[1] - 20), fill=(250, 180, 0, 200))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def heic(size=(400, 300)):
    import pillow_heif
    pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    wide_marked_image(size).save(buffer, "HEIF", quality=70, exif=phone_exif(1).tobytes())
    return buffer.getvalue()


def animated_webp(size=(120, 80)):
    frames = [Image.new("RGB", size, colour) for colour in ((200, 0, 0), (0, 200, 0), (0, 0, 200))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "WEBP", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def png_header_only(width, height):
    """A tiny PNG whose header claims width x height pixels (a decompression bomb's calling card)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + \
        chunk(b"IEND", b"")


def sparse_file(path, size, head):
    """A file of `size` bytes that begins with `head` and costs next to nothing on disk."""
    with open(path, "wb") as fh:
        fh.write(head)
        fh.truncate(size)
    return path


HTML_AS_JPEG = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = (b'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" '
       b'height="10"><script>alert(1)</script><rect width="10" height="10"/></svg>')
NOT_A_PDF = b"Dear parents,\nthis is a text file someone renamed to .pdf\n"


def minimal_pdf(text="Homework"):
    """A small but valid one-page PDF with a correct cross-reference table."""
    stream = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def docx(text="Spellings for Friday", macros=False):
    """A minimal Word document (Office Open XML), optionally macro-enabled."""
    main_type = ("application/vnd.ms-word.document.macroEnabled.main+xml" if macros else
                 "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml",
                         '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
                         'package/2006/content-types"><Default Extension="rels" ContentType="application/'
                         'vnd.openxmlformats-package.relationships+xml"/><Override PartName="/word/document.xml" '
                         f'ContentType="{main_type}"/></Types>')
        archive.writestr("_rels/.rels",
                         '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
                         '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
                         'openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
                         'Target="word/document.xml"/></Relationships>')
        archive.writestr("word/document.xml",
                         '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats'
                         f'.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p>'
                         '</w:body></w:document>')
        if macros:
            archive.writestr("word/vbaProject.bin", b"\xd0\xcf\x11\xe0 not really")
    return buffer.getvalue()


def odt(text="Reading list"):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text", compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", f"<office:document-content>{text}</office:document-content>")
    return buffer.getvalue()


def plain_zip():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "not an office document")
    return buffer.getvalue()


# A few bytes that start like an MP4 (an ftyp box): enough to be taken for a video before ffprobe.
FAKE_MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64


def video_clip(path, seconds=3, size=(1920, 1080), rate=10, audio=True, metadata=None, hdr=False,
               ffmpeg="ffmpeg"):
    """An H.264 MP4 from ffmpeg's test pattern, with the global tags given (title, location ...);
    with hdr=True a 10-bit HEVC clip in HLG, as recent iPhones record (give it a .mov path)."""
    command = [ffmpeg, "-nostdin", "-v", "error", "-y", "-f", "lavfi",
               "-i", f"testsrc=size={size[0]}x{size[1]}:rate={rate}:duration={seconds}"]
    if audio:
        command += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    for key, value in (metadata or {}).items():
        command += ["-metadata", f"{key}={value}"]
    if hdr:
        command += ["-c:v", "libx265", "-x265-params", "log-level=error", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p10le", "-color_primaries", "bt2020", "-color_trc", "arib-std-b67",
                    "-colorspace", "bt2020nc", "-tag:v", "hvc1"]
    else:
        command += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if audio:
        command += ["-c:a", "aac", "-shortest"]
    command.append(str(path))
    subprocess.run(command, check=True, timeout=60)
    return path
