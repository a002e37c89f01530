"""WTForms forms as JSON Schema: the request bodies and query parameters of the OpenAPI
document, and the JSON type each field of a body must have (planner.api reads bodies strictly
by it, so the document and the parsing cannot disagree)."""

from __future__ import annotations

import enum
from typing import Any

from wtforms import (
    BooleanField,
    DateField,
    DateTimeField,
    DecimalField,
    EmailField,
    Field,
    FloatField,
    Form,
    FormField,
    IntegerField,
    MonthField,
    PasswordField,
    SelectField,
    SelectFieldBase,
    SelectMultipleField,
    SubmitField,
    TimeField,
    URLField,
)
from wtforms import validators as v
from wtforms.csrf.core import CSRFTokenField

Schema = dict[str, Any]

# Most specific class first: DateField, TimeField and DateTimeLocalField subclass DateTimeField,
# and EmailField, URLField, PasswordField subclass StringField (the fallback).
FIELD_SCHEMAS: tuple[tuple[type[Field], Schema], ...] = (
    (BooleanField, {"type": "boolean"}),
    (IntegerField, {"type": "integer"}),
    (DecimalField, {"type": "number"}),
    (FloatField, {"type": "number"}),
    (EmailField, {"type": "string", "format": "email"}),
    (URLField, {"type": "string", "format": "uri"}),
    (PasswordField, {"type": "string", "format": "password"}),
    (MonthField, {"type": "string"}),
    (DateField, {"type": "string", "format": "date"}),
    (TimeField, {"type": "string", "format": "time"}),
    (DateTimeField, {"type": "string", "format": "date-time"}),
)
SKIPPED_FIELDS: tuple[type[Field], ...] = (CSRFTokenField, SubmitField)
JSON_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (type(None), "null"))


# --- values ----------------------------------------------------------------------------------

def json_value(value: Any) -> Any:
    """A value as it appears in JSON: enum members by value, lazy strings as plain text."""
    if isinstance(value, enum.Enum):
        return value.value
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _json_type(value: Any) -> str | None:
    return next((name for kind, name in JSON_TYPES if isinstance(value, kind)), None)


def enum_schema(values: list[Any]) -> Schema:
    json_types = {_json_type(value) for value in values}
    if len(json_types) == 1 and None not in json_types:
        return {"type": json_types.pop(), "enum": values}
    return {"enum": values}


# --- WTForms → JSON Schema -------------------------------------------------------------------

def _instantiate(form_class: type[Form]) -> Form:
    # formdata=None: describe the form without reading the current request's body.
    return form_class(formdata=None, meta={"csrf": False})


def _described_fields(form: Form) -> list[Field]:
    return [f for f in form if not isinstance(f, SKIPPED_FIELDS)]


def _is_required(form_field: Field) -> bool:
    validators = form_field.validators
    return (any(isinstance(x, v.DataRequired | v.InputRequired) for x in validators)
            and not any(isinstance(x, v.Optional) for x in validators))


def _choice_values(select: SelectField) -> list[Any] | None:
    """The allowed values, or None when they are only known at run time."""
    # Reading `choices` would call a choices callable (a database query, say).
    if getattr(select, "_choices_callable", None) is not None:
        return None
    # validate_choice=False accepts values outside the list, so it is no constraint.
    if not getattr(select, "validate_choice", True) or select.choices is None:
        return None
    # The private parser is the one WTForms uses; it accepts every `choices` shape
    # (SelectChoice, tuples, plain values, dicts of optgroups) without coercing.
    return [json_value(c.value) for c in select._choices_from_input(select.choices)]


def _select_schema(select: SelectFieldBase) -> Schema:
    values = _choice_values(select) if isinstance(select, SelectField) else None
    item = {"type": "string"} if values is None else enum_schema(values)
    if isinstance(select, SelectMultipleField):
        return {"type": "array", "items": item}
    return item


def _type_schema(form_field: Field) -> Schema:
    # A field class of the house may say how it reads JSON (an id chosen in a select).
    if (own := getattr(type(form_field), "json_schema", None)) is not None:
        return dict(own)
    if isinstance(form_field, SelectFieldBase):
        return _select_schema(form_field)
    for field_class, schema in FIELD_SCHEMAS:
        if isinstance(form_field, field_class):
            return dict(schema)
    return {"type": "string"}


def json_type(form_field: Field) -> str | None:
    """The JSON type ("boolean", "integer", "object" …) a body must give the field, or None
    when the document names none (an enum of mixed types)."""
    if isinstance(form_field, FormField):
        return "object"
    kind = _type_schema(form_field).get("type")
    return kind if isinstance(kind, str) else None


def array_item_type(form_field: Field) -> str | None:
    kind = _type_schema(form_field).get("items", {}).get("type")
    return kind if isinstance(kind, str) else None


def _validator_schema(validator: Any) -> Schema:
    if isinstance(validator, v.Length):
        return {key: limit for key, limit in (("minLength", validator.min),
                                              ("maxLength", validator.max)) if limit >= 0}
    if isinstance(validator, v.NumberRange):
        return {key: limit for key, limit in (("minimum", validator.min),
                                              ("maximum", validator.max)) if limit is not None}
    if isinstance(validator, v.AnyOf):
        return {"enum": [json_value(value) for value in validator.values]}
    if isinstance(validator, v.NoneOf):
        return {"not": {"enum": [json_value(value) for value in validator.values]}}
    if isinstance(validator, v.Email):
        return {"format": "email"}
    if isinstance(validator, v.URL):
        return {"format": "uri"}
    if isinstance(validator, v.Regexp):
        return {"pattern": validator.regex.pattern}
    return {}


def _annotations(form_field: Field) -> Schema:
    notes: Schema = {}
    if form_field.label is not None and str(form_field.label.text):
        notes["title"] = str(form_field.label.text)
    if str(form_field.description or ""):
        notes["description"] = str(form_field.description)
    return notes


def field_schema(form_field: Field) -> Schema:
    if isinstance(form_field, FormField):
        schema = form_instance_schema(form_field.form)
    else:
        schema = _type_schema(form_field)
        for validator in form_field.validators:
            schema |= _validator_schema(validator)
    return schema | _annotations(form_field)


def form_instance_schema(form: Form) -> Schema:
    fields = _described_fields(form)
    schema: Schema = {"type": "object",
                      "properties": {f.short_name: field_schema(f) for f in fields}}
    required = [f.short_name for f in fields if _is_required(f)]
    if required:
        schema["required"] = required
    return schema


def form_schema(form_class: type[Form]) -> Schema:
    """The JSON Schema of the object a form accepts (nested FormFields become nested objects)."""
    return form_instance_schema(_instantiate(form_class))


def _flat_fields(form: Form) -> list[Field]:
    """Query strings have no nesting: a FormField's fields go by their prefixed names."""
    flat: list[Field] = []
    for form_field in _described_fields(form):
        if isinstance(form_field, FormField):
            flat += _flat_fields(form_field.form)
        else:
            flat.append(form_field)
    return flat


def query_parameters(form_class: type[Form]) -> list[Schema]:
    return [{"name": f.name, "in": "query", "required": _is_required(f),
             "schema": field_schema(f)} for f in _flat_fields(_instantiate(form_class))]

