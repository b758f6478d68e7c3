"""Draw Hearth's home-screen icons (PNG) from the same shapes as app/static/img/icon.svg.

Run once after changing the design: .venv/bin/python scripts/make_icons.py
The PNGs are committed: phones need bitmaps for "Add to Home screen"; the SVG stays the favicon.
"""
from pathlib import Path

from PIL import Image, ImageDraw

BRAND = (0x8A, 0x3B, 0x12)
FLAME = (0xF0, 0xA2, 0x02)
WHITE = (255, 255, 255)
OUT = Path(__file__).resolve().parent.parent / "app" / "static" / "img"
SUPER = 4  # draw larger, then shrink: smooth edges without an SVG renderer


def _house(draw, scale, offset):
    """The house and flame of icon.svg (a 64-unit square), scaled and moved."""
    def pts(values):
        return [(offset + x * scale, offset + y * scale) for x, y in values]
    draw.polygon(pts([(32, 12), (10, 30), (16, 30), (16, 50), (28, 50), (28, 38), (36, 38), (36, 50),
                      (48, 50), (48, 30), (54, 30)]), fill=WHITE)
    draw.polygon(pts([(32, 30), (29, 33.5), (28.5, 37), (30, 40), (33, 40.5), (36, 37), (35, 34), (32, 30)]),
                 fill=FLAME)


def icon(size, maskable=False):
    big = size * SUPER
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if maskable:
        # Full bleed; the drawing stays inside the central 80 % "safe zone" that launchers keep.
        draw.rectangle([0, 0, big, big], fill=BRAND)
        scale = big * 0.8 / 64
        _house(draw, scale, big * 0.1)
    else:
        draw.rounded_rectangle([0, 0, big - 1, big - 1], radius=big * 14 / 64, fill=BRAND)
        _house(draw, big / 64, 0)
    return image.resize((size, size), Image.LANCZOS)


def main():
    icon(192).save(OUT / "icon-192.png", optimize=True)
    icon(512).save(OUT / "icon-512.png", optimize=True)
    icon(512, maskable=True).save(OUT / "icon-maskable-512.png", optimize=True)
    icon(180, maskable=True).convert("RGB").save(OUT / "apple-touch-icon.png", optimize=True)


if __name__ == "__main__":
    main()
