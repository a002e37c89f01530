"""Turning an uploaded file into a picture the site can show, and finding it again.

A file is accepted only if it decodes as a JPEG, PNG or WebP of a sensible number of pixels
(a small file can claim a billion pixels: a decompression bomb). It is turned upright by its
EXIF orientation and re-encoded from its pixels alone, so nothing of the original's metadata
(GPS position, camera, owner) reaches anyone who sees it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from io import BytesIO

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from planner.core.errors import InvalidInput
from planner.core.extensions import db
from planner.core.urls import public_url
from planner.pictures.models import Picture, Rendition

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"}
# What can go wrong decoding a file that only claims to be a picture.
UNDECODABLE = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError)
# Pillow's own alarm, for claims far beyond PICTURE_MAX_PIXELS (raised when opening).
BOMB = (Image.DecompressionBombError, Image.DecompressionBombWarning)


@dataclass(frozen=True)
class Size:
    """A rendition: fit within `width` (× `height`, cropped to fill it, when given)."""

    name: str
    width: int
    height: int | None = None

    @property
    def format(self) -> str:
        return "JPEG" if self.name.endswith(".jpg") else "WEBP"

    @property
    def media_type(self) -> str:
        return "image/jpeg" if self.format == "JPEG" else "image/webp"


WIDE = Size("wide.webp", 1600)  # the meetup and branch pages
CARD = Size("card.webp", 640)  # lists, phones
SHARE = Size("share.jpg", 1200, 630)  # link previews (Open Graph) and posters: JPEG everywhere
SIZES = (WIDE, CARD, SHARE)


def _refused(message: str) -> InvalidInput:
    return InvalidInput(fields={"file": [message]})


def _too_many_pixels() -> InvalidInput:
    return _refused(str(_l("This picture has too many pixels: at most %(count)d million.",
                           count=current_app.config["PICTURE_MAX_PIXELS"] // 1_000_000)))


def _upright(data: bytes) -> Image.Image:
    """The decoded picture, turned as its EXIF orientation says; refused if it is none."""
    try:
        with Image.open(BytesIO(data)) as image:
            if image.format not in ACCEPTED_FORMATS:
                raise _refused(str(_l("Send a JPEG, PNG or WebP picture.")))
            width, height = image.size
            if width * height > current_app.config["PICTURE_MAX_PIXELS"]:
                raise _too_many_pixels()
            image.load()
            return ImageOps.exif_transpose(image)
    except BOMB as error:
        raise _too_many_pixels() from error
    except UNDECODABLE as error:
        raise _refused(str(_l("This file is not a picture that can be read (JPEG, PNG or "
                              "WebP)."))) from error


def _pixels_only(image: Image.Image) -> Image.Image:
    """A copy that holds the pixels and nothing else (no EXIF, XMP, ICC or text chunks)."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    converted = image.convert("RGBA" if has_alpha else "RGB")
    return Image.frombytes(converted.mode, converted.size, converted.tobytes())


def _rendered(image: Image.Image, size: Size) -> tuple[bytes, tuple[int, int]]:
    if size.height is None:
        fitted = image.copy()
        fitted.thumbnail((size.width, size.width * 4))  # never enlarges
    else:
        fitted = ImageOps.fit(image, (size.width, size.height))
    if size.format == "JPEG" and fitted.mode == "RGBA":
        backdrop = Image.new("RGB", fitted.size, "white")
        backdrop.paste(fitted, mask=fitted.getchannel("A"))
        fitted = backdrop
    out = BytesIO()
    fitted.save(out, size.format, quality=82, **({"method": 4} if size.format == "WEBP" else {}))
    return out.getvalue(), fitted.size


def store(data: bytes) -> Picture:
    """The picture for these bytes: kept already, or decoded, rendered and added (flushed)."""
    digest = hashlib.sha256(data).hexdigest()
    if (known := _by_digest(digest)) is not None:
        return known
    image = _pixels_only(_upright(data))
    picture = Picture(digest=digest, width=image.width, height=image.height)
    for size in SIZES:
        encoded, (width, height) = _rendered(image, size)
        picture.renditions.append(Rendition(name=size.name, media_type=size.media_type,
                                            width=width, height=height, data=encoded))
    try:
        with db.session.begin_nested():
            db.session.add(picture)
    except IntegrityError:  # the same file, uploaded at the same moment by someone else
        if (known := _by_digest(digest)) is None:
            raise
        return known
    return picture


def _by_digest(digest: str) -> Picture | None:
    return db.session.scalar(select(Picture).where(Picture.digest == digest))


def rendition(digest: str, name: str) -> Rendition | None:
    return db.session.scalar(select(Rendition).join(Picture).where(
        Picture.digest == digest, Rendition.name == name))


def forget_if_unused(digest: str | None) -> None:
    """Delete a picture nothing points to any more. Every column that refers to pictures is
    asked, so a new kind of owner needs no change here."""
    picture = _by_digest(digest) if digest else None
    if picture is None:
        return
    db.session.flush()
    for table in Picture.metadata.tables.values():
        for key in table.foreign_keys:
            if key.column.table is Picture.__table__ and table is not Rendition.__table__:
                owned = select(exists().where(key.parent == getattr(picture, key.column.key)))
                if db.session.scalar(owned):
                    return
    db.session.delete(picture)


def url(digest: str, name: str = WIDE.name, *, external: bool = False) -> str:
    """A picture's address in one size: absolute (from PUBLIC_URL) for what leaves the site."""
    if external:
        return public_url("pictures.show", digest=digest, name=name)
    return url_for("pictures.show", digest=digest, name=name)
