"""The offline composer: the built-in, deterministic stand-in for a language model.

It writes each specialist's output from the facts it is given — the brief, the brand's
memory, what earlier agents handed on — with no network and no randomness: the same
facts always give the same output, so the product runs and is testable anywhere. The UI
labels its work "offline composer" so nobody mistakes it for an LLM. Its output goes
through the same pydantic-ai runtime, handoff schemas and compliance checks as a real
model's.

One module, over 500 lines, on purpose: it is one model — the composer for every
specialist's output type — and its parts only make sense together.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from agents.domain.copy_check import InternalNotes, internal_leaks
from agents.domain.copywriting import (
    Angle,
    CopyFacts,
    Lead,
    Line,
    body_options,
    headline_key,
    headline_options,
    offer_phrasings,
    quoted_line,
    read_audience,
    rotated,
    seeded,
)
from agents.domain.handoffs import (
    Arm,
    CrmV1,
    DraftsV1,
    DraftVariant,
    ExperimentV1,
    HandoffInvalid,
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
from memory.domain.compliance import (
    CHANNEL_LIMITS,
    BrandRules,
    channel_limits,
    check_variant,
    claims_fit,
    claims_misfit_reason,
    mentions,
    required_claim_text,
)
from memory.domain.written_rules import read_written_rules

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
    prohibited_claims: Sequence[str] = ()
    voice_rules: Sequence[str] = ()
    memory: Sequence[MemoryNote] = ()
    contacts: int = 0  # first-party contacts the brand uploaded
    # Headlines the brand has already drafted or published: a new campaign avoids them.
    existing_headlines: Sequence[str] = ()

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
    """The brief's audience first (the campaign is for them, and the brand's uploaded
    contacts are the only count there is), then the brand's remembered segments as
    alternatives. A remembered segment gets no contact count: none was measured for it."""
    segments = []
    if brief.audience:
        segments.append(
            Segment(
                name=_fit(brief.audience),
                rationale=_fit(f"The brief's audience: {brief.audience}", 2000),
                contacts=audience.reachable,
            )
        )
    for note in brief.notes("segment")[: 3 - len(segments)]:
        segments.append(
            Segment(
                name=_fit(note.text.split(":")[0].split("—")[0].strip() or note.text, 300),
                rationale=_fit(f"In the brand's memory: {note.text}", 2000),
                cites=[note.ref],
            )
        )
    if not segments:
        segments = [
            Segment(
                name=_fit(f"{brief.brand_name} customers"),
                rationale="The brief names no audience; the brand's own customers.",
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
    """Two variants per channel, written for the brief's audience and offer: one leads
    with the offer (or, without one, with whom it is for), the other with an angle the
    brand's memory says worked (or the claim, or the brand). Each fits its channel without
    a word cut, keeps the brand's rules (placement rules too), carries the required claims
    with their disclaimers, and cites the memory it used. The brief's title, objective and
    targets never become copy. Variety: templates are tried in an order seeded by the
    campaign, channel and variant, and headlines the brand already used are skipped.

    A channel whose body cannot hold the required claims and their disclaimers at all is
    left out (``channels_left_out`` says why); when that leaves nothing, the handoff
    cannot be made and ``HandoffInvalid`` says why, which escalates the run."""
    writer = _Writer.for_brief(brief)
    taken = _Taken(by_brand={headline_key(h) for h in brief.existing_headlines})
    written: dict[str, list[DraftVariant]] = {}
    # TRICKY: short headlines are the scarce ones (search ads hold 30 characters), so the
    # tightest channels choose first; the variants still come out in the brief's order.
    for channel in sorted(brief.channels, key=lambda c: channel_limits(c)["headline"]):
        if not claims_fit(channel, writer.facts.claim_line):
            continue
        for index, lead in enumerate(writer.leads()):
            variant = writer.variant(channel, index, lead, taken=taken)
            if variant is None:
                continue
            taken.add(channel, variant.headline, variant.body)
            segment_name = _fit(segment or brief.audience)
            written.setdefault(channel, []).append(
                variant.model_copy(update={"segment": segment_name})
            )
    variants = [v for channel in brief.channels for v in written.pop(channel, [])]
    if not variants:
        # TRICKY: DraftsV1 needs one variant at least; an empty handoff is an invalid one,
        # and saying so escalates the run with the reason rather than retrying it.
        reasons = list(channels_left_out(brief).values()) or ["No draft passes the brand's rules."]
        raise HandoffInvalid("drafts", reasons)
    return DraftsV1(campaign_id=brief.campaign_id, variants=variants)


def channels_left_out(brief: BriefFacts) -> dict[str, str]:
    """The brief's channels that cannot carry its required claims, and why ("The
    disclaimer for “…” does not fit the 90-character search-ads description.")."""
    pairs = _claim_pairs(brief)
    reasons = {channel: claims_misfit_reason(channel, pairs) for channel in brief.channels}
    return {channel: reason for channel, reason in reasons.items() if reason}


def brief_rules(brief: BriefFacts) -> BrandRules:
    """The brand's rules as the brief's facts carry them (what ``memory.selectors.
    brand_rules`` reads from the database): the composer checks its own copy with them."""
    approved = {note.text: tuple(note.disclaimers) for note in brief.notes("approved_claim")}
    written = read_written_rules(
        [*brief.voice_rules, *(n.text for n in brief.notes("voice_rule", "failure_mode"))]
    )
    return BrandRules(
        prohibited_phrases=tuple(n.text for n in brief.notes("prohibited_phrase")),
        prohibited_claims=(
            *(n.text for n in brief.notes("prohibited_claim")),
            *brief.prohibited_claims,
        ),
        approved_claims=(*approved, *brief.required_claims),
        required_disclaimers={claim: d for claim, d in approved.items() if d},
        avoided_words=written.avoided,
        headline_prohibited_phrases=written.headline,
        subject_line_prohibited_phrases=written.subject_line,
    )


def _claim_pairs(brief: BriefFacts) -> list[tuple[str, tuple[str, ...]]]:
    """Each required claim with the disclaimers its registry entry demands."""
    registry = {normalise_claim(note.text): note for note in brief.notes("approved_claim")}
    pairs = []
    for claim in brief.required_claims:
        note = registry.get(normalise_claim(claim))
        pairs.append((claim, tuple(note.disclaimers) if note else ()))
    return pairs


#: How many wordings a body's sentences come in (see ``copywriting.body_options``).
BODY_STYLES = 4

#: What the tightest channels (search and display ads) can hold as a headline.
SHORT_HEADLINE = min(limits["headline"] for limits in CHANNEL_LIMITS.values())


@dataclass
class _Taken:
    """Headlines already used: by the brand's other campaigns, and by this campaign (on
    which channel). A channel's variants never share one; a new campaign takes one the
    brand used before only when nothing else fits."""

    by_brand: set[tuple[str, ...]]
    by_channel: dict[str, set[tuple[str, ...]]] = field(default_factory=dict)
    bodies: dict[str, set[str]] = field(default_factory=dict)

    def add(self, channel: str, headline: str, body: str) -> None:
        self.by_channel.setdefault(channel, set()).add(headline_key(headline))
        self.bodies.setdefault(channel, set()).add(body)

    def preference(self, channel: str, headline: str) -> int | None:
        """0: fresh; 1: used on another channel of this campaign only; 2: used by another
        of the brand's campaigns; None: used on this channel already."""
        key = headline_key(headline)
        if key in self.by_channel.get(channel, set()):
            return None
        if key in self.by_brand:
            return 2
        return 1 if any(key in used for used in self.by_channel.values()) else 0


@dataclass(frozen=True)
class _Writer:
    """Writes one campaign's variants from its facts, checking each against the brand's
    rules and the brief's internal notes before it is chosen."""

    brief: BriefFacts
    facts: CopyFacts
    rules: BrandRules
    internal: InternalNotes
    cites: tuple[str, ...]  # voice rules and claims: every variant rests on them
    checked: dict[tuple[bool, str, str, tuple[str, ...]], bool] = field(
        default_factory=dict, compare=False
    )

    @classmethod
    def for_brief(cls, brief: BriefFacts) -> _Writer:
        pairs = _claim_pairs(brief)
        angles = tuple(
            Angle(line, note.ref)
            for note in brief.notes("working_angle")
            if (line := quoted_line(note.text))
        )[:2]
        facts = CopyFacts(
            brand=brief.brand_name,
            offer=brief.offer,
            audience=read_audience(brief.audience),
            angles=angles,
            claims=tuple(brief.required_claims),
            claim_line=required_claim_text(pairs),
            disclaimers=tuple(d for _, ds in pairs for d in ds if d.strip()),
        )
        registry = {normalise_claim(n.text): n.ref for n in brief.notes("approved_claim")}
        claim_cites = [
            registry[key] for c in brief.required_claims if (key := normalise_claim(c)) in registry
        ]
        voice = [note.ref for note in brief.notes("voice_rule")[:3]] or [
            _fit(f"voice: {rule}") for rule in brief.voice_rules[:3]
        ]
        return cls(
            brief=brief,
            facts=facts,
            rules=brief_rules(brief),
            internal=InternalNotes(
                title=brief.title,
                objective=brief.objective,
                customer_facing=(brief.offer, *brief.required_claims),
            ),
            cites=tuple(dict.fromkeys([*voice, *claim_cites])),
        )

    def leads(self) -> list[Lead]:
        first = Lead.OFFER if self.facts.offer else Lead.WELCOME
        second = Lead.STORY if self.facts.angles or self.facts.claims else Lead.WELCOME
        return [first, second if second != first else Lead.STORY]

    def variant(
        self,
        channel: str,
        index: int,
        lead: Lead,
        *,
        taken: _Taken,
    ) -> DraftVariant | None:
        """The first body and headline, in the seeded order, that fit and pass."""
        key = (self.brief.campaign_id, channel, index)
        style = seeded(range(12), *key, "body")
        body = self._body(channel, lead, style=style, used=taken.bodies.get(channel, set()))
        if body is None:
            return None
        for headline in self._headlines(channel, lead, key, taken):
            findings = check_variant(
                channel=channel,
                headline=headline.text,
                body=body.text,
                claims=self.facts.claims,
                rules=self.rules,
            )
            if findings:
                continue
            refs = sorted(headline.refs | body.refs | self._rule_refs(channel))
            return DraftVariant(
                channel=channel,
                headline=headline.text,
                body=body.text,
                claims=list(self.facts.claims),
                cites=list(dict.fromkeys([*self.cites, *refs]))[:20],
            )
        return None

    def _body(self, channel: str, lead: Lead, *, style: int, used: set[str]) -> Line | None:
        """The best body that fits and passes, unlike the channel's other variant: the
        best of another wording first, then a shorter body; the same body only when
        nothing else fits (where only the claims fit, both variants carry just them)."""
        limit = channel_limits(channel)["body"]

        def fitting(wording: int) -> Iterator[Line]:
            for body in body_options(self.facts, lead=lead, channel=channel, style=wording):
                if (
                    body.text
                    and len(body.text) <= limit
                    and self._passes(channel, headline="", body=body.text, claims=self.facts.claims)
                ):
                    yield body

        best = [next(fitting(style + offset), None) for offset in range(BODY_STYLES)]
        for body in best:
            if body is not None and body.text not in used:
                return body
        for body in fitting(style):
            if body.text not in used:
                return body
        return best[0]

    def _headlines(
        self,
        channel: str,
        lead: Lead,
        key: tuple[object, ...],
        taken: _Taken,
    ) -> list[Line]:
        """Headlines that fit and pass, best first: fresh ones before reused ones (see
        ``_Taken.preference``), and within each, the variant's lead's templates in their
        seeded order, then the other leads'."""
        limit = channel_limits(channel)["headline"]
        offer_ok = self._offer_allowed_in_headline(channel)
        pools = [lead, *(other for other in Lead if other != lead)]
        fitting: list[tuple[tuple[int, bool], Line]] = []
        for pool in pools:
            templates = headline_options(self.facts, lead=pool, channel=channel, offer_ok=offer_ok)
            for phrasings in rotated(templates, *key, pool):
                for line in phrasings:
                    preference = taken.preference(channel, line.text)
                    if len(line.text) > limit or preference is None:
                        continue
                    if self._passes(channel, headline=line.text, body="", claims=()):
                        # A roomy channel leaves the shortest headlines to the tight ones.
                        scarce = limit > SHORT_HEADLINE and len(line.text) <= SHORT_HEADLINE
                        fitting.append(((preference, scarce), line))
        ordered = [line for _, line in sorted(fitting, key=lambda found: found[0])]
        return list({headline_key(line.text): line for line in ordered}.values())

    def _passes(self, channel: str, *, headline: str, body: str, claims: Sequence[str]) -> bool:
        """No finding at all (not even a warning) from the brand's rules or the copy check.
        Remembered: the same line is tried for many variants and channels."""
        # Only an email's headline meets other rules (subject lines); limits are checked
        # by the callers, so the channel matters no further.
        key = (channel == "email", headline, body, tuple(claims))
        if key not in self.checked:
            findings = check_variant(
                channel="email" if key[0] else "",
                headline=headline,
                body=body,
                claims=claims,
                rules=self.rules,
            )
            self.checked[key] = not findings and not internal_leaks(
                headline=headline, body=body, notes=self.internal
            )
        return self.checked[key]

    def _offer_allowed_in_headline(self, channel: str) -> bool:
        """Where the brand keeps part of the offer out of headlines ("keep “% off” out of
        subject lines"), no headline there says the offer in any words: "Save 20 %" is the
        discount-led subject line the rule is about, even without "% off"."""
        banned = [*self.rules.headline_prohibited_phrases]
        if channel == "email":
            banned += self.rules.subject_line_prohibited_phrases
        phrasings = offer_phrasings(self.facts.offer)
        return not any(mentions(text, phrase) for text in phrasings for phrase in banned)

    def _rule_refs(self, channel: str) -> set[str]:
        """The memory entries whose placement rules shaped this channel's headline."""
        refs = set()
        for note in self.brief.notes("voice_rule", "failure_mode"):
            written = read_written_rules([note.text])
            if written.headline or (channel == "email" and written.subject_line):
                refs.add(note.ref)
        return refs


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
    #: Each channel's test as (channel label, winner's label or "" while it runs).
    experiments: Sequence[tuple[str, str]] = ()

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
    if facts.impressions and facts.spend:
        observations.append(
            Observation(
                metric="CPM",
                value=round(1000 * facts.spend / facts.impressions, 2),
                verdict="watch" if facts.open_flags else "on track",
                note="over the whole campaign; the open flags say where it moved",
            )
        )
    off = [o.metric for o in observations if o.verdict == "off track"]
    if not facts.impressions:
        summary = "No delivery yet: nothing to judge."
    elif facts.open_flags:
        # An open flag is why the agent was asked: never call the campaign "on track"
        # next to it.
        summary = _fit(
            f"Open flag: {facts.open_flags[0]}"
            + (f" (and {len(facts.open_flags) - 1} more)" if len(facts.open_flags) > 1 else "")
            + (f". Off track on {', '.join(off)}." if off else ". The other measures are on track.")
        )
    elif off:
        summary = f"Off track on {', '.join(off)}."
    else:
        summary = "On track on every measure watched."
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
        # What the tests say, as their panel says it: never "keep it running" beside a
        # named winner.
        for channel, winner in facts.experiments:
            if winner:
                nxt.append(f"The {channel} test has a winner, {winner}: its traffic follows it")
            else:
                nxt.append(
                    f"Keep the {channel} test running to its minimum sample before naming a winner"
                )
        if not nxt:
            nxt.append("Nothing waits for a person: delivery goes on as planned, watched")
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
