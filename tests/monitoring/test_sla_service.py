"""SLAs measured from what happened, at a frozen time: states flip at the right numbers,
each change is recorded once, and a breach escalates."""

from datetime import timedelta
from decimal import Decimal

import pytest

from agents.services import agent_run_claim, agent_work_request
from approvals.models import AuditEvent
from campaigns.models import Campaign, SlaEvaluation
from monitoring.models import Escalation, MonitoringSettings
from monitoring.services.slas import campaign_sla_readings, slas_evaluate

pytestmark = pytest.mark.django_db

MIN = timedelta(minutes=1)


def reading(campaign, kind, now):
    campaign = Campaign.objects.select_related("brief", "brand").get(pk=campaign.pk)
    brand_settings = MonitoringSettings.objects.filter(brand=campaign.brand).first()
    for r in campaign_sla_readings(campaign, brand_settings or MonitoringSettings(), now=now):
        if r.kind == kind:
            return r
    return None


def latest(campaign, kind):
    return SlaEvaluation.objects.filter(campaign=campaign, sla=kind).order_by("-id").first()


@pytest.mark.parametrize(
    ("elapsed", "status"),
    [
        (7 * MIN + timedelta(seconds=29), "on_track"),  # under half of the 15 minutes
        (7 * MIN + timedelta(seconds=30), "at_risk"),  # exactly half
        (15 * MIN, "at_risk"),  # at the target: still within it
        (15 * MIN + timedelta(seconds=1), "breached"),
    ],
)
def test_response_time_flips_at_half_and_past_the_target(campaign_a, elapsed, status):
    now = campaign_a.created_at + elapsed
    assert reading(campaign_a, "response_time", now).status == status


def test_response_time_stops_when_the_planner_starts(campaign_a):
    run = agent_work_request(campaign_id=campaign_a.pk, agent="planner", key="plan")
    agent_run_claim(run_id=run.pk, now=campaign_a.created_at + 4 * MIN)
    result = reading(campaign_a, "response_time", campaign_a.created_at + 3 * 60 * MIN)
    assert (result.status, result.measured) == ("on_track", "4 min")


def test_the_brands_settings_set_the_target(campaign_a):
    MonitoringSettings.objects.create(brand=campaign_a.brand, response_minutes=60)
    result = reading(campaign_a, "response_time", campaign_a.created_at + 20 * MIN)
    assert result.status == "on_track" and result.target == "≤ 1 h"


def test_pacing_flips_at_the_briefs_tolerance(campaign_a):
    from tests.monitoring.conftest import DAILY

    launched = campaign_a.created_at
    Campaign.objects.filter(pk=campaign_a.pk).update(
        phase="execution", launched_at=launched, budget_total=DAILY * 30
    )
    campaign = Campaign.objects.get(pk=campaign_a.pk)
    now = launched + timedelta(days=3)
    from campaigns.domain.budget import planned_spend
    from campaigns.selectors import campaign_plan_end

    planned = planned_spend(campaign.budget_total, launched, campaign_plan_end(campaign), now)
    for factor, status in (("1.00", "on_track"), ("1.09", "at_risk"), ("1.11", "breached")):
        Campaign.objects.filter(pk=campaign.pk).update(
            budget_consumed=(planned * Decimal(factor)).quantize(Decimal("0.01"))
        )
        assert reading(campaign, "budget_pacing", now).status == status, factor


def test_a_change_is_recorded_once_and_a_breach_escalates(campaign_a, manager):
    start = campaign_a.created_at
    assert slas_evaluate(now=start + 1 * MIN, campaign_ids=[campaign_a.pk]) >= 1
    first = latest(campaign_a, "response_time")
    assert first.status == "on_track" and first.target == "≤ 15 min"
    # Same status a minute later: nothing new written.
    slas_evaluate(now=start + 2 * MIN, campaign_ids=[campaign_a.pk])
    assert latest(campaign_a, "response_time").pk == first.pk

    slas_evaluate(now=start + 16 * MIN, campaign_ids=[campaign_a.pk])
    breached = latest(campaign_a, "response_time")
    assert breached.status == "breached" and "budget spent" in breached.error_budget
    assert Campaign.objects.get(pk=campaign_a.pk).sla_status == "breached"
    escalation = Escalation.objects.get(campaign=campaign_a, reason="sla_breach")
    assert "Response time" in escalation.summary
    # Breached again later: recorded as it holds, but the one escalation stays one.
    slas_evaluate(now=start + 60 * MIN, campaign_ids=[campaign_a.pk])
    assert Escalation.objects.filter(campaign=campaign_a).count() == 1
    assert AuditEvent.objects.filter(action="sla.evaluated").exists()
