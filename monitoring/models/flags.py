"""Anomaly flags and SLA evaluations (the tower's read models this app writes), the
silences that hold a flag's notice and response back, and the circuit breakers a flag's
pause response opens.

``AnomalyFlag`` and ``SlaEvaluation`` moved here from the campaigns app: their tables
keep the names they were born with (``campaigns_anomalyflag``, ``campaigns_slaevaluation``),
and ``campaign.anomaly_flags`` / ``campaign.sla_evaluations`` still reach them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from campaigns.models import SlaStatus


class AnomalyKind(models.TextChoices):
    CPM_SPIKE = "cpm_spike", "CPM spike"
    CPC_SPIKE = "cpc_spike", "CPC spike"
    CPA_ABOVE_LIMIT = "cpa_above_limit", "CPA above control limit"
    CONVERSION_DROP = "conversion_drop", "Conversion drop"
    BROKEN_LINK = "broken_link", "Broken link"
    PACING_DRIFT = "pacing_drift", "Pacing drift (overspend)"
    AUDIENCE_FATIGUE = "audience_fatigue", "Audience fatigue"


class FlagState(models.TextChoices):
    PENDING = "pending", "Pending"
    FIRING = "firing", "Firing"
    RESOLVED = "resolved", "Resolved"


#: A flag that still needs attention (shown on the tower and counted as "flagged").
OPEN_FLAG_STATES = (FlagState.PENDING, FlagState.FIRING)


class FlagResponse(models.TextChoices):
    CONTINUE = "continue", "Continue"
    OPTIMIZE = "optimize", "Optimize"
    PAUSE = "pause", "Pause"
    ESCALATE = "escalate", "Escalate"


class AnomalyFlag(models.Model):
    """Something in a campaign's numbers that is off, with what to do about it.
    Raised and resolved through ``monitoring.services``; shown on the tower while open."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="anomaly_flags"
    )
    kind = models.CharField(max_length=24, choices=AnomalyKind.choices)
    state = models.CharField(max_length=12, choices=FlagState.choices, default=FlagState.FIRING)
    response = models.CharField(
        max_length=12, choices=FlagResponse.choices, default=FlagResponse.CONTINUE
    )
    explanation = models.CharField(max_length=300)
    channel = models.CharField(max_length=32, blank=True)
    variant = models.CharField(max_length=64, blank=True)
    observed = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    limit = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    # The band the detector expected the value in when the flag last changed (either side
    # may be open), shown with the flag and drawn on the campaign's chart.
    expected_low = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    expected_high = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    # When the numbers started going wrong (the hour the incident's first bad point
    # covers), which may be long before the flag was opened when telemetry came late.
    bad_since = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField()
    firing_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Raised inside a silence: recorded and shown, but nobody was told and no automatic
    # response ran (``silence_note`` says which silence).
    silenced = models.BooleanField(default=False)
    silence_note = models.CharField(max_length=300, blank=True)
    # What the configured response did when the flag fired ("Paused paid social", …).
    response_taken = models.CharField(max_length=300, blank=True)

    class Meta:
        # It was born in the campaigns app: the table keeps its name (and its index's).
        db_table = "campaigns_anomalyflag"
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["campaign", "state"])]
        constraints = [
            # One incident is one flag: at most one open flag per kind and surface.
            models.UniqueConstraint(
                fields=["campaign", "kind", "channel", "variant"],
                condition=~Q(state="resolved"),
                name="one_open_flag_per_kind_and_surface",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.campaign_id}"


class SlaKind(models.TextChoices):
    DRAFT_TIME = "draft_time", "Draft within target time"
    QA_PASS_RATE = "qa_pass_rate", "QA pass rate"
    POLICY_ESCALATION = "policy_escalation", "Policy issue escalated in time"
    BUDGET_PACING = "budget_pacing", "Budget pacing within range"
    RESPONSE_TIME = "response_time", "Response time"
    EXCEPTION_RATE = "exception_rate", "Exception rate"
    COMPLETION_RATE = "completion_rate", "Completion rate"
    NOTIFY_TIME = "notify_time", "CPA above the control limit: people told at once"
    DELIVERY_START = "delivery_start", "Delivery starts after launch"


class SlaEvaluation(models.Model):
    """One measurement of one SLA for one campaign. The latest per SLA sets the campaign's
    ``sla_status`` (the worst of them)."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="sla_evaluations"
    )
    sla = models.CharField(max_length=24, choices=SlaKind.choices)
    status = models.CharField(max_length=16, choices=SlaStatus.choices)
    measured = models.CharField(max_length=64)
    target = models.CharField(max_length=64)
    detail = models.CharField(max_length=300, blank=True)
    error_budget = models.CharField(max_length=120, blank=True)
    evaluated_at = models.DateTimeField()

    class Meta:
        db_table = "campaigns_slaevaluation"  # born in the campaigns app
        ordering = ["-evaluated_at", "-id"]
        indexes = [models.Index(fields=["campaign", "sla", "-evaluated_at"])]

    def __str__(self) -> str:
        return f"{self.get_sla_display()}: {self.get_status_display()}"


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
        AnomalyFlag, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
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
