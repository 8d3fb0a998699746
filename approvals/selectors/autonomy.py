"""Autonomy's reads: each agent's track record per action type (``approvals.domain.autonomy``
judges it), and what the agents page shows of it. The writes that follow from a record
are ``approvals.services.autonomy``.

An agent's record has two halves. What people did with its proposals is ours (decisions,
approvals, edits, rejections). What happened in operations — the escalations its runs
caused, its SLAs' breaches — is monitoring's, a floor above: monitoring answers it through
:func:`operations_source_register` (from ``monitoring.subscribers``), so approvals never
imports it.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from governance.domain.actions import ActionType

from ..domain.autonomy import AGENT_SLAS, DEFAULT_RULES, SHARED_SLAS, UNEARNABLE, TrackRecord
from ..domain.policy import Rule
from .policies import policy_in_force

# --- What monitoring answers ---------------------------------------------------------------


@dataclass(frozen=True)
class Operations:
    """What an agent answers for in operations, at one brand since a moment."""

    incidents: int = 0  # escalations its runs caused
    sla_breaches: int = 0  # breaches of its SLAs (``slas``)
    error_budget_burned: bool = False  # one of its SLAs used up its error budget


#: ``(*, brand_id, agent, slas, since) -> Operations``; None until monitoring registers.
_operations_source: Callable[..., Operations] | None = None


def operations_source_register(source: Callable[..., Operations]) -> None:
    """Answer :func:`agent_operations` with ``source`` (monitoring's, at start-up)."""
    global _operations_source
    _operations_source = source


def agent_operations(
    *, brand_id: int, agent: str, slas: Iterable[str], since: datetime
) -> Operations:
    """The agent's operations at a brand since ``since``, as monitoring reports them."""
    if _operations_source is None:
        return Operations()  # no monitoring installed: nothing it could report
    return _operations_source(brand_id=brand_id, agent=agent, slas=tuple(slas), since=since)


# --- Track records ---------------------------------------------------------------------------


def track_record(
    *, brand_id: int, agent: str, action: ActionType, now: datetime, window_days: int
) -> tuple[TrackRecord, int | None]:
    """The agent's record with one action type for a brand over the window, and the
    campaign of its latest decision (where a recommendation is filed)."""
    from governance.models import AuditEvent

    from ..models import ApprovalRequest, ApprovalStatus, PolicyDecisionRecord

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
    operations = agent_operations(
        brand_id=brand_id, agent=agent, slas=AGENT_SLAS.get(agent, ()) + SHARED_SLAS, since=since
    )
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
        incidents=operations.incidents,
        sla_breaches=operations.sla_breaches,
        error_budget_burned=operations.error_budget_burned,
        cycles=len(campaigns),
        window_days=window_days,
    )
    return record, latest


def agent_actions_proposed(
    brand_id: int, *, since: datetime, people_facing: bool = False
) -> list[tuple[str, ActionType]]:
    """``(agent, action type)`` for every action type an agent proposed at a brand since
    ``since``, except those autonomy never moves; ``people_facing`` leaves out the
    system's own agents (``agent:system:…``), which the agents page does not show."""
    from ..models import PolicyDecisionRecord

    seen = PolicyDecisionRecord.objects.filter(brand_id=brand_id, decided_at__gte=since).filter(
        actor_label__startswith="agent:"
    )
    if people_facing:
        seen = seen.exclude(actor_label__startswith="agent:system:")
    found = []
    for label, action_type in sorted(
        set(seen.values_list("actor_label", "action_type").distinct())
    ):
        action = ActionType(action_type)
        if action not in UNEARNABLE:
            found.append((label.removeprefix("agent:"), action))
    return found


def brand_rule(brand_id: int, action: ActionType) -> Rule:
    """The rule for ``action`` in the brand's own policy in force (the default if none)."""
    return policy_in_force(brand_id)[1].rule_for(action)


def autonomy_recommendation_waiting(brand_id: int, action: ActionType, agent: str) -> Any | None:
    """The recommendation to widen ``action`` for ``agent`` waiting in the Admin queue."""
    from ..models import ApprovalRequest, ApprovalStatus

    return ApprovalRequest.objects.filter(
        brand_id=brand_id,
        action_type=ActionType.ADJUST_AUTONOMY.value,
        status=ApprovalStatus.PENDING,
        payload__action=action.value,
        payload__agent=agent,
    ).first()


# --- The agents page ------------------------------------------------------------------------


def autonomy_overview(user: Any, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """For each brand the user may see and each action type an agent proposed there in
    the window: the mode in force, the record, how far it is from the next step, a
    recommendation waiting for an admin, and what the record last changed."""
    from campaigns.models import Brand
    from governance import policies

    from ..domain.autonomy import progress

    now = now or timezone.now()
    rules = DEFAULT_RULES
    rows = []
    for brand in Brand.objects.filter(pk__in=policies.visible_brand_ids(user)).order_by("name"):
        since = now - timedelta(days=rules.window_days)
        for agent, action in agent_actions_proposed(brand.pk, since=since, people_facing=True):
            record, _ = track_record(
                brand_id=brand.pk,
                agent=agent,
                action=action,
                now=now,
                window_days=rules.window_days,
            )
            mode = brand_rule(brand.pk, action).mode
            rows.append(
                {
                    "brand": brand,
                    "agent": agent,
                    "action": action,
                    "mode": mode,
                    "record": record,
                    "progress": progress(mode, record, rules),
                    "recommendation": autonomy_recommendation_waiting(brand.pk, action, agent),
                }
            )
    return rows


def autonomy_changes(user: Any, *, limit: int = 10) -> list[Any]:
    """The latest policy versions the track records wrote, for the brands the user sees."""
    from governance import policies

    from ..models import DelegationPolicy

    return list(
        DelegationPolicy.objects.filter(brand_id__in=policies.visible_brand_ids(user))
        .exclude(basis={})
        .select_related("brand")
        .order_by("-decided_at", "-version")[:limit]
    )
