"""What monitoring registers and reacts to: the executor of pauses; the escalation a
phase change opens or resolves; telling people (notifications); the escalation an
agent's stopped run opens."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from governance import events, executors
from governance.domain.actions import ActionType

from . import executors as monitoring_executors

executors.register(ActionType.PAUSE, monitoring_executors.PAUSE)


def _leaves_escalation(from_phase: str, to_phase: str) -> bool:
    """Leaving escalated for work or for good resolves its escalations (a pause keeps them)."""
    return from_phase == "escalated" and to_phase not in ("escalated", "paused")


@receiver(events.phase_changing)
def _lock_escalations(
    sender: Any, *, campaign_id: int, from_phase: str, to_phase: str, **kwargs: Any
) -> None:
    """Lock the escalations a phase change will resolve, before its audit event."""
    if _leaves_escalation(from_phase, to_phase):
        from .models import Escalation

        list(
            Escalation.objects.select_for_update(no_key=True)
            .filter(campaign_id=campaign_id, resolved_at__isnull=True)
            .values_list("pk", flat=True)
        )


@receiver(events.phase_changed)
def _escalate_or_resolve(
    sender: Any,
    *,
    campaign_id: int,
    from_phase: str,
    to_phase: str,
    actor: Any,
    reason: str,
    origin: Any,
    **kwargs: Any,
) -> None:
    from campaigns.models import Campaign

    from .services import escalation_open_for_phase, escalations_resolve_for_phase

    if to_phase == "escalated":
        campaign = Campaign.objects.select_related("brand").get(pk=campaign_id)
        escalation_open_for_phase(campaign=campaign, actor=actor, summary=reason, origin=origin)
    elif _leaves_escalation(from_phase, to_phase):
        campaign = Campaign.objects.select_related("brand").get(pk=campaign_id)
        escalations_resolve_for_phase(campaign=campaign, actor=actor, note=reason)


@receiver(events.people_to_notify)
def _notify(
    sender: Any,
    *,
    user_ids: list[int],
    campaign_id: int,
    title: str,
    body: str,
    url: str,
    approval_id: int | None = None,
    flag_id: int | None = None,
    slack: bool = False,
    **kwargs: Any,
) -> None:
    from django.contrib.auth import get_user_model

    from campaigns.models import Campaign

    from .services import notify_people

    notify_people(
        people=get_user_model().objects.filter(pk__in=user_ids).order_by("pk"),
        campaign=Campaign.objects.get(pk=campaign_id),
        title=title,
        body=body,
        url=url,
        approval_id=approval_id,
        flag_id=flag_id,
        slack=slack,
    )


@receiver(events.agent_stopped)
def _escalate_stopped_run(
    sender: Any,
    *,
    campaign_id: int,
    agent_run_id: int,
    kind: str,
    summary: str,
    reason: str,
    findings: tuple[str, ...],
    actor: Any,
    **kwargs: Any,
) -> None:
    """An agent's run stopped: open the escalation the rules call for, in the stop's
    transaction (its campaign is already locked: lock order, ``governance.services``)."""
    from .domain.escalation import Source, Trigger
    from .services import escalation_raise

    if kind == "content_check":
        trigger = Trigger(
            source=Source.CONTENT_CHECK, summary=summary, findings=findings or (reason,)
        )
    else:
        trigger = Trigger(source=Source.AGENT_RUN, summary=summary, run_error_kind=kind)
    escalation_raise(
        campaign_id=campaign_id, trigger=trigger, actor=actor, agent_run_id=agent_run_id
    )


# --- Approvals: settled requests, and the operations half of agents' track records -------


@receiver(events.approval_settled)
def _settle_approval_notices(sender: Any, *, approval_id: int, **kwargs: Any) -> None:
    """Nothing waits for the request's reviewers any more: their notices about it are read
    (in the transaction that answered or moved it)."""
    from .services.notify import notifications_settle_approval

    notifications_settle_approval(approval_id=approval_id)


def _register_agent_operations() -> None:
    from approvals.selectors import operations_source_register

    from .selectors import agent_operations

    operations_source_register(agent_operations)


_register_agent_operations()
