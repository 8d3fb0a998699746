"""Copy that carries the brief's notes for the team is refused (no database)."""

from datetime import date
from decimal import Decimal

import pytest

from agents.domain.copy_check import InternalNotes, internal_leaks
from campaigns.domain.briefs import BriefSpec
from memory.domain.compliance import Severity, blocks

BRIEF = BriefSpec(
    title="Nitro Cold Brew Can Launch",
    objective=(
        "Launch our new ready-to-drink nitro cold brew in cans and get 1,500 first orders of "
        "the 12-pack before the end of January 2026."
    ),
    budget=Decimal("25000"),
    deadline=date(2026, 1, 31),
    success_metric="conversions",
    success_target=Decimal("1500"),
    offer="Free can with your first 12-pack",
    required_claims=["Roasted to order"],
    escalation_criteria="CPA above 28 for 3 h; any claim outside the approved list.",
)
NOTES = InternalNotes.of_brief(BRIEF)


def leaks(headline="Smooth, cold, canned", body="Free can with your first 12-pack."):
    return internal_leaks(headline=headline, body=body, notes=NOTES)


def test_customer_facing_copy_passes():
    assert leaks() == []
    # The offer and the claims may share words and numbers with the objective: "12-pack".
    assert leaks(body="Roasted to order. Free can with your first 12-pack, from January.") == []


def test_the_pasted_objective_is_refused_whatever_its_case_spacing_or_punctuation():
    findings = leaks(
        headline="Nitro Cold Brew Can Launch: Launch our new ready-to-drink…",
        body="GET 1500 first   orders of the 12 pack before the end of january",
    )
    assert {f.rule for f in findings} >= {
        "copy.internal_objective",
        "copy.internal_figure",
        "copy.internal_title",
    }
    assert all(f.severity == Severity.BLOCK for f in findings) and blocks(findings)
    objective = next(f for f in findings if f.rule == "copy.internal_objective")
    # The finding quotes the copy as written, so a reviewer can find it.
    assert "GET 1500 first   orders of the 12 pack before the end of january" in objective.message


def test_five_words_of_the_objective_are_a_leak_and_four_are_not():
    assert [f.rule for f in leaks(body="Try ready-to-drink nitro cold brew today.")] == [
        "copy.internal_objective"
    ]
    assert leaks(body="Our nitro cold brew is here.") == []
    # Five words that say nothing (filler) are not evidence of a leak.
    assert leaks(body="Before the end of the week.") == []


@pytest.mark.parametrize("figure", ["1,500", "1500", "1.5k", "1.500"])
def test_the_target_figure_is_refused_however_it_is_written(figure):
    findings = leaks(body=f"Be one of {figure} first customers.")
    assert [f.rule for f in findings] == ["copy.internal_figure"]
    assert "1,500" in findings[0].message


def test_budget_and_escalation_criteria_are_for_the_team():
    assert [f.rule for f in leaks(body="We put 25,000 behind this launch.")] == [
        "copy.internal_figure"
    ]
    findings = leaks(body="Any claim outside the approved list is ours. Our CPA is low.")
    assert [f.rule for f in findings] == ["copy.internal_escalation", "copy.internal_term"]


def test_small_numbers_years_and_product_numbers_are_not_targets():
    assert leaks(body="3 flavours, 12-pack or 24-pack, new for 2026.") == []


def test_the_title_is_refused_as_a_headline_or_a_label_but_not_a_word_of_it():
    assert [f.rule for f in leaks(headline="Nitro Cold Brew Can Launch")] == ["copy.internal_title"]
    assert [f.rule for f in leaks(body="Nitro cold brew can launch: free can.")] == [
        "copy.internal_title"
    ]
    assert leaks(headline="Nitro, cold and canned") == []


@pytest.mark.parametrize(
    ("audience", "addressee"),
    [
        ("IT managers at 50 to 500 person companies", "IT managers"),
        ("Amateur runners training for a half or full marathon", "amateur runners"),
        ("Commuters in their 30s who ride to work", "commuters"),
        ("Existing customers and look-alike prospects in the home market", ""),
    ],
)
def test_copy_speaks_to_whom_the_brief_names(audience, addressee):
    from agents.domain.copywriting import read_audience

    assert read_audience(audience).addressee == addressee
