"""Telemetry ingestion through the service, the token-authenticated endpoint and CSV
upload: stored once by event id, rolled up per hour, all or nothing on bad rows."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from campaigns.models import PerformanceSample
from governance.models import AuditEvent
from monitoring.models import IngestionToken, TelemetryEvent
from monitoring.services import TelemetryInvalid, telemetry_ingest
from monitoring.services.tokens import ingestion_token_create, ingestion_token_revoke
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def event(campaign, n=1, **changes):
    at = timezone.now().replace(minute=5, second=0, microsecond=0) - timedelta(hours=2)
    values = {
        "event_id": f"evt-{n}",
        "campaign_id": campaign.pk,
        "channel": "social_ads",
        "variant": "A",
        "occurred_at": at.isoformat(),
        "impressions": 1000,
        "clicks": 12,
        "conversions": 1,
        "spend": "9.10",
    }
    values.update(changes)
    return values


def stored():
    return (TelemetryEvent.objects.count(), PerformanceSample.objects.count())


def test_a_batch_is_stored_and_rolled_up_per_channel_variant_and_hour(delivering):
    result = telemetry_ingest(
        brand_id=delivering.brand_id,
        items=[
            event(delivering, 1),
            event(delivering, 2, spend="0.90", clicks=3, impressions=100),
            event(delivering, 3, variant="B"),
        ],
    )
    assert (result.received, result.stored, result.duplicates) == (3, 3, 0)
    a = PerformanceSample.objects.get(campaign=delivering, variant="A")
    assert (a.impressions, a.clicks, a.spend) == (1100, 15, Decimal("10.00"))
    assert a.bucket_start.minute == 0 and a.channel == "social_ads"
    assert PerformanceSample.objects.filter(campaign=delivering).count() == 2


def test_the_same_event_id_twice_is_stored_once(delivering):
    first = telemetry_ingest(
        brand_id=delivering.brand_id, items=[event(delivering, 1), event(delivering, 1)]
    )
    again = telemetry_ingest(brand_id=delivering.brand_id, items=[event(delivering, 1)])
    assert (first.stored, first.duplicates) == (1, 1)
    assert (again.stored, again.duplicates) == (0, 1)
    assert TelemetryEvent.objects.count() == 1
    assert PerformanceSample.objects.aggregate(n=Sum("impressions"))["n"] == 1000  # not doubled


@pytest.mark.parametrize(
    ("bad", "field", "message"),
    [
        ({"channel": "tv"}, "channel", "unknown channel"),
        ({"occurred_at": "yesterday"}, "occurred_at", "ISO 8601"),
        ({"occurred_at": "2026-12-01T10:00:00"}, "occurred_at", "ISO 8601"),  # no zone
        ({"spend": "-1"}, "spend", "0 or more"),
        ({"spend": "1.005"}, "spend", "2 decimals"),
        ({"clicks": 2.5}, "clicks", "whole number"),
        ({"clicks": True}, "clicks", "whole number"),
        ({"event_id": ""}, "event_id", "required"),
        ({"campaign_id": "x"}, "campaign_id", "positive whole number"),
        ({"link_failures": 3, "link_checks": 2}, "link_failures", "cannot exceed"),
        ({"color": "red"}, "color", "unknown field"),
    ],
)
def test_bad_rows_are_refused_with_their_row_number_and_nothing_is_stored(
    delivering, bad, field, message
):
    events_before = AuditEvent.objects.count()
    with pytest.raises(TelemetryInvalid) as refused:
        telemetry_ingest(
            brand_id=delivering.brand_id,
            items=[event(delivering, 1), event(delivering, 2, **bad), event(delivering, 3)],
        )
    (error,) = refused.value.errors
    assert (error.row, error.field) == (2, field) and message in error.message
    assert stored() == (0, 0) and AuditEvent.objects.count() == events_before


def test_a_campaign_of_another_brand_is_refused_by_row(delivering, brand_b, manager):
    other = CampaignFactory(brief__brand=brand_b, brief__created_by=manager)
    with pytest.raises(TelemetryInvalid) as refused:
        telemetry_ingest(
            brand_id=delivering.brand_id,
            items=[event(delivering, 1), event(other, 2), event(delivering, 3, campaign_id=999999)],
        )
    assert [(e.row, e.field) for e in refused.value.errors] == [
        (2, "campaign_id"),
        (3, "campaign_id"),
    ]
    assert stored() == (0, 0)


def test_the_portable_path_sqlite_takes_stores_the_same(delivering, monkeypatch):
    """`make run` defaults to SQLite, which takes the per-row path; it must agree with
    the PostgreSQL one (run here on PostgreSQL, the SQL being portable)."""
    from monitoring.services import sql

    monkeypatch.setattr(sql, "postgresql", lambda: False)
    first = telemetry_ingest(
        brand_id=delivering.brand_id,
        items=[event(delivering, 1), event(delivering, 2, variant="B")],
    )
    again = telemetry_ingest(
        brand_id=delivering.brand_id, items=[event(delivering, 1), event(delivering, 3)]
    )
    assert (first.stored, again.stored, again.duplicates) == (2, 1, 1)
    a = PerformanceSample.objects.get(variant="A")
    assert (a.impressions, a.spend) == (2000, Decimal("18.20"))


# --- The endpoint ------------------------------------------------------------------------


@pytest.fixture
def token(delivering, admin_user):
    _, raw = ingestion_token_create(brand=delivering.brand, name="Platform feed", user=admin_user)
    return raw


def post(client, body, token=None, **headers):
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client.post(
        reverse("api:telemetry_events"),
        data=body if isinstance(body, str) else json.dumps(body),
        content_type="application/json",
        **headers,
    )


def test_the_endpoint_stores_a_batch_once(client, delivering, token):
    response = post(client, {"events": [event(delivering, 1), event(delivering, 2)]}, token)
    assert response.status_code == 200
    assert response.json() == {"received": 2, "stored": 2, "duplicates": 0, "flags": []}
    again = post(client, {"events": [event(delivering, 1)]}, token)
    assert again.json()["stored"] == 0 and again.json()["duplicates"] == 1
    assert IngestionToken.objects.get().last_used_at is not None


def test_the_endpoint_lists_every_bad_row_and_stores_nothing(client, delivering, token):
    response = post(
        client,
        {"events": [event(delivering, 1), event(delivering, 2, clicks=-1), {"x": 1}]},
        token,
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Nothing was stored: the batch has errors."
    rows = [(e["row"], e["field"]) for e in body["errors"]]
    assert (2, "clicks") in rows and (3, "x") in rows
    assert stored() == (0, 0)


def test_the_endpoint_refuses_without_a_live_token(client, delivering, token, admin_user):
    body = {"events": [event(delivering, 1)]}
    assert post(client, body).status_code == 401
    assert post(client, body, "cti_not-a-token").status_code == 401
    ingestion_token_revoke(token_id=IngestionToken.objects.get().pk, user=admin_user)
    assert post(client, body, token).status_code == 401
    assert client.get(reverse("api:telemetry_events")).status_code == 401
    assert stored() == (0, 0)


@pytest.mark.parametrize(
    "body", ["not json", json.dumps([1, 2]), json.dumps({"events": [], "more": 1})]
)
def test_the_endpoint_explains_a_malformed_body(client, delivering, token, body):
    response = post(client, body, token)
    assert response.status_code == 400 and response.json()["error"]
    assert stored() == (0, 0)


def test_only_admins_make_tokens_and_only_the_hash_is_kept(delivering, manager, admin_user):
    from governance.domain.errors import NotPermitted

    with pytest.raises(NotPermitted):
        ingestion_token_create(brand=delivering.brand, name="x", user=manager)
    row, raw = ingestion_token_create(brand=delivering.brand, name="Feed", user=admin_user)
    assert raw.startswith("cti_") and raw not in {row.digest, row.prefix}
    assert len(raw) > 40 and row.prefix == raw[:12]
    assert AuditEvent.objects.filter(action="ingestion_token.created").exists()


# --- CSV upload --------------------------------------------------------------------------

HEADER = "event_id,campaign_id,channel,variant,occurred_at,impressions,clicks,conversions,spend"


def upload(client, brand, text):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        reverse("monitoring:telemetry_upload"),
        {"brand": str(brand.pk), "file": SimpleUploadedFile("t.csv", text.encode())},
    )


def confirm(client, previewed):
    """Press the preview's Confirm button."""
    pending = previewed.context["pending"]
    return client.post(
        reverse("monitoring:telemetry_import_confirm", args=[pending.pk]), follow=True
    )


def test_a_csv_upload_is_checked_row_by_row_and_all_or_nothing(login, manager, delivering):
    at = (timezone.now() - timedelta(hours=3)).isoformat()
    good = f"e1,{delivering.pk},social_ads,A,{at},1000,10,1,9.10"
    bad = f"e2,{delivering.pk},social_ads,A,{at},1000,ten,1,9.10"
    client = login(manager)
    response = upload(client, delivering.brand, f"{HEADER}\n{good}\n{bad}\n")
    assert response.status_code == 400
    assert "row 3, clicks: must be a whole number, 0 or more" in response.content.decode()
    assert response.context["pending"] is None
    assert stored() == (0, 0)

    previewed = upload(client, delivering.brand, f"{HEADER}\n{good}\n")
    assert previewed.status_code == 200 and "Preview of t.csv" in previewed.content.decode()
    assert stored() == (0, 0)  # nothing until confirmed
    response = confirm(client, previewed)
    assert response.status_code == 200 and "Stored 1 event" in response.content.decode()
    assert TelemetryEvent.objects.get().source == "csv"


def test_a_csv_with_a_wrong_header_says_which_columns(login, manager, delivering):
    response = upload(login(manager), delivering.brand, "id,when\n1,now\n")
    page = response.content.decode()
    assert response.status_code == 400
    assert "row 1, event_id, campaign_id, channel, occurred_at: missing column" in page


def test_legal_reviewers_do_not_upload_telemetry(login, legal_a, delivering):
    response = login(legal_a).get(reverse("monitoring:telemetry_upload"))
    assert response.status_code == 403
