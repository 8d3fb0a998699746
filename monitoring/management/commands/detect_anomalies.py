"""Backtest the anomaly detectors on exported data.

    python manage.py detect_anomalies FILE.csv [--metric cpc] [--control-limit 28]
        [--duplicates mean|first|last|refuse]

Reads ``timestamp`` and ``value`` columns (and ``weight``, the volume behind each value,
if present), runs the live system's detector for that metric over the points in time
order and prints each timestamp where an incident starts firing, one ISO 8601 line each
— nothing else on stdout, so the output can be piped or diffed. What it did about the
input (repeated timestamps, unsorted rows) goes to stderr.

Real exports come as they come: rows in any order, gaps, no weight column, and now and
then a timestamp twice. ``--duplicates`` says what a repeat means; the default, ``mean``,
combines the rows (for weighted rows: their pooled ratio, Σ value·weight / Σ weight).

Pure: no database, nothing written. Bad input is refused as a whole, naming the row.
"""

from __future__ import annotations

import csv
import itertools
import math
import statistics
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from campaigns.domain.metrics import Direction, Metric
from monitoring.domain.anomalies import Observation, detector_for_metric, firing_times

DIRECTIONS = {
    "up": Direction.UP_IS_BAD,
    "down": Direction.DOWN_IS_BAD,
    "either": Direction.EITHER_IS_BAD,
}


DUPLICATES = ("mean", "first", "last", "refuse")


class Command(BaseCommand):
    help = (
        "Print the timestamps the live anomaly detector would have flagged in a CSV with "
        "timestamp,value[,weight] columns (header is row 1), one per line. Without "
        "--metric: a novelty detector flagging moves either way, once it has 200 points "
        "of history. Without a weight column every point counts as enough volume on its own."
    )
    requires_system_checks: list[str] = []  # pure: needs no database or app checks

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file with timestamp and value columns")
        parser.add_argument(
            "--metric",
            choices=[m.value for m in Metric],
            help="use the live detector for this metric (its direction, limits and volume)",
        )
        parser.add_argument(
            "--control-limit",
            type=float,
            help="a fixed limit, e.g. the brief's CPA target (for spend_pace: the ± tolerance)",
        )
        parser.add_argument(
            "--direction", choices=sorted(DIRECTIONS), help="override which way is bad"
        )
        parser.add_argument(
            "--duplicates",
            choices=DUPLICATES,
            default="mean",
            help="what a repeated timestamp means: combine the rows (mean, the default), "
            "keep the first or the last, or refuse the file",
        )

    def handle(self, *args, file, metric, control_limit, direction, duplicates, **options):
        if control_limit is not None and not math.isfinite(control_limit):
            raise CommandError("--control-limit must be a finite number.")
        series = read_series(Path(file), duplicates=duplicates)
        for note in series.notes:
            self.stderr.write(note)
        observations = series.observations
        config = detector_for_metric(
            metric,
            control_limit=control_limit,
            direction=DIRECTIONS[direction] if direction else None,
            bucket=spacing(observations),
        )
        if not series.weighted:
            # TRICKY: without volumes, pooling to a minimum volume or a binomial noise
            # floor would treat every point as one trial; judge each point on its own.
            config = replace(config, min_weight=0.0, proportion_of=0.0)
            if config.smooth_weight:
                config = replace(config, smooth_points=1, smooth_weight=0.0)
        for at in firing_times(config, observations):
            self.stdout.write(at.isoformat())


@dataclass(frozen=True)
class Series:
    observations: list[Observation]
    weighted: bool
    #: What was done to the input to read it, for stderr.
    notes: tuple[str, ...] = ()


def spacing(observations: list[Observation]) -> timedelta:
    """The series' usual step (the median gap), an hour when it cannot tell."""
    gaps = [b.at - a.at for a, b in itertools.pairwise(observations)]
    step = statistics.median_low(gaps) if gaps else timedelta(hours=1)
    return step if step > timedelta(0) else timedelta(hours=1)


def read_series(path: Path, *, duplicates: str = "mean") -> Series:
    """The CSV's points in time order, whether it carries weights, and notes on what was
    done to read it. Every problem is a CommandError naming the row (the header is row 1)."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as error:
        raise CommandError(f"Cannot read {path}: {error.strerror or error}.") from None
    with handle:
        try:
            rows = list(csv.reader(handle))
        except (csv.Error, UnicodeDecodeError) as error:
            raise CommandError(f"{path} is not a readable CSV file: {error}.") from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise CommandError(f"{path} is empty: expected a header with timestamp and value.")
    header = [cell.strip().lower() for cell in rows[0]]
    missing = [name for name in ("timestamp", "value") if name not in header]
    if missing:
        raise CommandError(
            f"Row 1: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(found: {', '.join(c for c in header if c) or 'nothing'})."
        )
    at_col, value_col = header.index("timestamp"), header.index("value")
    weight_col = header.index("weight") if "weight" in header else None
    observations: list[Observation] = []
    seen: dict[datetime, int] = {}  # timestamp → index in observations
    rows_of: dict[datetime, list[int]] = {}  # repeated timestamp → its row numbers
    aware: bool | None = None
    unsorted = False
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank lines are allowed (and still counted)
        at = _timestamp(_cell(row, at_col), number)
        if aware is None:
            aware = at.tzinfo is not None
        elif aware != (at.tzinfo is not None):
            raise CommandError(
                f"Row {number}: timestamp “{_cell(row, at_col)}” mixes time zones: give "
                "every timestamp an offset, or none."
            )
        value = _number(_cell(row, value_col), number, "value")
        weight = 1.0
        if weight_col is not None:
            weight = _number(_cell(row, weight_col), number, "weight")
            if weight < 0:
                raise CommandError(f"Row {number}: weight {weight:g} is negative.")
        if observations and at < observations[-1].at:
            unsorted = True
        if at not in seen:
            seen[at] = len(observations)
            rows_of[at] = [number]
            observations.append(Observation(at, value, weight))
            continue
        rows_of[at].append(number)
        if duplicates == "refuse":
            raise CommandError(
                f"Row {number}: timestamp {at.isoformat()} repeats row {rows_of[at][0]} "
                "(--duplicates mean, first or last reads such files)."
            )
        index = seen[at]
        if duplicates == "last":
            observations[index] = Observation(at, value, weight)
        elif duplicates == "mean":
            observations[index] = _combined(observations[index], value, weight, len(rows_of[at]))
    notes = []
    repeated = [rows for rows in rows_of.values() if len(rows) > 1]
    if repeated:
        first = min(rows[1] for rows in repeated)
        kept = {
            "mean": "combined the rows of each",
            "first": "kept the first row of each",
            "last": "kept the last row of each",
        }[duplicates]
        notes.append(
            f"Note: {len(repeated)} timestamp{'s' if len(repeated) > 1 else ''} appear more "
            f"than once (first repeat at row {first}); {kept} (--duplicates)."
        )
    if unsorted:
        notes.append("Note: the rows were not in time order; read them sorted by timestamp.")
        observations.sort(key=lambda o: o.at)
    return Series(observations, weight_col is not None, tuple(notes))


def _combined(so_far: Observation, value: float, weight: float, rows: int) -> Observation:
    """A repeated timestamp's rows as one point: the pooled ratio when the rows carry
    weights (exact for ratios such as CPC), the plain mean when they all weigh the same."""
    total = so_far.weight + weight
    if total > 0 and so_far.weight != weight:
        return Observation(
            so_far.at, (so_far.value * so_far.weight + value * weight) / total, total
        )
    # Equal weights (or none): a running mean over the rows seen so far.
    mean = so_far.value + (value - so_far.value) / rows
    return Observation(so_far.at, mean, total)


def _cell(row: list[str], index: int) -> str:
    return row[index].strip() if index < len(row) else ""


def _timestamp(text: str, number: int) -> datetime:
    if not text:
        raise CommandError(f"Row {number}: the timestamp is empty.")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(
            f"Row {number}: “{text}” is not an ISO 8601 timestamp (e.g. 2026-03-02T14:00:00Z)."
        ) from None


def _number(text: str, number: int, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        shown = f"“{text}”" if text else "empty"
        raise CommandError(f"Row {number}: {column} {shown} is not a number.")
    return value
