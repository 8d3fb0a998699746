"""Outbound webhooks: a brand's subscriptions and each delivery's log. Written only by
``integrations.services``."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone


class WebhookSubscription(models.Model):
    """An admin's subscription of one URL to some of a brand's events
    (``governance.events.ANNOUNCEMENTS``).
    Made and revoked, never edited: a different URL or set of events is a new
    subscription with a new secret."""

    brand = models.ForeignKey(
        "campaigns.Brand", on_delete=models.CASCADE, related_name="webhook_subscriptions"
    )
    url = models.URLField("endpoint URL", max_length=500)
    events = models.JSONField(default=list)  # event types, at least one (the service checks)
    # TRICKY: unlike an ingestion token (only its SHA-256 is kept), the secret itself is
    # stored: every delivery is signed with it, and an HMAC needs the key, not a hash of
    # it. It is shown once, when the subscription is made; the admin never shows it again
    # (a lost secret means a new subscription), and nothing else reads it but signing.
    secret = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["brand"], name="webhook_live_by_brand", condition=Q(active=True))
        ]

    def __str__(self) -> str:
        return f"{self.url} ({self.brand_id})"

    @property
    def secret_hint(self) -> str:
        """Enough of the secret to tell subscriptions apart, too little to sign with."""
        return self.secret[:10] + "…" if self.secret else ""


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event to post to one subscription, with its attempts: written after the change
    it announces committed, posted by a worker with retries and backoff, re-sent by beat
    if its retry was lost. ``payload`` is the body as sent (every attempt sends it
    again, signed afresh); ``event_id`` is its ``id``, the same for every subscription
    the event went to, on which receivers dedupe."""

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=64)
    event_id = models.CharField(max_length=32)  # uuid4 hex
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    status = models.CharField(
        max_length=8, choices=WebhookDeliveryStatus.choices, default=WebhookDeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # When the next attempt is due (pending only): beat re-sends the ones long overdue.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            # Beat's sweep: pending deliveries whose retry is overdue.
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due",
                condition=Q(status="pending"),
            ),
            models.Index(fields=["subscription", "-created_at"], name="webhook_delivery_log"),
        ]
        constraints = [
            # One event reaches a subscription once (a repeated enqueue cannot double it).
            models.UniqueConstraint(
                fields=["subscription", "event_id"], name="webhook_event_once_per_subscription"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.subscription_id} ({self.status})"
