"""Brand memory that compounds: what the system learns, proposed back to brand memory
with its evidence, through the delegation-policy gate for ``update_brand_memory`` — so a
brand can let memory learn alone, or have a person review each lesson.

Two sources of lessons:

- **experiments**: when a test names its winner, its headline becomes an angle that
  works (with its lift, sample size and campaign), and a clear loser a failure mode;
- **reviewers**: a reason people gave for rejecting drafts becomes a failure mode, and
  a phrase a reason quotes ("don't say “cheapest”") a proposed prohibited phrase.

The next brief's drafts lead with the best-proven angle and cite it (the offline
composer reads memory in that order: ``memory.selectors.memory_for_agents``); a learned
prohibited phrase holds back any draft that uses it.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from approvals.models import ApprovalRequest, ApprovalStatus
from approvals.services import action_propose
from campaigns.domain.briefs import CHANNELS, normalise_claim
from governance.domain.audit import Actor
from governance.domain.errors import DomainError
from memory.domain.entries import same_fact
from memory.models import EntryStatus, MemoryEntry

from ..models import Experiment

logger = logging.getLogger(__name__)

EXPERIMENTER = Actor.for_agent("experimentation")
#: The content agent learns from the reasons its drafts were rejected.
WRITER = Actor.for_agent("content")
#: A loser is remembered only when it is clearly worse than the winner.
LOSER_MAX_SHARE_OF_WINNER = 0.8
#: Reviewers' reasons are read from this far back.
REVIEW_WINDOW = timedelta(days=30)
#: A quoted phrase in a reason becomes a proposed prohibited phrase when it is short.
_QUOTED = re.compile(r"[“\"']([^”\"']{3,60})[”\"']")


def memory_learn_from_experiment(
    *, experiment: Experiment, readouts: list[dict[str, Any]]
) -> list[int]:
    """Propose what a concluded test taught (inside its transaction); the gate's
    decision ids."""
    campaign = experiment.campaign
    best = next((r for r in readouts if r["label"] == experiment.winner), None)
    if best is None:
        return []
    others = [r for r in readouts if r is not best and r["trials"]]
    if not others:
        return []
    baseline = sum(r["mean"] for r in others) / len(others)
    lift = (best["mean"] / baseline - 1) * 100 if baseline > 0 else 0.0
    sample = int(sum(r["trials"] for r in readouts))
    channel = CHANNELS.get(experiment.channel, experiment.channel)
    results = "; ".join(f"{r['label']} {r['mean']:.2%} ({r['trials']:,})" for r in readouts)
    decisions = []
    angle = (
        f"Lead with “{best['headline']}” on {channel}: it won its test, "
        f"{lift:+.0f} % conversions against the other variants."
    )
    decisions += _propose(
        campaign.pk,
        actor=EXPERIMENTER,
        kind="working_angle",
        text=angle,
        evidence={
            "lift_pct": round(max(-100.0, min(1000.0, lift)), 1),
            "sample_size": max(1, sample),
            "campaign_id": campaign.pk,
            "note": f"Test on {channel}: {results}; P(best) {best['prob_best']:.0%}."[:500],
        },
        reason=f"Won its experiment on {campaign.name} ({channel}).",
        confidence=float(best["prob_best"]),
    )
    worst = min(others, key=lambda r: r["mean"])
    if best["mean"] > 0 and worst["mean"] <= best["mean"] * LOSER_MAX_SHARE_OF_WINNER:
        loss = (1 - worst["mean"] / best["mean"]) * 100
        decisions += _propose(
            campaign.pk,
            actor=EXPERIMENTER,
            kind="failure_mode",
            text=(
                f"“{worst['headline']}” lost its test on {channel}: {loss:.0f} % fewer "
                f"conversions than “{best['headline']}”."
            ),
            evidence={
                "campaign_id": campaign.pk,
                "note": f"Test on {channel}: {results}."[:500],
            },
            reason=f"Lost its experiment on {campaign.name} ({channel}).",
            confidence=1 - float(worst["prob_best"]),
        )
    return decisions


def memory_learn_from_reviews(*, brand_id: int, now: datetime | None = None) -> list[int]:
    """Propose failure modes (and prohibited phrases) from the reasons reviewers gave for
    rejecting the content agent's drafts in the last 30 days; each lesson once."""
    now = now or timezone.now()
    rejected = (
        ApprovalRequest.objects.filter(
            brand_id=brand_id,
            action_type="publish_content",
            requested_by_agent="content",
            status__in=[ApprovalStatus.REJECTED, ApprovalStatus.CHANGES_REQUESTED],
            decided_at__gte=now - REVIEW_WINDOW,
        )
        .exclude(decision_note="")
        .select_related("campaign")
        .order_by("decided_at")
    )
    by_reason: dict[str, list[ApprovalRequest]] = {}
    for approval in rejected:
        by_reason.setdefault(normalise_claim(approval.decision_note), []).append(approval)
    decisions: list[int] = []
    for group in by_reason.values():
        first = group[0]
        note = " ".join(first.decision_note.split())
        campaigns = sorted({a.campaign.name for a in group})
        evidence = {
            "campaign_id": first.campaign_id,
            "note": f"Rejected {len(group)} time(s), in {', '.join(campaigns)}; "
            f"reviewers' reason: “{note}”"[:500],
        }
        decisions += _propose(
            first.campaign_id,
            actor=WRITER,
            kind="failure_mode",
            text=f"Reviewers rejected drafts because “{note}”"[:1000],
            evidence=evidence,
            reason=f"Learned from {len(group)} rejected draft(s).",
            confidence=min(0.99, 0.5 + 0.1 * len(group)),
        )
        for phrase in _QUOTED.findall(first.decision_note):
            decisions += _propose(
                first.campaign_id,
                actor=WRITER,
                kind="prohibited_phrase",
                text=phrase.strip(),
                evidence=evidence,
                reason="A reviewer asked drafts not to say this.",
                confidence=min(0.99, 0.5 + 0.1 * len(group)),
            )
    return decisions


def memory_learn_all(*, now: datetime | None = None) -> list[int]:
    """Beat's tick: every brand's reviewers' reasons (experiments teach as they end)."""
    from campaigns.models import Brand

    decisions = []
    for brand_id in Brand.objects.values_list("pk", flat=True):
        try:
            decisions += memory_learn_from_reviews(brand_id=brand_id, now=now)
        except DomainError as exc:
            logger.warning("Brand %s: lessons not proposed: %s", brand_id, exc)
    return decisions


def _same_lesson(a: str, b: str) -> bool:
    """The same fact, or the same lesson with other numbers ("Lead with “X” on Paid
    social: …" learned again from another test): compared up to the first colon."""
    return same_fact(a, b) or same_fact(a.split(":", 1)[0], b.split(":", 1)[0])


def _propose(
    campaign_id: int,
    *,
    actor: Actor,
    kind: str,
    text: str,
    evidence: dict[str, Any],
    reason: str,
    confidence: float,
) -> list[int]:
    """One lesson through the gate, unless the brand knows it already or it waits for a
    person already; the decision's id."""
    from campaigns.models import Campaign

    brand_id = Campaign.objects.values_list("brand_id", flat=True).get(pk=campaign_id)
    known = MemoryEntry.objects.filter(brand_id=brand_id, kind=kind, status=EntryStatus.ACTIVE)
    if any(_same_lesson(existing, text) for existing in known.values_list("text", flat=True)):
        return []
    waiting = ApprovalRequest.objects.filter(
        brand_id=brand_id, action_type="update_brand_memory", status=ApprovalStatus.PENDING
    )
    if any(
        _same_lesson(p.get("text", ""), text) for p in waiting.values_list("payload", flat=True)
    ):
        return []
    payload = {
        "operation": "create",
        "kind": kind,
        "text": text,
        "evidence": evidence,
        "reason": reason[:300],
    }
    try:
        with transaction.atomic():
            result = action_propose(
                campaign_id=campaign_id,
                action="update_brand_memory",
                payload=payload,
                actor=actor,
                summary=f"Learned ({kind.replace('_', ' ')}): {text}"[:300],
                confidence=round(confidence, 3),
                evidence={"why": reason, **{k: str(v) for k, v in evidence.items()}},
            )
    except DomainError as exc:  # e.g. the memory refused it as it stands
        logger.info("Lesson not proposed for campaign %s: %s", campaign_id, exc)
        return []
    return [result.decision.pk]
