"""The delegation policy as it stands: the version in force, what a proposed version
would have decided, and what the policy pages list."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet


def policy_in_force(brand_id: int, campaign_id: int | None = None) -> tuple[Any, Any]:
    """The active policy row for a brand — or for one campaign, whose own override wins
    over its brand's — and the policy it means (the default when there is no row)."""
    from dataclasses import replace

    from ..domain.policy import DEFAULT_POLICY, policy_from_json
    from ..models import DelegationPolicy, PolicyStatus

    active = DelegationPolicy.objects.filter(brand_id=brand_id, status=PolicyStatus.ACTIVE)
    row = active.filter(campaign_id=campaign_id).first() if campaign_id else None
    row = row or active.filter(campaign__isnull=True).first()
    if row is None:
        return None, replace(DEFAULT_POLICY, version=0)
    return row, policy_from_json(row.version, row.rules)


def policy_impact(
    brand_id: int, proposed: Any, *, days: int = 30, campaign_id: int | None = None
) -> Any:
    """What ``proposed`` would have decided for the brand's (or one campaign's) agent
    actions of the last ``days`` days, against the policy in force there."""
    from datetime import timedelta

    from django.utils import timezone

    from ..domain.impact import facts_from_json, simulate
    from ..models import PolicyDecisionRecord

    _, current = policy_in_force(brand_id, campaign_id)
    since = timezone.now() - timedelta(days=days)
    decisions = PolicyDecisionRecord.objects.filter(brand_id=brand_id, decided_at__gte=since)
    if campaign_id:
        decisions = decisions.filter(campaign_id=campaign_id)
    facts = decisions.exclude(facts={}).values_list("facts", flat=True).iterator(chunk_size=2000)
    return simulate((facts_from_json(f) for f in facts), current=current, proposed=proposed)


def policy_brands() -> QuerySet:
    """Every brand, by name: each has a policy (its own, or the default)."""
    from campaigns.models import Brand

    return Brand.objects.order_by("name")


def policy_campaigns() -> QuerySet:
    """Campaigns, with their brand: a campaign may override its brand's policy."""
    from campaigns.models import Campaign

    return Campaign.objects.select_related("brand")


def policy_brands_in_force() -> list[dict[str, Any]]:
    """Each brand with the row and version of the policy in force for it."""
    brands = []
    for brand in policy_brands():
        row, policy = policy_in_force(brand.pk)
        brands.append({"brand": brand, "row": row, "version": policy.version})
    return brands


def policy_proposals() -> QuerySet:
    """Proposed versions waiting for a second admin."""
    from ..models import DelegationPolicy, PolicyStatus

    return DelegationPolicy.objects.filter(status=PolicyStatus.PROPOSED).select_related(
        "brand", "created_by"
    )


def policy_versions() -> QuerySet:
    """Every policy version, with who proposed and who decided it."""
    from ..models import DelegationPolicy

    return DelegationPolicy.objects.select_related("brand", "created_by", "decided_by")
