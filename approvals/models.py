"""The audit trail. Approval requests and the delegation policy join it in later work."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from .domain.audit import GENESIS_HASH


class AppendOnlyError(Exception):
    pass


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("Audit events are append-only; they cannot be updated.")

    def delete(self) -> Any:
        raise AppendOnlyError("Audit events are append-only; they cannot be deleted.")


class AuditEvent(models.Model):
    """One thing an agent or a person did. Written only by ``approvals.services.audit_record``;
    never changed (the model refuses, and on PostgreSQL a trigger refuses too)."""

    seq = models.PositiveBigIntegerField(unique=True, editable=False)
    occurred_at = models.DateTimeField(db_index=True)
    actor_label = models.CharField(max_length=160)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,  # the label keeps who it was; the hash covers the label
        related_name="+",
    )
    actor_agent = models.CharField(max_length=80, blank=True)
    action = models.CharField(max_length=80, db_index=True)
    object_type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=64)
    brand = models.ForeignKey(
        "campaigns.Brand", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
    )
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, unique=True, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["campaign", "seq"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.actor_label} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Audit events are append-only; they cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("Audit events are append-only; they cannot be deleted.")

    def hashed_content(self) -> dict[str, Any]:
        """Exactly what the hash covers (see ``approvals.domain.audit``)."""
        return {
            "seq": self.seq,
            "occurred_at": self.occurred_at.isoformat(),
            "actor_label": self.actor_label,
            "actor_user_id": self.actor_user_id,
            "actor_agent": self.actor_agent,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "brand_id": self.brand_id,
            "campaign_id": self.campaign_id,
            "data": self.data,
        }


class AuditChainHead(models.Model):
    """The single row that serialises appends: writers lock it, so the chain never forks."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="audit_head_singleton")
        ]

    def __str__(self) -> str:
        return f"audit chain head at #{self.seq}"


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
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["campaign", "status"]),
            models.Index(fields=["brand", "status"], name="approval_brand_status"),
        ]

    def __str__(self) -> str:
        return f"{self.action_type} for {self.campaign_id} ({self.status})"
