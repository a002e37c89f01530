"""Helpers shared by forms of every area."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField

from planner.core.errors import DomainError


def show_field_errors(form: FlaskForm, error: DomainError) -> None:
    """Put a service's field errors on the form so the page shows them next to the fields;
    errors of fields this form does not have (a hold's clash names `venue_id`) go on top."""
    unshown = not error.fields
    for name, messages in error.fields.items():
        field = form._fields.get(name)
        if field is not None:
            field.errors = [*field.errors, *messages]
        else:
            unshown = True
    if unshown:
        form.form_errors.append(error.message)


class InstantField(DateTimeLocalField):
    """A date and time typed in a datetime-local input, or ISO 8601 from the API.

    Without an offset the value is naive wall-clock time (local to the branch); with an offset
    ("…+08:00", "…Z") it is an aware instant. Callers turn either into UTC for the branch.
    """

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        try:
            self.data = datetime.fromisoformat(str(valuelist[0]).strip().replace("Z", "+00:00"))
        except ValueError:
            self.data = None
            raise ValueError(self.gettext("Not a valid datetime value.")) from None


def optional_int(value: Any) -> int | None:
    """SelectField coercion where the empty choice means None."""
    return None if value in ("", None, "None") else int(value)
