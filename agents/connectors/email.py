"""The email connector: sends a cleared email variant (headline = subject, body = text)
to the brand's mailable contacts, through Django's email backend (SMTP in production,
the console by default; ``EMAIL_*`` settings from the environment).

Who gets it: ``Contact.objects.mailable()`` of the campaign's brand — never a contact
who is suppressed or unsubscribed — and one email per person per campaign: several live
email variants (an A/B test) split the list between them by contact id. The check is
made when each batch is picked, so a person who unsubscribes while a big send is under
way is skipped from the next batch.

Never twice: for each batch a ``crm.CampaignEmailSend`` row per (content, contact) is
committed *before* anything is sent, under a lock on the content, and the unique
constraint backs it. A retried run, or a second run of the same content, finds the rows
and mails nobody again. The price of that order is that a crash mid-send leaves rows
without ``sent_at`` (outcome unknown) that are never retried: a person missed is better
than a person mailed twice. A recipient the server refuses outright is released (its
row deleted), so a later run may try them again.

Each batch is audited (sent, refused, and the contacts skipped as not mailable).

A way out in every message: each carries its contact's own signed unsubscribe link
(``crm.services.contact_unsubscribe_url``, which never expires) in a footer line and in
the ``List-Unsubscribe`` / ``List-Unsubscribe-Post`` headers (RFC 8058 one-click), which
large mailbox providers require of bulk senders.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
from dataclasses import dataclass, field
from email.utils import make_msgid
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.utils import DNS_NAME
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import Mod
from django.utils import timezone

from agents.connectors import content_id_from_key
from campaigns.models import ContentStatus, ContentVariant
from crm.models import CampaignEmailSend, Contact, Subscription
from crm.services import contact_unsubscribe_url
from governance.domain.audit import Actor
from governance.services import audit_record

logger = logging.getLogger(__name__)

#: Recipients per batch: one claim transaction and one audit event each.
BATCH_SIZE = 200


class CampaignEmailError(Exception):
    """The mail server stopped answering part-way; what was sent is recorded, the rest
    is released for a retry."""


@dataclass
class SendTotals:
    sent: int = 0
    refused: int = 0
    batches: int = 0
    refused_contacts: list[int] = field(default_factory=list)


class EmailConnector:
    name = "email"

    def __init__(self, *, campaign: Any, actor: Actor | None = None, batch_size: int = BATCH_SIZE):
        self.campaign = campaign
        self.actor = actor or Actor.for_agent("distribution")
        self.batch_size = batch_size
        self._not_mailable: dict[str, int] | None = None

    def publish(self, *, key: str, channel: str, headline: str, body: str) -> str:
        """Mail the content to every mailable contact not mailed it yet; the placement
        id (the same for the same key, however many runs it takes)."""
        content_id = content_id_from_key(key)
        variant = ContentVariant.objects.only("pk", "campaign_id").get(pk=content_id)
        if variant.campaign_id != self.campaign.pk:
            # Never mail one brand's contacts with another campaign's copy.
            raise ValueError(f"Content {content_id} is not content of campaign {self.campaign.pk}.")
        self._send_all(content_id=content_id, subject=_subject(headline), body=body)
        return "eml-" + hashlib.sha256(f"{key}|{channel}".encode()).hexdigest()[:16]

    # --- Sending ---------------------------------------------------------------------

    def _send_all(self, *, content_id: int, subject: str, body: str) -> SendTotals:
        brand_id = self.campaign.brand_id
        totals = SendTotals()
        connection = None
        after = 0
        try:
            while True:
                batch = self._claim(content_id=content_id, brand_id=brand_id, after=after)
                if not batch:
                    break
                after = batch[-1].pk
                if connection is None:
                    connection = self._open(content_id, batch)
                self._send_batch(connection, content_id, batch, subject, body, totals)
        finally:
            if connection is not None:
                connection.close()
        return totals

    def _open(self, content_id: int, batch: list[Contact]) -> Any:
        """One connection for the whole send; if it cannot be opened, the claimed batch
        is released (nothing was sent) and the run fails, to be retried."""
        connection = get_connection(fail_silently=False)
        try:
            connection.open()
        except (smtplib.SMTPException, OSError) as exc:
            CampaignEmailSend.objects.filter(
                content_id=content_id, contact_id__in=[c.pk for c in batch]
            ).delete()
            raise CampaignEmailError(f"The mail server cannot be reached: {exc}") from exc
        return connection

    def _arm(self, content_id: int) -> tuple[int, int]:
        """Which share of the list this variant gets: with several email variants live
        (an A/B test), contacts are split between them by id, so each person gets one
        and the arms are comparable. A variant cleared after another was sent reaches
        only those the first did not (nobody gets the campaign twice)."""
        live = list(
            ContentVariant.objects.filter(campaign_id=self.campaign.pk, channel="email")
            .exclude(status=ContentStatus.WITHDRAWN)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if content_id not in live:
            return 0, 1
        return live.index(content_id), len(live)

    def _claim(self, *, content_id: int, brand_id: int, after: int) -> list[Contact]:
        """The next batch of contacts to mail, each claimed (committed) before sending."""
        with transaction.atomic():
            # TRICKY: two runs of the same content take turns here, so the second sees
            # the first one's claims; the unique constraint backs it.
            ContentVariant.objects.select_for_update(no_key=True).filter(pk=content_id).first()
            # One campaign email per person per campaign: whoever got any of its email
            # variants is done with it.
            already = CampaignEmailSend.objects.filter(
                content__campaign_id=self.campaign.pk, contact=OuterRef("pk")
            )
            contacts = Contact.objects.mailable().filter(brand_id=brand_id, pk__gt=after)
            arm, arms = self._arm(content_id)
            if arms > 1:
                contacts = contacts.annotate(arm=Mod("pk", arms)).filter(arm=arm)
            batch = list(
                contacts.exclude(Exists(already))
                .order_by("pk")
                .only("pk", "email", "name")[: self.batch_size]
            )
            CampaignEmailSend.objects.bulk_create(
                [CampaignEmailSend(content_id=content_id, contact=contact) for contact in batch]
            )
        return batch

    def _send_batch(
        self,
        connection: Any,
        content_id: int,
        batch: list[Contact],
        subject: str,
        body: str,
        totals: SendTotals,
    ) -> None:
        sent: dict[int, str] = {}
        refused: list[int] = []
        broken: Exception | None = None
        unknown: int | None = None
        brand_id = self.campaign.brand_id
        for contact in batch:
            message_id = make_msgid(domain=str(DNS_NAME))
            unsubscribe = contact_unsubscribe_url(contact_id=contact.pk, brand_id=brand_id)
            message = EmailMessage(
                subject=subject,
                body=_with_footer(body, unsubscribe),
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[contact.email],
                headers={
                    "Message-ID": message_id,
                    "List-Unsubscribe": f"<{unsubscribe}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                },
            )
            try:
                accepted = connection.send_messages([message])
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError):
                refused.append(contact.pk)  # this address or this message: definite
            except (smtplib.SMTPException, OSError) as exc:
                broken, unknown = exc, contact.pk
                break
            else:
                if accepted:
                    sent[contact.pk] = message_id
                else:
                    refused.append(contact.pk)
        unsent = [c.pk for c in batch if c.pk not in sent and c.pk != unknown]
        self._record(content_id, sent, unsent, refused, unknown, totals)
        if broken is not None:
            raise CampaignEmailError(f"The mail server stopped answering: {broken}") from broken

    def _record(
        self,
        content_id: int,
        sent: dict[int, str],
        released: list[int],
        refused: list[int],
        unknown: int | None,
        totals: SendTotals,
    ) -> None:
        now = timezone.now()
        with transaction.atomic():
            rows = list(
                CampaignEmailSend.objects.select_for_update(no_key=True).filter(
                    content_id=content_id, contact_id__in=list(sent)
                )
            )
            for row in rows:
                row.sent_at, row.message_id = now, sent[row.contact_id]
            CampaignEmailSend.objects.bulk_update(rows, fields=["sent_at", "message_id"])
            # Released (refused, or never tried because the server went away): a later
            # run may mail them. The one in flight when it went away stays claimed.
            CampaignEmailSend.objects.filter(
                content_id=content_id, contact_id__in=released
            ).delete()
            totals.batches += 1
            totals.sent += len(sent)
            totals.refused += len(refused)
            audit_record(
                actor=self.actor,
                action="campaign_email.batch_sent",
                target=self.campaign,
                brand_id=self.campaign.brand_id,
                campaign_id=self.campaign.pk,
                data={
                    "content_id": content_id,
                    "batch": totals.batches,
                    "sent": len(sent),
                    "refused": refused,
                    "outcome_unknown": unknown,
                    "not_attempted": len(released) - len(refused),
                    **self._skipped_counts(),
                },
            )

    def _skipped_counts(self) -> dict[str, int]:
        """How many of the brand's contacts are not mailable, and why (never mailed);
        counted once per publish."""
        if self._not_mailable is None:
            counts = Contact.objects.filter(brand_id=self.campaign.brand_id).aggregate(
                skipped_suppressed=Count("pk", filter=Q(suppressed=True)),
                skipped_unsubscribed=Count(
                    "pk", filter=Q(subscription=Subscription.UNSUBSCRIBED, suppressed=False)
                ),
            )
            self._not_mailable = {name: int(value or 0) for name, value in counts.items()}
        return self._not_mailable


def _subject(headline: str) -> str:
    # TRICKY: the headline came from a model; a line break in a header is refused by
    # Django (BadHeaderError) and could smuggle headers, so it is folded to one line.
    return " ".join(headline.split())[:200]


def _with_footer(body: str, unsubscribe_url: str) -> str:
    return f"{body.rstrip()}\n\nUnsubscribe: {unsubscribe_url}\n"
