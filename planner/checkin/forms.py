"""Check-in forms, shared by the door app's sync, the JSON API and the walk-in form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from planner.core.forms import AppForm, IdField, InstantField
from planner.registrations.forms import GUESTS

NONCE = [Optional(), Length(max=64), Regexp(r"^[A-Za-z0-9_.:-]+$")]
NONCE_HELP = _l("Chosen by the door app for this action and sent again with every retry: "
                "repeated at the same meetup, the action happens once and the first answer "
                "comes back.")


class ScanForm(AppForm):
    """One scan: a ticket code (or the QR payload) or a registration picked by name."""

    ticket_code = StringField(_l("Ticket code"), validators=[Optional(), Length(max=200)])
    registration_id = IdField(_l("Registration"), validators=[Optional()])
    nonce = StringField(_l("Scan id"), validators=NONCE, description=NONCE_HELP)
    door = StringField(_l("Door"), validators=[Optional(), Length(max=40)])
    scanned_at = InstantField(_l("Scanned at"), validators=[Optional()])


class UndoForm(AppForm):
    registration_id = IdField(_l("Registration"), validators=[DataRequired()])
    nonce = StringField(_l("Scan id"), validators=NONCE, description=NONCE_HELP)
    door = StringField(_l("Door"), validators=[Optional(), Length(max=40)])


class WalkInForm(AppForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    phone = StringField(_l("Phone"), validators=[
        Optional(), Length(max=32), Regexp(r"^\+?[0-9 -]{3,32}$",
                                           message=_l("Digits only, e.g. 138 0013 8000."))])
    guests = IntegerField(_l("Guests"), default=0, validators=GUESTS)
    source = StringField(_l("Which chat group or channel invited them"),
                         validators=[Optional(), Length(max=64)])
    nonce = StringField(_l("Scan id"), validators=NONCE, description=NONCE_HELP)
    door = StringField(_l("Door"), validators=[Optional(), Length(max=40)])
    scanned_at = InstantField(_l("Scanned at"), validators=[Optional()])
    submit = SubmitField(_l("Check in walk-in"))

    def phone_rule(self) -> dict[str, str]:
        """The phone rule, for the door app to check before it accepts a walk-in offline."""
        [rule] = [v for v in self.phone.validators if isinstance(v, Regexp)]
        return {"data_pattern": rule.regex.pattern, "data_pattern_error": str(rule.message)}
