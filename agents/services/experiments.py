"""Experiments that reallocate themselves: every campaign channel with more than one
published variant is a test the agents run (every write here).

One round (``experiment_allocate``, each hour from beat), in one transaction:

    each arm's totals from the hourly roll-ups (impressions, conversions, spend,
    complaints, reach) ─▶ the rounds since the last detected change in the market are
    pooled (``allocation.stats_since_change``) ─▶ guardrails stop arms whatever they
    convert ─▶ Thompson sampling picks the shares (with a floor of exploration per arm)
    ─▶ the reallocation goes through the delegation-policy gate as a
    ``reallocate_budget`` (beyond the brand's thresholds it waits for a person) ─▶ the
    round is recorded with everything it was based on ─▶ once every arm has its minimum
    sample and one is very likely best, the winner is named and what was learned goes to
    brand memory (``agents.services.learning``).

The sandbox market splits each channel's budget by the latest applied shares, so the
traffic really moves (``monitoring.services.sandbox``).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from approvals.services import action_propose
from campaigns.domain.briefs import CHANNELS
from campaigns.domain.phases import Phase
from campaigns.models import Campaign, ContentStatus, ContentVariant, PerformanceSample
from governance.domain.audit import Actor
from governance.domain.errors import DomainError
from governance.services import audit_record

from ..domain.allocation import (
    ArmStats,
    Guardrails,
    NoEligibleArm,
    allocate,
    credible_interval,
    guardrail_breach,
    probability_best,
    stats_since_change,
    winner,
)
from ..models import AllocationRound, Experiment, ExperimentStatus, Handoff, RoundStatus
from ..selectors.experiments import current_shares, variant_label

logger = logging.getLogger(__name__)

EXPERIMENTER = Actor.for_agent("experimentation")
#: Shares are chosen at this resolution (per mille of the channel's traffic).
SHARE_UNITS = 1000
#: A round that moves less than this share of traffic changes nothing (no decision).
MIN_MOVE = 0.02
#: Without a test design: impressions each arm needs before a winner may be named.
DEFAULT_MIN_SAMPLE = 4000
#: Guardrails: a CPA above this multiple of the brief's target stops an arm; so does
#: showing the same people more than this many times an hour, or more complaints and
#: unsubscribes than this share of impressions.
CPA_GUARDRAIL_MULTIPLE = 2.0
MAX_FREQUENCY = 3.0
MAX_COMPLAINT_RATE = 0.002


@dataclass(frozen=True)
class Arm:
    label: str  # how telemetry names the variant ("#12")
    content_id: int
    headline: str


def experiments_reallocate(*, now: datetime | None = None) -> list[int]:
    """Beat's hourly tick: a round for every live channel with more than one variant."""
    now = now or timezone.now()
    rounds = []
    channels = (
        ContentVariant.objects.filter(
            status=ContentStatus.PUBLISHED,
            campaign__phase__in=[Phase.EXECUTION, Phase.MONITORING],
        )
        .values_list("campaign_id", "channel")
        .distinct()
    )
    for campaign_id, channel in sorted(set(channels)):
        try:
            made = experiment_allocate(campaign_id=campaign_id, channel=channel, now=now)
        except DomainError as exc:
            logger.info("No allocation for campaign %s %s: %s", campaign_id, channel, exc)
            continue
        if made is not None:
            rounds.append(made.pk)
    return rounds


def experiment_allocate(
    *, campaign_id: int, channel: str, now: datetime | None = None
) -> AllocationRound | None:
    """One allocation round for a campaign channel's test (started on its first round).
    ``None`` when the channel has fewer than two variants or its test is over."""
    now = now or timezone.now()
    with transaction.atomic():
        campaign = (
            Campaign.objects.select_for_update(no_key=True, of=("self",))
            .select_related("brief")
            .get(pk=campaign_id)
        )
        arms = _arms(campaign, channel)
        if len(arms) < 2:
            return None
        experiment = _running(campaign, channel, now)
        if experiment is None:
            return None
        previous = list(experiment.rounds.order_by("number"))
        totals = _totals(campaign, channel, arms, until=now)
        history = _history(previous, totals, arms)
        guardrails = _guardrails(campaign)
        stats = stats_since_change(history, guardrails=guardrails)
        pooled_from = _pooled_from(history, stats)
        number = len(previous) + 1
        rng = random.Random(f"experiment:{experiment.pk}:{number}")
        readouts = _readouts(arms, totals, stats, guardrails, rng)
        current = current_shares(experiment, [a.label for a in arms])
        try:
            counts = allocate(stats, SHARE_UNITS, rng=rng, guardrails=guardrails)
        except NoEligibleArm as exc:
            return _stop(experiment, campaign, number, now, readouts, current, str(exc))
        shares = {arm.label: count / SHARE_UNITS for arm, count in zip(arms, counts, strict=True)}
        found = winner(stats, rng=rng, min_sample=experiment.min_sample, guardrails=guardrails)
        allocation = AllocationRound.objects.create(
            experiment=experiment,
            number=number,
            at=now,
            arms=readouts,
            shares=shares,
            pooled_from=pooled_from,
            status=RoundStatus.UNCHANGED,
        )
        moved = sum(max(0.0, shares[label] - current.get(label, 0.0)) for label in shares)
        if moved >= MIN_MOVE:
            _propose(campaign, experiment, allocation, moved, readouts, arms)
        else:
            allocation.reason = (
                f"Shares move {moved:.1%} of traffic: below the {MIN_MOVE:.0%} worth changing."
            )
            allocation.save(update_fields=["reason"])
        if found is not None:
            _conclude(experiment, campaign, arms[found], readouts, now)
    return allocation


def allocation_apply(*, round_id: int, actor: Actor, authorization: str) -> AllocationRound:
    """Carry out a reallocation the gate allowed (or a person approved): from now on the
    channel's traffic and budget follow the round's shares."""
    with transaction.atomic():
        allocation = (
            AllocationRound.objects.select_for_update(no_key=True, of=("self",))
            .select_related("experiment__campaign")
            .get(pk=round_id)
        )
        if allocation.status == RoundStatus.APPLIED:
            return allocation
        allocation.status, allocation.applied_at = RoundStatus.APPLIED, timezone.now()
        allocation.save(update_fields=["status", "applied_at"])
        campaign = allocation.experiment.campaign
        audit_record(
            actor=actor,
            action="experiment.reallocated",
            target=allocation,
            brand_id=campaign.brand_id,
            campaign_id=campaign.pk,
            data={
                "channel": allocation.experiment.channel,
                "round": allocation.number,
                "shares": allocation.shares,
                "authorization": authorization,
            },
        )
    return allocation


# --- Internals -------------------------------------------------------------------------------


def _arms(campaign: Campaign, channel: str) -> list[Arm]:
    return [
        Arm(variant_label(pk), pk, headline)
        for pk, headline in ContentVariant.objects.filter(
            campaign=campaign, channel=channel, status=ContentStatus.PUBLISHED
        )
        .order_by("pk")
        .values_list("pk", "headline")
    ]


def _running(campaign: Campaign, channel: str, now: datetime) -> Experiment | None:
    existing = (
        Experiment.objects.filter(campaign=campaign, channel=channel)
        .order_by("-started_at")
        .first()
    )
    if existing is not None:
        return existing if existing.status == ExperimentStatus.RUNNING else None
    design = (
        Handoff.objects.filter(campaign=campaign, kind="experiment", status="accepted")
        .order_by("-created_at")
        .first()
    )
    min_sample = DEFAULT_MIN_SAMPLE
    if design is not None:
        min_sample = int(design.payload.get("minimum_sample_per_arm") or DEFAULT_MIN_SAMPLE)
    experiment = Experiment.objects.create(
        campaign=campaign, channel=channel, min_sample=min_sample, design=design, started_at=now
    )
    audit_record(
        actor=EXPERIMENTER,
        action="experiment.started",
        target=experiment,
        brand_id=campaign.brand_id,
        campaign_id=campaign.pk,
        data={"channel": channel, "min_sample": min_sample},
    )
    return experiment


def _totals(
    campaign: Campaign, channel: str, arms: list[Arm], *, until: datetime
) -> dict[str, ArmStats]:
    """Each arm's totals up to ``until`` (its hours so far), from the hourly roll-ups."""
    rows = {
        row["variant"]: row
        for row in PerformanceSample.objects.filter(
            campaign=campaign,
            channel=channel,
            variant__in=[a.label for a in arms],
            bucket_start__lt=until,
        )
        .values("variant")
        .annotate(
            i=Sum("impressions"),
            c=Sum("conversions"),
            s=Sum("spend"),
            r=Sum("reach"),
            k=Sum("complaints"),
        )
    }
    totals = {}
    for arm in arms:
        row = rows.get(arm.label) or {}
        impressions, reach = int(row.get("i") or 0), int(row.get("r") or 0)
        totals[arm.label] = ArmStats(
            trials=impressions,
            successes=min(impressions, int(row.get("c") or 0)),
            cost=float(row.get("s") or Decimal("0")),
            complaints=int(row.get("k") or 0),
            frequency=impressions / reach if reach else None,
        )
    return totals


def _history(
    previous: list[AllocationRound], totals: dict[str, ArmStats], arms: list[Arm]
) -> list[list[ArmStats]]:
    """Per-round increments of each arm (the allocator pools rounds since a change):
    differences of the cumulative totals recorded at each round, then this round's."""
    cumulative = [{a["label"]: a for a in allocation.arms} for allocation in previous] + [
        {
            label: {
                "trials": stats.trials,
                "successes": stats.successes,
                "cost": stats.cost,
                "complaints": stats.complaints,
            }
            for label, stats in totals.items()
        }
    ]
    history: list[list[ArmStats]] = []
    before: dict[str, dict[str, Any]] = {}
    for snapshot in cumulative:
        round_stats = []
        for arm in arms:
            now, then = snapshot.get(arm.label, {}), before.get(arm.label, {})
            trials = max(0.0, float(now.get("trials", 0)) - float(then.get("trials", 0)))
            successes = max(0.0, float(now.get("successes", 0)) - float(then.get("successes", 0)))
            round_stats.append(
                ArmStats(
                    trials=trials,
                    successes=min(trials, successes),
                    cost=max(0.0, float(now.get("cost") or 0) - float(then.get("cost") or 0)),
                    complaints=max(
                        0.0, float(now.get("complaints", 0)) - float(then.get("complaints", 0))
                    ),
                    frequency=totals[arm.label].frequency,
                )
            )
        history.append(round_stats)
        before = {**before, **snapshot}
    return history


def _pooled_from(history: list[list[ArmStats]], stats: list[ArmStats]) -> int:
    """The first round (1-based) the pooled statistics cover."""
    total = sum(arm.trials for arm in stats)
    running = 0.0
    for index in range(len(history) - 1, -1, -1):
        running += sum(arm.trials for arm in history[index])
        if running >= total - 1e-6:
            return index + 1
    return 1


def _guardrails(campaign: Campaign) -> Guardrails:
    brief = campaign.brief
    max_cpa = None
    if brief.success_metric == "cpa" and brief.success_target:
        max_cpa = float(brief.success_target) * CPA_GUARDRAIL_MULTIPLE
    return Guardrails(
        max_cpa=max_cpa, max_frequency=MAX_FREQUENCY, max_complaint_rate=MAX_COMPLAINT_RATE
    )


def _readouts(
    arms: list[Arm],
    totals: dict[str, ArmStats],
    stats: list[ArmStats],
    guardrails: Guardrails,
    rng: random.Random,
) -> list[dict[str, Any]]:
    try:
        best = probability_best(stats, rng=rng, guardrails=guardrails)
    except NoEligibleArm:
        best = [0.0] * len(stats)
    readouts = []
    for arm, pooled, chance in zip(arms, stats, best, strict=True):
        total = totals[arm.label]
        interval = credible_interval(pooled)
        readouts.append(
            {
                "label": arm.label,
                "content_id": arm.content_id,
                "headline": arm.headline[:120],
                "trials": int(total.trials),
                "successes": int(total.successes),
                "cost": round(total.cost or 0.0, 2),
                "complaints": int(total.complaints),
                "frequency": round(total.frequency, 2) if total.frequency else None,
                "mean": interval.mean,
                "low": interval.low,
                "high": interval.high,
                "prob_best": round(chance, 4),
                "stopped": guardrail_breach(pooled, guardrails),
            }
        )
    return readouts


def _propose(
    campaign: Campaign,
    experiment: Experiment,
    allocation: AllocationRound,
    moved: float,
    readouts: list[dict[str, Any]],
    arms: list[Arm],
) -> None:
    waiting = experiment.rounds.filter(status=RoundStatus.WAITING).exclude(pk=allocation.pk)
    earlier = waiting.order_by("-number").first()
    if earlier is not None:
        # One question at a time: people answer the reallocation already in their queue.
        allocation.reason = f"Round {earlier.number}'s reallocation still waits for approval."
        allocation.save(update_fields=["reason"])
        return
    leader = max(readouts, key=lambda r: r["prob_best"])
    channels = max(1, len(campaign.brief.channels or [experiment.channel]))
    remaining = max(Decimal("0"), campaign.budget_total - campaign.budget_consumed)
    amount = (remaining / channels * Decimal(str(round(moved, 4)))).quantize(Decimal("0.01"))
    label = CHANNELS.get(experiment.channel, experiment.channel)
    result = action_propose(
        campaign_id=campaign.pk,
        action="reallocate_budget",
        payload={
            "experiment_id": experiment.pk,
            "round_id": allocation.pk,
            "channel": experiment.channel,
            "shares": allocation.shares,
            "reason": f"{label}: move {moved:.0%} of traffic toward {leader['label']} "
            f"({leader['prob_best']:.0%} likely best)",
        },
        actor=EXPERIMENTER,
        summary=f"{label}: {', '.join(f'{k} {v:.0%}' for k, v in allocation.shares.items())}",
        amount=amount,
        confidence=float(leader["prob_best"]),
        evidence={
            "round": allocation.number,
            "arms": "; ".join(
                f"{r['label']}: {r['successes']}/{r['trials']} ({r['mean']:.2%}), "
                f"P(best) {r['prob_best']:.0%}"
                + (f", stopped: {r['stopped']}" if r["stopped"] else "")
                for r in readouts
            ),
            "pooled from round": allocation.pooled_from,
        },
    )
    allocation.decision = result.decision
    if result.executed:
        # Applied by the gate as the round was decided: it took effect at the round's
        # time (a replayed history, like the demo's, keeps its clock).
        allocation.refresh_from_db(fields=["status"])
        allocation.applied_at = allocation.at
        allocation.save(update_fields=["applied_at"])
    elif result.approval is not None:
        allocation.status = RoundStatus.WAITING
        allocation.reason = f"Beyond the policy's thresholds: {result.decision.reason}"
    else:
        allocation.status = RoundStatus.REFUSED
        allocation.reason = result.decision.reason[:300]
    allocation.save(update_fields=["decision", "status", "reason"])


def _arm_line(r: dict[str, Any]) -> str:
    line = f"{r['label']}: {r['successes']}/{r['trials']} ({r['mean']:.2%})"
    line += f", P(best) {r['prob_best']:.0%}"
    return line + (f", stopped: {r['stopped']}" if r["stopped"] else "")


def _stop(
    experiment: Experiment,
    campaign: Campaign,
    number: int,
    now: datetime,
    readouts: list[dict[str, Any]],
    current: dict[str, float],
    why: str,
) -> AllocationRound:
    """Every arm breached a guardrail: the test stops and the channel is paused through
    the gate (the breaches are in the reason)."""
    allocation = AllocationRound.objects.create(
        experiment=experiment,
        number=number,
        at=now,
        arms=readouts,
        shares=current,
        status=RoundStatus.STOPPED,
        reason=why[:300],
    )
    experiment.status, experiment.concluded_at = ExperimentStatus.STOPPED, now
    experiment.note = why[:300]
    experiment.save(update_fields=["status", "concluded_at", "note"])
    action_propose(
        campaign_id=campaign.pk,
        action="pause",
        payload={
            "reason": f"Every variant breached a guardrail: {why}"[:300],
            "channel": experiment.channel,
        },
        actor=EXPERIMENTER,
        summary=f"Pause {CHANNELS.get(experiment.channel, experiment.channel)}: no variant may run",
        evidence={"arms": why[:300]},
    )
    audit_record(
        actor=EXPERIMENTER,
        action="experiment.stopped",
        target=experiment,
        brand_id=campaign.brand_id,
        campaign_id=campaign.pk,
        data={"channel": experiment.channel, "why": why[:300]},
    )
    return allocation


def _conclude(
    experiment: Experiment,
    campaign: Campaign,
    best: Arm,
    readouts: list[dict[str, Any]],
    now: datetime,
) -> None:
    from .learning import memory_learn_from_experiment

    experiment.status, experiment.concluded_at, experiment.winner = (
        ExperimentStatus.CONCLUDED,
        now,
        best.label,
    )
    experiment.save(update_fields=["status", "concluded_at", "winner"])
    audit_record(
        actor=EXPERIMENTER,
        action="experiment.concluded",
        target=experiment,
        brand_id=campaign.brand_id,
        campaign_id=campaign.pk,
        data={"channel": experiment.channel, "winner": best.label, "arms": readouts},
    )
    memory_learn_from_experiment(experiment=experiment, readouts=readouts)
