"""The offline composer writes customer-facing copy (no database).

Over the demo's briefs (with the demo brands' memory and claims registry) and five more
businesses with other audiences and offers, on every channel: no draft carries the
brief's title, objective, success target or escalation criteria; nothing is cut ("…",
half a word); every draft keeps the brand's rules (the Northwind "% off" subject-line
rule too) and its channel's limits, and carries the required claims with their
disclaimers; a channel that cannot hold them is left out; variants differ, and no two
campaigns of a brand share a headline. Campaigns are drafted one after another, each
knowing the brand's earlier headlines, as ``brief_facts`` tells the content agent.
"""

import inspect
import re
from collections import defaultdict
from dataclasses import replace

import pytest

from agents.domain import copywriting
from agents.domain.copy_check import InternalNotes, internal_leaks
from agents.domain.handoffs import HandoffInvalid
from agents.providers.offline import (
    AudienceFacts,
    BriefFacts,
    MemoryNote,
    channels_left_out,
    compose_drafts,
    compose_research,
)
from memory.domain.compliance import BrandRules, channel_limits, check_variant
from memory.domain.written_rules import read_written_rules

from .copy_briefs import (
    CopyCase,
    demo_cases,
    new_cases,
    on_every_channel,
    second_cases,
)


def drafted_in_order(cases: list[CopyCase]):
    """Each campaign drafted after the brand's earlier ones, knowing their headlines."""
    used: dict[str, list[str]] = defaultdict(list)
    drafted = []
    for case in cases:
        facts = replace(case.facts, existing_headlines=tuple(used[case.brand]))
        drafts = compose_drafts(facts)
        used[case.brand] += [v.headline for v in drafts.variants]
        drafted.append((case, drafts.variants))
    return drafted


# The demo on the channels its briefs name; the demo on every channel; the new briefs
# (every channel) with a second campaign for two of their brands.
DEMO = drafted_in_order(demo_cases())
EVERYWHERE = drafted_in_order(
    [on_every_channel(case) for case in demo_cases()] + new_cases() + second_cases()
)
ALL = DEMO + EVERYWHERE
VARIANTS = [(case, variant) for case, variants in ALL for variant in variants]


def words(text: str) -> list[str]:
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text.casefold())
    return re.findall(r"[^\W_]+", text)


def runs(text: str, length: int) -> set[tuple[str, ...]]:
    found = words(text)
    return {tuple(found[i : i + length]) for i in range(len(found) - length + 1)}


def test_every_channel_gets_two_variants_that_differ():
    for case, variants in ALL:
        by_channel = defaultdict(list)
        for variant in variants:
            by_channel[variant.channel].append(variant)
        assert list(by_channel) == list(case.facts.channels), case.spec.title
        for channel, pair in by_channel.items():
            assert len(pair) == 2, (case.spec.title, channel)
            assert pair[0].headline != pair[1].headline, (case.spec.title, channel)
            assert pair[0].body != pair[1].body, (case.spec.title, channel)


def test_no_draft_carries_the_briefs_notes_for_the_team():
    for case, variant in VARIANTS:
        spec, copy = case.spec, f"{variant.headline}\n{variant.body}"
        where = (spec.title, variant.channel, copy)
        customer_facing = " ".join([spec.offer, *spec.required_claims])
        # No five words in a row of the objective, nor four of the escalation criteria.
        objective = runs(spec.objective, 5) - runs(customer_facing, 5)
        assert not runs(copy, 5) & objective, where
        assert not runs(copy, 4) & runs(spec.escalation_criteria, 4), where
        # No target figure: neither the success target nor a figure of the objective.
        figures = {w for w in words(spec.objective) if w.isdigit() and int(w) >= 10}
        figures |= {str(int(spec.success_target))} if spec.success_target else set()
        figures -= set(words(customer_facing))
        assert not figures & set(words(copy)), where
        # The title is not the headline, nor its opening.
        title = words(spec.title)
        assert words(variant.headline)[: len(title)] != title, where
        assert spec.title.casefold() not in copy.casefold(), where
        # And the product's own check agrees.
        assert (
            internal_leaks(
                headline=variant.headline, body=variant.body, notes=InternalNotes.of_brief(spec)
            )
            == []
        ), where


#: Every word copy may contain: the facts' and the composer's templates'.
TEMPLATE_WORDS = set(words(inspect.getsource(copywriting)))


def test_nothing_is_cut_short():
    for case, variant in VARIANTS:
        facts = case.facts
        known = TEMPLATE_WORDS | set(
            words(
                " ".join(
                    [
                        facts.brand_name,
                        facts.offer,
                        facts.audience,
                        *facts.required_claims,
                        *(n.text for n in facts.memory),
                        *(d for n in facts.memory for d in n.disclaimers),
                    ]
                )
            )
        )
        for text in (variant.headline, variant.body):
            assert "…" not in text and "..." not in text, text
            assert not set(words(text)) - known, (text, set(words(text)) - known)  # no half-words
        assert variant.body.rstrip().endswith((".", "!", "?", " team")), variant.body


def brand_rules_of(case: CopyCase) -> BrandRules:
    """The rules ``memory.selectors.brand_rules`` reads for the brand, plus the brief's
    prohibited claims and required claims (as ``Content.commit`` adds them)."""
    notes = case.facts.memory
    approved = {n.text: n.disclaimers for n in notes if n.kind == "approved_claim"}
    written = read_written_rules(
        [n.text for n in notes if n.kind in ("voice_rule", "failure_mode")]
    )
    return BrandRules(
        prohibited_phrases=tuple(n.text for n in notes if n.kind == "prohibited_phrase"),
        prohibited_claims=(
            *(n.text for n in notes if n.kind == "prohibited_claim"),
            *case.spec.prohibited_claims,
        ),
        approved_claims=(*approved, *case.spec.required_claims),
        required_disclaimers={c: d for c, d in approved.items() if d},
        avoided_words=written.avoided,
        headline_prohibited_phrases=written.headline,
        subject_line_prohibited_phrases=written.subject_line,
    )


def test_every_draft_keeps_the_brands_rules_and_its_channels_limits():
    for case, variant in VARIANTS:
        findings = check_variant(
            channel=variant.channel,
            headline=variant.headline,
            body=variant.body,
            claims=variant.claims,
            rules=brand_rules_of(case),
        )
        assert findings == [], (case.spec.title, variant.channel, findings)
        limits = channel_limits(variant.channel)
        assert len(variant.headline) <= limits["headline"]
        assert len(variant.body) <= limits["body"]


def test_the_discount_stays_out_of_northwind_subject_lines_but_reaches_the_reader():
    emails = [
        variant
        for case, variant in VARIANTS
        if case.brand == "Northwind Coffee" and variant.channel == "email"
    ]
    assert emails
    for email in emails:
        subject = email.headline.casefold()
        assert "%" not in subject and "20" not in subject and "off" not in words(subject)
        assert "first month at 20 % off" in email.body.casefold()


def test_every_body_carries_the_required_claims_with_their_disclaimers():
    for case, variant in VARIANTS:
        assert variant.claims == list(case.spec.required_claims)
        for claim in case.spec.required_claims:
            assert claim.casefold() in variant.body.casefold()
            note = next(n for n in case.facts.memory if n.text == claim)  # all registered
            for disclaimer in note.disclaimers:
                assert disclaimer in variant.body


def test_no_two_campaigns_of_a_brand_share_a_headline():
    for drafted in (DEMO, EVERYWHERE[len(DEMO) :]):  # the demo; the new brands
        owner: dict[tuple[str, tuple[str, ...]], str] = {}
        for case, variants in drafted:
            for variant in variants:
                key = (case.brand, tuple(words(variant.headline)))
                assert owner.setdefault(key, case.spec.title) == case.spec.title, (
                    variant.headline,
                    owner[key],
                    case.spec.title,
                )


def test_drafts_are_written_for_the_briefs_audience_and_offer():
    for case, variants in ALL:
        assert {v.segment for v in variants} == {case.spec.audience}
        copy = " ".join(f"{v.headline} {v.body}" for v in variants)
        assert case.spec.offer.casefold() in copy.casefold()
    by_title = {case.spec.title: variants for case, variants in ALL}
    for title, addressee in [
        ("Q3 IT Manager Trial Push", "IT managers"),
        ("Pet Food Subscription Spring Drive", "dog owners"),
        ("Wedding Cakes 2025 Season", "couples planning a wedding"),
    ]:
        assert any(addressee in f"{v.headline} {v.body}" for v in by_title[title]), title


def test_the_figures_in_drafts_come_from_the_brief_and_the_brands_memory():
    for case, variant in VARIANTS:
        facts = case.facts
        sources = " ".join(
            [facts.offer, *facts.required_claims, *(n.text for n in facts.memory)]
            + [d for n in facts.memory for d in n.disclaimers]
        )
        stated = {w for w in words(f"{variant.headline} {variant.body}") if w.isdigit()}
        assert stated <= set(words(sources)), (variant.headline, variant.body)


def test_the_same_brief_always_gives_the_same_copy_and_another_campaign_other_copy():
    case = demo_cases()[0]
    assert compose_drafts(case.facts) == compose_drafts(case.facts)
    other = compose_drafts(replace(case.facts, campaign_id=case.facts.campaign_id + 50))
    assert [v.headline for v in other.variants] != [
        v.headline for v in compose_drafts(case.facts).variants
    ]


SHIPPING = MemoryNote(
    "C9",
    "approved_claim",
    "Free shipping on orders over $40",
    ("Contiguous US only; excludes public holidays, gift cards and bulk office orders.",),
)


def shipping_brief(channels: list[str]) -> BriefFacts:
    return BriefFacts(
        campaign_id=7,
        brand_name="Northwind Coffee",
        title="Shipping week",
        objective="Lift repeat orders by showing free shipping",
        success_metric="Conversions",
        channels=channels,
        offer="Free shipping all week",
        required_claims=["Free shipping on orders over $40"],
        memory=(SHIPPING,),
    )


def test_a_channel_that_cannot_hold_the_claims_is_left_out_and_says_why():
    brief = shipping_brief(["email", "search_ads", "social_ads"])
    drafts = compose_drafts(brief)
    assert {v.channel for v in drafts.variants} == {"email", "social_ads"}
    assert channels_left_out(brief) == {
        "search_ads": "The disclaimer for “Free shipping on orders over $40” does not fit the "
        "90-character search-ads description."
    }
    for variant in drafts.variants:
        assert SHIPPING.disclaimers[0] in variant.body


def test_when_no_channel_can_hold_the_claims_there_are_no_drafts_and_the_reason():
    with pytest.raises(HandoffInvalid, match="does not fit the 90-character display-ad"):
        compose_drafts(shipping_brief(["search_ads", "display"]))


def test_research_leads_with_the_briefs_audience_and_invents_no_counts():
    case = demo_cases()[0]
    research = compose_research(case.facts, AudienceFacts(total=120, reachable=95))
    first, *others = research.segments
    assert (first.name, first.contacts) == (case.spec.audience, 95)
    assert others and all(s.contacts == 0 and s.cites for s in others)  # memory, uncounted
