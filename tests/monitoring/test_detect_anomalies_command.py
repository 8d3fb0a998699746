"""``manage.py detect_anomalies``: a backtest over a CSV, printing flagged timestamps.
No database: the command is pure."""

import math
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parents[2]


def run(path, *args, notes=""):
    """The command's stdout; stderr must say exactly ``notes``."""
    out, err = StringIO(), StringIO()
    call_command("detect_anomalies", str(path), *args, stdout=out, stderr=err)
    assert err.getvalue() == notes
    return out.getvalue()


def write(tmp_path, text, name="series.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


CPA_CSV = """timestamp,value
2026-03-02T00:00:00Z,21.00
2026-03-02T01:00:00Z,22.50
2026-03-02T02:00:00Z,19.80
2026-03-02T03:00:00Z,41.20
2026-03-02T04:00:00Z,39.00
2026-03-02T05:00:00Z,41.20
2026-03-02T06:00:00Z,23.00
2026-03-02T07:00:00Z,22.00
2026-03-02T08:00:00Z,21.50
2026-03-02T09:00:00Z,20.00
2026-03-03T12:00:00Z,44.00
2026-03-03T13:00:00Z,45.10
2026-03-03T14:00:00Z,43.70
2026-03-03T15:00:00Z,22.00
"""


def test_prints_exactly_the_timestamps_that_start_firing(tmp_path):
    path = write(tmp_path, CPA_CSV)
    assert run(path, "--metric", "cpa", "--control-limit", "28") == (
        "2026-03-02T05:00:00+00:00\n2026-03-03T14:00:00+00:00\n"
    )


def test_rows_are_sorted_by_time_first(tmp_path):
    header, *rows = CPA_CSV.strip().splitlines()
    shuffled = "\n".join([header, *reversed(rows)]) + "\n"
    sorted_note = "Note: the rows were not in time order; read them sorted by timestamp.\n"
    assert run(
        write(tmp_path, shuffled), "--metric", "cpa", "--control-limit", "28", notes=sorted_note
    ) == ("2026-03-02T05:00:00+00:00\n2026-03-03T14:00:00+00:00\n")


def test_a_control_limit_without_a_metric_flags_values_above_it(tmp_path):
    text = "Timestamp , Value\n" + "".join(
        f"2026-03-02 {h:02d}:00,{v}\n" for h, v in enumerate([5, 6, 5, 12, 13, 12, 5, 5])
    )
    assert run(write(tmp_path, text), "--control-limit", "10") == "2026-03-02T05:00:00\n"
    assert run(write(tmp_path, text), "--control-limit", "10", "--direction", "down") == ""


def test_a_ctr_rise_is_not_an_anomaly(tmp_path):
    usual = [1.1, 1.0, 1.2, 1.1, 1.05, 1.15, 1.1, 1.0] * 7  # 56 hours: past the warm-up
    rise, drop = [2.4, 2.6, 2.5, 2.7], [0.4, 0.5, 0.4, 0.4]

    def csv(values):
        return "timestamp,value\n" + "".join(
            f"2026-03-{2 + h // 24:02d}T{h % 24:02d}:00:00+01:00,{v}\n"
            for h, v in enumerate(values)
        )

    assert run(write(tmp_path, csv(usual + rise)), "--metric", "ctr") == ""
    assert run(write(tmp_path, csv(usual + drop)), "--metric", "ctr") == (
        "2026-03-04T10:00:00+01:00\n"
    )


def hourly(values, start_day=2):
    return "timestamp,value\n" + "".join(
        f"2026-03-{start_day + h // 24:02d}T{h % 24:02d}:00:00Z,{v:.3f}\n"
        for h, v in enumerate(values)
    )


def daily_cycle(days, seed=7):
    """Hourly values with a day's rhythm and some noise, as ad costs have."""
    import random

    rng = random.Random(seed)
    return [
        1.0 + 0.3 * math.sin(2 * math.pi * h / 24) + rng.uniform(-0.06, 0.06)
        for h in range(24 * days)
    ]


def test_without_a_metric_the_first_new_extreme_either_way_is_flagged_once(tmp_path):
    usual = daily_cycle(12)  # 288 points: past the 200 the novelty judge wants
    jump = [2.4] * 6  # far above anything seen: one incident, one flag
    dip = [0.1] * 6
    assert run(write(tmp_path, hourly(usual + jump))) == "2026-03-14T00:00:00+00:00\n"
    assert run(write(tmp_path, hourly(usual + dip))) == "2026-03-14T00:00:00+00:00\n"
    assert run(write(tmp_path, hourly(usual))) == ""  # the healthy rhythm alone: nothing


def test_a_point_that_is_normal_at_night_is_flagged_at_noon(tmp_path):
    # The season view: a level usual at 03:00-09:00 arrives at 16:00, the day's trough.
    usual = daily_cycle(14)  # the season view needs 3 days, then 200 points of its own
    odd = list(usual[:24])
    for h in range(16, 22):
        odd[h] = 1.3
    assert max(usual) > 1.3  # nothing new for the series as a whole
    assert run(write(tmp_path, hourly(usual + odd))) == "2026-03-16T16:00:00+00:00\n"


def test_weights_pool_thin_points(tmp_path):
    # CPA per hour with the conversions behind it: 25 conversions make one judged point.
    text = "timestamp,value,weight\n" + "".join(
        f"2026-03-02T{h:02d}:00:00Z,{v},{w}\n"
        for h, (v, w) in enumerate(
            [
                *[(20, 13), (21, 12), (20, 14), (22, 11), (19, 12), (21, 13), (20, 25), (21, 25)],
                *[(90, 1), (20, 24), (21, 25)],  # one conversion's noise: pooled to 22.80
                *[(40, 13), (42, 12), (41, 25), (44, 25), (39, 25)],  # 40.96, 41, 44: fires
            ]
        )
    )
    assert run(write(tmp_path, text), "--metric", "cpa", "--control-limit", "28") == (
        "2026-03-02T14:00:00+00:00\n"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("time,value\n2026-03-02T00:00:00Z,1\n", r"Row 1: missing column timestamp"),
        ("timestamp\n2026-03-02T00:00:00Z\n", r"Row 1: missing column value"),
        ("timestamp,value\n2026-03-02T00:00:00Z,1\nyesterday,2\n", r"Row 3: “yesterday” is not"),
        (
            "timestamp,value\n2026-03-02T00:00:00Z,1\n\n2026-03-02T02:00:00Z,n/a\n",
            r"Row 4: value “n/a”",
        ),
        ("timestamp,value\n2026-03-02T00:00:00Z,1\n2026-03-02T01:00:00Z,\n", r"Row 3: value empty"),
        ("timestamp,value\n2026-03-02T00:00:00Z,nan\n", r"Row 2: value “nan” is not a number"),
        ("timestamp,value\n,1\n", r"Row 2: the timestamp is empty"),
        (
            "timestamp,value\n2026-03-02T00:00:00Z,1\n2026-03-02T01:00:00,1\n",
            r"Row 3: .* mixes time zones",
        ),
        ("timestamp,value,weight\n2026-03-02T00:00:00Z,1,-3\n", r"Row 2: weight -3 is negative"),
    ],
)
def test_bad_input_is_refused_naming_the_row(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(CommandError, match=message):
        run(path)


REPEATED = "timestamp,value\n2026-03-02T00:00:00Z,1\n2026-03-02T00:00:00+00:00,3\n"


def test_repeated_timestamps_are_refused_when_asked(tmp_path):
    with pytest.raises(CommandError, match=r"Row 3: timestamp .* repeats row 2 \(--duplicates"):
        run(write(tmp_path, REPEATED), "--duplicates", "refuse")


@pytest.mark.parametrize(
    ("policy", "value", "said"),
    [
        (None, 2.0, "combined the rows of each"),
        ("mean", 2.0, "combined the rows of each"),
        ("first", 1.0, "kept the first row of each"),
        ("last", 3.0, "kept the last row of each"),
    ],
)
def test_repeated_timestamps_keep_going_and_say_what_was_done(tmp_path, policy, value, said):
    from monitoring.management.commands.detect_anomalies import read_series

    series = read_series(write(tmp_path, REPEATED), duplicates=policy or "mean")
    assert [o.value for o in series.observations] == [value]
    note = (
        f"Note: 1 timestamp appear more than once (first repeat at row 3); {said} (--duplicates).\n"
    )
    args = ["--duplicates", policy] if policy else []
    run(write(tmp_path, REPEATED), "--control-limit", "10", *args, notes=note)


def test_repeated_weighted_rows_pool_exactly(tmp_path):
    from monitoring.management.commands.detect_anomalies import read_series

    text = "timestamp,value,weight\n2026-03-02T00:00:00Z,2.0,10\n2026-03-02T00:00:00Z,1.0,30\n"
    (point,) = read_series(write(tmp_path, text)).observations
    assert (point.value, point.weight) == (1.25, 40)  # Σ spend / Σ clicks, not (2 + 1) / 2


def test_runs_with_nothing_configured(tmp_path):
    """The backtest is pure: no SECRET_KEY, no DEBUG, no database needed."""
    path = write(tmp_path, hourly(daily_cycle(12) + [2.4] * 6))
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "detect_anomalies", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "2026-03-14T00:00:00+00:00\n", "")


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        run(tmp_path / "nope.csv")


def test_an_unknown_metric_is_refused(tmp_path):
    with pytest.raises(CommandError, match="invalid choice"):
        run(write(tmp_path, CPA_CSV), "--metric", "roas")


def test_a_refused_file_prints_nothing(tmp_path):
    out = StringIO()
    bad = CPA_CSV + "2026-03-03T16:00:00Z,oops\n"
    with pytest.raises(CommandError, match="Row 16"):
        call_command(
            "detect_anomalies", str(write(tmp_path, bad)), "--control-limit", "28", stdout=out
        )
    assert out.getvalue() == ""
