"""The offline composer: the built-in, deterministic stand-in for a language model.

It writes plans and drafts from the brief and the brand's rules alone — no network, no
randomness, the same input always gives the same output — so the product runs and is
testable anywhere. The UI labels its work "offline composer" so nobody mistakes it for
an LLM. Its output goes through the same handoff schemas and compliance checks as a real
model's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agents.domain.compliance import CHANNEL_LIMITS
from agents.domain.handoffs import DraftsV1, DraftVariant, PlanStep, PlanV1

LABEL = "offline composer"


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
    return PlanV1(
        campaign_id=brief.campaign_id,
        objective=_fit(brief.objective, 2000),
        success_metric=_fit(brief.success_metric),
        steps=steps,
    )


def compose_drafts(brief: BriefFacts) -> DraftsV1:
    """Two variants per channel: one leads with the benefit, one with the offer."""
    variants = []
    claim_line = " ".join(f"{c.rstrip('.')}." for c in brief.required_claims)
    for channel in brief.channels:
        limits = CHANNEL_LIMITS.get(channel, {"headline": 100, "body": 500})
        angles = [
            (f"{brief.title}: {brief.objective}", f"{brief.objective} {brief.offer}"),
            (
                f"{brief.offer or brief.title} from {brief.brand_name}",
                f"{brief.offer} {brief.objective}",
            ),
        ]
        for headline, body in angles:
            text = " ".join(f"{body} {claim_line}".split())
            variants.append(
                DraftVariant(
                    channel=channel,
                    headline=_fit(headline, limits["headline"]),
                    # TRICKY: claims go first when the body is cut to the channel's limit,
                    # so a required claim is never the part that gets dropped.
                    body=_fit_keeping(text, claim_line, limits["body"]),
                    claims=list(brief.required_claims),
                    cites=[_fit(f"voice: {rule}") for rule in brief.voice_rules[:3]],
                )
            )
    return DraftsV1(campaign_id=brief.campaign_id, variants=variants)


def _fit(text: str, limit: int = 300) -> str:
    """Shorten at a word boundary to ``limit`` characters (never mid-word)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return f"{cut}…"


def _fit_keeping(text: str, must_keep: str, limit: int) -> str:
    if len(text) <= limit or not must_keep:
        return _fit(text, limit)
    head = _fit(text.replace(must_keep, "").strip(), max(1, limit - len(must_keep) - 1))
    return f"{must_keep} {head}"[:limit] if len(must_keep) < limit else _fit(must_keep, limit)
