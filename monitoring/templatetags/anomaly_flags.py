"""How a flag reads on the page beyond its explanation: the band the detector expected,
what it saw, and since when ("Expected 0.31-0.48, seen 0.62, since 14:00", with an en
dash)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone

from campaigns.domain.metrics import METRICS, Metric, format_band, format_value

from ..domain.anomalies import AUDIENCE_FATIGUE, KIND_FOR_METRIC
from ..models import AnomalyFlag, FlagState

register = template.Library()

#: The metric each kind's flag stores its band in: the detector's lead judge (fatigue's
#: is frequency, its first part).
_METRIC_OF_KIND = {kind: metric for metric, kind in KIND_FOR_METRIC.items()} | {
    AUDIENCE_FATIGUE: Metric.FREQUENCY
}


@register.filter
def expected_band(flag: AnomalyFlag) -> str:
    """ "Expected 0.31-0.48, seen 0.62, since 14:00" (without "since" once resolved); ""
    for a flag stored without a band (raised by hand, or before bands were stored)."""
    metric = _METRIC_OF_KIND.get(flag.kind)
    low, high = flag.expected_low, flag.expected_high
    if metric is None or (low is None and high is None):
        return ""
    unit = METRICS[metric].unit
    band = format_band(
        unit, None if low is None else float(low), None if high is None else float(high)
    )
    text = f"Expected {band}"
    if flag.observed is not None:
        text += f", seen {format_value(unit, float(flag.observed))}"
    if flag.state == FlagState.RESOLVED:
        return text  # when it opened and resolved is on the card's last line
    return f"{text}, since {_when(flag.bad_since or flag.opened_at, timezone.localtime())}"


def _when(at: datetime, now: datetime) -> str:
    """14:00 today, "Tue 14:00" this past week, "3 Mar 14:00" before."""
    at = timezone.localtime(at)
    if at.date() == now.date():
        return f"{at:%H:%M}"
    if now - at < timedelta(days=6):
        return f"{at:%a %H:%M}"
    return f"{at.day} {at:%b %H:%M}"
