"""The upload form of a cover picture (pages and the API's multipart PUT)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

from flask import current_app, flash, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import SubmitField, ValidationError

from planner.api import validated
from planner.core.errors import InvalidInput
from planner.core.forms import AppForm, field_errors, flash_field_errors
from planner.pictures import services
from planner.pictures.models import Picture


def _within_size_limit(form: Any, field: FileField) -> None:
    limit = current_app.config["PICTURE_MAX_BYTES"]
    upload = field.data
    upload.stream.seek(0, 2)
    too_big = upload.stream.tell() > limit
    upload.stream.seek(0)
    if too_big:
        raise ValidationError(_l("The picture is too large: at most %(mb)d MB.",
                                 mb=limit // (1024 * 1024)))


class PictureForm(AppForm):
    file = FileField(_l("Picture"), validators=[
        FileRequired(_l("Choose a picture (JPEG, PNG or WebP).")), _within_size_limit],
        description=_l("JPEG, PNG or WebP, at most 10 MB. Location and camera details are "
                       "removed."))
    submit = SubmitField(_l("Upload picture"))

    def content(self) -> bytes:
        return bytes(self.file.data.read())


class RemovePictureForm(AppForm):
    remove = SubmitField(_l("Remove picture"))


class CoverOut(TypedDict):
    cover_url: str


def cover_json(picture: Picture) -> CoverOut:
    return {"cover_url": services.url(picture.digest, external=True)}


def uploaded_picture() -> Picture:
    """The picture of an API upload (multipart field `file`), or 422 naming the field."""
    form = validated(PictureForm(meta={"csrf": False}))
    return services.store(form.content())


def change_cover(save: Callable[[Picture | None], object]) -> None:
    """Carry out a cover form posted from a page (upload, or remove with the other form's
    button) through `save`, and flash what happened."""
    if "remove" in request.form:
        if RemovePictureForm().validate_on_submit():
            save(None)
            flash(_("Picture removed."), "info")
        return
    form = PictureForm()
    try:
        if not form.validate_on_submit():
            raise InvalidInput(fields=field_errors(form))
        save(services.store(form.content()))
    except InvalidInput as error:
        flash_field_errors(form, error)
    else:
        flash(_("Picture saved."), "success")
