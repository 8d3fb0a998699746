"""Every read of brands, briefs and campaigns that a person sees, scoped to what they may see."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from approvals import policies
from approvals.models import AuditEvent

from .models import Brand, Brief, Campaign


def brands_for_user(user: Any) -> QuerySet[Brand]:
    return policies.visible_brands(user)


def campaigns_for_user(user: Any) -> QuerySet[Campaign]:
    return Campaign.objects.filter(brand__in=policies.visible_brands(user)).select_related(
        "brand", "owner", "brief"
    )


def briefs_for_user(user: Any, *, templates: bool | None = None) -> QuerySet[Brief]:
    briefs = Brief.objects.filter(brand__in=policies.visible_brands(user)).select_related(
        "brand", "created_by"
    )
    if templates is not None:
        briefs = briefs.filter(is_template=templates)
    return briefs


def campaign_phase_history(campaign: Campaign) -> QuerySet[AuditEvent]:
    """Phase changes of one campaign, oldest first, from the audit trail."""
    return AuditEvent.objects.filter(campaign=campaign, action="campaign.phase_changed").order_by(
        "seq"
    )
