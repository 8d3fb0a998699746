"""Email through a real SMTP server (aiosmtpd, started here on 127.0.0.1), the campaign
email connector (mailable contacts only, never twice), the CSV exports (columns, scope,
formula-safe cells) and the telemetry upload's preview step."""

from __future__ import annotations

import csv
import io
import socket
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email import message_from_bytes
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
from asgiref.sync import async_to_sync
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import AsyncRequestFactory
from django.urls import include, path, reverse
from django.utils import timezone

import controltower.urls
from agents.connectors import connector_for, content_key
from agents.connectors.email import EmailConnector
from agents.connectors.sandbox import SandboxMarket
from agents.specialists.distribution import Distribution
from approvals.domain.decisions import content_hash
from campaigns.models import ContentVariant, PerformanceSample
from crm.models import CampaignEmailSend, Contact, Subscription
from governance import exports as audit_exports
from governance.domain.audit import Actor
from governance.domain.errors import NotPermitted
from governance.domain.roles import Role
from governance.models import AuditEvent
from governance.services import audit_record
from integrations import exports, views
from monitoring.models import AnomalyFlag, NotificationDelivery, TelemetryEvent, TelemetryImport
from monitoring.services import notification_delivery_send, notify_people
from monitoring.services.imports import PENDING_IMPORT_TTL, telemetry_import_confirm
from tests.factories import CampaignFactory, UserFactory

# The project includes the exports at /exports/; until it does, this module does.
urlpatterns = list(controltower.urls.urlpatterns)
if not any(getattr(p, "namespace", None) == "integrations" for p in urlpatterns):
    urlpatterns.append(path("exports/", include("integrations.urls")))

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


# --- A real SMTP server ------------------------------------------------------------------


class Inbox:
    """aiosmtpd handler: keeps every message; refuses addresses at bounce.example."""

    def __init__(self):
        self.envelopes = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@bounce.example"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    @property
    def recipients(self):
        return sorted(r for e in self.envelopes for r in e.rcpt_tos)

    def messages(self):
        return [message_from_bytes(e.content) for e in self.envelopes]


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.DEFAULT_FROM_EMAIL = "tower@brand-a.example"
    try:
        yield inbox
    finally:
        controller.stop()


def test_a_notification_email_arrives_at_the_smtp_server(smtp, manager, campaign_a):
    notify_people(
        people=[manager],
        campaign=campaign_a,
        title="CPA above the control limit",
        body="Paid social A costs 41.20 per conversion.",
        url=f"/campaigns/{campaign_a.pk}/",
    )
    delivery = NotificationDelivery.objects.get(target=manager.email)
    assert notification_delivery_send(delivery_id=delivery.pk) == "sent"
    assert smtp.recipients == [manager.email]
    (message,) = smtp.messages()
    assert message["Subject"] == "CPA above the control limit"
    assert message["From"] == "tower@brand-a.example"
    assert "41.20 per conversion" in message.get_payload()
    delivery.refresh_from_db()
    assert delivery.status == "sent" and delivery.attempts == 1


# --- The campaign email connector ----------------------------------------------------------


def contact(brand, email, **fields):
    return Contact.objects.create(brand=brand, email=email, **fields)


@pytest.fixture
def audience(brand_a, brand_b):
    return {
        "ann": contact(brand_a, "ann@example.com", name="Ann"),
        "bob": contact(brand_a, "bob@example.com"),
        "sup": contact(brand_a, "sup@example.com", suppressed=True, suppression_reason="Bounced"),
        "uns": contact(brand_a, "uns@example.com", subscription=Subscription.UNSUBSCRIBED),
        "other_brand": contact(brand_b, "zed@example.com"),
    }


def email_variant(campaign, headline="Winter warmers\nare back", body="Three bags, one grinder."):
    payload = {"channel": "email", "headline": headline, "body": body, "claims": []}
    return ContentVariant.objects.create(
        campaign=campaign,
        channel="email",
        headline=headline,
        body=body,
        content_hash=content_hash(payload),
    )


def test_campaign_email_goes_through_the_sandbox_unless_switched_on(settings, campaign_a):
    settings.CONTROLTOWER_CAMPAIGN_EMAIL = False
    assert isinstance(connector_for("email", campaign=campaign_a), SandboxMarket)
    settings.CONTROLTOWER_CAMPAIGN_EMAIL = True
    assert isinstance(connector_for("email", campaign=campaign_a), EmailConnector)
    assert isinstance(connector_for("social_ads", campaign=campaign_a), SandboxMarket)


def test_distribution_mails_only_mailable_contacts_and_nobody_twice(
    smtp, settings, audience, campaign_a
):
    settings.CONTROLTOWER_CAMPAIGN_EMAIL = True
    campaign_a.phase = "execution"
    campaign_a.save(update_fields=["phase"])
    variant = email_variant(campaign_a)
    run = SimpleNamespace(campaign=campaign_a, campaign_id=campaign_a.pk)

    placed, _ = Distribution().produce(run)

    # Suppressed, unsubscribed and another brand's contacts get nothing.
    assert smtp.recipients == ["ann@example.com", "bob@example.com"]
    (placement,) = placed.placements
    assert placement.connector == "email" and placement.external_id.startswith("eml-")
    messages = {m["To"]: m for m in smtp.messages()}
    assert messages["ann@example.com"]["Subject"] == "Winter warmers are back"  # one line
    assert messages["ann@example.com"].get_payload().splitlines()[0] == "Three bags, one grinder."
    sends = CampaignEmailSend.objects.filter(content=variant).order_by("contact__email")
    assert [s.contact.email for s in sends] == ["ann@example.com", "bob@example.com"]
    assert all(s.sent_at for s in sends)
    assert {s.message_id for s in sends} == {m["Message-ID"] for m in messages.values()}
    event = AuditEvent.objects.get(action="campaign_email.batch_sent")
    assert event.campaign_id == campaign_a.pk and event.actor_label == "agent:distribution"
    assert event.data["sent"] == 2 and event.data["content_id"] == variant.pk
    assert (event.data["skipped_suppressed"], event.data["skipped_unsubscribed"]) == (1, 1)

    # A retried run (or a second run) places the same id and mails nobody again.
    again, _ = Distribution().produce(run)
    assert again.placements[0].external_id == placement.external_id
    assert len(smtp.envelopes) == 2
    assert CampaignEmailSend.objects.count() == 2
    assert AuditEvent.objects.filter(action="campaign_email.batch_sent").count() == 1

    # A contact added later gets it on the next run; the others still do not.
    contact(campaign_a.brand, "cat@example.com")
    Distribution().produce(run)
    assert smtp.recipients == ["ann@example.com", "bob@example.com", "cat@example.com"]


def test_two_email_variants_split_the_list_and_nobody_gets_both(smtp, audience, campaign_a):
    for n in range(4):
        contact(campaign_a.brand, f"extra{n}@example.com")
    a = email_variant(campaign_a, headline="A: warm", body="A")
    b = email_variant(campaign_a, headline="B: cosy", body="B")
    connector = EmailConnector(campaign=campaign_a)
    connector.publish(key=content_key(a.pk), channel="email", headline=a.headline, body=a.body)
    connector.publish(key=content_key(b.pk), channel="email", headline=b.headline, body=b.body)
    to_a = set(CampaignEmailSend.objects.filter(content=a).values_list("contact_id", flat=True))
    to_b = set(CampaignEmailSend.objects.filter(content=b).values_list("contact_id", flat=True))
    assert len(to_a) == len(to_b) == 3  # six mailable contacts, half each
    assert not to_a & to_b
    assert len(smtp.recipients) == len(set(smtp.recipients)) == 6
    # Withdrawing B afterwards does not send A to B's half: they had the campaign.
    b.status = "withdrawn"
    b.save(update_fields=["status"])
    connector.publish(key=content_key(a.pk), channel="email", headline=a.headline, body=a.body)
    assert len(smtp.envelopes) == 6


def test_refused_addresses_are_released_and_batches_are_audited(smtp, audience, campaign_a):
    contact(campaign_a.brand, "gone@bounce.example")
    variant = email_variant(campaign_a)
    connector = EmailConnector(campaign=campaign_a, batch_size=2)

    connector.publish(key=content_key(variant.pk), channel="email", headline="Hi", body="Hello")

    assert smtp.recipients == ["ann@example.com", "bob@example.com"]
    # The refused address is not recorded as mailed, so a later run may try it again.
    assert not CampaignEmailSend.objects.filter(contact__email="gone@bounce.example").exists()
    batches = AuditEvent.objects.filter(action="campaign_email.batch_sent").order_by("seq")
    assert [e.data["sent"] for e in batches] == [2, 0]
    assert batches.last().data["refused"] == [Contact.objects.get(email="gone@bounce.example").pk]


def test_the_connector_refuses_content_of_another_campaign(smtp, audience, campaign_a, campaign_b):
    variant = email_variant(campaign_b)
    with pytest.raises(ValueError, match="not content of campaign"):
        EmailConnector(campaign=campaign_a).publish(
            key=content_key(variant.pk), channel="email", headline="Hi", body="Hello"
        )
    assert smtp.envelopes == [] and not CampaignEmailSend.objects.exists()


def test_nothing_is_claimed_when_the_mail_server_is_down(settings, audience, campaign_a):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _free_port(), 2
    variant = email_variant(campaign_a)
    with pytest.raises(Exception, match="cannot be reached"):
        EmailConnector(campaign=campaign_a).publish(
            key=content_key(variant.pk), channel="email", headline="Hi", body="Hello"
        )
    assert not CampaignEmailSend.objects.exists()  # a retry mails them all


# --- CSV exports ---------------------------------------------------------------------------


def read_csv(response):
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_the_campaigns_export_lists_visible_campaigns_with_their_state(
    login, legal_a, campaign_a, campaign_b
):
    AnomalyFlag.objects.create(
        campaign=campaign_a, kind="cpm_spike", explanation="CPM up", opened_at=timezone.now()
    )
    AnomalyFlag.objects.create(
        campaign=campaign_a,
        kind="broken_link",
        state="resolved",
        explanation="Fixed",
        opened_at=timezone.now(),
    )
    response = login(legal_a).get(reverse("integrations:export_campaigns"))
    header, *rows = read_csv(response)
    assert tuple(header) == exports.CAMPAIGN_COLUMNS
    assert len(rows) == 1  # brand B's campaign does not exist for legal A
    row = dict(zip(header, rows[0], strict=True))
    assert row == {
        "campaign_id": str(campaign_a.pk),
        "brand": "Brand A",
        "name": "A campaign",
        "phase": "briefing",
        "owner": "manager",
        "budget": "10000.00",
        "consumed": "0.00",
        "currency": "USD",
        "launched_at": "",
        "deadline": campaign_a.brief.deadline.isoformat(),
        "sla_status": "on_track",
        "escalation_state": "none",
        "open_flags": "1",
    }
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="campaigns-{today}.csv"'
    assert response.streaming


def test_export_cells_cannot_start_a_formula(login, manager, brand_a):
    for name in ('=HYPERLINK("http://evil")', "+1+2", "-3", "@SUM(A1)", "Plain"):
        CampaignFactory(brief__brand=brand_a, brief__created_by=manager, name=name)
    header, *rows = read_csv(login(manager).get(reverse("integrations:export_campaigns")))
    names = sorted(row[header.index("name")] for row in rows)
    assert names == sorted(['\'=HYPERLINK("http://evil")', "'+1+2", "'-3", "'@SUM(A1)", "Plain"])


@pytest.fixture
def samples(campaign_a, campaign_b):
    hour = datetime(2026, 11, 20, 14, tzinfo=UTC)
    for campaign in (campaign_a, campaign_b):
        for offset, variant in ((0, "A"), (24, "A"), (0, "@B")):
            PerformanceSample.objects.create(
                campaign=campaign,
                channel="social_ads",
                variant=variant,
                bucket_start=hour + timedelta(hours=offset),
                impressions=1000,
                clicks=12,
                conversions=2,
                spend=Decimal("9.10"),
            )
    return hour


def test_the_telemetry_export_is_scoped_and_filtered(
    login, legal_a, campaign_a, campaign_b, samples
):
    client = login(legal_a)
    url = reverse("integrations:export_telemetry")
    header, *rows = read_csv(client.get(url))
    assert tuple(header) == exports.TELEMETRY_COLUMNS
    assert {row[0] for row in rows} == {str(campaign_a.pk)}  # only brand A's
    first = dict(zip(header, rows[0], strict=True))
    assert first["hour"] == "2026-11-20T14:00:00+00:00" and first["spend"] == "9.10"
    assert "'@B" in {row[header.index("variant")] for row in rows}

    header, *rows = read_csv(client.get(url, {"campaign": campaign_a.pk, "since": "2026-11-21"}))
    assert [row[header.index("hour")] for row in rows] == ["2026-11-21T14:00:00+00:00"]
    header, *rows = read_csv(client.get(url, {"until": "2026-11-21"}))
    assert len(rows) == 2
    response = client.get(url, {"campaign": campaign_a.pk})
    today = timezone.localdate().isoformat()
    assert (
        f'filename="telemetry-campaign-{campaign_a.pk}-{today}.csv"'
        in response["Content-Disposition"]
    )

    assert client.get(url, {"campaign": campaign_b.pk}).status_code == 404
    bad = client.get(url, {"since": "last week", "campaign": "x"})
    assert bad.status_code == 400
    assert "since:" in bad.content.decode() and "campaign:" in bad.content.decode()


def audit(brand, action, **data):
    from django.db import transaction

    with transaction.atomic():
        return audit_record(
            actor=Actor.system("test"), action=action, target=brand, brand_id=brand.pk, data=data
        )


def test_the_audit_export_is_for_admins_and_matches_the_audit_writer(
    login, client, manager, admin_user, brand_a, brand_b
):
    audit(brand_a, "test.one", note="=cmd|' /C calc'!A0")
    audit(brand_b, "test.two")
    url = reverse("integrations:export_audit_events")
    assert login(manager).get(url).status_code == 403

    response = login(admin_user).get(url, {"brand": "brand-a"})
    body = b"".join(response.streaming_content).decode()
    header, *rows = list(csv.reader(io.StringIO(body)))
    assert tuple(header) == audit_exports.COLUMNS
    assert {row[header.index("action")] for row in rows} == {"test.one"}
    # Byte for byte what governance.exports writes (the command-line export).
    expected = io.StringIO()
    audit_exports.export_events(
        audit_exports.AuditFilter.from_params({"brand": "brand-a"}), fmt="csv", stream=expected
    )
    assert body == expected.getvalue()
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="audit-events-{today}.csv"'
    assert client.get(url, {"since": "yesterday"}).status_code == 400


def test_anonymous_people_are_sent_to_log_in(client):
    response = client.get(reverse("integrations:export_campaigns"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_under_asgi_the_export_streams_asynchronously(manager, campaign_a):
    # TRICKY: Django's ASGI handler would read a plain iterator whole before sending.
    request = AsyncRequestFactory().get("/exports/campaigns.csv")
    request.user = manager
    response = views.campaigns_csv(request)
    assert response.is_async

    async def read():
        return b"".join([chunk async for chunk in response])

    header, *rows = list(csv.reader(io.StringIO(async_to_sync(read)().decode())))
    assert tuple(header) == exports.CAMPAIGN_COLUMNS and len(rows) == 1


# --- Telemetry upload: preview, then confirm ----------------------------------------------

HEADER = "event_id,campaign_id,channel,variant,occurred_at,impressions,conversions,spend"


def telemetry_file(campaign, *lines):
    at = (timezone.now() - timedelta(hours=3)).isoformat()
    return "\n".join([HEADER, *(line.format(c=campaign.pk, at=at) for line in lines)]) + "\n"


def upload(client, brand, text, name="delivery.csv"):
    return client.post(
        reverse("monitoring:telemetry_upload"),
        {"brand": str(brand.pk), "file": SimpleUploadedFile(name, text.encode())},
    )


def confirm_url(pending):
    return reverse("monitoring:telemetry_import_confirm", args=[pending.pk])


GOOD = (
    "e1,{c},social_ads,A,{at},1000,2,9.10",
    "e2,{c},social_ads,B,{at},500,1,4.90",
    "e3,{c},search_ads,A,{at},200,0,3.00",
)


def test_the_preview_shows_counts_and_stores_nothing(login, manager, campaign_a):
    from monitoring.services import telemetry_ingest

    telemetry_ingest(
        brand_id=campaign_a.brand_id,
        items=[
            {
                "event_id": "e1",
                "campaign_id": campaign_a.pk,
                "channel": "social_ads",
                "occurred_at": (timezone.now() - timedelta(hours=3)).isoformat(),
            }
        ],
    )
    response = upload(login(manager), campaign_a.brand, telemetry_file(campaign_a, *GOOD))
    assert response.status_code == 200
    preview = response.context["preview"]
    assert (preview.rows, preview.already_stored, preview.new) == (3, 1, 2)
    totals = {(t.campaign_id, t.channel): t for t in preview.totals}
    social = totals[(campaign_a.pk, "social_ads")]
    assert (social.events, social.impressions, social.conversions, social.spend) == (
        2,
        1500,
        3,
        Decimal("14.00"),
    )
    assert totals[(campaign_a.pk, "search_ads")].events == 1
    assert [r.event_id for r in preview.first_rows] == ["e1", "e2", "e3"]
    page = response.content.decode()
    assert "Preview of delivery.csv" in page and 'id="telemetry-confirm"' in page
    assert TelemetryEvent.objects.count() == 1  # only the one ingested above
    pending = TelemetryImport.objects.get()
    assert (pending.status, pending.rows, pending.uploaded_by) == ("pending", 3, manager)
    assert AuditEvent.objects.filter(action="telemetry.import_previewed").count() == 1


def test_confirming_stores_exactly_the_previewed_file_once(login, manager, campaign_a):
    client = login(manager)
    pending = upload(client, campaign_a.brand, telemetry_file(campaign_a, *GOOD)).context["pending"]

    response = client.post(confirm_url(pending), follow=True)
    assert "Stored 3 events from delivery.csv" in response.content.decode()
    assert sorted(TelemetryEvent.objects.values_list("event_id", flat=True)) == ["e1", "e2", "e3"]
    assert PerformanceSample.objects.filter(campaign=campaign_a).count() == 3
    pending.refresh_from_db()
    assert (pending.status, pending.text, pending.stored) == ("imported", "", 3)
    event = AuditEvent.objects.get(action="telemetry.imported")
    assert (event.data["stored"], event.actor_user_id) == (3, manager.pk)

    # Once: a second press finds nothing to confirm.
    assert client.post(confirm_url(pending)).status_code == 404
    assert TelemetryEvent.objects.count() == 3


def test_a_new_upload_replaces_the_pending_one(login, manager, campaign_a):
    client = login(manager)
    first = upload(client, campaign_a.brand, telemetry_file(campaign_a, GOOD[0])).context["pending"]
    second = upload(client, campaign_a.brand, telemetry_file(campaign_a, *GOOD)).context["pending"]
    assert list(TelemetryImport.objects.values_list("pk", flat=True)) == [second.pk]
    assert client.post(confirm_url(first)).status_code == 404
    assert TelemetryEvent.objects.count() == 0


def test_another_person_cannot_confirm_an_upload(login, client, manager, brand_a, campaign_a):
    pending = upload(login(manager), brand_a, telemetry_file(campaign_a, *GOOD)).context["pending"]
    colleague = UserFactory(username="other-manager", role=Role.MANAGER, brands=[brand_a])
    client.force_login(colleague)
    # Someone else's upload does not exist for them; the service refuses it as well.
    assert client.post(confirm_url(pending)).status_code == 404
    with pytest.raises(NotPermitted):
        telemetry_import_confirm(import_id=pending.pk, user=colleague)
    assert TelemetryEvent.objects.count() == 0
    assert TelemetryImport.objects.get().status == "pending"


def test_an_expired_preview_cannot_be_confirmed(login, manager, campaign_a):
    client = login(manager)
    pending = upload(client, campaign_a.brand, telemetry_file(campaign_a, *GOOD)).context["pending"]
    TelemetryImport.objects.filter(pk=pending.pk).update(
        created_at=timezone.now() - PENDING_IMPORT_TTL - timedelta(minutes=1)
    )
    response = client.post(confirm_url(pending), follow=True)
    assert "This preview has expired" in response.content.decode()
    assert TelemetryEvent.objects.count() == 0


def test_a_bad_file_lists_row_numbered_errors_and_keeps_nothing(
    login, manager, campaign_a, campaign_b
):
    text = telemetry_file(
        campaign_a,
        GOOD[0],
        "e2,{c},social_ads,A,{at},many,1,4.90",
        "e3,{c},tv,A,{at},1,0,0",
    )
    response = upload(login(manager), campaign_a.brand, text)
    page = response.content.decode()
    assert response.status_code == 400
    assert "row 3, impressions: must be a whole number, 0 or more" in page
    assert "row 4, channel: unknown channel" in page
    assert response.context["preview"] is None and 'id="telemetry-confirm"' not in page
    assert not TelemetryImport.objects.exists() and TelemetryEvent.objects.count() == 0

    # A campaign of another brand is refused by row at the preview, not at confirmation.
    other = telemetry_file(campaign_b, "e9,{c},social_ads,A,{at},1,0,0")
    response = upload(login(manager), campaign_a.brand, other)
    assert response.status_code == 400
    assert f"row 2, campaign_id: there is no campaign {campaign_b.pk} for this brand" in (
        response.content.decode()
    )
    assert not TelemetryImport.objects.exists()


def test_line_totals_add_up_per_campaign_and_channel():
    from monitoring.domain.telemetry import TelemetryRow
    from monitoring.services.imports import line_totals

    at = datetime(2026, 11, 20, 14, tzinfo=UTC)
    rows = [
        TelemetryRow(2, "a", 7, "social_ads", "A", at, impressions=10, conversions=1),
        TelemetryRow(3, "b", 7, "social_ads", "B", at, impressions=5, spend=Decimal("1.25")),
        TelemetryRow(4, "c", 3, "email", "", at, impressions=1),
    ]
    totals = line_totals(rows, {7: "Seven", 3: "Three"})
    assert [(t.campaign_id, t.channel, t.events, t.impressions, t.spend) for t in totals] == [
        (3, "email", 1, 1, Decimal("0")),
        (7, "social_ads", 2, 15, Decimal("1.25")),
    ]
    assert totals[1].campaign_name == "Seven" and totals[1].conversions == 1
