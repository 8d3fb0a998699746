"""The delegation policy as a full matrix: every action type x mode x trigger.

The expected outcomes are written out by hand below, not derived from the code."""

from dataclasses import replace
from decimal import Decimal

import pytest

from approvals.domain.policy import (
    DEFAULT_POLICY,
    Mode,
    Outcome,
    Policy,
    ProposedAction,
    Rule,
    evaluate,
    with_rule,
)
from governance.domain.actions import ActionType
from governance.domain.roles import Role

A, P, R, X = Outcome.ALLOW, Outcome.APPROVAL, Outcome.RECOMMEND, Outcome.REFUSE
M, L = Role.MANAGER, Role.LEGAL

# Each scenario changes one thing about a plain, in-limits agent action.
SCENARIOS = {
    "plain": {},
    "unapproved_claim": {"claims": frozenset({"Clinically proven"})},
    "sensitive": {"categories": frozenset({"health"})},
    "over_amount": {"amount": Decimal("600")},  # rule: max 500
    "over_pct": {"amount": Decimal("300")},  # 3 % of 10,000; rule: max 2 %
    "low_confidence": {"confidence": 0.5},  # rule: min 0.7
    "over_budget": {"spend": Decimal("2500")},  # only 2,000 left
    "over_daily_cap": {"spend": Decimal("450"), "spent_today": Decimal("600")},  # cap 1,000
    "by_person": {"by_agent": False, "claims": frozenset({"Clinically proven"})},
}
THRESHOLD_SCENARIOS = {"over_amount": 500, "over_pct": 2, "low_confidence": 0.7}

# (outcome, rule suffix or name, approver) per mode and scenario.
EXPECTED = {
    Mode.ACT_ALONE: {
        "plain": (A, ".act_alone", None),
        "unapproved_claim": (P, "claims.unapproved", L),
        "sensitive": (P, "categories.sensitive", L),
        "over_amount": (P, ".max_amount", M),
        "over_pct": (P, ".max_budget_pct", M),
        "low_confidence": (P, ".min_confidence", M),
        "over_budget": (X, "hard_cap.campaign_budget", None),
        "over_daily_cap": (X, "hard_cap.daily_spend", None),
        "by_person": (A, "person", None),
    },
    Mode.NEEDS_APPROVAL: {
        "plain": (P, ".needs_approval", M),
        "unapproved_claim": (P, "claims.unapproved", L),
        "sensitive": (P, "categories.sensitive", L),
        "over_amount": (P, ".max_amount", M),
        "over_pct": (P, ".max_budget_pct", M),
        "low_confidence": (P, ".min_confidence", M),
        "over_budget": (X, "hard_cap.campaign_budget", None),
        "over_daily_cap": (X, "hard_cap.daily_spend", None),
        "by_person": (A, "person", None),
    },
    Mode.RECOMMEND_ONLY: {
        "plain": (R, ".recommend_only", M),
        "unapproved_claim": (P, "claims.unapproved", L),
        "sensitive": (P, "categories.sensitive", L),
        "over_amount": (R, ".recommend_only", M),
        "over_pct": (R, ".recommend_only", M),
        "low_confidence": (R, ".recommend_only", M),
        "over_budget": (X, "hard_cap.campaign_budget", None),
        "over_daily_cap": (X, "hard_cap.daily_spend", None),
        "by_person": (A, "person", None),
    },
    Mode.FORBIDDEN: {
        "plain": (X, ".forbidden", None),
        "unapproved_claim": (X, ".forbidden", None),
        "sensitive": (X, ".forbidden", None),
        "over_amount": (X, ".forbidden", None),
        "over_pct": (X, ".forbidden", None),
        "low_confidence": (X, ".forbidden", None),
        "over_budget": (X, "hard_cap.campaign_budget", None),
        "over_daily_cap": (X, "hard_cap.daily_spend", None),
        "by_person": (A, "person", None),  # people are governed by their role, not this
    },
}

CASES = [
    (action, mode, scenario) for action in ActionType for mode in Mode for scenario in SCENARIOS
]


def proposed(action, scenario):
    values = {
        "action": action,
        "by_agent": True,
        "amount": Decimal("100"),
        "budget_total": Decimal("10000"),
        "budget_consumed": Decimal("8000"),
        "daily_cap": Decimal("1000"),
        "spent_today": Decimal("0"),
        "confidence": 0.9,
        "claims": frozenset({"Roasted to order"}),
        "approved_claims": frozenset({"Roasted to order"}),
    }
    values.update(SCENARIOS[scenario])
    return ProposedAction(**values)


@pytest.mark.parametrize(("action", "mode", "scenario"), CASES, ids=str)
def test_policy_matrix(action, mode, scenario):
    rule = Rule(
        mode,
        Role.MANAGER,
        max_amount=Decimal(THRESHOLD_SCENARIOS["over_amount"]),
        max_budget_pct=Decimal(THRESHOLD_SCENARIOS["over_pct"]),
        min_confidence=THRESHOLD_SCENARIOS["low_confidence"],
    )
    policy = Policy(version=7, rules={action: rule})
    decision = evaluate(policy, proposed(action, scenario))
    outcome, rule_name, approver = EXPECTED[mode][scenario]
    assert decision.outcome == outcome
    expected_rule = f"{action.value}{rule_name}" if rule_name.startswith(".") else rule_name
    assert decision.rule == expected_rule
    assert decision.approver == approver
    assert decision.policy_version == 7
    assert decision.reason  # always says why


def test_reasons_are_specific():
    policy = Policy(1, {ActionType.CHANGE_BUDGET: Rule(Mode.ACT_ALONE, max_amount=Decimal(500))})
    decision = evaluate(policy, proposed(ActionType.CHANGE_BUDGET, "over_amount"))
    assert decision.reason == "600.00 is more than the 500.00 agents may change budget alone."
    refused = evaluate(policy, proposed(ActionType.CHANGE_BUDGET, "over_budget"))
    assert refused.reason == (
        "Spending 2,500.00 would exceed the campaign budget: only 2,000.00 of 10,000.00 is left."
    )
    claim = evaluate(policy, proposed(ActionType.CHANGE_BUDGET, "unapproved_claim"))
    assert "“Clinically proven”" in claim.reason


def test_an_action_the_policy_does_not_mention_needs_a_manager():
    decision = evaluate(Policy(1, {}), proposed(ActionType.SEND_EMAIL, "plain"))
    assert (decision.outcome, decision.rule, decision.approver) == (
        P,
        "send_email.needs_approval",
        M,
    )


def test_default_policy_starts_bounded():
    assert evaluate(DEFAULT_POLICY, proposed(ActionType.DRAFT_CONTENT, "plain")).outcome == A
    for action in (ActionType.LAUNCH_CAMPAIGN, ActionType.PUBLISH_CONTENT, ActionType.SEND_EMAIL):
        assert evaluate(DEFAULT_POLICY, proposed(action, "plain")).outcome == P
    assert evaluate(DEFAULT_POLICY, proposed(ActionType.CHANGE_POLICY, "plain")).outcome == X


def test_changing_a_rule_makes_a_new_version_and_leaves_the_old_one_alone():
    newer = with_rule(DEFAULT_POLICY, ActionType.PAUSE, Rule(Mode.FORBIDDEN), version=2)
    assert newer.version == 2 and newer.rule_for(ActionType.PAUSE).mode == Mode.FORBIDDEN
    assert DEFAULT_POLICY.rule_for(ActionType.PAUSE).mode == Mode.ACT_ALONE


def test_claims_match_the_registry_as_the_draft_checker_does():
    """Case, spacing and a trailing full stop do not make an approved claim unapproved
    (the content agent's checker compares the same way); other wording still goes to legal."""
    policy = with_rule(DEFAULT_POLICY, ActionType.PUBLISH_CONTENT, Rule(Mode.ACT_ALONE), version=2)
    approved = frozenset({"Roasted to order"})
    for wording in ("roasted  to ORDER.", "Roasted to order!"):
        action = replace(
            proposed(ActionType.PUBLISH_CONTENT, "plain"),
            claims=frozenset({wording}),
            approved_claims=approved,
        )
        assert evaluate(policy, action).outcome == A
    reworded = replace(
        proposed(ActionType.PUBLISH_CONTENT, "plain"),
        claims=frozenset({"Roasted to your order"}),
        approved_claims=approved,
    )
    decision = evaluate(policy, reworded)
    assert (decision.outcome, decision.rule) == (P, "claims.unapproved")
