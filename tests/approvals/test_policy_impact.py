"""Replaying a period's actions under a proposed policy (pure)."""

from decimal import Decimal

from approvals.domain.impact import facts_from_json, facts_to_json, simulate
from approvals.domain.policy import DEFAULT_POLICY, Mode, ProposedAction, Rule, with_rule
from governance.domain.actions import ActionType
from governance.domain.roles import Role


def action(kind, **changes):
    values = {"action": kind, "by_agent": True, "budget_total": Decimal("10000")}
    values.update(changes)
    return ProposedAction(**values)


HISTORY = (
    [action(ActionType.DRAFT_CONTENT)] * 30
    + [action(ActionType.DRAFT_CONTENT, categories=frozenset({"health"}))] * 4
    + [action(ActionType.LAUNCH_CAMPAIGN)] * 3
    + [action(ActionType.CHANGE_BUDGET, amount=Decimal("300"))] * 10
)


def test_facts_survive_a_round_trip():
    original = action(
        ActionType.CHANGE_BUDGET,
        amount=Decimal("1200.50"),
        confidence=0.7,
        claims=frozenset({"b", "a"}),
        daily_cap=Decimal("900"),
    )
    assert facts_from_json(facts_to_json(original)) == original


def test_tightening_drafts_and_forbidding_launches_is_described_in_numbers():
    proposed = with_rule(
        with_rule(
            DEFAULT_POLICY,
            ActionType.DRAFT_CONTENT,
            Rule(Mode.NEEDS_APPROVAL, Role.LEGAL),
            version=2,
        ),
        ActionType.LAUNCH_CAMPAIGN,
        Rule(Mode.FORBIDDEN),
        version=2,
    )
    impact = simulate(HISTORY, current=DEFAULT_POLICY, proposed=proposed)
    assert impact.considered == 47
    assert impact.before.by_queue == {"Legal Reviewer": 4, "Marketing Manager": 3}
    assert impact.after.by_queue == {"Legal Reviewer": 34}
    assert impact.changed == 33  # 30 drafts now held, 3 launches now refused
    assert impact.sentences() == [
        "This would have sent 0 items to the Marketing Manager queue, down from 3.",
        "This would have sent 34 items to the Legal Reviewer queue, up from 4.",
        "3 “launch campaign” actions would have been refused (was 0).",
        "10 actions would have run without a person (was 40).",
    ]


def test_an_unchanged_policy_changes_nothing():
    impact = simulate(HISTORY, current=DEFAULT_POLICY, proposed=DEFAULT_POLICY)
    assert impact.changed == 0
    assert impact.sentences() == [
        "None of the 47 actions considered would have been decided differently."
    ]
