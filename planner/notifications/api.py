"""JSON API of a member's mail preferences (shared/API.md, "People, messages and content")."""

from __future__ import annotations

from flask import Response, jsonify
from flask_babel import lazy_gettext as _l

from planner.api import api_user, operation, parse_json
from planner.notifications import services
from planner.notifications.forms import PreferencesForm
from planner.ops.headers import personal


@operation("/me/notifications", "GET",
           _l("Which mail the member gets, per category (the essential ones are always on)"),
           response=dict[str, bool])
@personal
def get_preferences() -> Response:
    return jsonify(services.preferences(api_user()))


@operation("/me/notifications", "PUT",
           _l("Switch categories of optional mail on or off; the ones left out keep their "
              "setting, an essential one cannot be switched off (422 naming it)"),
           form=PreferencesForm, response=dict[str, bool], errors=(422,))
@personal
def put_preferences() -> Response:
    user = api_user()
    form = parse_json(PreferencesForm, defaults=services.preferences(user))
    return jsonify(services.set_preferences(user, form.choices()))
