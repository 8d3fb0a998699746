"""Briefs for judging the offline composer's copy, as the content agent sees them
(``BriefFacts``), without a database: the demo's briefs with the demo brands' memory and
claims registry (built as ``agents.specialists.facts.brief_facts`` builds them), and five
more businesses with their own audiences, offers, memory and internal notes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from agents.providers.offline import BriefFacts, MemoryNote
from campaigns.demo import BRANDS, CAMPAIGNS, _spec
from campaigns.domain.briefs import CHANNELS, SUCCESS_METRICS, BriefSpec
from memory.demo import CLAIMS, MEMORY
from memory.domain.entries import KINDS

TODAY = date(2025, 1, 6)


@dataclass(frozen=True)
class CopyCase:
    """One brief: what the composer reads, and the brief itself (its internal notes)."""

    brand: str
    spec: BriefSpec
    facts: BriefFacts


def memory_notes(
    voice_rules: list[str],
    entries: list[tuple[str, str]],
    claims: list[tuple[str, list[str]]],
) -> tuple[MemoryNote, ...]:
    """Brand memory as agents read it (``memory_for_agents``): voice rules first, then the
    entries in the order of the kinds, then the approved claims with their disclaimers."""
    rows = [("voice_rule", text) for text in voice_rules] + entries
    order = list(KINDS)
    ordered = sorted(enumerate(rows), key=lambda row: (order.index(row[1][0]), row[0]))
    notes = [MemoryNote(f"M{i + 1}", kind, text) for i, (kind, text) in ordered]
    notes += [
        MemoryNote(f"C{i + 1}", "approved_claim", wording, tuple(disclaimers))
        for i, (wording, disclaimers) in enumerate(claims)
    ]
    return tuple(notes)


def facts_for(campaign_id: int, brand: str, spec: BriefSpec, notes, voice_rules) -> BriefFacts:
    return BriefFacts(
        campaign_id=campaign_id,
        brand_name=brand,
        title=spec.title,
        objective=spec.objective,
        success_metric=SUCCESS_METRICS[spec.success_metric],
        channels=list(spec.channels),
        audience=spec.audience,
        tone=spec.tone,
        offer=spec.offer,
        required_claims=list(spec.required_claims),
        prohibited_claims=list(spec.prohibited_claims),
        voice_rules=list(voice_rules),
        memory=notes,
    )


def demo_cases() -> list[CopyCase]:
    """The demo's briefs, each for the channels of its brief and for every channel."""
    cases = []
    for number, (slug, title, budget, _spent, _path, _reason) in enumerate(CAMPAIGNS, start=1):
        brand = next(b for b in BRANDS if b["slug"] == slug)
        approved = [
            (wording, disclaimers)
            for wording, _variants, disclaimers, _places, _days, approve in CLAIMS[slug]
            if approve
        ]
        entries = [(kind, text) for kind, text, _evidence in MEMORY[slug]]
        notes = memory_notes(list(brand["voice_rules"]), entries, approved)
        spec = _spec(slug, title, budget, TODAY)
        cases.append(
            CopyCase(brand["name"], spec, facts_for(number, brand["name"], spec, notes, []))
        )
    return cases


def _new_spec(**values) -> BriefSpec:
    defaults = {
        "budget": Decimal("25000"),
        "deadline": TODAY + timedelta(days=40),
        "channels": list(CHANNELS),
        "tone": "Friendly",
    }
    return BriefSpec(**{**defaults, **values})


#: Five more businesses: (brand, voice rules, memory entries, approved claims, brief).
NEW_BRIEFS: list[
    tuple[str, list[str], list[tuple[str, str]], list[tuple[str, list[str]]], BriefSpec]
] = [
    (
        "Relay Desk",
        ["Plain English for busy admins; no hype.", "Never say 'revolutionary'."],
        [
            ("segment", "Help-desk leads at companies of 50 to 500 people."),
            (
                "working_angle",
                "Lead with time saved: “set up in an afternoon, not a quarter”.",
            ),
            ("prohibited_phrase", "game-changing"),
            (
                "failure_mode",
                "Subject lines that shout “FREE” went to spam folders; keep “free” out of "
                "subject lines.",
            ),
        ],
        [("Set up in under a day", ["Typical setup for teams of up to 200 agents."])],
        _new_spec(
            title="Q3 IT Manager Trial Push",
            objective=(
                "Sign up 400 IT managers to the free trial by the end of September and convert "
                "a quarter of them to paid seats"
            ),
            audience="IT managers at 50 to 500 person companies who run their own help desk",
            offer="Free 14-day trial, no credit card needed",
            required_claims=["Set up in under a day"],
            prohibited_claims=["Replaces your whole IT team"],
            success_metric="qualified_leads",
            success_target=Decimal("400"),
            escalation_criteria="Cost per trial above 90 for two days; any security claim.",
        ),
    ),
    (
        "Good Bowl",
        ["Warm and a little playful; dogs are family."],
        [
            ("working_angle", "Talk about the bowl: “fresh food, delivered to your door”."),
            ("prohibited_claim", "Vet approved"),
            ("prohibited_phrase", "cheap"),
        ],
        [],
        _new_spec(
            title="Pet Food Subscription Spring Drive",
            objective=(
                "Win 2,500 new monthly subscriptions from supermarket switchers before the "
                "end of April at under 35 per subscriber"
            ),
            audience="Dog owners who buy premium dry food at the supermarket",
            offer="Half price on your first box",
            success_metric="cpa",
            success_target=Decimal("35.00"),
            escalation_criteria="CPA above 35 for a day; complaints about delivery.",
        ),
    ),
    (
        "Ironworks Gym",
        ["Encouraging, never shaming about bodies or weight."],
        [
            ("working_angle", "Make it social: “train with people who remember your name”."),
            ("prohibited_phrase", "beach body"),
        ],
        [],
        _new_spec(
            title="January Membership Promo",
            objective=(
                "Sell 600 annual memberships in January across the three clubs and keep "
                "cancellations in the cooling-off period under 5 %"
            ),
            audience="Adults 25 to 45 within 3 km of a club who made a fitness resolution",
            offer="No joining fee in January",
            success_metric="conversions",
            success_target=Decimal("600"),
            escalation_criteria="Fewer than 150 sign-ups by 15 January.",
        ),
    ),
    (
        "Riverside Food Bank",
        ["Grateful and concrete: say what a gift buys."],
        [("working_angle", "Make the gift concrete: “£10 packs a family's breakfast for a week”.")],
        [],
        _new_spec(
            title="Spring Appeal 2025",
            objective=(
                "Raise 120,000 from past donors and newsletter readers before 31 March, with "
                "at least 800 first-time donors"
            ),
            audience="Past donors who gave in the last two years and newsletter readers",
            offer="Every gift matched pound for pound until 31 March",
            success_metric="revenue",
            success_target=Decimal("120000"),
            escalation_criteria="Donations below 30,000 by 1 March; any complaint about matching.",
        ),
    ),
    (
        "Crumb & Co.",
        ["Romantic but never sugary; talk about taste and craft."],
        [
            ("working_angle", "Invite them in: “taste it before you choose”."),
            ("prohibited_phrase", "best in town"),
        ],
        [],
        _new_spec(
            title="Wedding Cakes 2025 Season",
            objective=(
                "Book 45 wedding-cake tastings for the 2025 season and turn 60 % of tastings "
                "into orders"
            ),
            audience="Couples planning a wedding in the next 12 months",
            offer="Free tasting box for two",
            success_metric="conversions",
            success_target=Decimal("45"),
            escalation_criteria=(
                "Tastings below 10 in the first month; bad reviews mentioning price."
            ),
        ),
    ),
]


def new_cases(first_id: int = 101) -> list[CopyCase]:
    cases = []
    for number, (brand, voice, entries, claims, spec) in enumerate(NEW_BRIEFS, start=first_id):
        notes = memory_notes(voice, entries, claims)
        cases.append(CopyCase(brand, spec, facts_for(number, brand, spec, notes, [])))
    return cases


def on_every_channel(case: CopyCase) -> CopyCase:
    """The same brief on every channel (the demo's briefs use three)."""
    return replace(case, facts=replace(case.facts, channels=list(CHANNELS)))


#: A second campaign for two of the new brands, so "no two campaigns share a headline"
#: is tested within a brand too: (index into NEW_BRIEFS, brief).
SECOND_BRIEFS: list[tuple[int, BriefSpec]] = [
    (
        0,
        _new_spec(
            title="Help Desk Migration Webinar",
            objective="Fill 300 webinar seats with IT managers planning a help-desk migration",
            audience="IT managers at companies moving support off shared inboxes",
            offer="Free migration from your old help desk",
            required_claims=["Set up in under a day"],
            success_metric="qualified_leads",
            success_target=Decimal("300"),
            escalation_criteria="Fewer than 100 registrations a week before the webinar.",
        ),
    ),
    (
        2,
        _new_spec(
            title="Spring Bring-a-Friend Weeks",
            objective="Turn 400 guest passes into trial memberships during April and May",
            audience="Members who train at least twice a week",
            offer="Bring a friend free for a week",
            success_metric="conversions",
            success_target=Decimal("400"),
            escalation_criteria="Guest passes below 100 by mid-April.",
        ),
    ),
]


def second_cases(first_id: int = 201) -> list[CopyCase]:
    cases = []
    for number, (index, spec) in enumerate(SECOND_BRIEFS, start=first_id):
        brand, voice, entries, claims, _ = NEW_BRIEFS[index]
        notes = memory_notes(voice, entries, claims)
        cases.append(CopyCase(brand, spec, facts_for(number, brand, spec, notes, [])))
    return cases
