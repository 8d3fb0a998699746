"""Brief rules on plain values (no database)."""

from datetime import date
from decimal import Decimal

import pytest

from campaigns.domain.briefs import BriefSpec, conflicting_claims, split_lines, validate_brief

TODAY = date(2026, 11, 22)


def spec(**changes):
    values = {
        "title": "Spring launch",
        "objective": "Sell more",
        "budget": Decimal("5000"),
        "deadline": date(2026, 12, 31),
        "success_metric": "cpa",
        "channels": ["email", "social_ads"],
        "required_claims": ["Free shipping"],
        "prohibited_claims": ["Best in the world"],
    }
    values.update(changes)
    return BriefSpec(**values)


def errors_of(brief):
    return validate_brief(brief, today=TODAY, max_budget=1_000_000)


def test_a_good_brief_has_no_errors():
    assert errors_of(spec()) == {}
    assert errors_of(spec(deadline=TODAY)) == {}  # today is not the past


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"deadline": date(2026, 11, 21)},
            "deadline",
            "The deadline 2026-11-21 is in the past; choose today or a later date.",
        ),
        ({"deadline": None}, "deadline", "Give the campaign a deadline."),
        ({"budget": Decimal("0")}, "budget", "The budget must be more than zero."),
        ({"budget": Decimal("-50")}, "budget", "The budget must be more than zero."),
        ({"budget": None}, "budget", "Give the campaign a budget."),
        (
            {"budget": Decimal("2500000")},
            "budget",
            "A budget of 2,500,000.00 is implausibly large (the limit is 1,000,000); "
            "check it for a typo.",
        ),
        (
            {
                "required_claims": ["Clinically proven"],
                "prohibited_claims": ["clinically  PROVEN."],
            },
            "prohibited_claims",
            "“Clinically proven” is both required and prohibited; "
            "a claim can only be one of the two.",
        ),
        (
            {"success_metric": ""},
            "success_metric",
            "Choose the success metric the campaign will be judged by.",
        ),
        ({"success_metric": "vibes"}, "success_metric", "Unknown success metric “vibes”."),
        (
            {"channels": ["email", "tiktok"]},
            "channels",
            "Unknown channel “tiktok”; choose from: email, search_ads, social_ads, display, "
            "social_organic, landing_page.",
        ),
        ({"channels": []}, "channels", "Choose at least one channel."),
    ],
)
def test_each_bad_input_gets_its_message(changes, field, message):
    assert errors_of(spec(**changes)) == {field: [message]}


def test_all_problems_are_reported_at_once():
    errors = errors_of(spec(budget=Decimal("0"), deadline=date(2020, 1, 1), success_metric=""))
    assert set(errors) == {"budget", "deadline", "success_metric"}


def test_lines_are_trimmed_deduplicated_and_blank_free():
    assert split_lines("  Free  shipping \n\nFree shipping\nNo fees\n") == [
        "Free shipping",
        "No fees",
    ]


def test_claim_comparison_ignores_case_spacing_and_final_punctuation():
    assert conflicting_claims(["Save 20 %!"], ["save 20 %"]) == ["Save 20 %!"]
    assert conflicting_claims(["Save 20 %"], ["Save 30 %"]) == []


@pytest.mark.parametrize(
    ("cap", "message"),
    [
        (Decimal("0"), "A daily cap must be more than zero (or left empty)."),
        (Decimal("6000"), "The daily cap cannot be more than the whole budget."),
    ],
)
def test_a_daily_cap_must_be_positive_and_within_the_budget(cap, message):
    assert errors_of(spec(daily_cap=cap)) == {"daily_cap": [message]}
    assert errors_of(spec(daily_cap=Decimal("250"))) == {}
