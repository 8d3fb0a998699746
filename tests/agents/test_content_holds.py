"""A channel the brief asked for that gets no usable drafts says so, and why, where people
look: the campaign page, the tower row and the owner's notifications — never only in
the audit rows (the first build escalated "QA pass rate 50 %" with the reason hidden)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from approvals.models import ApprovalRequest
from campaigns.domain.briefs import BriefSpec
from campaigns.models import CampaignHold
from campaigns.services import brief_create
from governance.models import AuditEvent
from monitoring.models import Escalation, Notification, SlaEvaluation
from monitoring.services.slas import slas_evaluate
from tests.memory.builders import propose

from .chain import drain

pytestmark = pytest.mark.django_db

FREE_SHIPPING = "Free shipping over $40"
# With its claim, 92 characters: too long for a 90-character search ad, fine elsewhere.
DISCLAIMER = "Contiguous US only; excludes gift cards and bulk orders; before tax."


def approved_claim(brand, manager, legal, wording, disclaimers):
    from memory.services import claim_review

    today = timezone.localdate()
    claim = propose(brand, manager, legal, wording, today=today, disclaimers=disclaimers)
    return claim_review(claim_id=claim.pk, reviewer=legal, approve=True, today=today)


def submit(manager, brand, **changes):
    values = {
        "title": "Spring restock",
        "objective": "Win back lapsed buyers with 800 orders by the end of April",
        "audience": "Home cooks who bought a bag in the last year but not since January",
        "offer": "A tasting set of three single origins",
        "budget": Decimal("9000"),
        "deadline": timezone.localdate() + timedelta(days=30),
        "success_metric": "cpa",
        "channels": ["email", "search_ads", "social_ads", "landing_page"],
        "required_claims": [FREE_SHIPPING],
    }
    values.update(changes)
    _, campaign = brief_create(author=manager, brand=brand, spec=BriefSpec(**values))
    return campaign


def test_a_disclaimer_too_long_for_a_channel_is_a_hold_with_its_reason(
    manager, legal_a, brand_a, login
):
    approved_claim(brand_a, manager, legal_a, FREE_SHIPPING, [DISCLAIMER])
    campaign = submit(manager, brand_a)
    drain()

    hold = CampaignHold.objects.get(campaign=campaign, resolved_at__isnull=True)
    assert hold.channel == "search_ads"
    assert hold.reason.startswith(
        "The disclaimer for “Free shipping over $40” does not fit the 90-character "
        "search-ads description."
    )
    assert any("claims registry" in way for way in hold.ways_out)
    assert any("Drop Search ads" in way for way in hold.ways_out)
    # It was not drafted at all, so nothing was "held back" and QA is not blamed for it.
    assert not AuditEvent.objects.filter(campaign_id=campaign.pk, action="content.held_back")
    drafted = set(
        ApprovalRequest.objects.filter(campaign=campaign).values_list("payload__channel", flat=True)
    )
    assert drafted == {"email", "social_ads", "landing_page"}
    slas_evaluate(campaign_ids=[campaign.pk])
    assert not SlaEvaluation.objects.filter(campaign=campaign, status="breached").exists()
    assert not Escalation.objects.filter(campaign=campaign).exists()
    # The owner was told, with the reason and the ways out.
    note = Notification.objects.get(
        recipient=manager, campaign=campaign, title__contains="Search ads needs you"
    )
    assert "does not fit" in note.body and "Ways out" in note.body

    # Where people look: the tower row and the campaign page.
    client = login(manager)
    tower = client.get("/").content.decode()
    row = tower[tower.index(f'id="tower-row-{campaign.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Needs a decision" in row and "Search ads: The disclaimer for" in row
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert f'id="hold-{hold.pk}"' in page and "Ways out" in page

    # The manager drops the channel: resolved, audited, gone from the row.
    response = client.post(
        f"/campaigns/{campaign.pk}/holds/{hold.pk}/resolve/",
        {"note": "Go ahead without search ads this time"},
    )
    assert response.status_code == 302
    hold.refresh_from_db()
    assert hold.resolved_at and hold.resolved_by == manager
    assert AuditEvent.objects.filter(action="hold.resolved", campaign_id=campaign.pk).exists()
    tower = client.get("/").content.decode()
    row = tower[tower.index(f'id="tower-row-{campaign.pk}"') :]
    assert "Needs a decision" not in row[: row.index("</tr>")]


def test_a_hold_needs_a_note_and_a_person_who_runs_the_campaign(manager, legal_a, brand_a, login):
    approved_claim(brand_a, manager, legal_a, FREE_SHIPPING, [DISCLAIMER])
    campaign = submit(manager, brand_a, channels=["search_ads"])
    drain()
    hold = CampaignHold.objects.get(campaign=campaign)
    url = f"/campaigns/{campaign.pk}/holds/{hold.pk}/resolve/"
    assert login(legal_a).post(url, {"note": "fine by me"}).status_code == 403
    login(manager).post(url, {"note": "  "})
    hold.refresh_from_db()
    assert hold.resolved_at is None
    assert not AuditEvent.objects.filter(action="hold.resolved").exists()


def test_new_drafts_for_a_held_channel_clear_its_hold(manager, legal_a, brand_a):
    """After the claim's registry entry changes (here legal withdraws it, so drafts go
    to legal without its disclaimer), the manager asks for new search-ads drafts."""
    from agents.models import AgentRun
    from agents.services import agent_work_ask
    from memory.services import claim_retire

    claim = approved_claim(brand_a, manager, legal_a, FREE_SHIPPING, [DISCLAIMER])
    campaign = submit(manager, brand_a, channels=["email", "search_ads"])
    drain()
    hold = CampaignHold.objects.get(campaign=campaign, channel="search_ads")
    claim_retire(claim_id=claim.pk, user=legal_a, note="Shipping terms are being rewritten")

    with pytest.raises(Exception, match="Name the brief's channels"):
        agent_work_ask(campaign_id=campaign.pk, agent="content", user=manager, channels=["display"])
    run = agent_work_ask(
        campaign_id=campaign.pk, agent="content", user=manager, channels=["search_ads"]
    )
    assert run.inputs["channels"] == ["search_ads"]
    drain()
    run = AgentRun.objects.get(pk=run.pk)
    assert run.status == "succeeded"
    hold.refresh_from_db()
    assert hold.resolved_at is not None and "passed the brand's checks" in hold.resolution
    # Only the channel asked for was drafted again.
    redrafted = ApprovalRequest.objects.filter(decision__agent_run=run)
    assert {r.payload["channel"] for r in redrafted} == {"search_ads"}
