"""What a policy change would have done, in pure Python: re-run the decisions of a
period under the proposed policy and compare with the policy in force.

The editor shows it before a change is submitted, e.g. "this would have sent 312 items
to legal review, up from 41; 3 launches would have been forbidden".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from governance.domain.actions import ActionType
from governance.domain.roles import Role

from .policy import Outcome, Policy, ProposedAction, evaluate


def facts_to_json(proposed: ProposedAction) -> dict[str, Any]:
    """What the gate knew, kept with each decision so later policies can be replayed."""
    return {
        "action": proposed.action.value,
        "by_agent": proposed.by_agent,
        "amount": str(proposed.amount),
        "spend": str(proposed.spend),
        "budget_total": None if proposed.budget_total is None else str(proposed.budget_total),
        "budget_consumed": str(proposed.budget_consumed),
        "daily_cap": None if proposed.daily_cap is None else str(proposed.daily_cap),
        "spent_today": str(proposed.spent_today),
        "confidence": proposed.confidence,
        "claims": sorted(proposed.claims),
        "approved_claims": sorted(proposed.approved_claims),
        "categories": sorted(proposed.categories),
    }


def facts_from_json(data: Mapping[str, Any]) -> ProposedAction:
    def money(key: str) -> Decimal | None:
        return None if data.get(key) is None else Decimal(str(data[key]))

    return ProposedAction(
        action=ActionType(data["action"]),
        by_agent=bool(data["by_agent"]),
        amount=money("amount") or Decimal("0"),
        spend=money("spend") or Decimal("0"),
        budget_total=money("budget_total"),
        budget_consumed=money("budget_consumed") or Decimal("0"),
        daily_cap=money("daily_cap"),
        spent_today=money("spent_today") or Decimal("0"),
        confidence=data.get("confidence"),
        claims=frozenset(data.get("claims", ())),
        approved_claims=frozenset(data.get("approved_claims", ())),
        categories=frozenset(data.get("categories", ())),
    )


@dataclass(frozen=True)
class Tally:
    allowed: int = 0
    refused: int = 0
    recommended: int = 0
    by_queue: Mapping[str, int] = field(default_factory=dict)  # role → items held for it
    refused_by_action: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Impact:
    considered: int
    before: Tally
    after: Tally
    changed: int  # actions whose outcome or queue would differ

    def sentences(self) -> list[str]:
        """The differences in words, most consequential first."""
        lines = []
        for role in Role:
            was = self.before.by_queue.get(role.value, 0)
            now = self.after.by_queue.get(role.value, 0)
            if was != now:
                direction = "up" if now > was else "down"
                lines.append(
                    f"This would have sent {now} items to the {role.value} queue, "
                    f"{direction} from {was}."
                )
        for action, now in sorted(self.after.refused_by_action.items()):
            was = self.before.refused_by_action.get(action, 0)
            if now != was:
                label = ActionType(action).label.lower()
                lines.append(f"{now} “{label}” actions would have been refused (was {was}).")
        if self.after.allowed != self.before.allowed:
            lines.append(
                f"{self.after.allowed} actions would have run without a person "
                f"(was {self.before.allowed})."
            )
        if not lines:
            lines.append(
                f"None of the {self.considered} actions considered would have been decided "
                "differently."
            )
        return lines


def simulate(actions: Iterable[ProposedAction], *, current: Policy, proposed: Policy) -> Impact:
    before, after = _Counter(), _Counter()
    considered = changed = 0
    for action in actions:
        considered += 1
        old, new = evaluate(current, action), evaluate(proposed, action)
        before.add(old.outcome, old.approver, action.action)
        after.add(new.outcome, new.approver, action.action)
        if (old.outcome, old.approver) != (new.outcome, new.approver):
            changed += 1
    return Impact(considered, before.tally(), after.tally(), changed)


class _Counter:
    def __init__(self) -> None:
        self.outcomes: Counter[Outcome] = Counter()
        self.queues: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()

    def add(self, outcome: Outcome, approver: Role | None, action: ActionType) -> None:
        self.outcomes[outcome] += 1
        if outcome in (Outcome.APPROVAL, Outcome.RECOMMEND) and approver:
            self.queues[approver.value] += 1
        if outcome == Outcome.REFUSE:
            self.refused[action.value] += 1

    def tally(self) -> Tally:
        return Tally(
            allowed=self.outcomes[Outcome.ALLOW],
            refused=self.outcomes[Outcome.REFUSE],
            recommended=self.outcomes[Outcome.RECOMMEND],
            by_queue=dict(self.queues),
            refused_by_action=dict(self.refused),
        )
