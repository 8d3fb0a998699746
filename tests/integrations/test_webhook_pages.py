"""Admins manage a brand's webhooks in the app: list, add (the secret shown once), pause,
resume, revoke, send a test, read the deliveries. Everyone else is refused."""

import pytest
from django.urls import reverse

from governance.models import AuditEvent
from integrations.models import WebhookDelivery, WebhookSubscription
from integrations.services import (
    webhook_delivery_send,
    webhook_pause,
    webhook_subscribe,
    webhooks_enqueue,
)
from tests.integrations.test_webhooks import receiver  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db


def add(client, brand, url, events=("sla.breached",), **extra):
    return client.post(
        reverse("webhooks:list"),
        {"brand": brand.pk, "url": url, "events": list(events), **extra},
    )


def test_an_admin_adds_a_webhook_and_sees_its_secret_once(client, admin_user, brand_a, receiver):  # noqa: F811
    client.force_login(admin_user)
    response = add(client, brand_a, receiver.url, description="Ops channel")
    assert response.status_code == 200
    subscription = WebhookSubscription.objects.get()
    html = response.content.decode()
    assert subscription.secret in html and "shown this once" in html
    listing = client.get(reverse("webhooks:list")).content.decode()
    assert receiver.url in listing and subscription.secret not in listing
    assert "Sending" in listing


def test_bad_input_is_refused_with_every_reason_and_adds_nothing(client, admin_user, brand_a):
    client.force_login(admin_user)
    response = add(client, brand_a, "not a url", events=())
    assert response.status_code == 422
    html = response.content.decode()
    assert "Enter a valid URL." in html and "Choose at least one event to send." in html
    assert not WebhookSubscription.objects.exists()


def test_paused_nothing_is_queued_and_what_was_queued_is_not_sent(
    client,
    admin_user,
    brand_a,
    receiver,  # noqa: F811
):
    subscription, _ = webhook_subscribe(
        brand=brand_a, url=receiver.url, events=["sla.breached"], user=admin_user
    )
    (queued,) = webhooks_enqueue(event="sla.breached", brand_id=brand_a.pk, data={})
    client.force_login(admin_user)
    client.post(reverse("webhooks:act", args=[subscription.pk, "pause"]))
    assert webhooks_enqueue(event="sla.breached", brand_id=brand_a.pk, data={}) == []
    assert webhook_delivery_send(delivery_id=queued) == "failed"
    assert WebhookDelivery.objects.get(pk=queued).last_error == (
        "Not sent: the subscription was paused."
    )
    assert receiver.requests == []
    assert "Paused" in client.get(reverse("webhooks:list")).content.decode()

    client.post(reverse("webhooks:act", args=[subscription.pk, "resume"]))
    assert len(webhooks_enqueue(event="sla.breached", brand_id=brand_a.pk, data={})) == 1
    actions = list(
        AuditEvent.objects.filter(action__startswith="webhook.").values_list("action", flat=True)
    )
    assert actions == ["webhook.subscribed", "webhook.paused", "webhook.resumed"]


def test_send_a_test_and_read_the_deliveries(client, admin_user, brand_a, receiver):  # noqa: F811
    subscription, _ = webhook_subscribe(
        brand=brand_a, url=receiver.url, events=["sla.breached"], user=admin_user
    )
    client.force_login(admin_user)
    response = client.post(reverse("webhooks:act", args=[subscription.pk, "test"]), follow=True)
    assert "Test sent:" in response.content.decode()
    assert receiver.requests[0].json["type"] == "webhook.test"
    detail = client.get(reverse("webhooks:detail", args=[subscription.pk])).content.decode()
    assert "webhook.test" in detail and "HTTP 200" in detail


def test_a_revoked_webhook_cannot_be_resumed(client, admin_user, brand_a, receiver):  # noqa: F811
    subscription, _ = webhook_subscribe(
        brand=brand_a, url=receiver.url, events=["sla.breached"], user=admin_user
    )
    webhook_pause(subscription_id=subscription.pk, user=admin_user)
    client.force_login(admin_user)
    client.post(reverse("webhooks:act", args=[subscription.pk, "revoke"]))
    response = client.post(reverse("webhooks:act", args=[subscription.pk, "resume"]), follow=True)
    assert "This webhook is revoked" in response.content.decode()
    assert not WebhookSubscription.objects.get().active


def test_only_admins_manage_webhooks(client, manager, brand_a):
    client.force_login(manager)
    assert client.get(reverse("webhooks:list")).status_code == 403
    assert add(client, brand_a, "https://example.com/hook").status_code == 403
    assert not WebhookSubscription.objects.exists()
