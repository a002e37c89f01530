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

from planner.api import OPERATIONS, Operation, bp
from planner.api.form_schema import (
    Schema,
    enum_schema,
    field_schema,
    form_instance_schema,
    form_schema,
    json_value,
    query_parameters,
)
from planner.api.pagination import PageForm
from planner.core.inputs import MAX_ID

__all__ = ["build_openapi", "field_schema", "form_instance_schema", "form_schema",
           "openapi_document", "query_parameters", "typed_schema"]

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
# Statuses any operation can answer, whatever it does: a malformed or too deeply nested body or
# a bad cursor (400), a token that is not valid, even where none is needed (401), a NUL byte, a
# wrong JSON type or an out-of-range date in the query or the body (422), the API's rate limit
# (429), the database out of reach for a moment (503). Rules with variables add 404 (an id out
# of range matches no route), bodies 413 (MAX_CONTENT_LENGTH).
EVERY_OPERATION = (400, 401, 422, 429, 503)
RULE_VARIABLE = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)>]*\))?:)?(?P<name>\w+)>")
CONVERTER_SCHEMAS: dict[str, Schema] = {
    "id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "uuid": {"type": "string", "format": "uuid"},
}


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
        return enum_schema([json_value(value) for value in get_args(tp)])
    if origin in (list, dict) or tp in (list, dict):
        return _container_schema(tp, components)
    if typing.is_typeddict(tp):
        return components.ref(tp)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return enum_schema([member.value for member in tp])
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


def _success(op: Operation, status: int, components: Components) -> Schema:
    success: Schema = {"description": _status_phrase(status)}
    if op.response is not None and status != 204:
        success["content"] = _json_content(typed_schema(op.response, components))
    if op.paginated:
        success["headers"] = PAGE_HEADERS
    return success


def error_statuses(op: Operation) -> set[int]:
    """Every error status the operation can answer."""
    return {*op.errors, *EVERY_OPERATION, *((404,) if RULE_VARIABLE.search(op.rule) else ()),
            *((413,) if op.form is not None else ())}


def _responses(op: Operation, components: Components) -> Schema:
    responses = {str(status): _success(op, status, components)
                 for status in sorted({op.status, *op.also})}
    for status in sorted(error_statuses(op)):
        reason = op.reasons.get(status)
        responses[str(status)] = {
            "description": (_status_phrase(status) if reason is None
                            else f"{_status_phrase(status)}: {reason}"),
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
