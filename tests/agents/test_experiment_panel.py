"""The experiment panel agrees with itself: the table's "Share now", the traffic chart and
its summary all say the shares in force; a round waiting for approval shows what it
proposes beside them, named as a proposal."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import AllocationRound, Experiment, RoundStatus
from agents.selectors import campaign_experiments
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def arm(label, trials, successes, prob_best):
    rate = successes / trials
    return {
        "label": label,
        "trials": trials,
        "successes": successes,
        "mean": rate,
        "low": rate * 0.8,
        "high": rate * 1.2,
        "prob_best": prob_best,
    }


def test_shares_in_force_and_a_waiting_proposal_are_told_apart(brand_a, manager):
    campaign = CampaignFactory(brief__brand=brand_a, brief__created_by=manager)
    start = timezone.now() - timedelta(hours=6)
    experiment = Experiment.objects.create(
        campaign=campaign, channel="email", min_sample=100, started_at=start
    )
    arms = [arm("#1", 900, 45, 0.93), arm("#2", 900, 27, 0.07)]
    AllocationRound.objects.create(
        experiment=experiment,
        number=1,
        at=start + timedelta(hours=1),
        arms=arms,
        shares={"#1": 0.6, "#2": 0.4},
        status=RoundStatus.APPLIED,
        applied_at=start + timedelta(hours=1),
    )
    AllocationRound.objects.create(
        experiment=experiment,
        number=2,
        at=start + timedelta(hours=2),
        arms=arms,
        shares={"#1": 0.99, "#2": 0.01},
        status=RoundStatus.WAITING,
    )

    (view,) = campaign_experiments(campaign.pk)

    table = {row["label"]: (row["share"], row["proposed"]) for row in view.arms_table}
    assert table == {"#1": ("60 %", "99 %"), "#2": ("40 %", "1 %")}
    assert view.proposal
    assert "#1 60 %, #2 40 %" in view.share_summary  # the chart's words: the same shares


def test_without_a_proposal_the_table_shows_the_applied_shares(brand_a, manager):
    campaign = CampaignFactory(brief__brand=brand_a, brief__created_by=manager)
    experiment = Experiment.objects.create(campaign=campaign, channel="email", min_sample=100)
    AllocationRound.objects.create(
        experiment=experiment,
        number=1,
        at=timezone.now(),
        arms=[arm("#1", 500, 30, 0.8), arm("#2", 500, 20, 0.2)],
        shares={"#1": 0.7, "#2": 0.3},
        status=RoundStatus.APPLIED,
        applied_at=timezone.now(),
    )
    (view,) = campaign_experiments(campaign.pk)
    assert not view.proposal
    assert [row["share"] for row in view.arms_table] == ["70 %", "30 %"]


def test_the_report_says_what_the_tests_say():
    from agents.providers.offline import DeliveryFacts, compose_report

    facts = DeliveryFacts(
        campaign_id=1,
        name="Spring",
        phase="Monitoring",
        success_metric="cpa",
        target=30.0,
        experiments=(("email", "#1"), ("paid social", "")),
    )
    steps = compose_report(facts).what_next
    assert "The email test has a winner, #1: its traffic follows it" in steps
    assert any(s.startswith("Keep the paid social test running") for s in steps)
    assert not any("email test running" in s for s in steps)
    no_tests = compose_report(
        DeliveryFacts(campaign_id=1, name="S", phase="Monitoring", success_metric="", target=None)
    ).what_next
    assert no_tests == ["Nothing waits for a person: delivery goes on as planned, watched"]
