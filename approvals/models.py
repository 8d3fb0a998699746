"""The gate's records: approval requests, the delegation policy's versions, the decisions it
made, and uses of signed approval links."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from .domain.timers import TimerRule, TimerState, escalation_tier, timer_rule, timer_state


class PolicyStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PROPOSED = "proposed", "Proposed (awaiting a second admin)"
    SUPERSEDED = "superseded", "Superseded"
    REJECTED = "rejected", "Rejected"


class DelegationPolicy(models.Model):
    """One version of what agents may do for a brand (or one campaign of it). Never edited:
    a change is a new version. ``rules`` maps action types to their rule (see
    ``approvals.domain.policy``); a brand without one runs on ``DEFAULT_POLICY``."""

    brand = models.ForeignKey("campaigns.Brand", on_delete=models.PROTECT, related_name="+")
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    version = models.PositiveIntegerField()
    rules = models.JSONField()
    status = models.CharField(max_length=16, choices=PolicyStatus.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Why the change, and the second admin who let it take effect (two-person rule).
    note = models.TextField(blank=True)
    based_on_version = models.PositiveIntegerField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    # What a version the system made was based on (an agent's track record: the numbers
    # and the rules they were judged by), so "why did the policy change?" has an answer.
    basis = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["brand", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "version"], name="one_policy_version_per_brand"
            ),
            models.UniqueConstraint(
                fields=["brand"],
                condition=models.Q(status="active", campaign__isnull=True),
                name="one_active_brand_policy",
            ),
            models.UniqueConstraint(
                fields=["campaign"],
                condition=models.Q(status="active", campaign__isnull=False),
                name="one_active_campaign_policy",
            ),
        ]

    def __str__(self) -> str:
        scope = f"campaign {self.campaign_id}" if self.campaign_id else f"brand {self.brand_id}"
        return f"policy v{self.version} for {scope} ({self.status})"


class PolicyDecisionRecord(models.Model):
    """What the gate decided for one proposed action, and why. Every action that could
    reach a connector has one (invariant 1)."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.PROTECT, related_name="policy_decisions"
    )
    brand = models.ForeignKey("campaigns.Brand", on_delete=models.PROTECT, related_name="+")
    action_type = models.CharField(max_length=40)
    actor_label = models.CharField(max_length=160)
    outcome = models.CharField(max_length=16)
    rule = models.CharField(max_length=80)
    reason = models.CharField(max_length=500)
    approver_role = models.CharField(max_length=40, blank=True)
    policy = models.ForeignKey(
        DelegationPolicy, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    policy_version = models.PositiveIntegerField()
    content_hash = models.CharField(max_length=64)
    # The agent run that proposed the action (none for people and system jobs).
    agent_run = models.ForeignKey(
        "agents.AgentRun",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="policy_decisions",
    )
    # What the gate knew (approvals.domain.impact.facts_to_json), so a proposed policy
    # can be replayed against the last 30 days before it is adopted.
    facts = models.JSONField(default=dict, blank=True)
    decided_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-decided_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action_type}: {self.outcome} ({self.rule})"


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    EXPIRED = "expired", "Expired"


class ApprovalRequest(models.Model):
    """An agent action held at the gate until a person in ``queue_role`` decides it."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="approval_requests"
    )
    brand = models.ForeignKey("campaigns.Brand", on_delete=models.PROTECT, related_name="+")
    action_type = models.CharField(max_length=40)
    queue_role = models.CharField(max_length=40)
    summary = models.CharField(max_length=300)
    requested_by_agent = models.CharField(max_length=80)
    status = models.CharField(
        max_length=20, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING
    )
    # TRICKY: a default, not auto_now_add: the SLA clock starts at created_at, and due_at
    # is computed from it in save(), before auto_now_add would have set it.
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    decided_at = models.DateTimeField(null=True, blank=True)
    # Recommendations are adopted by the person; approvals let the agent go ahead.
    is_recommendation = models.BooleanField(default=False)
    decision = models.OneToOneField(
        PolicyDecisionRecord,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="approval_request",
    )
    # Exactly what will execute, and its hash: approving binds to this content.
    payload = models.JSONField(default=dict, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    cost = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    requested_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_note = models.TextField(blank=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    # A reviewer who opened the item for review holds it (others may not decide it)
    # until they decide, release it, or the claim goes stale.
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The SLA clock (``approvals.domain.timers``): the answer is due by ``due_at``; the
    # response time is ``due_at - created_at``, fixed when the request was raised.
    due_at = models.DateTimeField()
    # Set once, when the overdue item was escalated to the tier above its queue.
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalated_to = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["campaign", "status"]),
            models.Index(fields=["brand", "status"], name="approval_brand_status"),
            # The timer sweep: pending items whose answer is due.
            models.Index(fields=["status", "due_at"], name="approval_status_due"),
        ]
        constraints = [
            # Executed only once, and only once approved.
            models.CheckConstraint(
                condition=models.Q(executed_at__isnull=True) | models.Q(status="approved"),
                name="approval_executed_only_when_approved",
            ),
            # Escalated means escalated to someone, and recorded when.
            models.CheckConstraint(
                condition=models.Q(escalated_at__isnull=True, escalated_to="")
                | (models.Q(escalated_at__isnull=False) & ~models.Q(escalated_to="")),
                name="approval_escalated_when_and_to_whom",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action_type} for {self.campaign_id} ({self.status})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Every request has a clock, however it was made (gate, submit, admin, tests).
        if self.due_at is None:
            self.due_at = self.created_at + self.timer_rule().sla
        super().save(*args, **kwargs)

    def timer_rule(self) -> TimerRule:
        return timer_rule(
            self.action_type, self.queue_role, is_recommendation=self.is_recommendation
        )

    def timer_state(self, now: datetime | None = None) -> TimerState:
        """Where this request's SLA clock stands at ``now`` (default: this moment)."""
        return timer_state(
            self.created_at,
            now or timezone.now(),
            self.due_at - self.created_at,
            escalated=self.escalated_at is not None,
            can_escalate=escalation_tier(self.queue_role) is not None,
        )

    @property
    def timer(self) -> TimerState | None:
        """The clock for the queue card, or None once decided (nothing is running)."""
        if self.status != ApprovalStatus.PENDING:
            return None
        return self.timer_state()


class LinkDecision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"


class ApprovalLinkUse(models.Model):
    """A signed approval link (``approvals.services.links``) that has been used: its nonce, once.

    The unique nonce is what makes a link single-use: a second use, even one racing the
    first on another connection, fails on the constraint and is told the link was used.
    Written in the transaction that decides the request, so a refused or failed decision
    leaves the link usable."""

    nonce = models.CharField(max_length=64, unique=True)
    approval = models.ForeignKey(
        ApprovalRequest, on_delete=models.CASCADE, related_name="link_uses"
    )
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    used_at = models.DateTimeField(default=timezone.now)
    decision = models.CharField(max_length=8, choices=LinkDecision.choices)

    class Meta:
        ordering = ["-used_at", "-id"]

    def __str__(self) -> str:
        return f"{self.decision} link for {self.approval_id} used by {self.used_by_id}"
