"""The API's endpoints over HTTP: each does what its web page does, and bad input gets a
clear error and changes nothing."""

from __future__ import annotations

import json
from itertools import pairwise

import pytest
from django.test import Client

from agents.models import AgentRun
from campaigns.models import Brief, Campaign, PerformanceSample
from governance.models import AuditEvent
from memory.models import MemoryEntry
from monitoring.models import TelemetryEvent
from monitoring.services.tokens import ingestion_token_create
from tests.monitoring.test_ingestion import event

from .helpers import ApiClient, api_as, brief_body, propose_launch

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(manager):
    return api_as(manager)


@pytest.fixture
def live_a(campaign_a):
    Campaign.objects.filter(pk=campaign_a.pk).update(phase="execution")
    campaign_a.refresh_from_db()
    return campaign_a


def test_a_brief_starts_its_campaign_and_the_planner(api, brand_a):
    response = api.post("/api/v1/briefs", brief_body(brand_a.slug, prohibited_claims=["Cure"]))
    assert response.status_code == 201, response.content
    body = response.json()
    campaign = Campaign.objects.get(pk=body["campaign_id"])
    assert body["phase"] == "briefing" == campaign.phase
    assert campaign.brief_id == body["brief_id"]
    assert AgentRun.objects.filter(campaign=campaign, agent="planner").exists()
    listed = api.get("/api/v1/briefs").json()["results"]
    assert listed[0]["id"] == body["brief_id"]
    assert listed[0]["campaign_id"] == campaign.pk
    assert listed[0]["prohibited_claims"] == ["Cure"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"budget": "-5"}, "budget"),
        ({"deadline": "2001-01-01"}, "deadline"),
        ({"channels": ["carrier_pigeon"]}, "channels"),
        ({"channels": []}, "channels"),
        ({"title": ""}, "title"),
        ({"success_metric": "vibes"}, "success_metric"),
        ({"brand": "no-such-brand"}, "brand"),
    ],
)
def test_a_bad_brief_names_its_fields_and_saves_nothing(api, brand_a, changes, field):
    response = api.post("/api/v1/briefs", brief_body(brand_a.slug, **changes))
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()
    assert not Brief.objects.exists() and not Campaign.objects.exists()


def test_a_brief_for_a_brand_you_do_not_have_is_refused(legal_a, brand_b):
    response = api_as(legal_a).post("/api/v1/briefs", brief_body(brand_b.slug))
    assert response.status_code == 400 and "brand" in response.json()["errors"]
    assert not Brief.objects.exists()


def test_campaigns_list_and_filter_by_what_you_may_see(api, legal_a, live_a, campaign_b):
    every = api.get("/api/v1/campaigns").json()
    assert every["count"] == 2
    by_phase = api.get("/api/v1/campaigns", phase="execution").json()["results"]
    assert [c["id"] for c in by_phase] == [live_a.pk]
    assert by_phase[0]["brand"] == "brand-a" and by_phase[0]["phase"] == "execution"
    by_brand = api.get("/api/v1/campaigns", brand="brand-b").json()["results"]
    assert [c["id"] for c in by_brand] == [campaign_b.pk]
    legal = api_as(legal_a)
    assert [c["id"] for c in legal.get("/api/v1/campaigns").json()["results"]] == [live_a.pk]
    assert legal.get(f"/api/v1/campaigns/{campaign_b.pk}").status_code == 404
    bad = api.get("/api/v1/campaigns", phase="sleeping")
    assert bad.status_code == 400 and "phase" in bad.json()["errors"]


def test_pause_needs_a_reason_and_resume_returns_to_where_it_was(api, live_a):
    url = f"/api/v1/campaigns/{live_a.pk}"
    no_reason = api.post(f"{url}/pause", {"reason": ""})
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["errors"]
    live_a.refresh_from_db()
    assert live_a.phase == "execution"
    paused = api.post(f"{url}/pause", {"reason": "CPA looks wrong"})
    assert paused.status_code == 200 and paused.json()["phase"] == "paused"
    again = api.post(f"{url}/pause", {"reason": "Twice"})
    assert again.status_code == 409 and "already paused" in again.json()["error"]
    resumed = api.post(f"{url}/resume", {"reason": "Tracking fixed"})
    assert resumed.status_code == 200 and resumed.json()["phase"] == "execution"
    nothing = api.post(f"{url}/resume", {"reason": "Again"})
    assert nothing.status_code == 409
    reasons = [
        e.data["reason"]
        for e in AuditEvent.objects.filter(action="campaign.phase_changed", campaign_id=live_a.pk)
    ]
    assert reasons[-2:] == ["CPA looks wrong", "Tracking fixed"]


def test_my_queue_and_deciding_once(manager, legal_a, campaign_a):
    launch = propose_launch(campaign_a, "Launch A")
    api = api_as(manager)
    queue = api.get("/api/v1/approvals").json()["results"]
    assert [a["id"] for a in queue] == [launch.pk]
    assert queue[0]["why"] and queue[0]["rule"]
    assert api_as(legal_a).get("/api/v1/approvals").json()["count"] == 0
    bad = api.post(f"/api/v1/approvals/{launch.pk}/decide", {"decision": "maybe"})
    assert bad.status_code == 400 and "decision" in bad.json()["errors"]
    rejected = api.post(
        f"/api/v1/approvals/{launch.pk}/decide", {"decision": "reject", "note": "Not yet"}
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    twice = api.post(f"/api/v1/approvals/{launch.pk}/decide", {"decision": "approve"})
    assert twice.status_code == 409 and "already" in twice.json()["error"]
    decided = api.get("/api/v1/approvals", decided="true").json()["results"]
    assert decided[0]["id"] == launch.pk and decided[0]["decision_note"] == "Not yet"


def test_memory_reads_and_adds_with_the_services_checks(api, brand_a, legal_a):
    made = api.post(
        f"/api/v1/brands/{brand_a.slug}/memory", {"kind": "voice_rule", "text": "Warm, plain"}
    )
    assert made.status_code == 201, made.content
    assert made.json()["ref"] and made.json()["version"] == 1
    listed = api.get(f"/api/v1/brands/{brand_a.slug}/memory").json()
    assert [e["text"] for e in listed] == ["Warm, plain"]
    bad = api.post(f"/api/v1/brands/{brand_a.slug}/memory", {"kind": "gossip", "text": "x"})
    assert bad.status_code == 400 and bad.json()["errors"]
    unevidenced = api.post(
        f"/api/v1/brands/{brand_a.slug}/memory", {"kind": "working_angle", "text": "Cosy wins"}
    )
    assert unevidenced.status_code == 400
    assert MemoryEntry.objects.count() == 1
    assert api.get("/api/v1/brands/nope/memory").status_code == 404
    legal = api_as(legal_a)
    assert legal.get(f"/api/v1/brands/{brand_a.slug}/memory").status_code == 200
    assert (
        legal.post(
            f"/api/v1/brands/{brand_a.slug}/memory", {"kind": "voice_rule", "text": "Shout"}
        ).status_code
        == 403
    )


def test_the_audit_export_streams_a_verifiable_chain(admin_user, live_a, campaign_b, manager):
    api = api_as(admin_user)
    for campaign in (live_a, campaign_b):
        api.post(f"/api/v1/campaigns/{campaign.pk}/pause", {"reason": "Audit me"})
    response = api.get("/api/v1/audit/export", brand="brand-a")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    assert [line["action"] for line in lines] == ["campaign.phase_changed"]
    assert lines[0]["brand_id"] == live_a.brand_id and lines[0]["hash"]
    everything = api.get("/api/v1/audit/export")
    chain = [json.loads(line) for line in b"".join(everything.streaming_content).splitlines()]
    assert all(b["prev_hash"] == a["hash"] for a, b in pairwise(chain))
    csv = api.get("/api/v1/audit/export", output="csv")
    assert csv["Content-Type"] == "text/csv; charset=utf-8"
    assert b"".join(csv.streaming_content).startswith(b"seq,")
    bad = api.get("/api/v1/audit/export", since="yesterday", output="jsonl")
    assert bad.status_code == 400 and "since" in bad.json()["errors"]
    assert api.get("/api/v1/audit/export", output="xml").status_code == 400
    assert api_as(manager).get("/api/v1/audit/export").status_code == 403


def test_telemetry_with_a_personal_token_or_the_brands_ingestion_token(
    api, live_a, admin_user, legal_a
):
    body = {"brand": "brand-a", "events": [event(live_a, 1), event(live_a, 2)]}
    stored = api.post("/api/v1/telemetry/events", body)
    assert stored.status_code == 200, stored.content
    assert stored.json() == {"received": 2, "stored": 2, "duplicates": 0, "flags": []}
    _, feed = ingestion_token_create(brand=live_a.brand, name="Feed", user=admin_user)
    again = ApiClient(feed).post("/api/v1/telemetry/events", {"events": [event(live_a, 2)]})
    assert again.json()["duplicates"] == 1
    # An ingestion token is for telemetry only.
    assert ApiClient(feed).get("/api/v1/campaigns").status_code == 401
    refused = api_as(legal_a).post("/api/v1/telemetry/events", body)
    assert refused.status_code == 400 and "brand" in refused.json()["errors"]
    bad = api.post("/api/v1/telemetry/events", {"brand": "brand-a", "events": [{"x": 1}]})
    assert bad.status_code == 400 and bad.json()["errors"][0]["row"] == 1
    assert TelemetryEvent.objects.count() == 2
    assert PerformanceSample.objects.filter(campaign=live_a).exists()


@pytest.mark.parametrize(
    "raw", [b"not json", b"[1, 2]", b'{"events": [], "more": 1}', b'{"events": "x"}']
)
def test_a_malformed_body_is_a_clear_400(api, live_a, raw):
    response = Client().post(
        "/api/v1/telemetry/events", raw, content_type="application/json", headers=api.headers
    )
    assert response.status_code == 400 and response.json()["error"]
    assert TelemetryEvent.objects.count() == 0


def test_a_wrong_content_type_or_method_says_so(api, brand_a):
    form = Client().post("/api/v1/briefs", {"title": "x"}, headers=api.headers)
    assert form.status_code == 415 and form.json()["error"]
    assert api.delete("/api/v1/briefs").status_code == 405
    assert not Brief.objects.exists()


def test_the_schema_and_docs_are_served_without_a_cdn(client):
    schema = client.get("/api/v1/schema/", {"format": "json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/briefs" in paths and "/api/v1/approvals/{id}/decide" in paths
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert (
        "swagger-ui" in html
        and "cdn" not in html.lower()
        and "http" not in html.split("<body")[0].replace("http-equiv", "")
    )


def test_a_nul_character_anywhere_is_a_clear_400_and_changes_nothing(api, live_a, login, manager):
    in_query = api.get("/api/v1/campaigns", brand="brand-a\x00")
    assert in_query.status_code == 400 and "NUL" in in_query.json()["error"]
    page = login(manager).get("/", {"brand": "a\x00"})
    assert page.status_code == 400
    nested = api.post(
        "/api/v1/telemetry/events",
        {"brand": "brand-a", "events": [event(live_a, 1, variant="A\x00")]},
    )
    assert nested.status_code == 400 and "NUL" in nested.json()["error"]
    memory = api.post(
        "/api/v1/brands/brand-a/memory",
        {"kind": "voice_rule", "text": "Warm", "evidence": {"note": "x\x00"}},
    )
    assert memory.status_code == 400
    assert TelemetryEvent.objects.count() == 0 and MemoryEntry.objects.count() == 0


def test_an_unknown_api_address_answers_json(api):
    response = api.get("/api/v1/campaigns/not-a-number")
    assert response.status_code == 404
    assert response.json() == {"error": "No such resource."}


def test_a_telemetry_batch_over_the_limit_is_refused_unread(api, live_a):
    from api.views import MAX_TELEMETRY_BYTES

    response = Client().post(
        "/api/v1/telemetry/events",
        json.dumps({"brand": "brand-a", "events": [event(live_a, 1)]}),
        content_type="application/json",
        headers=api.headers,
        CONTENT_LENGTH=str(MAX_TELEMETRY_BYTES + 1),
    )
    assert response.status_code == 413 and "MiB" in response.json()["error"]
    assert TelemetryEvent.objects.count() == 0
