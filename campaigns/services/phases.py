"""A campaign's phase changes, by the phase table (``campaigns.domain.phases``): audited,
announced to the floors above (the work a phase starts, the escalation it opens or
resolves), pushed to the tower after commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from governance import events, policies
from governance.domain.audit import Actor
from governance.domain.errors import DomainError, NotPermitted, TransitionNotAllowed
from governance.services import audit_record

from ..domain.phases import (
    Phase,
    agent_needs_authorization,
    check_transition,
    resume_phase_after,
)
from ..models import (
    Campaign,
    EscalationState,
)


def campaign_transition_phase(
    *,
    campaign_id: int,
    to_phase: str,
    actor: Actor,
    reason: str = "",
    effective_at: datetime | None = None,
    authorization: str = "",
    escalation: Any = None,
) -> Campaign:
    """Move a campaign to ``to_phase`` if the phase table allows it; audited.

    Moving to escalated opens the escalation that says why (``escalation``: the rules'
    ``monitoring.services.Origin``; none means a person raised it), which tells people
    and climbs its chain; leaving escalated for work or for good resolves it with
    ``reason``.

    An agent launching, pausing, resuming or cancelling must say what authorised it
    (``authorization``: the gate's recorded decision or a person's approval; see
    ``approvals.services.action_propose``) — invariant 1: no agent action without a
    recorded decision.

    ``effective_at`` backdates when the change took effect, for imports of campaigns run
    elsewhere (and the demo); it is recorded in the audit event, which is itself stamped
    with the real time. People and agents acting now leave it out.

    Raises :class:`TransitionNotAllowed` / :class:`ReasonRequired` (the table refused),
    :class:`NotPermitted` (this person may not run this campaign). On any refusal
    nothing is written.
    """
    try:
        target = Phase(to_phase)
    except ValueError:
        raise TransitionNotAllowed(f"“{to_phase}” is not a campaign phase.") from None
    now = timezone.now()
    if effective_at is not None and effective_at > now:
        raise DomainError("A phase change cannot take effect in the future.")

    with transaction.atomic():
        campaign = (
            Campaign.objects.select_for_update(no_key=True, of=("self",))
            .select_related("brand")
            .get(pk=campaign_id)
        )
        if actor.user_id is not None:
            user = user_by_id(actor.user_id)
            if not policies.can_change_phase(user, campaign):
                raise NotPermitted("You cannot change the phase of this campaign.")
        current = Phase(campaign.phase)
        resume = Phase(campaign.resume_phase) if campaign.resume_phase else None
        check_transition(current, target, resume_phase=resume, reason=reason)
        if (
            actor.is_agent
            and not actor.is_system
            and not authorization
            and agent_needs_authorization(current, target)
        ):
            raise NotPermitted(
                f"An agent cannot move a campaign from {current.label.lower()} to "
                f"{target.label.lower()} on its own: it must go through the delegation-"
                "policy gate, which records the decision (and may ask a person)."
            )

        if effective_at is None:
            # Lock order: what the change's followers will touch after the audit event
            # (the escalations it resolves) is locked now — under the campaign, before
            # the audit chain head.
            events.announce(
                events.phase_changing,
                campaign_id=campaign.pk,
                from_phase=current.value,
                to_phase=target.value,
            )
        new_resume = resume_phase_after(current, target, resume_phase=resume)
        campaign.phase = target
        campaign.resume_phase = new_resume or ""
        campaign.phase_changed_at = effective_at or now
        if target == Phase.EXECUTION and campaign.launched_at is None:
            campaign.launched_at = campaign.phase_changed_at
        if target == Phase.ESCALATED:
            campaign.escalation_state = EscalationState.OPEN
        elif current == Phase.ESCALATED and target != Phase.PAUSED:
            campaign.escalation_state = EscalationState.RESOLVED
        campaign.save(
            update_fields=[
                "phase",
                "resume_phase",
                "phase_changed_at",
                "escalation_state",
                "launched_at",
                "updated_at",
            ]
        )
        audit_record(
            actor=actor,
            action="campaign.phase_changed",
            target=campaign,
            brand_id=campaign.brand_id,
            campaign_id=campaign.pk,
            data={
                "from": current.value,
                "to": target.value,
                "reason": reason.strip(),
                **({"effective_at": effective_at.isoformat()} if effective_at else {}),
                **({"authorization": authorization} if authorization else {}),
            },
        )
        if effective_at is None:
            events.announce_publicly(
                event="campaign.phase_changed",
                brand_id=campaign.brand_id,
                data={
                    "campaign_id": campaign.pk,
                    "from": current.value,
                    "to": target.value,
                    "reason": reason.strip(),
                    "by": actor.label,
                },
            )
        if effective_at is None:  # a live change, not an import of history
            # The work it starts (agents publish at launch, report at the end) and the
            # escalation it opens or resolves (monitoring): rows that commit with it.
            events.announce(
                events.phase_changed,
                campaign_id=campaign.pk,
                from_phase=current.value,
                to_phase=target.value,
                actor=actor,
                reason=reason.strip(),
                origin=escalation,
            )
        events.announce_on_commit(events.campaign_changed, campaign_id=campaign.pk)
    return campaign


def campaign_escalation_state_set(*, campaign_id: int, state: str) -> None:
    """Keep the tower's escalation column equal to the campaign's escalations (derived
    state: each escalation's own events are the audit record)."""
    changed = (
        Campaign.objects.filter(pk=campaign_id)
        .exclude(escalation_state=state)
        .update(escalation_state=state, updated_at=timezone.now())
    )
    if changed:
        events.announce_on_commit(events.campaign_changed, campaign_id=campaign_id)


def user_by_id(user_id: int) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(pk=user_id)
