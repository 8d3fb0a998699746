"""Detection quality on labelled sandbox series: precision, recall and delay per fault
kind, false flags on fault-free series, and detector throughput. Pure Python, no
database, one core.

What runs: for each fault kind, ``--series`` sandbox accounts (``MarketSpec.default``:
three channel/variant lines, ``--days`` of hourly buckets) with that fault injected once
on one random line, at a random time after the first week (the baselines' warm-up),
with a random duration and severity; plus as many fault-free accounts. Every line runs
through a ``Monitor`` (all six kinds' default detectors, CPA against a 28.00 control
limit, as a brief with that target would set). Scoring, per fault kind and the detector
meant to catch it:

* recall — share of injected faults whose detector fired on the faulted line between
  the fault's start and ``GRACE`` after its end;
* delay — hours from the fault's start to the end of the bucket that fired;
* precision — share of that detector's firings (in all series) that fall on a line
  while a fault that legitimately moves its metric is acting (or within ``GRACE``):
  a CPA flag during a CPM spike is right, a CPM flag on a quiet Tuesday is not;
* any flag — share of faults some detector it legitimately sets off caught (a conversion
  drop also raises the CPA above a brief's limit);
* false flags — firings of any detector in fault-free series, per 1,000 line-hours.

    .venv/bin/python bench/detection_quality.py [--series 100] [--days 21] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agents.connectors.market import (
    AUDIENCE_FATIGUE,
    BROKEN_LINK,
    CONVERSION_DROP,
    CPM_SPIKE,
    FAULT_KINDS,
    FLAG_FOR_FAULT,
    OVERSPEND,
    Fault,
    MarketSpec,
    by_line,
    simulate_series,
)
from monitoring.domain.anomalies import (
    DEFAULT_DETECTORS,
    Detector,
    Monitor,
    Observation,
    State,
    detectors_for,
)

START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
CPA_LIMIT = 28.0
GRACE = timedelta(hours=12)
HOUR = timedelta(hours=1)
WARM_UP_DAYS = 7

#: Duration (hours) and severity ranges drawn for each injected fault.
DRAWS = {
    CPM_SPIKE: ((12, 48), (0.4, 0.8)),
    CONVERSION_DROP: ((12, 48), (0.4, 0.8)),
    BROKEN_LINK: ((2, 24), (1.0, 1.0)),
    AUDIENCE_FATIGUE: ((72, 120), (0.7, 1.3)),
    OVERSPEND: ((12, 48), (0.5, 1.5)),
}

#: Detector kinds a fault legitimately sets off (its own, plus knock-on effects: fewer
#: impressions for the money or fewer conversions per click both raise the CPA).
EXPLAINS = {
    CPM_SPIKE: {"cpm_spike", "cpc_spike", "cpa_above_limit"},
    CONVERSION_DROP: {"conversion_drop", "cpa_above_limit"},
    BROKEN_LINK: {"broken_link", "conversion_drop", "cpa_above_limit"},
    AUDIENCE_FATIGUE: {"audience_fatigue", "cpa_above_limit"},
    OVERSPEND: {"pacing_drift"},
}


def configs():
    cpa = detectors_for("cpa_above_limit", control_limit=CPA_LIMIT)
    return {**DEFAULT_DETECTORS, "cpa_above_limit": cpa}


def draw_fault(kind: str, rng: random.Random, spec: MarketSpec, days: int) -> Fault:
    (lo_h, hi_h), (lo_s, hi_s) = DRAWS[kind]
    duration = rng.randint(lo_h, hi_h)
    latest = days * 24 - duration - 24  # leave a day to see it resolve
    earliest = WARM_UP_DAYS * 24
    starts = START + timedelta(hours=rng.randint(earliest, max(earliest, latest)))
    line = rng.choice(spec.lines)
    return Fault(
        kind,
        starts,
        duration,
        channel=line.channel,
        variant=line.variant,
        severity=rng.uniform(lo_s, hi_s),
    )


def run_series(spec, buckets, faults):
    """Firings per (line, kind), the time spent in the monitors, and the last monitor."""
    firings = []  # (line, kind, at)
    elapsed = 0.0
    points = 0
    monitor = None
    for line, series in by_line(buckets).items():
        monitor = Monitor(configs())
        t0 = time.perf_counter()
        for b in series:
            for f in monitor.observe(b.at, b):
                if f.transition.to_state is State.FIRING:
                    firings.append((line, f.kind, f.transition.at))
        elapsed += time.perf_counter() - t0
        points += len(series)
    return firings, elapsed, points, monitor


def explained(kind, line, at, faults) -> bool:
    return any(
        kind in EXPLAINS[f.kind]
        and (f.channel, f.variant) == line
        and f.starts_at <= at < f.ends_at + GRACE
        for f in faults
    )


def pct(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=100, help="accounts per fault kind")
    parser.add_argument("--days", type=int, default=21)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    spec = MarketSpec.default()
    hours = args.days * 24
    master = random.Random(args.seed)

    all_firings = []  # (series id, line, kind, at)
    faults_by_series: dict[int, list[Fault]] = {}
    clean_series: list[int] = []
    monitor_time = 0.0
    monitor_buckets = 0
    gen_time = 0.0
    sid = 0
    t_start = time.perf_counter()
    for kind in (*FAULT_KINDS, None):
        for _ in range(args.series):
            rng = random.Random(master.getrandbits(64))
            faults = [draw_fault(kind, rng, spec, args.days)] if kind else []
            t0 = time.perf_counter()
            buckets = simulate_series(spec, start=START, hours=hours, rng=rng, faults=faults)
            gen_time += time.perf_counter() - t0
            firings, elapsed, points, monitor_for_snapshot = run_series(spec, buckets, faults)
            monitor_time += elapsed
            monitor_buckets += points
            faults_by_series[sid] = faults
            if kind is None:
                clean_series.append(sid)
            all_firings.extend((sid, line, k, at) for line, k, at in firings)
            sid += 1

    print(
        f"{sid} accounts x {len(spec.lines)} lines x {hours} h "
        f"({monitor_buckets:,} line-buckets), seed {args.seed}"
    )
    print()
    header = (
        f"{'fault':<17} {'detector':<17} {'faults':>6} {'recall':>7} {'mild/severe':>11} "
        f"{'precision':>9} {'median delay':>12} {'p90 delay':>9} {'any flag':>8}"
    )
    print(header)
    print("-" * len(header))
    for fault_kind in FAULT_KINDS:
        flag = FLAG_FOR_FAULT[fault_kind]
        detected, delays, caught = 0, [], 0
        by_severity = {True: [0, 0], False: [0, 0]}  # severe?: [detected, injected]
        (_, (lo_s, hi_s)) = DRAWS[fault_kind]
        injected = [
            (s, f) for s, fs in faults_by_series.items() for f in fs if f.kind == fault_kind
        ]
        for s, fault in injected:
            line = (fault.channel, fault.variant)
            hits = [
                at
                for (fs, fl, k, at) in all_firings
                if fs == s
                and fl == line
                and k == flag
                and fault.starts_at <= at < fault.ends_at + GRACE
            ]
            caught += any(
                fs == s
                and fl == line
                and k in EXPLAINS[fault_kind]
                and fault.starts_at <= at < fault.ends_at + GRACE
                for (fs, fl, k, at) in all_firings
            )
            severe = (fault.severity or 0) >= (lo_s + hi_s) / 2
            by_severity[severe][1] += 1
            if hits:
                detected += 1
                by_severity[severe][0] += 1
                # detected when the bucket that fired has closed
                delays.append((min(hits) + HOUR - fault.starts_at) / HOUR)
        own = [(s, fl, at) for (s, fl, k, at) in all_firings if k == flag]
        right = sum(explained(flag, fl, at, faults_by_series[s]) for s, fl, at in own)
        precision = right / len(own) if own else float("nan")
        split = "/".join(
            f"{d / n:.0%}" if n else "-" for d, n in (by_severity[False], by_severity[True])
        )
        median_delay = statistics.median(delays) if delays else float("nan")
        print(
            f"{fault_kind:<17} {flag:<17} {len(injected):>6} {detected / len(injected):>7.0%} "
            f"{split:>11} {precision:>9.0%} {median_delay:>10.0f} h {pct(delays, 0.9):>7.0f} h "
            f"{caught / len(injected):>8.0%}"
        )
    cpa = [(s, fl, at) for (s, fl, k, at) in all_firings if k == "cpa_above_limit"]
    cpa_right = sum(explained("cpa_above_limit", fl, at, faults_by_series[s]) for s, fl, at in cpa)
    print(
        f"{'(knock-on)':<17} {'cpa_above_limit':<17} {'':>6} {'':>7} {'':>11} "
        f"{(cpa_right / len(cpa) if cpa else float('nan')):>9.0%}   ({len(cpa)} firings)"
    )

    clean_hours = len(clean_series) * len(spec.lines) * hours
    clean = [(k, at) for (s, fl, k, at) in all_firings if s in set(clean_series)]
    per_kind = defaultdict(int)
    for k, _ in clean:
        per_kind[k] += 1
    print()
    print(
        f"fault-free: {len(clean)} firings in {clean_hours:,} line-hours = "
        f"{len(clean) / clean_hours * 1000:.2f} false flags per 1,000 series-hours"
        + (f" ({', '.join(f'{k} {n}' for k, n in sorted(per_kind.items()))})" if clean else "")
    )

    # Throughput: all kinds on one bucket, then one detector on prepared points.
    observations_per_bucket = sum(
        len(c.parts) if hasattr(c, "parts") else 1 for c in configs().values()
    )
    print()
    print(
        f"monitor ({len(DEFAULT_DETECTORS)} kinds, "
        f"{observations_per_bucket} detector points per bucket): "
        f"{monitor_buckets / monitor_time:,.0f} buckets/s = "
        f"{monitor_buckets * observations_per_bucket / monitor_time:,.0f} detector points/s "
        f"(including reading the metrics off each bucket)"
    )
    rng = random.Random(7)
    points = [
        Observation(START + timedelta(hours=i), 9.1 * (1 + 0.1 * rng.gauss(0, 1)), 5000.0)
        for i in range(200_000)
    ]
    detector = Detector(DEFAULT_DETECTORS["cpm_spike"])
    t0 = time.perf_counter()
    for obs in points:
        detector.observe(obs)
    one = len(points) / (time.perf_counter() - t0)
    print(
        f"one adaptive detector (CPM, 168-point window): {one:,.0f} points/s "
        f"({1e6 / one:.1f} µs/point)"
    )
    # Between ingestion batches the live system stores each series' monitor state.
    snapshot = monitor_for_snapshot.snapshot()
    t0 = time.perf_counter()
    for _ in range(200):
        Monitor.restore(json.loads(json.dumps(snapshot)), configs())
    per = (time.perf_counter() - t0) / 200
    print(
        f"monitor state ({len(DEFAULT_DETECTORS)} kinds, warm): "
        f"{len(json.dumps(snapshot)) / 1024:.1f} KiB JSON, "
        f"snapshot+JSON+restore {per * 1e3:.2f} ms per series"
    )
    print(f"sandbox generation: {monitor_buckets / gen_time:,.0f} line-buckets/s")
    print(f"total {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
