"""Branch pages: browse, search, nearest, create, join/leave, members, audit log, venues."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from branches import permissions, services
from branches.forms import (
    ActionForm,
    AppointLeadForm,
    BranchForm,
    BranchSearchForm,
    BranchSettingsForm,
    NearestForm,
    RemoveMemberForm,
    ReviewForm,
    RoleForm,
    TopicForm,
    VenueForm,
    audit_detail,
    audit_label,
    role_label,
)
from branches.models import Branch, MembershipStatus, Role, Venue
from planner.accounts.services import find_user_by_email
from planner.core.attribution import last_invite_code
from planner.core.errors import Conflict, InvalidInput, NotAllowed
from planner.core.forms import field_errors, flash_field_errors, show_field_errors
from planner.core.uploads import takes_uploads
from planner.pictures.forms import PictureForm, RemovePictureForm, change_cover

bp = Blueprint("branches", __name__, url_prefix="/branches")
bp.add_app_template_global(role_label)
bp.add_app_template_global(audit_label)
bp.add_app_template_global(audit_detail)
bp.add_app_template_global(services.leads, "branch_leads")


@bp.get("")
def index() -> str:
    form = BranchSearchForm(request.args)
    search = form.q.data or "" if form.validate() else ""
    return render_template("branches/index.html", form=form,
                           summaries=services.branch_listing(search))


@bp.get("/nearest")
def nearest() -> str:
    form = NearestForm(request.args)
    summaries, origin = [], None
    if form.validate():
        try:
            origin = services.point_of(form.place.data, form.lat.data, form.lon.data)
        except InvalidInput as error:
            show_field_errors(form, error)
        if origin is not None:
            summaries = services.nearest_branches(*origin, form.limit.data or 10)
    return render_template("branches/nearest.html", form=form, summaries=summaries,
                           origin=origin)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create() -> str | Response:
    if not permissions.can_create_branch(current_user):
        abort(403)
    form = BranchForm()
    candidates = []
    if form.validate_on_submit():
        try:
            branch = services.create_branch(current_user, form.to_input())
        except InvalidInput as error:
            show_field_errors(form, error)
            candidates = error.extra.get("candidates", [])
            form.candidate.choices = [(f"{c['latitude']},{c['longitude']}",
                                       _candidate_label(c)) for c in candidates]
        except Conflict as error:
            show_field_errors(form, error)
        else:
            flash(_("Branch %(name)s created.", name=branch.name), "success")
            return redirect(url_for("branches.show", slug=branch.slug))
    return render_template("branches/new.html", form=form, candidates=candidates)


def _candidate_label(candidate: dict[str, Any]) -> str:
    """"Suzhou, Jiangsu, CN (Asia/Shanghai)": the province tells same-named cities apart."""
    where = ", ".join(part for part in (candidate["name"], candidate["region"],
                                        candidate["country"]) if part)
    return f"{where} ({candidate['timezone']})"


@bp.get("/<slug>")
def show(slug: str) -> str:
    branch = services.get_branch(slug)
    return render_template("branches/show.html", branch=branch,
                           membership=services.membership_of(current_user, branch),
                           member_count=services.member_count(branch),
                           venues=services.venues(branch), action_form=ActionForm())


@bp.post("/<slug>/join")
@login_required
def join(slug: str) -> Response:
    branch = services.get_branch(slug)
    if ActionForm().validate_on_submit():
        membership = services.join_branch(current_user, branch, last_invite_code())
        if membership.status is MembershipStatus.PENDING:
            flash(_("Your request to join is waiting for a lead's approval."), "info")
        else:
            flash(_("You joined %(name)s.", name=branch.name), "success")
    return redirect(url_for("branches.show", slug=slug))


@bp.post("/<slug>/leave")
@login_required
def leave(slug: str) -> Response:
    branch = services.get_branch(slug)
    if ActionForm().validate_on_submit():
        services.leave_branch(current_user, branch)
        flash(_("You left %(name)s.", name=branch.name), "info")
    return redirect(url_for("branches.show", slug=slug))


def _managed_branch(slug: str) -> Branch:
    branch = services.get_branch(slug)
    if not permissions.can_manage_branch(current_user, branch):
        raise NotAllowed()
    return branch


@bp.route("/<slug>/settings", methods=["GET", "POST"])
@login_required
def settings(slug: str) -> str | Response:
    branch = _managed_branch(slug)
    form = BranchSettingsForm(obj=branch)
    if form.validate_on_submit():
        try:
            services.update_branch(current_user, branch, form.to_settings())
        except InvalidInput as error:
            show_field_errors(form, error)
        else:
            flash(_("Settings saved."), "success")
            return redirect(url_for("branches.show", slug=slug))
    return render_template("branches/settings.html", branch=branch, form=form,
                           picture_form=PictureForm(), remove_picture_form=RemovePictureForm(),
                           topic_form=TopicForm(), action_form=ActionForm())


@bp.post("/<slug>/topics")
@login_required
def add_topic(slug: str) -> Response:
    branch = _managed_branch(slug)
    form = TopicForm()
    try:
        if not form.validate_on_submit():
            raise InvalidInput(fields=field_errors(form))
        topic = services.add_topic(current_user, branch, form.name.data)
    except InvalidInput as error:
        flash_field_errors(form, error)
    else:
        flash(_("Topic %(name)s added.", name=topic.name), "success")
    return redirect(url_for("branches.settings", slug=slug, _anchor="topics"))


@bp.post("/<slug>/topics/<id:topic_id>/remove")
@login_required
def remove_topic(slug: str, topic_id: int) -> Response:
    branch = _managed_branch(slug)
    if ActionForm().validate_on_submit():
        services.remove_topic(current_user, branch, topic_id)
        flash(_("Topic removed."), "info")
    return redirect(url_for("branches.settings", slug=slug, _anchor="topics"))


@bp.post("/<slug>/cover")
@takes_uploads("PICTURE_UPLOAD_MAX_CONTENT_LENGTH")
@login_required
def cover(slug: str) -> Response:
    branch = _managed_branch(slug)
    change_cover(lambda picture: services.set_cover(current_user, branch, picture))
    return redirect(url_for("branches.settings", slug=slug, _anchor="cover"))


@bp.get("/<slug>/members")
@login_required
def members(slug: str) -> str:
    branch = _managed_branch(slug)
    everyone = services.memberships(branch)
    by_status = {status.value: [m for m in everyone if m.status is status]
                 for status in MembershipStatus}
    return render_template("branches/members.html", branch=branch, **by_status,
                           role_form=RoleForm(), remove_form=RemoveMemberForm(),
                           review_form=ReviewForm(), action_form=ActionForm(),
                           lead_form=AppointLeadForm())


@bp.post("/<slug>/members/<id:user_id>/role")
@login_required
def change_role(slug: str, user_id: int) -> Response:
    branch = services.get_branch(slug)
    form = RoleForm()
    if form.validate_on_submit():
        services.set_role(current_user, branch, user_id, Role(form.role.data))
        flash(_("Role changed."), "success")
    return redirect(url_for("branches.members", slug=slug))


@bp.post("/<slug>/members/<id:user_id>/remove")
@login_required
def remove(slug: str, user_id: int) -> Response:
    branch = services.get_branch(slug)
    form = RemoveMemberForm()
    if form.validate_on_submit():
        services.remove_member(current_user, branch, user_id, form.reason.data,
                               ban=form.ban.data)
        flash(_("Member banned.") if form.ban.data else _("Member removed."), "info")
    else:
        flash(_("Give a reason."), "error")
    return redirect(url_for("branches.members", slug=slug))


@bp.post("/<slug>/members/<id:user_id>/review")
@login_required
def review(slug: str, user_id: int) -> Response:
    branch = services.get_branch(slug)
    form = ReviewForm()
    if form.validate_on_submit():
        approve = bool(form.approve.data)
        services.review_join_request(current_user, branch, user_id, approve=approve,
                                     message=form.message.data or "")
        flash(_("Request approved.") if approve else _("Request declined."), "info")
    return redirect(url_for("branches.members", slug=slug))


@bp.post("/<slug>/members/<id:user_id>/unban")
@login_required
def unban(slug: str, user_id: int) -> Response:
    branch = services.get_branch(slug)
    if ActionForm().validate_on_submit():
        services.lift_ban(current_user, branch, user_id)
        flash(_("Ban lifted."), "info")
    return redirect(url_for("branches.members", slug=slug))


@bp.post("/<slug>/leads")
@login_required
def appoint_lead(slug: str) -> Response:
    branch = services.get_branch(slug)
    form = AppointLeadForm()
    if form.validate_on_submit():
        user = find_user_by_email(form.email.data)
        if user is None:
            flash(_("No member has this email."), "error")
        else:
            services.set_role(current_user, branch, user.id, Role.LEAD)
            flash(_("%(name)s is now a lead.", name=user.display_name), "success")
    return redirect(url_for("branches.members", slug=slug))


@bp.get("/<slug>/audit")
@login_required
def audit(slug: str) -> str:
    branch = services.get_branch(slug)
    return render_template("branches/audit.html", branch=branch,
                           entries=services.audit_log(current_user, branch))


@bp.route("/<slug>/venues/new", methods=["GET", "POST"])
@bp.route("/<slug>/venues/<id:venue_id>/edit", methods=["GET", "POST"])
@login_required
def edit_venue(slug: str, venue_id: int | None = None) -> str | Response:
    branch = _managed_branch(slug)
    venue: Venue | None = services.get_venue(venue_id) if venue_id else None
    if venue is not None and venue.branch_id != branch.id:
        abort(404)
    form = VenueForm(obj=venue)
    if form.validate_on_submit():
        try:
            saved = services.save_venue(current_user, branch, form.to_input(), venue)
        except (InvalidInput, Conflict) as error:
            show_field_errors(form, error)
        else:
            flash(_("Venue %(name)s saved.", name=saved.name), "success")
            return redirect(url_for("branches.show", slug=slug))
    return render_template("branches/venue_form.html", branch=branch, form=form, venue=venue)
