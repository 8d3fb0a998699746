"""Reads of integrations: a brand's webhook subscriptions and their deliveries, for the
admins who configure them."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from governance import policies

from .models import WebhookDelivery, WebhookSubscription


def webhooks_for(user: Any) -> QuerySet[WebhookSubscription]:
    """Every subscription of the brands ``user`` may see — live and paused first, then
    revoked — each with its latest delivery's status and time. Nothing for non-admins."""
    if not policies.can_configure_monitoring(user):
        return WebhookSubscription.objects.none()
    latest = WebhookDelivery.objects.filter(subscription=OuterRef("pk")).order_by(
        "-created_at", "-id"
    )
    return (
        WebhookSubscription.objects.filter(brand__in=policies.visible_brands(user))
        .select_related("brand", "created_by")
        .annotate(
            last_status=Subquery(latest.values("status")[:1]),
            last_at=Subquery(latest.values("created_at")[:1]),
            last_error=Subquery(latest.values("last_error")[:1]),
        )
        .order_by("revoked_at", "brand__name", "-created_at", "-id")
    )


def webhook_deliveries(subscription: WebhookSubscription, *, limit: int = 50) -> list[Any]:
    """The subscription's latest deliveries, newest first."""
    return list(subscription.deliveries.order_by("-created_at", "-id")[:limit])
