"""The offline composer: deterministic, schema-valid, within channel limits, compliant."""

import pytest

from agents.domain.handoffs import validate_handoff
from agents.providers.offline import BriefFacts, compose_drafts, compose_plan
from campaigns.domain.briefs import CHANNELS
from memory.domain.compliance import CHANNEL_LIMITS, BrandRules, blocks, check_variant

BRIEF = BriefFacts(
    campaign_id=3,
    brand_name="Northwind Coffee",
    title="Winter warmers",
    objective="Grow repeat orders from lapsed subscribers by 15 % before the holidays",
    success_metric="cpa",
    channels=list(CHANNELS),
    audience="Lapsed subscribers",
    tone="Warm",
    offer="A free grinder with your next three bags",
    required_claims=["Roasted to order"],
    voice_rules=["Warm, plain-spoken", "Never snobbish"],
)


def test_the_same_brief_always_gives_the_same_work():
    assert compose_plan(BRIEF) == compose_plan(BRIEF)
    assert compose_drafts(BRIEF) == compose_drafts(BRIEF)


def test_its_output_is_a_valid_handoff_on_both_sides():
    plan, drafts = compose_plan(BRIEF), compose_drafts(BRIEF)
    assert validate_handoff("plan", plan.model_dump()) == plan
    assert validate_handoff("drafts", drafts.model_dump()) == drafts
    assert [s.specialist for s in plan.steps][:2] == ["research", "content"]
    assert any(s.specialist == "distribution" and s.needs_approval for s in plan.steps)


@pytest.mark.parametrize("channel", list(CHANNELS))
def test_every_variant_fits_its_channel_and_keeps_the_required_claim(channel):
    variants = [v for v in compose_drafts(BRIEF).variants if v.channel == channel]
    assert len(variants) == 2 and variants[0].headline != variants[1].headline
    for variant in variants:
        assert len(variant.headline) <= CHANNEL_LIMITS[channel]["headline"]
        assert len(variant.body) <= CHANNEL_LIMITS[channel]["body"]
        assert "Roasted to order" in variant.body
        assert variant.claims == ["Roasted to order"]
        assert variant.cites == ["voice: Warm, plain-spoken", "voice: Never snobbish"]


def test_drafts_pass_the_brands_rules_when_the_brief_is_valid():
    rules = BrandRules(
        prohibited_claims=("Best coffee in the world",),
        approved_claims=("Roasted to order",),
    )
    for variant in compose_drafts(BRIEF).variants:
        findings = check_variant(
            channel=variant.channel,
            headline=variant.headline,
            body=variant.body,
            claims=variant.claims,
            rules=rules,
        )
        assert not blocks(findings), (variant.channel, findings)
