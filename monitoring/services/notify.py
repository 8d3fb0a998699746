"""Telling people: an in-app notification per person (the bell, pushed live), an email
per person with an address, and one post to the brand's Slack-compatible webhook.

Outside messages are rows first (``NotificationDelivery``), written in the transaction
that decided to notify, and sent by a worker after commit — so a rolled-back decision
tells nobody, and a crash after commit loses no message (beat re-sends pending ones).
Sending is at least once: a worker killed between sending and recording may send twice;
an escalation told twice is better than one never told.
"""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from governance import events

from ..models import (
    DeliveryChannel,
    DeliveryStatus,
    MonitoringSettings,
    Notification,
    NotificationDelivery,
)

logger = logging.getLogger(__name__)

#: A webhook that takes longer than this is treated as down (and retried).
WEBHOOK_TIMEOUT_SECONDS = 10


class DeliveryFailed(Exception):
    """A send that may work later (the mail server or webhook is down)."""


def notify_people(
    *,
    people: Iterable[Any],
    campaign: Any,
    title: str,
    body: str,
    url: str,
    escalation: Any = None,
    flag_id: int | None = None,
    approval_id: int | None = None,
    slack: bool = False,
) -> list[Notification]:
    """Notify each person in-app and by email, and (``slack``) post once to the brand's
    webhook. Call inside the transaction that decided it."""
    now = timezone.now()
    people = list({person.pk: person for person in people}.values())
    notes = Notification.objects.bulk_create(
        [
            Notification(
                recipient=person,
                campaign=campaign,
                escalation=escalation,
                flag_id=flag_id,
                approval_id=approval_id,
                title=title[:200],
                body=body,
                url=url,
                created_at=now,
            )
            for person in people
        ]
    )
    link = settings.CONTROLTOWER_BASE_URL.rstrip("/") + url
    deliveries = [
        NotificationDelivery(
            channel=DeliveryChannel.EMAIL,
            target=person.email,
            subject=title[:200],
            body=f"{body}\n\n{link}",
            escalation=escalation,
        )
        for person in people
        if person.email
    ]
    webhook = (
        MonitoringSettings.objects.filter(brand_id=campaign.brand_id)
        .values_list("slack_webhook_url", flat=True)
        .first()
    )
    if slack and webhook:
        deliveries.append(
            NotificationDelivery(
                channel=DeliveryChannel.SLACK,
                target=webhook,
                subject=title[:200],
                body=json.dumps({"text": f"*{title}*\n{body}\n<{link}|Open in the control tower>"}),
                escalation=escalation,
            )
        )
    created = NotificationDelivery.objects.bulk_create(deliveries)
    ids = [d.pk for d in created]
    transaction.on_commit(lambda: _send_later(ids))
    _announce([person.pk for person in people])
    return notes


def notification_delivery_send(*, delivery_id: int, last_try: bool = False) -> str:
    """Send one pending delivery; its status afterwards. Raises :class:`DeliveryFailed`
    (after recording the attempt) when a retry may work."""
    with transaction.atomic():
        delivery = (
            NotificationDelivery.objects.select_for_update(skip_locked=True)
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING)
            .first()
        )
        if delivery is None:
            return "skipped"  # sent already, or another worker has it
        delivery.attempts += 1
        try:
            _send(delivery)
        except (OSError, DeliveryFailed) as exc:
            delivery.last_error = f"{type(exc).__name__}: {exc}"[:500]
            final = last_try or delivery.attempts >= settings.CONTROLTOWER_DELIVERY_MAX_ATTEMPTS
            if final:
                delivery.status = DeliveryStatus.FAILED
            delivery.save(update_fields=["attempts", "last_error", "status"])
            if final:
                logger.warning("Delivery %s failed for good: %s", delivery.pk, delivery.last_error)
                return delivery.status
            failed = DeliveryFailed(delivery.last_error)
        else:
            delivery.status, delivery.sent_at = DeliveryStatus.SENT, timezone.now()
            delivery.last_error = ""
            delivery.save(update_fields=["attempts", "status", "sent_at", "last_error"])
            return delivery.status
    raise failed


def deliveries_resend(*, older_than: timedelta = timedelta(minutes=5)) -> list[int]:
    """Beat's tick: pending deliveries whose task was lost (a crash after commit) are
    sent again."""
    ids = list(
        NotificationDelivery.objects.filter(
            status=DeliveryStatus.PENDING, created_at__lt=timezone.now() - older_than
        ).values_list("pk", flat=True)[:500]
    )
    _send_later(ids)
    return ids


def notifications_mark_read(*, user: Any, ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (all, or the given ones); how many."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    with transaction.atomic():
        count = unread.update(read_at=timezone.now())
        _announce([user.pk])
    return count


def notifications_settle_approval(*, approval_id: int) -> int:
    """An approval request was decided (or expired): its "waiting for you" notices are
    read for every reviewer — nothing waits for them any more. Call in that transaction."""
    unread = Notification.objects.filter(approval_id=approval_id, read_at__isnull=True)
    recipients = list(unread.values_list("recipient_id", flat=True).distinct())
    if not recipients:
        return 0
    count = unread.update(read_at=timezone.now())
    _announce(recipients)
    return count


def _send(delivery: NotificationDelivery) -> None:
    if delivery.channel == DeliveryChannel.EMAIL:
        send_mail(
            delivery.subject,
            delivery.body,
            settings.DEFAULT_FROM_EMAIL,
            [delivery.target],
            fail_silently=False,
        )
        return
    from integrations.outbound import AddressRefused, post

    try:
        status = post(
            delivery.target,
            delivery.body.encode(),
            {"Content-Type": "application/json", "User-Agent": "campaign-control-tower"},
            timeout=WEBHOOK_TIMEOUT_SECONDS,
        )
    except AddressRefused as exc:
        raise DeliveryFailed(f"refused: {exc}") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
    if not 200 <= status < 300:
        raise DeliveryFailed(f"the webhook answered {status}")


def _send_later(ids: list[int]) -> None:
    from ..tasks import deliver

    for delivery_id in ids:
        deliver.delay(delivery_id)


def _announce(user_ids: list[int]) -> None:
    events.announce_on_commit(events.notifications_changed, user_ids=user_ids)
