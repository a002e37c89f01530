"""A JSON body as form data for the WTForms form that validates it, refusing a value of the
wrong JSON type (shared/API.md, "Strict JSON").

Each field wants the JSON type the OpenAPI document gives it (planner.api.form_schema): a
BooleanField a boolean, so "no" is refused rather than read as true; an IntegerField an integer,
not a boolean, a string or 2.5; a StringField a string, not ["a"]; a list field a list of
strings; a FormField an object. A null is a field left out. Names are WTForms' full names, so
{"repeat": {"count": "3"}} is refused as "repeat-count", the name the page's form uses too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import Field, FormField

from planner.api.form_schema import array_item_type, json_type

WRONG_TYPE = {
    "boolean": _l("Must be true or false."),
    "integer": _l("Must be a whole number."),
    "number": _l("Must be a number."),
    "string": _l("Must be text."),
    "array": _l("Must be a list."),
    "object": _l("Must be an object."),
}
NOT_A_VALUE = _l("Must be a single value, not a list or an object.")

FormData = list[tuple[str, str]]
Errors = dict[str, list[str]]


def _fits(value: Any, kind: str | None) -> bool:
    if isinstance(value, bool):
        return kind in ("boolean", None)
    if isinstance(value, int):
        return kind in ("integer", "number", None)
    if isinstance(value, float):
        return kind in ("number", None) and math.isfinite(value)
    if isinstance(value, str):
        return kind in ("string", None)
    return kind == "array" and isinstance(value, list)


def _refusal(kind: str | None) -> str:
    return str(WRONG_TYPE.get(kind or "", NOT_A_VALUE))


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "y" if value else "false"  # "false" is one of BooleanField's false values
    return value if isinstance(value, str) else repr(value)


def _field_values(field: Field, value: Any, errors: Errors) -> FormData:
    kind = json_type(field)
    if not _fits(value, kind):
        errors[field.name] = [_refusal(kind)]
        return []
    if not isinstance(value, list):
        return [(field.name, _as_text(value))]
    item_kind = array_item_type(field)
    if not all(_fits(item, item_kind) and not isinstance(item, list) for item in value):
        errors[field.name] = [_refusal(kind)]
        return []
    return [(field.name, _as_text(item)) for item in value]


def _nested(field: FormField, value: Any) -> Any:
    """A FormField's object; a form with a `json_shorthand` also takes that one field's value
    alone ("repeat": "weekly" is {"freq": "weekly"})."""
    shorthand = getattr(field.form, "json_shorthand", None)
    return {shorthand: value} if shorthand and isinstance(value, str) else value


def form_data(fields: Iterable[Field], body: dict[str, Any], errors: Errors) -> FormData:
    """The body's values under the fields' names; a value of the wrong type goes to `errors`
    instead. Keys that name no field are ignored, as a form ignores unknown inputs."""
    by_key = {field.short_name: field for field in fields}
    data: FormData = []
    for key, value in body.items():
        field = by_key.get(key)
        if field is None or value is None:
            continue
        if isinstance(field, FormField):
            value = _nested(field, value)
            if isinstance(value, dict):
                data += form_data(field.form, value, errors)
                continue
        data += _field_values(field, value, errors)
    return data
