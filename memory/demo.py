"""Demo brand memory and claims for ``seed_demo``: each demo brand gets voice rules,
audience segments, prohibited claims and phrases, an angle that worked (with evidence), a
failure mode, a performance note, and a claims registry with one approved claim with a
disclaimer, one waiting for legal review and one approved claim expiring soon.

Everything goes through the services, as people would. Lumen has no legal reviewer among
the demo logins, so its claims are owned and reviewed by ``legal-lumen``, a demo colleague
without a password (nobody logs in as them).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from campaigns.models import Brand, Campaign
from governance.domain.audit import Actor
from governance.domain.roles import Role
from governance.services import brand_assign

from . import services
from .domain.claims import ClaimSpec

SETUP = Actor.system("seed_demo")

# (kind, text, evidence); {campaign} in evidence is the demo campaign's name.
MEMORY: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    "northwind": [
        ("voice_rule", "Short sentences. Talk about the farm, the roast and the cup.", {}),
        (
            "segment",
            "Home brewers, 28 to 45, who buy whole beans every month and care about freshness.",
            {},
        ),
        ("segment", "Office managers at 20 to 200 person companies stocking the team kitchen.", {}),
        ("segment", "Gift buyers in November and December looking for a ready-made bundle.", {}),
        ("prohibited_claim", "Boosts your metabolism", {}),
        ("prohibited_phrase", "best coffee in the world", {}),
        ("prohibited_phrase", "cheap", {}),
        (
            "working_angle",
            "Lead with freshness: “roasted to order, shipped within a day”.",
            {
                "lift_pct": 18.4,
                "sample_size": 12400,
                "campaign": "Autumn Roast Launch",
                "note": "Email subject-line test against the seasonal-flavour subject.",
            },
        ),
        (
            "failure_mode",
            "Discount-led subject lines lift opens but cut repeat orders; keep “% off” out of "
            "subject lines.",
            {"note": "Repeat orders fell 9 % in the month after last spring's sale emails."},
        ),
        (
            "performance_note",
            "Office Coffee B2B Leads: paid-social CPA rose above the control limit after day "
            "10, as the audience tired of the creative.",
            {"campaign": "Office Coffee B2B Leads"},
        ),
    ],
    "lumen": [
        (
            "segment",
            "New parents sleeping in short stretches who want to understand their nights.",
            {},
        ),
        ("segment", "Adults over 45 watching their heart health on a doctor's advice.", {}),
        ("prohibited_claim", "Clinically proven", {}),
        ("prohibited_claim", "Diagnoses sleep apnea", {}),
        ("prohibited_phrase", "miracle", {}),
        ("prohibited_phrase", "cure", {}),
        (
            "working_angle",
            "Frame insights as “understand your nights”, never as fixing a problem.",
            {"lift_pct": 11.2, "sample_size": 8600, "campaign": "Sleep Tracker Spring Push"},
        ),
        (
            "failure_mode",
            "Fear-based copy about sleep deprivation drew complaints and twice the usual "
            "unsubscribe rate.",
            {"note": "Heart Health Newsletter pilot, two sends."},
        ),
        (
            "performance_note",
            "Sleep Tracker Spring Push: CPM on paid social spiked in the last hours; creative "
            "refresh queued.",
            {"campaign": "Sleep Tracker Spring Push"},
        ),
    ],
}

# (wording, variants, disclaimers, jurisdictions, days to expiry, approve?)
CLAIMS: dict[str, list[tuple[str, list[str], list[str], list[str], int, bool]]] = {
    "northwind": [
        (
            "Roasted to order",
            ["Freshly roasted to order", "Roasted when you order"],
            ["Beans are roasted within 2 business days of your order."],
            ["US", "CA"],
            300,
            True,
        ),
        (
            "At your door within 48 hours",
            [],
            ["Contiguous US only; excludes public holidays."],
            ["US"],
            180,
            False,
        ),
        ("Free shipping on orders over $40", [], ["Contiguous US only."], ["US"], 9, True),
    ],
    "lumen": [
        (
            "Tracks your sleep stages all night",
            ["Sleep stages tracked all night"],
            ["Lumen is not a medical device."],
            ["EU", "GB"],
            400,
            True,
        ),
        (
            "Sleep insights reviewed by sleep specialists",
            [],
            ["Lumen is not a medical device."],
            ["EU", "GB"],
            365,
            False,
        ),
        (
            "Try it free for 30 days",
            ["30-day free trial"],
            ["Cancel in the app before day 30 and you pay nothing."],
            ["EU", "GB"],
            6,
            True,
        ),
    ],
}

SUBSTANTIATION = {
    "Roasted to order": "Roastery order logs, January to June: 99.2 % of orders roasted within 2 "
    "business days.",
    "At your door within 48 hours": "Carrier SLA with ParcelCo; 2024 on-time delivery 96.8 %.",
    "Free shipping on orders over $40": "Pricing policy PP-7, approved by finance.",
    "Tracks your sleep stages all night": "Validation study against polysomnography, "
    "n=120, 2023 (internal report SR-12).",
    "Sleep insights reviewed by sleep specialists": "Advisory board contract with two "
    "board-certified sleep physicians.",
    "Try it free for 30 days": "Subscription terms v4, section 2.",
}


def seed_brand_memory(*, today: date) -> None:
    """Give the demo brands their memory and claims. Brands missing from the database are
    skipped; the caller runs this once, after ``campaigns.demo.seed_demo``."""
    users = get_user_model().objects
    manager = users.get(username="manager")
    with transaction.atomic():
        brands = Brand.objects.in_bulk(list(MEMORY), field_name="slug")
        campaigns = dict(Campaign.objects.values_list("name", "pk"))
        owners = {"northwind": users.get(username="legal")}
        if "lumen" in brands:
            owners["lumen"] = _lumen_counsel(brands["lumen"])
        for slug, brand in brands.items():
            _seed_memory(brand, manager, campaigns)
            _seed_claims(brand, manager, owners[slug], today)


def _lumen_counsel(brand: Brand) -> Any:
    counsel = get_user_model().objects.create_user(
        username="legal-lumen", email="legal-lumen@example.com", password=None
    )
    counsel.groups.add(Group.objects.get(name=Role.LEGAL.value))
    brand_assign(brand=brand, assignee=counsel, actor=SETUP)
    return counsel


def _seed_memory(brand: Brand, manager: Any, campaigns: dict[str, int]) -> None:
    person = Actor.for_user(manager)
    for rule in brand.voice_rules or []:
        services.memory_entry_create(
            brand_id=brand.pk,
            kind="voice_rule",
            text=rule,
            actor=SETUP,
            note="Imported from the brand's voice rules.",
        )
    for kind, text, evidence in MEMORY[brand.slug]:
        evidence = dict(evidence)
        if "campaign" in evidence:
            evidence["campaign_id"] = campaigns.get(evidence.pop("campaign"))
        actor = SETUP if kind == "performance_note" else person
        entry = services.memory_entry_create(
            brand_id=brand.pk, kind=kind, text=text, evidence=evidence, actor=actor
        )
        if kind == "segment" and entry.text.startswith("Office managers"):
            # A second version, so the demo shows an entry's history.
            services.memory_entry_revise(
                brand_id=brand.pk,
                entry_id=entry.pk,
                text=entry.text.replace(
                    "stocking the team kitchen", "who order for the team every month"
                ),
                note="Sales says they reorder monthly; say so.",
                actor=person,
            )


def _seed_claims(brand: Brand, manager: Any, owner: Any, today: date) -> None:
    for wording, variants, disclaimers, places, days, approve in CLAIMS[brand.slug]:
        claim = services.claim_propose(
            brand_id=brand.pk,
            spec=ClaimSpec(
                wording=wording,
                substantiation=SUBSTANTIATION[wording],
                expires_on=today + timedelta(days=days),
                jurisdictions=places,
                variants=variants,
                disclaimers=disclaimers,
            ),
            legal_owner=owner,
            proposer=manager,
            today=today,
        )
        if approve:
            services.claim_review(
                claim_id=claim.pk,
                reviewer=owner,
                approve=True,
                note="Substantiation on file.",
                today=today,
            )
