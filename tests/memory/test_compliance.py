"""Drafts checked against brand rules before handoff (no database)."""

import pytest

from memory.domain.compliance import (
    BrandRules,
    Severity,
    blocks,
    check_variant,
    claims_fit,
    claims_misfit_reason,
    required_claim_text,
)

RULES = BrandRules(
    prohibited_phrases=("best coffee in the world",),
    prohibited_claims=("clinically proven",),
    approved_claims=("Roasted to order", "Free shipping over 40", "Sleep stages tracked all night"),
    required_disclaimers={
        "Free shipping over 40": "Orders within the EU",
        "Sleep stages tracked all night": ("Not a medical device", "Results vary"),
    },
    avoided_words=("snob",),
)


def check(headline="Fresh beans", body="Roasted to order, every week.", claims=(), channel="email"):
    return check_variant(channel=channel, headline=headline, body=body, claims=claims, rules=RULES)


def test_a_clean_draft_passes():
    assert check(claims=["Roasted to order"]) == []


def test_prohibited_phrases_and_claims_block_whatever_the_case_and_spacing():
    findings = check(body="The BEST  coffee in the\nworld, clinically proven.")
    assert [f.rule for f in findings] == ["phrase.prohibited", "claim.prohibited"]
    assert blocks(findings)


def test_whole_words_only():
    assert check(body="Improved roast profile for every snobbish palate.") == []


def test_claims_not_approved_block_and_approved_ones_pass():
    findings = check(claims=["Roasted to order", "Calms your mornings"])
    assert [(f.rule, f.severity) for f in findings] == [("claim.unapproved", Severity.BLOCK)]
    assert "“Calms your mornings” is not an approved claim" in findings[0].message


def test_an_approved_claim_without_its_disclaimer_blocks():
    findings = check(body="Free shipping over 40!", claims=["Free shipping over 40"])
    assert [f.rule for f in findings] == ["disclaimer.missing"]
    ok = check(
        body="Free shipping over 40. Orders within the EU.", claims=["free shipping over 40"]
    )
    assert ok == []


def test_a_claim_with_several_disclaimers_needs_each_of_them():
    claim = ["Sleep stages tracked all night"]
    findings = check(body="Sleep stages tracked all night. Not a medical device.", claims=claim)
    assert [f.message for f in findings] == [
        "“Sleep stages tracked all night” needs its disclaimer: “Results vary”."
    ]
    both = "Sleep stages tracked all night. Not a medical device. Results vary."
    assert check(body=both, claims=claim) == []


def test_voice_rules_warn_but_do_not_block():
    findings = check(body="Not for coffee snob types.")
    assert [(f.rule, f.severity) for f in findings] == [("voice.avoided_word", Severity.WARN)]
    assert not blocks(findings)


def test_channel_limits():
    findings = check(headline="x" * 31, body="y" * 91, channel="search_ads")
    assert [f.rule for f in findings] == ["channel.headline_too_long", "channel.body_too_long"]
    assert findings[0].message == "The headline has 31 characters; search_ads allows 30."


PLACED = BrandRules(
    subject_line_prohibited_phrases=("% off",), headline_prohibited_phrases=("sale",)
)


def placed(headline, channel="email", body="First month at 20 % off."):
    return check_variant(channel=channel, headline=headline, body=body, claims=(), rules=PLACED)


@pytest.mark.parametrize("headline", ["20% off your first month", "20 % OFF", "20 percent off"])
def test_a_subject_line_rule_blocks_the_email_headline_however_it_is_written(headline):
    findings = placed(headline)
    assert [(f.rule, f.severity) for f in findings] == [
        ("phrase.headline_prohibited", Severity.BLOCK)
    ]
    assert "keeps out of email subject lines" in findings[0].message


def test_a_subject_line_rule_leaves_bodies_and_other_channels_alone():
    assert placed("Fresh beans") == []  # "% off" in the body is fine
    assert placed("20 % off your first month", channel="social_ads") == []


def test_a_headline_rule_holds_on_every_channel():
    for channel in ("email", "social_ads", "landing_page"):
        assert [f.rule for f in placed("Winter sale", channel=channel)] == [
            "phrase.headline_prohibited"
        ]
    assert placed("Wholesale beans", channel="display") == []  # whole words only


def test_claims_fit_a_channel_or_say_why_not():
    shipping = [("Free shipping on orders over $40", ("Contiguous US only.",))]
    line = required_claim_text(shipping)
    assert line == "Free shipping on orders over $40. Contiguous US only."
    assert claims_fit("search_ads", line) and claims_misfit_reason("search_ads", shipping) is None
    long_terms = [
        (
            "Free shipping on orders over $40",
            ("Contiguous US only; excludes public holidays, gift cards and bulk office orders.",),
        )
    ]
    assert not claims_fit("search_ads", required_claim_text(long_terms))
    assert claims_misfit_reason("search_ads", long_terms) == (
        "The disclaimer for “Free shipping on orders over $40” does not fit the 90-character "
        "search-ads description."
    )
    assert claims_misfit_reason("email", long_terms) is None
    too_long = [("x " * 50, ())]
    assert claims_misfit_reason("display", too_long).endswith(
        "does not fit the 90-character display-ad description."
    )
