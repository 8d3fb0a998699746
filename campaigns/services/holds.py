"""Holds: work that waits for a person, with the reason and the ways out; resolved by a
person or cleared when the cause goes away."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from governance import events, policies
from governance.domain.audit import Actor
from governance.domain.errors import DomainError, NotPermitted
from governance.services import audit_record

from ..models import (
    Campaign,
    CampaignHold,
)
from .phases import user_by_id


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
            user_by_id(actor.user_id), hold.campaign
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
