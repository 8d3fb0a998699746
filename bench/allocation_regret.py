"""The experiment allocator against the oracle and an equal split, over many seeds and
several market shapes (issues 7 and 14). Pure Python: no database, no Django settings.

What runs: agents.domain.market_sim.simulate, allocating in batches as the live system
does, for each market shape and seed, once with the allocator (the live policy:
allocate() on stats_since_change()) and once with an equal split. Each impression
converts at its arm's rate; the oracle always shows the currently best arm to the same
visitors (common random numbers, see market_sim), so "% of oracle" is conversions over
the oracle's and regret is the oracle's conversions minus the policy's.

TARGET (30 seeds, 100,000 impressions): ≥ 96 % of the oracle on 0.020/0.022/0.025;
≥ 95 % when two arms at 0.025 and 0.020 swap rates half-way (issue 14); no worse than
an equal split when the arms are identical or the best and worst of three swap.

    .venv/bin/python bench/allocation_regret.py [--seeds 30] [--horizon 100000]
        [--batch 1000] [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agents.domain.market_sim import allocator, equal_split, simulate

# (name, rates, drift_at, target): target "oracle" is a share of the oracle's
# conversions; "equal" means at least the equal split's.
SHAPES = [
    ("small lifts 0.020/0.022/0.025", (0.020, 0.022, 0.025), None, ("oracle", 96.0)),
    ("10 arms 0.020…0.029", tuple(round(0.020 + 0.001 * i, 3) for i in range(10)), None, None),
    ("identical 3 x 0.022", (0.022, 0.022, 0.022), None, ("equal", None)),
    ("winner changes half-way (best↔worst)", (0.020, 0.022, 0.025), 0.5, ("equal", None)),
    ("2 arms 0.025/0.020 swap half-way", (0.025, 0.020), 0.5, ("oracle", 95.0)),
]
POLICIES = {"allocator": allocator, "equal split": equal_split}


def run_one(job: tuple[int, str, int, int, int]) -> tuple[int, str, int, float, int]:
    shape, policy, seed, horizon, batch = job
    _, rates, drift_at, _ = SHAPES[shape]
    result = simulate(POLICIES[policy], rates, horizon, batch, random.Random(seed), drift_at)
    return shape, policy, seed, result.percent_of_oracle, result.regret


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--horizon", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args()

    jobs = [
        (shape, policy, seed, args.horizon, args.batch)
        for shape in range(len(SHAPES))
        for policy in POLICIES
        for seed in range(1, args.seeds + 1)
    ]
    started = time.perf_counter()
    # One job per run, so the slow shapes (10 arms) do not end up in one process's chunk.
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(run_one, jobs))
    elapsed = time.perf_counter() - started

    percent: dict[tuple[int, str], list[float]] = {}
    regret: dict[tuple[int, str], list[int]] = {}
    for shape, policy, _, pct, lost in results:
        percent.setdefault((shape, policy), []).append(pct)
        regret.setdefault((shape, policy), []).append(lost)

    print(
        f"{args.seeds} seeds x {args.horizon:,} impressions in batches of {args.batch:,}, "
        f"{args.jobs} processes, {elapsed:.0f} s"
    )
    print()
    print(
        "| market | allocator % of oracle (± s.e.; worst seed) | equal split % of oracle "
        "| allocator mean regret | equal split mean regret | target |"
    )
    print("|---|---:|---:|---:|---:|---|")
    for shape, (name, _, _, target) in enumerate(SHAPES):
        ours, equal = percent[(shape, "allocator")], percent[(shape, "equal split")]
        mean, flat = statistics.fmean(ours), statistics.fmean(equal)
        error = statistics.stdev(ours) / len(ours) ** 0.5 if len(ours) > 1 else 0.0
        if target is None:
            verdict = "none (reported)"
        elif target[0] == "oracle":
            verdict = f"≥ {target[1]:.0f} % {'✔' if mean >= target[1] else '✘'}"
        else:
            verdict = f"≥ equal split {'✔' if mean >= flat else '✘'}"
        print(
            f"| {name} | {mean:.2f} % (± {error:.2f}; {min(ours):.1f}) | {flat:.2f} % "
            f"| {statistics.fmean(regret[(shape, 'allocator')]):.1f} "
            f"| {statistics.fmean(regret[(shape, 'equal split')]):.1f} | {verdict} |"
        )


if __name__ == "__main__":
    main()
