"""Pure rules the agents apply: the LLM spend cap, lead scoring, and the offline
composer's test design and performance verdicts."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from agents.domain.handoffs import DraftsV1, DraftVariant, validate_handoff
from agents.domain.leads import QUALIFIED_SCORE, LeadFacts, score_lead
from agents.domain.spend import month_start, spend_cap_refusal
from agents.providers.offline import DeliveryFacts, compose_experiment, compose_performance


@pytest.mark.parametrize(
    ("spent", "max_cost", "cap", "refused"),
    [
        ("0.80", "0.20", None, False),  # no cap
        ("0.80", "0.20", "1.00", False),  # lands exactly on the cap: allowed
        ("0.81", "0.20", "1.00", True),  # could cross it: refused before it starts
        ("0", "0", "0", False),  # the offline composer costs nothing
    ],
)
def test_the_spend_cap_refuses_a_run_that_could_cross_it(spent, max_cost, cap, refused):
    reason = spend_cap_refusal(
        spent=Decimal(spent),
        max_run_cost=Decimal(max_cost),
        cap=Decimal(cap) if cap is not None else None,
    )
    assert bool(reason) is refused
    if refused:
        assert "0.81 of its 1.00 cap" in reason


def test_the_month_starts_at_midnight_on_the_first():
    assert month_start(datetime(2026, 11, 22, 15, 4, tzinfo=UTC)) == datetime(
        2026, 11, 1, tzinfo=UTC
    )


def test_lead_scores_weigh_seniority_intent_company_and_reachability():
    hot = score_lead(LeadFacts(1, job_title="Chief Buyer", company="Co", source="Demo request"))
    assert (hot.score, hot.segment) == (100, "hot")
    warm = score_lead(LeadFacts(2, job_title="Manager", company="Co", source="newsletter"))
    assert warm.score == 62 and warm.score >= QUALIFIED_SCORE and warm.segment == "warm"
    cold = score_lead(LeadFacts(3, job_title="Barista"))
    assert (cold.score, cold.segment) == (33, "nurture")
    gone = score_lead(LeadFacts(4, job_title="Director", company="Co", reachable=False))
    assert gone.segment == "do not contact" and "never mail" in gone.note
    flagged = score_lead(LeadFacts(5, job_title="CEO", flagged=True))
    assert "flagged as instructions" in flagged.note


def test_the_test_design_gives_every_variant_an_arm_and_shares_that_add_up():
    variants = [
        DraftVariant(channel="email", headline=f"Subject {i}", body="Body") for i in range(3)
    ]
    design = compose_experiment(
        7, "Cost per acquisition", DraftsV1(campaign_id=7, variants=variants)
    )
    assert len(design.arms) == 3
    assert sum(arm.share for arm in design.arms) == pytest.approx(1)
    assert design.minimum_sample_per_arm == 19600  # 16 p(1-p) / δ², p = 2 %, δ = 0.4 pt
    assert validate_handoff("experiment", design.model_dump()) == design


@pytest.mark.parametrize(
    ("spend", "conversions", "verdict"),
    [(900, 40, "on track"), (1050, 40, "watch"), (1500, 40, "off track")],
)
def test_performance_verdicts_follow_the_cpa_target(spend, conversions, verdict):
    facts = DeliveryFacts(
        campaign_id=1,
        name="C",
        phase="Monitoring",
        success_metric="cpa",
        target=25.0,
        impressions=100_000,
        clicks=2_000,
        conversions=conversions,
        spend=spend,
        budget=5_000,
    )
    cpa = next(o for o in compose_performance(facts).observations if o.metric == "CPA")
    assert cpa.verdict == verdict
