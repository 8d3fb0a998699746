"""SLA evaluation at its flip points, with literal numbers and fixed datetimes: pure, no
database, no clock."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from campaigns.models import SlaStatus
from monitoring.domain.slas import (
    SLA_KINDS,
    TIME,
    ErrorBudget,
    SlaState,
    rate_at_least,
    rate_at_most,
    time_to_event,
    within_band,
    worst,
)
from monitoring.models import SlaKind

ON, RISK, BREACH = SlaState.ON_TRACK, SlaState.AT_RISK, SlaState.BREACHED
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TWO_H = timedelta(hours=2)


def test_states_and_kinds_are_the_models_choices():
    assert sorted(SlaState) == sorted(SlaStatus.values)
    assert [s.label for s in SlaState] == [SlaStatus(s).label for s in SlaState]
    assert {k: SLA_KINDS[k] for k in SlaKind.values} == dict(SlaKind.choices)
    assert {"completion_rate", "notify_time"} <= set(SLA_KINDS)


# ----------------------------------------------------------------------------- time


def draft(minutes, *, done=False, seconds=0):
    at = START + timedelta(minutes=minutes, seconds=seconds)
    return time_to_event(
        "draft_time", started_at=START, done_at=at if done else None, now=at, target=TWO_H
    )


@pytest.mark.parametrize(
    ("minutes", "seconds", "status"),
    [
        (0, 0, ON),
        (59, 59, ON),  # a second short of 50 %
        (60, 0, RISK),  # exactly 50 % of 2 h: at risk
        (119, 59, RISK),
        (120, 0, RISK),  # exactly at the target: still "≤ 2 h"
        (120, 1, BREACH),  # a second over
    ],
)
def test_a_running_time_sla_flips_at_half_its_target_and_just_past_it(minutes, seconds, status):
    assert draft(minutes, seconds=seconds).status == status


@pytest.mark.parametrize(
    ("minutes", "seconds", "status"),
    [(90, 0, ON), (120, 0, ON), (120, 1, BREACH), (200, 0, BREACH)],
)
def test_done_in_time_is_on_track_however_close_and_done_late_is_breached(minutes, seconds, status):
    assert draft(minutes, seconds=seconds, done=True).status == status


def test_a_time_reading_shows_the_numbers_behind_it():
    running = draft(70)
    assert (running.measured, running.target) == ("1 h 10 min", "≤ 2 h")
    assert running.detail == "Running for 1 h 10 min; 50 min left."
    assert running.value == 70 * 60
    assert running.error_budget == ErrorBudget(7200, 4200, TIME)
    assert running.error_budget.label == "50 min of 2 h left"
    assert running.label == "Draft within target time"

    late = draft(150, done=True)
    assert (late.measured, late.detail) == ("2 h 30 min", "Done 30 min late.")
    assert late.error_budget.label == "budget spent (2 h 30 min of 2 h)"
    assert draft(130).detail == "Still running, 10 min over."


def test_elapsed_time_rounds_up_so_a_breach_never_reads_as_the_target():
    # 2 h 0 min 1 s is breached; rounding down would show "2 h" against "≤ 2 h".
    assert draft(120, seconds=1).measured == "2 h 1 min"
    assert draft(120).measured == "2 h"


def test_the_at_risk_share_and_a_skewed_clock():
    ten = timedelta(minutes=10)
    escalated = time_to_event(
        "policy_escalation",
        started_at=START,
        done_at=None,
        now=START + timedelta(minutes=8),
        target=ten,
        at_risk_fraction=0.8,
    )
    assert escalated.status == RISK
    seven = time_to_event(
        "policy_escalation",
        started_at=START,
        done_at=None,
        now=START + timedelta(minutes=7, seconds=59),
        target=ten,
        at_risk_fraction=0.8,
    )
    assert seven.status == ON
    # A worker whose clock reads before the start: no time has passed.
    skewed = time_to_event(
        "notify_time",
        started_at=START,
        done_at=None,
        now=START - timedelta(seconds=30),
        target=timedelta(minutes=5),
    )
    assert (skewed.status, skewed.value, skewed.measured) == (ON, 0, "< 1 min")


def test_a_time_sla_needs_a_positive_target_and_a_known_kind():
    with pytest.raises(ValueError):
        time_to_event("draft_time", started_at=START, done_at=None, now=START, target=timedelta())
    with pytest.raises(ValueError):
        time_to_event("coffee_time", started_at=START, done_at=None, now=START, target=TWO_H)


# ---------------------------------------------------------------------------- rates


def qa(good, total, target=95, **kw):
    return rate_at_least("qa_pass_rate", good=good, total=total, target_pct=target, **kw)


@pytest.mark.parametrize(
    ("good", "total", "status"),
    [
        (20, 20, ON),
        (19, 20, RISK),  # 95.0 %: the target kept, its one allowed failure used
        (18, 20, BREACH),  # 90.0 %
        (97, 100, ON),  # 2 of 5 allowed failures used: 60 % of the budget left
        (96, 100, RISK),  # 20 % left, below 25 %
        (95, 100, RISK),  # exactly 95.0 %: not breached
        (94, 100, BREACH),
        (77, 80, ON),  # 3 of 4 allowed used: exactly 25 % left is still on track
        (76, 80, RISK),
    ],
)
def test_a_pass_rate_flips_at_the_target_and_at_the_budget_threshold(good, total, status):
    assert qa(good, total).status == status


def test_a_sample_too_small_is_not_judged_and_the_minimum_itself_is():
    small = qa(0, 19)
    assert (small.status, small.detail, small.error_budget) == (
        ON,
        "Too few to judge (19 of 20).",
        None,
    )
    assert small.measured == "0.0 %"
    assert qa(0, 20).status == BREACH
    nothing = qa(0, 0)
    assert (nothing.status, nothing.measured, nothing.value) == (ON, "—", None)
    assert nothing.detail == "Too few to judge (0 of 20)."
    assert qa(0, 0, min_sample=0).detail == "Nothing to judge yet."
    assert qa(2, 3, min_sample=3).status == BREACH


def test_a_pass_rate_reading_shows_the_numbers_and_its_error_budget():
    reading = qa(96, 100)
    assert (reading.measured, reading.target, reading.value) == ("96.0 %", "≥ 95 %", 96.0)
    assert reading.detail == "4 failures in 100, close to what the target allows."
    assert reading.error_budget == ErrorBudget(5, 4)
    assert reading.error_budget.label == "1 of 5 failures left"
    assert qa(18, 20).error_budget.label == "budget spent (2 of 1)"
    assert qa(19, 20).error_budget.label == "0 of 1 failure left"
    assert qa(19, 20).detail == "1 failure in 20, close to what the target allows."
    assert qa(98, 100).detail == "2 failures in 100."


def test_a_rate_just_short_of_the_target_never_displays_as_the_target():
    # 189/199 = 94.97 %: breached, so it must not read "95.0 %".
    reading = qa(189, 199)
    assert (reading.status, reading.measured) == (BREACH, "94.9 %")


def test_fractional_targets_and_budgets_compare_exactly():
    # 95.5 % of 200 allows 9 failures: 191/200 = 95.5 % keeps it, 190/200 does not.
    assert qa(191, 200, target=95.5).status == RISK
    assert qa(190, 200, target=95.5).status == BREACH
    assert qa(191, 200, target=95.5).target == "≥ 95.5 %"
    budget = qa(29, 30).error_budget  # 5 % of 30 = 1.5 failures allowed
    assert budget.label == "0.5 of 1.5 failures left"
    assert qa(20, 20, target=100).status == ON
    assert qa(19, 20, target=100).status == BREACH


def exceptions(bad, total, limit=10, **kw):
    return rate_at_most("exception_rate", bad=bad, total=total, max_pct=limit, **kw)


@pytest.mark.parametrize(
    ("bad", "total", "status"),
    [
        (0, 20, ON),
        (1, 20, ON),  # half of the 2 allowed left
        (2, 20, RISK),  # exactly 10.0 %: kept, budget used up
        (3, 20, BREACH),  # 15.0 %
        (7, 100, ON),  # 30 % of 10 left
        (8, 100, RISK),  # 20 % left
        (10, 100, RISK),
        (11, 100, BREACH),
        (3, 19, ON),  # too few to judge
    ],
)
def test_an_exception_rate_mirrors_a_pass_rate(bad, total, status):
    assert exceptions(bad, total).status == status


def test_an_exception_rate_reading_rounds_towards_the_limit_it_broke():
    reading = exceptions(3, 20)
    assert (reading.measured, reading.target) == ("15.0 %", "≤ 10 %")
    assert reading.detail == "3 exceptions in 20, more than the target allows."
    assert reading.error_budget.label == "budget spent (3 of 2)"
    # 21/209 = 10.048 %: breached, so it reads "10.1 %", not "10.0 %".
    assert exceptions(21, 209).measured == "10.1 %"
    assert exceptions(21, 209).status == BREACH


def test_completion_rate_uses_its_own_noun():
    reading = rate_at_least(
        "completion_rate", good=18, total=20, target_pct=90, unit="incomplete runs"
    )
    assert reading.status == RISK
    assert reading.error_budget.label == "0 of 2 incomplete runs left"


def test_rates_refuse_impossible_counts():
    for good, total in [(21, 20), (-1, 20), (1, -1)]:
        with pytest.raises(ValueError):
            qa(good, total)
    with pytest.raises(ValueError):
        qa(1, 20, target=101)


# ----------------------------------------------------------------------------- band


def pacing(actual, planned="1000"):
    return within_band(
        "budget_pacing", actual=Decimal(actual), planned=Decimal(planned), tolerance_pct=10
    )


@pytest.mark.parametrize(
    ("actual", "status"),
    [
        ("1000", ON),
        ("1079.99", ON),
        ("1080", RISK),  # +8.0 %: 80 % of the tolerance
        ("1100", RISK),  # +10.0 %: exactly the tolerance is within it
        ("1100.01", BREACH),
        ("920.01", ON),
        ("920", RISK),  # -8.0 %
        ("900", RISK),
        ("899.99", BREACH),
        ("0", BREACH),
    ],
)
def test_pacing_flips_at_80_percent_of_its_tolerance_and_just_past_it(actual, status):
    assert pacing(actual).status == status


def test_a_pacing_reading_shows_a_signed_deviation_rounded_away_from_zero():
    reading = pacing("1086")
    assert (reading.measured, reading.target) == ("+8.6 %", "± 10 %")
    assert reading.detail == "1,086.00 against 1,000.00 planned."
    assert reading.value == pytest.approx(8.6)
    assert reading.error_budget is None
    assert pacing("914").measured == "-8.6 %"
    assert pacing("1100.04").measured == "+10.1 %"  # breached, so not "+10.0 %"
    assert pacing("1000").measured == "+0.0 %"


def test_floats_are_read_as_the_decimals_people_typed():
    reading = within_band("budget_pacing", actual=110.0, planned=100.0, tolerance_pct=10)
    assert reading.status == RISK  # 110/100 is exactly +10 %, not 10.000000000000009


def test_without_a_plan_nothing_spent_is_on_track_and_any_spend_is_a_breach():
    idle = pacing("0", planned="0")
    assert (idle.status, idle.measured, idle.detail) == (ON, "—", "No plan yet.")
    early = pacing("12.50", planned="0")
    assert (early.status, early.measured) == (BREACH, "no plan")
    assert early.detail == "12.50 spent before the plan starts."


# ---------------------------------------------------------------------- error budget


def test_error_budget_arithmetic():
    assert ErrorBudget(5, 2).remaining == 3
    assert ErrorBudget(5, 2).remaining_fraction == 0.6
    assert ErrorBudget(5, 0).remaining_fraction == 1.0
    assert ErrorBudget(5, 5).remaining_fraction == 0.0
    assert ErrorBudget(5, 7).remaining == -2
    assert ErrorBudget(5, 7).remaining_fraction == -0.4
    assert ErrorBudget(0, 0).remaining_fraction == 1.0
    assert ErrorBudget(0, 1).remaining_fraction == -1.0


def test_error_budget_labels():
    assert ErrorBudget(5, 2).label == "3 of 5 failures left"
    assert ErrorBudget(5, 7).label == "budget spent (7 of 5)"
    assert ErrorBudget(1, 0).label == "1 of 1 failure left"
    assert ErrorBudget(1_200_000, 0).label == "1200000 of 1200000 failures left"
    assert ErrorBudget(7200, 4200, TIME).label == "50 min of 2 h left"
    assert ErrorBudget(7200, 3000, TIME).label == "1 h 10 min of 2 h left"
    assert ErrorBudget(7200, 7200, TIME).label == "< 1 min of 2 h left"


# ---------------------------------------------------------------------------- worst


def test_worst_is_breached_then_at_risk_then_on_track():
    assert worst([]) == ON
    assert worst([qa(20, 20), pacing("1000")]) == ON
    assert worst([qa(20, 20), qa(19, 20)]) == RISK
    assert worst([qa(19, 20), qa(18, 20), qa(20, 20)]) == BREACH
    assert worst(["on_track", "breached"]) == BREACH
    assert [s.severity for s in (ON, RISK, BREACH)] == [0, 1, 2]
