"""The API's permission matrix is the web UI's: every role x brand x action case is done
once through the browser's pages and once through the API, and both must agree with the
expected answer — and leave the same trace (or none)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import reverse

from approvals.models import ApprovalRequest
from approvals.services import action_propose
from campaigns.models import Brief, Campaign
from governance.domain.audit import Actor
from governance.domain.roles import Role
from memory.models import MemoryEntry
from tests.factories import BrandFactory, CampaignFactory, UserFactory

from .helpers import api_as, brief_body, propose_launch

pytestmark = pytest.mark.django_db

PERSONAS = {
    # name: (role, assigned to the brand)
    "manager on the brand": (Role.MANAGER, True),
    "manager elsewhere": (Role.MANAGER, False),
    "legal on the brand": (Role.LEGAL, True),
    "legal elsewhere": (Role.LEGAL, False),
    "admin": (Role.ADMIN, False),
    "no role": (None, True),
}

ACTIONS = (
    "see campaign",
    "pause campaign",
    "submit brief",
    "approve launch",
    "approve claim",
    "add memory",
    "export audit",
)

#: persona -> the actions it may do (every other action is refused).
ALLOWED = {
    "manager on the brand": {
        "see campaign",
        "pause campaign",
        "submit brief",
        "approve launch",
        "add memory",
    },
    "manager elsewhere": set(),
    "legal on the brand": {"see campaign", "approve claim"},
    "legal elsewhere": set(),
    "admin": {"see campaign", "pause campaign", "submit brief", "add memory", "export audit"},
    "no role": set(),
}

CASES = [(persona, action) for persona in PERSONAS for action in ACTIONS]


@dataclass
class World:
    """One brand with a running campaign and one item in each queue — built twice per
    case, so the web UI and the API each act on untouched state."""

    brand: object
    campaign: Campaign
    launch: ApprovalRequest
    claim: ApprovalRequest


def world(owner, n: int) -> World:
    brand = BrandFactory(slug=f"brand-{n}", name=f"Brand {n}")
    campaign = CampaignFactory(brief__brand=brand, brief__created_by=owner, name=f"C{n}")
    launch = propose_launch(campaign, "Launch")
    claim = action_propose(
        campaign_id=campaign.pk,
        action="publish_content",
        payload={
            "channel": "social_ads",
            "headline": "Clinically proven sleep",
            "body": "Sleep better.",
            "claims": ["Clinically proven"],
        },
        actor=Actor.for_agent("content"),
        summary="New ad",
        claims=["Clinically proven"],
    ).approval
    assert (launch.queue_role, claim.queue_role) == (Role.MANAGER, Role.LEGAL)
    return World(brand, campaign, launch, claim)


def done(action: str, w: World) -> bool:
    """Did ``action`` take effect on ``w``? (Read from the database, not the response.)"""
    if action == "pause campaign":
        return Campaign.objects.get(pk=w.campaign.pk).phase == "paused"
    if action == "submit brief":
        return Brief.objects.filter(brand=w.brand, title="Winter warmers").exists()
    if action == "approve launch":
        return ApprovalRequest.objects.get(pk=w.launch.pk).status == "approved"
    if action == "approve claim":
        return ApprovalRequest.objects.get(pk=w.claim.pk).status == "approved"
    if action == "add memory":
        return MemoryEntry.objects.filter(brand=w.brand, text="Cosy wins").exists()
    raise AssertionError(action)


def via_ui(user, action: str, w: World) -> bool:
    client = Client()
    client.force_login(user)
    if action == "see campaign":
        return client.get(reverse("campaigns:detail", args=[w.campaign.pk])).status_code == 200
    if action == "export audit":
        return client.get(reverse("integrations:export_audit_events")).status_code == 200
    if action == "pause campaign":
        client.post(
            reverse("campaigns:transition", args=[w.campaign.pk]),
            {"to_phase": "paused", "reason": "Checking the numbers"},
        )
    elif action == "submit brief":
        client.post(
            reverse("campaigns:brief_create"),
            {
                **brief_body(w.brand.slug),
                "brand": w.brand.pk,
                "assets": "",
                "intent": "submit",
                "sla_draft_hours": "2",
                "sla_qa_pass_pct": "95",
                "sla_policy_escalation_minutes": "10",
                "sla_pacing_tolerance_pct": "10",
            },
        )
    elif action in ("approve launch", "approve claim"):
        item = w.launch if action == "approve launch" else w.claim
        client.post(reverse("approvals:decide", args=[item.pk]), {"verdict": "approve"})
    elif action == "add memory":
        client.post(
            reverse("memory:entry_create", args=[w.brand.slug]),
            {"kind": "voice_rule", "text": "Cosy wins", "note": ""},
        )
    return done(action, w)


def via_api(user, action: str, w: World) -> bool:
    api = api_as(user)
    if action == "see campaign":
        return api.get(f"/api/v1/campaigns/{w.campaign.pk}").status_code == 200
    if action == "export audit":
        return api.get("/api/v1/audit/export").status_code == 200
    if action == "pause campaign":
        response = api.post(
            f"/api/v1/campaigns/{w.campaign.pk}/pause", {"reason": "Checking the numbers"}
        )
    elif action == "submit brief":
        response = api.post("/api/v1/briefs", brief_body(w.brand.slug))
    elif action in ("approve launch", "approve claim"):
        item = w.launch if action == "approve launch" else w.claim
        response = api.post(f"/api/v1/approvals/{item.pk}/decide", {"decision": "approve"})
    elif action == "add memory":
        response = api.post(
            f"/api/v1/brands/{w.brand.slug}/memory", {"kind": "voice_rule", "text": "Cosy wins"}
        )
    else:
        raise AssertionError(action)
    # A refusal is a 4xx with a message, never a 5xx or a silent 200.
    assert response.status_code < 500, response.content
    assert (response.status_code < 300) is done(action, w), response.content
    if response.status_code >= 400:
        assert response.json()["error"]
    return done(action, w)


@pytest.mark.parametrize(("persona", "action"), CASES, ids=[f"{p}: {a}" for p, a in CASES])
def test_the_api_allows_exactly_what_the_web_ui_allows(persona, action):
    role, assigned = PERSONAS[persona]
    owner = UserFactory(role=Role.MANAGER)
    ui_world, api_world = world(owner, 1), world(owner, 2)
    user = UserFactory(
        role=role,
        brands=[ui_world.brand, api_world.brand] if assigned else [],
        is_staff=role == Role.ADMIN,
    )
    expected = action in ALLOWED[persona]
    assert via_ui(user, action, ui_world) is expected, "web UI"
    assert via_api(user, action, api_world) is expected, "API"


def test_the_matrix_covers_every_persona_and_action():
    assert set(ALLOWED) == set(PERSONAS)
    assert all(actions <= set(ACTIONS) for actions in ALLOWED.values())
