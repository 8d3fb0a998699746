"""Demo data for ``seed_demo``: two brands, one login per role, a dozen campaigns spread
over the phases, their telemetry, and the incidents and approvals that tell a story:

- Office Coffee B2B Leads is escalated: its CPA has been above the control limit for
  three hours (a firing flag); the escalation has just told its owner and climbs to the
  managers and admins unless someone acknowledges it.
- Sleep Tracker Spring Push has a CPM spike on paid social (flag, response optimize) and
  is spending ahead of plan (its budget pacing SLA is at risk); Cold Brew Subscriptions
  is behind plan while its creative is in review.
- Wellness App Free Trial is escalated over a claim; the corrected claim waits for legal.
- A launch, a budget change and an audience change wait for a marketing manager, and a
  Northwind claim waits for the legal reviewer; every other live campaign is on track.

Every state change goes through the services, as agents and people would. Only the
hourly ``PerformanceSample`` telemetry (a read model) is bulk-inserted.

Long (over 500 lines) because most of it is the demo's data — brands, briefs, stories,
proposals — kept in one place so the demo reads as one story.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from governance.domain.audit import Actor
from governance.domain.roles import Role
from governance.services import brand_assign

from . import services
from .domain.briefs import BriefSpec
from .models import Brand, Campaign, PerformanceSample


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: Role
    brands: tuple[str, ...]  # brand slugs; admins see every brand anyway
    staff: bool = False


# Documented in README.md. Created only when DEBUG is on (see the command).
DEMO_LOGINS = (
    DemoLogin("manager", "tower-manager-demo", Role.MANAGER, ("northwind", "lumen")),
    DemoLogin("legal", "tower-legal-demo", Role.LEGAL, ("northwind",)),
    DemoLogin("admin", "tower-admin-demo", Role.ADMIN, (), staff=True),
    # A second admin, so the two-person rule (an admin's decision a different admin
    # confirms) can be tried in the demo without creating anyone.
    DemoLogin("admin2", "tower-admin2-demo", Role.ADMIN, (), staff=True),
)

BRANDS = [
    {
        "name": "Northwind Coffee",
        "slug": "northwind",
        "currency": "USD",
        "description": "Specialty coffee roaster selling direct and to offices.",
        "voice_rules": [
            "Warm, plain-spoken, never snobbish about coffee.",
            "Say 'roasted to order', never 'the best coffee in the world'.",
        ],
    },
    {
        "name": "Lumen Health",
        "slug": "lumen",
        "currency": "EUR",
        "description": "Sleep and heart-health wearables with a companion app.",
        "voice_rules": [
            "Calm and factual; no fear-based messaging.",
            "Every health statement cites an approved claim.",
        ],
    },
]

# (brand, title, budget, spent, path of phases after briefing, reason of the last move)
CAMPAIGNS = [
    ("northwind", "Autumn Roast Launch", 40_000, 18_500, ["execution", "monitoring"], ""),
    ("northwind", "Cold Brew Subscriptions", 25_000, 6_200, ["execution"], ""),
    ("northwind", "Holiday Gift Bundles", 60_000, 0, [], ""),
    (
        "northwind",
        "Office Coffee B2B Leads",
        30_000,
        21_000,
        ["execution", "monitoring", "escalated"],
        "CPA 41.20 above the control limit 28.00 for 3 h",
    ),
    (
        "northwind",
        "Loyalty Reactivation Email",
        8_000,
        7_640,
        ["execution", "monitoring", "completed"],
        "",
    ),
    (
        "northwind",
        "Decaf Awareness",
        12_000,
        3_100,
        ["execution", "paused"],
        "Holding creative until the new packaging photos arrive",
    ),
    (
        "northwind",
        "Barista Workshop Promo",
        5_000,
        0,
        ["draft"],
        "Returned: the offer is not final",
    ),
    ("lumen", "Sleep Tracker Spring Push", 80_000, 52_300, ["execution", "monitoring"], ""),
    ("lumen", "Clinic Partner Webinar", 15_000, 2_400, ["execution"], ""),
    (
        "lumen",
        "Wellness App Free Trial",
        20_000,
        4_800,
        ["execution", "escalated"],
        "Draft uses 'clinically proven', which is not an approved claim",
    ),
    (
        "lumen",
        "Member Referral Program",
        10_000,
        900,
        ["execution", "cancelled"],
        "Referral incentives paused company-wide",
    ),
    ("lumen", "Heart Health Newsletter", 6_000, 0, [], ""),
]


@dataclass(frozen=True)
class DemoTelemetry:
    """How a launched campaign has delivered: typical unit costs, and what went wrong in
    its last ``late_hours`` (the incident its flag reports)."""

    days: int
    cpa: float  # cost per acquisition
    cpm: float  # cost per thousand impressions
    ctr: float  # clicks per impression
    late_hours: int = 0
    late_cpa: float | None = None
    late_cpm: float | None = None


DEFAULT_TELEMETRY = DemoTelemetry(days=4, cpa=20.0, cpm=9.0, ctr=0.010)
# Keyed by campaign title; launched campaigns not listed get DEFAULT_TELEMETRY. Healthy
# campaigns run well under the briefs' CPA control limit of 28.00. At most 10 days of
# hourly buckets (240 rows) each keeps seeding fast.
TELEMETRY = {
    "Autumn Roast Launch": DemoTelemetry(days=10, cpa=19.5, cpm=8.2, ctr=0.012),
    "Cold Brew Subscriptions": DemoTelemetry(days=5, cpa=20.5, cpm=7.6, ctr=0.011),
    "Office Coffee B2B Leads": DemoTelemetry(
        days=10, cpa=21.5, cpm=14.0, ctr=0.008, late_hours=3, late_cpa=41.2
    ),
    "Loyalty Reactivation Email": DemoTelemetry(days=8, cpa=11.5, cpm=4.0, ctr=0.031),
    "Decaf Awareness": DemoTelemetry(days=4, cpa=21.0, cpm=7.0, ctr=0.009),
    "Sleep Tracker Spring Push": DemoTelemetry(
        days=10, cpa=20.5, cpm=9.1, ctr=0.010, late_hours=6, late_cpm=14.8
    ),
    "Clinic Partner Webinar": DemoTelemetry(days=3, cpa=17.0, cpm=11.0, ctr=0.013),
    "Wellness App Free Trial": DemoTelemetry(days=4, cpa=18.5, cpm=8.8, ctr=0.012),
    "Member Referral Program": DemoTelemetry(days=2, cpa=19.0, cpm=8.0, ctr=0.010),
}

# (campaign, reason, summary): escalations besides those the flags' responses open.
ESCALATIONS = [
    (
        "Wellness App Free Trial",
        "compliance",
        "Draft uses 'clinically proven', which is not an approved claim",
    ),
]

# Proposed through the real gate, so each waits in the queue its policy decision names,
# bound to its content, and can be decided in the demo:
# (campaign, action, payload, summary, agent, amount, claims, confidence).
PROPOSALS = [
    (
        "Holiday Gift Bundles",
        "launch_campaign",
        # Its figures are read from the data when it is proposed
        # (``monitoring.demo.seed_demo_incidents_and_proposals``).
        {"reason": None},
        "Launch Holiday Gift Bundles",
        "planner",
        0,
        [],
        0.86,
    ),
    (
        "Autumn Roast Launch",
        "change_budget",
        {
            "new_total": "48000",
            "reason": "CPA 22.40 is well under the 28.00 limit; scale the winning variants",
        },
        "Raise the budget from 40,000 to 48,000 USD",
        "performance",
        8000,
        [],
        0.78,
    ),
    (
        "Sleep Tracker Spring Push",
        "publish_content",
        {
            "channel": "social_ads",
            "headline": "Wake up knowing how you slept",
            "body": "Lumen tracks your sleep stages quietly, all night. Try it free for 30 days.",
            "claims": [],
        },
        "New paid-social ad for new parents",
        "content",
        0,
        [],
        0.71,
    ),
    (
        "Wellness App Free Trial",
        "publish_content",
        {
            "channel": "landing_page",
            "headline": "Sleep insights reviewed by sleep specialists",
            "body": "Replace 'clinically proven' with an approved claim before relaunch.",
            "claims": ["Sleep insights reviewed by sleep specialists"],
        },
        "Corrected landing-page hero without 'clinically proven'",
        "content",
        0,
        ["Sleep insights reviewed by sleep specialists"],
        0.9,
    ),
    (
        "Cold Brew Subscriptions",
        "publish_content",
        {
            "channel": "landing_page",
            "headline": "Roasted to order, at your door within 48 hours",
            "body": "Cold brew concentrate, roasted to order and shipped within 48 hours.",
            "claims": ["At your door within 48 hours"],
        },
        "Landing-page headline with a delivery promise",
        "content",
        0,
        ["At your door within 48 hours"],
        0.83,
    ),
]

# Who moved each demo campaign into a phase. Launches are the manager's: an agent may
# only launch through the delegation-policy gate (campaign_transition_phase refuses).
AGENT_FOR_PHASE = {
    "monitoring": "distribution",
    "escalated": "performance",
    "completed": "reporting",
}


def seed_demo_people() -> list[DemoLogin]:
    """The demo brands and one login per role. The caller checks the database is empty
    and DEBUG is on, and runs the demo's steps in one transaction (see ``seed_demo``)."""
    setup = Actor.system("seed_demo")
    brands = {}
    for values in BRANDS:
        brand = services.brand_save(brand=Brand(**values), actor=setup, changed=list(values))
        brands[brand.slug] = brand
    for login in DEMO_LOGINS:
        user = get_user_model().objects.create_user(
            username=login.username,
            password=login.password,
            email=f"{login.username}@example.com",
            is_staff=login.staff,
        )
        user.groups.add(Group.objects.get(name=login.role.value))
        for slug in login.brands:
            brand_assign(brand=brands[slug], assignee=user, actor=setup)
    return list(DEMO_LOGINS)


def seed_demo_briefs(*, today: date) -> None:
    """Every demo campaign's brief, submitted by the manager: each campaign starts in
    briefing with its planner queued, as any submitted brief does. Plus a template per
    brand."""
    manager = _manager()
    brands = Brand.objects.in_bulk(field_name="slug")
    for slug, title, budget, spent, _path, _reason in CAMPAIGNS:
        services.brief_create(
            author=manager,
            brand=brands[slug],
            spec=_spec(slug, title, budget, today, deadline=_deadline(title, budget, spent, today)),
            today=today,
        )
    for brand in brands.values():
        services.brief_create(
            author=manager,
            brand=brand,
            spec=_spec(brand.slug, f"{brand.name}: seasonal promotion (template)", 20_000, today),
            as_template=True,
            today=today,
        )


def seed_demo_story(*, after_step: Callable[[int, str], None] | None = None) -> None:
    """Move each campaign through its story (launches, incidents, a completion…), with
    its spend, telemetry, flags, SLAs and the proposals waiting in the queues.

    The moves are history (``effective_at`` in the past), so they start no agent work by
    themselves; ``after_step(campaign_id, phase)`` runs after each one, where the demo
    lets the agents do what that move asks of them (publish at launch, report at the end)."""
    now = timezone.now()
    manager = _manager()
    campaigns = dict(Campaign.objects.filter(brief__is_template=False).values_list("name", "pk"))

    def move(campaign_id: int, step: str, when: datetime, reason: str) -> None:
        agent = AGENT_FOR_PHASE.get(step)
        services.campaign_transition_phase(
            campaign_id=campaign_id,
            to_phase=step,
            actor=Actor.for_agent(agent) if agent else Actor.for_user(manager),
            reason=reason,
            effective_at=when,
        )
        if after_step:
            after_step(campaign_id, step)

    for _slug, title, _budget, spent, path, reason in CAMPAIGNS:
        campaign_id = campaigns[title]
        steps = list(zip(path, _step_times(title, path, now), strict=True))
        # A campaign completes after its delivery, so its final report has numbers.
        ending = steps.pop() if path and path[-1] == "completed" else None
        for step, when in steps:
            move(campaign_id, step, when, reason if step == path[-1] else "")
        if spent:
            services.campaign_record_spend(
                campaign_id=campaign_id,
                amount=_story_spend(campaign_id, title, spent, now),
                actor=Actor.for_agent("distribution"),
            )
            _seed_telemetry(campaign_id=campaign_id, now=now)
        if ending:
            move(campaign_id, *ending, reason)


def _story_spend(campaign_id: int, title: str, spent: int, now: datetime) -> Decimal:
    """What a campaign has spent by now. A delivering campaign spends exactly its story's
    pace against its plan (``PACE``; the deadline, a whole day, only approximates it), so
    its measured pacing SLA says what the story says; the others spend the table's sum."""
    from .domain.budget import planned_spend
    from .selectors import campaign_plan_end

    campaign = Campaign.objects.select_related("brief").get(pk=campaign_id)
    if campaign.phase not in ("execution", "monitoring") or campaign.launched_at is None:
        return Decimal(spent)
    planned = planned_spend(
        campaign.budget_total,
        timezone.localtime(campaign.launched_at),  # delivery starts at launch in the story
        timezone.localtime(campaign_plan_end(campaign)),
        timezone.localtime(now),
    )
    paced = planned * Decimal(str(1 + PACE.get(title, -0.02)))
    return min(campaign.budget_total, paced).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def _manager() -> Any:
    login = next(login for login in DEMO_LOGINS if login.role == Role.MANAGER)
    return get_user_model().objects.get(username=login.username)


def _step_times(title: str, path: list[str], now: datetime) -> list[datetime]:
    """When each demo phase change took effect: launched when its telemetry begins, later
    steps spread up to the incident (or the last hour), so plan and actuals line up."""
    telemetry = TELEMETRY.get(title, DEFAULT_TELEMETRY)
    launch = now - timedelta(hours=telemetry.days * 24)
    last = now - timedelta(hours=max(1, telemetry.late_hours))
    times = []
    for index, step in enumerate(path):
        if step == "draft":
            times.append(now - timedelta(hours=2))
        elif step == "execution":
            times.append(launch)
        else:
            times.append(launch + (last - launch) * (index / max(1, len(path) - 1)))
    return times


def _seed_telemetry(*, campaign_id: int, now: datetime) -> None:
    """Hourly samples for a campaign that has launched and spent: from its launch (see
    ``_step_times``) to now."""
    campaign = Campaign.objects.get(pk=campaign_id)
    telemetry = TELEMETRY.get(campaign.name, DEFAULT_TELEMETRY)
    PerformanceSample.objects.bulk_create(
        _samples_for(campaign, telemetry, now=now), batch_size=500
    )
    # The samples are bulk-inserted history, not ingested: say when delivery began, as
    # ingestion would have (the plan and the pacing warm-up start there).
    Campaign.objects.filter(pk=campaign_id, delivery_started_at__isnull=True).update(
        delivery_started_at=campaign.launched_at
    )


def _samples_for(
    campaign: Campaign, telemetry: DemoTelemetry, *, now: datetime
) -> list[PerformanceSample]:
    # One generator per campaign, seeded by its name: the same demo every time.
    rng = random.Random(f"demo-telemetry:{campaign.name}")
    variants = [
        f"#{pk}"
        for pk in campaign.content.filter(channel="social_ads", status="published")
        .order_by("pk")
        .values_list("pk", flat=True)[:2]
    ]
    last_bucket = now.replace(minute=0, second=0, microsecond=0)
    hours = telemetry.days * 24
    starts = [last_bucket - timedelta(hours=hours - 1 - i) for i in range(hours)]
    # Delivery follows the day (peaks mid-afternoon) and wobbles a little from hour to
    # hour; over a day it keeps to the story's pace (the pacing detector judges trailing
    # days against the plan).
    weights = [
        (1 + 0.55 * math.sin((start.hour - 9) / 24 * 2 * math.pi)) * rng.uniform(0.95, 1.05)
        for start in starts
    ]
    spends = _split_exactly(campaign.budget_consumed, weights)
    samples = []
    for i, (start, spend) in enumerate(zip(starts, spends, strict=True)):
        late = i >= hours - telemetry.late_hours
        cpm = (telemetry.late_cpm if late and telemetry.late_cpm else telemetry.cpm) * (
            rng.uniform(0.9, 1.1)
        )
        cpa = (telemetry.late_cpa if late and telemetry.late_cpa else telemetry.cpa) * (
            rng.uniform(0.9, 1.1)
        )
        impressions = int(float(spend) / cpm * 1000)
        clicks = round(impressions * telemetry.ctr * rng.uniform(0.85, 1.15))
        conversions = min(clicks, round(float(spend) / cpa))
        # The demo's history is paid social (its flags say so), split between its
        # published variants, the second converting better: the test the experimentation
        # agent runs on them has a story to tell (agents.demo).
        parts = _variant_parts(variants, spend, impressions, clicks, conversions)
        for variant, (v_spend, v_impressions, v_clicks, v_conversions) in parts:
            samples.append(
                PerformanceSample(
                    campaign=campaign,
                    bucket_start=start,
                    impressions=v_impressions,
                    clicks=v_clicks,
                    conversions=v_conversions,
                    spend=v_spend,
                    reach=v_impressions * 10 // 12,
                    channel="social_ads",
                    variant=variant,
                )
            )
    return samples


#: How much better or worse than the campaign's average each demo variant converts.
VARIANT_CONVERSION = (0.7, 1.3)


def _variant_parts(
    variants: list[str], spend: Decimal, impressions: int, clicks: int, conversions: int
) -> list[tuple[str, tuple[Decimal, int, int, int]]]:
    """One hour's delivery split evenly between the variants (blank: the channel as a
    whole), their conversions weighted by ``VARIANT_CONVERSION``; totals preserved."""
    if len(variants) < 2:
        return [(variants[0] if variants else "", (spend, impressions, clicks, conversions))]
    first_spend = (spend / 2).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    first_conversions = round(conversions * VARIANT_CONVERSION[0] / sum(VARIANT_CONVERSION))
    first = (first_spend, impressions // 2, clicks // 2, min(clicks // 2, first_conversions))
    second = (
        spend - first_spend,
        impressions - first[1],
        clicks - first[2],
        min(clicks - first[2], conversions - first[3]),
    )
    return [(variants[0], first), (variants[1], second)]


def _split_exactly(total: Decimal, weights: list[float]) -> list[Decimal]:
    """Share ``total`` out in proportion to ``weights``, to the cent; rounding down every
    share but the last, which takes the remainder, so the shares sum to ``total`` exactly."""
    cent = Decimal("0.01")
    weight_sum = sum(weights)
    shares = [
        (total * Decimal(w / weight_sum)).quantize(cent, rounding=ROUND_DOWN) for w in weights[:-1]
    ]
    return [*shares, total - sum(shares, Decimal("0"))]


# How far ahead of (+) or behind (-) its spend plan each launched campaign runs; the
# rest keep close to plan. Within ±10 % counts as on pace (the briefs' tolerance).
PACE = {
    "Sleep Tracker Spring Push": 0.083,  # its pacing SLA is at risk
    "Office Coffee B2B Leads": 0.04,
    "Cold Brew Subscriptions": -0.09,  # underspending while creative is in review: at risk
}


def _deadline(title: str, budget: int, spent: int, today: date) -> date:
    """A deadline that puts the campaign's spend where its story says, on a straight-line
    plan from launch (``_step_times``) to the end of the deadline day."""
    if not spent:
        return today + timedelta(days=45)
    days_run = TELEMETRY.get(title, DEFAULT_TELEMETRY).days
    planned_share = spent / budget / (1 + PACE.get(title, -0.02))
    days_left = days_run * (1 / planned_share - 1)
    return today + timedelta(days=max(1, round(days_left)))


def _spec(
    slug: str, title: str, budget: int, today: date, *, deadline: date | None = None
) -> BriefSpec:
    health = slug == "lumen"
    return BriefSpec(
        title=title,
        objective=f"Grow qualified demand for {title.lower()} within budget.",
        audience="Existing customers and look-alike prospects in the home market",
        tone="Warm and factual",
        assets=["Email", "Ad set (3 variants)", "Landing page hero"],
        offer="First month at 20 % off",
        # Claims in the brand's registry (memory.demo), approved by legal once: drafts that
        # use them carry their disclaimers and go to the manager, not back to legal.
        required_claims=["Roasted to order"]
        if not health
        else ["Tracks your sleep stages all night"],
        prohibited_claims=["Best in the world"] if not health else ["Clinically proven"],
        channels=["email", "social_ads", "landing_page"],
        budget=Decimal(budget),
        deadline=deadline or today + timedelta(days=45),
        success_metric="cpa",
        success_target=Decimal("28.00"),
        escalation_criteria="CPA above 28 for 3 h; any claim outside the approved list.",
    )
