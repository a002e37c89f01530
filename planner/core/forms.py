"""Helpers shared by forms of every area, and the rules every field of every form follows.

Every form of the house derives from `AppForm` (or `SubForm`, for a FormField inside one).
Their fields then refuse, the same way on pages and in the API:
- text with control characters (such as NUL) or lone surrogates, and text that is not empty
  but has no visible character (only zero-width, bidi-control or space characters);
- numbers that are not finite (NaN, infinity);
and the fields below add: dates and times between 2000 and 2100, ids the database can hold.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any, ClassVar

from flask import flash
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeLocalField,
    Field,
    FloatField,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
)
from wtforms.csrf.core import CSRFTokenField
from wtforms.validators import NumberRange, StopValidation

from planner.core.errors import DomainError, InvalidInput
from planner.core.inputs import (
    MAX_ID,
    UNREADABLE_MESSAGE,
    has_visible_character,
    is_unreadable,
)

FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
OUT_OF_RANGE = _l("Choose a date between %(first)s and %(last)s.", first=FIRST_DAY.isoformat(),
                  last=LAST_DAY.isoformat())
INVISIBLE = _l("Type some visible text: this has only spaces or invisible characters.")
NOT_FINITE = _l("Enter a finite number.")
TOO_LARGE = _l("This number is too large.")
NOT_A_DAY = _l("Not a valid date: use YYYY-MM-DD, e.g. 2027-03-05.")
NOT_A_MONTH = _l("Not a valid month: use YYYY-MM, e.g. 2027-03.")
NO_SUCH_ID = _l("No such id.")

Schema = dict[str, Any]


# --- the rules of every field ----------------------------------------------------------------

def readable_text(_form: Any, field: Field) -> None:
    """Text the database, exports and mail can hold, with something to see if anything."""
    text = field.data if isinstance(field.data, str) else ""
    if is_unreadable(text):
        raise StopValidation(str(UNREADABLE_MESSAGE))
    if text.strip() and not has_visible_character(text):
        raise StopValidation(str(INVISIBLE))


def finite_number(_form: Any, field: Field) -> None:
    if isinstance(field.data, float) and not math.isfinite(field.data):
        raise StopValidation(str(NOT_FINITE))


def storable_integer(_form: Any, field: Field) -> None:
    """Whatever its own range, an integer a database column can hold."""
    if isinstance(field.data, int) and not -MAX_ID <= field.data <= MAX_ID:
        raise StopValidation(str(TOO_LARGE))


def _house_rules(field: Field) -> list[Callable[[Any, Field], None]]:
    if isinstance(field, StringField) and not isinstance(field, CSRFTokenField):
        return [readable_text]
    if isinstance(field, FloatField):
        return [finite_number]
    if isinstance(field, IntegerField):
        return [storable_integer]
    return []


class HouseRules:
    """A WTForms Meta that puts the house's rules ahead of each field's own validators, so
    they run (and stop the chain) before Optional() could wave a value through."""

    def bind_field(self, form: Form, unbound_field: Any, options: dict[str, Any]) -> Field:
        field = super().bind_field(form, unbound_field, options)  # type: ignore[misc]
        if rules := _house_rules(field):
            field.validators = [*rules, *field.validators]
        return field


class AppForm(FlaskForm):
    """The base of every form (pages and API)."""

    Meta = HouseRules


class SubForm(Form):
    """The base of a form nested in another as a FormField (no CSRF token of its own)."""

    Meta = HouseRules


# --- dates and times between 2000 and 2100 ---------------------------------------------------

def in_range(day: date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY


def parse_day(text: str) -> date:
    """A YYYY-MM-DD day between 2000 and 2100; ValueError (with a message for people) else."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(str(NOT_A_DAY)) from None
    if not in_range(day):
        raise ValueError(str(OUT_OF_RANGE))
    return day


def parse_days(text: str) -> list[date]:
    """Comma-separated days, e.g. "2027-03-05,2027-03-12"; each must exist and be in range."""
    return [parse_day(part) for part in text.split(",") if part.strip()]


def parse_instant(text: str) -> datetime:
    """ISO 8601 with or without an offset ("…+08:00", "…Z"), between 2000 and 2100."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(str(_l("Not a valid datetime value."))) from None
    if not in_range(moment.date()):
        raise ValueError(str(OUT_OF_RANGE))
    return moment


class InstantField(DateTimeLocalField):
    """A date and time typed in a datetime-local input, or ISO 8601 from the API.

    Without an offset the value is naive wall-clock time (local to the branch); with an offset
    ("…+08:00", "…Z") it is an aware instant, taken exactly as given. Years 2000 to 2100.
    """

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        if valuelist and str(valuelist[0]).strip():
            self.data = parse_instant(str(valuelist[0]))


class DayField(DateField):
    """A date (YYYY-MM-DD) between 2000 and 2100."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        if valuelist and str(valuelist[0]).strip():
            self.data = parse_day(str(valuelist[0]))


class DaysField(StringField):
    """Comma-separated dates, each one real and between 2000 and 2100; `data` is the list."""

    json_schema: ClassVar[Schema] = {"type": "string",
                                     "pattern": r"^\d{4}-\d{2}-\d{2}(,\d{4}-\d{2}-\d{2})*$"}

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = []
        if valuelist:
            self.data = parse_days(str(valuelist[0]))

    def _value(self) -> str:
        return ",".join(day.isoformat() for day in self.data or [])


def page_day(name: str, text: str | None, default: date) -> date:
    """A day named in a page's query (?week=2027-03-05): `default` when absent, 422 naming the
    parameter when it is no real day between 2000 and 2100."""
    if not text:
        return default
    try:
        return parse_day(text)
    except ValueError as error:
        raise _page_error(name, str(error)) from None


def page_month(name: str, text: str | None, default: date) -> date:
    """The first day of a month named in a page's query (?month=2027-03), as page_day."""
    if not text:
        return default
    try:
        first = datetime.strptime(text.strip(), "%Y-%m").date()
    except ValueError:
        raise _page_error(name, str(NOT_A_MONTH)) from None
    if not in_range(first):
        raise _page_error(name, str(OUT_OF_RANGE))
    return first


def _page_error(name: str, message: str) -> InvalidInput:
    return InvalidInput(_l("“%(name)s”: %(message)s", name=name, message=message),
                        fields={name: [message]})


# --- ids the database can hold ---------------------------------------------------------------

ID_RANGE = NumberRange(min=1, max=MAX_ID, message=NO_SUCH_ID)


class IdField(IntegerField):
    """The id of a row, given in a body (not in the path, where the `id` converter does it)."""

    def __init__(self, *args: Any, validators: Iterable[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, validators=[*validators, ID_RANGE], **kwargs)


def row_id(value: Any) -> int:
    """SelectField coercion to a row id the database can hold."""
    number = int(value)
    if not 1 <= number <= MAX_ID:
        raise ValueError(str(NO_SUCH_ID))
    return number


def optional_id(value: Any) -> int | None:
    """row_id, where the empty choice means None."""
    return None if value in ("", None, "None") else row_id(value)


class IdChoiceField(SelectField):
    """A row chosen by id: a select on pages, an integer in JSON (the choices are only known at
    run time, so any id is accepted here and the service checks it)."""

    json_schema: ClassVar[Schema] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, coerce=optional_id, validate_choice=False, **kwargs)


# --- errors ----------------------------------------------------------------------------------

def _leaf_fields(fields: Iterable[Field]) -> Iterable[Field]:
    for field in fields:
        if isinstance(field, FormField):
            yield from _leaf_fields(field.form)
        else:
            yield field


def field_errors(form: Form) -> dict[str, list[str]]:
    """The form's errors by each field's full name ("repeat-count" inside "repeat")."""
    return {field.name: [str(e) for e in field.errors]
            for field in _leaf_fields(form) if field.errors}


def show_field_errors(form: FlaskForm, error: DomainError) -> None:
    """Put a service's field errors on the form so the page shows them next to the fields;
    errors of fields this form does not have (a hold's clash names `venue_id`) go on top."""
    fields = {field.name: field for field in _leaf_fields(form)}
    unshown = not error.fields
    for name, messages in error.fields.items():
        field = fields.get(name)
        if field is not None:
            field.errors = [*field.errors, *messages]
        else:
            unshown = True
    if unshown:
        form.form_errors.append(error.message)


def flash_field_errors(form: FlaskForm, error: DomainError) -> None:
    """For a small form posted from a page that shows others (a cover upload, a new topic):
    each error flashed with the label of its field, since the page is shown afresh."""
    for name, messages in error.fields.items():
        label = form[name].label.text if name in form else None
        for message in messages:
            flash(_("%(field)s: %(problem)s", field=label, problem=message) if label
                  else message, "error")
