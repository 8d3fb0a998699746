"""Bounded at the door (issue 13), through the API: a brief over any limit, with a field
it does not have, or a body no request needs (nested 2,000 deep, over the size limit) is
refused with a clear JSON error — and nothing is stored: no brief, campaign, agent run
or audit event."""

import json

import pytest

from agents.models import AgentRun
from campaigns.domain.briefs import CHANNELS
from campaigns.models import Brief, Campaign
from governance.models import AuditEvent

from .helpers import api_as, brief_body, propose_launch

pytestmark = pytest.mark.django_db

MEGABYTE = "x" * 1_000_000
DEEP = "[" * 2000 + "]" * 2000


@pytest.fixture
def api(manager):
    return api_as(manager)


def stored():
    return (
        Brief.objects.count(),
        Campaign.objects.count(),
        AgentRun.objects.count(),
        AuditEvent.objects.count(),
    )


def flat(messages):
    """A field's messages, whether a list or (a list's items) keyed by position."""
    if isinstance(messages, dict):
        return [m for value in messages.values() for m in flat(value)]
    return list(messages)


def refused(response, status=400):
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/json"
    assert len(response.content) < 2000  # a short answer, never the input echoed back
    return response.json()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"channels": ["email"] * 100_000},
            "channels",
            "At most 6 channels; this brief has 100,000.",
        ),
        (
            {"channels": [f"carrier_pigeon_{n}" for n in range(100_000)]},
            "channels",
            "At most 6 channels; this brief has 100,000.",
        ),
        ({"channels": [*CHANNELS, "email"]}, "channels", "At most 6 channels; this brief has 7."),
        (
            {"channels": ["email", "email"]},
            "channels",
            "Name each channel once: “email” is listed more than once.",
        ),
        ({"channels": ["email", "fax"]}, "channels", '"fax" is not a valid choice.'),
        ({"objective": MEGABYTE}, "objective", "no more than 5000 characters"),
        ({"title": MEGABYTE}, "title", "no more than 200 characters"),
        (
            {"required_claims": [MEGABYTE]},
            "required_claims",
            "Each of the required claims may be at most 300 characters; #1 has 1,000,000.",
        ),
        (
            {"assets": [f"Asset {n}" for n in range(51)]},
            "assets",
            "At most 50 assets; this brief has 51.",
        ),
    ],
)
def test_a_brief_over_a_limit_is_refused_and_nothing_is_stored(api, changes, field, message):
    before = stored()
    body = refused(api.post("/api/v1/briefs", brief_body("brand-a", **changes)))
    assert body["error"] in ("The request is not valid.", "The brief was not saved.")
    assert any(message in m for m in flat(body["errors"][field])), body
    assert stored() == before


def test_unknown_fields_are_refused_by_name(api):
    before = stored()
    body = refused(
        api.post(
            "/api/v1/briefs",
            brief_body("brand-a", prohibited_claim=["Cheapest"], colour="red"),
        )
    )
    assert set(body["errors"]) == {"prohibited_claim", "colour"}
    assert body["errors"]["colour"] == [
        "Unknown field: a brief has no such field, so nothing was saved."
    ]
    assert stored() == before


def test_a_body_nested_two_thousand_deep_is_a_400_wherever_it_is_sent(api, campaign_a):
    approval = propose_launch(campaign_a)
    before = stored()
    for path in (
        "/api/v1/briefs",
        f"/api/v1/campaigns/{campaign_a.pk}/pause",
        f"/api/v1/approvals/{approval.pk}/decide",
        "/api/v1/brands/brand-a/memory",
        "/api/v1/telemetry/events",
        "/api/v1/tokens",
    ):
        response = api.client.post(path, DEEP, content_type="application/json", headers=api.headers)
        body = refused(response)
        assert body == {"error": "The JSON body is nested too deeply: at most 32 levels."}, path
    # Inside an object too, and just past the bound.
    nested = json.dumps(brief_body("brand-a", objective=json.loads("[" * 40 + "]" * 40)))
    response = api.client.post(
        "/api/v1/briefs", nested, content_type="application/json", headers=api.headers
    )
    assert refused(response)["error"].startswith("The JSON body is nested too deeply")
    assert stored() == before


def test_a_body_over_the_size_limit_gets_a_json_413(api, settings):
    before = stored()
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    body = refused(
        api.post("/api/v1/briefs", brief_body("brand-a", objective="x" * 200_000)), status=413
    )
    assert body["error"].startswith("The request body is larger than the API reads")
    assert stored() == before
