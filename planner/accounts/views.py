"""Sign-up, login, logout, profile and API tokens (HTML)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from planner.accounts import services
from planner.accounts.forms import LoginForm, PasswordForm, ProfileForm, SignUpForm
from planner.accounts.passwords import verify_password
from planner.core.unit_of_work import writes_during_read
from planner.engagement import invitation
from planner.errors import Conflict, DomainError
from planner.extensions import configured_limit, limiter
from planner.forms import show_field_errors

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
            user = services.sign_up(form.email.data, form.password.data, form.to_profile())
        except Conflict as error:
            show_field_errors(form, error)
        else:
            login_user(user)
            flash(_("Welcome to Juhui, %(name)s!", name=user.display_name), "success")
            response = redirect(_safe_next(url_for("branches.index")))
            invitation.credit(user, response)  # who invited them, if a /r/ link did
            return response
    return render_template("accounts/signup.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(configured_limit("LOGIN_RATE_LIMIT"), methods=["POST"])
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
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("main.home"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
@writes_during_read
def profile() -> str | Response:
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        services.update_profile(current_user, form.to_profile())
        flash(_("Your profile is saved."), "success")
        return redirect(url_for("accounts.profile"))
    return render_template("accounts/profile.html", form=form, password_form=PasswordForm(),
                           new_token=None)


@bp.post("/profile/password")
@login_required
def change_password() -> str | Response:
    form = PasswordForm()
    if form.validate_on_submit():
        if verify_password(current_user.password_hash, form.current_password.data):
            services.set_password(current_user, form.new_password.data)
            flash(_("Your password is changed."), "success")
            return redirect(url_for("accounts.profile"))
        form.current_password.errors = [_("The current password is wrong.")]
    return render_template("accounts/profile.html", form=ProfileForm(obj=current_user),
                           password_form=form, new_token=None), 422


@bp.post("/profile/api-token")
@login_required
def create_api_token() -> str:
    token = services.issue_api_token(current_user)
    return render_template("accounts/profile.html", form=ProfileForm(obj=current_user),
                           password_form=PasswordForm(), new_token=token)


@bp.post("/profile/api-token/revoke")
@login_required
def revoke_api_tokens() -> Response:
    count = services.revoke_api_tokens(current_user)
    flash(ngettext("%(num)d API token revoked.", "%(num)d API tokens revoked.", count), "info")
    return redirect(url_for("accounts.profile"))
