"""A simulated sandbox market, in pure Python, to evaluate allocation policies offline:
each impression converts (Bernoulli) at its arm's rate, the policy allocates in batches
as the live system does, and the result is compared with an oracle that always shows
the currently best arm.

TRICKY: the comparison uses common random numbers. Each impression is a visitor with a
propensity ``u`` drawn from the market's own stream; they convert iff ``u`` is below the
rate of the arm they are shown. Every arm's conversions are still Bernoulli at its rate,
but the oracle and every policy meet the same visitors, so luck cancels out: with
identical arms every policy converts exactly the same, and the regret (the oracle's
conversions minus the policy's) can never be negative. The market's stream is split off
the seed before the policy draws anything, so it does not depend on the policy.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from agents.domain.allocation import ArmStats, allocate, stats_since_change

#: A policy sees every round so far (one ArmStats per arm per round; the history starts
#: with an all-zero round, as a new experiment does) and returns how many of the next
#: ``n`` impressions each arm gets.
Policy = Callable[[Sequence[Sequence[ArmStats]], int, random.Random], list[int]]


@dataclass(frozen=True)
class SimulationResult:
    conversions: int
    oracle_conversions: int
    regret: int  # oracle_conversions - conversions; never negative (common random numbers)
    shares: tuple[float, ...]  # share of the impressions each arm got
    rounds: int

    @property
    def percent_of_oracle(self) -> float:
        if not self.oracle_conversions:
            return 0.0
        return 100 * self.conversions / self.oracle_conversions


def drifted(rates: Sequence[float]) -> list[float]:
    """The rates after the drift: the best and the worst arms swap."""
    after = list(rates)
    best = max(range(len(rates)), key=lambda i: rates[i])
    worst = min(range(len(rates)), key=lambda i: rates[i])
    after[best], after[worst] = after[worst], after[best]
    return after


def gradual(start: Sequence[float], end: Sequence[float], horizon: int, *, steps: int = 100):
    """A market that moves from ``start`` to ``end`` rates in a straight line over the
    horizon, as ``changes`` for :func:`simulate`: ``steps`` equal steps (the first at
    impression ``horizon / steps``), so the rates are ``end`` for the last step."""
    if len(start) != len(end):
        raise ValueError("The start and end rates must have one rate per arm each.")
    return [
        (
            horizon * k // steps,
            [a + (b - a) * k / steps for a, b in zip(start, end, strict=True)],
        )
        for k in range(1, steps + 1)
    ]


def check_market(
    rates: Sequence[float],
    horizon: int,
    batch: int,
    drift_at: float | None,
    changes: Sequence[tuple[int, Sequence[float]]] = (),
):
    """Raise ValueError, with a message a person can act on, for a market that makes no sense."""
    if len(rates) < 2:
        raise ValueError(f"A test needs at least 2 arms, not {len(rates)}.")
    for rate in [*rates, *(rate for _, after in changes for rate in after)]:
        if not 0 < rate < 1:
            raise ValueError(f"Every conversion rate must be between 0 and 1, not {rate}.")
    if any(len(after) != len(rates) for _, after in changes):
        raise ValueError("Every change must give one rate per arm.")
    if any(at < 1 for at, _ in changes) or any(b <= a for (a, _), (b, _) in pairwise(changes)):
        raise ValueError("Changes must start after impression 0, in order of when they start.")
    if changes and drift_at is not None:
        raise ValueError("Give either a drift point or a list of changes, not both.")
    if horizon <= 0:
        raise ValueError(f"The horizon must be at least 1 impression, not {horizon}.")
    if batch <= 0:
        raise ValueError(f"The batch must be at least 1 impression, not {batch}.")
    if drift_at is not None and not 0 < drift_at < 1:
        raise ValueError(f"The drift point must be a fraction between 0 and 1, not {drift_at}.")


def simulate(
    policy: Policy,
    rates: Sequence[float],
    horizon: int,
    batch: int,
    rng: random.Random,
    drift_at: float | None = None,
    *,
    changes: Sequence[tuple[int, Sequence[float]]] = (),
) -> SimulationResult:
    """Run ``policy`` for ``horizon`` impressions in batches of ``batch`` against arms
    converting at ``rates``. With ``drift_at`` (a fraction of the horizon) the best and
    worst arms swap rates from that impression on, mid-batch if need be; ``changes``
    instead lists ``(impression, rates)``: the rates in force from that impression on
    (see :func:`gradual` for a market that drifts step by step)."""
    check_market(rates, horizon, batch, drift_at, changes)
    market = random.Random(rng.getrandbits(64))
    choices = random.Random(rng.getrandbits(64))
    if drift_at is not None:
        changes = [(int(horizon * drift_at), drifted(rates))]
    schedule = [(0, list(rates)), *((at, list(after)) for at, after in changes if at < horizon)]
    phases = [
        (at, next_at, now)
        for (at, now), (next_at, _) in zip(schedule, [*schedule[1:], (horizon, [])], strict=True)
    ]
    arms = len(rates)
    history: list[tuple[ArmStats, ...]] = [tuple(ArmStats(0, 0) for _ in range(arms))]
    impressions = [0] * arms
    conversions = oracle = 0
    t = 0
    while t < horizon:
        n = min(batch, horizon - t)
        counts = policy(history, n, choices)
        if len(counts) != arms or sum(counts) != n or min(counts) < 0:
            raise ValueError(f"The policy must split {n} impressions over {arms} arms: {counts}")
        this_round = []
        for arm, count in enumerate(counts):
            won = 0
            end = t + count
            for starts, ends, now in phases:  # split the run of impressions at the drift
                lo, hi = max(t, starts), min(end, ends)
                if lo >= hi:
                    continue
                rate, best = now[arm], max(now)
                draw = market.random
                for _ in range(hi - lo):
                    u = draw()
                    if u < best:
                        oracle += 1
                        if u < rate:
                            won += 1
            t = end
            impressions[arm] += count
            conversions += won
            this_round.append(ArmStats(count, won))
        history.append(tuple(this_round))
    return SimulationResult(
        conversions=conversions,
        oracle_conversions=oracle,
        regret=oracle - conversions,
        shares=tuple(count / horizon for count in impressions),
        rounds=len(history) - 1,
    )


def equal_split(history: Sequence[Sequence[ArmStats]], n: int, rng: random.Random) -> list[int]:
    """``n`` split evenly; the odd impressions rotate over the arms round by round, so no
    arm is favoured over the test."""
    arms = len(history[0])
    counts = [n // arms] * arms
    for j in range(n % arms):
        counts[(len(history) + j) % arms] += 1
    return counts


def allocator(history: Sequence[Sequence[ArmStats]], n: int, rng: random.Random) -> list[int]:
    """The live policy: :func:`allocate` on the statistics since the latest change."""
    return allocate(stats_since_change(history), n, rng=rng)
