"""Agent runs and the handoffs between them. Written only by ``agents.services``."""

from __future__ import annotations

from decimal import Decimal

from django.db import models


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    ESCALATED = "escalated", "Escalated"


class AgentRun(models.Model):
    """One piece of work by one agent for one campaign.

    Durable by construction: the row is written (queued) in the same transaction as the
    change that asks for the work, before any task is sent. A worker claims it (running,
    with a lease and a new attempt number), works outside any transaction, and commits
    the result only if it still holds that attempt. The reaper re-queues runs whose lease
    ran out (a worker killed mid-run), so accepted work is never lost, and the attempt
    check means a late zombie can never write it twice. ``key`` makes asking twice
    harmless: the second request finds the first run.
    """

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.PROTECT, related_name="agent_runs"
    )
    agent = models.CharField(max_length=40)
    key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    model_label = models.CharField(max_length=120, blank=True)
    # What the run was given (ids and short descriptions, never the untrusted text itself).
    inputs = models.JSONField(default=dict, blank=True)
    # The handoff this run works from (the plan for a specialist, drafts for distribution).
    consumes = models.ForeignKey(
        "Handoff", null=True, blank=True, on_delete=models.PROTECT, related_name="consumers"
    )
    # Claims so far: each claim's number fences off every earlier worker's writes.
    attempts = models.PositiveSmallIntegerField(default=0)
    # Times the reaper found it stranded (its worker died mid-run).
    interruptions = models.PositiveSmallIntegerField(default=0)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal("0"))
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [
            models.Index(fields=["campaign", "-queued_at"]),
            models.Index(fields=["agent", "-queued_at"]),
            # The reaper's scan: only unfinished runs.
            models.Index(
                fields=["lease_expires_at"],
                name="agentrun_unfinished",
                condition=models.Q(status__in=["queued", "running"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agent} for {self.campaign_id} ({self.status})"

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


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
