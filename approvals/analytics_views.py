"""Queue analytics for admins: a thin adapter over ``approvals.analytics``."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from governance import policies

from . import analytics

PERIOD_DAYS = (7, 30, 90)
DEFAULT_DAYS = 30


def queue_analytics(request: HttpRequest) -> HttpResponse:
    if not policies.is_admin(request.user):
        raise PermissionDenied("Only admins see queue analytics.")
    problems: list[str] = []
    days = _period(request.GET.get("days"), problems)
    brands = list(policies.visible_brands(request.user).order_by("name"))
    slug = request.GET.get("brand", "")
    brand = next((b for b in brands if b.slug == slug), None) if slug else None
    if slug and brand is None:
        problems.append(f"There is no brand “{slug}”; showing every brand.")
    until = timezone.now()
    since = until - timedelta(days=days)
    # Admins see every brand, so "no brand chosen" needs no id list.
    report = analytics.queue_analytics(
        since=since, until=until, brand_ids=[brand.pk] if brand else None
    )
    return render(
        request,
        "approvals/analytics.html",
        {
            "report": report,
            "problems": problems,
            "days": days,
            "period_days": PERIOD_DAYS,
            "brands": brands,
            "brand": brand,
            "queues": [_queue_row(q) for q in report.queues],
            "reviewers": [_reviewer_row(r) for r in report.reviewers],
            "rubber_stamp_seconds": f"{report.rubber_stamp_seconds:g}",
        },
    )


def _period(raw: str | None, problems: list[str]) -> int:
    if raw is None or raw == "":
        return DEFAULT_DAYS
    if raw.isdigit() and int(raw) in PERIOD_DAYS:
        return int(raw)
    choices = ", ".join(str(d) for d in PERIOD_DAYS)
    problems.append(
        f"“{raw}” is not a period this page offers (choose {choices} days); "
        f"showing the last {DEFAULT_DAYS} days."
    )
    return DEFAULT_DAYS


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{share:.0%}"


def _queue_row(q: analytics.QueueStats) -> dict[str, object]:
    return {
        "queue": q.queue_role,
        "decided": q.decided,
        "approved": _percent(q.approved_share),
        "rejected": _percent(q.rejected_share),
        "changes_requested": _percent(q.changes_requested_share),
        "expired": _percent(q.expired_share),
        "by_person": q.decided_by_person,
        "median": analytics.format_span(q.median_to_decision),
        "p90": analytics.format_span(q.p90_to_decision),
        "pending": q.pending,
        "overdue": q.overdue,
    }


def _reviewer_row(r: analytics.ReviewerStats) -> dict[str, object]:
    effort = r.median_edit_effort
    return {
        "reviewer": r.reviewer,
        "queue": r.queue_role,
        "decisions": r.decisions,
        "median_held": analytics.format_span(r.median_held),
        "claimed": r.claimed,
        "rubber_stamped": r.rubber_stamped,
        "rubber_share": _percent(r.rubber_stamped_share),
        "since_arrival": r.rubber_stamped_since_arrival,
        "flagged": r.flagged,
        "edits": r.edits,
        "median_effort": "—" if effort is None else f"{effort:g}",
    }
