"""Bounded at the door (issue 13): every text and list of a brief has a limit, in one
place (``campaigns.domain.briefs.LIMITS``) — the rules on plain values, then the brief
form over HTTP, which re-renders with the message and saves nothing."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from agents.models import AgentRun
from campaigns.domain.briefs import CHANNELS, LIMITS, BriefSpec, validate_brief
from campaigns.forms import BriefForm
from campaigns.models import Brief, Campaign
from governance.models import AuditEvent

from .test_brief_form import valid_post

TODAY = date(2026, 11, 22)
MEGABYTE = "x" * 1_000_000


def spec(**changes):
    values = {
        "title": "Spring launch",
        "objective": "Sell more",
        "budget": Decimal("5000"),
        "deadline": date(2026, 12, 31),
        "success_metric": "cpa",
        "channels": ["email", "social_ads"],
    }
    values.update(changes)
    return BriefSpec(**values)


def errors_of(brief):
    return validate_brief(brief, today=TODAY, max_budget=1_000_000)


# --- The rules, database-free -------------------------------------------------------


def test_a_brief_at_every_limit_is_valid():
    at_limit = {
        field: (
            [f"{field[:2]}{n:03d}".ljust(limit.chars, "x") for n in range(limit.items)]
            if limit.items and field != "channels"
            else "x" * limit.chars
        )
        for field, limit in LIMITS.items()
    }
    at_limit["channels"] = list(CHANNELS)
    assert errors_of(spec(**at_limit)) == {}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"title": "x" * 201},
            "title",
            "The title is 201 characters long; keep it to 200 at most.",
        ),
        (
            {"objective": MEGABYTE},
            "objective",
            "The objective is 1,000,000 characters long; keep it to 5,000 at most.",
        ),
        (
            {"escalation_criteria": "x" * 2001},
            "escalation_criteria",
            "The escalation criteria is 2,001 characters long; keep it to 2,000 at most.",
        ),
        (
            {"assets": [f"Asset {n}" for n in range(51)]},
            "assets",
            "At most 50 assets; this brief has 51.",
        ),
        (
            {"required_claims": ["Roasted to order", "x" * 301]},
            "required_claims",
            "Each of the required claims may be at most 300 characters; #2 has 301.",
        ),
        (
            {"prohibited_claims": ["x" * 400, "y" * 500]},
            "prohibited_claims",
            "Each of the prohibited claims may be at most 300 characters; 2 are longer "
            "(the first, #1, has 400).",
        ),
    ],
)
def test_each_text_and_list_is_bounded(changes, field, message):
    assert errors_of(spec(**changes)) == {field: [message]}


def test_channels_are_known_ones_each_once_and_no_more_than_there_are():
    assert errors_of(spec(channels=["email", "email"])) == {
        "channels": ["Name each channel once: “email” is listed more than once."]
    }
    assert errors_of(spec(channels=["email"] * 100_000))["channels"] == [
        "At most 6 channels; this brief has 100,000.",
        "Name each channel once: “email” is listed more than once.",
    ]


def test_a_hundred_thousand_unknown_channels_get_a_short_answer():
    channels = [f"channel-{n}" + "x" * 100 for n in range(100_000)]
    messages = errors_of(spec(channels=channels))["channels"]
    assert messages[0] == "At most 6 channels; this brief has 100,000."
    assert messages[-1] == "…and 99,997 more unknown channels."
    assert len(messages) == 5 and sum(map(len, messages)) < 1000  # never echoed whole


# --- The brief form over HTTP -------------------------------------------------------

URL = reverse("campaigns:brief_create")


def stored():
    return (
        Brief.objects.count(),
        Campaign.objects.count(),
        AgentRun.objects.count(),
        AuditEvent.objects.count(),
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"channels": [*CHANNELS, "email"]},
            "channels",
            "At most 6 channels; this brief has 7.",
        ),
        (
            {"channels": ["email", "email"]},
            "channels",
            "Name each channel once: “email” is listed more than once.",
        ),
        (
            {"channels": ["email", "fax"]},
            "channels",
            "Unknown channel “fax”",
        ),
        (
            {"objective": MEGABYTE},
            "objective",
            "The objective is 1,000,000 characters long; keep it to 5,000 at most.",
        ),
        ({"title": "x" * 201}, "title", "The title is 201 characters long"),
        (
            {"assets": "\n".join(f"Asset {n}" for n in range(60))},
            "assets",
            "At most 50 assets; this brief has 60.",
        ),
        (
            {"prohibited_claims": "Cheapest\n" + "x" * 1000},
            "prohibited_claims",
            "Each of the prohibited claims may be at most 300 characters; #2 has 1,000.",
        ),
    ],
)
def test_the_form_refuses_what_is_over_a_limit_and_saves_nothing(
    login, manager, brand_a, changes, field, message
):
    before = stored()
    response = login(manager).post(URL, valid_post(brand_a, **changes))
    assert response.status_code == 422
    assert any(message in error for error in response.context["form"].errors[field])
    page = response.content.decode()
    assert message[:20] in page or message.replace("“", "&ldquo;")[:20] in page
    assert stored() == before


@pytest.mark.django_db
def test_the_form_tells_the_browser_each_texts_limit(manager):
    form = BriefForm(user=manager)
    for field in ("title", "objective", "audience", "tone", "offer", "escalation_criteria"):
        assert form.fields[field].widget.attrs["maxlength"] == LIMITS[field].chars
