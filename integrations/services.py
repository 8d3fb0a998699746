"""Every write of integrations — outbound webhooks: an admin subscribes a URL to some of
a brand's events; each event is posted there as JSON, signed
(``integrations.domain.signing``), retried with backoff while the endpoint fails, and
logged (``WebhookDelivery``). docs/WEBHOOKS.md is the receivers' side.

Lifecycle of a delivery::

    a service changes something → governance.events.announce_publicly()
        → integrations.subscribers → webhooks_enqueue(), in the change's transaction:
        → one pending WebhookDelivery per live subscription to that event
        → on commit: integrations.deliver_webhook (a worker) → webhook_delivery_send()
            2xx           → sent
            anything else → attempts += 1, last error and status code kept,
                            next attempt in 30 s · 2^(attempts-1) (at most 1 h) …
                            → failed after CONTROLTOWER_WEBHOOK_MAX_ATTEMPTS
    beat (integrations.resend_webhooks): pending deliveries long overdue (their retry
    was lost with a crashed worker) are sent again.

Sending is at least once: a worker killed between posting and recording posts again,
so receivers dedupe on the body's ``id``.
"""

from __future__ import annotations

import http.client
import json
import logging
import secrets
import time
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from governance import policies
from governance.domain.audit import Actor
from governance.domain.errors import DomainError, NotPermitted
from governance.events import ANNOUNCEMENTS as EVENT_TYPES
from governance.services import audit_record

from .domain.signing import delivery_headers
from .models import WebhookDelivery, WebhookDeliveryStatus, WebhookSubscription
from .outbound import AddressRefused, post, url_problem

logger = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
#: The event the admin's "Send a test" posts (not subscribable: every subscription gets it).
TEST_EVENT = "webhook.test"
#: An endpoint slower than this is treated as down (and retried).
TIMEOUT_SECONDS = 10
DEFAULT_MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 3600
#: Beat re-sends a pending delivery only this long after its retry was due, so a retry
#: that is merely a little late is not sent twice.
RESEND_GRACE = timedelta(minutes=5)
#: A retry may run this much before its due time (clocks, rounding) and still be sent.
EARLY_SLACK = timedelta(seconds=2)
USER_AGENT = "campaign-control-tower-webhooks/1"


class WebhookDeliveryFailed(Exception):
    """A post that may work later (the endpoint is down or answered non-2xx); the
    attempt is recorded and ``retry_in`` says when the next one is due."""

    def __init__(self, message: str, *, retry_in: int) -> None:
        super().__init__(message)
        self.retry_in = retry_in


def max_attempts() -> int:
    return int(getattr(settings, "CONTROLTOWER_WEBHOOK_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))


def backoff_seconds(attempts: int) -> int:
    """How long to wait after the ``attempts``-th failed attempt: 30 s, 1, 2, 4… min,
    at most an hour."""
    return min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))


def subscription_problems(*, url: str, events: Iterable[str]) -> dict[str, list[str]]:
    """What is wrong with a subscription's URL and events, by field (empty: nothing)."""
    problems: dict[str, list[str]] = {}
    found = url_problem(url)
    if found:
        problems["url"] = [found]
    chosen = list(events or [])
    unknown = sorted({e for e in chosen if e not in EVENT_TYPES}, key=str)
    if unknown:
        problems["events"] = [
            "Unknown event type(s): " + ", ".join(f"“{e}”" for e in unknown) + "."
        ]
    elif not chosen:
        problems["events"] = ["Choose at least one event to send."]
    return problems


def webhook_subscribe(
    *, brand: Any, url: str, events: Iterable[str], user: Any, description: str = ""
) -> tuple[WebhookSubscription, str]:
    """Subscribe ``url`` to ``events`` of ``brand``: the subscription, and its signing
    secret (show it once)."""
    if not policies.can_configure_monitoring(user):
        raise NotPermitted("Only admins subscribe webhooks.")
    events = list(events or [])
    problems = subscription_problems(url=url, events=events)
    if problems:
        raise DomainError(" ".join(message for errors in problems.values() for message in errors))
    chosen = [event for event in EVENT_TYPES if event in events]  # known order, no repeats
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        subscription = WebhookSubscription.objects.create(
            brand=brand,
            url=url.strip(),
            events=chosen,
            secret=secret,
            description=description.strip()[:300],
            created_by=user,
        )
        audit_record(
            actor=Actor.for_user(user),
            action="webhook.subscribed",
            target=subscription,
            brand_id=brand.pk,
            data={
                "url": subscription.url,
                "events": chosen,
                "description": subscription.description,
                "secret_hint": subscription.secret_hint,
            },
        )
    return subscription, secret


def webhook_revoke(*, subscription_id: int, user: Any) -> WebhookSubscription:
    """Stop sending to a subscription, for good (pending deliveries are not sent)."""
    if not policies.can_configure_monitoring(user):
        raise NotPermitted("Only admins revoke webhooks.")
    with transaction.atomic():
        subscription = WebhookSubscription.objects.select_for_update(no_key=True).get(
            pk=subscription_id
        )
        if subscription.revoked_at is None:
            subscription.revoked_at, subscription.active = timezone.now(), False
            subscription.save(update_fields=["revoked_at", "active"])
            audit_record(
                actor=Actor.for_user(user),
                action="webhook.revoked",
                target=subscription,
                brand_id=subscription.brand_id,
                data={"url": subscription.url, "events": subscription.events},
            )
    return subscription


def webhook_pause(*, subscription_id: int, user: Any) -> WebhookSubscription:
    """Stop sending to a subscription for now. While paused nothing is queued for it, and
    deliveries already queued are not sent: resuming sends the events that come after."""
    return _set_active(subscription_id=subscription_id, user=user, active=False)


def webhook_resume(*, subscription_id: int, user: Any) -> WebhookSubscription:
    """Send to a paused subscription again, from the next event on."""
    return _set_active(subscription_id=subscription_id, user=user, active=True)


def _set_active(*, subscription_id: int, user: Any, active: bool) -> WebhookSubscription:
    if not policies.can_configure_monitoring(user):
        raise NotPermitted("Only admins pause and resume webhooks.")
    with transaction.atomic():
        subscription = WebhookSubscription.objects.select_for_update(no_key=True).get(
            pk=subscription_id
        )
        if subscription.revoked_at is not None:
            raise DomainError("This webhook is revoked: subscribe the URL again instead.")
        if subscription.active != active:
            subscription.active = active
            subscription.save(update_fields=["active"])
            audit_record(
                actor=Actor.for_user(user),
                action="webhook.resumed" if active else "webhook.paused",
                target=subscription,
                brand_id=subscription.brand_id,
                data={"url": subscription.url},
            )
    return subscription


def webhooks_enqueue(*, event: str, brand_id: int, data: dict[str, Any]) -> list[int]:
    """One pending delivery per live subscription of the brand to ``event``, each sent
    by a worker once committed; the deliveries' ids. Called in the transaction of the change
    the event describes (``governance.events.announce_publicly``), so the two commit together."""
    # A brand has a handful of subscriptions: matched here rather than with a JSON
    # "contains" lookup, which SQLite (the zero-setup default) does not have.
    subscriptions = [
        pk
        for pk, events in WebhookSubscription.objects.filter(
            brand_id=brand_id, active=True, revoked_at__isnull=True
        ).values_list("pk", "events")
        if event in events
    ]
    if not subscriptions:
        return []
    payload = _payload(event=event, brand_id=brand_id, data=data)
    now = timezone.now()
    with transaction.atomic():
        created = WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    subscription_id=subscription_id,
                    event=event,
                    event_id=payload["id"],
                    payload=payload,
                    next_attempt_at=now,
                    created_at=now,
                )
                for subscription_id in subscriptions
            ]
        )
        ids = [delivery.pk for delivery in created]
        transaction.on_commit(lambda: _send_later(ids), robust=True)
    return ids


def webhook_send_test(*, subscription_id: int, user: Any) -> WebhookDelivery:
    """Post a ``webhook.test`` event to the subscription now, in the request, once (no
    retries): the delivery with its outcome, for the admin to see."""
    if not policies.can_configure_monitoring(user):
        raise NotPermitted("Only admins test webhooks.")
    with transaction.atomic():
        subscription = WebhookSubscription.objects.select_for_update(no_key=True).get(
            pk=subscription_id
        )
        if subscription.revoked_at is not None:
            raise DomainError("This webhook is revoked: subscribe the URL again to test it.")
        payload = _payload(
            event=TEST_EVENT,
            brand_id=subscription.brand_id,
            data={
                "subscription_id": subscription.pk,
                "message": "A test from Campaign Control Tower: your endpoint is reachable.",
                "by": user.get_username(),
            },
        )
        delivery = WebhookDelivery.objects.create(
            subscription=subscription,
            event=TEST_EVENT,
            event_id=payload["id"],
            payload=payload,
            next_attempt_at=timezone.now(),
        )
        audit_record(
            actor=Actor.for_user(user),
            action="webhook.tested",
            target=subscription,
            brand_id=subscription.brand_id,
            data={"delivery_id": delivery.pk, "url": subscription.url},
        )
    webhook_delivery_send(delivery_id=delivery.pk, last_try=True)
    delivery.refresh_from_db()
    return delivery


def webhook_delivery_send(*, delivery_id: int, last_try: bool = False) -> str:
    """Post one pending, due delivery; its status afterwards (or ``skipped``). Raises
    :class:`WebhookDeliveryFailed` (after recording the attempt) while a retry may work:
    until ``CONTROLTOWER_WEBHOOK_MAX_ATTEMPTS`` attempts, or ``last_try``."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("subscription")
            .filter(pk=delivery_id, status=WebhookDeliveryStatus.PENDING)
            .first()
        )
        # Sent or failed already, another worker has it, or a duplicate task came early
        # (beat re-sent it while the retry was still on its way): nothing to do.
        if delivery is None or (
            delivery.next_attempt_at and delivery.next_attempt_at > now + EARLY_SLACK
        ):
            return "skipped"
        subscription = delivery.subscription
        if subscription.revoked_at is not None or not subscription.active:
            delivery.status, delivery.next_attempt_at = WebhookDeliveryStatus.FAILED, None
            delivery.last_error = (
                "Not sent: the subscription was revoked."
                if subscription.revoked_at is not None
                else "Not sent: the subscription was paused."
            )
            delivery.save(update_fields=["status", "next_attempt_at", "last_error"])
            return delivery.status
        delivery.attempts += 1
        code, error = _post(delivery, subscription)
        delivery.last_status_code = code
        if error is None:
            delivery.status, delivery.sent_at = WebhookDeliveryStatus.SENT, timezone.now()
            delivery.last_error, delivery.next_attempt_at = "", None
            delivery.save(
                update_fields=[
                    "attempts",
                    "status",
                    "sent_at",
                    "last_error",
                    "last_status_code",
                    "next_attempt_at",
                ]
            )
            return delivery.status
        delivery.last_error = error[:500]
        final = last_try or delivery.attempts >= max_attempts()
        retry_in = backoff_seconds(delivery.attempts)
        if final:
            delivery.status, delivery.next_attempt_at = WebhookDeliveryStatus.FAILED, None
        else:
            delivery.next_attempt_at = timezone.now() + timedelta(seconds=retry_in)
        delivery.save(
            update_fields=[
                "attempts",
                "status",
                "last_error",
                "last_status_code",
                "next_attempt_at",
            ]
        )
        if final:
            logger.warning(
                "Webhook delivery %s failed for good after %s attempt(s): %s",
                delivery.pk,
                delivery.attempts,
                delivery.last_error,
            )
            return delivery.status
    # Raised once the attempt is committed, so the log keeps it.
    raise WebhookDeliveryFailed(delivery.last_error, retry_in=retry_in)


def webhook_deliveries_resend(*, grace: timedelta = RESEND_GRACE) -> list[int]:
    """Beat's tick: pending deliveries whose next attempt is long overdue (the retry
    scheduled by a worker that then crashed is lost) are sent again."""
    ids = list(
        WebhookDelivery.objects.filter(
            status=WebhookDeliveryStatus.PENDING, next_attempt_at__lt=timezone.now() - grace
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:500]
    )
    _send_later(ids)
    return ids


def body_of(payload: dict[str, Any]) -> bytes:
    """The bytes posted (and signed) for a payload: compact JSON, keys sorted."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def _payload(*, event: str, brand_id: int, data: dict[str, Any]) -> dict[str, Any]:
    # Round-trip through JSON now, so what is stored is exactly what will be sent.
    return json.loads(
        json.dumps(
            {
                "id": uuid.uuid4().hex,
                "type": event,
                "created_at": timezone.now().isoformat(),
                "brand_id": brand_id,
                "data": data,
            },
            default=str,
        )
    )


def _post(
    delivery: WebhookDelivery, subscription: WebhookSubscription
) -> tuple[int | None, str | None]:
    """Post the delivery, signed now; (status code or None, error or None on a 2xx).
    Through ``integrations.outbound``: public addresses only, no redirects followed, and
    the endpoint's answer is never read — the admin sees its status code, nothing else."""
    body = body_of(delivery.payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **delivery_headers(
            secret=subscription.secret,
            body=body,
            timestamp=int(time.time()),
            event=delivery.event,
            delivery_id=delivery.pk,
        ),
    }
    try:
        code = post(subscription.url, body, headers, timeout=TIMEOUT_SECONDS)
    except AddressRefused as exc:
        return None, f"Refused: {exc}"
    except (OSError, ValueError, http.client.HTTPException) as exc:  # refused, timed out…
        return None, f"{type(exc).__name__}: {exc}"
    if 300 <= code < 400:
        return code, f"HTTP {code}: a redirect, not followed (point the webhook at its target)"
    if not 200 <= code < 300:
        return code, f"HTTP {code}"
    return code, None


def _send_later(ids: list[int]) -> None:
    from .tasks import deliver_webhook

    for delivery_id in ids:
        deliver_webhook.delay(delivery_id)
