"""What a firing flag does: its configured response (continue, optimise, pause,
escalate), unless a silence holds it — and the two things people do about flags:
silence them for a known event, and resume a paused channel or variant.

A pause is a circuit breaker on the offending surface only (a channel, or one variant),
proposed through the delegation-policy gate like any agent action, so it is recorded,
allowed or held for a person as the brand's policy says. Closing a breaker spends money
again, so it takes a person and a written justification.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from approvals.services import action_propose
from campaigns.domain.briefs import CHANNELS
from campaigns.models import Campaign
from governance import events, policies
from governance.domain.audit import Actor
from governance.domain.errors import DomainError, NotPermitted
from governance.services import audit_record

from ..domain.escalation import Source, Trigger
from ..models import AnomalyFlag, AnomalyKind, BreakerState, CircuitBreaker, Silence
from .detection import WATCHER, matching_silence
from .flags import anomaly_flag_responded
from .notify import notify_people

#: The shortest justification accepted for resuming a paused surface.
MIN_JUSTIFICATION = 15


def flag_respond(*, flag: AnomalyFlag, now: datetime) -> str:
    """Carry out a flag's response as it fires (inside the detection's transaction);
    what was done, recorded on the flag."""
    campaign = flag.campaign
    events.announce_publicly(
        event="anomaly.flagged",
        brand_id=campaign.brand_id,
        data={
            "flag_id": flag.pk,
            "campaign_id": campaign.pk,
            "kind": flag.kind,
            "channel": flag.channel,
            "variant": flag.variant,
            "explanation": flag.explanation,
            "response": flag.response,
        },
    )
    silence = matching_silence(flag, at=now)
    if silence is not None:
        until = timezone.localtime(silence.ends_at)
        note = f"{silence.reason} (silenced until {until:%Y-%m-%d %H:%M})"
        taken = "Silenced: recorded, nobody told, no automatic response."
        anomaly_flag_responded(
            flag_id=flag.pk, actor=WATCHER, response_taken=taken, silence_note=note
        )
        return taken
    respond = _RESPONSES.get(flag.response, _continue)
    taken = respond(flag, campaign)
    anomaly_flag_responded(flag_id=flag.pk, actor=WATCHER, response_taken=taken)
    if flag.response != "escalate":  # an escalation tells people itself
        kind = AnomalyKind(flag.kind).label
        notify_people(
            people=[campaign.owner],
            campaign=campaign,
            title=f"{kind} on {campaign.name}",
            body=f"{flag.explanation}\n\n{taken}",
            url=reverse("campaigns:detail", args=[campaign.pk]) + "#flags",
            flag_id=flag.pk,
        )
    return taken


def _continue(flag: AnomalyFlag, campaign: Campaign) -> str:
    return "Recorded; the response set for this kind is to continue."


def _optimize(flag: AnomalyFlag, campaign: Campaign) -> str:
    from agents.services import agent_work_request

    agent_work_request(
        campaign_id=campaign.pk,
        agent="performance",
        key=f"performance:{campaign.pk}:flag:{flag.pk}",
        inputs={"flag": flag.explanation, "surface": _surface(flag.channel, flag.variant)},
    )
    return "Asked the performance agent to optimise: it reads the numbers and proposes changes."


def _pause(flag: AnomalyFlag, campaign: Campaign) -> str:
    surface = _surface(flag.channel, flag.variant)
    payload: dict[str, Any] = {"reason": flag.explanation}
    if flag.channel:
        payload |= {"channel": flag.channel, "variant": flag.variant, "flag_id": flag.pk}
    result = action_propose(
        campaign_id=campaign.pk,
        action="pause",
        payload=payload,
        actor=WATCHER,
        summary=f"Pause {surface}: {flag.explanation}"[:300],
        evidence={"flag": flag.explanation},
    )
    if result.executed:
        return f"Paused {surface} (circuit breaker); the rest of the campaign keeps running."
    if result.approval is not None:
        return f"A pause of {surface} waits for approval (request #{result.approval.pk})."
    return f"The pause of {surface} was refused by the delegation policy: {result.decision.reason}"


def _escalate(flag: AnomalyFlag, campaign: Campaign) -> str:
    from .escalations import escalation_raise

    escalation = escalation_raise(
        campaign_id=campaign.pk,
        trigger=Trigger(
            source=Source.FLAG,
            summary=flag.explanation,
            channel=flag.channel,
            variant=flag.variant,
            flag_kind=flag.kind,
            flag_response=flag.response,
            observed=flag.observed,
            limit=flag.limit,
        ),
        actor=WATCHER,
        flag_id=flag.pk,
    )
    if escalation is None:
        return "Recorded (nothing to escalate)."
    return f"Escalated (#{escalation.pk}); the campaign's agents wait for a person."


_RESPONSES = {
    "continue": _continue,
    "optimize": _optimize,
    "pause": _pause,
    "escalate": _escalate,
}


# --- Circuit breakers ----------------------------------------------------------------------


def breaker_open(
    *,
    campaign_id: int,
    channel: str,
    variant: str,
    reason: str,
    actor: Actor,
    authorization: str,
    flag_id: int | None = None,
) -> CircuitBreaker:
    """Pause one channel (or one variant) of a campaign: the sandbox delivers nothing
    there and distribution publishes nothing there until a person resumes it. Opening
    an open breaker again finds it."""
    if channel not in CHANNELS:
        raise DomainError(f"“{channel}” is not a channel.")
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
        existing = CircuitBreaker.objects.filter(
            campaign=campaign, channel=channel, variant=variant, state=BreakerState.OPEN
        ).first()
        if existing is not None:
            return existing
        try:
            with transaction.atomic():
                breaker = CircuitBreaker.objects.create(
                    campaign=campaign,
                    channel=channel,
                    variant=variant,
                    reason=reason[:300],
                    flag_id=flag_id,
                )
        except IntegrityError:  # opened meanwhile by another worker
            return CircuitBreaker.objects.get(
                campaign=campaign, channel=channel, variant=variant, state=BreakerState.OPEN
            )
        audit_record(
            actor=actor,
            action="surface.paused",
            target=breaker,
            brand_id=campaign.brand_id,
            campaign_id=campaign.pk,
            data={
                "channel": channel,
                "variant": variant,
                "reason": breaker.reason,
                "authorization": authorization,
            },
        )
        events.announce_on_commit(events.campaign_changed, campaign_id=campaign.pk)
    return breaker


def breaker_close(*, breaker_id: int, user: Any, justification: str) -> CircuitBreaker:
    """Resume a paused surface, with a written justification (recorded and audited)."""
    text = " ".join(justification.split())
    with transaction.atomic():
        breaker = (
            CircuitBreaker.objects.select_for_update(of=("self",))
            .select_related("campaign__brand")
            .get(pk=breaker_id)
        )
        if not policies.can_resume_paused_surfaces(user, breaker.campaign):
            raise NotPermitted("You cannot resume this campaign's paused channels.")
        if breaker.state != BreakerState.OPEN:
            raise DomainError("This channel was already resumed.")
        if len(text) < MIN_JUSTIFICATION:
            raise DomainError(
                f"Say why it is safe to resume (at least {MIN_JUSTIFICATION} characters): "
                "this starts spending again."
            )
        breaker.state, breaker.closed_at, breaker.closed_by = (
            BreakerState.CLOSED,
            timezone.now(),
            user,
        )
        breaker.justification = text
        breaker.save(update_fields=["state", "closed_at", "closed_by", "justification"])
        audit_record(
            actor=Actor.for_user(user),
            action="surface.resumed",
            target=breaker,
            brand_id=breaker.campaign.brand_id,
            campaign_id=breaker.campaign_id,
            data={
                "channel": breaker.channel,
                "variant": breaker.variant,
                "justification": text,
            },
        )
        events.announce_on_commit(events.campaign_changed, campaign_id=breaker.campaign_id)
    return breaker


# --- Silences ------------------------------------------------------------------------------


def silence_create(
    *,
    brand_id: int,
    user: Any,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    campaign_id: int | None = None,
    kinds: list[str] | None = None,
    channel: str = "",
) -> Silence:
    """Silence a brand's (or one campaign's) flags for a known event."""
    from campaigns.models import Brand

    brand = Brand.objects.get(pk=brand_id)
    if not policies.can_silence(user, brand):
        raise NotPermitted("You cannot silence this brand's flags.")
    kinds = sorted(set(kinds or []))
    problems = []
    if not reason.strip():
        problems.append("Say what the known event is (a reason is required).")
    if ends_at <= starts_at:
        problems.append("The silence must end after it starts.")
    if ends_at <= timezone.now():
        problems.append("The silence would already be over.")
    if (ends_at - starts_at).days > 31:
        problems.append("A silence lasts at most 31 days; known events are short.")
    unknown = [k for k in kinds if k not in AnomalyKind.values]
    if unknown:
        problems.append(f"Unknown flag kinds: {', '.join(unknown)}.")
    if channel and channel not in CHANNELS:
        problems.append(f"“{channel}” is not a channel.")
    if (
        campaign_id is not None
        and not Campaign.objects.filter(pk=campaign_id, brand_id=brand_id).exists()
    ):
        problems.append("That campaign is not this brand's.")
    if problems:
        raise DomainError(" ".join(problems))
    with transaction.atomic():
        silence = Silence.objects.create(
            brand_id=brand_id,
            campaign_id=campaign_id,
            kinds=kinds,
            channel=channel,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=reason.strip()[:300],
            created_by=user,
        )
        audit_record(
            actor=Actor.for_user(user),
            action="silence.created",
            target=silence,
            brand_id=brand_id,
            campaign_id=campaign_id,
            data={
                "kinds": kinds,
                "channel": channel,
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
                "reason": silence.reason,
            },
        )
    return silence


def silence_end(*, silence_id: int, user: Any) -> Silence:
    """End a silence early: flags from now on are acted on again."""
    with transaction.atomic():
        silence = (
            Silence.objects.select_for_update(of=("self",))  # not the brand (lock order)
            .select_related("brand")
            .get(pk=silence_id)
        )
        if not policies.can_silence(user, silence.brand):
            raise NotPermitted("You cannot change this brand's silences.")
        if silence.ended_early_at or silence.ends_at <= timezone.now():
            raise DomainError("This silence is already over.")
        silence.ended_early_at = timezone.now()
        silence.save(update_fields=["ended_early_at"])
        audit_record(
            actor=Actor.for_user(user),
            action="silence.ended",
            target=silence,
            brand_id=silence.brand_id,
            campaign_id=silence.campaign_id,
            data={"reason": silence.reason},
        )
    return silence


def _surface(channel: str, variant: str) -> str:
    if not channel:
        return "the campaign"
    label = CHANNELS.get(channel, channel)
    return f"{label} variant {variant}" if variant else label
