"""A brand's first-party contacts and leads, and the CSV imports that brought them in.
Rules live in ``crm.domain``; writes in ``crm.services``; reads in ``crm.selectors``.

Everything a contact row holds came from an upload or an agent: it is untrusted text,
shown escaped and never treated as instructions (``injection_flags`` says why a row was
marked)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from campaigns.models import Brand

from .domain.contacts_csv import FIELD_LIMITS
from .domain.scores import HANDOFF_NOTE_MAX_CHARS, SEGMENT_MAX_CHARS


class ImportStatus(models.TextChoices):
    # Parsed without errors and waiting for its uploader to confirm the preview.
    PENDING = "pending", "Waiting for confirmation"
    IMPORTED = "imported", "Imported"


class ContactImport(models.Model):
    """One uploaded file. While ``pending`` it holds the uploaded text (only the uploader
    may confirm it); once imported the text is dropped and the counts remain."""

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="contact_imports")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contact_imports"
    )
    filename = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=ImportStatus.choices)
    pending_text = models.TextField(blank=True)
    rows_total = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    flagged_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    imported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["brand", "-created_at"], name="crm_import_brand_recent")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status=ImportStatus.PENDING) | Q(imported_at__isnull=False),
                name="crm_import_imported_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display().lower()})"


class Subscription(models.TextChoices):
    SUBSCRIBED = "subscribed", "Subscribed"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"


class ContactQuerySet(models.QuerySet):
    def mailable(self) -> ContactQuerySet:
        """Contacts a message may go to: subscribed and not suppressed. Every sender
        (the email connector, the API) starts from here."""
        return self.filter(subscription=Subscription.SUBSCRIBED, suppressed=False)

    def flagged(self) -> ContactQuerySet:
        return self.exclude(injection_flags=[])


class Contact(models.Model):
    """A person a brand may market to. Unique per brand by email, stored lower-cased."""

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="contacts")
    email = models.EmailField(max_length=FIELD_LIMITS["email"])
    name = models.CharField(max_length=FIELD_LIMITS["name"], blank=True)
    company = models.CharField(max_length=FIELD_LIMITS["company"], blank=True)
    job_title = models.CharField(max_length=FIELD_LIMITS["job_title"], blank=True)
    country = models.CharField(max_length=FIELD_LIMITS["country"], blank=True)
    source = models.CharField(max_length=FIELD_LIMITS["source"], blank=True)
    # Free text from the upload: untrusted, withheld from agents when flagged.
    notes = models.TextField(max_length=FIELD_LIMITS["notes"], blank=True)
    subscription = models.CharField(
        max_length=16, choices=Subscription.choices, default=Subscription.SUBSCRIBED
    )
    suppressed = models.BooleanField(default=False)
    suppression_reason = models.CharField(max_length=FIELD_LIMITS["suppression_reason"], blank=True)
    # Written by the CRM agent (crm.services.contact_scores_record).
    lead_score = models.PositiveSmallIntegerField(null=True, blank=True)
    segment = models.CharField(max_length=SEGMENT_MAX_CHARS, blank=True)
    handoff_note = models.TextField(max_length=HANDOFF_NOTE_MAX_CHARS, blank=True)
    scored_at = models.DateTimeField(null=True, blank=True)
    scored_by = models.CharField(max_length=150, blank=True, help_text="The agent's label.")
    # Why the row's text reads as instructions ("notes: tells an agent to launch …").
    injection_flags = models.JSONField(default=list, blank=True)
    last_import = models.ForeignKey(
        ContactImport,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contacts",
        help_text="The import that last wrote this contact.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["email"]
        constraints = [
            # Also the index of the contact list (per brand, by email).
            models.UniqueConstraint(fields=["brand", "email"], name="crm_contact_email_per_brand"),
            models.CheckConstraint(
                condition=Q(email=Lower("email")), name="crm_contact_email_lower"
            ),
            models.CheckConstraint(
                condition=Q(lead_score__isnull=True) | Q(lead_score__lte=100),
                name="crm_contact_lead_score_0_100",
            ),
        ]
        indexes = [
            models.Index(fields=["brand", "segment", "email"], name="crm_contact_brand_segment"),
            # The "flagged" and "not mailable" filters touch few rows of a big list.
            models.Index(
                fields=["brand", "email"],
                condition=~Q(injection_flags=[]),
                name="crm_contact_brand_flagged",
            ),
            models.Index(
                fields=["brand", "email"],
                condition=Q(suppressed=True) | Q(subscription=Subscription.UNSUBSCRIBED),
                name="crm_contact_brand_unmailable",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def flagged(self) -> bool:
        return bool(self.injection_flags)

    @property
    def mailable(self) -> bool:
        return self.subscription == Subscription.SUBSCRIBED and not self.suppressed

    @property
    def email_domain(self) -> str:
        return self.email.rpartition("@")[2]


class CampaignEmailSend(models.Model):
    """One campaign email to one contact: the email connector writes it *before* it
    sends, so a retried run (or a second run of the same content) never mails anyone
    twice. ``sent_at`` is set once the mail server accepted the message; a row without
    it is a send whose outcome is unknown (the worker died mid-send) and stays skipped —
    a person mailed twice is worse than one who was missed."""

    content = models.ForeignKey(
        "campaigns.ContentVariant", on_delete=models.PROTECT, related_name="email_sends"
    )
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="email_sends")
    claimed_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["content", "contact"], name="crm_email_once_per_content"
            )
        ]

    def __str__(self) -> str:
        return f"content {self.content_id} to contact {self.contact_id}"
