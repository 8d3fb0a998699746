"""Admins change the delegation policy: validated, previewed against the last 30 days,
and in force only once a second admin approves it."""

import pytest
from django.urls import reverse

from approvals.domain.policy import Mode
from approvals.models import DelegationPolicy
from approvals.services import AlreadyDecided, action_propose, policy_decide, policy_propose
from governance.domain.actions import ActionType
from governance.domain.audit import Actor
from governance.domain.errors import NotPermitted, ReasonRequired
from governance.domain.roles import Role
from governance.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def form_data(**changes):
    """The editor's fields for the default policy, with ``changes`` applied."""
    from approvals.domain.policy import DEFAULT_POLICY

    data = {"note": "Tighten drafts for the relaunch"}
    for action in ActionType:
        rule = DEFAULT_POLICY.rule_for(action)
        data[f"{action.value}-mode"] = rule.mode.value
        data[f"{action.value}-approver"] = rule.approver.value
        data[f"{action.value}-max_amount"] = rule.max_amount or ""
        data[f"{action.value}-max_budget_pct"] = rule.max_budget_pct or ""
        data[f"{action.value}-min_confidence"] = rule.min_confidence or ""
    data.update(changes)
    return data


@pytest.fixture
def second_admin(db):
    return UserFactory(username="admin-two", role=Role.ADMIN, is_staff=True)


def pause(campaign):
    return action_propose(
        campaign_id=campaign.pk,
        action="pause",
        payload={"reason": "Fatigue"},
        actor=Actor.for_agent("performance"),
        summary="Pause",
    )


def test_the_preview_replays_the_last_30_days(login, admin_user, campaign_a):
    for _ in range(3):
        pause(campaign_a)  # allowed under the default policy
        campaign_a.refresh_from_db()
        campaign_a.phase, campaign_a.resume_phase = "briefing", ""
        campaign_a.save()
    url = reverse("approvals:policy_edit", args=[campaign_a.brand_id])
    response = login(admin_user).post(
        url,
        form_data(**{"pause-mode": Mode.NEEDS_APPROVAL.value, "intent": "preview"}),
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith('<div id="impact"')
    assert "3 agent actions replayed" in body
    assert "This would have sent 3 items to the Marketing Manager queue, up from 0." in body
    assert DelegationPolicy.objects.count() == 0  # a preview saves nothing


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"pause-min_confidence": "2"}, "less than or equal to 1"),
        ({"change_budget-max_budget_pct": "150"}, "less than or equal to 100"),
        ({"pause-mode": "yolo"}, "Select a valid choice"),
        ({"note": ""}, "a note is required"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_proposed(login, admin_user, brand_a, changes, message):
    url = reverse("approvals:policy_edit", args=[brand_a.pk])
    response = login(admin_user).post(url, form_data(intent="propose", **changes))
    assert response.status_code == 422 and message in response.content.decode()
    assert DelegationPolicy.objects.count() == 0


def test_a_change_takes_effect_only_when_a_second_admin_approves(
    login, admin_user, second_admin, campaign_a
):
    url = reverse("approvals:policy_edit", args=[campaign_a.brand_id])
    response = login(admin_user).post(
        url, form_data(intent="propose", **{"pause-mode": Mode.FORBIDDEN.value})
    )
    proposal = DelegationPolicy.objects.get()
    assert response.status_code == 302 and proposal.status == "proposed"
    assert pause(campaign_a).executed  # still the default policy

    with pytest.raises(NotPermitted, match="A second admin must approve"):
        policy_decide(policy_id=proposal.pk, admin=admin_user, approve=True)
    page = login(admin_user).get(reverse("approvals:policy_proposal", args=[proposal.pk]))
    assert "a second admin must decide it" in page.content.decode()

    client = login(second_admin)
    client.post(reverse("approvals:policy_proposal", args=[proposal.pk]), {"verdict": "approve"})
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decided_by) == ("active", second_admin)
    campaign_a.refresh_from_db()
    campaign_a.phase, campaign_a.resume_phase = "briefing", ""
    campaign_a.save()
    refused = pause(campaign_a)
    assert refused.refused and refused.decision.policy_version == proposal.version
    actions = list(
        AuditEvent.objects.filter(action__startswith="policy.p").values_list("action", flat=True)
    )
    assert "policy.proposed" in actions
    assert AuditEvent.objects.filter(action="policy.activated").count() == 1
    with pytest.raises(AlreadyDecided):
        policy_decide(policy_id=proposal.pk, admin=second_admin, approve=True)


def test_a_newer_version_supersedes_and_rejection_needs_a_reason(admin_user, second_admin, brand_a):
    rules = {"pause": {"mode": "forbidden"}}
    first = policy_propose(admin=admin_user, brand_id=brand_a.pk, rules=rules, note="one")
    policy_decide(policy_id=first.pk, admin=second_admin, approve=True)
    second = policy_propose(admin=second_admin, brand_id=brand_a.pk, rules={}, note="two")
    assert (second.version, second.based_on_version) == (first.version + 1, first.version)
    with pytest.raises(ReasonRequired):
        policy_decide(policy_id=second.pk, admin=admin_user, approve=False)
    policy_decide(policy_id=second.pk, admin=admin_user, approve=True)
    first.refresh_from_db()
    assert first.status == "superseded"
    third = policy_propose(admin=admin_user, brand_id=brand_a.pk, rules={}, note="three")
    policy_decide(policy_id=third.pk, admin=second_admin, approve=False, note="Not now")
    assert DelegationPolicy.objects.get(pk=third.pk).status == "rejected"


def test_managers_cannot_reach_the_editor(login, manager, brand_a):
    client = login(manager)
    assert client.get(reverse("approvals:policies")).status_code == 403
    assert client.get(reverse("approvals:policy_edit", args=[brand_a.pk])).status_code == 403
    with pytest.raises(NotPermitted):
        policy_propose(admin=manager, brand_id=brand_a.pk, rules={}, note="x")


def test_a_campaign_override_applies_to_that_campaign_only(
    login, admin_user, second_admin, campaign_a, manager
):
    from tests.factories import CampaignFactory

    sibling = CampaignFactory(brief__brand=campaign_a.brand, brief__created_by=manager)
    page = login(admin_user).get(reverse("approvals:campaign_policy_edit", args=[campaign_a.pk]))
    assert "follows its brand's policy" in page.content.decode()
    login(admin_user).post(
        reverse("approvals:campaign_policy_edit", args=[campaign_a.pk]),
        form_data(intent="propose", **{"pause-mode": Mode.FORBIDDEN.value}),
    )
    proposal = DelegationPolicy.objects.get()
    assert proposal.campaign_id == campaign_a.pk
    policy_decide(policy_id=proposal.pk, admin=second_admin, approve=True)
    assert pause(campaign_a).refused
    assert pause(sibling).executed  # the brand's (default) policy still governs the rest
    detail = login(admin_user).get(reverse("campaigns:detail", args=[campaign_a.pk]))
    assert (
        reverse("approvals:campaign_policy_edit", args=[campaign_a.pk]) in detail.content.decode()
    )
