"""Reported telemetry (kept as received, or uploaded as a CSV awaiting confirmation),
the detectors' memory per series, and the sandbox market's faults and cursor."""

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
