"""The OpenAPI generator on hand-made forms, types and operations: no database, no app factory."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal, NotRequired, TypedDict

import pytest
from flask import Flask
from flask_babel import Babel
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    FloatField,
    Form,
    FormField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional

from planner.api import OPERATIONS, Operation
from planner.api.openapi import (
    Components,
    build_openapi,
    form_schema,
    openapi_document,
    query_parameters,
    typed_schema,
)

ERROR_REF = {"$ref": "#/components/schemas/Error"}


def _choices_from_the_database() -> list[SelectChoice]:
    raise AssertionError("describing a form must not load its runtime choices")


class RadiusForm(Form):
    km = FloatField("Radius (km)", validators=[Optional(), NumberRange(min=0, max=500)])


class SignUpForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField("Password", validators=[InputRequired(), Length(min=10)])
    name = StringField("Name", validators=[Optional(), Length(min=2, max=80)],
                       description=_l("Shown to other members."))
    age = IntegerField("Age", validators=[Optional(), NumberRange(min=16)])
    latitude = FloatField("Latitude", validators=[DataRequired(), NumberRange(min=-90, max=90)])
    newsletter = BooleanField("Newsletter")
    plan = SelectField("Plan", choices=[SelectChoice("free", "Free"), SelectChoice("pro", "Pro")])
    size = RadioField("Size", choices=[SelectChoice("s"), SelectChoice("l")], default="s")
    branch = SelectField("Branch", choices=_choices_from_the_database)
    venue = SelectField("Venue", validate_choice=False)
    starts_at = DateTimeLocalField("Starts")
    near = FormField(RadiusForm, label="Near")
    submit = SubmitField("Sign up")


class SearchForm(FlaskForm):
    q = StringField("Search", validators=[Optional(), Length(max=80)])
    page = IntegerField("Page", validators=[Optional(), NumberRange(min=1)])
    near = FormField(RadiusForm, label="Near")


class Colour(enum.StrEnum):
    RED = "red"
    BLUE = "blue"


class PlaceOut(TypedDict):
    name: str
    latitude: float


class MeetupOut(TypedDict):
    id: int
    title: str
    starts_at: datetime
    place: PlaceOut | None
    stops: list[PlaceOut]
    kind: Literal["online", "offline"]
    colour: Colour
    capacity: int | None
    is_public: bool
    extra: dict[str, Any]
    note: NotRequired[str]


class TreeNode(TypedDict):
    label: str
    children: list[TreeNode]


@pytest.fixture
def request_context() -> Iterator[None]:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="unit-test", WTF_CSRF_ENABLED=False)
    Babel(app)  # only so the lazy strings can be read
    with app.test_request_context():
        yield


@pytest.fixture
def operations(request_context: None) -> Iterator[list[Operation]]:
    """OPERATIONS holding only the operations a test appends, restored afterwards."""
    registered = list(OPERATIONS)
    OPERATIONS.clear()
    try:
        yield OPERATIONS
    finally:
        OPERATIONS[:] = registered


# --- forms -----------------------------------------------------------------------------------

def test_form_schema(request_context):
    assert form_schema(SignUpForm) == {
        "type": "object",
        "properties": {
            "email": {"type": "string", "format": "email", "maxLength": 254, "title": "Email"},
            "password": {"type": "string", "format": "password", "minLength": 10,
                         "title": "Password"},
            "name": {"type": "string", "minLength": 2, "maxLength": 80, "title": "Name",
                     "description": "Shown to other members."},
            "age": {"type": "integer", "minimum": 16, "title": "Age"},
            "latitude": {"type": "number", "minimum": -90, "maximum": 90, "title": "Latitude"},
            "newsletter": {"type": "boolean", "title": "Newsletter"},
            "plan": {"type": "string", "enum": ["free", "pro"], "title": "Plan"},
            "size": {"type": "string", "enum": ["s", "l"], "title": "Size"},
            "branch": {"type": "string", "title": "Branch"},
            "venue": {"type": "string", "title": "Venue"},
            "starts_at": {"type": "string", "format": "date-time", "title": "Starts"},
            "near": {"type": "object", "title": "Near", "properties": {
                "km": {"type": "number", "minimum": 0, "maximum": 500, "title": "Radius (km)"}}},
        },
        "required": ["email", "password", "latitude"],
    }


def test_query_parameters_flatten_nested_forms(request_context):
    assert query_parameters(SearchForm) == [
        {"name": "q", "in": "query", "required": False,
         "schema": {"type": "string", "maxLength": 80, "title": "Search"}},
        {"name": "page", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "title": "Page"}},
        {"name": "near-km", "in": "query", "required": False,
         "schema": {"type": "number", "minimum": 0, "maximum": 500, "title": "Radius (km)"}},
    ]


# --- types -----------------------------------------------------------------------------------

def test_typed_schema_collects_nested_typed_dicts():
    components = Components()
    assert typed_schema(list[MeetupOut], components) == {
        "type": "array", "items": {"$ref": "#/components/schemas/MeetupOut"}}
    assert components.schemas == {
        "MeetupOut": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "title": {"type": "string"},
                "starts_at": {"type": "string", "format": "date-time"},
                "place": {"anyOf": [{"$ref": "#/components/schemas/PlaceOut"},
                                    {"type": "null"}]},
                "stops": {"type": "array", "items": {"$ref": "#/components/schemas/PlaceOut"}},
                "kind": {"type": "string", "enum": ["online", "offline"]},
                "colour": {"type": "string", "enum": ["red", "blue"]},
                "capacity": {"type": ["integer", "null"]},
                "is_public": {"type": "boolean"},
                "extra": {"type": "object"},
                "note": {"type": "string"},
            },
            "required": ["id", "title", "starts_at", "place", "stops", "kind", "colour",
                         "capacity", "is_public", "extra"],
        },
        "PlaceOut": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "latitude": {"type": "number"}},
            "required": ["name", "latitude"],
        },
    }


@pytest.mark.parametrize(("tp", "schema"), [
    (str, {"type": "string"}),
    (float | None, {"type": ["number", "null"]}),
    (int | str, {"anyOf": [{"type": "integer"}, {"type": "string"}]}),
    (Literal[1, 2], {"type": "integer", "enum": [1, 2]}),
    (Colour | None, {"anyOf": [{"type": "string", "enum": ["red", "blue"]}, {"type": "null"}]}),
    (dict[str, list[str]], {"type": "object",
                            "additionalProperties": {"type": "array",
                                                     "items": {"type": "string"}}}),
])
def test_typed_schema_of_plain_types(tp, schema):
    assert typed_schema(tp) == schema


def test_self_referencing_typed_dict_terminates():
    components = Components()
    assert typed_schema(TreeNode, components) == {"$ref": "#/components/schemas/TreeNode"}
    assert components.schemas["TreeNode"]["properties"]["children"] == {
        "type": "array", "items": {"$ref": "#/components/schemas/TreeNode"}}


def _another_place_out() -> type:
    class PlaceOut(TypedDict):  # a second type under a name already taken
        city: str

    return PlaceOut


def test_unknown_types_and_clashing_names_are_refused():
    with pytest.raises(TypeError):
        typed_schema(complex)
    components = Components()
    typed_schema(PlaceOut, components)
    with pytest.raises(ValueError, match="PlaceOut"):
        typed_schema(_another_place_out(), components)


# --- the document ----------------------------------------------------------------------------

def _json_body(operation: dict[str, Any], status: str) -> dict[str, Any]:
    return operation["responses"][status]["content"]["application/json"]["schema"]


def test_build_openapi(operations):
    operations += [
        Operation("/branches/<slug>/sign-ups", "POST", _l("Sign up"), "demo_sign_up",
                  form=SignUpForm, response=MeetupOut, status=201, errors=(403, 422)),
        Operation("/meetups", "GET", "Search meetups", "demo_search", query=SearchForm,
                  response=list[MeetupOut], auth=False, errors=(422,)),
        Operation("/meetups/<int:id>", "PATCH", "Edit a meetup", "demo_edit", form=SignUpForm,
                  response=MeetupOut, errors=(404, 422)),
        Operation("/meetups/<int:id>", "DELETE", "Delete a meetup", "demo_delete", status=204,
                  errors=(404,)),
    ]
    document = build_openapi("Test API", "7")

    assert document["openapi"] == "3.1.0"
    assert document["info"] == {"title": "Test API", "version": "7"}
    assert list(document["paths"]) == ["/api/v1/branches/{slug}/sign-ups", "/api/v1/meetups",
                                       "/api/v1/meetups/{id}"]

    sign_up = document["paths"]["/api/v1/branches/{slug}/sign-ups"]["post"]
    assert sign_up["operationId"] == "demo_sign_up"
    assert sign_up["summary"] == "Sign up"
    assert sign_up["parameters"] == [
        {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}]
    assert sign_up["requestBody"] == {
        "required": True, "content": {"application/json": {"schema": form_schema(SignUpForm)}}}
    assert sign_up["responses"]["201"] == {
        "description": "Created",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MeetupOut"}}}}
    # Its own statuses, those of every operation, 404 for the path's variable, 413 for the body.
    assert set(sign_up["responses"]) == {"201", "400", "401", "403", "404", "413", "422", "429",
                                         "503"}
    for status in ("401", "403", "422"):
        assert _json_body(sign_up, status) == ERROR_REF
    assert sign_up["security"] == [{"bearerAuth": []}]

    search = document["paths"]["/api/v1/meetups"]["get"]
    assert [p["name"] for p in search["parameters"]] == ["q", "page", "near-km"]
    assert "requestBody" not in search
    assert "security" not in search
    assert set(search["responses"]) == {"200", "400", "401", "422", "429", "503"}
    assert _json_body(search, "200") == {"type": "array",
                                         "items": {"$ref": "#/components/schemas/MeetupOut"}}

    edit = document["paths"]["/api/v1/meetups/{id}"]["patch"]
    assert edit["parameters"] == [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    edit_body = edit["requestBody"]
    assert edit_body["required"] is False  # PATCH: fields left out keep their value
    assert "required" not in edit_body["content"]["application/json"]["schema"]
    assert set(edit["responses"]) == {"200", "400", "401", "404", "413", "422", "429", "503"}

    delete = document["paths"]["/api/v1/meetups/{id}"]["delete"]
    assert delete["responses"]["204"] == {"description": "No Content"}
    assert delete["security"] == [{"bearerAuth": []}]

    components = document["components"]
    assert list(components["schemas"]) == ["Error", "MeetupOut", "PlaceOut"]
    assert components["schemas"]["Error"]["properties"]["error"]["required"] == ["code",
                                                                                 "message"]
    assert components["securitySchemes"] == {"bearerAuth": {"type": "http", "scheme": "bearer"}}

    validate(document, cls=OpenAPIV31SpecValidator)


def test_other_success_statuses_share_the_body(operations):
    operations.append(Operation("/meetups/<id:meetup_id>/rsvps", "POST", "RSVP", "demo_rsvp",
                                response=PlaceOut, status=201, also=(200,)))
    rsvp = build_openapi("Test API", "1")["paths"]["/api/v1/meetups/{meetup_id}/rsvps"]["post"]
    assert _json_body(rsvp, "200") == _json_body(rsvp, "201") == {
        "$ref": "#/components/schemas/PlaceOut"}
    assert rsvp["parameters"] == [{"name": "meetup_id", "in": "path", "required": True, "schema": {
        "type": "integer", "minimum": 1, "maximum": 2**31 - 1}}]


def test_duplicate_operations_are_refused(operations):
    operations += [Operation("/meetups", "GET", "One", "demo_one"),
                   Operation("/meetups", "GET", "Two", "demo_two")]
    with pytest.raises(ValueError, match="GET /api/v1/meetups"):
        build_openapi("Test API", "1")


def test_the_route_serves_the_document(operations):
    operations.append(Operation("/ping", "GET", "Ping", "demo_ping", auth=False))
    document = openapi_document().json
    assert document["info"] == {"title": "Juhui API", "version": "1"}
    assert list(document["paths"]) == ["/api/v1/ping"]
    validate(document, cls=OpenAPIV31SpecValidator)
