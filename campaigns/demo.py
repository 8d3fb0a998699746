"""Demo data for ``seed_demo``: two brands, one login per role, a dozen campaigns spread
over the phases. Everything is written through the services, as agents and people would."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from approvals.domain.audit import Actor
from approvals.domain.roles import Role
from approvals.services import brand_assign

from . import services
from .domain.briefs import BriefSpec
from .models import Brand


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

AGENT_FOR_PHASE = {
    "execution": "planner",
    "monitoring": "distribution",
    "escalated": "performance",
    "completed": "reporting",
}


def seed_demo(*, today: date) -> list[DemoLogin]:
    """Create the demo. The caller checks the database is empty and DEBUG is on."""
    with transaction.atomic():
        setup = Actor.system("seed_demo")
        brands = {}
        for values in BRANDS:
            brand = services.brand_save(brand=Brand(**values), actor=setup, changed=list(values))
            brands[brand.slug] = brand
        users = {}
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
            users[login.username] = user
        manager = users["manager"]

        for slug, title, budget, spent, path, reason in CAMPAIGNS:
            _, campaign = services.brief_create(
                author=manager,
                brand=brands[slug],
                spec=_spec(title, budget, today),
                today=today,
            )
            assert campaign is not None
            for step in path:
                agent = AGENT_FOR_PHASE.get(step)
                actor = Actor.for_agent(agent) if agent else Actor.for_user(manager)
                services.campaign_transition_phase(
                    campaign_id=campaign.pk,
                    to_phase=step,
                    actor=actor,
                    reason=reason if step == path[-1] else "",
                )
            if spent:
                services.campaign_record_spend(
                    campaign_id=campaign.pk,
                    amount=Decimal(spent),
                    actor=Actor.for_agent("distribution"),
                )
        for slug in brands:
            services.brief_create(
                author=manager,
                brand=brands[slug],
                spec=_spec(f"{brands[slug].name}: seasonal promotion (template)", 20_000, today),
                as_template=True,
                today=today,
            )
    return list(DEMO_LOGINS)


def _spec(title: str, budget: int, today: date) -> BriefSpec:
    health = "Health" in title or "Sleep" in title or "Clinic" in title or "Wellness" in title
    return BriefSpec(
        title=title,
        objective=f"Grow qualified demand for {title.lower()} within budget.",
        audience="Existing customers and look-alike prospects in the home market",
        tone="Warm and factual",
        assets=["Email", "Ad set (3 variants)", "Landing page hero"],
        offer="First month at 20 % off",
        required_claims=["Free shipping over 40"] if not health else ["Ask your doctor first"],
        prohibited_claims=["Best in the world"] if not health else ["Clinically proven"],
        channels=["email", "social_ads", "landing_page"],
        budget=Decimal(budget),
        deadline=today + timedelta(days=45),
        success_metric="cpa",
        success_target=Decimal("28.00"),
        escalation_criteria="CPA above 28 for 3 h; any claim outside the approved list.",
    )
