"""Brands, briefs and campaigns. Rules live in ``campaigns.domain``; writes in ``services``."""

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
    (``campaigns.view_brand``, granted with django-guardian); ``approvals.policies``
    is the one place that asks."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    currency = models.CharField(max_length=3, default="USD")
    voice_rules = models.JSONField(
        default=list, blank=True, help_text="House voice rules, one string each."
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
    next_action = models.CharField(max_length=240, blank=True)
    budget_total = models.DecimalField(max_digits=12, decimal_places=2)
    budget_consumed = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    escalation_state = models.CharField(
        max_length=16, choices=EscalationState.choices, default=EscalationState.NONE
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["brand", "phase"])]
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
