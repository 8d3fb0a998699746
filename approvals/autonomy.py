"""Autonomy is earned (every write here): each agent's track record per action type, the
pure rules' verdict on it (``approvals.domain.autonomy``), and what follows.

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
"""

from __future__ import annotations

import logging
import statistics
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from governance.domain.actions import ActionType
from governance.domain.audit import Actor
from governance.domain.errors import DomainError
from governance.models import AuditEvent

from .domain.autonomy import DEFAULT_RULES, EarningRules, Step, TrackRecord, review
from .domain.policy import Mode, Rule, policy_from_json, policy_to_json, with_rule
from .models import (
    ApprovalRequest,
    ApprovalStatus,
    DelegationPolicy,
    PolicyDecisionRecord,
    PolicyStatus,
)

logger = logging.getLogger(__name__)

AUTONOMY = Actor.system("autonomy")

#: The SLAs that are each agent's own work (every agent answers for completion and for
#: how often people step in).
AGENT_SLAS: dict[str, tuple[str, ...]] = {
    "planner": ("response_time",),
    "content": ("draft_time", "qa_pass_rate", "policy_escalation"),
    "distribution": ("budget_pacing",),
    "performance": ("notify_time",),
}
SHARED_SLAS = ("completion_rate", "exception_rate")
#: Action types autonomy never moves: what agents may do to the policy itself.
UNEARNABLE = (ActionType.CHANGE_POLICY, ActionType.ADJUST_AUTONOMY)


def track_record(
    *, brand_id: int, agent: str, action: ActionType, now: datetime, window_days: int
) -> tuple[TrackRecord, int | None]:
    """The agent's record with one action type for a brand over the window, and the
    campaign of its latest decision (where a recommendation is filed)."""
    since = now - timedelta(days=window_days)
    decisions = PolicyDecisionRecord.objects.filter(
        brand_id=brand_id,
        action_type=action.value,
        actor_label=f"agent:{agent}",
        decided_at__gte=since,
    )
    acted_alone = decisions.filter(outcome="allow").count()
    approvals = ApprovalRequest.objects.filter(decision__in=decisions)
    approved = list(approvals.filter(status=ApprovalStatus.APPROVED).values_list("pk", flat=True))
    edits = [
        event.data["edit"]["effort_chars"]
        for event in AuditEvent.objects.filter(
            action="approval.approved",
            object_type=ApprovalRequest._meta.label_lower,
            object_id__in=[str(pk) for pk in approved],
            data__has_key="edit",
        )
    ]
    rejected = approvals.filter(
        status__in=[ApprovalStatus.REJECTED, ApprovalStatus.CHANGES_REQUESTED]
    ).count()
    from campaigns.models import SlaEvaluation
    from monitoring.models import Escalation

    incidents = Escalation.objects.filter(
        campaign__brand_id=brand_id, agent_run__agent=agent, opened_at__gte=since
    ).count()
    kinds = AGENT_SLAS.get(agent, ()) + SHARED_SLAS
    slas = SlaEvaluation.objects.filter(
        campaign__brand_id=brand_id, sla__in=kinds, evaluated_at__gte=since
    )
    breaches = slas.filter(status="breached").count()
    burned = slas.filter(error_budget__startswith="budget spent").exists()
    campaigns = set(decisions.values_list("campaign_id", flat=True))
    latest = decisions.order_by("-decided_at").values_list("campaign_id", flat=True).first()
    record = TrackRecord(
        action=action,
        decided=acted_alone + len(approved) + rejected,
        approved_unedited=len(approved) - len(edits),
        approved_edited=len(edits),
        rejected=rejected,
        median_edit_chars=float(statistics.median(edits)) if edits else None,
        acted_alone=acted_alone,
        incidents=incidents,
        sla_breaches=breaches,
        error_budget_burned=burned,
        cycles=len(campaigns),
        window_days=window_days,
    )
    return record, latest


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
        seen = (
            PolicyDecisionRecord.objects.filter(
                brand_id=brand_id, decided_at__gte=now - timedelta(days=rules.window_days)
            )
            .filter(actor_label__startswith="agent:")
            .values_list("actor_label", "action_type")
            .distinct()
        )
        for label, action_type in sorted(set(seen)):
            action = ActionType(action_type)
            if action in UNEARNABLE:
                continue
            agent = label.removeprefix("agent:")
            record, campaign_id = track_record(
                brand_id=brand_id,
                agent=agent,
                action=action,
                now=now,
                window_days=rules.window_days,
            )
            mode = _brand_rule(brand_id, action).mode
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
    from governance.services import audit_record

    from .services import _active_row

    action, source, target = ActionType(step_action), Mode(from_mode), Mode(to_mode)
    with transaction.atomic():
        latest = (
            DelegationPolicy.objects.select_for_update()
            .filter(brand_id=brand_id)
            .order_by("-version")
            .first()
        )
        current = _active_row(brand_id, None, lock=True)
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
    from .services import action_propose

    waiting = ApprovalRequest.objects.filter(
        brand_id=brand_id,
        action_type=ActionType.ADJUST_AUTONOMY.value,
        status=ApprovalStatus.PENDING,
    ).filter(Q(payload__action=step.action.value) & Q(payload__agent=agent))
    if waiting.exists():
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


def _brand_rule(brand_id: int, action: ActionType) -> Rule:
    from .services import _active_row

    return _policy_of(_active_row(brand_id, None)).rule_for(action)


def _policy_of(row: DelegationPolicy | None):
    from .domain.policy import DEFAULT_POLICY

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


# --- Reads for the agents page -------------------------------------------------------------


def autonomy_overview(user: Any, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """For each brand the user may see and each action type an agent proposed there in
    the window: the mode in force, the record, how far it is from the next step, a
    recommendation waiting for an admin, and what the record last changed."""
    from campaigns.models import Brand
    from governance import policies

    from .domain.autonomy import progress

    now = now or timezone.now()
    rules = DEFAULT_RULES
    rows = []
    for brand in Brand.objects.filter(pk__in=policies.visible_brand_ids(user)).order_by("name"):
        seen = (
            PolicyDecisionRecord.objects.filter(
                brand=brand, decided_at__gte=now - timedelta(days=rules.window_days)
            )
            .filter(actor_label__startswith="agent:")
            .exclude(actor_label__startswith="agent:system:")
            .values_list("actor_label", "action_type")
            .distinct()
        )
        for label, action_type in sorted(set(seen)):
            action = ActionType(action_type)
            if action in UNEARNABLE:
                continue
            agent = label.removeprefix("agent:")
            record, _ = track_record(
                brand_id=brand.pk,
                agent=agent,
                action=action,
                now=now,
                window_days=rules.window_days,
            )
            mode = _brand_rule(brand.pk, action).mode
            waiting = ApprovalRequest.objects.filter(
                brand=brand,
                action_type=ActionType.ADJUST_AUTONOMY.value,
                status=ApprovalStatus.PENDING,
                payload__action=action.value,
                payload__agent=agent,
            ).first()
            rows.append(
                {
                    "brand": brand,
                    "agent": agent,
                    "action": action,
                    "mode": mode,
                    "record": record,
                    "progress": progress(mode, record, rules),
                    "recommendation": waiting,
                }
            )
    return rows


def autonomy_changes(user: Any, *, limit: int = 10) -> list[DelegationPolicy]:
    """The latest policy versions the track records wrote, for the brands the user sees."""
    from governance import policies

    return list(
        DelegationPolicy.objects.filter(brand_id__in=policies.visible_brand_ids(user))
        .exclude(basis={})
        .select_related("brand")
        .order_by("-decided_at", "-version")[:limit]
    )
