"""brief -> plan -> drafts -> approval requests, on the offline composer."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from agents.models import AgentRun, Handoff
from agents.services import content_run, planner_run
from approvals.models import ApprovalRequest, AuditEvent
from campaigns.domain.briefs import BriefSpec
from campaigns.services import brief_create
from tests.stack import celery_worker


def submit(manager, brand, **changes):
    values = {
        "title": "Winter warmers",
        "objective": "Grow repeat orders from lapsed subscribers",
        "budget": Decimal("12000"),
        "deadline": timezone.localdate() + timedelta(days=30),
        "success_metric": "cpa",
        "channels": ["email", "social_ads"],
        "offer": "A free grinder with three bags",
        "required_claims": ["Roasted to order"],
        "prohibited_claims": ["Clinically proven"],
    }
    values.update(changes)
    _, campaign = brief_create(author=manager, brand=brand, spec=BriefSpec(**values))
    return campaign


@pytest.mark.django_db
def test_the_chain_runs_once_and_holds_drafts_for_approval(manager, brand_a):
    campaign = submit(manager, brand_a)
    planner_run(campaign_id=campaign.pk)
    content_run(campaign_id=campaign.pk)
    assert list(AgentRun.objects.values_list("agent", "status")) == [
        ("content", "succeeded"),
        ("planner", "succeeded"),
    ]
    assert list(Handoff.objects.values_list("kind", "status")) == [
        ("plan", "accepted"),
        ("drafts", "accepted"),
    ]
    items = ApprovalRequest.objects.filter(campaign=campaign)
    assert items.count() == 4  # 2 variants x 2 channels
    # The claim is not in the (empty) claims registry yet, so legal reviews each draft.
    assert set(items.values_list("queue_role", flat=True)) == {"Legal Reviewer"}
    assert all("Roasted to order" in a.payload["body"] for a in items)
    # A re-delivered task finds its finished run and does nothing twice.
    planner_run(campaign_id=campaign.pk)
    content_run(campaign_id=campaign.pk)
    assert ApprovalRequest.objects.filter(campaign=campaign).count() == 4


@pytest.mark.django_db
def test_a_variant_with_a_prohibited_claim_never_reaches_the_queue(manager, brand_a):
    campaign = submit(
        manager, brand_a, objective="Tell lapsed subscribers our beans are clinically proven"
    )
    planner_run(campaign_id=campaign.pk)
    content_run(campaign_id=campaign.pk)
    assert ApprovalRequest.objects.filter(campaign=campaign).count() == 0
    held = AuditEvent.objects.filter(action="content.held_back")
    assert held.count() == 4
    assert "Makes the prohibited claim “Clinically proven”." in held.first().data["findings"]


@pytest.mark.stack
@pytest.mark.django_db(transaction=True)
def test_a_submitted_brief_reaches_the_queue_through_a_real_worker(tmp_path, manager, brand_a):
    with celery_worker(tmp_path / "worker.log"):
        campaign = submit(manager, brand_a)  # the planner is enqueued on commit
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if ApprovalRequest.objects.filter(campaign=campaign).count() == 4:
                break
            time.sleep(0.5)
    assert ApprovalRequest.objects.filter(campaign=campaign).count() == 4
    assert set(AgentRun.objects.values_list("status", flat=True)) == {"succeeded"}
