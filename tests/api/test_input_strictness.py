"""Accepted but wrong, found by an outside probe: a success target of "-5", budgets of
"٣٠٠٠" and "1_000", U+202E, BEL and ESC in titles, spend of "٣" in telemetry. Each is
now a clear 400 that stores nothing; and a chunked body is neither read as empty nor
read without a bound."""

import asyncio
import json

import pytest

from campaigns.domain.inputs import is_ascii_number, text_problem
from campaigns.models import Brief
from controltower.body_limit import BodyLimit

from .helpers import api_as, brief_body

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("text", ["3000", "12.50", "-5", "0"])
def test_plain_numbers_are_numbers(text):
    assert is_ascii_number(text)


@pytest.mark.parametrize("text", ["٣٠٠٠", "1_000", "1e3", "1,000", "NaN", "Infinity", "", "5."])
def test_numbers_people_would_not_recognise_are_not(text):
    assert not is_ascii_number(text)


@pytest.mark.parametrize("char", ["\u202e", "\x07", "\x1b", "\u2066", "\x00"])
def test_control_and_direction_characters_are_refused_in_names(char):
    assert text_problem(f"Spring{char} launch")
    assert text_problem("Two\nlines") and not text_problem("Two\nlines", multiline=True)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"budget": "٣٠٠٠"}, "budget"),
        ({"budget": "1_000"}, "budget"),
        ({"success_target": "-5"}, "success_target"),
        ({"sla_draft_hours": "٢"}, "sla_draft_hours"),
        ({"title": "Spring \u202elaunch"}, "title"),
        ({"title": "Spring\x07launch"}, "title"),
        ({"title": "Spring\x1b[31mlaunch"}, "title"),
        ({"required_claims": ["Free \u202eshipping"]}, "required_claims"),
    ],
)
def test_the_api_refuses_them_and_stores_nothing(manager, changes, field):
    api = api_as(manager)
    response = api.post("/api/v1/briefs", brief_body("brand-a", **changes))
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    assert field in response.json()["errors"]
    assert not Brief.objects.exists()


@pytest.mark.parametrize(("field", "value"), [("budget", "٣٠٠٠"), ("success_target", "-5")])
def test_the_brief_form_refuses_them_too(login, manager, brand_a, field, value):
    from datetime import timedelta

    from django.utils import timezone

    form = {
        "brand": brand_a.pk,
        "title": "Spring launch",
        "objective": "Grow orders",
        "channels": ["email"],
        "budget": "3000",
        "deadline": (timezone.localdate() + timedelta(days=20)).isoformat(),
        "success_metric": "cpa",
        "sla_draft_hours": "2",
        "sla_qa_pass_pct": "95",
        "sla_policy_escalation_minutes": "10",
        "sla_pacing_tolerance_pct": "10",
        field: value,
    }
    response = login(manager).post("/campaigns/briefs/new/", form)
    assert response.status_code == 422
    assert response.context["form"].errors[field]
    assert not Brief.objects.exists()


def test_telemetry_refuses_digits_people_would_not_read(campaign_a):
    from monitoring.domain.telemetry import parse_rows

    found = parse_rows(
        [
            {
                "event_id": "e1",
                "campaign_id": campaign_a.pk,
                "channel": "email",
                "occurred_at": "2026-12-01T10:00:00Z",
                "impressions": "\u0661\u0660\u0660",
                "spend": "\u0663.\u0660\u0660",
            }
        ],
        now=campaign_a.created_at,
    )
    assert {e.field for e in found.errors} >= {"impressions", "spend"}


def _run(app, scope, chunks):
    """Drive an ASGI app with ``chunks`` as the request body; (status, body, seen)."""
    sent, seen = [], {}
    queue = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]

    async def receive():
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    async def inner(scope, receive, send):
        message = await receive()
        seen["body"] = message["body"]
        seen["length"] = dict(scope["headers"]).get(b"content-length")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    asyncio.run(BodyLimit(inner, max_bytes=app)(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body, seen


def _scope(path, headers):
    return {"type": "http", "path": path, "method": "POST", "headers": headers}


def test_a_chunked_body_reaches_the_app_whole_with_its_length():
    scope = _scope("/api/v1/briefs", [(b"transfer-encoding", b"chunked")])
    status, _, seen = _run(1000, scope, [b'{"a":', b" 1}"])
    assert status == 200 and seen == {"body": b'{"a": 1}', "length": b"8"}


def test_a_chunked_body_over_the_limit_is_a_json_413_before_the_app():
    scope = _scope("/api/v1/telemetry/events", [(b"transfer-encoding", b"chunked")])
    status, body, seen = _run(1000, scope, [b"x" * 600, b"x" * 600, b"x" * 600])
    assert status == 413 and seen == {}
    assert json.loads(body)["error"].startswith("The request body is larger than the API reads")


def test_a_declared_length_over_the_limit_is_refused_without_reading():
    scope = _scope("/briefs/new/", [(b"content-length", b"5000")])
    status, body, seen = _run(1000, scope, [b"x" * 5000])
    assert status == 413 and seen == {} and body.startswith(b"The request body is too large")
