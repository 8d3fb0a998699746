"""The experiment allocator, in pure Python: how many of the next impressions each arm of
a test gets, and the read-outs the campaign page shows (credible intervals, the chance
each arm is best, the winner once there is one).

The allocator is batched Thompson sampling on conversions per impression, with a Beta
posterior per arm:

* every eligible arm keeps a floor of exploration (``min_share`` of each batch), so an
  arm that looked bad early is still watched and a change in the market can be seen;
* the rest of the batch follows the posterior: each impression goes to the arm whose
  posterior draw is highest, which is the same as giving each arm its probability of
  being best (estimated from at most ``max_draws`` draws per batch, so the cost of a
  round is bounded whatever the batch size);
* guardrails (CPA, frequency, complaint/unsubscribe rate) stop an arm whatever its
  conversions: a breaching arm gets nothing, and if every arm breaches the allocator
  raises :class:`NoEligibleArm` so the caller pauses the experiment;
* :func:`winner` names an arm only after every eligible arm has its minimum sample and
  one arm's probability of being best passes the threshold.

Markets drift, and the allocator itself is stateless: it weighs whatever statistics it
is given. The caller keeps per-round statistics and passes :func:`stats_since_change`
of them, which pools every round unless a change in an arm's conversion rate is
detected, and then pools only the rounds since the change. We chose change detection
over a discount factor because a discount forgets in a stationary market too and costs
conversions there (see docs/PERFORMANCE.md, issue 7, for the figures).

Everything here is deterministic given the ``random.Random`` passed in.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from campaigns.domain.errors import DomainError

#: A uniform Beta(1, 1) prior: it assumes nothing about the rate, and a few hundred
#: impressions outweigh it, so it neither favours nor penalises an arm for long.
PRIOR = (1.0, 1.0)
#: Each eligible arm gets at least this share of every batch (rounded down).
MIN_SHARE = 0.01
#: Posterior draws per batch: one per impression up to this many, then proportional.
MAX_DRAWS = 1000
#: Draws for the page's probability-best read-out: ±0.5 percentage points near 95 %.
PROBABILITY_DRAWS = 10_000
#: The probability of being best an arm needs before it is called the winner.
WINNER_THRESHOLD = 0.95
#: Change detection: how far apart (in standard errors) an arm's conversion rate before
#: and after a round must be to call it a change. Every round is tested as a split
#: point, every round, so the bar is high to keep false alarms rare.
CHANGE_Z = 3.5
#: ...and how many conversions each side must expect (at the pooled rate) before the
#: test is trusted: the normal approximation is poor on a handful of conversions.
CHANGE_MIN_EXPECTED = 30.0


class NoEligibleArm(DomainError, ValueError):
    """Every arm breaches a guardrail: nothing may be allocated, so the caller pauses
    the experiment (and says why, from each arm's breach reason)."""


@dataclass(frozen=True)
class ArmStats:
    """What is known about one arm. Counts may be fractional (pooled or weighted rounds).

    ``cost`` is the spend on the arm (currency units), ``complaints`` counts complaints
    and unsubscribes, ``frequency`` is the mean impressions per person reached.
    ``guardrail_breached`` (with a reason) is for guardrails the caller checks itself.
    """

    trials: float
    successes: float
    cost: float | None = None
    complaints: float = 0.0
    frequency: float | None = None
    guardrail_breached: bool = False
    guardrail_reason: str = ""


@dataclass(frozen=True)
class Guardrails:
    """Limits that stop an arm regardless of its conversions; ``None`` means no limit."""

    max_cpa: float | None = None
    max_frequency: float | None = None
    max_complaint_rate: float | None = None


NO_GUARDRAILS = Guardrails()


@dataclass(frozen=True)
class Interval:
    """An arm's posterior mean conversion rate and its equal-tailed credible interval."""

    mean: float
    low: float
    high: float


# --- Guardrails ------------------------------------------------------------------------


def guardrail_breach(arm: ArmStats, guardrails: Guardrails = NO_GUARDRAILS) -> str:
    """Why ``arm`` is stopped by a guardrail, or "" when it may run."""
    if arm.guardrail_breached:
        return arm.guardrail_reason or "A guardrail was breached."
    limit = guardrails.max_cpa
    # TRICKY: with no conversion yet, CPA is undefined, but once spend passes the limit
    # the first conversion can only bring a CPA above it, so the arm stops now.
    if limit is not None and arm.cost is not None and arm.cost > limit * max(arm.successes, 1):
        cpa = arm.cost / arm.successes if arm.successes else arm.cost
        spent = "" if arm.successes else " with no conversion yet"
        return f"CPA {cpa:.2f}{spent} is over the {limit:.2f} limit."
    limit = guardrails.max_frequency
    if limit is not None and arm.frequency is not None and arm.frequency > limit:
        return f"Frequency {arm.frequency:.1f} per person is over the {limit:.1f} limit."
    limit = guardrails.max_complaint_rate
    if limit is not None and arm.trials > 0 and arm.complaints / arm.trials > limit:
        return (
            f"Complaint and unsubscribe rate {arm.complaints / arm.trials:.2%} "
            f"is over the {limit:.2%} limit."
        )
    return ""


def _eligible(arms: Sequence[ArmStats], guardrails: Guardrails) -> list[int]:
    eligible = [i for i, arm in enumerate(arms) if not guardrail_breach(arm, guardrails)]
    if not eligible:
        reasons = "; ".join(
            f"arm {i + 1}: {guardrail_breach(arm, guardrails)}" for i, arm in enumerate(arms)
        )
        raise NoEligibleArm(f"Every arm breaches a guardrail, so the test must pause ({reasons})")
    return eligible


# --- Validation ------------------------------------------------------------------------


def _check_arms(arms: Sequence[ArmStats]) -> None:
    if not arms:
        raise ValueError("There must be at least one arm.")
    for i, arm in enumerate(arms, start=1):
        for field in ("trials", "successes", "complaints"):
            value = getattr(arm, field)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"Arm {i}: {field} must be a finite number ≥ 0, not {value}.")
        if arm.successes > arm.trials:
            raise ValueError(
                f"Arm {i}: successes ({arm.successes}) cannot exceed trials ({arm.trials})."
            )
        for field in ("cost", "frequency"):
            value = getattr(arm, field)
            if value is not None and (not math.isfinite(value) or value < 0):
                raise ValueError(f"Arm {i}: {field} must be a finite number ≥ 0, not {value}.")


def _check_prior(prior: tuple[float, float]) -> None:
    if len(prior) != 2 or not all(math.isfinite(p) and p > 0 for p in prior):
        raise ValueError(f"The prior must be two positive numbers (alpha, beta), not {prior}.")


def _check_count(name: str, value: int, *, minimum: int) -> None:
    # bool is an int in Python; True impressions is a bug, not one impression.
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be a whole number ≥ {minimum}, not {value!r}.")


# --- Allocation ------------------------------------------------------------------------


def _posterior(arm: ArmStats, prior: tuple[float, float]) -> tuple[float, float]:
    return prior[0] + arm.successes, prior[1] + arm.trials - arm.successes


def _best_counts(
    arms: Sequence[ArmStats],
    eligible: Sequence[int],
    draws: int,
    rng: random.Random,
    prior: tuple[float, float],
) -> list[int]:
    """How often each eligible arm's posterior draw is the highest, over ``draws``."""
    posteriors = [_posterior(arms[i], prior) for i in eligible]
    wins = [0] * len(eligible)
    beta = rng.betavariate
    for _ in range(draws):
        best, best_at = -1.0, 0
        for j, (a, b) in enumerate(posteriors):
            x = beta(a, b)
            if x > best:
                best, best_at = x, j
        wins[best_at] += 1
    return wins


def _apportion(total: int, weights: Sequence[float]) -> list[int]:
    """``total`` split in proportion to ``weights`` (largest remainder, ties to the
    earlier index), so the parts are whole numbers that add up to exactly ``total``."""
    weight_sum = sum(weights)
    exact = [total * w / weight_sum for w in weights]
    parts = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda j: (parts[j] - exact[j], j))
    for j in by_remainder[: total - sum(parts)]:
        parts[j] += 1
    return parts


def allocate(
    arms: Sequence[ArmStats],
    n: int,
    *,
    rng: random.Random,
    guardrails: Guardrails = NO_GUARDRAILS,
    min_share: float = MIN_SHARE,
    prior: tuple[float, float] = PRIOR,
    max_draws: int = MAX_DRAWS,
) -> list[int]:
    """How many of the next ``n`` impressions each arm gets (a list as long as ``arms``
    that adds up to exactly ``n``).

    1. Arms that breach a guardrail (see :func:`guardrail_breach`) get 0. If none is
       left, raises :class:`NoEligibleArm` (even for ``n == 0``): the experiment must
       pause, not carry on with nothing to show.
    2. Each eligible arm gets the floor, ``floor(n * min_share)`` impressions, capped at
       an even split (``n // eligible``) when ``min_share`` is more than the arms allow.
    3. The rest follows Thompson sampling on a Beta(``prior`` + successes, ``prior`` +
       failures) posterior per arm: for up to ``max_draws`` of those impressions, one
       posterior draw per arm and the impression goes to the highest; beyond that, the
       remainder is shared in proportion to how often each arm won those draws.

    For a drifting market, pass :func:`stats_since_change` of the per-round history
    rather than lifetime totals. Deterministic given ``rng``'s state. Raises ValueError
    for empty ``arms``, negative or non-finite counts, successes above trials, ``n`` that
    is not a whole number ≥ 0, or a ``min_share`` outside [0, 1).
    """
    _check_arms(arms)
    _check_count("n", n, minimum=0)
    _check_count("max_draws", max_draws, minimum=1)
    _check_prior(prior)
    if not 0 <= min_share < 1:
        raise ValueError(f"min_share must be in [0, 1), not {min_share}.")
    eligible = _eligible(arms, guardrails)
    counts = [0] * len(arms)
    floor = min(math.floor(n * min_share), n // len(eligible))
    for i in eligible:
        counts[i] = floor
    rest = n - floor * len(eligible)
    if rest == 0:
        return counts
    draws = min(rest, max_draws)
    wins = _best_counts(arms, eligible, draws, rng, prior)
    # With one draw per impression the wins are the allocation; otherwise scale them up.
    shares = wins if draws == rest else _apportion(rest, wins)
    for i, extra in zip(eligible, shares, strict=True):
        counts[i] += extra
    return counts


# --- Read-outs for the campaign page ---------------------------------------------------


def probability_best(
    arms: Sequence[ArmStats],
    *,
    rng: random.Random,
    draws: int = PROBABILITY_DRAWS,
    guardrails: Guardrails = NO_GUARDRAILS,
    prior: tuple[float, float] = PRIOR,
) -> list[float]:
    """Each arm's probability of having the highest conversion rate, by Monte Carlo over
    ``draws`` posterior draws. Arms stopped by a guardrail get 0.0 (they cannot win);
    the eligible arms' probabilities add up to 1. Raises NoEligibleArm if none is."""
    _check_arms(arms)
    _check_count("draws", draws, minimum=1)
    _check_prior(prior)
    eligible = _eligible(arms, guardrails)
    wins = _best_counts(arms, eligible, draws, rng, prior)
    probabilities = [0.0] * len(arms)
    for i, won in zip(eligible, wins, strict=True):
        probabilities[i] = won / draws
    return probabilities


def credible_interval(
    arm: ArmStats, *, level: float = 0.95, prior: tuple[float, float] = PRIOR
) -> Interval:
    """The posterior mean conversion rate of ``arm`` and its equal-tailed ``level``
    credible interval (Beta quantiles, computed exactly: no sampling)."""
    _check_arms([arm])
    _check_prior(prior)
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, not {level}.")
    a, b = _posterior(arm, prior)
    tail = (1 - level) / 2
    return Interval(mean=a / (a + b), low=_beta_ppf(tail, a, b), high=_beta_ppf(1 - tail, a, b))


def winner(
    arms: Sequence[ArmStats],
    *,
    rng: random.Random,
    min_sample: int,
    threshold: float = WINNER_THRESHOLD,
    guardrails: Guardrails = NO_GUARDRAILS,
    draws: int = PROBABILITY_DRAWS,
    prior: tuple[float, float] = PRIOR,
) -> int | None:
    """The index of the winning arm, or None while there is none yet.

    None until every eligible arm has at least ``min_sample`` trials (early leads are
    mostly noise, and peeking before the sample inflates false winners), then the arm
    whose :func:`probability_best` is at least ``threshold``, if any. Arms stopped by a
    guardrail neither need the sample nor can win; if only one arm is left, it wins
    once it has its sample. Raises NoEligibleArm if every arm is stopped."""
    _check_count("min_sample", min_sample, minimum=0)
    if not 0.5 < threshold <= 1:
        raise ValueError(f"threshold must be above 0.5 and at most 1, not {threshold}.")
    probabilities = probability_best(arms, rng=rng, draws=draws, guardrails=guardrails, prior=prior)
    eligible = _eligible(arms, guardrails)
    if any(arms[i].trials < min_sample for i in eligible):
        return None
    best = max(eligible, key=lambda i: probabilities[i])
    return best if probabilities[best] >= threshold else None


# --- Drift: which rounds to pool -------------------------------------------------------


def pool(rounds: Sequence[Sequence[ArmStats]]) -> list[ArmStats]:
    """Per-arm totals over ``rounds`` (each round: one ArmStats per arm, same order).

    Trials, successes, cost and complaints add up; frequency is not additive (it is per
    person reached), so the latest round's is kept; a caller-set breach is kept from
    any round, so a stopped arm stays stopped."""
    if not rounds:
        raise ValueError("There must be at least one round to pool.")
    width = len(rounds[0])
    if any(len(r) != width for r in rounds):
        raise ValueError("Every round must have one ArmStats per arm, in the same order.")
    pooled = []
    for i in range(width):
        column = [r[i] for r in rounds]
        costs = [arm.cost for arm in column if arm.cost is not None]
        frequencies = [arm.frequency for arm in column if arm.frequency is not None]
        breaches = [arm for arm in column if arm.guardrail_breached]
        pooled.append(
            ArmStats(
                trials=sum(arm.trials for arm in column),
                successes=sum(arm.successes for arm in column),
                cost=sum(costs) if costs else None,
                complaints=sum(arm.complaints for arm in column),
                frequency=frequencies[-1] if frequencies else None,
                guardrail_breached=bool(breaches),
                guardrail_reason=breaches[-1].guardrail_reason if breaches else "",
            )
        )
    return pooled


def _latest_split(
    rounds: Sequence[Sequence[ArmStats]], z_limit: float, min_expected: float
) -> int | None:
    """The split point (index into ``rounds``) where some arm's conversion rate before
    and after differs most, if that is more than ``z_limit`` standard errors."""
    best_z, best_split = z_limit, None
    for i in range(len(rounds[0])):
        trials = sum(r[i].trials for r in rounds)
        successes = sum(r[i].successes for r in rounds)
        if trials == 0:
            continue
        rate = successes / trials
        # The side needs this many trials to expect min_expected conversions and
        # min_expected non-conversions at the pooled rate.
        needed = min_expected / min(rate, 1 - rate) if 0 < rate < 1 else math.inf
        before_trials = before_successes = 0.0
        for split in range(1, len(rounds)):
            before_trials += rounds[split - 1][i].trials
            before_successes += rounds[split - 1][i].successes
            after_trials = trials - before_trials
            if before_trials < needed or after_trials < needed:
                continue
            after_rate = (successes - before_successes) / after_trials
            error = math.sqrt(rate * (1 - rate) * (1 / before_trials + 1 / after_trials))
            z = abs(before_successes / before_trials - after_rate) / error
            if z > best_z:
                best_z, best_split = z, split
    return best_split


def change_point(
    history: Sequence[Sequence[ArmStats]],
    *,
    z_limit: float = CHANGE_Z,
    min_expected: float = CHANGE_MIN_EXPECTED,
) -> int:
    """The index of the first round after the latest detected change in any arm's
    conversion rate (0 when none is detected), from per-round statistics.

    A change in one arm is taken as a change in the market (an audience or season
    shift moves every arm), so the rounds before it are set aside for all arms: the
    arms that had been starved of traffic then look uncertain again and are
    re-explored, which is how a new winner among them is found."""
    start = 0
    while len(history) - start >= 2:
        split = _latest_split(history[start:], z_limit, min_expected)
        if split is None:
            break
        start += split  # and look again within the rounds since, for a second change
    return start


def stats_since_change(
    history: Sequence[Sequence[ArmStats]],
    *,
    guardrails: Guardrails = NO_GUARDRAILS,
    z_limit: float = CHANGE_Z,
    min_expected: float = CHANGE_MIN_EXPECTED,
) -> list[ArmStats]:
    """What to pass to :func:`allocate` in a market that may drift: each arm's totals
    over the rounds since the latest detected change (:func:`change_point`), or over
    every round when there is none.

    Guardrails are judged on the whole history, not just the recent rounds: a reset
    of the conversion evidence must never lift a stop, so an arm that breaches over
    its lifetime comes back marked as breached."""
    lifetime = pool(history)
    recent = pool(history[change_point(history, z_limit=z_limit, min_expected=min_expected) :])
    return [
        ArmStats(
            trials=now.trials,
            successes=now.successes,
            cost=now.cost,
            complaints=now.complaints,
            frequency=now.frequency,
            guardrail_breached=True,
            guardrail_reason=reason,
        )
        if (reason := guardrail_breach(ever, guardrails))
        else now
        for ever, now in zip(lifetime, recent, strict=True)
    ]


# --- Beta quantiles (no SciPy here) ----------------------------------------------------


def _beta_cdf(x: float, a: float, b: float) -> float:
    """The regularised incomplete beta function I_x(a, b) (Numerical Recipes' continued
    fraction, evaluated on the side where it converges fast)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1 - math.exp(log_front) * _beta_fraction(b, a, 1 - x) / b


def _beta_fraction(a: float, b: float, x: float) -> float:
    # Modified Lentz; converges in O(sqrt(max(a, b))) terms: ~600 for 50 M trials.
    tiny, eps = 1e-300, 1e-15
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 100_000):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1) < eps:
            return h
    raise ArithmeticError(f"The incomplete beta function did not converge for a={a}, b={b}.")


def _beta_ppf(q: float, a: float, b: float) -> float:
    """The ``q`` quantile of Beta(a, b), by bisection on the CDF (it is monotone)."""
    low, high = 0.0, 1.0
    for _ in range(200):
        middle = (low + high) / 2
        if _beta_cdf(middle, a, b) < q:
            low = middle
        else:
            high = middle
        if high - low < 1e-12 * max(middle, 1e-300):
            break
    return (low + high) / 2
