"""The whole story, as people live it, on the whole stack (``manage.py runstack``: uvicorn,
a Celery worker, beat) in Chromium, with the simulated clock moving time forward:

1. a marketing manager writes a four-channel brief with claims in the browser and
   watches the plan and the drafts arrive without reloading; a channel whose claim's
   disclaimer cannot fit says so, with the ways out;
2. the legal reviewer clears the new claim in the claims registry, and the drafts that
   waited for it go to the manager;
3. the manager edits one draft, approves the rest, drops the channel that cannot carry
   the claim, and launches;
4. the sandbox market delivers; two simulated hours later the campaign is in monitoring,
   on pace, not escalated;
5. after two days of delivery an injected CPM spike raises its flag and runs its
   response, with the reason on the tower row and on the campaign page.

Screenshots of every step land in ``test-artifacts/journey-*.png``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from approvals.models import ApprovalRequest
from campaigns.models import Brand, Campaign, CampaignHold, ContentVariant
from campaigns.services import brand_save
from governance.domain.audit import Actor
from governance.domain.roles import Role
from memory.domain.claims import ClaimSpec
from memory.services import claim_propose, claim_review, memory_entry_create
from monitoring.models import AnomalyFlag, Escalation, SandboxCursor
from tests.factories import UserFactory
from tests.flows.whole_stack import Stack, whole_stack
from tests.stack import ROOT, process_env

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-enough-password"
RANGE = "Up to 90 km on one charge"
RANGE_DISCLAIMER = "Range measured in Eco mode at 20 °C on flat roads."
PORTLAND = "Assembled in Portland, Oregon"


def brand_with_people() -> tuple[Brand, dict[str, object]]:
    """A bike brand as its admin set it up: people, memory, an approved claim with a
    disclaimer, and a claim the manager proposed last week that legal has not cleared."""
    setup = Actor.system("journey")
    brand = brand_save(
        brand=Brand(name="Trailhead Bikes", slug="trailhead", currency="USD"),
        actor=setup,
        changed=["name", "slug", "currency"],
    )
    people = {
        "maya": UserFactory(username="maya", role=Role.MANAGER, brands=[brand]),
        "lee": UserFactory(username="lee", role=Role.LEGAL, brands=[brand]),
    }
    for user in people.values():
        user.set_password(PASSWORD)
        user.email = f"{user.username}@trailhead.example"
        user.save()
    maya, lee = people["maya"], people["lee"]
    for kind, text in (
        ("voice_rule", "Plain and practical: talk about the ride, the hill and the commute."),
        ("prohibited_phrase", "effortless"),
        ("segment", "Weekend riders who race on Sundays and want a lighter frame."),
    ):
        memory_entry_create(brand_id=brand.pk, kind=kind, text=text, actor=Actor.for_user(maya))
    today = timezone.localdate()

    def claim(wording: str, disclaimers: list[str]):
        return claim_propose(
            brand_id=brand.pk,
            spec=ClaimSpec(
                wording=wording,
                substantiation="Lab test report TR-2026-114",
                expires_on=today + timedelta(days=365),
                jurisdictions=["US"],
                disclaimers=disclaimers,
            ),
            legal_owner=lee,
            proposer=maya,
            today=today,
        )

    claim_review(claim_id=claim(RANGE, [RANGE_DISCLAIMER]).pk, reviewer=lee, approve=True)
    claim(PORTLAND, [])  # pending: legal has not cleared it yet
    return brand, people


def log_in(browser, stack: Stack, username: str):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.goto(stack.url + "/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(stack.url + "/")
    return page


def shoot(page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"journey-{name}.png"), full_page=True)


def wait_until(check, *, timeout: float, what: str, every: float = 0.3, story=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    raise AssertionError(
        f"Timed out after {timeout} s waiting for {what}" + (f": {story()}" if story else "")
    )


def simulated_now(stack: Stack):
    return timezone.now() + timedelta(seconds=float(stack.clock_file.read_text()))


def advance_and_deliver(stack: Stack, campaign: Campaign, hours: float) -> None:
    """Move the clock forward in steps of at most two hours (the sandbox's longest tick)
    and wait each time until the market has delivered up to the new time."""
    left = hours
    while left > 0:
        step = min(2.0, left)
        stack.advance(timedelta(hours=step))
        left -= step
        target = simulated_now(stack) - timedelta(seconds=40)
        try:
            wait_until(
                lambda target=target: SandboxCursor.objects.filter(
                    campaign=campaign, delivered_until__gte=target
                ).exists(),
                timeout=60,
                what=f"the sandbox market to deliver up to {target:%H:%M}",
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {story_so_far(campaign)}") from None


def story_so_far(campaign: Campaign) -> str:
    """What the campaign looks like now, for a failure message."""
    state = Campaign.objects.filter(pk=campaign.pk).values(
        "phase", "escalation_state", "delivery_started_at", "budget_consumed", "sla_status"
    )[0]
    why = list(Escalation.objects.filter(campaign=campaign).values_list("summary", flat=True))
    flags = list(
        AnomalyFlag.objects.filter(campaign=campaign).values_list("explanation", flat=True)
    )
    cursor = SandboxCursor.objects.filter(campaign=campaign).values("delivered_until").first()
    return f"{state} escalations={why} flags={flags} cursor={cursor}"


def test_brief_to_drafts_to_launch_to_live_monitoring(tmp_path, chromium, artifacts_dir):
    _brand, _people = brand_with_people()
    with whole_stack(tmp_path) as stack:
        # 1. The manager writes the brief and watches the agents work, without reloading.
        maya = log_in(chromium, stack, "maya")
        maya.get_by_role("link", name="New brief").click()
        maya.get_by_label("Title").fill("Trailhead e-bike spring launch")
        maya.get_by_label("Objective").fill(
            "Sell 300 Trailhead e-bikes before the end of April, half of them through dealers"
        )
        maya.get_by_label("ICP / segment").fill(
            "Commuters in their 30s and 40s who ride 5 to 15 km to work and want to arrive "
            "without being soaked in sweat"
        )
        maya.get_by_label("Tone").fill("Confident and practical")
        maya.get_by_label("Offer").fill("Free fitting and two years of servicing with every bike")
        maya.get_by_label("Required claims (one per line)").fill(f"{RANGE}\n{PORTLAND}")
        maya.get_by_label("Prohibited claims (one per line)").fill("Never needs charging")
        for channel in ("Email", "Search ads", "Paid social", "Landing page"):
            maya.get_by_label(channel, exact=True).check()
        # A national launch: enough delivery (a few thousand paid-social impressions an
        # hour) for the CPM detector to judge hour by hour once it has two days' baseline.
        maya.locator("#id_budget").fill("150000")
        maya.locator("#id_daily_cap").fill("5000")
        maya.get_by_label("Deadline").fill((timezone.localdate() + timedelta(days=45)).isoformat())
        maya.get_by_label("Success metric").select_option("cpa")
        maya.locator("#id_success_target").fill("80")
        maya.get_by_label("Escalation criteria").fill(
            "Stop and ask if cost per sale stays above 120 for a day"
        )
        maya.get_by_role("button", name="Submit brief").click()
        maya.wait_for_url(re.compile(r"/campaigns/\d+/$"))
        campaign = Campaign.objects.get(brief__title="Trailhead e-bike spring launch")
        maya.evaluate("window.__sameDocument = true")
        maya.locator("#agent-plan .plan-steps").wait_for(timeout=30_000)
        maya.locator("#agent-work .draft").first.wait_for(timeout=30_000)
        hold_panel = maya.locator("#campaign-holds")
        hold_panel.wait_for(state="visible", timeout=30_000)
        assert "Search ads" in hold_panel.inner_text()
        assert "does not fit the 90-character search-ads description" in hold_panel.inner_text()
        assert "Ways out" in hold_panel.inner_text()
        next_action = maya.locator("#next-action")
        wait_until(
            lambda: "Planner agent" not in next_action.inner_text(),
            timeout=20,
            what="the next action to move past the planner",
        )
        assert maya.evaluate("window.__sameDocument") is True  # nothing was reloaded
        shoot(maya, artifacts_dir, "1-plan-and-drafts")

        drafts = ApprovalRequest.objects.filter(campaign=campaign, action_type="publish_content")
        assert drafts.count() >= 6 and {d.queue_role for d in drafts} == {"Legal Reviewer"}
        channels = {d.payload["channel"] for d in drafts}
        assert channels == {"email", "social_ads", "landing_page"}
        brief = campaign.brief
        for draft in drafts:
            copy = f"{draft.payload['headline']}\n{draft.payload['body']}".lower()
            assert "sell 300" not in copy and "half of them through dealers" not in copy
            assert "120" not in copy and not draft.payload["headline"].endswith("…")
            assert RANGE_DISCLAIMER.lower() in copy  # the registry's disclaimer is carried
        assert brief.title not in {d.payload["headline"] for d in drafts}

        # 2. Legal clears the new claim once, in the registry.
        lee = log_in(chromium, stack, "lee")
        lee.locator("[data-nav=approvals]").click()
        assert lee.get_by_text("claims registry").first.is_visible()
        shoot(lee, artifacts_dir, "2-legal-queue")
        lee.get_by_role("link", name="Trailhead Bikes's claims registry").first.click()
        row = lee.locator("tr", has_text=PORTLAND)
        row.get_by_role("button", name="Approve").click()
        lee.get_by_text("went on to the marketing manager's queue").wait_for(timeout=15_000)
        shoot(lee, artifacts_dir, "3-legal-clears-the-claim")
        wait_until(
            lambda: set(drafts.values_list("queue_role", flat=True)) == {"Marketing Manager"},
            timeout=15,
            what="the drafts to move to the manager's queue",
        )

        # 3. The manager edits one draft, approves the rest, drops search ads, launches.
        maya.goto(stack.url + "/approvals/")
        cards = maya.locator("article.approval-card.status-pending")
        cards.first.wait_for(timeout=15_000)
        first = cards.first
        first.locator("summary", has_text="Edit before approving").click()
        # The manager's own line, short enough for any channel's headline.
        first.locator("input[name='edit-headline']").fill("Free fitting, every e-bike")
        first.get_by_role("button", name="Approve with my edits").click()
        maya.locator("article.approval-card.status-approved").first.wait_for(timeout=15_000)
        # The queue shows one item at a time; after each decision, "Next item".
        while (next_item := maya.locator("#pane-next a.next-item")).count():
            next_item.click()
            cards.first.get_by_role("button", name="Approve", exact=True).click()
            maya.locator("#pane-next").wait_for(timeout=15_000)
        shoot(maya, artifacts_dir, "4-manager-cleared-the-drafts")
        assert not drafts.filter(status="pending").exists()
        cleared = ContentVariant.objects.filter(campaign=campaign, status="approved").count()
        assert cleared == drafts.count()

        maya.goto(f"{stack.url}/campaigns/{campaign.pk}/")
        hold = CampaignHold.objects.get(campaign=campaign, resolved_at__isnull=True)
        maya.locator(f"#hold-note-{hold.pk}").fill("Go ahead without search ads this time")
        maya.locator(f"#hold-{hold.pk}").get_by_role("button", name="Resolve").click()
        maya.locator("#campaign-holds").wait_for(state="hidden", timeout=15_000)
        assert "Launch when ready" in maya.locator("#next-action").inner_text()
        maya.get_by_role("button", name="Move to execution").click()
        maya.wait_for_url(f"{stack.url}/campaigns/{campaign.pk}/")
        wait_until(
            lambda: (
                ContentVariant.objects.filter(campaign=campaign, status="published").count()
                == cleared
            ),
            timeout=30,
            what="the distribution agent to publish the cleared variants",
        )
        shoot(maya, artifacts_dir, "5-launched")

        # 4. The market delivers; two hours later: monitoring, on pace, not escalated.
        wait_until(
            lambda: SandboxCursor.objects.filter(campaign=campaign).exists(),
            timeout=30,
            what="the sandbox market to start on the campaign",
        )
        advance_and_deliver(stack, campaign, 2.0)
        try:
            wait_until(
                lambda: Campaign.objects.get(pk=campaign.pk).phase == "monitoring",
                timeout=30,
                what="the campaign to enter monitoring after its warm-up",
            )
        except AssertionError:
            state = Campaign.objects.filter(pk=campaign.pk).values(
                "phase", "launched_at", "delivery_started_at", "budget_consumed"
            )[0]
            cursor = SandboxCursor.objects.filter(campaign=campaign).values()[0]
            why = list(
                Escalation.objects.filter(campaign=campaign).values_list("summary", flat=True)
            )
            raise AssertionError(f"{state} {cursor} now={simulated_now(stack)} {why}") from None
        stack.advance(timedelta(minutes=2))  # one more tick: pacing is judged now
        time.sleep(3)
        campaign.refresh_from_db()
        assert campaign.delivery_started_at is not None and campaign.budget_consumed > 0
        assert campaign.phase == "monitoring" and campaign.escalation_state == "none"
        assert not Escalation.objects.filter(campaign=campaign).exists()
        assert campaign.sla_status != "breached"
        maya.goto(stack.url + "/")
        row = maya.locator(f"#tower-row-{campaign.pk}")
        assert "Monitoring" in row.inner_text() and "On pace" in row.inner_text()
        shoot(maya, artifacts_dir, "6-tower-on-pace")
        maya.goto(f"{stack.url}/campaigns/{campaign.pk}/")
        assert "since delivery began" in maya.locator("#phase-facts").inner_text()
        shoot(maya, artifacts_dir, "7-campaign-monitoring")

        # 5. Two days of delivery, then a CPM spike on paid social.
        advance_and_deliver(stack, campaign, 48.0)
        assert not Escalation.objects.filter(campaign=campaign).exists()
        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "inject_fault",
                str(campaign.pk),
                "cpm_spike",
                "--hours",
                "8",
                "--channel",
                "social_ads",
                "--severity",
                "1.5",
            ],
            cwd=ROOT,
            env=process_env(CONTROLTOWER_TEST_CLOCK_FILE=str(stack.clock_file)),
            check=True,
            capture_output=True,
        )
        advance_and_deliver(stack, campaign, 6.0)
        flag = wait_until(
            lambda: AnomalyFlag.objects.filter(
                campaign=campaign, kind="cpm_spike", state="firing"
            ).first(),
            timeout=30,
            what="the CPM spike flag",
            story=lambda: story_so_far(campaign),
        )
        assert flag.channel == "social_ads" and flag.response == "optimize"
        maya.goto(stack.url + "/")
        row = maya.locator(f"#tower-row-{campaign.pk}")
        assert "CPM spike" in row.inner_text()
        assert "CPM spike on Paid social" in row.locator(".cell-next").inner_text()
        shoot(maya, artifacts_dir, "8-tower-cpm-spike")
        maya.goto(f"{stack.url}/campaigns/{campaign.pk}/")
        flags = maya.locator("#flags-list")
        assert "CPM spike" in flags.inner_text() and flag.explanation in flags.inner_text()
        shoot(maya, artifacts_dir, "9-campaign-cpm-spike")
        assert campaign.budget_total >= Campaign.objects.get(pk=campaign.pk).budget_consumed
        assert Decimal(0) < Campaign.objects.get(pk=campaign.pk).budget_consumed
