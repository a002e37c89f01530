"""Account forms, shared by the HTML pages and the JSON API."""

from __future__ import annotations

from functools import cache

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField, SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp

from planner.accounts.passwords import MAX_LENGTH, MIN_LENGTH
from planner.accounts.services import Profile
from planner.core.forms import AppForm
from planner.core.timeutil import all_timezones

LANGUAGE_CHOICES = [SelectChoice("zh_CN", "简体中文"), SelectChoice("en", "English")]
PHONE_PATTERN = r"^\+?[0-9][0-9 \-]{4,30}$"
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]*$"


@cache
def timezone_choices() -> list[SelectChoice]:
    return [SelectChoice(name) for name in sorted(all_timezones())]


class ProfileFields(AppForm):
    display_name = StringField(_l("Display name"), validators=[DataRequired(), Length(max=80)])
    phone = StringField(_l("Phone"), validators=[
        Optional(), Length(max=32), Regexp(PHONE_PATTERN, message=_l("Enter a phone number."))])
    locale = SelectField(_l("Language"), default="",
                         choices=[SelectChoice("", _l("Follow my browser")), *LANGUAGE_CHOICES])
    timezone = SelectField(_l("Timezone"), default="Asia/Shanghai")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.timezone.choices = timezone_choices()

    def to_profile(self) -> Profile:
        return Profile(display_name=self.display_name.data.strip(),
                       phone=(self.phone.data or "").strip() or None,
                       locale=self.locale.data or None, timezone=self.timezone.data)


class SignUpForm(ProfileFields):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[
        DataRequired(), Length(min=MIN_LENGTH, max=MAX_LENGTH)])
    submit = SubmitField(_l("Sign up"))


class LoginForm(AppForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=MAX_LENGTH)])
    submit = SubmitField(_l("Log in"))


class TokenNameForm(AppForm):
    name = StringField(_l("Token name"),
                       description=_l("Where you will use it, e.g. \"chat-group bot\"."),
                       validators=[Optional(), Length(max=80), Regexp(
                           NO_CONTROL_CHARACTERS, message=_l("Use letters, digits and spaces."))])
    submit = SubmitField(_l("Create a token"))


class TokenForm(LoginForm, TokenNameForm):
    """POST /api/v1/auth/token: the credentials, and optionally a name for the new token."""


class ProfileForm(ProfileFields):
    submit = SubmitField(_l("Save"))


class PasswordForm(AppForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(_l("New password"), validators=[
        DataRequired(), Length(min=MIN_LENGTH, max=MAX_LENGTH)])
    confirm = PasswordField(_l("Repeat the new password"), validators=[
        DataRequired(), EqualTo("new_password", message=_l("The passwords do not match."))])
    submit = SubmitField(_l("Change password"))
