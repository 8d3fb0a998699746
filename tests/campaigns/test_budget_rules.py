from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from campaigns.domain.budget import (
    AUDIENCE_DAY,
    FLAT_DAY,
    AudienceDay,
    PaceStatus,
    pace,
    pacing_judged_from,
    planned_spend,
)

START = datetime(2026, 11, 1, tzinfo=UTC)
END = START + timedelta(days=10)


def test_a_flat_day_is_a_straight_line_clamped_to_the_budget():
    total = Decimal("1000")
    plan = {"day": FLAT_DAY}
    assert planned_spend(total, START, END, START - timedelta(hours=1), **plan) == 0
    assert planned_spend(total, START, END, START + timedelta(days=5), **plan) == Decimal("500.00")
    assert planned_spend(total, START, END, START + timedelta(days=2.5), **plan) == Decimal(
        "250.00"
    )
    assert planned_spend(total, START, END, END + timedelta(days=3), **plan) == total


def test_the_audience_day_plans_whole_days_as_the_straight_line():
    total = Decimal("1000")
    for days in (1, 2, 5, 9):
        at = START + timedelta(days=days)
        assert planned_spend(total, START, END, at) == Decimal(100 * days).quantize(Decimal("0.01"))


def test_the_audience_day_plans_least_in_the_morning_and_most_in_the_evening():
    total = Decimal("2400")  # 10 a day over 10 days: a flat hour would be 10.00
    morning = planned_spend(total, START, END, START + timedelta(hours=9)) - planned_spend(
        total, START, END, START + timedelta(hours=8)
    )
    evening = planned_spend(total, START, END, START + timedelta(hours=21)) - planned_spend(
        total, START, END, START + timedelta(hours=20)
    )
    assert Decimal("3") < morning < Decimal("4")  # ~0.35x at 08:00-09:00
    assert Decimal("15") < evening < Decimal("17")  # ~1.65x at 20:00-21:00


def test_the_plan_only_grows():
    previous = Decimal("0")
    for minutes in range(0, 10 * 24 * 60, 37):
        now = planned_spend(Decimal("1000"), START, END, START + timedelta(minutes=minutes))
        assert now >= previous
        previous = now


def test_a_day_needs_an_amplitude_below_one():
    with pytest.raises(ValueError):
        AudienceDay(amplitude=1.0)


def run(consumed, *, hours=5 * 24, tolerance=10, launched=START, delivered=START, day=FLAT_DAY):
    return pace(
        total=Decimal("1000"),
        consumed=Decimal(consumed),
        launched_at=launched,
        delivery_started_at=delivered,
        end=END,
        at=START + timedelta(hours=hours),
        tolerance_pct=tolerance,
        day=day,
    )


def test_pacing_within_tolerance_is_on_pace():
    assert run("540").status == PaceStatus.ON_PACE  # +8 %
    assert run("455").status == PaceStatus.ON_PACE  # -9 %
    assert run("550").status == PaceStatus.ON_PACE  # exactly +10 %: still on pace


def test_pacing_beyond_tolerance_says_which_way_and_by_how_much():
    over = run("590")
    assert (over.status, over.planned, over.deviation_pct) == (
        PaceStatus.OVER,
        Decimal("500.00"),
        18.0,
    )
    under = run("300")
    assert (under.status, under.deviation_pct) == (PaceStatus.UNDER, -40.0)
    assert run("590", tolerance=20).status == PaceStatus.ON_PACE


def test_a_campaign_not_launched_has_no_pace():
    result = run("0", launched=None, delivered=None)
    assert result.status == PaceStatus.NOT_STARTED and result.deviation_pct is None


def test_a_launch_the_market_has_not_delivered_yet_is_waiting_not_underspending():
    result = run("0", hours=1, delivered=None)
    assert result.status == PaceStatus.WAITING
    assert result.deviation_pct is None and not result.status.judged


def test_pacing_is_judged_only_after_the_warm_up():
    delivered = START + timedelta(minutes=3)
    warming = run("0.50", hours=2, delivered=delivered, day=AUDIENCE_DAY)
    assert warming.status == PaceStatus.WARMING_UP and warming.deviation_pct is None
    assert warming.judged_from == delivered + timedelta(hours=2)
    # From the end of the warm-up on, spend is judged against the plan since delivery.
    planned = planned_spend(Decimal("1000"), delivered, END, START + timedelta(hours=2, minutes=3))
    judged = run(str(planned), hours=2 + 3 / 60, delivered=delivered, day=AUDIENCE_DAY)
    assert judged.status == PaceStatus.ON_PACE and judged.deviation_pct == 0.0
    short = run(str(planned * Decimal("0.5")), hours=2 + 3 / 60, delivered=delivered)
    assert short.status == PaceStatus.UNDER


def test_the_warm_up_starts_at_the_first_delivery():
    assert pacing_judged_from(None) is None
    assert pacing_judged_from(START, timedelta(hours=3)) == START + timedelta(hours=3)


def test_an_ended_campaign_has_no_pace():
    result = pace(
        total=Decimal("1000"),
        consumed=Decimal("990"),
        launched_at=START,
        delivery_started_at=START,
        end=END,
        at=START + timedelta(days=1),
        tolerance_pct=10,
        ended=True,
    )
    assert result.status == PaceStatus.ENDED and result.deviation_pct is None


def test_spend_is_compared_with_the_plan_up_to_the_latest_delivery_report():
    """Platforms report hours late: spend reported up to 10:00 is not underspending at
    13:00 just because 11:00-13:00 has not been reported yet."""
    at = START + timedelta(days=5)
    reported = at - timedelta(hours=3)
    planned = planned_spend(Decimal("1000"), START, END, reported, day=FLAT_DAY)
    result = pace(
        total=Decimal("1000"),
        consumed=planned,
        launched_at=START,
        delivery_started_at=START,
        end=END,
        at=at,
        tolerance_pct=10,
        day=FLAT_DAY,
        reported_until=reported,
    )
    assert result.status == PaceStatus.ON_PACE and result.as_of == reported
    assert run(str(planned)).status == PaceStatus.ON_PACE  # 3 h of 120: within 10 %
