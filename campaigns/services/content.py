"""Copy cleared for publishing, bound to its content hash, and what went out through a
connector (only the exact copy that was cleared may)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from governance import events
from governance.domain.audit import Actor, content_hash
from governance.domain.errors import DomainError
from governance.services import audit_record

from ..models import (
    Campaign,
    ContentStatus,
    ContentVariant,
)


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
