"""Monitoring: reported telemetry, the detectors' memory, silences, circuit breakers,
escalations and the notifications they send. Written only by ``monitoring.services``.

The read models the tower shows (``campaigns.AnomalyFlag``, ``SlaEvaluation`` and the
hourly ``PerformanceSample`` roll-ups) live with the campaign; this app feeds them.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class TelemetrySource(models.TextChoices):
    SANDBOX = "sandbox", "Sandbox market"
    API = "api", "Ingestion endpoint"
    CSV = "csv", "CSV upload"


class TelemetryEvent(models.Model):
    """One reported row of delivery, kept as received (after validation). The event id
    makes ingestion idempotent: the same id twice for a brand is stored once."""

    brand = models.ForeignKey("campaigns.Brand", on_delete=models.PROTECT, related_name="+")
    event_id = models.CharField(max_length=100)
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.PROTECT, related_name="telemetry_events"
    )
    channel = models.CharField(max_length=32)
    variant = models.CharField(max_length=64, blank=True)
    occurred_at = models.DateTimeField()
    impressions = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)
    conversions = models.PositiveIntegerField(default=0)
    spend = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    reach = models.PositiveIntegerField(default=0)
    leads = models.PositiveIntegerField(default=0)
    qualified_leads = models.PositiveIntegerField(default=0)
    link_checks = models.PositiveIntegerField(default=0)
    link_failures = models.PositiveIntegerField(default=0)
    complaints = models.PositiveIntegerField(default=0)  # and unsubscribes
    source = models.CharField(max_length=12, choices=TelemetrySource.choices)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["brand", "event_id"], name="telemetry_event_once")
        ]
        # No other index: every index costs each of the 50,000 inserts a second; reads go
        # to the hourly roll-ups (PerformanceSample), not here.

    def __str__(self) -> str:
        return f"{self.event_id} ({self.campaign_id})"


class DetectorState(models.Model):
    """Where the detectors stand on one series — a campaign as a whole (blank channel),
    one of its channels (blank variant) or one variant — as their snapshot
    (``campaigns.domain.anomalies.Monitor``), and the last bucket they have judged, so
    detection resumes exactly where it stopped after a restart."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="detector_states"
    )
    channel = models.CharField(max_length=32, blank=True)
    variant = models.CharField(max_length=64, blank=True)
    # The start of the newest bucket judged (bucket-closing series; blank for link checks,
    # which are judged as they arrive).
    last_bucket = models.DateTimeField(null=True, blank=True)
    # The detectors' snapshot as JSON text (orjson: ~15x faster than the json module on
    # these 15 kB states, measured in docs/PERFORMANCE.md), and the last bucket it
    # includes. It may lag ``last_bucket`` (written every few hours, see detection.py);
    # a process that does not hold the state in memory replays the hours in between.
    snapshot = models.TextField(blank=True)
    snapshot_as_of = models.DateTimeField(null=True, blank=True)
    # Changes on every save: a process's in-memory copy is current only if it matches.
    revision = models.BigIntegerField(default=0)
    # No incident open and nothing pooled: healthy link checks need not be judged.
    idle = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "channel", "variant"], name="one_state_per_series"
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.channel or '*'}/{self.variant or '*'}"


class Silence(models.Model):
    """A window in which flags are recorded but nobody is told and no automatic response
    runs: a known event (launch day, a holiday sale). Like an alerting tool's silence,
    it matches flags by brand, optionally campaign, kinds and channel."""

    brand = models.ForeignKey("campaigns.Brand", on_delete=models.PROTECT, related_name="+")
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kinds = models.JSONField(default=list, blank=True)  # empty: every kind
    channel = models.CharField(max_length=32, blank=True)  # blank: every channel
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    ended_early_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["brand", "ends_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="silence_window"
            )
        ]

    def __str__(self) -> str:
        return f"Silence on {self.brand_id}: {self.reason}"


class BreakerState(models.TextChoices):
    OPEN = "open", "Paused (circuit open)"
    CLOSED = "closed", "Resumed"


class CircuitBreaker(models.Model):
    """A pause on one channel or variant of a campaign only (the rest keeps running):
    opened by a flag's pause response, closed by a person with a written justification."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="circuit_breakers"
    )
    channel = models.CharField(max_length=32)
    variant = models.CharField(max_length=64, blank=True)  # blank: the whole channel
    state = models.CharField(max_length=8, choices=BreakerState.choices, default=BreakerState.OPEN)
    reason = models.CharField(max_length=300)
    flag = models.ForeignKey(
        "campaigns.AnomalyFlag", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    justification = models.TextField(blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "channel", "variant"],
                condition=Q(state="open"),
                name="one_open_breaker_per_surface",
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel}{'/' + self.variant if self.variant else ''} ({self.state})"

    @property
    def surface(self) -> str:
        return f"{self.channel} · variant {self.variant}" if self.variant else self.channel


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
        "campaigns.AnomalyFlag", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
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
        "campaigns.AnomalyFlag", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
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


class MonitoringSettings(models.Model):
    """A brand's monitoring settings (the admin's): SLA targets beyond the brief's, the
    escalation chain, where escalations are posted, and per-kind flag responses."""

    brand = models.OneToOneField(
        "campaigns.Brand", on_delete=models.CASCADE, related_name="monitoring_settings"
    )
    response_minutes = models.PositiveSmallIntegerField(
        "agents start work within (minutes)", default=15
    )
    completion_pct = models.PositiveSmallIntegerField(
        "agent runs that complete, at least (%)", default=95
    )
    exception_max_pct = models.PositiveSmallIntegerField(
        "work people had to step in on, at most (%)", default=10
    )
    notify_minutes = models.PositiveSmallIntegerField(
        "CPA above the control limit: notify within (minutes)", default=1
    )
    delivery_start_hours = models.PositiveSmallIntegerField(
        "delivery starts within (hours of launch)",
        default=12,
        help_text="Ad platforms review new ads first; most start within a few hours.",
    )
    pacing_warm_up_hours = models.PositiveSmallIntegerField(
        "pacing judged after (hours of delivery)",
        default=2,
        help_text="Spend is judged against the plan only after this much delivery.",
    )
    escalation_chain = models.JSONField(default=list, blank=True)  # empty: the default chain
    slack_webhook_url = models.URLField("Slack-compatible webhook URL", blank=True)
    flag_responses = models.JSONField(default=dict, blank=True)  # kind -> response override
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "monitoring settings"

    def __str__(self) -> str:
        return f"Monitoring settings of {self.brand_id}"


class IngestionToken(models.Model):
    """A machine credential for one brand's telemetry endpoint (an ad platform or a
    connector posting delivery). Only its SHA-256 is stored; the token is shown once."""

    brand = models.ForeignKey("campaigns.Brand", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12)  # shown in lists to tell tokens apart
    digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class SandboxFault(models.Model):
    """A fault injected into the sandbox market (from the admin or ``inject_fault``): the
    market misbehaves this way on this surface for this long, so the detectors, the
    responses and the escalations can be seen working end to end."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="sandbox_faults"
    )
    kind = models.CharField(max_length=24)
    channel = models.CharField(max_length=32, blank=True)
    variant = models.CharField(max_length=64, blank=True)
    severity = models.FloatField(default=1.0)
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return f"{self.kind} on {self.campaign_id}"


class SandboxCursor(models.Model):
    """How far the sandbox market has delivered a campaign, and its generator's state,
    so each beat tick delivers exactly the time since the last one, once."""

    campaign = models.OneToOneField(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="sandbox_cursor"
    )
    delivered_until = models.DateTimeField()
    state = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"Sandbox of {self.campaign_id} until {self.delivered_until:%H:%M}"


class TelemetryImportStatus(models.TextChoices):
    # Parsed without errors and waiting for its uploader to confirm the preview.
    PENDING = "pending", "Waiting for confirmation"
    IMPORTED = "imported", "Imported"


class TelemetryImport(models.Model):
    """One uploaded telemetry CSV. While ``pending`` it holds the uploaded text, so the
    confirmation ingests exactly the file that was previewed (only its uploader may
    confirm it, once, within a day); once imported the text is dropped and the counts
    remain. Written by ``monitoring.services.imports``."""

    brand = models.ForeignKey("campaigns.Brand", on_delete=models.PROTECT, related_name="+")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    filename = models.CharField(max_length=255)
    text = models.TextField(blank=True)
    rows = models.PositiveIntegerField(default=0)
    stored = models.PositiveIntegerField(default=0)  # new events, once imported
    duplicates = models.PositiveIntegerField(default=0)  # already stored, skipped
    status = models.CharField(max_length=16, choices=TelemetryImportStatus.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    imported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status=TelemetryImportStatus.PENDING) | Q(imported_at__isnull=False),
                name="telemetry_import_imported_has_time",
            ),
            # A new upload replaces its uploader's pending one: at most one waits.
            models.UniqueConstraint(
                fields=["uploaded_by"],
                condition=Q(status=TelemetryImportStatus.PENDING),
                name="one_pending_telemetry_import",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display().lower()})"
