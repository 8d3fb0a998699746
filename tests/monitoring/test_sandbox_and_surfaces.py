"""The sandbox market delivering a live campaign through the real spend and ingestion
services, injected faults, paused surfaces (circuit breakers) and silences."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.utils import timezone

from campaigns.models import Campaign, ContentVariant, PerformanceSample
from governance.domain.audit import Actor
from governance.domain.errors import DomainError, NotPermitted
from governance.models import AuditEvent
from monitoring.models import CircuitBreaker, SandboxCursor, SandboxFault, TelemetryEvent
from monitoring.services import breaker_close, breaker_open, silence_create
from monitoring.services.sandbox import sandbox_deliver, sandbox_deliver_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def live(delivering):
    """The delivering campaign with two published variants on paid social."""
    for headline in ("Fresh every week", "Roasted to order"):
        ContentVariant.objects.create(
            campaign=delivering,
            channel="social_ads",
            headline=headline,
            body="…",
            status="published",
            connector="sandbox market",
            placement_id=f"sbx-{headline[:4]}",
            content_hash="x",
        )
    SandboxCursor.objects.create(
        campaign=delivering, delivered_until=timezone.now() - timedelta(hours=1)
    )
    return delivering


def test_a_tick_spends_through_the_capped_service_and_reports_it_as_telemetry(live):
    now = timezone.now()
    assert sandbox_deliver(now=now) == 1
    campaign = Campaign.objects.get(pk=live.pk)
    reported = TelemetryEvent.objects.filter(campaign=live).aggregate(s=Sum("spend"))["s"]
    assert reported > 0 and campaign.budget_consumed == reported
    assert set(TelemetryEvent.objects.values_list("source", flat=True)) == {"sandbox"}
    variants = set(PerformanceSample.objects.values_list("variant", flat=True))
    assert variants == {f"#{v.pk}" for v in ContentVariant.objects.all()}
    assert AuditEvent.objects.filter(action="campaign.spend_recorded").count() == 1
    # A second tick at the same moment delivers nothing more.
    assert sandbox_deliver_campaign(campaign_id=live.pk, now=now) == 0
    assert SandboxCursor.objects.get(campaign=live).delivered_until == now


def test_a_catch_up_after_a_stop_delivers_each_hour_in_its_own_hour(live):
    """A tick that spans hours (beat was down for a while) reports hour by hour, so the
    detectors judge each hour on its own delivery, not one hour holding two."""
    now = timezone.now().replace(minute=20, second=0, microsecond=0)
    SandboxCursor.objects.filter(campaign=live).update(delivered_until=now - timedelta(hours=2))
    assert sandbox_deliver_campaign(campaign_id=live.pk, now=now) == 1
    hours = sorted(set(PerformanceSample.objects.values_list("bucket_start", flat=True)))
    first = (now - timedelta(hours=2)).replace(minute=0)
    assert hours == [first, first + timedelta(hours=1), first + timedelta(hours=2)]
    # The first delivery starts the campaign's plan and its pacing warm-up.
    assert Campaign.objects.get(pk=live.pk).delivery_started_at == now - timedelta(hours=2)


def test_the_market_stops_at_the_budget(live):
    Campaign.objects.filter(pk=live.pk).update(budget_consumed=live.budget_total - Decimal("5"))
    sandbox_deliver(now=timezone.now())
    campaign = Campaign.objects.get(pk=live.pk)
    assert campaign.budget_total - Decimal("5") < campaign.budget_consumed <= campaign.budget_total


def test_a_paused_variant_gets_no_delivery_and_resuming_needs_a_justification(live, manager):
    first, second = ContentVariant.objects.order_by("pk")
    breaker = breaker_open(
        campaign_id=live.pk,
        channel="social_ads",
        variant=f"#{first.pk}",
        reason="Link checks fail",
        actor=Actor.for_agent("performance"),
        authorization="decision #1",
    )
    sandbox_deliver(now=timezone.now())
    assert set(PerformanceSample.objects.values_list("variant", flat=True)) == {f"#{second.pk}"}

    with pytest.raises(DomainError, match="at least 15 characters"):
        breaker_close(breaker_id=breaker.pk, user=manager, justification="ok")
    breaker_close(
        breaker_id=breaker.pk, user=manager, justification="Landing page fixed and re-checked"
    )
    breaker.refresh_from_db()
    assert breaker.state == "closed" and breaker.closed_by == manager
    resumed = AuditEvent.objects.get(action="surface.resumed")
    assert resumed.data["justification"] == "Landing page fixed and re-checked"


def test_legal_reviewers_cannot_resume_a_paused_surface(live, legal_a):
    breaker = breaker_open(
        campaign_id=live.pk,
        channel="social_ads",
        variant="",
        reason="CPM spike",
        actor=Actor.for_agent("performance"),
        authorization="decision #1",
    )
    with pytest.raises(NotPermitted):
        breaker_close(breaker_id=breaker.pk, user=legal_a, justification="x" * 30)
    assert CircuitBreaker.objects.get().state == "open"


def test_inject_fault_from_the_command_line(live, capsys):
    call_command(
        "inject_fault", str(live.pk), "cpm_spike", "--hours", "3", "--channel", "social_ads"
    )
    fault = SandboxFault.objects.get()
    assert (fault.kind, fault.channel, fault.severity) == ("cpm_spike", "social_ads", 0.6)
    assert "Cpm spike on social_ads for campaign" in capsys.readouterr().out
    with pytest.raises(CommandError, match="not a channel"):
        call_command("inject_fault", str(live.pk), "cpm_spike", "--channel", "radio")
    with pytest.raises(CommandError, match="no campaign"):
        call_command("inject_fault", "999999", "overspend")
    assert SandboxFault.objects.count() == 1


def test_an_injected_fault_shows_in_what_the_market_delivers(live):
    from monitoring.services.sandbox import fault_inject

    now = timezone.now()
    fault_inject(
        campaign_id=live.pk,
        kind="broken_link",
        hours=2,
        channel="social_ads",
        starts_at=now - timedelta(hours=2),
    )
    sandbox_deliver(now=now)
    events = TelemetryEvent.objects.filter(campaign=live)
    assert all(e.link_failures == e.link_checks for e in events)
    assert all(e.conversions == 0 for e in events)


def test_silences_are_checked(live, manager, legal_a):
    now = timezone.now()
    common = {"brand_id": live.brand_id, "starts_at": now, "reason": "Launch day"}
    with pytest.raises(DomainError, match="end after it starts"):
        silence_create(user=manager, ends_at=now - timedelta(minutes=1), **common)
    with pytest.raises(DomainError, match="Unknown flag kinds: rain"):
        silence_create(user=manager, ends_at=now + timedelta(hours=1), kinds=["rain"], **common)
    with pytest.raises(DomainError, match="at most 31 days"):
        silence_create(user=manager, ends_at=now + timedelta(days=40), **common)
    with pytest.raises(NotPermitted):
        silence_create(user=legal_a, ends_at=now + timedelta(hours=1), **common)
    silence_create(user=manager, ends_at=now + timedelta(hours=8), **common)
    assert AuditEvent.objects.filter(action="silence.created").count() == 1


def test_the_campaign_page_offers_silences_and_shows_paused_surfaces(login, live, manager):
    from django.urls import reverse

    breaker_open(
        campaign_id=live.pk,
        channel="social_ads",
        variant="",
        reason="CPM spike",
        actor=Actor.for_agent("performance"),
        authorization="decision #1",
    )
    client = login(manager)
    response = client.post(
        reverse("monitoring:silence_create", args=[live.pk]),
        {"reason": "Holiday sale", "hours": "12", "kinds": ["cpm_spike"], "channel": ""},
    )
    assert response.status_code == 302
    page = client.get(reverse("campaigns:detail", args=[live.pk])).content.decode()
    assert "Paused: social_ads" in page and "Resume social_ads" in page
    assert "“Holiday sale” — cpm_spike" in page and "this campaign" in page
