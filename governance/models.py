"""The ground floor's records: the audit trail (append-only, hash-chained) and who acts
for whom while away (review delegations).

Audit events name the brand and campaign they are about by label, as every foreign key
does, so this app imports no app above it."""

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
    """One thing an agent or a person did. Written only by ``governance.services.audit_record``;
    never changed (the model refuses, and on PostgreSQL a trigger refuses too)."""

    seq = models.PositiveBigIntegerField(unique=True, editable=False)
    occurred_at = models.DateTimeField(db_index=True)
    actor_label = models.CharField(max_length=160)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        # TRICKY: not SET_NULL — the hash covers actor_user_id and the trigger refuses
        # UPDATE, so a person who has acted is deactivated, never deleted.
        on_delete=models.PROTECT,
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
        # The tables keep the names they were created with (in approvals).
        db_table = "approvals_auditevent"
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
        """Exactly what the hash covers (see ``governance.domain.audit``)."""
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
        db_table = "approvals_auditchainhead"
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="audit_head_singleton")
        ]

    def __str__(self) -> str:
        return f"audit chain head at #{self.seq}"


class ReviewDelegation(models.Model):
    """While ``reviewer`` is away, ``delegate`` may decide what ``reviewer`` could."""

    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="delegations_given"
    )
    delegate = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="delegations_received"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "approvals_reviewdelegation"
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="delegation_ends_after_it_starts",
            ),
            models.CheckConstraint(
                condition=~models.Q(reviewer=models.F("delegate")),
                name="delegation_to_someone_else",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reviewer} to {self.delegate} from {self.starts_at:%Y-%m-%d}"
