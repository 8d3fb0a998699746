"""Outbound webhooks: an admin subscribes a brand's endpoint to events; events emitted by
the real services reach it signed (verified by the sample verifier in docs/WEBHOOKS.md,
run from the markdown itself); a failing endpoint is retried with backoff and logged;
the admin sends a test and sees the result; bad input writes nothing."""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from celery.exceptions import Retry
from django.urls import reverse
from django.utils import timezone

from approvals.services import action_propose
from campaigns.services import campaign_transition_phase
from controltower.celery import app
from governance.domain.audit import Actor
from governance.domain.errors import DomainError, NotPermitted
from governance.domain.roles import Role
from governance.models import AuditEvent
from integrations.domain import signing
from integrations.domain.signing import SignatureInvalid, sign, verify
from integrations.models import WebhookDelivery, WebhookSubscription
from integrations.services import (
    WebhookDeliveryFailed,
    backoff_seconds,
    webhook_deliveries_resend,
    webhook_delivery_send,
    webhook_revoke,
    webhook_send_test,
    webhook_subscribe,
    webhooks_enqueue,
)
from integrations.tasks import deliver_webhook
from tests.factories import UserFactory
from tests.stack import celery_worker

DOC = Path(__file__).resolve().parents[2] / "docs" / "WEBHOOKS.md"

# One literal vector, computed independently of this code base:
#   printf '%s' '1700000000.{"id":"evt_1","type":"approval.requested"}' \
#     | openssl dgst -sha256 -hmac whsec_test_secret
SECRET = "whsec_test_secret"
BODY = b'{"id":"evt_1","type":"approval.requested"}'
T = 1700000000
V1 = "c8788c534003e43f6a73fbe8488ac9818c841faea83b1591e270233194e41505"
HEADER = f"t={T},v1={V1}"
# Same body and time, the secret "whsec_other"; and an empty body under SECRET.
V1_OTHER_SECRET = "3827b558392c5738d5df202c57861562095e8f62a6e1e4d66ae8646eed527ea7"
V1_EMPTY_BODY = "316b9ab98c15bfa039d243f3196acee619cf29749a91a634e6a8154e2f7b6727"

LAUNCH = {"reason": "Creative approved by QA; audience ready"}


# --- A local endpoint ---------------------------------------------------------------


@dataclass
class Received:
    headers: Message  # looked up case-insensitively, as receivers' frameworks do
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def signature(self) -> str:
        return self.headers["X-ControlTower-Signature"]


@dataclass
class Receiver:
    url: str
    status: int = 200
    answer: bytes = b"ok"
    requests: list[Received] = field(default_factory=list)

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.requests


@pytest.fixture
def receiver():
    """An HTTP server on 127.0.0.1 in a thread, recording every POST it is sent and
    answering ``receiver.status``."""
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append(Received(self.headers, body))
            self.send_response(state.status)
            self.send_header("Content-Length", str(len(state.answer)))
            self.end_headers()
            self.wfile.write(state.answer)

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/control-tower"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def docs_verify():
    """``verify`` from the sample verifier in docs/WEBHOOKS.md, executed as written."""
    text = DOC.read_text(encoding="utf-8")
    found = re.search(
        r"<!-- webhook-verifier -->\s*```python\n(.*?)```\s*<!-- /webhook-verifier -->",
        text,
        re.DOTALL,
    )
    assert found, "docs/WEBHOOKS.md lost its <!-- webhook-verifier --> python block"
    namespace = {"__name__": "control_tower_webhook_verifier"}
    exec(compile(found.group(1), f"{DOC}#sample-verifier", "exec"), namespace)
    verify_ = namespace["verify"]
    verify_.Error = namespace["WebhookSignatureError"]
    return verify_


@pytest.fixture
def tasks_run_here():
    """Tasks queued on commit run in the test's process (no worker, no broker)."""
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = eager


def launch(campaign):
    """A launch proposed by an agent: held for a manager → ``approval.requested``."""
    return action_propose(
        campaign_id=campaign.pk,
        action="launch_campaign",
        payload=LAUNCH,
        actor=Actor.for_agent("planner"),
        summary="Launch the campaign",
    ).approval


def make_due(delivery):
    """The backoff has elapsed (the clock, not the row, is what the test moves)."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def fresh(delivery):
    return WebhookDelivery.objects.get(pk=delivery.pk)


# --- Signing: literal vectors -------------------------------------------------------


class TestSigning:
    def test_sign_matches_the_literal_vector(self):
        assert sign(SECRET, BODY, T) == HEADER
        assert sign(SECRET.encode(), BODY, T) == HEADER
        assert sign("whsec_other", BODY, T) == f"t={T},v1={V1_OTHER_SECRET}"
        assert sign(SECRET, b"", T) == f"t={T},v1={V1_EMPTY_BODY}"

    def test_the_documented_example_header_is_the_vector(self):
        assert f"X-ControlTower-Signature: {HEADER}" in DOC.read_text(encoding="utf-8")

    @pytest.mark.parametrize("now", [T, T + 300, T - 300])
    def test_a_genuine_header_verifies_within_the_tolerance(self, now):
        verify(SECRET, BODY, HEADER, now=now)

    @pytest.mark.parametrize(
        ("secret", "body", "header", "now", "reason"),
        [
            (SECRET, BODY, None, T, "missing signature header"),
            (SECRET, BODY, "", T, "missing signature header"),
            (SECRET, BODY, "garbage", T, "malformed signature header"),
            (SECRET, BODY, f"t=soon,v1={V1}", T, "malformed timestamp"),
            (SECRET, BODY, f"t={T},t={T},v1={V1}", T, "malformed timestamp"),
            (SECRET, BODY, f"v1={V1}", T, "no timestamp in signature header"),
            (SECRET, BODY, f"t={T}", T, "no v1 signature in signature header"),
            (SECRET, BODY, f"t={T},v0={V1}", T, "no v1 signature in signature header"),
            (SECRET, BODY, HEADER, T + 301, "timestamp too old"),
            (SECRET, BODY, HEADER, T - 301, "timestamp in the future"),
            ("whsec_other", BODY, HEADER, T, "signature mismatch"),
            (SECRET, BODY + b" ", HEADER, T, "signature mismatch"),
            (SECRET, BODY, f"t={T + 1},v1={V1}", T, "signature mismatch"),  # re-dated
            (SECRET, BODY, f"t={T},v1={V1[:-1]}", T, "signature mismatch"),
            (SECRET, BODY, f"t={T},v1=é{V1[1:]}", T, "signature mismatch"),
        ],
    )
    def test_a_bad_header_is_refused_with_its_reason(self, secret, body, header, now, reason):
        with pytest.raises(SignatureInvalid) as refused:
            verify(secret, body, header, now=now)
        assert refused.value.reason == reason

    def test_any_of_several_v1_signatures_may_match_and_other_schemes_are_ignored(self):
        verify(SECRET, BODY, f"t={T},v1={V1_OTHER_SECRET},v2=future,v1={V1}", now=T)
        verify(SECRET, BODY, f"t={T}, v1={V1.upper()}", now=T)

    def test_a_custom_tolerance(self):
        verify(SECRET, BODY, HEADER, now=T + 3000, tolerance_seconds=3600)
        with pytest.raises(SignatureInvalid, match="too old"):
            verify(SECRET, BODY, HEADER, now=T + 31, tolerance_seconds=30)

    def test_the_delivery_headers(self):
        assert signing.delivery_headers(
            secret=SECRET, body=BODY, timestamp=T, event="approval.requested", delivery_id=9
        ) == {
            "X-ControlTower-Signature": HEADER,
            "X-ControlTower-Event": "approval.requested",
            "X-ControlTower-Delivery": "9",
            "X-ControlTower-Timestamp": str(T),
        }


class TestTheDocumentedVerifier:
    def test_it_accepts_the_vector_and_what_sign_makes(self, docs_verify):
        assert docs_verify(SECRET, BODY, HEADER, now=T) == T
        assert docs_verify(SECRET.encode(), BODY.decode(), HEADER, now=T + 299) == T
        fresh_t = int(time.time())
        assert docs_verify(SECRET, BODY, sign(SECRET, BODY, fresh_t)) == fresh_t  # real clock

    @pytest.mark.parametrize(
        ("secret", "body", "header", "now", "message"),
        [
            (SECRET, BODY, None, T, "missing"),
            (SECRET, BODY, "garbage", T, "malformed"),
            (SECRET, BODY, f"t=soon,v1={V1}", T, "malformed timestamp"),
            (SECRET, BODY, f"t={T}", T, "malformed"),
            (SECRET, BODY, HEADER, T + 301, "too old"),  # replayed five minutes later
            (SECRET, BODY, HEADER, T - 301, "future"),
            ("whsec_other", BODY, HEADER, T, "mismatch"),
            (SECRET, BODY + b" ", HEADER, T, "mismatch"),
            (SECRET, BODY, f"t={T + 1},v1={V1}", T, "mismatch"),  # a replay re-dated
            (SECRET, BODY, f"t={T},v1=é{V1[1:]}", T, "mismatch"),
        ],
    )
    def test_it_rejects_what_the_tower_would(self, docs_verify, secret, body, header, now, message):
        with pytest.raises(docs_verify.Error, match=message):
            docs_verify(secret, body, header, now=now)
        with pytest.raises(SignatureInvalid):
            verify(secret, body, header, now=now)

    def test_it_uses_only_the_standard_library(self):
        code = re.search(
            r"<!-- webhook-verifier -->\s*```python\n(.*?)```", DOC.read_text(), re.DOTALL
        ).group(1)
        imports = set(re.findall(r"^(?:import|from) (\w+)", code, re.MULTILINE))
        assert imports == {"hashlib", "hmac", "time"}


def test_backoff_is_30_seconds_doubling_to_at_most_an_hour():
    assert [backoff_seconds(n) for n in range(1, 10)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]


# --- Subscribing ----------------------------------------------------------------------


@pytest.mark.django_db
class TestSubscribe:
    def test_an_admin_subscribes_and_gets_the_secret_once(self, brand_a, admin_user, receiver):
        subscription, secret = webhook_subscribe(
            brand=brand_a,
            url=receiver.url,
            events=["sla.breached", "approval.requested", "sla.breached"],
            user=admin_user,
            description="Ops bridge",
        )
        assert re.fullmatch(r"whsec_[A-Za-z0-9_-]{43}", secret)
        assert subscription.secret == secret  # kept: signing needs the key itself
        assert subscription.events == ["approval.requested", "sla.breached"]
        assert (subscription.active, subscription.revoked_at) == (True, None)
        event = AuditEvent.objects.get(action="webhook.subscribed")
        assert (event.actor_user, event.brand) == (admin_user, brand_a)
        assert event.data == {
            "url": receiver.url,
            "events": ["approval.requested", "sla.breached"],
            "description": "Ops bridge",
            "secret_hint": secret[:10] + "…",
        }
        assert secret not in json.dumps(event.data)

    @pytest.mark.parametrize(
        ("url", "events", "message"),
        [
            ("ftp://example.com/hook", ["sla.breached"], "http:// or https://"),
            ("javascript:alert(1)", ["sla.breached"], "http:// or https://"),
            ("https://", ["sla.breached"], "with a host"),
            ("https://user:pw@example.com/hook", ["sla.breached"], "no credentials"),
            ("https://example.com/hook", [], "at least one event"),
            (
                "https://example.com/hook",
                ["sla.breached", "campaign.deleted"],
                "“campaign.deleted”",
            ),
            ("https://example.com/hook", ["webhook.test"], "Unknown event"),
        ],
    )
    def test_bad_input_is_refused_with_nothing_written(
        self, brand_a, admin_user, url, events, message
    ):
        with pytest.raises(DomainError, match=re.escape(message)):
            webhook_subscribe(brand=brand_a, url=url, events=events, user=admin_user)
        assert not WebhookSubscription.objects.exists()
        assert not AuditEvent.objects.exists()

    def test_only_admins_subscribe(self, brand_a, manager):
        with pytest.raises(NotPermitted):
            webhook_subscribe(
                brand=brand_a, url="https://example.com", events=["sla.breached"], user=manager
            )
        assert not WebhookSubscription.objects.exists()


# --- Events reach subscribed endpoints ----------------------------------------------


@dataclass
class Delivered:
    request: Received
    secret: str
    delivery: WebhookDelivery
    approval: object


@pytest.fixture
def delivered(
    brand_a, admin_user, campaign_a, receiver, tasks_run_here, django_capture_on_commit_callbacks
):
    """A launch proposed through the real gate, and what the subscribed endpoint got."""
    subscription, secret = webhook_subscribe(
        brand=brand_a, url=receiver.url, events=["approval.requested"], user=admin_user
    )
    with django_capture_on_commit_callbacks(execute=True):
        approval = launch(campaign_a)
    (request,) = receiver.requests
    return Delivered(
        request, secret, WebhookDelivery.objects.get(subscription=subscription), approval
    )


@pytest.mark.django_db
def test_an_emitted_event_reaches_the_endpoint_signed_so_the_docs_verifier_accepts_it(
    delivered, brand_a, campaign_a, docs_verify
):
    request, delivery = delivered.request, delivered.delivery

    timestamp = docs_verify(delivered.secret, request.body, request.signature)
    assert abs(timestamp - time.time()) < 60
    assert request.headers["X-ControlTower-Event"] == "approval.requested"
    assert request.headers["X-ControlTower-Delivery"] == str(delivery.pk)
    assert request.headers["X-ControlTower-Timestamp"] == str(timestamp)
    assert request.headers["Content-Type"] == "application/json"
    body = request.json
    assert body == {
        "id": delivery.event_id,
        "type": "approval.requested",
        "created_at": body["created_at"],
        "brand_id": brand_a.pk,
        "data": {
            "approval_id": delivered.approval.pk,
            "campaign_id": campaign_a.pk,
            "action_type": "launch_campaign",
            "queue_role": Role.MANAGER.value,
            "summary": "Launch the campaign",
            "rule": "launch_campaign.needs_approval",
        },
    }
    assert re.fullmatch(r"[0-9a-f]{32}", body["id"])
    assert delivery.payload == body  # the log keeps the body as sent

    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("sent", 1, 200)
    assert delivery.sent_at is not None and delivery.last_error == ""
    assert delivery.next_attempt_at is None

    with pytest.raises(docs_verify.Error, match="mismatch"):
        docs_verify("whsec_someone_else", request.body, request.signature)
    with pytest.raises(docs_verify.Error, match="mismatch"):
        docs_verify(delivered.secret, request.body.replace(b"launch", b"lunch"), request.signature)
    # Sent means done: a duplicate task posts nothing.
    assert webhook_delivery_send(delivery_id=delivery.pk) == "skipped"


@pytest.mark.django_db
def test_a_replayed_or_old_request_is_rejected_by_the_docs_verifier(delivered, docs_verify):
    request, secret = delivered.request, delivered.secret
    t = docs_verify(secret, request.body, request.signature)

    # The same request captured and replayed later: its signed timestamp is too old.
    with pytest.raises(docs_verify.Error, match="too old"):
        docs_verify(secret, request.body, request.signature, now=t + 301)
    assert docs_verify(secret, request.body, request.signature, now=t + 300) == t
    # Re-dating it does not help: the timestamp is signed.
    v1 = request.signature.split("v1=")[1]
    with pytest.raises(docs_verify.Error, match="mismatch"):
        docs_verify(secret, request.body, f"t={t + 301},v1={v1}", now=t + 301)
    with pytest.raises(docs_verify.Error, match="future"):
        docs_verify(secret, request.body, request.signature, now=t - 301)


@pytest.mark.django_db
def test_an_unsubscribed_event_a_revoked_and_another_brands_subscription_get_nothing(
    brand_a,
    brand_b,
    admin_user,
    manager,
    campaign_a,
    receiver,
    tasks_run_here,
    django_capture_on_commit_callbacks,
    docs_verify,
):
    phases_only, phases_secret = webhook_subscribe(
        brand=brand_a, url=receiver.url, events=["campaign.phase_changed"], user=admin_user
    )
    webhook_subscribe(
        brand=brand_b, url=receiver.url, events=["approval.requested"], user=admin_user
    )
    revoked, _ = webhook_subscribe(
        brand=brand_a, url=receiver.url, events=["approval.requested"], user=admin_user
    )
    webhook_revoke(subscription_id=revoked.pk, user=admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        launch(campaign_a)
    assert receiver.requests == []
    assert not WebhookDelivery.objects.exists()
    assert webhooks_enqueue(event="approval.requested", brand_id=brand_a.pk, data={}) == []

    with django_capture_on_commit_callbacks(execute=True):
        campaign_transition_phase(
            campaign_id=campaign_a.pk, to_phase="execution", actor=Actor.for_user(manager)
        )
    (request,) = receiver.requests
    docs_verify(phases_secret, request.body, request.signature)
    assert request.json["type"] == "campaign.phase_changed"
    assert request.json["data"]["campaign_id"] == campaign_a.pk
    assert request.json["data"]["to"] == "execution"
    assert list(WebhookDelivery.objects.values_list("subscription", "status")) == [
        (phases_only.pk, "sent")
    ]


@pytest.mark.django_db
def test_one_event_to_two_subscriptions_shares_its_id(brand_a, admin_user, receiver):
    first, _ = webhook_subscribe(
        brand=brand_a, url=receiver.url, events=["sla.breached"], user=admin_user
    )
    second, _ = webhook_subscribe(
        brand=brand_a, url=receiver.url + "?copy", events=["sla.breached"], user=admin_user
    )
    ids = webhooks_enqueue(event="sla.breached", brand_id=brand_a.pk, data={"campaign_id": 1})
    deliveries = WebhookDelivery.objects.filter(pk__in=ids)
    assert {d.subscription_id for d in deliveries} == {first.pk, second.pk}
    assert len({d.event_id for d in deliveries}) == 1
    assert {d.status for d in deliveries} == {"pending"}  # the worker sends them


# --- A failing endpoint -------------------------------------------------------------


@pytest.mark.django_db
def test_a_failing_endpoint_is_retried_with_backoff_logged_then_failed(
    brand_a,
    admin_user,
    campaign_a,
    receiver,
    settings,
    tasks_run_here,
    django_capture_on_commit_callbacks,
    docs_verify,
):
    settings.CONTROLTOWER_WEBHOOK_MAX_ATTEMPTS = 4
    receiver.status, receiver.answer = 500, b"database is down"
    _, secret = webhook_subscribe(
        brand=brand_a, url=receiver.url, events=["approval.requested"], user=admin_user
    )

    # 1: the worker's first attempt, once the proposal committed.
    with django_capture_on_commit_callbacks(execute=True):
        launch(campaign_a)
    delivery = WebhookDelivery.objects.get()
    assert len(receiver.requests) == 1
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert delivery.last_error == "HTTP 500"  # the answer itself is never read
    assert delivery.sent_at is None
    wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert 25 < wait <= 30

    # Not due yet: an early duplicate task posts nothing and counts nothing.
    assert webhook_delivery_send(delivery_id=delivery.pk) == "skipped"
    assert (len(receiver.requests), fresh(delivery).attempts) == (1, 1)
    assert webhook_deliveries_resend() == []  # beat leaves a retry that is on its way

    # 2: the retry was lost (a worker crashed); beat's sweep sends it once overdue.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=6)
    )
    assert webhook_deliveries_resend() == [delivery.pk]
    delivery = fresh(delivery)
    assert (delivery.status, delivery.attempts, len(receiver.requests)) == ("pending", 2, 2)
    wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert 55 < wait <= 60

    # 3: the endpoint is now unreachable: no status code, the connection error is kept.
    WebhookSubscription.objects.filter(pk=delivery.subscription_id).update(
        url="http://127.0.0.1:9/closed"
    )
    make_due(delivery)
    with pytest.raises(WebhookDeliveryFailed) as failed:
        webhook_delivery_send(delivery_id=delivery.pk)
    assert failed.value.retry_in == 120
    delivery = fresh(delivery)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 3, None)
    assert "Connection refused" in delivery.last_error

    # 4: the last attempt: failed for good, never tried again.
    WebhookSubscription.objects.filter(pk=delivery.subscription_id).update(url=receiver.url)
    make_due(delivery)
    assert webhook_delivery_send(delivery_id=delivery.pk) == "failed"
    delivery = fresh(delivery)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 4, 500)
    assert delivery.last_error == "HTTP 500"  # the answer itself is never read
    assert delivery.next_attempt_at is None and delivery.sent_at is None
    assert webhook_delivery_send(delivery_id=delivery.pk) == "skipped"
    assert webhook_deliveries_resend() == []

    # Every attempt carried the same body and id, each signed afresh and valid.
    assert len(receiver.requests) == 3
    assert len({r.body for r in receiver.requests}) == 1
    assert {r.headers["X-ControlTower-Delivery"] for r in receiver.requests} == {str(delivery.pk)}
    for request in receiver.requests:
        docs_verify(secret, request.body, request.signature)


@pytest.mark.django_db
def test_the_task_retries_on_failure_waiting_as_long_as_the_delivery_says(
    brand_a, admin_user, receiver, monkeypatch
):
    receiver.status = 503
    webhook_subscribe(brand=brand_a, url=receiver.url, events=["sla.breached"], user=admin_user)
    (delivery_id,) = webhooks_enqueue(event="sla.breached", brand_id=brand_a.pk, data={})
    retries = []

    def retry(**kwargs):
        retries.append(kwargs)
        return Retry("retry later", when=kwargs["countdown"])

    monkeypatch.setattr(deliver_webhook, "retry", retry)
    assert deliver_webhook.apply(args=[delivery_id]).state == "RETRY"
    make_due(WebhookDelivery(pk=delivery_id))
    assert deliver_webhook.apply(args=[delivery_id]).state == "RETRY"

    assert [r["countdown"] for r in retries] == [30, 60]
    assert all(isinstance(r["exc"], WebhookDeliveryFailed) for r in retries)
    assert WebhookDelivery.objects.get(pk=delivery_id).attempts == 2

    receiver.status = 204
    make_due(WebhookDelivery(pk=delivery_id))
    assert deliver_webhook.apply(args=[delivery_id]).get() == "sent"
    assert len(retries) == 2


@pytest.mark.django_db
def test_a_revoked_subscriptions_pending_delivery_is_not_sent(brand_a, admin_user, receiver):
    subscription, _ = webhook_subscribe(
        brand=brand_a, url=receiver.url, events=["sla.breached"], user=admin_user
    )
    (delivery_id,) = webhooks_enqueue(event="sla.breached", brand_id=brand_a.pk, data={})
    webhook_revoke(subscription_id=subscription.pk, user=admin_user)
    assert webhook_delivery_send(delivery_id=delivery_id) == "failed"
    assert receiver.requests == []
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (delivery.attempts, delivery.last_error) == (
        0,
        "Not sent: the subscription was revoked.",
    )
    (event,) = AuditEvent.objects.filter(action="webhook.revoked")
    assert event.actor_user == admin_user and event.brand == brand_a


# --- The admin ----------------------------------------------------------------------


def admin_url(name, *args):
    return reverse(f"admin:integrations_webhooksubscription_{name}", args=args)


def shown_messages(response):
    return [str(m) for m in response.context["messages"]]


@pytest.mark.django_db
class TestAdmin:
    def test_an_admin_subscribes_from_the_add_form_and_sees_the_secret_once(
        self, login, admin_user, brand_a, receiver
    ):
        client = login(admin_user)
        page = client.get(admin_url("add"))
        assert page.status_code == 200
        content = page.content.decode()
        assert 'type="checkbox" name="events" value="approval.requested"' in content
        assert "A campaign moved to another phase (campaign.phase_changed)" in content

        response = client.post(
            admin_url("add"),
            {
                "brand": brand_a.pk,
                "url": receiver.url,
                "events": ["approval.requested", "escalation.opened"],
                "description": "Ops bridge",
            },
            follow=True,
        )
        assert response.status_code == 200
        subscription = WebhookSubscription.objects.get()
        assert subscription.events == ["approval.requested", "escalation.opened"]
        assert subscription.created_by == admin_user
        (warning,) = [m for m in shown_messages(response) if "signing secret" in m]
        assert subscription.secret in warning and "shown only once" in warning
        assert AuditEvent.objects.filter(action="webhook.subscribed").count() == 1

        change = client.get(admin_url("change", subscription.pk)).content.decode()
        assert subscription.secret not in change
        assert subscription.secret_hint in change
        assert "Send a test" in change and admin_url("send_test", subscription.pk) in change

    @pytest.mark.parametrize(
        ("url", "events", "error"),
        [
            ("ftp://example.com/hook", ["sla.breached"], "http:// or https://"),
            ("not a url", ["sla.breached"], "Enter a valid URL"),
            ("https://example.com/hook", [], "This field is required"),
            ("https://example.com/hook", ["campaign.deleted"], "Select a valid choice"),
            ("https://user:pw@example.com/hook", ["sla.breached"], "no credentials"),
        ],
    )
    def test_bad_input_in_the_form_is_refused_with_nothing_written(
        self, login, admin_user, brand_a, url, events, error
    ):
        response = login(admin_user).post(
            admin_url("add"), {"brand": brand_a.pk, "url": url, "events": events}
        )
        assert response.status_code == 200
        assert error in response.content.decode()
        assert not WebhookSubscription.objects.exists()
        assert not AuditEvent.objects.exists()

    def test_send_a_test_from_the_page_shows_it_worked(
        self, login, admin_user, brand_a, receiver, docs_verify
    ):
        subscription, secret = webhook_subscribe(
            brand=brand_a, url=receiver.url, events=["sla.breached"], user=admin_user
        )
        client = login(admin_user)
        response = client.post(admin_url("send_test", subscription.pk), follow=True)

        assert response.redirect_chain[-1][0] == admin_url("change", subscription.pk)
        delivery = WebhookDelivery.objects.get()
        assert shown_messages(response) == [
            f"Test delivery #{delivery.pk} to {receiver.url}: sent, the endpoint answered 200."
        ]
        (request,) = receiver.requests
        docs_verify(secret, request.body, request.signature)
        assert request.headers["X-ControlTower-Event"] == "webhook.test"
        assert request.json["data"]["subscription_id"] == subscription.pk
        assert request.json["data"]["by"] == admin_user.username
        assert (delivery.event, delivery.status, delivery.attempts) == ("webhook.test", "sent", 1)
        tested = AuditEvent.objects.get(action="webhook.tested")
        assert tested.data == {"delivery_id": delivery.pk, "url": receiver.url}
        # The delivery log on the page shows it.
        page = response.content.decode()
        assert "webhook.test" in page and "Sent" in page
        assert client.get(admin_url("send_test", subscription.pk)).status_code == 405

    def test_a_failing_test_is_reported_once_and_not_retried(
        self, login, admin_user, brand_a, receiver
    ):
        receiver.status, receiver.answer = 404, b"no such hook"
        subscription, _ = webhook_subscribe(
            brand=brand_a, url=receiver.url, events=["sla.breached"], user=admin_user
        )
        response = login(admin_user).post(admin_url("send_test", subscription.pk), follow=True)

        delivery = WebhookDelivery.objects.get()
        assert shown_messages(response) == [
            f"Test delivery #{delivery.pk} to {receiver.url} failed: HTTP 404"
        ]
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
            "failed",
            1,
            404,
        )
        assert len(receiver.requests) == 1

    def test_the_list_actions_send_tests_and_revoke(self, login, admin_user, brand_a, receiver):
        subscription, _ = webhook_subscribe(
            brand=brand_a, url=receiver.url, events=["sla.breached"], user=admin_user
        )
        client = login(admin_user)
        changelist = admin_url("changelist")
        response = client.post(
            changelist,
            {"action": "send_test_action", "_selected_action": [subscription.pk]},
            follow=True,
        )
        assert "sent, the endpoint answered 200" in shown_messages(response)[0]
        assert len(receiver.requests) == 1

        response = client.post(
            changelist,
            {"action": "revoke_action", "_selected_action": [subscription.pk]},
            follow=True,
        )
        assert "Revoked 1 webhook(s)." in shown_messages(response)
        assert WebhookSubscription.objects.get().revoked_at is not None
        response = client.post(admin_url("send_test", subscription.pk), follow=True)
        assert "revoked" in shown_messages(response)[0]
        assert len(receiver.requests) == 1
        assert webhooks_enqueue(event="sla.breached", brand_id=brand_a.pk, data={}) == []

    def test_the_delivery_log_is_read_only_for_admins(self, login, admin_user, brand_a, receiver):
        subscription, _ = webhook_subscribe(
            brand=brand_a, url=receiver.url, events=["sla.breached"], user=admin_user
        )
        webhook_send_test(subscription_id=subscription.pk, user=admin_user)
        delivery = WebhookDelivery.objects.get()
        client = login(admin_user)
        log = reverse("admin:integrations_webhookdelivery_changelist")
        listing = client.get(log, {"status__exact": "sent"})
        assert listing.status_code == 200 and "webhook.test" in listing.content.decode()
        page = client.get(reverse("admin:integrations_webhookdelivery_change", args=[delivery.pk]))
        assert page.status_code == 200 and delivery.event_id in page.content.decode()
        assert subscription.secret not in page.content.decode()
        assert client.get(reverse("admin:integrations_webhookdelivery_add")).status_code == 403

    def test_non_admins_cannot_reach_the_webhook_admin(self, client, manager, brand_a, receiver):
        admin_user = UserFactory(username="root-admin", role=Role.ADMIN, is_staff=True)
        subscription, _ = webhook_subscribe(
            brand=brand_a, url=receiver.url, events=["sla.breached"], user=admin_user
        )
        pages = [
            admin_url("changelist"),
            admin_url("add"),
            admin_url("change", subscription.pk),
            reverse("admin:integrations_webhookdelivery_changelist"),
        ]
        client.force_login(manager)  # not staff: the admin site sends them to log in
        for page in pages:
            response = client.get(page)
            assert response.status_code == 302 and "/admin/login/" in response["Location"]
        response = client.post(admin_url("send_test", subscription.pk))
        assert response.status_code == 302 and "/admin/login/" in response["Location"]

        staff_manager = UserFactory(role=Role.MANAGER, is_staff=True, brands=[brand_a])
        client.force_login(staff_manager)  # staff, but not an admin
        for page in pages:
            assert client.get(page).status_code == 403, page
        assert client.post(admin_url("send_test", subscription.pk)).status_code == 403
        response = client.post(
            admin_url("add"),
            {"brand": brand_a.pk, "url": "https://example.com/x", "events": ["sla.breached"]},
        )
        assert response.status_code == 403
        assert receiver.requests == []
        assert WebhookSubscription.objects.count() == 1 and not WebhookDelivery.objects.exists()
        with pytest.raises(NotPermitted):
            webhook_send_test(subscription_id=subscription.pk, user=staff_manager)


# --- A real worker ------------------------------------------------------------------


@pytest.mark.stack
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_an_event_after_commit(
    tmp_path, brand_a, admin_user, manager, campaign_a, receiver, docs_verify
):
    _, secret = webhook_subscribe(
        brand=brand_a, url=receiver.url, events=["campaign.phase_changed"], user=admin_user
    )
    with celery_worker(tmp_path / "worker.log"):
        campaign_transition_phase(
            campaign_id=campaign_a.pk, to_phase="execution", actor=Actor.for_user(manager)
        )
        (request,) = receiver.wait_for(1)
        deadline = time.monotonic() + 30
        while WebhookDelivery.objects.get().status == "pending" and time.monotonic() < deadline:
            time.sleep(0.1)

    docs_verify(secret, request.body, request.signature)
    assert request.json["type"] == "campaign.phase_changed"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("sent", 1, 200)
