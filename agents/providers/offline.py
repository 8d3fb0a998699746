"""The offline composer: the built-in, deterministic stand-in for a language model.

It writes each specialist's output from the facts it is given — the brief, the brand's
memory, what earlier agents handed on — with no network and no randomness: the same
facts always give the same output, so the product runs and is testable anywhere. The UI
labels its work "offline composer" so nobody mistakes it for an LLM. Its output goes
through the same pydantic-ai runtime, handoff schemas and compliance checks as a real
model's.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from agents.domain.compliance import CHANNEL_LIMITS
from agents.domain.handoffs import (
    Arm,
    CrmV1,
    DraftsV1,
    DraftVariant,
    ExperimentV1,
    LeadScore,
    Observation,
    PerformanceV1,
    PlanStep,
    PlanV1,
    ReportV1,
    ResearchV1,
    Segment,
)
from agents.domain.leads import LeadFacts, score_lead
from campaigns.domain.briefs import normalise_claim

LABEL = "offline composer"


@dataclass(frozen=True)
class MemoryNote:
    """One brand-memory entry as agents see it: citable by ``ref``."""

    ref: str
    kind: str
    text: str
    disclaimers: tuple[str, ...] = ()  # what an approved claim must be shown with


@dataclass(frozen=True)
class BriefFacts:
    """What the composer reads: the brief and the brand, as plain values."""

    campaign_id: int
    brand_name: str
    title: str
    objective: str
    success_metric: str
    channels: Sequence[str]
    audience: str = ""
    tone: str = ""
    offer: str = ""
    required_claims: Sequence[str] = ()
    voice_rules: Sequence[str] = ()
    memory: Sequence[MemoryNote] = ()
    contacts: int = 0  # first-party contacts the brand uploaded

    def notes(self, *kinds: str) -> list[MemoryNote]:
        return [note for note in self.memory if note.kind in kinds]


# --- Planner ---------------------------------------------------------------------------


def compose_plan(brief: BriefFacts) -> PlanV1:
    steps = [
        PlanStep(
            specialist="research",
            goal=_fit(f"Find the segments most likely to act on: {brief.audience or 'the brief'}"),
            expected_output="Up to 3 segments with the evidence for each",
        ),
        PlanStep(
            specialist="content",
            goal=_fit(f"Draft 2 variants per channel ({', '.join(brief.channels)})"),
            expected_output="Variants checked against the brand's rules",
            needs_approval=bool(brief.required_claims),
        ),
        PlanStep(
            specialist="experimentation",
            goal="Design the test: variants, allocation, minimum sample, stop rule",
            expected_output="A test design the allocator can run",
        ),
        PlanStep(
            specialist="distribution",
            goal="Publish what the policy allows or approvals cleared",
            expected_output="Live variants on each channel",
            needs_approval=True,
        ),
        PlanStep(
            specialist="performance",
            goal=_fit(f"Watch {brief.success_metric} against its target; flag anomalies"),
            expected_output="Anomaly flags and SLA evaluations",
        ),
        PlanStep(
            specialist="reporting",
            goal="Summarise what changed, why, and what next",
            expected_output="A plain-language report for leadership",
        ),
    ]
    if brief.contacts:
        steps.insert(
            1,
            PlanStep(
                specialist="crm",
                goal=_fit(f"Score and segment the {brief.contacts} uploaded contacts"),
                expected_output="Lead scores, segments and sales-handoff notes",
            ),
        )
    return PlanV1(
        campaign_id=brief.campaign_id,
        objective=_fit(brief.objective, 2000),
        success_metric=_fit(brief.success_metric),
        steps=steps,
    )


# --- Research --------------------------------------------------------------------------


@dataclass(frozen=True)
class AudienceFacts:
    """What the uploaded contacts look like, in counts (never the contacts themselves)."""

    total: int = 0
    reachable: int = 0  # subscribed and not suppressed
    top_titles: Sequence[tuple[str, int]] = ()
    top_countries: Sequence[tuple[str, int]] = ()


def compose_research(brief: BriefFacts, audience: AudienceFacts) -> ResearchV1:
    """Segments from the brand's memory first (they carry evidence), else the brief's ICP."""
    segments = [
        Segment(
            name=_fit(note.text.split(":")[0].split("—")[0].strip() or note.text, 300),
            rationale=_fit(f"In the brand's memory: {note.text}", 2000),
            contacts=audience.reachable if i == 0 else 0,
            cites=[note.ref],
        )
        for i, note in enumerate(brief.notes("segment")[:3])
    ]
    if not segments:
        segments = [
            Segment(
                name=_fit(brief.audience or f"{brief.brand_name} customers"),
                rationale=_fit(f"The brief's ICP: {brief.audience or 'not stated'}", 2000),
                contacts=audience.reachable,
            )
        ]
    insights = []
    if audience.total:
        insights.append(
            f"{audience.total} contacts uploaded, {audience.reachable} reachable "
            "(subscribed and not suppressed)"
        )
        if audience.top_titles:
            insights.append(_fit("Most common roles: " + _counts(audience.top_titles)))
        if audience.top_countries:
            insights.append(_fit("Most common countries: " + _counts(audience.top_countries)))
    for note in brief.notes("working_angle")[:2]:
        insights.append(_fit(f"Worked before ({note.ref}): {note.text}"))
    return ResearchV1(campaign_id=brief.campaign_id, segments=segments, insights=insights)


# --- Content ---------------------------------------------------------------------------


def compose_drafts(brief: BriefFacts, segment: str = "") -> DraftsV1:
    """Two variants per channel: one leads with the benefit, one with the offer (or with
    an angle the brand's memory says worked). Each cites the memory it used."""
    variants = []
    # A required claim that is in the brand's registry carries its disclaimers and is
    # cited by its ref; the checker would hold back a draft that left a disclaimer out.
    registry = {normalise_claim(note.text): note for note in brief.notes("approved_claim")}
    used = [registry[key] for c in brief.required_claims if (key := normalise_claim(c)) in registry]
    claim_line = " ".join(
        [f"{c.rstrip('.')}." for c in brief.required_claims]
        + [d for note in used for d in note.disclaimers]
    )
    claim_cites = [note.ref for note in used]
    voice = brief.notes("voice_rule")[:3]
    voice_cites = [note.ref for note in voice] or [
        _fit(f"voice: {rule}") for rule in brief.voice_rules[:3]
    ]
    angle = next(iter(brief.notes("working_angle")), None)
    for channel in brief.channels:
        limits = CHANNEL_LIMITS.get(channel, {"headline": 100, "body": 500})
        angles = [
            (f"{brief.title}: {brief.objective}", _sentences(brief.objective, brief.offer), []),
            (
                f"{brief.offer or brief.title} from {brief.brand_name}",
                _sentences(_angle_line(angle.text) if angle else brief.offer, brief.objective),
                [angle.ref] if angle else [],
            ),
        ]
        for headline, body, extra_cites in angles:
            text = _sentences(body, claim_line)
            variants.append(
                DraftVariant(
                    channel=channel,
                    headline=_fit(headline, limits["headline"]),
                    # TRICKY: claims go first when the body is cut to the channel's limit,
                    # so a required claim is never the part that gets dropped.
                    body=_fit_keeping(text, claim_line, limits["body"]),
                    claims=list(brief.required_claims),
                    cites=[*voice_cites, *claim_cites, *extra_cites],
                    segment=_fit(segment),
                )
            )
    return DraftsV1(campaign_id=brief.campaign_id, variants=variants)


# --- Experimentation -------------------------------------------------------------------

#: Planning assumptions for the minimum sample: a 2 % baseline conversion rate and a
#: 20 % relative lift worth detecting, at ~80 % power and 5 % significance (n ≈ 16pq/δ²).
BASELINE_RATE, DETECTABLE_LIFT = 0.02, 0.20


def compose_experiment(campaign_id: int, metric: str, drafts: DraftsV1) -> ExperimentV1:
    arms = drafts.variants
    delta = BASELINE_RATE * DETECTABLE_LIFT
    minimum = round(16 * BASELINE_RATE * (1 - BASELINE_RATE) / delta**2, -2)
    share = round(1 / len(arms), 6)
    return ExperimentV1(
        campaign_id=campaign_id,
        primary_metric=_fit(metric),
        arms=[
            Arm(
                label=f"{variant.channel} #{i + 1}",
                channel=variant.channel,
                headline=variant.headline,
                # The last arm absorbs rounding so the shares add up to exactly 1.
                share=share if i < len(arms) - 1 else round(1 - share * (len(arms) - 1), 6),
            )
            for i, variant in enumerate(arms)
        ],
        minimum_sample_per_arm=int(minimum),
        stop_rule=(
            "Stop an arm when a guardrail (CPA, frequency, unsubscribes) breaches, or when "
            "it has under 5 % chance of being best after the minimum sample"
        ),
        scale_rule=(
            "Move budget toward an arm with over 95 % chance of being best after the "
            "minimum sample, within the delegation policy's limits"
        ),
    )


# --- CRM -------------------------------------------------------------------------------


def compose_crm(campaign_id: int, leads: Sequence[LeadFacts]) -> CrmV1:
    scores = [score_lead(lead) for lead in leads]
    by_segment = Counter(s.segment for s in scores)
    return CrmV1(
        campaign_id=campaign_id,
        scores=[
            LeadScore(contact_id=s.contact_id, score=s.score, segment=s.segment, note=s.note)
            for s in scores
        ],
        summary=_fit(
            f"Scored {len(scores)} contacts: "
            + (", ".join(f"{n} {segment}" for segment, n in by_segment.most_common()) or "none")
        ),
    )


# --- Performance and reporting ---------------------------------------------------------


@dataclass(frozen=True)
class DeliveryFacts:
    """A campaign's delivery so far, in totals."""

    campaign_id: int
    name: str
    phase: str
    success_metric: str  # "cpa", "ctr", "conversions", …
    target: float | None
    impressions: int = 0
    clicks: int = 0
    conversions: int = 0
    spend: float = 0.0
    budget: float = 0.0
    open_flags: Sequence[str] = ()
    approvals_waiting: int = 0
    drafts_held_back: int = 0
    variants_live: int = 0  # cleared for publishing, not yet out
    variants_published: int = 0
    finished: bool = False  # completed or cancelled: a final report

    @property
    def cpa(self) -> float | None:
        return round(self.spend / self.conversions, 2) if self.conversions else None

    @property
    def ctr(self) -> float | None:
        return round(100 * self.clicks / self.impressions, 2) if self.impressions else None


def compose_performance(facts: DeliveryFacts) -> PerformanceV1:
    observations = []
    if facts.cpa is not None:
        observations.append(_observe("CPA", facts.cpa, _target(facts, "cpa"), lower_is_better=True))
    if facts.ctr is not None:
        observations.append(_observe("CTR %", facts.ctr, _target(facts, "ctr"), False))
    if facts.budget:
        observations.append(
            Observation(
                metric="budget used %",
                value=round(100 * facts.spend / facts.budget, 1),
                verdict="on track" if facts.spend <= facts.budget else "off track",
                note=f"{facts.spend:.2f} of {facts.budget:.2f} spent",
            )
        )
    off = [o.metric for o in observations if o.verdict == "off track"]
    summary = (
        "No delivery yet: nothing to judge."
        if not facts.impressions
        else f"Off track on {', '.join(off)}."
        if off
        else "On track on every measure watched."
    )
    return PerformanceV1(campaign_id=facts.campaign_id, observations=observations, summary=summary)


def compose_report(facts: DeliveryFacts) -> ReportV1:
    so_far = "in all" if facts.finished else "so far"
    changed = [
        f"{facts.impressions:,} impressions, {facts.clicks:,} clicks and "
        f"{facts.conversions:,} conversions {so_far}"
    ]
    if facts.budget:
        changed.append(
            f"{facts.spend:,.2f} of the {facts.budget:,.2f} budget spent "
            f"({100 * facts.spend / facts.budget:.0f} %)"
        )
    if facts.variants_published:
        changed.append(f"{facts.variants_published} variants published")
    if facts.variants_live:
        changed.append(f"{facts.variants_live} variants cleared and waiting to go out")
    why = []
    if facts.cpa is not None:
        target = _target(facts, "cpa")
        verdict = ""
        if target is not None:
            verdict = " (within target)" if facts.cpa <= target else " (above target)"
        why.append(
            f"CPA is {facts.cpa:.2f}"
            + (f" against a target of {target:.2f}{verdict}" if target is not None else "")
        )
    if facts.ctr is not None:
        why.append(f"{facts.ctr:.2f} % of impressions were clicked")
    if facts.drafts_held_back:
        why.append(f"{facts.drafts_held_back} drafts were held back by the brand's rules")
    why.extend(_fit(f"Open flag: {flag}") for flag in facts.open_flags[:3])
    if not why:
        why.append("The campaign has no delivery to explain yet")
    nxt = []
    if facts.approvals_waiting:
        nxt.append(f"{facts.approvals_waiting} decisions wait in the approval queues")
    if facts.open_flags:
        nxt.append("Resolve the open flags before widening spend")
    if facts.finished:
        if facts.budget and facts.spend < facts.budget:
            nxt.append(f"{facts.budget - facts.spend:,.2f} of the budget was not spent")
        nxt.append("Start the next brief from what worked here: its angles and results")
    else:
        nxt.append("Keep the test running to its minimum sample before naming a winner")
    return ReportV1(
        campaign_id=facts.campaign_id,
        headline=_fit(f"{facts.name}: {facts.phase.lower()}, {_verdict(facts)}"),
        what_changed=[_fit(c) for c in changed],
        why=[_fit(w) for w in why],
        what_next=[_fit(n) for n in nxt],
    )


# --- Helpers ---------------------------------------------------------------------------


def _target(facts: DeliveryFacts, metric: str) -> float | None:
    return facts.target if facts.success_metric == metric else None


def _observe(metric: str, value: float, target: float | None, lower_is_better: bool):
    if target is None:
        return Observation(metric=metric, value=value, verdict="watch", note="No target set")
    good = value <= target if lower_is_better else value >= target
    near = abs(value - target) <= 0.1 * target
    verdict = "on track" if good else "watch" if near else "off track"
    return Observation(
        metric=metric, value=value, target=target, verdict=verdict, note=f"target {target:g}"
    )


def _verdict(facts: DeliveryFacts) -> str:
    if facts.open_flags:
        return f"{len(facts.open_flags)} open flag(s)"
    if facts.finished:
        return f"{facts.conversions:,} conversions" if facts.impressions else "nothing delivered"
    return "delivering" if facts.impressions else "not delivering yet"


def _counts(pairs: Sequence[tuple[str, int]]) -> str:
    return ", ".join(f"{name} ({n})" for name, n in pairs)


def _fit(text: str, limit: int = 300) -> str:
    """Shorten at a word boundary to ``limit`` characters (never mid-word)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return f"{cut}…"


def _angle_line(angle: str) -> str:
    """The customer-facing line of a working angle: the words it quotes ("Lead with
    freshness: “roasted to order”" → "Roasted to order"), else the angle as written."""
    quoted = re.search(r"[“\"]([^”\"]+)[”\"]", angle)
    if not quoted:
        return angle
    line = quoted.group(1).strip().rstrip(",;:")
    return line[:1].upper() + line[1:]


def _sentences(*parts: str) -> str:
    """Parts joined as sentences: each ends with a full stop unless it already ends
    with punctuation; spacing normalised."""
    cleaned = [" ".join(part.split()) for part in parts]
    return " ".join(p if p[-1] in '.!?…”"' else f"{p}." for p in cleaned if p)


def _fit_keeping(text: str, must_keep: str, limit: int) -> str:
    if len(text) <= limit or not must_keep:
        return _fit(text, limit)
    head = _fit(text.replace(must_keep, "").strip(), max(1, limit - len(must_keep) - 1))
    return f"{must_keep} {head}"[:limit] if len(must_keep) < limit else _fit(must_keep, limit)
