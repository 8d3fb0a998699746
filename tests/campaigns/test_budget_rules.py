from datetime import UTC, datetime, timedelta
from decimal import Decimal

from campaigns.domain.budget import PaceStatus, pace, planned_spend

START = datetime(2026, 11, 1, tzinfo=UTC)
END = START + timedelta(days=10)


def test_planned_spend_is_a_straight_line_clamped_to_the_budget():
    total = Decimal("1000")
    assert planned_spend(total, START, END, START - timedelta(hours=1)) == 0
    assert planned_spend(total, START, END, START + timedelta(days=5)) == Decimal("500.00")
    assert planned_spend(total, START, END, START + timedelta(days=2.5)) == Decimal("250.00")
    assert planned_spend(total, START, END, END + timedelta(days=3)) == total


def run(consumed, *, day=5, tolerance=10, start=START):
    return pace(
        total=Decimal("1000"),
        consumed=Decimal(consumed),
        start=start,
        end=END,
        at=START + timedelta(days=day),
        tolerance_pct=tolerance,
    )


def test_pacing_within_tolerance_is_on_pace():
    assert run("540").status == PaceStatus.ON_PACE  # +8 %
    assert run("455").status == PaceStatus.ON_PACE  # -9 %


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
    result = run("0", start=None)
    assert result.status == PaceStatus.NOT_STARTED and result.deviation_pct is None


def test_an_ended_campaign_has_no_pace():
    result = pace(
        total=Decimal("1000"),
        consumed=Decimal("990"),
        start=START,
        end=END,
        at=START + timedelta(days=1),
        tolerance_pct=10,
        ended=True,
    )
    assert result.status == PaceStatus.ENDED and result.deviation_pct is None
