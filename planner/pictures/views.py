"""Serving pictures: content-hashed addresses, so a browser or CDN may keep them for a year."""

from __future__ import annotations

from flask import Blueprint, abort, request
from werkzeug.wrappers import Response

from planner.pictures import services

bp = Blueprint("pictures", __name__)
A_YEAR = 365 * 24 * 3600
# Pages and link previews name the sizes directly; see services.SIZES.
bp.add_app_template_global(services.url, "picture_url")


@bp.get("/pictures/<digest>/<name>")
def show(digest: str, name: str) -> Response:
    found = services.rendition(digest, name)
    if found is None:
        abort(404)
    response = Response(found.data, mimetype=found.media_type)
    response.set_etag(f"{digest}-{name}")
    response.cache_control.public = True
    response.cache_control.max_age = A_YEAR
    response.cache_control.immutable = True
    return response.make_conditional(request)
