"""A picture and its renditions, kept in the database so that every app server can serve it."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from planner.core.db import created_at, intpk
from planner.core.extensions import Model


class Picture(Model):
    __tablename__ = "pictures"
    __table_args__ = (CheckConstraint("width > 0 AND height > 0", name="has_pixels"),)

    id: Mapped[intpk]
    # SHA-256 of the uploaded file: the same file uploaded twice is kept once, and the
    # addresses of its renditions change whenever the picture does (so they can be cached
    # for a year).
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    width: Mapped[int]  # upright, as the EXIF orientation says
    height: Mapped[int]
    created_at: Mapped[created_at]

    renditions: Mapped[list[Rendition]] = relationship(
        back_populates="picture", cascade="all, delete-orphan", passive_deletes=True)


class Rendition(Model):
    """One size and format of a picture, as pages and link previews use it."""

    __tablename__ = "picture_renditions"
    __table_args__ = (CheckConstraint("width > 0 AND height > 0", name="has_pixels"),)

    picture_id: Mapped[int] = mapped_column(ForeignKey("pictures.id", ondelete="CASCADE"),
                                            primary_key=True)
    name: Mapped[str] = mapped_column(String(16), primary_key=True)  # "wide.webp", …
    media_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int]
    height: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)

    picture: Mapped[Picture] = relationship(back_populates="renditions")
