"""Draws static/img/icon-180.png and icon-512.png (home-screen icons; phones want PNG) in the
shapes of static/img/icon.svg. Run it after changing the icon:
`.venv/bin/python scripts/make_icons.py`."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

BRAND, WHITE = (194, 65, 12, 255), (255, 255, 255, 255)
IMG = Path(__file__).resolve().parents[1] / "static" / "img"


def draw(size: int) -> Image.Image:
    scale = size / 64
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    pen.rounded_rectangle((0, 0, size - 1, size - 1), radius=14 * scale, fill=BRAND)

    def circle(x: float, y: float, r: float) -> None:
        box = ((x - r) * scale, (y - r) * scale, (x + r) * scale, (y + r) * scale)
        pen.ellipse(box, fill=WHITE)

    circle(32, 22, 8)
    circle(17, 38, 7)
    circle(47, 38, 7)
    pen.chord((14 * scale, 42 * scale, 50 * scale, 66 * scale), 180, 360, fill=WHITE)
    return image


if __name__ == "__main__":
    for size in (180, 512):
        draw(size).save(IMG / f"icon-{size}.png", optimize=True)
