"""Agent runs and the handoffs between them. Written only by ``agents.services``."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils import timezone


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


class ExperimentStatus(models.TextChoices):
    RUNNING = "running", "Running"
    CONCLUDED = "concluded", "Winner found"
    STOPPED = "stopped", "Stopped (every arm breached a guardrail)"


class Experiment(models.Model):
    """A channel's variants tested against each other, the agents moving traffic toward
    what converts (``agents.services.experiments``). One running experiment per campaign
    channel."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="experiments"
    )
    channel = models.CharField(max_length=32)
    status = models.CharField(
        max_length=12, choices=ExperimentStatus.choices, default=ExperimentStatus.RUNNING
    )
    # Impressions every arm needs before a winner may be named (the test design's).
    min_sample = models.PositiveIntegerField()
    design = models.ForeignKey(
        Handoff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    concluded_at = models.DateTimeField(null=True, blank=True)
    winner = models.CharField(max_length=64, blank=True)  # the winning variant's label
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "channel"],
                condition=models.Q(status="running"),
                name="one_running_experiment_per_channel",
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} test on {self.campaign_id} ({self.status})"


class RoundStatus(models.TextChoices):
    APPLIED = "applied", "Applied"
    UNCHANGED = "unchanged", "No change needed"
    WAITING = "waiting", "Waiting for approval"
    REFUSED = "refused", "Refused by the policy"
    STOPPED = "stopped", "Stopped: no arm may run"


class AllocationRound(models.Model):
    """One decision of the allocator, with everything it was based on: each arm's totals,
    posterior interval and chance of being best, the rounds it pooled, and the shares it
    chose — so "why did the system move the budget?" always has an answer."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="rounds")
    number = models.PositiveIntegerField()
    at = models.DateTimeField()
    # [{label, content_id, trials, successes, cost, complaints, frequency, mean, low, high,
    #   prob_best, stopped}], the arms' cumulative totals at this round.
    arms = models.JSONField()
    shares = models.JSONField()  # {label: share of the channel's traffic and budget}
    pooled_from = models.PositiveIntegerField(default=0)  # first round pooled (change detection)
    status = models.CharField(max_length=12, choices=RoundStatus.choices)
    decision = models.ForeignKey(
        "approvals.PolicyDecisionRecord",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(max_length=300, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["experiment", "number"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "number"], name="one_round_per_number")
        ]

    def __str__(self) -> str:
        return f"Round {self.number} of {self.experiment_id} ({self.status})"
