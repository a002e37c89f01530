"""Share posters: a PNG to drop into a chat group, with the meetup's picture, title, time and
place, and a QR code that opens its link.

Chinese text needs a CJK typeface: Noto Sans Hans, fetched by `make install`
(scripts/fetch_fonts.sh), else the system's Noto Sans CJK (Debian's fonts-noto-cjk). Without
either, a poster is refused rather than drawn with empty boxes for every character."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from io import BytesIO
from pathlib import Path

import segno
from flask import Response
from PIL import Image, ImageDraw, ImageFont

from planner.pictures import services
from planner.pictures.models import Rendition

WIDTH, HEIGHT, MARGIN = 1080, 1440, 64
QR_SIDE = 380
INK, SOFT, BRAND, PAPER = "#1c1917", "#57534e", "#c2410c", "#ffffff"
TYPEFACES = (
    (Path(__file__).parent / "fonts" / "NotoSansHans-Medium.otf",
     Path(__file__).parent / "fonts" / "NotoSansHans-Bold.otf"),
    (Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
     Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc")),
)
# A line breaks between Latin words, or between any two Chinese characters.
TOKENS = re.compile(r"\s+|[^\s\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]+|.")
AnyFont = ImageFont.FreeTypeFont | ImageFont.ImageFont


class NoTypeface(RuntimeError):
    """No CJK typeface is installed: run `make install` (scripts/fetch_fonts.sh)."""


@dataclass(frozen=True)
class Poster:
    title: str
    when: str | None
    where: str | None
    branch: str
    link: str  # what the QR code opens, printed beneath it too
    caption: str  # "Scan to RSVP"
    cover_digest: str | None = None


@dataclass(frozen=True)
class Typeface:
    regular: str | None  # a font file; None draws with Pillow's own font (no CJK: tests)
    bold: str | None

    def font(self, size: int, *, bold: bool = False) -> AnyFont:
        path = self.bold if bold else self.regular
        return ImageFont.truetype(path, size) if path else ImageFont.load_default(size)


@cache
def installed_typeface() -> Typeface:
    for regular, bold in TYPEFACES:
        if regular.exists() and bold.exists():
            return Typeface(str(regular), str(bold))
    raise NoTypeface(NoTypeface.__doc__)


def _width(font: AnyFont, text: str) -> float:
    return font.getlength(text)


def _wrapped(text: str, font: AnyFont, width: int, max_lines: int) -> list[str]:
    """Greedy line breaking; a word longer than the line (a link) is broken anywhere, and the
    last line ends in an ellipsis if the text does not fit."""
    lines, line = [], ""
    for token in TOKENS.findall(text):
        for piece in ([token] if _width(font, token) <= width else list(token)):
            if _width(font, line + piece) <= width:
                line += piece
            else:
                lines.append(line.rstrip())
                line = piece.lstrip()
    lines.append(line.rstrip())
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and _width(font, last + "…") > width:
            last = last[:-1]
        lines = [*lines[:max_lines - 1], last.rstrip() + "…"]
    return [line for line in lines if line]


def _qr(link: str) -> Image.Image:
    code = segno.make(link, error="q", micro=False)
    out = BytesIO()
    code.save(out, kind="png", scale=max(1, QR_SIDE // code.symbol_size(border=2)[0]),
              border=2)
    return Image.open(BytesIO(out.getvalue())).convert("RGB").resize((QR_SIDE, QR_SIDE),
                                                                     Image.Resampling.NEAREST)


def _header(poster: Poster, typeface: Typeface) -> tuple[Image.Image, bool]:
    """The cover picture across the top, or the brand colour with the branch's name; and
    whether the branch still has to be named below."""
    if poster.cover_digest and (share := _share_rendition(poster.cover_digest)):
        with Image.open(BytesIO(share.data)) as picture:
            return picture.convert("RGB").resize((WIDTH, WIDTH * 630 // 1200)), True
    band = Image.new("RGB", (WIDTH, 300), BRAND)
    draw, font = ImageDraw.Draw(band), typeface.font(56, bold=True)
    for row, text in enumerate(_wrapped(poster.branch, font, WIDTH - 2 * MARGIN, 2)):
        draw.text((MARGIN, 90 + row * 72), text, fill=PAPER, font=font)
    return band, False


def _share_rendition(digest: str) -> Rendition | None:
    return services.rendition(digest, services.SHARE.name)


def render(poster: Poster, typeface: Typeface | None = None) -> bytes:
    """The poster as a PNG (1080 × 1440, a phone screen's shape)."""
    typeface = typeface or installed_typeface()
    canvas = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    header, name_the_branch = _header(poster, typeface)
    canvas.paste(header, (0, 0))
    draw = ImageDraw.Draw(canvas)
    y = header.height + 56
    title_font = typeface.font(68, bold=True)
    for line in _wrapped(poster.title, title_font, WIDTH - 2 * MARGIN, 3):
        draw.text((MARGIN, y), line, fill=INK, font=title_font)
        y += 88
    y += 24
    body_font = typeface.font(40)
    lines = (poster.when, poster.where, poster.branch if name_the_branch else None)
    for text in filter(None, lines):
        for line in _wrapped(text, body_font, WIDTH - 2 * MARGIN, 2):
            draw.text((MARGIN, y), line, fill=SOFT, font=body_font)
            y += 56
        y += 8
    qr_top = HEIGHT - MARGIN - QR_SIDE
    canvas.paste(_qr(poster.link), (WIDTH - MARGIN - QR_SIDE, qr_top))
    side = WIDTH - 3 * MARGIN - QR_SIDE
    caption_font, link_font = typeface.font(48, bold=True), typeface.font(30)
    draw.text((MARGIN, qr_top + 40), _wrapped(poster.caption, caption_font, side, 1)[0],
              fill=BRAND, font=caption_font)
    for row, line in enumerate(_wrapped(poster.link, link_font, side, 4)):
        draw.text((MARGIN, qr_top + 130 + row * 42), line, fill=SOFT, font=link_font)
    out = BytesIO()
    canvas.save(out, "PNG", optimize=True)
    return out.getvalue()


def png_response(poster: Poster, *, public: bool) -> Response:
    """The poster as an image a chat app can show inline; a draft's is for its leads only."""
    response = Response(render(poster), mimetype="image/png")
    response.headers["Cache-Control"] = "public, max-age=600" if public else "private, no-store"
    return response
