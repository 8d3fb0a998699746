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
of them: every round pooled, unless the market has more likely than not changed since
some round, and then only the rounds since. Whether and when it changed is a Bayesian
question (:func:`change_posterior`): how well the counts are explained with no change,
against a change at each round, with a change expected about once in 100 rounds and an
arm's rate after a change expected near the test's overall rate. We chose change
detection over a discount factor because a discount forgets in a stationary market too
and costs conversions there (docs/PERFORMANCE.md, issue 7), and this test over the one
it replaced (3.5 standard errors between an arm's rate before and after a round)
because it sees a leader's rate fall by a fifth in 11 rounds of 1,000 instead of 15,
and costs under a tenth of a point more in a steady market (docs/PERFORMANCE.md,
issue 14).

Everything here is deterministic given the ``random.Random`` passed in. Over 500 lines on
purpose: one algorithm (the posterior, the change test, the shares) that is read together.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from governance.domain.errors import DomainError

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
#: Change detection (:func:`change_posterior`): the prior chance that the market changes
#: between two rounds. One in 100 rounds (four days of hourly rounds) is a guess at how
#: often audiences and seasons move; more reacts sooner and forgets more in a steady
#: market, less the reverse, smoothly (docs/PERFORMANCE.md, issue 14).
CHANGE_HAZARD = 0.01
#: ...what an arm's rate after a change is expected to be: near the test's overall rate,
#: with the weight of this many conversions (one standard deviation is about 30 % of
#: the rate, so a rate halved is well within reach; the data soon outweigh it anyway).
CHANGE_PRIOR_CONVERSIONS = 10.0
#: ...and how many of the latest rounds it weighs one by one (older ones as one block).
CHANGE_MAX_ROUNDS = 240


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


def _check_history(history: Sequence[Sequence[ArmStats]]) -> None:
    if not history:
        raise ValueError("There must be at least one round.")
    width = len(history[0])
    if any(len(r) != width for r in history):
        raise ValueError("Every round must have one ArmStats per arm, in the same order.")
    for arms in history:
        _check_arms(arms)


def _blocks(
    history: Sequence[Sequence[ArmStats]], max_rounds: int
) -> tuple[list[int], list[list[float]], list[list[float]]]:
    """The rounds the change test weighs one by one, as (the history index each block
    starts at, cumulative trials, cumulative successes per arm at each block boundary).
    Rounds beyond the latest ``max_rounds`` are taken together as the first block."""
    width = len(history[0])
    merged = max(0, len(history) - max_rounds)
    starts = [0, *range(merged + 1, len(history))] if merged else list(range(len(history)))
    trials, successes = [[0.0] * width], [[0.0] * width]
    for begin, end in zip(starts, [*starts[1:], len(history)], strict=True):
        block = history[begin:end]
        trials.append([t + sum(r[i].trials for r in block) for i, t in enumerate(trials[-1])])
        successes.append(
            [s + sum(r[i].successes for r in block) for i, s in enumerate(successes[-1])]
        )
    return starts, trials, successes


def change_posterior(
    history: Sequence[Sequence[ArmStats]],
    *,
    hazard: float = CHANGE_HAZARD,
    prior_conversions: float = CHANGE_PRIOR_CONVERSIONS,
    max_rounds: int = CHANGE_MAX_ROUNDS,
) -> list[float]:
    """For each round of ``history`` (one ArmStats per arm per round), the probability
    that the market as it is now started with that round; they add up to 1, and index
    0 carries the chance that nothing has changed since the test began.

    The model (a product partition model, as in Adams & MacKay's Bayesian online
    change-point detection): between two rounds the market changes with probability
    ``hazard``; within a stretch without change each arm converts at a fixed rate, and
    after a change every arm's rate is drawn afresh from a Beta prior centred on the
    whole test's conversion rate and worth ``prior_conversions`` conversions (or
    non-conversions, whichever are rarer). The evidence for each way of cutting the
    history is its exact Beta-Binomial likelihood, summed over every earlier cut.

    Why this rather than counting standard errors between before and after: it weighs
    each round on its own counts (a starved arm's 11 impressions count for what they
    are: no normal approximation, no minimum sample), and it answers how likely a
    change is, which is what the allocator acts on, rather than whether a difference
    clears a fixed bar. The prior centred on the market's rate matters: a uniform
    prior spreads its belief over rates no arm of this test will have, which charges
    every change for it, and with one this test was slower than the old one (92.4 % of
    the oracle against 95.4 % when two arms swap; docs/PERFORMANCE.md, issue 14).
    The history is weighed round by round up to ``max_rounds`` back; older rounds count
    as one block, which bounds the cost (quadratic in the rounds weighed: 50 ms for 240
    rounds of three arms) for a test that runs for months.
    """
    _check_history(history)
    if not 0 < hazard < 1:
        raise ValueError(f"hazard must be between 0 and 1, not {hazard}.")
    if not math.isfinite(prior_conversions) or prior_conversions <= 0:
        raise ValueError(f"prior_conversions must be a number > 0, not {prior_conversions}.")
    _check_count("max_rounds", max_rounds, minimum=1)
    starts, trials, successes = _blocks(history, max_rounds)
    # The prior after a change: Beta(a, b) with mean at the market rate, a + b chosen
    # so that the rarer outcome has prior_conversions' worth of weight.
    rate = (sum(successes[-1]) + 1) / (sum(trials[-1]) + 2)
    weight = prior_conversions / min(rate, 1 - rate)
    a, b = weight * rate, weight * (1 - rate)
    log_prior = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    lgamma, width = math.lgamma, len(history[0])

    def evidence(begin: int, end: int) -> float:
        """log P(blocks begin..end-1 | no change within them), up to a constant that is
        the same for every way of cutting the history (the binomial coefficients)."""
        total = 0.0
        for i in range(width):
            n = trials[end][i] - trials[begin][i]
            if n <= 0:
                continue
            k = successes[end][i] - successes[begin][i]
            total += lgamma(a + k) + lgamma(b + n - k) - lgamma(a + b + n) - log_prior
        return total

    change, stay = math.log(hazard), math.log1p(-hazard)
    # log_total[t]: log P(the first t blocks), over every way of cutting them.
    log_total, latest = [0.0], [0.0]
    for t in range(1, len(starts) + 1):
        latest = [(t - 1) * stay + evidence(0, t)] + [
            change + (t - 1 - s) * stay + log_total[s] + evidence(s, t) for s in range(1, t)
        ]
        top = max(latest)
        log_total.append(top + math.log(math.fsum(math.exp(x - top) for x in latest)))
    posterior = [0.0] * len(history)
    for begin, log_joint in zip(starts, latest, strict=True):
        posterior[begin] = math.exp(log_joint - log_total[-1])
    return posterior


def change_point(
    history: Sequence[Sequence[ArmStats]],
    *,
    hazard: float = CHANGE_HAZARD,
    prior_conversions: float = CHANGE_PRIOR_CONVERSIONS,
) -> int:
    """The index of the round the market as it is now most plausibly started with: the
    latest round such that the market has more likely than not been unchanged since
    (the median of :func:`change_posterior`); 0 when no change is likely.

    A change in one arm is taken as a change in the market (an audience or season
    shift moves every arm), so the rounds before it are set aside for all arms: the
    arms that had been starved of traffic then look uncertain again and are
    re-explored, which is how a new winner among them is found. The median rather than
    the single likeliest round, because it moves only once the evidence is more than
    even, and does not jump between two close candidates round after round."""
    posterior = change_posterior(history, hazard=hazard, prior_conversions=prior_conversions)
    since = 0.0
    for index in range(len(posterior) - 1, 0, -1):
        since += posterior[index]
        if since >= 0.5:
            return index
    return 0


def stats_since_change(
    history: Sequence[Sequence[ArmStats]],
    *,
    guardrails: Guardrails = NO_GUARDRAILS,
    hazard: float = CHANGE_HAZARD,
    prior_conversions: float = CHANGE_PRIOR_CONVERSIONS,
) -> list[ArmStats]:
    """What to pass to :func:`allocate` in a market that may drift: each arm's totals
    over the rounds since the latest likely change (:func:`change_point`), or over
    every round when there is none.

    Guardrails are judged on the whole history, not just the recent rounds: a reset
    of the conversion evidence must never lift a stop, so an arm that breaches over
    its lifetime comes back marked as breached."""
    lifetime = pool(history)
    since = change_point(history, hazard=hazard, prior_conversions=prior_conversions)
    recent = pool(history[since:])
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
