"""Every write to brands, briefs and campaigns. Adapters (views, tasks, commands, the API)
call these; each validates through ``campaigns.domain``, locks what it changes and writes
its audit event in the same transaction."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from governance import events, policies
from governance.domain.audit import Actor, content_hash
from governance.domain.errors import DomainError, NotPermitted, TransitionNotAllowed
from governance.services import audit_record

from .domain.briefs import BriefSpec, validate_brief
from .domain.phases import (
    Phase,
    agent_needs_authorization,
    check_transition,
    resume_phase_after,
)
from .models import (
    Brand,
    Brief,
    Campaign,
    CampaignHold,
    ContentStatus,
    ContentVariant,
    DailySpend,
    EscalationState,
)


class BriefInvalid(DomainError):
    """The brief breaks one or more rules; ``errors`` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(m for messages in errors.values() for m in messages))


def brief_create(
    *,
    author: Any,
    brand: Brand,
    spec: BriefSpec,
    as_template: bool = False,
    today: date | None = None,
    start_agents: bool = True,
) -> tuple[Brief, Campaign | None]:
    """Save a brief. A submitted brief (not a template) starts its campaign in briefing,
    where the planner agent picks it up; a template only waits to be reused."""
    if not policies.can_write_brief_for(author, brand):
        raise NotPermitted("You cannot write briefs for this brand.")
    errors = validate_brief(
        spec,
        today=today or timezone.localdate(),
        max_budget=settings.CONTROLTOWER_MAX_BRIEF_BUDGET,
    )
    if errors:
        raise BriefInvalid(errors)

    actor = Actor.for_user(author)
    with transaction.atomic():
        brief = Brief.objects.create(
            brand=brand, created_by=author, is_template=as_template, **asdict(spec)
        )
        audit_record(
            actor=actor,
            action="brief.template_saved" if as_template else "brief.submitted",
            target=brief,
            brand_id=brand.pk,
            data={"title": brief.title, "budget": str(brief.budget)},
        )
        if as_template:
            return brief, None
        campaign = _campaign_create(brief=brief, owner=author, actor=actor)
        campaign = campaign_transition_phase(
            campaign_id=campaign.pk,
            to_phase=Phase.BRIEFING,
            actor=actor,
            reason="Brief submitted",
        )
        if start_agents:
            # The planner's run is queued with the brief (it survives any crash after
            # commit) and picked up once committed; nobody starts it.
            events.announce(events.planning_requested, campaign_id=campaign.pk)
    return brief, campaign


def _campaign_create(*, brief: Brief, owner: Any, actor: Actor) -> Campaign:
    campaign = Campaign.objects.create(
        brand=brief.brand,
        brief=brief,
        name=brief.title,
        owner=owner,
        phase=Phase.DRAFT,
        phase_changed_at=timezone.now(),
        budget_total=brief.budget,
        daily_cap=brief.daily_cap,
    )
    audit_record(
        actor=actor,
        action="campaign.created",
        target=campaign,
        brand_id=campaign.brand_id,
        campaign_id=campaign.pk,
        data={"brief_id": brief.pk, "budget_total": str(campaign.budget_total)},
    )
    return campaign


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
            user = _user(actor.user_id)
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


def campaign_record_spend(*, campaign_id: int, amount: Decimal, actor: Actor) -> Campaign:
    """Add spend to a campaign, refusing anything that would cross its budget or today's
    cap (hard caps: for everyone, and under concurrent workers — the campaign row lock
    serialises them, and database constraints back the budget)."""
    if amount <= 0:
        raise DomainError("Spend must be a positive amount.")
    try:
        with transaction.atomic():
            campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
            if campaign.budget_consumed + amount > campaign.budget_total:
                raise DomainError(
                    f"Spending {amount} would exceed the budget of {campaign.budget_total} "
                    f"({campaign.budget_consumed} already consumed)."
                )
            today, _ = DailySpend.objects.get_or_create(campaign=campaign, day=timezone.localdate())
            if campaign.daily_cap is not None and today.amount + amount > campaign.daily_cap:
                raise DomainError(
                    f"Spending {amount} would exceed today's cap of {campaign.daily_cap} "
                    f"({today.amount} already spent today)."
                )
            today.amount += amount
            today.save(update_fields=["amount"])
            campaign.budget_consumed += amount
            campaign.save(update_fields=["budget_consumed", "updated_at"])
            audit_record(
                actor=actor,
                action="campaign.spend_recorded",
                target=campaign,
                brand_id=campaign.brand_id,
                campaign_id=campaign.pk,
                data={
                    "amount": str(amount),
                    "consumed": str(campaign.budget_consumed),
                    "spent_today": str(today.amount),
                },
            )
            events.announce_on_commit(events.campaign_changed, campaign_id=campaign.pk)
    except IntegrityError as exc:  # the database constraint is the last line of defence
        raise DomainError("That spend would exceed the campaign budget.") from exc
    return campaign


def spent_today(campaign: Campaign) -> Decimal:
    tally = DailySpend.objects.filter(campaign=campaign, day=timezone.localdate()).first()
    return tally.amount if tally else Decimal("0")


def _user(user_id: int) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(pk=user_id)


def brand_save(*, brand: Brand, actor: Actor, changed: list[str]) -> Brand:
    """Create or update a brand's settings (the admin's form), audited."""
    with transaction.atomic():
        adding = brand._state.adding
        brand.save()
        audit_record(
            actor=actor,
            action="brand.created" if adding else "brand.changed",
            target=brand,
            brand_id=brand.pk,
            data={"changed": sorted(changed)},
        )
    return brand


def campaign_change_budget(
    *, campaign_id: int, new_total: Decimal, actor: Actor, reason: str
) -> Campaign:
    """Set a campaign's total budget; never below what it has already spent."""
    limit = Decimal(settings.CONTROLTOWER_MAX_BRIEF_BUDGET)
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
        if new_total < campaign.budget_consumed:
            raise DomainError(
                f"The budget cannot go below the {campaign.budget_consumed:,.2f} already spent."
            )
        if new_total > limit:
            raise DomainError(f"A budget above {limit:,.0f} is refused as implausible.")
        before = campaign.budget_total
        campaign.budget_total = new_total
        campaign.save(update_fields=["budget_total", "updated_at"])
        audit_record(
            actor=actor,
            action="campaign.budget_changed",
            target=campaign,
            brand_id=campaign.brand_id,
            campaign_id=campaign.pk,
            data={"from": str(before), "to": str(new_total), "reason": reason},
        )
        events.announce_on_commit(events.campaign_changed, campaign_id=campaign.pk)
    return campaign


def content_approve_for_publishing(
    *,
    campaign_id: int,
    channel: str,
    headline: str,
    body: str,
    claims: list[str],
    actor: Actor,
) -> ContentVariant:
    """Record copy as cleared for publishing, bound to its content hash."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
        digest = content_hash(
            {"channel": channel, "headline": headline, "body": body, "claims": claims}
        )
        variant = ContentVariant.objects.create(
            campaign=campaign,
            channel=channel,
            headline=headline,
            body=body,
            claims=claims,
            content_hash=digest,
        )
        audit_record(
            actor=actor,
            action="content.approved_for_publishing",
            target=variant,
            brand_id=campaign.brand_id,
            campaign_id=campaign.pk,
            data={"channel": channel, "content_hash": digest, "claims": claims},
        )
        events.announce_on_commit(events.campaign_changed, campaign_id=campaign.pk)
        # A live campaign publishes what was just cleared (the distribution agent).
        events.announce(events.content_cleared, campaign_id=campaign.pk)
    return variant


def content_mark_published(
    *, variant_id: int, connector: str, placement_id: str, actor: Actor
) -> ContentVariant:
    """Record that cleared content went out through a connector. Only the exact content
    that was cleared may go out (invariant 2): a variant whose copy no longer matches
    its hash is refused."""

    with transaction.atomic():
        variant = (
            ContentVariant.objects.select_for_update(no_key=True, of=("self",))
            .select_related("campaign")
            .get(pk=variant_id)
        )
        if variant.status == ContentStatus.PUBLISHED:
            return variant  # a retried run placed it already
        if variant.status != ContentStatus.APPROVED:
            raise DomainError(f"This content is {variant.get_status_display().lower()}.")
        if not content_matches_hash(variant):
            raise DomainError("This content changed after it was cleared; it needs a new approval.")
        variant.status, variant.connector, variant.placement_id = (
            ContentStatus.PUBLISHED,
            connector,
            placement_id,
        )
        variant.published_at = timezone.now()
        variant.save(update_fields=["status", "connector", "placement_id", "published_at"])
        audit_record(
            actor=actor,
            action="content.published",
            target=variant,
            brand_id=variant.campaign.brand_id,
            campaign_id=variant.campaign_id,
            data={
                "channel": variant.channel,
                "connector": connector,
                "placement": placement_id,
                "content_hash": variant.content_hash,
            },
        )
        events.announce_on_commit(events.campaign_changed, campaign_id=variant.campaign_id)
    return variant


def content_matches_hash(variant: ContentVariant) -> bool:
    return variant.content_hash == content_hash(
        {
            "channel": variant.channel,
            "headline": variant.headline,
            "body": variant.body,
            "claims": variant.claims,
        }
    )


# --- Holds: work that waits for a person, with the reason and the ways out ----------


def hold_open(
    *,
    campaign_id: int,
    kind: str,
    reason: str,
    ways_out: list[str],
    actor: Actor,
    channel: str = "",
) -> CampaignHold:
    """Say that work on ``channel`` (blank: the campaign) waits for a person, and why.
    Tells the campaign's owner once; a repeat of an open hold updates its reason (the
    latest cause) without telling anyone again."""
    now = timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_related("owner").get(pk=campaign_id)
        hold = (
            CampaignHold.objects.select_for_update(no_key=True)
            .filter(campaign=campaign, kind=kind, channel=channel, resolved_at__isnull=True)
            .first()
        )
        if hold is not None:
            hold.reason, hold.ways_out = reason[:600], list(ways_out)
            hold.save(update_fields=["reason", "ways_out"])
            events.announce_on_commit(events.campaign_changed, campaign_id=campaign.pk)
            return hold
        hold = CampaignHold.objects.create(
            campaign=campaign,
            kind=kind,
            channel=channel,
            reason=reason[:600],
            ways_out=list(ways_out),
            opened_at=now,
        )
        audit_record(
            actor=actor,
            action="hold.opened",
            target=hold,
            brand_id=campaign.brand_id,
            campaign_id=campaign.pk,
            data={"kind": kind, "channel": channel, "reason": hold.reason},
        )
        # The owner is told (monitoring's notifications), with the change.
        events.announce(
            events.people_to_notify,
            user_ids=[campaign.owner_id],
            campaign_id=campaign.pk,
            title=f"{campaign.name}: {hold.channel_label} needs you",
            body=hold.reason + ("\n\nWays out:\n- " + "\n- ".join(ways_out) if ways_out else ""),
            url=reverse("campaigns:detail", args=[campaign.pk]) + f"#hold-{hold.pk}",
        )
        events.announce_on_commit(events.campaign_changed, campaign_id=campaign.pk)
    return hold


def hold_resolve(*, hold_id: int, actor: Actor, resolution: str) -> CampaignHold:
    """A person decides about a hold (e.g. "go ahead without Search ads"); audited."""
    if not resolution.strip():
        raise DomainError("Say what you decided: a note is required.")
    with transaction.atomic():
        hold = (
            CampaignHold.objects.select_for_update(no_key=True, of=("self",))
            .select_related("campaign")
            .get(pk=hold_id)
        )
        if actor.user_id is not None and not policies.can_change_phase(
            _user(actor.user_id), hold.campaign
        ):
            raise NotPermitted("You cannot decide about this campaign's work.")
        if hold.resolved_at is not None:
            raise DomainError("This hold was already resolved.")
        _resolve(hold, actor=actor, resolution=resolution.strip())
    return hold


def holds_clear(*, campaign_id: int, kind: str, channel: str, actor: Actor, resolution: str) -> int:
    """The cause of a hold went away (e.g. drafts for the channel now pass): resolve
    any open one; how many."""
    # Only the holds' rows (``of``): a join would lock the campaign too, FOR UPDATE.
    holds = CampaignHold.objects.select_for_update(no_key=True, of=("self",)).filter(
        campaign_id=campaign_id, kind=kind, channel=channel, resolved_at__isnull=True
    )
    with transaction.atomic():
        cleared = 0
        for hold in holds.select_related("campaign"):
            _resolve(hold, actor=actor, resolution=resolution)
            cleared += 1
    return cleared


def _resolve(hold: CampaignHold, *, actor: Actor, resolution: str) -> None:
    hold.resolved_at = timezone.now()
    hold.resolved_by_id = actor.user_id
    hold.resolution = resolution[:300]
    hold.save(update_fields=["resolved_at", "resolved_by", "resolution"])
    audit_record(
        actor=actor,
        action="hold.resolved",
        target=hold,
        brand_id=hold.campaign.brand_id,
        campaign_id=hold.campaign_id,
        data={"kind": hold.kind, "channel": hold.channel, "resolution": hold.resolution},
    )
    events.announce_on_commit(events.campaign_changed, campaign_id=hold.campaign_id)
