"""Brand memory (structured, versioned facts) and the claims registry. Rules live in
``memory.domain``; every write goes through ``memory.services``."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from .domain.claims import ClaimStatus, claim_ref
from .domain.entries import KINDS, entry_ref


class EntryStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"


class MemoryEntry(models.Model):
    """One fact about a brand, as it stands now. Every change writes a new
    :class:`MemoryVersion` and keeps the old ones; ``version`` is the current number."""

    brand = models.ForeignKey(
        "campaigns.Brand", on_delete=models.PROTECT, related_name="memory_entries"
    )
    kind = models.CharField(max_length=24, choices=list(KINDS.items()))
    text = models.TextField()
    evidence = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=12, choices=EntryStatus.choices, default=EntryStatus.ACTIVE
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["brand", "kind", "pk"]
        verbose_name_plural = "memory entries"
        indexes = [models.Index(fields=["brand", "status", "kind"], name="memory_entry_brand_live")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=list(KINDS)), name="memory_entry_kind_known"
            ),
            models.CheckConstraint(
                condition=Q(status__in=EntryStatus.values), name="memory_entry_status_known"
            ),
            models.CheckConstraint(
                condition=Q(version__gte=1), name="memory_entry_version_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ref} {self.text[:60]}"

    @property
    def ref(self) -> str:
        return entry_ref(self.pk)

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)


class MemoryVersion(models.Model):
    """One version of an entry exactly as it was written, by whom and why. Never changed."""

    entry = models.ForeignKey(MemoryEntry, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    text = models.TextField()
    evidence = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=EntryStatus.choices)
    changed_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # An agent's name (or "system:<process>"); blank when a person made the change.
    changed_by_agent = models.CharField(max_length=80, blank=True)
    change_note = models.CharField(max_length=300)
    # What let an agent make the change: "policy decision #5", "approval #7".
    authorization = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["entry", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["entry", "number"], name="one_memory_version_per_number"
            ),
            # A version is written by exactly one of a person or an agent.
            models.CheckConstraint(
                condition=(Q(changed_by_user__isnull=False) & Q(changed_by_agent=""))
                | (Q(changed_by_user__isnull=True) & ~Q(changed_by_agent="")),
                name="memory_version_one_author",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entry.ref} v{self.number}"

    @property
    def changed_by_label(self) -> str:
        if self.changed_by_user_id is not None:
            return self.changed_by_user.get_username()
        if self.changed_by_agent.startswith("system:"):
            return self.changed_by_agent
        return f"agent {self.changed_by_agent}"

    @property
    def by_agent(self) -> bool:
        """An AI agent wrote it (not a person, nor one of our own processes)."""
        return self.changed_by_user_id is None and not self.changed_by_agent.startswith("system:")


STATUS_CHOICES = [(s.value, s.label) for s in ClaimStatus]


class Claim(models.Model):
    """A claim in the brand's registry. Legal approves it once; until ``expires_on`` drafts
    may use its wording or a variant without a new review."""

    brand = models.ForeignKey("campaigns.Brand", on_delete=models.PROTECT, related_name="claims")
    wording = models.CharField(max_length=200)
    variants = models.JSONField(default=list, blank=True)
    substantiation = models.TextField()
    evidence_url = models.URLField(max_length=500, blank=True)
    disclaimers = models.JSONField(default=list, blank=True)
    jurisdictions = models.JSONField(default=list)
    expires_on = models.DateField()
    legal_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="claims_owned"
    )
    status = models.CharField(
        max_length=12, choices=STATUS_CHOICES, default=ClaimStatus.PENDING.value
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField()
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.CharField(max_length=500, blank=True)
    retired_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    retired_at = models.DateTimeField(null=True, blank=True)
    retirement_note = models.CharField(max_length=300, blank=True)
    # When the legal owner was told the claim expires soon (the notice goes once).
    expiry_notice_sent_at = models.DateTimeField(null=True, blank=True)
    # The approved claim this one renews: approving it retires that one, with no gap.
    renews = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="renewals"
    )

    class Meta:
        ordering = ["brand", "wording", "pk"]
        indexes = [models.Index(fields=["brand", "status"], name="claim_brand_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in ClaimStatus]), name="claim_status_known"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[ClaimStatus.APPROVED.value, ClaimStatus.REJECTED.value])
                | Q(reviewed_by__isnull=False, reviewed_at__isnull=False),
                name="claim_decided_has_reviewer",
            ),
            # Separation of duties, backed by the database: nobody reviews their own claim.
            models.CheckConstraint(
                condition=~Q(reviewed_by=F("proposed_by")), name="claim_not_reviewed_by_proposer"
            ),
            # One approved and at most one pending (e.g. its renewal) claim per wording.
            models.UniqueConstraint(
                Lower("wording"),
                "brand",
                condition=Q(status=ClaimStatus.APPROVED.value),
                name="one_approved_claim_per_wording",
            ),
            models.UniqueConstraint(
                Lower("wording"),
                "brand",
                condition=Q(status=ClaimStatus.PENDING.value),
                name="one_pending_claim_per_wording",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ref} {self.wording}"

    @property
    def ref(self) -> str:
        return claim_ref(self.pk)

    @property
    def wordings(self) -> list[str]:
        """The canonical wording first, then its variants."""
        return [self.wording, *self.variants]

    @property
    def status_label(self) -> str:
        return ClaimStatus(self.status).label
