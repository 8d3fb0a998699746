"""Agent runs and the handoffs between them. Written only by ``agents.services``."""

from __future__ import annotations

from decimal import Decimal

from django.db import models


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    ESCALATED = "escalated", "Escalated"


class AgentRun(models.Model):
    """One piece of work by one agent for one campaign. ``key`` makes a run idempotent:
    a re-delivered task finds its run instead of starting a second one."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.PROTECT, related_name="agent_runs"
    )
    agent = models.CharField(max_length=40)
    key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.RUNNING)
    model_label = models.CharField(max_length=80, blank=True)
    error = models.TextField(blank=True)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal("0"))
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["campaign", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.agent} for {self.campaign_id} ({self.status})"


class HandoffStatus(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class Handoff(models.Model):
    """What one agent handed to the next, exactly as received, and whether it passed its
    schema. A rejected handoff is kept (with its problems) as evidence."""

    run = models.ForeignKey(AgentRun, on_delete=models.PROTECT, related_name="handoffs")
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.PROTECT, related_name="handoffs"
    )
    kind = models.CharField(max_length=20)
    schema_version = models.PositiveSmallIntegerField(null=True, blank=True)
    payload = models.JSONField()
    status = models.CharField(max_length=12, choices=HandoffStatus.choices)
    problems = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} from run {self.run_id} ({self.status})"
