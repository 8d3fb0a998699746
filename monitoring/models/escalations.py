"""Escalations (work stopped for a person, climbing its chain), the in-app notices
they and flags send, and the deliveries that carry them outside the app."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ..domain.notices import in_app_summary


class EscalationStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


#: An escalation that still needs someone (climbing while open).
UNRESOLVED = (EscalationStatus.OPEN, EscalationStatus.ACKNOWLEDGED)


class Escalation(models.Model):
    """Work stopped for a person: why (one of the deterministic reasons), what it stops,
    and who has been told. It climbs its chain (owner → manager → admin) on timers until
    someone acknowledges it, and is resolved with a note."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.PROTECT, related_name="escalations"
    )
    reason = models.CharField(max_length=24)
    summary = models.CharField(max_length=300)
    stops = models.CharField(max_length=12, default="campaign")  # campaign | channel | variant
    channel = models.CharField(max_length=32, blank=True)
    variant = models.CharField(max_length=64, blank=True)
    flag = models.ForeignKey(
        "monitoring.AnomalyFlag", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    agent_run = models.ForeignKey(
        "agents.AgentRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=14, choices=EscalationStatus.choices, default=EscalationStatus.OPEN
    )
    # The chain as it was when this opened (a later settings change does not rewrite it).
    chain = models.JSONField(default=list)
    level = models.PositiveSmallIntegerField(default=0)
    entered_level_at = models.DateTimeField(default=timezone.now)
    next_climb_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolution_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [
            # The climbing sweep: open escalations whose timer is due.
            models.Index(
                fields=["next_climb_at"], name="escalation_due", condition=Q(status="open")
            ),
            models.Index(fields=["campaign", "status"]),
        ]
        constraints = [
            # One incident, one escalation: a repeat finds the unresolved one.
            models.UniqueConstraint(
                fields=["campaign", "reason", "channel", "variant"],
                condition=~Q(status="resolved"),
                name="one_unresolved_escalation_per_reason_and_surface",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reason} on {self.campaign_id} ({self.status})"


class Notification(models.Model):
    """An in-app notice to one person (the bell in the navigation); email and the
    brand's Slack-compatible webhook carry the same words (``NotificationDelivery``)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    escalation = models.ForeignKey(
        Escalation, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    flag = models.ForeignKey(
        "monitoring.AnomalyFlag", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # "Waiting for you" notices: read for everyone once the request is decided or expires.
    approval = models.ForeignKey(
        "approvals.ApprovalRequest",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["recipient", "-created_at"],
                name="notification_unread",
                condition=Q(read_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"To {self.recipient_id}: {self.title}"

    @property
    def summary(self) -> str:
        """The notice in a line or two, without the email's links (the page's text)."""
        return in_app_summary(self.body)


class DeliveryChannel(models.TextChoices):
    EMAIL = "email", "Email"
    SLACK = "slack", "Slack-compatible webhook"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class NotificationDelivery(models.Model):
    """One message to send outside the app (an email, a webhook post), with its attempts;
    queued in the transaction that decided to notify, sent by a worker with retries."""

    channel = models.CharField(max_length=8, choices=DeliveryChannel.choices)
    target = models.CharField(max_length=500)  # an email address or a webhook URL
    subject = models.CharField(max_length=200)
    body = models.TextField()
    escalation = models.ForeignKey(
        Escalation, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(
        max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["created_at"], name="delivery_pending", condition=Q(status="pending")
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.target} ({self.status})"
