"""A brand's monitoring settings and the machine credentials of its telemetry endpoint
(both made by admins, through ``monitoring.services``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


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
