"""The delegation policy (bounded autonomy), evaluated in pure Python.

A policy says, per action type, what agents may do — act alone, recommend only, needs
approval (by which role), or forbidden — plus thresholds that push an otherwise
autonomous action to a person, and hard caps nobody can cross. :func:`evaluate` turns
(policy, proposed action) into a :class:`PolicyDecision` naming the rule that fired and
why; the gate in ``approvals.services`` records every one of them.

Order of evaluation (first match wins, so the strictest reason is the one reported):
1. hard caps (campaign budget, daily spend) — refused for everyone, people included;
2. a person acting is allowed (what people may do is ``governance.policies``' business);
3. forbidden — refused;
4. claims not in the brand's approved list, or sensitive categories — legal approval;
5. recommend only — a person must adopt it;
6. thresholds (amount, % of budget, confidence) — approval by the rule's approver;
7. needs approval — approval by the rule's approver;
8. act alone — allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum

from campaigns.domain.briefs import normalise_claim
from governance.domain.actions import ActionType
from governance.domain.roles import Role


class Mode(StrEnum):
    ACT_ALONE = "act_alone"
    RECOMMEND_ONLY = "recommend_only"
    NEEDS_APPROVAL = "needs_approval"
    FORBIDDEN = "forbidden"


class Outcome(StrEnum):
    ALLOW = "allow"  # carry it out now
    APPROVAL = "approval"  # hold it for a person in ``approver``'s queue
    RECOMMEND = "recommend"  # a person may adopt it; the agent may not do it
    REFUSE = "refuse"  # nobody may


#: Claim categories that always need legal review.
SENSITIVE_CATEGORIES = frozenset({"health", "finance", "pricing_promise", "legal_commitment"})


@dataclass(frozen=True)
class Rule:
    mode: Mode
    approver: Role = Role.MANAGER
    max_amount: Decimal | None = None  # more than this needs approval
    max_budget_pct: Decimal | None = None  # more than this % of the budget needs approval
    min_confidence: float | None = None  # less confident than this needs approval


@dataclass(frozen=True)
class Policy:
    version: int
    rules: Mapping[ActionType, Rule]

    def rule_for(self, action: ActionType) -> Rule:
        # An action the policy does not mention is not delegated: a person must approve.
        return self.rules.get(action, Rule(Mode.NEEDS_APPROVAL))


@dataclass(frozen=True)
class ProposedAction:
    """What the gate knows about an action before it runs."""

    action: ActionType
    by_agent: bool
    amount: Decimal = Decimal("0")  # the size of the decision (budget moved, changed…)
    spend: Decimal = Decimal("0")  # money it spends now (what the hard caps limit)
    budget_total: Decimal | None = None
    budget_consumed: Decimal = Decimal("0")
    daily_cap: Decimal | None = None
    spent_today: Decimal = Decimal("0")
    confidence: float | None = None
    claims: frozenset[str] = field(default_factory=frozenset)
    approved_claims: frozenset[str] = field(default_factory=frozenset)
    categories: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class PolicyDecision:
    outcome: Outcome
    rule: str  # a stable name of the rule that fired, e.g. "change_budget.max_amount"
    reason: str  # in words a reviewer understands
    policy_version: int
    approver: Role | None = None


DEFAULT_POLICY = Policy(
    version=1,
    rules={
        ActionType.DRAFT_CONTENT: Rule(Mode.ACT_ALONE),
        ActionType.PUBLISH_CONTENT: Rule(Mode.NEEDS_APPROVAL, Role.MANAGER),
        ActionType.LAUNCH_CAMPAIGN: Rule(Mode.NEEDS_APPROVAL, Role.MANAGER),
        ActionType.CHANGE_BUDGET: Rule(
            Mode.ACT_ALONE, Role.MANAGER, max_amount=Decimal("1000"), max_budget_pct=Decimal("10")
        ),
        ActionType.REALLOCATE_BUDGET: Rule(
            Mode.ACT_ALONE, Role.MANAGER, max_budget_pct=Decimal("20"), min_confidence=0.8
        ),
        ActionType.SELECT_AUDIENCE: Rule(Mode.NEEDS_APPROVAL, Role.MANAGER),
        ActionType.SUPPRESS_CONTACTS: Rule(Mode.ACT_ALONE),
        ActionType.SEND_EMAIL: Rule(Mode.NEEDS_APPROVAL, Role.MANAGER),
        ActionType.PAUSE: Rule(Mode.ACT_ALONE),
        ActionType.UPDATE_BRAND_MEMORY: Rule(Mode.RECOMMEND_ONLY, Role.MANAGER),
        ActionType.CHANGE_POLICY: Rule(Mode.FORBIDDEN),
        ActionType.ADJUST_AUTONOMY: Rule(Mode.NEEDS_APPROVAL, Role.ADMIN),
    },
)


def evaluate(policy: Policy, proposed: ProposedAction) -> PolicyDecision:
    """The decision for ``proposed`` under ``policy`` (see the module docstring)."""
    action = proposed.action
    decide = _decider(policy.version)

    if proposed.spend > 0 and proposed.budget_total is not None:
        remaining = proposed.budget_total - proposed.budget_consumed
        if proposed.spend > remaining:
            return decide(
                Outcome.REFUSE,
                "hard_cap.campaign_budget",
                f"Spending {proposed.spend:,.2f} would exceed the campaign budget: only "
                f"{remaining:,.2f} of {proposed.budget_total:,.2f} is left.",
            )
    if proposed.spend > 0 and proposed.daily_cap is not None:
        left_today = proposed.daily_cap - proposed.spent_today
        if proposed.spend > left_today:
            return decide(
                Outcome.REFUSE,
                "hard_cap.daily_spend",
                f"Spending {proposed.spend:,.2f} would exceed today's cap of "
                f"{proposed.daily_cap:,.2f} ({left_today:,.2f} left).",
            )
    if not proposed.by_agent:
        return decide(Outcome.ALLOW, "person", "A person acting within their role.")

    rule = policy.rule_for(action)
    name = action.value
    if rule.mode == Mode.FORBIDDEN:
        return decide(Outcome.REFUSE, f"{name}.forbidden", f"Agents may not {_verb(action)}.")

    # Same comparison as the draft checker (case, spacing, a trailing full stop), so a
    # claim the content agent let through as approved is not sent to legal, or vice versa.
    approved = {normalise_claim(c) for c in proposed.approved_claims}
    unapproved = sorted(c for c in proposed.claims if normalise_claim(c) not in approved)
    if unapproved:
        return decide(
            Outcome.APPROVAL,
            "claims.unapproved",
            "Uses claims that are not approved for this brand: "
            + "; ".join(f"“{c}”" for c in unapproved)
            + ".",
            Role.LEGAL,
        )
    sensitive = sorted(proposed.categories & SENSITIVE_CATEGORIES)
    if sensitive:
        return decide(
            Outcome.APPROVAL,
            "categories.sensitive",
            "Touches sensitive categories that legal reviews: "
            + ", ".join(c.replace("_", " ") for c in sensitive)
            + ".",
            Role.LEGAL,
        )
    if rule.mode == Mode.RECOMMEND_ONLY:
        return decide(
            Outcome.RECOMMEND,
            f"{name}.recommend_only",
            f"Agents may only recommend to {_verb(action)}; a person decides.",
            rule.approver,
        )

    if rule.max_amount is not None and proposed.amount > rule.max_amount:
        return decide(
            Outcome.APPROVAL,
            f"{name}.max_amount",
            f"{proposed.amount:,.2f} is more than the {rule.max_amount:,.2f} agents may "
            f"{_verb(action)} alone.",
            rule.approver,
        )
    if (
        rule.max_budget_pct is not None
        and proposed.budget_total
        and proposed.amount / proposed.budget_total * 100 > rule.max_budget_pct
    ):
        share = proposed.amount / proposed.budget_total * 100
        return decide(
            Outcome.APPROVAL,
            f"{name}.max_budget_pct",
            f"{share:.1f} % of the budget is more than the {rule.max_budget_pct} % agents may "
            f"{_verb(action)} alone.",
            rule.approver,
        )
    if (
        rule.min_confidence is not None
        and proposed.confidence is not None
        and proposed.confidence < rule.min_confidence
    ):
        return decide(
            Outcome.APPROVAL,
            f"{name}.min_confidence",
            f"The agent is {proposed.confidence:.0%} confident; below "
            f"{rule.min_confidence:.0%} a person decides.",
            rule.approver,
        )
    if rule.mode == Mode.NEEDS_APPROVAL:
        return decide(
            Outcome.APPROVAL,
            f"{name}.needs_approval",
            f"Agents need approval to {_verb(action)}.",
            rule.approver,
        )
    return decide(Outcome.ALLOW, f"{name}.act_alone", f"Agents may {_verb(action)} alone.")


def _decider(version: int):
    def decide(
        outcome: Outcome, rule: str, reason: str, approver: Role | None = None
    ) -> PolicyDecision:
        return PolicyDecision(outcome, rule, reason, version, approver)

    return decide


def _verb(action: ActionType) -> str:
    return action.value.replace("_", " ")


def with_rule(policy: Policy, action: ActionType, rule: Rule, *, version: int) -> Policy:
    """A new version of ``policy`` with one rule changed (policies are never edited in place)."""
    return replace(policy, version=version, rules={**policy.rules, action: rule})


class PolicyInvalid(ValueError):
    """Stored or submitted policy data that does not describe a policy; says what is wrong."""


def policy_to_json(policy: Policy) -> dict[str, dict[str, str | float | None]]:
    return {
        action.value: {
            "mode": rule.mode.value,
            "approver": rule.approver.value,
            "max_amount": None if rule.max_amount is None else str(rule.max_amount),
            "max_budget_pct": None if rule.max_budget_pct is None else str(rule.max_budget_pct),
            "min_confidence": rule.min_confidence,
        }
        for action, rule in policy.rules.items()
    }


def policy_from_json(version: int, data: Mapping[str, Mapping]) -> Policy:
    rules: dict[ActionType, Rule] = {}
    for key, values in data.items():
        try:
            action = ActionType(key)
        except ValueError:
            raise PolicyInvalid(f"Unknown action type “{key}”.") from None
        try:
            rules[action] = Rule(
                mode=Mode(values["mode"]),
                approver=Role(values.get("approver") or Role.MANAGER.value),
                max_amount=_decimal(values.get("max_amount")),
                max_budget_pct=_decimal(values.get("max_budget_pct")),
                min_confidence=_float(values.get("min_confidence")),
            )
        except (KeyError, ValueError, ArithmeticError) as exc:
            raise PolicyInvalid(f"The rule for “{key}” is not valid: {exc}.") from None
    return Policy(version=version, rules=rules)


def _decimal(value: object) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def _float(value: object) -> float | None:
    return None if value in (None, "") else float(str(value))


#: Action types a reviewer may approve several of at once: reversible and cheap.
LOW_RISK_ACTIONS = frozenset({ActionType.PAUSE, ActionType.SUPPRESS_CONTACTS})

#: Rules that fire because of money: an item held by one is never low-risk.
MONEY_RULES = frozenset({"max_amount", "max_budget_pct", "campaign_budget", "daily_spend"})


def is_low_risk(
    action_type: str, *, queue_role: str, rule: str = "", amount: Decimal = Decimal(0)
) -> bool:
    """Whether a reviewer may approve this request together with others, from the queue's
    "select all low-risk" (``approvals.services.approvals_decide_many`` checks it again).

    The one definition of low risk: a kind in ``LOW_RISK_ACTIONS`` (reversible and
    spending nothing — a pause stops spend and can be resumed; suppressing contacts only
    sends less), waiting in a queue other than legal's (nothing in it needs legal review:
    claims and sensitive categories always go to legal, one by one), not held by a money
    rule of the policy (amount, share of the budget, the caps) and moving no money
    (the ``amount`` the gate recorded is zero). Everything else is read and decided
    one at a time.
    """
    try:
        kind = ActionType(action_type)
    except ValueError:
        return False
    return (
        kind in LOW_RISK_ACTIONS
        and queue_role != Role.LEGAL.value
        and rule.rpartition(".")[2] not in MONEY_RULES
        and not amount
    )
