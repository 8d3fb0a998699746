"""Copy quality through the real content agent: a real model's draft that carries the
brief's notes for the team, or breaks a placement rule from brand memory, is held back;
the offline composer's drafts are for the brief's audience and avoid the brand's earlier
headlines, in the demo too."""

import pytest
from django.core.management import call_command

from agents.domain.copy_check import InternalNotes, internal_leaks
from agents.models import Handoff
from approvals.models import ApprovalRequest
from governance.domain.audit import Actor
from governance.models import AuditEvent
from memory.selectors import brand_rules
from memory.services import memory_entry_create

from .chain import drain
from .model_drafts import draft, drain_until, model_writes
from .test_agent_chain import submit

pytestmark = pytest.mark.django_db

OBJECTIVE = (
    "Launch our new ready-to-drink nitro cold brew in cans and get 1,500 first orders of "
    "the 12-pack before the end of January"
)


def held_findings(campaign):
    events = AuditEvent.objects.filter(action="content.held_back", campaign_id=campaign.pk)
    return [(e.data["channel"], e.data["findings"]) for e in events.order_by("pk")]


def test_a_real_models_draft_that_repeats_the_objective_is_held_back(manager, brand_a, settings):
    campaign = submit(
        manager,
        brand_a,
        title="Nitro Cold Brew Can Launch",
        objective=OBJECTIVE,
        offer="A free can with your first 12-pack",
        channels=["email"],
        required_claims=[],
    )
    drain_until("content")
    leaking = draft(
        "email",
        "Nitro Cold Brew Can Launch: Launch our new ready-to-drink",
        "Get 1,500 first orders of the 12-pack before the end of January.",
    )
    clean = draft("email", "Nitro cold brew, now in cans", "A free can with your first 12-pack.")
    with model_writes(settings, [leaking, clean]):
        drain()
    ((channel, findings),) = held_findings(campaign)
    assert channel == "email"
    assert any(f.startswith("Repeats the brief's objective") for f in findings)
    assert any(f.startswith("States 1,500") for f in findings)
    assert any(f.startswith("Uses the campaign's title") for f in findings)
    # Only the clean draft reaches a reviewer.
    (proposed,) = ApprovalRequest.objects.filter(campaign=campaign, action_type="publish_content")
    assert proposed.payload["headline"] == "Nitro cold brew, now in cans"


def test_a_subject_line_rule_in_brand_memory_holds_back_a_discount_led_subject(
    manager, brand_a, settings
):
    memory_entry_create(
        brand_id=brand_a.pk,
        kind="failure_mode",
        text="Discount-led subject lines cut repeat orders; keep “% off” out of subject lines.",
        actor=Actor.system("test"),
    )
    rules = brand_rules(brand_a.pk)
    assert rules.subject_line_prohibited_phrases == ("% off",)
    campaign = submit(manager, brand_a, channels=["email", "social_ads"], required_claims=[])
    drain_until("content")
    discount = "20% off your first month"
    with model_writes(
        settings,
        [
            draft("email", discount, "Fresh beans, roasted to order."),
            draft("social_ads", discount, "Fresh beans, roasted to order."),
        ],
    ):
        drain()
    ((channel, findings),) = held_findings(campaign)
    assert channel == "email"
    assert findings == [
        "The headline uses “% off”, which the brand keeps out of email subject lines."
    ]
    (proposed,) = ApprovalRequest.objects.filter(campaign=campaign, action_type="publish_content")
    assert proposed.payload["channel"] == "social_ads"


def test_the_composers_drafts_are_for_the_briefs_audience_and_new_to_the_brand(manager, brand_a):
    memory_entry_create(
        brand_id=brand_a.pk,
        kind="segment",
        text="Home brewers who buy whole beans every month.",
        actor=Actor.system("test"),
    )
    audience = "Office managers at 20 to 200 person companies"
    first = submit(manager, brand_a, audience=audience)
    drain()
    second = submit(manager, brand_a, title="Winter warmers again", audience=audience)
    drain()
    drafted = {
        campaign.pk: list(
            ApprovalRequest.objects.filter(campaign=campaign, action_type="publish_content")
        )
        for campaign in (first, second)
    }
    assert all(len(items) == 4 for items in drafted.values())
    for items in drafted.values():
        # Written for the brief's audience, not the brand's remembered segment.
        assert {item.evidence["segment"] for item in items} == {audience}
        assert any("office managers" in item.payload["body"] for item in items)
    headlines = [{item.payload["headline"] for item in items} for items in drafted.values()]
    assert not headlines[0] & headlines[1]  # the second campaign avoided the first's


def test_the_demos_drafts_are_customer_facing_and_no_two_campaigns_share_a_headline(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    drain()  # Heart Health Newsletter, left for the worker: its drafts too
    assert not AuditEvent.objects.filter(action="content.held_back").exists()
    owner: dict[tuple[str, str], str] = {}
    handoffs = Handoff.objects.filter(kind="drafts").select_related("campaign__brief")
    assert handoffs.count() == 12
    for handoff in handoffs:
        campaign = handoff.campaign
        notes = InternalNotes.of_brief(campaign.brief)
        for variant in handoff.payload["variants"]:
            headline, body = variant["headline"], variant["body"]
            assert internal_leaks(headline=headline, body=body, notes=notes) == []
            assert "…" not in headline + body
            if campaign.brand.slug == "northwind" and variant["channel"] == "email":
                assert "%" not in headline  # the brand keeps “% off” out of subject lines
            key = (campaign.brand.slug, headline.casefold())
            assert owner.setdefault(key, campaign.name) == campaign.name, (headline, owner[key])
