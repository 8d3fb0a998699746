"""The experiments' chart builders (``agents.charts``) on literal data: no database, no
browser."""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from agents import charts

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def at(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


def naive(hours: int) -> datetime:
    return at(hours).replace(tzinfo=None)


def traces(fig):
    return {trace.name: trace for trace in fig.data}


# --- Experiment read-outs --------------------------------------------------------------

DASH = "\u2013"  # ranges read "2.3-2.9 %", with an en dash (spelt out: ruff flags it)

ROASTED = charts.ArmReadout(
    "#12 Roasted to order",
    mean=0.026,
    low=0.023,
    high=0.029,
    prob_best=0.91,
    trials=15_820,
    successes=412,
)
BOLD = charts.ArmReadout(
    "#13 Bold claim",
    mean=0.021,
    low=0.018,
    high=0.025,
    prob_best=0.09,
    trials=15_400,
    successes=323,
)
LOUD = charts.ArmReadout(
    "#14 Loud offer",
    mean=0.031,
    low=0.019,
    high=0.046,
    prob_best=0.0,
    trials=640,
    successes=20,
    stopped="CPA 41.20 is over the 30.00 limit.",
)
# The caller's order is not the chart's: best mean first.
ARMS = [BOLD, ROASTED, LOUD]


def won(arm, prob_best=0.97):
    return replace(arm, prob_best=prob_best, winner=True)


def test_intervals_figure_draws_each_arm_best_first_in_percent():
    fig = charts.experiment_intervals_figure(ARMS)

    names = ["#14 Loud offer (stopped)", "#12 Roasted to order", "#13 Bold claim"]
    assert [trace.name for trace in fig.data] == names
    assert [trace.y for trace in fig.data] == [(name,) for name in names]
    roasted = traces(fig)["#12 Roasted to order"]
    assert roasted.mode == "markers"
    assert roasted.x == pytest.approx((2.6,))
    assert roasted.error_x.symmetric is False
    assert roasted.error_x.arrayminus == pytest.approx((0.3,))  # 2.6 - 2.3
    assert roasted.error_x.array == pytest.approx((0.3,))  # 2.9 - 2.6
    assert traces(fig)["#13 Bold claim"].error_x.array == pytest.approx((0.4,))
    # Best on top, every arm named on the axis (so no legend), rates in %.
    assert fig.layout.yaxis.autorange == "reversed"
    assert fig.layout.showlegend is False
    assert fig.layout.xaxis.ticksuffix == " %"
    assert fig.layout.title.text == "Conversion rate by variant, with 95 % credible intervals"
    assert fig.layout.xaxis.title.text == "Conversion rate (%)"
    assert fig.layout.yaxis.title.text == "Variant"
    assert not fig.layout.annotations


def test_intervals_figure_hover_gives_the_numbers():
    fig = charts.experiment_intervals_figure(ARMS, metric_label="Sign-up rate")

    assert traces(fig)["#12 Roasted to order"].hovertext == (
        f"#12 Roasted to order<br>Sign-up rate 2.6 % (95 % credible interval 2.3{DASH}2.9 %)"
        "<br>412 conversions from 15,820 impressions<br>P(best) 91 %",
    )
    assert (
        traces(fig)["#14 Loud offer (stopped)"]
        .hovertext[0]
        .endswith("<br>P(best) 0 %<br>Stopped: CPA 41.20 is over the 30.00 limit.")
    )


def test_intervals_figure_highlights_the_winner_and_greys_stopped_arms():
    fig = charts.experiment_intervals_figure([BOLD, won(ROASTED), LOUD])

    by_name = traces(fig)
    winner = by_name["#12 Roasted to order (winner)"]
    running = by_name["#13 Bold claim"]
    stopped = by_name["#14 Loud offer (stopped)"]
    assert winner.marker.color == charts.WINNER_COLOUR == winner.error_x.color
    assert stopped.marker.color == charts.STOPPED_COLOUR == stopped.error_x.color
    assert running.marker.color == charts.ACTUAL_COLOUR
    # Not by colour alone: the label says it, and the marker shape differs.
    assert (winner.marker.symbol, running.marker.symbol, stopped.marker.symbol) == (
        "star",
        "circle",
        "circle-open",
    )
    assert winner.marker.size > running.marker.size


def test_intervals_figure_grows_with_the_number_of_arms():
    one = charts.experiment_intervals_figure([ROASTED])
    many = [
        charts.ArmReadout(
            f"#{i}", mean=0.02, low=0.01, high=0.03, prob_best=0.1, trials=9, successes=0
        )
        for i in range(10)
    ]
    assert [trace.name for trace in one.data] == ["#12 Roasted to order"]
    assert charts.experiment_intervals_figure(many).layout.height > one.layout.height
    assert charts.experiment_intervals_figure(ARMS).layout.height >= one.layout.height


def test_intervals_figure_edge_cases():
    point = charts.ArmReadout(
        "#1 Point", mean=0.0, low=0.0, high=0.0, prob_best=1.0, trials=10, successes=0
    )
    fig = charts.experiment_intervals_figure([point])
    assert fig.data[0].x == (0.0,)
    assert fig.data[0].error_x.array == (0.0,) and fig.data[0].error_x.arrayminus == (0.0,)
    assert not fig.layout.annotations

    unseen = [
        charts.ArmReadout(
            label, mean=0.5, low=0.025, high=0.975, prob_best=0.5, trials=0, successes=0
        )
        for label in ("#1 A", "#2 B")
    ]
    fig = charts.experiment_intervals_figure(unseen)
    assert [trace.name for trace in fig.data] == ["#1 A", "#2 B"]  # ties keep their order
    assert [a.text for a in fig.layout.annotations] == ["No impressions yet"]


def test_labels_are_shown_as_typed_not_as_markup():
    odd = charts.ArmReadout(
        '<b>Bold</b> & "free"',
        mean=0.02,
        low=0.01,
        high=0.03,
        prob_best=1.0,
        trials=100,
        successes=2,
    )

    fig = charts.experiment_intervals_figure([odd])
    assert fig.data[0].y == ('&lt;b&gt;Bold&lt;/b&gt; &amp; "free"',)
    assert charts.probability_best_figure([odd]).data[0].y == fig.data[0].y
    # The summary is plain text; the template escapes it.
    assert charts.experiment_summary([odd], winner_label=None, min_sample=500).startswith(
        '<b>Bold</b> & "free" is the only variant still running'
    )


def test_probability_best_figure_uses_the_same_order_in_percent():
    fig = charts.probability_best_figure([BOLD, won(ROASTED), LOUD])

    (bars,) = fig.data
    assert bars.type == "bar" and bars.orientation == "h"
    labels = [
        trace.name for trace in charts.experiment_intervals_figure([BOLD, won(ROASTED), LOUD]).data
    ]
    assert list(bars.y) == labels
    assert bars.x == pytest.approx((0.0, 97.0, 9.0))
    assert bars.text == ("0 %", "97 %", "9 %")
    assert bars.textposition == "outside"  # so a bar of 0 still says "0 %"
    assert bars.marker.color == (charts.STOPPED_COLOUR, charts.WINNER_COLOUR, charts.ACTUAL_COLOUR)
    assert bars.marker.pattern.shape == ("/", "", "")  # stopped: hatched, not only grey
    assert tuple(fig.layout.xaxis.range) == (0, 100)
    assert fig.layout.xaxis.title.text == "Probability of being best (%)"
    assert fig.layout.yaxis.autorange == "reversed"


def test_chance_never_rounds_to_certainty():
    near = [
        charts.ArmReadout(
            "#1 A", mean=0.03, low=0.02, high=0.04, prob_best=0.998, trials=9, successes=0
        ),
        charts.ArmReadout(
            "#2 B", mean=0.02, low=0.01, high=0.03, prob_best=0.002, trials=9, successes=0
        ),
    ]

    assert charts.probability_best_figure(near).data[0].text == ("more than 99 %", "less than 1 %")


ROUNDS = [
    (at(0), {"#12 Roasted to order": 500, "#13 Bold claim": 500}),
    (at(2), {"#12 Roasted to order": 700, "#13 Bold claim": 100, "#15 New": 200}),
    (at(1), {"#12 Roasted to order": 600, "#13 Bold claim": 400}),  # out of order
]


def test_allocation_figure_stacks_step_shaped_shares_per_arm():
    fig = charts.allocation_share_figure(ROUNDS)

    by_name = traces(fig)
    assert list(by_name) == ["#12 Roasted to order", "#13 Bold claim", "#15 New"]
    for trace in fig.data:
        assert trace.x == (naive(0), naive(1), naive(2))  # sorted by time
        assert trace.stackgroup == "share"
        assert trace.line.shape == "hv"  # shares hold until the next round
    assert by_name["#12 Roasted to order"].y == pytest.approx((50.0, 60.0, 70.0))
    assert by_name["#15 New"].y == (0.0, 0.0, 20.0)  # a late arm starts at 0
    for column in zip(*(trace.y for trace in fig.data), strict=True):
        assert sum(column) == pytest.approx(100.0)
    # Areas differ by fill pattern, not by colour alone.
    assert len({trace.fillpattern.shape for trace in fig.data}) == 3
    assert {trace.fillpattern.fillmode for trace in fig.data} == {"overlay"}  # colour kept
    assert fig.layout.yaxis.title.text == "Share of traffic (%)"
    assert tuple(fig.layout.yaxis.range) == (0, 100)
    assert fig.layout.xaxis.title.text == "Time"


def test_allocation_figure_takes_fractions_and_holds_the_last_round():
    rounds = [(at(0), {"A": 0.25, "B": 0.75}), (at(1), {"A": 0.5, "B": 0.5})]

    fig = charts.allocation_share_figure(rounds, until=at(3))

    assert traces(fig)["A"].x == (naive(0), naive(1), naive(3))
    assert traces(fig)["A"].y == (25.0, 50.0, 50.0)
    assert traces(fig)["B"].y == (75.0, 50.0, 50.0)


def test_allocation_figure_edge_cases():
    paused = charts.allocation_share_figure([(at(0), {"A": 3, "B": 1}), (at(1), {"A": 0, "B": 0})])
    assert traces(paused)["A"].y == (75.0, 0.0)

    empty = charts.allocation_share_figure([])
    assert not empty.data
    assert [a.text for a in empty.layout.annotations] == ["No allocation rounds yet"]

    with pytest.raises(ValueError, match="not ≥ 0"):
        charts.allocation_share_figure([(at(0), {"A": -1})])


def test_allocation_summary_gives_the_latest_shares():
    assert charts.allocation_summary(ROUNDS) == (
        "Share of traffic in the latest allocation round, at 2025-03-01 11:00: "
        "#12 Roasted to order 70 %, #15 New 20 %, #13 Bold claim 10 % (3 rounds so far)."
    )
    assert charts.allocation_summary([]) == "No allocation rounds yet."


def test_experiment_summary_names_the_leader_and_what_is_missing():
    assert charts.experiment_summary([BOLD, ROASTED], winner_label=None, min_sample=20_000) == (
        f"#12 Roasted to order leads with 2.6 % (2.3{DASH}2.9 %) and a 91 % chance of being best; "
        "no winner yet: every variant needs 20,000 impressions."
    )
    assert charts.experiment_summary([BOLD, ROASTED], winner_label=None, min_sample=15_500) == (
        f"#12 Roasted to order leads with 2.6 % (2.3{DASH}2.9 %) and a 91 % chance of being best; "
        "no winner yet: every variant needs 15,500 impressions and 1 of 2 still has fewer."
    )
    assert charts.experiment_summary([BOLD, ROASTED], winner_label=None, min_sample=4_000) == (
        f"#12 Roasted to order leads with 2.6 % (2.3{DASH}2.9 %) and a 91 % chance of being best; "
        "no winner yet: every variant has its 4,000 impressions, but none is clearly best."
    )


def test_experiment_summary_names_the_winner():
    summary = charts.experiment_summary(
        [BOLD, won(ROASTED, prob_best=0.8)], winner_label=ROASTED.label, min_sample=4_000
    )
    assert summary == (
        f"Winner: #12 Roasted to order, converting at 2.6 % (2.3{DASH}2.9 %) "
        "with an 80 % chance of being best."
    )


def test_experiment_summary_says_which_arms_stopped_and_why():
    assert charts.experiment_summary(ARMS, winner_label=None, min_sample=20_000) == (
        # The stopped arm has the highest mean but cannot lead.
        f"#12 Roasted to order leads with 2.6 % (2.3{DASH}2.9 %) and a 91 % chance of being best; "
        "no winner yet: every variant needs 20,000 impressions. "
        "Stopped by a guardrail: #14 Loud offer (CPA 41.20 is over the 30.00 limit)."
    )
    assert charts.experiment_summary([ROASTED, LOUD], winner_label=None, min_sample=20_000) == (
        f"#12 Roasted to order is the only variant still running, at 2.6 % (2.3{DASH}2.9 %); "
        "no winner yet: every variant needs 20,000 impressions. "
        "Stopped by a guardrail: #14 Loud offer (CPA 41.20 is over the 30.00 limit)."
    )
    assert charts.experiment_summary([LOUD], winner_label=None, min_sample=100) == (
        "Every variant is stopped by a guardrail, so no winner can be called. "
        "Stopped by a guardrail: #14 Loud offer (CPA 41.20 is over the 30.00 limit)."
    )


def test_experiment_summary_before_any_impression():
    unseen = [
        charts.ArmReadout(
            label, mean=0.5, low=0.025, high=0.975, prob_best=0.5, trials=0, successes=0
        )
        for label in ("#1 A", "#2 B")
    ]
    assert charts.experiment_summary(unseen, winner_label=None, min_sample=4_000) == (
        "No impressions yet; every variant needs 4,000 impressions before a winner can be called."
    )
    assert charts.experiment_summary(unseen, winner_label=None, min_sample=0) == (
        "No impressions yet."
    )


def test_rates_get_the_decimals_they_need():
    tight = charts.ArmReadout(
        "#1 A",
        mean=0.02612,
        low=0.02601,
        high=0.02623,
        prob_best=0.5,
        trials=9_000_000,
        successes=235_080,
    )
    small = charts.ArmReadout(
        "#2 B", mean=0.0042, low=0.0031, high=0.0055, prob_best=0.5, trials=9_000, successes=38
    )
    assert charts.experiment_summary([tight, small], winner_label=None, min_sample=0) == (
        f"#1 A leads with 2.61 % (2.60{DASH}2.62 %) and a 50 % chance of being best; "
        "no winner yet: none is clearly best."
    )
    assert (
        f"0.42 % (95 % credible interval 0.31{DASH}0.55 %)"
        in charts.experiment_intervals_figure([small]).data[0].hovertext[0]
    )


def test_experiment_read_outs_reject_bad_arms():
    builders = [
        charts.experiment_intervals_figure,
        charts.probability_best_figure,
        lambda arms: charts.experiment_summary(arms, winner_label=None, min_sample=0),
    ]
    for build in builders:
        with pytest.raises(ValueError, match="at least one variant"):
            build([])
        with pytest.raises(ValueError, match="unique"):
            build([ROASTED, ROASTED])
    with pytest.raises(ValueError, match="fractions"):
        charts.experiment_intervals_figure([charts.ArmReadout("#1", 2.6, 2.3, 2.9, 0.9, 10, 1)])
    with pytest.raises(ValueError, match="not one of the variants"):
        charts.experiment_summary(ARMS, winner_label="#99 Gone", min_sample=0)
    with pytest.raises(ValueError, match="stopped variant cannot be the winner"):
        charts.experiment_summary(ARMS, winner_label=LOUD.label, min_sample=0)


def test_experiment_figure_data_is_plain_json():
    figures = [
        charts.experiment_intervals_figure([BOLD, won(ROASTED), LOUD]),
        charts.probability_best_figure([BOLD, won(ROASTED), LOUD]),
        charts.allocation_share_figure(ROUNDS, until=at(4)),
        charts.allocation_share_figure([]),
    ]
    for fig in figures:
        data = charts.figure_data(fig)
        json.loads(json.dumps(data))  # nothing left that json_script could not encode
        assert data["layout"]["title"]["text"]
    shares = charts.figure_data(figures[2])["data"][0]
    assert shares["x"][0] == "2025-03-01T09:00:00"  # wall-clock, no offset
