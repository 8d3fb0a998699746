"""Brands, briefs and campaigns. Rules live in ``campaigns.domain``; writes in ``services``.

A campaign's anomaly flags and SLA evaluations are monitoring's (``monitoring.models``),
reached from here as ``campaign.anomaly_flags`` / ``campaign.sla_evaluations``."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from .domain.briefs import CHANNELS, SUCCESS_METRICS
from .domain.phases import Phase

PHASE_CHOICES = [(p.value, p.label) for p in Phase]


class Brand(models.Model):
    """A brand agents market for. Who may see it is a per-brand object permission
    (``campaigns.view_brand``, granted with django-guardian); ``governance.policies``
    is the one place that asks."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    currency = models.CharField(max_length=3, default="USD")
    voice_rules = models.JSONField(
        default=list, blank=True, help_text="House voice rules, one string each."
    )
    # Agents stop before a run could take the month's language-model spend past this.
    llm_monthly_cap = models.DecimalField(
        "LLM spend cap per month",
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Leave empty for no cap.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Brief(models.Model):
    """What a campaign must achieve and within which limits. ``is_template`` briefs are
    reusable starting points and start no campaign."""

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="briefs")
    title = models.CharField(max_length=200)
    objective = models.TextField()
    audience = models.TextField("ICP / segment", blank=True)
    tone = models.CharField(max_length=200, blank=True)
    assets = models.JSONField("asset list", default=list, blank=True)
    offer = models.TextField(blank=True)
    required_claims = models.JSONField(default=list, blank=True)
    prohibited_claims = models.JSONField(default=list, blank=True)
    channels = models.JSONField(default=list)
    budget = models.DecimalField(max_digits=12, decimal_places=2)
    # A hard cap on spend per day (nobody, person or agent, can cross it); optional.
    daily_cap = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    deadline = models.DateField()
    success_metric = models.CharField(max_length=32, choices=list(SUCCESS_METRICS.items()))
    success_target = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    escalation_criteria = models.TextField(blank=True)
    # SLA targets (the monitoring issue evaluates them).
    sla_draft_hours = models.PositiveSmallIntegerField("draft within (hours)", default=2)
    sla_qa_pass_pct = models.PositiveSmallIntegerField("QA pass rate at least (%)", default=95)
    sla_policy_escalation_minutes = models.PositiveSmallIntegerField(
        "policy issue escalated within (minutes)", default=10
    )
    sla_pacing_tolerance_pct = models.PositiveSmallIntegerField(
        "budget pacing within ± (%)", default=10
    )
    is_template = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="briefs"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(budget__gt=0), name="brief_budget_positive"),
            models.CheckConstraint(
                condition=Q(sla_qa_pass_pct__lte=100), name="brief_qa_pass_pct_at_most_100"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def channel_labels(self) -> list[str]:
        return [CHANNELS.get(c, c) for c in self.channels]


class EscalationState(models.TextChoices):
    NONE = "none", "None"
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class SlaStatus(models.TextChoices):
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    BREACHED = "breached", "Breached"


#: Worst first: a campaign's SLA status is the worst of its latest evaluations.
SLA_SEVERITY = {SlaStatus.ON_TRACK: 0, SlaStatus.AT_RISK: 1, SlaStatus.BREACHED: 2}


class Campaign(models.Model):
    """One scoped surface run by agents. Its phase changes only through
    ``campaigns.services.campaign_transition_phase``."""

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="campaigns")
    brief = models.ForeignKey(Brief, on_delete=models.PROTECT, related_name="campaigns")
    name = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="campaigns_owned"
    )
    phase = models.CharField(max_length=16, choices=PHASE_CHOICES, default=Phase.DRAFT)
    # The live phase an escalated or paused campaign will resume; blank otherwise.
    resume_phase = models.CharField(max_length=16, choices=PHASE_CHOICES, blank=True)
    phase_changed_at = models.DateTimeField()
    budget_total = models.DecimalField(max_digits=12, decimal_places=2)
    budget_consumed = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    daily_cap = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    escalation_state = models.CharField(
        max_length=16, choices=EscalationState.choices, default=EscalationState.NONE
    )
    # Worst status among the latest SLA evaluations (kept by sla_evaluation_record).
    sla_status = models.CharField(
        max_length=16, choices=SlaStatus.choices, default=SlaStatus.ON_TRACK
    )
    # When the campaign first entered execution.
    launched_at = models.DateTimeField(null=True, blank=True)
    # When the first delivery was reported (telemetry with impressions or spend): the
    # start of its spend plan and of the pacing warm-up (``campaigns.domain.budget``).
    delivery_started_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["brand", "phase"]),
            # The tower's default order: most recently changed first.
            models.Index(fields=["-updated_at", "-id"], name="campaign_recent_first"),
            # The tower's per-brand "at risk / breached" counts.
            models.Index(fields=["brand", "sla_status"], name="campaign_brand_sla"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(budget_total__gt=0), name="campaign_budget_total_positive"
            ),
            # Invariant 3: spend never exceeds the budget, whatever the code path.
            models.CheckConstraint(
                condition=Q(budget_consumed__gte=0) & Q(budget_consumed__lte=F("budget_total")),
                name="campaign_budget_consumed_within_total",
            ),
            models.CheckConstraint(
                condition=Q(phase__in=[p.value for p in Phase]), name="campaign_phase_known"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def phase_enum(self) -> Phase:
        return Phase(self.phase)

    @property
    def budget_consumed_pct(self) -> float:
        return float(self.budget_consumed / self.budget_total * 100) if self.budget_total else 0.0


class PerformanceSample(models.Model):
    """A campaign's delivery on one channel and variant in one time bucket: reported
    telemetry (``monitoring.TelemetryEvent``) rolled up. Blank channel and variant is
    delivery reported for the campaign as a whole. Charts sum a bucket's rows."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="performance_samples"
    )
    channel = models.CharField(max_length=32, blank=True)
    variant = models.CharField(max_length=64, blank=True)
    bucket_start = models.DateTimeField()
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

    class Meta:
        ordering = ["bucket_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "channel", "variant", "bucket_start"],
                name="one_sample_per_surface_and_bucket",
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} @ {self.bucket_start:%Y-%m-%d %H:%M}"


class ContentStatus(models.TextChoices):
    APPROVED = "approved", "Approved for publishing"
    PUBLISHED = "published", "Published"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ContentVariant(models.Model):
    """Copy cleared to go out on a channel: exactly the content an approval (or the
    policy) allowed, bound by its hash. The distribution agent publishes from here."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="content")
    channel = models.CharField(max_length=32)
    headline = models.CharField(max_length=200)
    body = models.TextField()
    claims = models.JSONField(default=list, blank=True)
    status = models.CharField(
        max_length=16, choices=ContentStatus.choices, default=ContentStatus.APPROVED
    )
    content_hash = models.CharField(max_length=64)
    # Where the distribution agent placed it, and the destination's id for it.
    connector = models.CharField(max_length=60, blank=True)
    placement_id = models.CharField(max_length=120, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.headline} ({self.channel})"


class DailySpend(models.Model):
    """What a campaign spent on one day: the tally its daily cap is checked against."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="daily_spend")
    day = models.DateField()
    amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "day"], name="one_tally_per_day"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="daily_spend_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.day}: {self.amount}"


class HoldKind(models.TextChoices):
    NO_DRAFTS = "no_drafts", "No drafts for a channel"


class CampaignHold(models.Model):
    """Work on a channel (or the whole campaign) that waits for a person, for a reason
    that is not an approval: e.g. a channel the brief asked for has no usable drafts
    because a claim's disclaimer cannot fit it. It says why and the ways out, is shown on
    the campaign page and the tower row, tells the owner, and is resolved when the
    cause goes (new drafts pass) or a person decides (go ahead without the channel)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="holds")
    kind = models.CharField(max_length=24, choices=HoldKind.choices)
    channel = models.CharField(max_length=32, blank=True)  # blank: the whole campaign
    reason = models.CharField(max_length=600)
    # What a person can do about it, one short sentence each.
    ways_out = models.JSONField(default=list, blank=True)
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolution = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "kind", "channel"],
                condition=Q(resolved_at__isnull=True),
                name="one_open_hold_per_kind_and_channel",
            )
        ]
        indexes = [
            models.Index(
                fields=["campaign"], name="hold_open", condition=Q(resolved_at__isnull=True)
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.campaign_id}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    @property
    def channel_label(self) -> str:
        return CHANNELS.get(self.channel, self.channel) if self.channel else "The campaign"
