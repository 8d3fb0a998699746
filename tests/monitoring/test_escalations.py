"""Escalations: opened by the rules or a person, they stop the work, tell people in-app,
by email and on the brand's webhook, and climb owner → managers → admins until someone
acknowledges; resolved with a note. Deliveries are retried and logged."""

import http.server
import json
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.test.utils import CaptureQueriesContext

from campaigns.models import Campaign
from campaigns.services import campaign_transition_phase
from governance.domain.audit import Actor
from governance.domain.errors import DomainError, NotPermitted
from governance.domain.roles import Role
from governance.models import AuditEvent
from monitoring.domain.escalation import Source, Trigger
from monitoring.models import (
    Escalation,
    MonitoringSettings,
    Notification,
    NotificationDelivery,
)
from monitoring.services import (
    escalation_acknowledge,
    escalation_raise,
    escalation_resolve,
    escalations_climb,
    notification_delivery_send,
)
from monitoring.services.notify import DeliveryFailed
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

MIN = timedelta(minutes=1)


@pytest.fixture
def people(brand_a, manager, admin_user):
    """The brand's second manager and an admin, beside the owner (``manager``)."""
    return {
        "owner": manager,
        "manager": UserFactory(username="manager-2", role=Role.MANAGER, brands=[brand_a]),
        "admin": admin_user,
    }


def raise_cpa(campaign):
    return escalation_raise(
        campaign_id=campaign.pk,
        trigger=Trigger(
            source=Source.FLAG,
            flag_kind="cpa_above_limit",
            flag_response="escalate",
            summary="CPA 41.20 is above the control limit 28.00 for 3 h",
        ),
    )


def send_pending():
    """What the worker does after commit: send each pending delivery."""
    for delivery in NotificationDelivery.objects.filter(status="pending"):
        notification_delivery_send(delivery_id=delivery.pk)


def told(escalation):
    return sorted(
        Notification.objects.filter(escalation=escalation).values_list(
            "recipient__username", flat=True
        )
    )


def test_an_escalation_stops_the_campaign_and_tells_its_owner(campaign_a, people):
    escalation = raise_cpa(campaign_a)
    campaign = Campaign.objects.get(pk=campaign_a.pk)
    assert (campaign.phase, campaign.escalation_state) == ("escalated", "open")
    assert (escalation.reason, escalation.level, escalation.status) == ("performance", 0, "open")
    assert escalation.next_climb_at == escalation.entered_level_at + 15 * MIN
    assert told(escalation) == ["manager"]
    send_pending()
    assert [m.to for m in mail.outbox] == [["manager@example.com"]]
    assert "CPA 41.20" in mail.outbox[0].body and "/campaigns/" in mail.outbox[0].body
    assert AuditEvent.objects.filter(action="escalation.opened").count() == 1
    # The same incident again finds the open escalation: one incident, one escalation.
    assert raise_cpa(campaign_a).pk == escalation.pk


def test_it_climbs_the_chain_when_nobody_answers_and_stops_when_acknowledged(campaign_a, people):
    escalation = raise_cpa(campaign_a)
    opened = escalation.entered_level_at
    assert escalations_climb(now=opened + 15 * MIN - timedelta(seconds=1)) == []
    assert escalations_climb(now=opened + 15 * MIN) == [escalation.pk]
    escalation.refresh_from_db()
    assert escalation.level == 1 and told(escalation) == ["manager", "manager-2"]
    assert escalation.next_climb_at == opened + 45 * MIN

    escalation_acknowledge(escalation_id=escalation.pk, user=people["manager"])
    assert escalations_climb(now=opened + 10 * 60 * MIN) == []
    escalation.refresh_from_db()
    assert (escalation.status, escalation.level, escalation.next_climb_at) == (
        "acknowledged",
        1,
        None,
    )
    assert "admin" not in told(escalation)
    assert Campaign.objects.get(pk=campaign_a.pk).escalation_state == "acknowledged"


def test_a_late_sweep_tells_every_tier_it_passed(campaign_a, people):
    escalation = raise_cpa(campaign_a)
    escalations_climb(now=escalation.entered_level_at + 5 * 60 * MIN)
    escalation.refresh_from_db()
    assert escalation.level == 2 and escalation.next_climb_at is None
    assert escalation.entered_level_at == escalation.opened_at + 45 * MIN  # the chain's clock
    assert set(told(escalation)) == {"manager", "manager-2", "admin"}
    assert [e.data["tier"] for e in AuditEvent.objects.filter(action="escalation.climbed")] == [
        "manager",
        "admin",
    ]


def test_a_brands_own_chain_is_used(campaign_a, people):
    MonitoringSettings.objects.create(
        brand=campaign_a.brand,
        escalation_chain=[{"tier": "manager", "wait_minutes": 5}, {"tier": "admin"}],
    )
    escalation = raise_cpa(campaign_a)
    assert told(escalation) == ["manager", "manager-2"]
    assert escalation.next_climb_at == escalation.entered_level_at + 5 * MIN


def test_resolving_needs_a_note_and_can_resume_the_campaign(campaign_a, people):
    escalation = raise_cpa(campaign_a)
    with pytest.raises(DomainError, match="note is required"):
        escalation_resolve(escalation_id=escalation.pk, user=people["owner"], note="  ")
    escalation_resolve(
        escalation_id=escalation.pk,
        user=people["owner"],
        note="Paused the tired ad set; CPA is back under 28",
        resume=True,
    )
    escalation.refresh_from_db()
    campaign = Campaign.objects.get(pk=campaign_a.pk)
    assert escalation.status == "resolved" and escalation.resolved_by == people["owner"]
    assert (campaign.phase, campaign.escalation_state) == ("briefing", "resolved")
    with pytest.raises(DomainError, match="already resolved"):
        escalation_resolve(escalation_id=escalation.pk, user=people["owner"], note="again")


def test_resuming_the_campaign_resolves_its_escalations(campaign_a, people):
    escalation = raise_cpa(campaign_a)
    campaign_transition_phase(
        campaign_id=campaign_a.pk,
        to_phase="briefing",
        actor=Actor.for_user(people["owner"]),
        reason="Checked the tracking: it was a reporting delay",
    )
    escalation.refresh_from_db()
    assert escalation.status == "resolved"
    assert escalation.resolution_note == "Checked the tracking: it was a reporting delay"


def test_legal_reviewers_see_but_do_not_answer_escalations(campaign_a, people, legal_a):
    escalation = raise_cpa(campaign_a)
    with pytest.raises(NotPermitted):
        escalation_acknowledge(escalation_id=escalation.pk, user=legal_a)
    with pytest.raises(NotPermitted):
        escalation_resolve(escalation_id=escalation.pk, user=legal_a, note="fine")
    escalation.refresh_from_db()
    assert escalation.status == "open"


def test_a_person_escalating_is_not_told_of_their_own_escalation(campaign_a, people):
    campaign_transition_phase(
        campaign_id=campaign_a.pk,
        to_phase="escalated",
        actor=Actor.for_user(people["owner"]),
        reason="The retailer pulled the offer; I need a decision",
    )
    escalation = Escalation.objects.get(campaign=campaign_a)
    assert escalation.reason == "raised_by_person" and escalation.level == 1
    assert told(escalation) == ["manager", "manager-2"]


def test_an_agent_run_that_cannot_go_on_escalates_by_the_rules(campaign_a, people):
    from agents.services import agent_run_claim, agent_run_escalate, agent_work_request

    run = agent_work_request(campaign_id=campaign_a.pk, agent="planner", key="p")
    hold = agent_run_claim(run_id=run.pk)
    agent_run_escalate(claim=hold, reason="The model was unreachable", kind="model_unavailable")
    escalation = Escalation.objects.get(campaign=campaign_a)
    assert (escalation.reason, escalation.agent_run_id) == ("missing_dependency", run.pk)
    assert Campaign.objects.get(pk=campaign_a.pk).phase == "escalated"


def test_a_rolled_back_decision_tells_nobody(campaign_a, people):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        raise_cpa(campaign_a)
        raise RuntimeError("the request failed after deciding")
    assert not Escalation.objects.exists() and not Notification.objects.exists()
    assert mail.outbox == []


# --- Deliveries ---------------------------------------------------------------------------


class _Hook(http.server.BaseHTTPRequestHandler):
    received: list = []
    status = 200

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    """A Slack-compatible webhook on 127.0.0.1 that records what it is sent."""
    _Hook.received, _Hook.status = [], 200
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, _Hook
    server.shutdown()


def test_the_brands_webhook_gets_each_escalation(campaign_a, people, webhook):
    server, hook = webhook
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks/abc"
    MonitoringSettings.objects.create(brand=campaign_a.brand, slack_webhook_url=url)
    escalation = raise_cpa(campaign_a)
    delivery = NotificationDelivery.objects.get(escalation=escalation, channel="slack")
    assert notification_delivery_send(delivery_id=delivery.pk) == "sent"
    (payload,) = hook.received
    assert "CPA 41.20" in payload["text"] and "Open in the control tower" in payload["text"]
    assert notification_delivery_send(delivery_id=delivery.pk) == "skipped"  # sent once


def test_a_failing_webhook_is_retried_then_marked_failed_with_its_error(
    campaign_a, people, webhook, settings
):
    server, hook = webhook
    hook.status = 503
    settings.CONTROLTOWER_DELIVERY_MAX_ATTEMPTS = 3
    MonitoringSettings.objects.create(
        brand=campaign_a.brand, slack_webhook_url=f"http://127.0.0.1:{server.server_address[1]}/"
    )
    delivery = NotificationDelivery.objects.get(escalation=raise_cpa(campaign_a), channel="slack")
    for _ in range(2):
        with pytest.raises(DeliveryFailed):
            notification_delivery_send(delivery_id=delivery.pk)
    assert notification_delivery_send(delivery_id=delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.status) == (3, "failed")
    assert delivery.last_error == "DeliveryFailed: the webhook answered 503"
    assert len(hook.received) == 3


def test_the_escalations_page_lists_and_answers(login, campaign_a, people):
    from django.urls import reverse

    escalation = raise_cpa(campaign_a)
    client = login(people["manager"])
    page = client.get(reverse("monitoring:escalations")).content.decode()
    assert "CPA 41.20 is above the control limit" in page and "Acknowledge" in page
    response = client.post(
        reverse("monitoring:escalation_acknowledge", args=[escalation.pk]),
        {"next": "escalations"},
    )
    assert response.status_code == 302
    escalation.refresh_from_db()
    assert escalation.acknowledged_by == people["manager"]
    detail = client.get(reverse("campaigns:detail", args=[campaign_a.pk])).content.decode()
    assert f'id="escalation-{escalation.pk}"' in detail and "acknowledged by manager-2" in detail


def test_notifications_count_in_the_navigation_and_can_be_read(login, campaign_a, people):
    from django.urls import reverse

    raise_cpa(campaign_a)
    client = login(people["owner"])
    page = client.get(reverse("tower")).content.decode()
    assert "Notifications (1)" in page
    client.post(reverse("monitoring:notifications"))
    with CaptureQueriesContext(__import__("django.db").db.connection):
        page = client.get(reverse("tower")).content.decode()
    assert "Notifications (1)" not in page and ">Notifications</a>" in page
