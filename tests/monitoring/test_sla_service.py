"""SLAs measured from what happened, at a frozen time: states flip at the right numbers,
each change is recorded once, and a breach escalates."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from agents.services import agent_run_claim, agent_work_request
from campaigns.models import Campaign
from governance.models import AuditEvent
from monitoring.models import Escalation, MonitoringSettings, SlaEvaluation
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


def _delivering(campaign, *, launched, delivered, budget):
    Campaign.objects.filter(pk=campaign.pk).update(
        phase="execution", launched_at=launched, delivery_started_at=delivered, budget_total=budget
    )
    return Campaign.objects.select_related("brief", "brand").get(pk=campaign.pk)


def _planned(campaign, now):
    from campaigns.domain.budget import planned_spend
    from campaigns.selectors import campaign_plan_end

    return planned_spend(
        campaign.budget_total,
        timezone.localtime(campaign.delivery_started_at),
        timezone.localtime(campaign_plan_end(campaign)),
        timezone.localtime(now),
    )


def test_pacing_flips_at_the_briefs_tolerance(campaign_a):
    from tests.monitoring.conftest import DAILY

    launched = campaign_a.created_at
    campaign = _delivering(campaign_a, launched=launched, delivered=launched, budget=DAILY * 30)
    now = launched + timedelta(days=3)
    planned = _planned(campaign, now)
    for factor, status in (("1.00", "on_track"), ("1.09", "at_risk"), ("1.11", "breached")):
        Campaign.objects.filter(pk=campaign.pk).update(
            budget_consumed=(planned * Decimal(factor)).quantize(Decimal("0.01"))
        )
        assert reading(campaign, "budget_pacing", now).status == status, factor


def test_a_launch_the_market_has_not_delivered_is_waiting_not_breached(campaign_a):
    """The first build escalated every launch within 30 s: "-100 %, 0.00 against 0.15
    planned". Nothing delivered yet is not underspending."""
    launched = campaign_a.created_at
    campaign = _delivering(campaign_a, launched=launched, delivered=None, budget=Decimal(9000))
    for after in (timedelta(seconds=30), timedelta(hours=3)):
        result = reading(campaign, "budget_pacing", launched + after)
        assert result.status == "on_track" and result.measured == "—"
        assert "Waiting for the first delivery" in result.detail
    # A market that never delivers is the delivery-start SLA's business.
    start = reading(campaign, "delivery_start", launched + timedelta(hours=7))
    assert (start.status, start.target) == ("at_risk", "≤ 12 h")
    assert reading(campaign, "delivery_start", launched + timedelta(hours=13)).status == "breached"


def test_pacing_is_judged_after_the_brands_warm_up_and_says_from_when(campaign_a):
    MonitoringSettings.objects.create(brand=campaign_a.brand, pacing_warm_up_hours=3)
    launched = campaign_a.created_at
    delivered = launched + timedelta(minutes=2)
    campaign = _delivering(campaign_a, launched=launched, delivered=delivered, budget=Decimal(9000))
    warming = reading(campaign, "budget_pacing", delivered + timedelta(hours=2, minutes=59))
    judged_from = timezone.localtime(delivered + timedelta(hours=3))
    assert (warming.status, warming.measured) == ("on_track", "warming up")
    assert warming.detail == f"Pacing judged from {judged_from:%H:%M}, after 3 h of delivery."
    # Nothing spent at all after the warm-up is a real shortfall: judged, and breached.
    now = delivered + timedelta(hours=3, minutes=1)
    judged = reading(campaign, "budget_pacing", now)
    assert judged.status == "breached" and judged.measured == "-100.0 %"
    assert judged.criterion == "the brief's pacing tolerance"
    Campaign.objects.filter(pk=campaign.pk).update(budget_consumed=_planned(campaign, now))
    assert reading(campaign, "budget_pacing", now).status == "on_track"


def test_delivery_through_the_warm_up_moves_a_campaign_to_monitoring(campaign_a):
    from monitoring.services.slas import campaigns_enter_monitoring

    launched = campaign_a.created_at
    delivered = launched + timedelta(minutes=1)
    _delivering(campaign_a, launched=launched, delivered=delivered, budget=Decimal(9000))
    assert campaigns_enter_monitoring(now=delivered + timedelta(hours=1, minutes=59)) == []
    assert campaigns_enter_monitoring(now=delivered + timedelta(hours=2)) == [campaign_a.pk]
    campaign = Campaign.objects.get(pk=campaign_a.pk)
    assert campaign.phase == "monitoring"
    event = AuditEvent.objects.filter(action="campaign.phase_changed").latest("seq")
    assert event.actor_label == "agent:performance"
    assert "warm-up of 2 h is over" in event.data["reason"]


def test_an_sla_escalation_names_its_criterion_and_evidence(campaign_a):
    launched = campaign_a.created_at
    delivered = launched + timedelta(minutes=1)
    campaign = _delivering(campaign_a, launched=launched, delivered=delivered, budget=Decimal(9000))
    now = delivered + timedelta(hours=5)
    Campaign.objects.filter(pk=campaign.pk).update(
        budget_consumed=(_planned(campaign, now) / 2).quantize(Decimal("0.01")),
        # Only pacing is off: the brief is young, so its response and draft clocks are not.
        created_at=now - timedelta(minutes=1),
    )
    slas_evaluate(now=now, campaign_ids=[campaign.pk])
    escalation = Escalation.objects.get(campaign=campaign, reason="sla_breach")
    assert escalation.summary.startswith("SLA breached: Budget pacing within range — -50.")
    assert "% against ± 10 % (the brief's pacing tolerance)." in escalation.summary
    assert "spent against" in escalation.summary and "since delivery began at" in (
        escalation.summary
    )


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
