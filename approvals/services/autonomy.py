"""Autonomy is earned (every write here): each agent's track record per action type
(``approvals.selectors.autonomy``), the pure rules' verdict on it
(``approvals.domain.autonomy``), and what follows.

    beat (hourly) ─▶ for each brand, agent and action type the agent proposes:
        the record over the window (decisions, edits, rejections, incidents, SLAs)
        ─▶ ``review``:
            narrow ─▶ a new policy version at once, one step down, with the reasons and
                      the record it was based on (``DelegationPolicy.basis``)
            widen  ─▶ a recommendation in the Admin queue (``adjust_autonomy`` through
                      the gate); it changes nothing until an admin approves it, which
                      writes the new version

A version the system writes supersedes the one in force like any other; the policies
page shows who (or what) made each version and why.

Every write here follows the lock order in ``governance.services``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from governance.domain.actions import ActionType
from governance.domain.audit import Actor
from governance.domain.errors import DomainError
from governance.services import audit_record

from ..domain.autonomy import DEFAULT_RULES, EarningRules, Step, review
from ..domain.policy import (
    DEFAULT_POLICY,
    Mode,
    Policy,
    Rule,
    policy_from_json,
    policy_to_json,
    with_rule,
)
from ..models import DelegationPolicy, PolicyStatus
from ..selectors.autonomy import (
    agent_actions_proposed,
    autonomy_recommendation_waiting,
    brand_rule,
    track_record,
)
from .gate import action_propose
from .policy_changes import active_row

logger = logging.getLogger(__name__)

AUTONOMY = Actor.system("autonomy")


def autonomy_review(
    *,
    now: datetime | None = None,
    brand_ids: list[int] | None = None,
    rules: EarningRules = DEFAULT_RULES,
) -> list[str]:
    """Beat's tick: review every agent's record for every action type it proposes.
    Narrowing happens now; widening is recommended to the admins. What was done."""
    from campaigns.models import Brand

    now = now or timezone.now()
    done = []
    brands = Brand.objects.all() if brand_ids is None else Brand.objects.filter(pk__in=brand_ids)
    for brand_id in brands.values_list("pk", flat=True):
        since = now - timedelta(days=rules.window_days)
        for agent, action in agent_actions_proposed(brand_id, since=since):
            record, campaign_id = track_record(
                brand_id=brand_id,
                agent=agent,
                action=action,
                now=now,
                window_days=rules.window_days,
            )
            mode = brand_rule(brand_id, action).mode
            step = review(mode, record, rules)
            if step is None:
                continue
            if step.automatic:
                autonomy_step_apply(
                    brand_id=brand_id,
                    agent=agent,
                    step_action=step.action,
                    from_mode=step.from_mode,
                    to_mode=step.to_mode,
                    reasons=list(step.reasons),
                    evidence=step.evidence,
                    actor=AUTONOMY,
                    authorization="the agent's track record (automatic)",
                )
                done.append(f"narrowed {action.value} for {agent} at brand {brand_id}")
            elif campaign_id is not None and _recommend(brand_id, campaign_id, agent, step):
                done.append(f"recommended widening {action.value} for {agent} at brand {brand_id}")
    return done


def autonomy_step_apply(
    *,
    brand_id: int,
    agent: str,
    step_action: ActionType | str,
    from_mode: Mode | str,
    to_mode: Mode | str,
    reasons: list[str],
    evidence: dict[str, Any],
    actor: Actor,
    authorization: str,
) -> DelegationPolicy:
    """Write the brand policy's next version with one action type one step wider or
    narrower, superseding the version in force. Refused if the rule moved meanwhile."""
    action, source, target = ActionType(step_action), Mode(from_mode), Mode(to_mode)
    with transaction.atomic():
        latest = (
            DelegationPolicy.objects.select_for_update()
            .filter(brand_id=brand_id)
            .order_by("-version")
            .first()
        )
        current = active_row(brand_id, None, lock=True)
        policy = _policy_of(current)
        rule = policy.rule_for(action)
        if rule.mode != source:
            raise DomainError(
                f"The rule for {action.label.lower()} is now “{rule.mode.value}”, not "
                f"“{source.value}”: the recommendation no longer applies."
            )
        version = (latest.version if latest else 0) + 1
        changed = with_rule(
            policy,
            action,
            Rule(target, rule.approver, rule.max_amount, rule.max_budget_pct, rule.min_confidence),
            version=version,
        )
        if current is not None:
            current.status = PolicyStatus.SUPERSEDED
            current.save(update_fields=["status"])
        direction = "widened" if _rank(target) > _rank(source) else "narrowed"
        note = (
            f"{action.label} {direction} for the {agent} agent: {source.value} → "
            f"{target.value}. " + " ".join(reasons)
        )
        row = DelegationPolicy.objects.create(
            brand_id=brand_id,
            version=version,
            rules=policy_to_json(changed),
            status=PolicyStatus.ACTIVE,
            note=note[:5000],
            based_on_version=current.version if current else 0,
            decided_at=timezone.now(),
            decision_note=authorization[:500],
            basis={
                "agent": agent,
                "action": action.value,
                "from": source.value,
                "to": target.value,
                "reasons": reasons,
                "evidence": evidence,
            },
        )
        audit_record(
            actor=actor,
            action=f"policy.autonomy_{direction}",
            target=row,
            brand_id=brand_id,
            data={
                "version": version,
                "action": action.value,
                "agent": agent,
                "from": source.value,
                "to": target.value,
                "reasons": reasons,
                "authorization": authorization,
            },
        )
    return row


# --- Internals ---------------------------------------------------------------------------


def _recommend(brand_id: int, campaign_id: int, agent: str, step: Step) -> bool:
    """File a widening in the Admin queue, once (not while one for it waits)."""
    if autonomy_recommendation_waiting(brand_id, step.action, agent) is not None:
        return False
    summary = (
        f"Let the {agent} agent {step.action.label.lower()} one step more freely: "
        f"{step.from_mode.value} → {step.to_mode.value}"
    )
    action_propose(
        campaign_id=campaign_id,
        action=ActionType.ADJUST_AUTONOMY.value,
        payload={
            "action": step.action.value,
            "agent": agent,
            "from_mode": step.from_mode.value,
            "to_mode": step.to_mode.value,
            "reasons": list(step.reasons),
            "evidence": step.evidence,
            "reason": summary,
        },
        actor=AUTONOMY,
        summary=summary,
        evidence={"record": step.evidence.get("summary", ""), "why": " ".join(step.reasons)},
    )
    return True


def _policy_of(row: DelegationPolicy | None) -> Policy:
    if row is None:
        return DEFAULT_POLICY
    return policy_from_json(row.version, row.rules)


_LADDER_RANK = {
    Mode.FORBIDDEN: -1,
    Mode.RECOMMEND_ONLY: 0,
    Mode.NEEDS_APPROVAL: 1,
    Mode.ACT_ALONE: 2,
}


def _rank(mode: Mode) -> int:
    return _LADDER_RANK[mode]
