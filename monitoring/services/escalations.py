"""Escalations: opened by the deterministic rules (``monitoring.domain.escalation``) or
by a person, they stop the affected work, tell people, and climb a chain on timers.

    raised ─▶ open at the chain's first tier (the owner): told in-app, by email and on
              the brand's Slack-compatible webhook; a campaign-wide one moves the
              campaign to *escalated*, which stops its agents
    open ─(tier's wait passes, beat sweep)─▶ next tier told (manager, then admin)
    open ─acknowledged by a person─▶ stops climbing
    open/acknowledged ─resolved with a note (optionally resuming the campaign)─▶ done

A campaign leaving *escalated* (resumed or cancelled by a person) resolves its
campaign-wide escalations with that person's reason. Every step is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from campaigns.domain.phases import LIVE_PHASES, Phase
from campaigns.models import Campaign, EscalationState
from governance import events, policies
from governance.domain.audit import Actor
from governance.domain.errors import DomainError, NotPermitted
from governance.services import audit_record

from ..domain.escalation import (
    DEFAULT_CHAIN,
    TIER_LABELS,
    EscalationDecision,
    Reason,
    Stops,
    Trigger,
    chain_from_json,
    chain_to_json,
    climb,
    decide,
)
from ..models import UNRESOLVED, Escalation, EscalationStatus, MonitoringSettings
from .notify import notify_people

#: Who climbs escalations and applies the rules: the monitoring system itself.
MONITOR = Actor.system("monitoring")


@dataclass(frozen=True)
class Origin:
    """What an escalation is about, carried through a phase change into the row."""

    reason: str
    stops: str = Stops.CAMPAIGN
    channel: str = ""
    variant: str = ""
    flag_id: int | None = None
    agent_run_id: int | None = None


def escalation_raise(
    *,
    campaign_id: int,
    trigger: Trigger,
    actor: Actor = MONITOR,
    flag_id: int | None = None,
    agent_run_id: int | None = None,
) -> Escalation | None:
    """Apply the escalation rules to what happened; open (or find) the escalation they
    call for. ``None`` when the rules call for none."""
    decision = decide(trigger)
    if decision is None:
        return None
    return escalation_open(
        campaign_id=campaign_id,
        decision=decision,
        actor=actor,
        origin=Origin(
            reason=decision.reason,
            stops=decision.stops,
            channel=trigger.channel if decision.stops != Stops.CAMPAIGN else "",
            variant=trigger.variant if decision.stops == Stops.VARIANT else "",
            flag_id=flag_id,
            agent_run_id=agent_run_id,
        ),
    )


def escalation_open(
    *, campaign_id: int, decision: EscalationDecision, actor: Actor, origin: Origin
) -> Escalation:
    """Open an escalation for a decision. A campaign-wide one on a live campaign moves
    it to escalated (the phase change opens the row); otherwise the row opens alone. The
    same reason on the same surface while one is unresolved finds that one."""
    from campaigns.services import campaign_transition_phase

    with transaction.atomic():
        campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
        existing = _unresolved(campaign_id, origin)
        if existing is not None:
            return existing
        if origin.stops == Stops.CAMPAIGN and Phase(campaign.phase) in LIVE_PHASES:
            campaign_transition_phase(
                campaign_id=campaign_id,
                to_phase=Phase.ESCALATED,
                actor=actor,
                reason=decision.summary,
                escalation=origin,
            )
            escalation = _unresolved(campaign_id, origin)
            assert escalation is not None
            return escalation
        return _open(campaign, summary=decision.summary, actor=actor, origin=origin)


def escalation_open_for_phase(
    *, campaign: Campaign, actor: Actor, summary: str, origin: Origin | None
) -> Escalation:
    """The campaign has just moved to escalated (``campaign_transition_phase``): open the
    escalation that says why — the rules' reason, or a person's."""
    origin = origin or Origin(reason=Reason.RAISED_BY_PERSON)
    return _unresolved(campaign.pk, origin) or _open(
        campaign, summary=summary, actor=actor, origin=origin
    )


def _open(campaign: Campaign, *, summary: str, actor: Actor, origin: Origin) -> Escalation:
    now = timezone.now()
    chain = _chain(campaign.brand_id)
    level = _first_level(campaign, chain, actor)
    wait = chain[level].wait
    escalation = Escalation.objects.create(
        campaign=campaign,
        reason=origin.reason,
        summary=summary[:300],
        stops=origin.stops,
        channel=origin.channel,
        variant=origin.variant,
        flag_id=origin.flag_id,
        agent_run_id=origin.agent_run_id,
        chain=chain_to_json(chain),
        level=level,
        entered_level_at=now,
        next_climb_at=now + wait if wait else None,
        opened_at=now,
    )
    audit_record(
        actor=actor,
        action="escalation.opened",
        target=escalation,
        brand_id=campaign.brand_id,
        campaign_id=campaign.pk,
        data={
            "reason": origin.reason,
            "summary": escalation.summary,
            "stops": origin.stops,
            "surface": _surface(escalation),
            "tier": chain[level].tier,
        },
    )
    _tell(escalation, campaign, chain[level].tier, climbed=False)
    _sync_state(campaign.pk)
    _emit("escalation.opened", escalation, campaign.brand_id)
    return escalation


def escalation_acknowledge(*, escalation_id: int, user: Any) -> Escalation:
    """Someone has it: the escalation stops climbing (it stays until resolved)."""
    with transaction.atomic():
        escalation = _locked(escalation_id)
        if not policies.can_answer_escalations(user, escalation.campaign):
            raise NotPermitted("You cannot answer this campaign's escalations.")
        if escalation.status != EscalationStatus.OPEN:
            raise DomainError(
                f"This escalation is already {escalation.get_status_display().lower()}."
            )
        now = timezone.now()
        escalation.status = EscalationStatus.ACKNOWLEDGED
        escalation.acknowledged_at, escalation.acknowledged_by = now, user
        escalation.next_climb_at = None
        escalation.save(
            update_fields=["status", "acknowledged_at", "acknowledged_by", "next_climb_at"]
        )
        audit_record(
            actor=Actor.for_user(user),
            action="escalation.acknowledged",
            target=escalation,
            brand_id=escalation.campaign.brand_id,
            campaign_id=escalation.campaign_id,
            data={"reason": escalation.reason, "level": escalation.level},
        )
        _sync_state(escalation.campaign_id)
        _emit("escalation.acknowledged", escalation, escalation.campaign.brand_id, user)
    return escalation


def escalation_resolve(
    *, escalation_id: int, user: Any, note: str, resume: bool = False
) -> Escalation:
    """Close an escalation with a note. ``resume`` also moves an escalated campaign back
    to the phase it left, once nothing else holds it there."""
    from campaigns.services import campaign_transition_phase

    if not note.strip():
        raise DomainError("Say how it was resolved: a note is required.")
    with transaction.atomic():
        escalation = _locked(escalation_id)
        campaign = escalation.campaign
        if not policies.can_answer_escalations(user, campaign):
            raise NotPermitted("You cannot answer this campaign's escalations.")
        if escalation.status == EscalationStatus.RESOLVED:
            raise DomainError("This escalation is already resolved.")
        _resolve(escalation, actor=Actor.for_user(user), user=user, note=note.strip())
        others = Escalation.objects.filter(
            campaign_id=campaign.pk, status__in=UNRESOLVED, stops=Stops.CAMPAIGN
        ).exists()
        if resume and campaign.phase == Phase.ESCALATED and not others:
            campaign_transition_phase(
                campaign_id=campaign.pk,
                to_phase=campaign.resume_phase,
                actor=Actor.for_user(user),
                reason=note.strip(),
            )
        _sync_state(campaign.pk)
    return escalation


def escalations_resolve_for_phase(*, campaign: Campaign, actor: Actor, note: str) -> list[int]:
    """The campaign left escalated (resumed or cancelled by a person): its campaign-wide
    escalations are resolved with that reason."""
    user = None
    if actor.user_id is not None:
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.get(pk=actor.user_id)
    resolved = []
    for escalation in Escalation.objects.select_for_update(no_key=True).filter(
        campaign_id=campaign.pk, status__in=UNRESOLVED, stops=Stops.CAMPAIGN
    ):
        _resolve(escalation, actor=actor, user=user, note=note or "The campaign moved on.")
        resolved.append(escalation.pk)
    if resolved:
        _sync_state(campaign.pk)
    return resolved


def escalations_climb(*, now: datetime | None = None) -> list[int]:
    """Beat's tick: every open escalation whose tier's wait has passed climbs (several
    tiers if the sweep was late, each told), until acknowledged or at the top."""
    now = now or timezone.now()
    climbed = []
    with transaction.atomic():
        due = (
            # Only the escalations' rows (``of``): the joined campaign, brand and owner
            # would be locked FOR UPDATE too (approvals.services, "Lock order").
            Escalation.objects.select_for_update(skip_locked=True, no_key=True, of=("self",))
            .select_related("campaign__brand", "campaign__owner")
            .filter(status=EscalationStatus.OPEN, next_climb_at__lte=now)
            .order_by("next_climb_at")[:200]
        )
        for escalation in due:
            chain = chain_from_json(escalation.chain or None)
            step = climb(
                chain,
                level=escalation.level,
                entered_level_at=escalation.entered_level_at,
                now=now,
                acknowledged=False,
            )
            escalation.level, escalation.entered_level_at = step.level, step.entered_level_at
            escalation.next_climb_at = step.next_climb_at
            escalation.save(update_fields=["level", "entered_level_at", "next_climb_at"])
            for tier in step.newly_reached:
                audit_record(
                    actor=MONITOR,
                    action="escalation.climbed",
                    target=escalation,
                    brand_id=escalation.campaign.brand_id,
                    campaign_id=escalation.campaign_id,
                    data={"tier": tier, "reason": escalation.reason},
                )
                _tell(escalation, escalation.campaign, tier, climbed=True)
            if step.newly_reached:
                climbed.append(escalation.pk)
    return climbed


# --- Internals ---------------------------------------------------------------------------


def _unresolved(campaign_id: int, origin: Origin) -> Escalation | None:
    return Escalation.objects.filter(
        campaign_id=campaign_id,
        reason=origin.reason,
        channel=origin.channel,
        variant=origin.variant,
        status__in=UNRESOLVED,
    ).first()


def _locked(escalation_id: int) -> Escalation:
    # Lock order (approvals.services): the campaign first — answering an escalation
    # updates the campaign's escalation state and may move its phase, and a phase change
    # locks the campaign, then its escalations.
    campaign_id = Escalation.objects.values_list("campaign_id", flat=True).get(pk=escalation_id)
    Campaign.objects.select_for_update(no_key=True).filter(pk=campaign_id).first()
    return (
        Escalation.objects.select_for_update(no_key=True, of=("self",))
        .select_related("campaign__brand")
        .get(pk=escalation_id)
    )


def _resolve(escalation: Escalation, *, actor: Actor, user: Any, note: str) -> None:
    escalation.status = EscalationStatus.RESOLVED
    escalation.resolved_at, escalation.resolved_by = timezone.now(), user
    escalation.resolution_note = note
    escalation.next_climb_at = None
    escalation.save(
        update_fields=["status", "resolved_at", "resolved_by", "resolution_note", "next_climb_at"]
    )
    audit_record(
        actor=actor,
        action="escalation.resolved",
        target=escalation,
        brand_id=escalation.campaign.brand_id,
        campaign_id=escalation.campaign_id,
        data={"reason": escalation.reason, "note": note},
    )
    _emit("escalation.resolved", escalation, escalation.campaign.brand_id, user)


def _emit(event: str, escalation: Escalation, brand_id: int, user: Any = None) -> None:
    events.announce_publicly(
        event=event,
        brand_id=brand_id,
        data={
            "escalation_id": escalation.pk,
            "campaign_id": escalation.campaign_id,
            "reason": escalation.reason,
            "summary": escalation.summary,
            "status": escalation.status,
            **({"by": user.get_username()} if user is not None else {}),
        },
    )


def _chain(brand_id: int) -> tuple:
    data = (
        MonitoringSettings.objects.filter(brand_id=brand_id)
        .values_list("escalation_chain", flat=True)
        .first()
    )
    try:
        return chain_from_json(data or None)
    except ValueError:
        return DEFAULT_CHAIN


def _first_level(campaign: Campaign, chain: tuple, actor: Actor) -> int:
    """The chain's first tier with someone to tell: a person who escalates is not told
    of their own escalation (the owner escalating goes straight to the managers)."""
    for level, step in enumerate(chain):
        people = policies.escalation_recipients(
            campaign.brand, tier=step.tier, owner=campaign.owner
        )
        if any(person.pk != actor.user_id for person in people):
            return level
    return len(chain) - 1


def _tell(escalation: Escalation, campaign: Campaign, tier: str, *, climbed: bool) -> None:
    people = policies.escalation_recipients(campaign.brand, tier=tier, owner=campaign.owner)
    if climbed:  # someone told at a lower tier (an owner who is also a manager) is not told again
        already = set(escalation.notifications.values_list("recipient_id", flat=True))
        people = [person for person in people if person.pk not in already]
        if not people:
            return
    verb = "Escalated to you" if not climbed else "Still unanswered, now with you"
    notify_people(
        people=people,
        campaign=campaign,
        title=f"{verb}: {campaign.name} — {Reason(escalation.reason).label}",
        body=f"{escalation.summary}\n\nTier: {TIER_LABELS.get(tier, tier)}. "
        "Acknowledge it to stop it climbing; resolve it with a note.",
        url=reverse("campaigns:detail", args=[campaign.pk]) + "#escalations",
        escalation=escalation,
        flag_id=escalation.flag_id,
        slack=True,
    )


def _sync_state(campaign_id: int) -> None:
    """The tower's escalation column: open if any is open, else acknowledged if any is,
    else resolved once there were some."""
    from campaigns.services import campaign_escalation_state_set

    statuses = set(
        Escalation.objects.filter(campaign_id=campaign_id).values_list("status", flat=True)
    )
    if EscalationStatus.OPEN in statuses:
        state = EscalationState.OPEN
    elif EscalationStatus.ACKNOWLEDGED in statuses:
        state = EscalationState.ACKNOWLEDGED
    elif statuses:
        state = EscalationState.RESOLVED
    else:
        return
    campaign_escalation_state_set(campaign_id=campaign_id, state=state)


def _surface(escalation: Escalation) -> str:
    if escalation.variant:
        return f"{escalation.channel} · {escalation.variant}"
    return escalation.channel or "the whole campaign"
