"""Sign-up, login, logout, profile and API tokens (HTML). The request commits what they change
(planner/core/unit_of_work.py); the services only flush."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from planner.accounts import services
from planner.accounts.forms import (
    LoginForm,
    PasswordForm,
    ProfileForm,
    SignUpForm,
    TokenNameForm,
)
from planner.accounts.limits import account_login_limit, password_change_limit
from planner.accounts.passwords import verify_password
from planner.core.attribution import forget_referral, last_referral_code
from planner.core.errors import DomainError, InvalidInput
from planner.core.extensions import configured_limit, limiter
from planner.core.forms import show_field_errors
from planner.core.unit_of_work import writes_during_read
from planner.ops.headers import personal

bp = Blueprint("accounts", __name__)


def _safe_next(default: str) -> str:
    """Only follow ?next= to a path on this site, never to another host."""
    target = request.args.get("next", "")
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return default


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(configured_limit("LOGIN_RATE_LIMIT"), methods=["POST"])
def signup() -> str | Response:
    form = SignUpForm()
    if form.validate_on_submit():
        try:
            user = services.sign_up(form.email.data, form.password.data, form.to_profile(),
                                    referral_code=last_referral_code())
        except DomainError as error:
            show_field_errors(form, error)
        else:
            login_user(user)
            flash(_("Welcome to Juhui, %(name)s!", name=user.display_name), "success")
            response = redirect(_safe_next(url_for("branches.index")))
            forget_referral(response)
            return response
    return render_template("accounts/signup.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(configured_limit("LOGIN_RATE_LIMIT"), methods=["POST"])
@account_login_limit
def login() -> str | Response:
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except DomainError as error:
            flash(error.message, "error")
        else:
            login_user(user)
            flash(_("You are logged in."), "success")
            return redirect(_safe_next(url_for("main.home")))
    return render_template("accounts/login.html", form=form)


@bp.post("/logout")
def logout() -> Response:
    """Ends this session and every copy of its cookie (a shared computer, a stolen cookie)."""
    if current_user.is_authenticated:
        services.end_sessions(current_user)
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("main.home"))


def _profile_page(status: int = 200, **forms: object) -> tuple[str, int]:
    """The profile page, with any of its forms given as filled in (and their errors)."""
    page_forms = {"form": ProfileForm(formdata=None, obj=current_user),
                  "password_form": PasswordForm(formdata=None),
                  "token_form": TokenNameForm(formdata=None), "new_token": None} | forms
    return render_template("accounts/profile.html", tokens=services.live_api_tokens(current_user),
                           **page_forms), status


@bp.route("/profile", methods=["GET", "POST"])
@personal
@login_required
@writes_during_read
def profile() -> tuple[str, int] | Response:
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        services.update_profile(current_user, form.to_profile())
        flash(_("Your profile is saved."), "success")
        return redirect(url_for("accounts.profile"))
    return _profile_page(form=form)


@bp.post("/profile/password")
@personal
@login_required
@password_change_limit
def change_password() -> tuple[str, int] | Response:
    form = PasswordForm()
    if form.validate_on_submit():
        if not verify_password(current_user.password_hash, form.current_password.data):
            form.current_password.errors = [_("The current password is wrong.")]
        else:
            try:
                services.set_password(current_user, form.new_password.data)
            except InvalidInput as error:
                form.new_password.errors = error.fields["password"]
            else:
                # This session goes on, under the new session version.
                login_user(current_user._get_current_object())
                flash(_("Your password is changed. Your other sessions and your API tokens "
                        "were ended."), "success")
                return redirect(url_for("accounts.profile"))
    return _profile_page(422, password_form=form)


@bp.post("/profile/api-token")
@personal
@login_required
def create_api_token() -> tuple[str, int]:
    form = TokenNameForm()
    if not form.validate():
        return _profile_page(422, token_form=form)
    token = services.issue_api_token(current_user, form.name.data)
    return _profile_page(new_token=token)


@bp.post("/profile/api-tokens/<id:token_id>/revoke")
@personal
@login_required
def revoke_api_token(token_id: int) -> Response:
    services.revoke_api_token(current_user, token_id)
    flash(_("The API token is revoked."), "info")
    return redirect(url_for("accounts.profile"))


@bp.post("/profile/api-token/revoke")
@personal
@login_required
def revoke_api_tokens() -> Response:
    count = services.revoke_api_tokens(current_user)
    flash(ngettext("%(num)d API token revoked.", "%(num)d API tokens revoked.", count), "info")
    return redirect(url_for("accounts.profile"))
