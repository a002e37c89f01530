"""Joining, leaving, approval, roles, removal, bans and the audit log."""

from __future__ import annotations

import pytest

from branches import services
from branches.models import AuditAction, JoinPolicy, MembershipStatus, Role
from planner.core.errors import Conflict, InvalidInput, NotAllowed
from tests.conftest import login, make_branch


def actions(cast_or_branch, actor):
    branch = getattr(cast_or_branch, "branch", cast_or_branch)
    return [entry.action for entry in reversed(services.audit_log(actor, branch))]


def test_open_branch_join_and_leave_through_the_page(client, cast, make_user):
    newcomer = make_user("New")
    login(client, newcomer)
    client.post("/branches/chengdu/join")
    assert services.membership_of(newcomer, cast.branch).status is MembershipStatus.ACTIVE
    client.post("/branches/chengdu/join")  # repeating is harmless
    client.post("/branches/chengdu/leave")
    assert services.membership_of(newcomer, cast.branch) is None
    assert actions(cast, cast.lead)[-2:] == [AuditAction.JOINED, AuditAction.LEFT]


def test_approval_branch(admin, make_user):
    branch = make_branch(admin, "sh", "上海", JoinPolicy.APPROVAL)
    lead, asker, other = make_user("Lead"), make_user("Asker"), make_user("Other")
    services.set_role(admin, branch, lead.id, Role.LEAD)
    assert services.join_branch(asker, branch).status is MembershipStatus.PENDING
    assert services.join_branch(other, branch).status is MembershipStatus.PENDING
    with pytest.raises(NotAllowed):
        services.review_join_request(asker, branch, other.id, approve=True)
    services.review_join_request(lead, branch, asker.id, approve=True)
    services.review_join_request(lead, branch, other.id, approve=False, message="Full")
    assert services.membership_of(asker, branch).status is MembershipStatus.ACTIVE
    assert services.membership_of(other, branch) is None
    with pytest.raises(Conflict):
        services.review_join_request(lead, branch, asker.id, approve=True)
    assert actions(branch, lead)[-4:] == [AuditAction.REQUESTED, AuditAction.REQUESTED,
                                          AuditAction.APPROVED, AuditAction.DECLINED]


def test_ban_keeps_member_out_and_is_logged_with_reason(client, cast):
    services.remove_member(cast.lead, cast.branch, cast.member.id, "Spam in the group", ban=True)
    with pytest.raises(services.BannedFromBranch):
        services.join_branch(cast.member, cast.branch)
    login(client, cast.member)
    page = client.post("/branches/chengdu/join", follow_redirects=True)
    assert page.status_code == 403
    entry = services.audit_log(cast.lead, cast.branch)[0]
    assert (entry.action, entry.detail, entry.actor_id) == (
        AuditAction.BANNED, "Spam in the group", cast.lead.id)
    services.lift_ban(cast.lead, cast.branch, cast.member.id)
    assert services.join_branch(cast.member, cast.branch).is_active


def test_remove_needs_a_reason_and_leads_cannot_remove_leads(cast, make_user):
    with pytest.raises(InvalidInput) as raised:
        services.remove_member(cast.lead, cast.branch, cast.member.id, "  ")
    assert "reason" in raised.value.fields
    second_lead = make_user("Second Lead")
    services.set_role(cast.admin, cast.branch, second_lead.id, Role.LEAD)
    with pytest.raises(NotAllowed):
        services.remove_member(cast.lead, cast.branch, second_lead.id, "coup")
    services.remove_member(cast.lead, cast.branch, cast.member.id, "Never came")
    assert services.membership_of(cast.member, cast.branch) is None
    assert services.join_branch(cast.member, cast.branch).is_active  # removal is not a ban


def test_roles(cast):
    services.set_role(cast.lead, cast.branch, cast.member.id, Role.STAFF)
    assert services.membership_of(cast.member, cast.branch).role is Role.STAFF
    with pytest.raises(NotAllowed):
        services.set_role(cast.lead, cast.branch, cast.member.id, Role.LEAD)
    with pytest.raises(NotAllowed):
        services.set_role(cast.lead, cast.branch, cast.lead.id, Role.MEMBER)
    services.set_role(cast.admin, cast.branch, cast.outsider.id, Role.LEAD)
    assert services.membership_of(cast.outsider, cast.branch).role is Role.LEAD
    entry = services.audit_log(cast.lead, cast.branch)[0]
    assert (entry.action, entry.detail) == (AuditAction.ROLE_CHANGED, "- → lead")


def test_members_page_and_audit_page_for_leads(client, cast):
    login(client, cast.lead)
    members = client.get("/branches/chengdu/members")
    assert "Member Ma" in members.text and "Staff Sun" in members.text
    client.post(f"/branches/chengdu/members/{cast.member.id}/remove",
                data={"reason": "<b>rude</b>", "ban": "y"})
    audit = client.get("/branches/chengdu/audit")
    assert "&lt;b&gt;rude&lt;/b&gt;" in audit.text
    assert "banned" in audit.text


def test_the_audit_page_names_roles_in_the_readers_language(client, cast):
    cast.lead.locale = "zh_CN"
    login(client, cast.lead)
    audit = client.get("/branches/chengdu/audit").text
    assert "成员 → 签到人员（门口签到）" in audit and "- → 负责人" in audit
    assert "member → staff" not in audit and "staff" not in audit


def test_admin_appoints_lead_by_email(client, cast):
    login(client, cast.admin)
    client.post("/branches/chengdu/leads", data={"email": cast.outsider.email})
    assert services.membership_of(cast.outsider, cast.branch).role is Role.LEAD
