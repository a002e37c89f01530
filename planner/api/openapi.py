"""The OpenAPI 3.1 document, generated from the registered operations: request bodies and query
parameters from their WTForms forms, responses from the TypedDicts the handlers return."""

from __future__ import annotations

import copy
import enum
import re
import types
import typing
from dataclasses import dataclass, field
from datetime import date, datetime, time
from http import HTTPStatus
from typing import Any, Literal, NotRequired, Required, Union, get_args, get_origin

from flask import Response, jsonify
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

from planner.api import OPERATIONS, Operation, bp
from planner.api.pagination import PageForm
from planner.core.inputs import MAX_ID

Schema = dict[str, Any]

REF_PREFIX = "#/components/schemas/"
ERROR_SCHEMA_NAME = "Error"
PAGE_HEADERS: dict[str, Any] = {
    "Link": {"description": 'RFC 8288 <absolute URL of the next page>; rel="next", when more '
                            "follows", "schema": {"type": "string"}},
    "X-Total-Count": {"description": "How many items the whole list has",
                      "schema": {"type": "integer"}}}
ERROR_SCHEMA: Schema = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string"},
            "message": {"type": "string"},
            "fields": {"type": "object",
                       "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        },
    }},
}
BEARER_AUTH: Schema = {"type": "http", "scheme": "bearer"}

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

SCALAR_SCHEMAS: dict[Any, Schema] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
    datetime: {"type": "string", "format": "date-time"},
    date: {"type": "string", "format": "date"},
    time: {"type": "string", "format": "time"},
    Any: {},
}
JSON_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (type(None), "null"))

RULE_VARIABLE = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)>]*\))?:)?(?P<name>\w+)>")
CONVERTER_SCHEMAS: dict[str, Schema] = {
    "id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "uuid": {"type": "string", "format": "uuid"},
}


# --- values ----------------------------------------------------------------------------------

def _json_value(value: Any) -> Any:
    """A value as it appears in JSON: enum members by value, lazy strings as plain text."""
    if isinstance(value, enum.Enum):
        return value.value
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _json_type(value: Any) -> str | None:
    return next((name for kind, name in JSON_TYPES if isinstance(value, kind)), None)


def _enum_schema(values: list[Any]) -> Schema:
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
    return [_json_value(c.value) for c in select._choices_from_input(select.choices)]


def _select_schema(select: SelectFieldBase) -> Schema:
    values = _choice_values(select) if isinstance(select, SelectField) else None
    item = {"type": "string"} if values is None else _enum_schema(values)
    if isinstance(select, SelectMultipleField):
        return {"type": "array", "items": item}
    return item


def _type_schema(form_field: Field) -> Schema:
    if isinstance(form_field, SelectFieldBase):
        return _select_schema(form_field)
    for field_class, schema in FIELD_SCHEMAS:
        if isinstance(form_field, field_class):
            return dict(schema)
    return {"type": "string"}


def _validator_schema(validator: Any) -> Schema:
    if isinstance(validator, v.Length):
        return {key: limit for key, limit in (("minLength", validator.min),
                                              ("maxLength", validator.max)) if limit >= 0}
    if isinstance(validator, v.NumberRange):
        return {key: limit for key, limit in (("minimum", validator.min),
                                              ("maximum", validator.max)) if limit is not None}
    if isinstance(validator, v.AnyOf):
        return {"enum": [_json_value(value) for value in validator.values]}
    if isinstance(validator, v.NoneOf):
        return {"not": {"enum": [_json_value(value) for value in validator.values]}}
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


# --- typing → JSON Schema --------------------------------------------------------------------

@dataclass
class Components:
    """The named schemas collected while converting types, each TypedDict under its class name."""

    schemas: dict[str, Schema] = field(default_factory=dict)
    sources: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, schema: Schema, source: Any = None) -> None:
        if name in self.sources and self.sources[name] is not source:
            raise ValueError(f"Two schemas are named {name!r}; rename one of them.")
        self.sources[name] = source
        self.schemas[name] = schema

    def ref(self, typed_dict: Any) -> Schema:
        name = typed_dict.__name__
        if self.sources.get(name) is not typed_dict:
            self.add(name, {}, typed_dict)  # placeholder, so self-referencing types terminate
            self.schemas[name] = _typed_dict_schema(typed_dict, self)
        return {"$ref": REF_PREFIX + name}


def _is_required_key(name: str, wrapped_hint: Any, typed_dict: Any) -> bool:
    # On Python 3.11, with `from __future__ import annotations`, TypedDict leaves
    # Required[...]/NotRequired[...] out of __required_keys__, so read the wrappers too.
    origin = get_origin(wrapped_hint)
    if origin in (Required, NotRequired):
        return origin is Required
    return name in typed_dict.__required_keys__


def _typed_dict_schema(typed_dict: Any, components: Components) -> Schema:
    hints = typing.get_type_hints(typed_dict)
    wrapped_hints = typing.get_type_hints(typed_dict, include_extras=True)
    schema: Schema = {"type": "object", "properties": {
        name: typed_schema(hint, components) for name, hint in hints.items()}}
    required = [name for name in hints if _is_required_key(name, wrapped_hints[name], typed_dict)]
    if required:
        schema["required"] = required
    return schema


def _nullable(schema: Schema) -> Schema:
    if isinstance(schema.get("type"), str) and "enum" not in schema:
        return schema | {"type": [schema["type"], "null"]}
    if set(schema) == {"anyOf"}:
        return {"anyOf": [*schema["anyOf"], {"type": "null"}]}
    return {"anyOf": [schema, {"type": "null"}]}


def _union_schema(members: tuple[Any, ...], components: Components) -> Schema:
    present = [member for member in members if member is not type(None)]
    schemas = [typed_schema(member, components) for member in present]
    schema = schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
    return _nullable(schema) if len(present) < len(members) else schema


def _container_schema(tp: Any, components: Components) -> Schema:
    args = get_args(tp)
    if get_origin(tp) is list or tp is list:
        return {"type": "array", "items": typed_schema(args[0], components) if args else {}}
    value_schema = typed_schema(args[1], components) if args else {}
    if not value_schema:  # dict[str, Any]: any JSON object
        return {"type": "object"}
    return {"type": "object", "additionalProperties": value_schema}


def typed_schema(tp: Any, components: Components | None = None) -> Schema:
    """The JSON Schema of a type; TypedDicts become $refs, collected into `components`."""
    components = Components() if components is None else components
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        return _union_schema(get_args(tp), components)
    if origin is Literal:
        return _enum_schema([_json_value(value) for value in get_args(tp)])
    if origin in (list, dict) or tp in (list, dict):
        return _container_schema(tp, components)
    if typing.is_typeddict(tp):
        return components.ref(tp)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum_schema([member.value for member in tp])
    if tp in SCALAR_SCHEMAS:
        return dict(SCALAR_SCHEMAS[tp])
    raise TypeError(f"No JSON Schema for {tp!r}; use a TypedDict, an Enum or a plain type.")


# --- the document ----------------------------------------------------------------------------

def openapi_path(rule: str) -> tuple[str, list[Schema]]:
    """A Flask rule as an OpenAPI path ("<id:event_id>" → "{event_id}") and its path
    parameters."""
    parameters = [{"name": match["name"], "in": "path", "required": True,
                   "schema": dict(CONVERTER_SCHEMAS.get(match["converter"], {"type": "string"}))}
                  for match in RULE_VARIABLE.finditer(rule)]
    path = RULE_VARIABLE.sub(lambda match: "{" + match["name"] + "}", (bp.url_prefix or "") + rule)
    return path, parameters


def _json_content(schema: Schema) -> Schema:
    return {"application/json": {"schema": schema}}


def _status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error" if status >= 400 else "Success"


def _without_required(schema: Schema) -> Schema:
    """PATCH bodies: any field may be left out, it then keeps its current value."""
    relaxed = {key: value for key, value in schema.items() if key != "required"}
    if "properties" in schema:
        relaxed["properties"] = {name: _without_required(property_schema)
                                 for name, property_schema in schema["properties"].items()}
    return relaxed


def _request_body(op: Operation) -> Schema:
    assert op.form is not None
    schema = form_schema(op.form)
    if op.method.upper() == "PATCH":
        schema = _without_required(schema)
    # An empty body is read as {}, so the body is only needed when some field is.
    return {"required": "required" in schema, "content": _json_content(schema)}


def _responses(op: Operation, components: Components) -> Schema:
    success: Schema = {"description": _status_phrase(op.status)}
    if op.response is not None and op.status != 204:
        success["content"] = _json_content(typed_schema(op.response, components))
    if op.paginated:
        success["headers"] = PAGE_HEADERS
    responses = {str(op.status): success}
    for status in sorted({*op.errors, *((401,) if op.auth else ())}):
        responses[str(status)] = {
            "description": _status_phrase(status),
            "content": _json_content({"$ref": REF_PREFIX + ERROR_SCHEMA_NAME})}
    return responses


def _operation(op: Operation, components: Components) -> Schema:
    _, parameters = openapi_path(op.rule)
    if op.query is not None:
        parameters += query_parameters(op.query)
    if op.paginated:
        parameters += query_parameters(PageForm)
    description: Schema = {"operationId": op.endpoint, "summary": str(op.summary)}
    if parameters:
        description["parameters"] = parameters
    if op.form is not None:
        description["requestBody"] = _request_body(op)
    description["responses"] = _responses(op, components)
    if op.auth:
        description["security"] = [{"bearerAuth": []}]
    return description


def build_openapi(title: str, version: str) -> Schema:
    components = Components()
    components.add(ERROR_SCHEMA_NAME, copy.deepcopy(ERROR_SCHEMA))
    paths: dict[str, Schema] = {}
    for op in OPERATIONS:
        path, _ = openapi_path(op.rule)
        methods = paths.setdefault(path, {})
        method = op.method.lower()
        if method in methods:
            raise ValueError(f"{op.method} {path} is registered twice.")
        methods[method] = _operation(op, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {"schemas": dict(sorted(components.schemas.items())),
                       "securitySchemes": {"bearerAuth": BEARER_AUTH}},
    }


@bp.get("/openapi.json")
def openapi_document() -> Response:
    return jsonify(build_openapi("Juhui API", "1"))
