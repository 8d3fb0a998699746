"""CSV exports for people: campaigns, hourly telemetry roll-ups and the audit trail.

Each export is a read scoped to what the user may see (``governance.policies``), then a
writer that turns plain rows into CSV lines as they are read, so a view can stream a
table of any size (``StreamingHttpResponse``) in one chunk of memory::

    campaign_rows_for_user(user)                 ─┐
    telemetry_rows_for_user(user, filter)         ├─ rows (tuples, stable columns)
    audit_rows_for_user(user, filter)            ─┘
      → csv_chunks(columns, rows)                 CSV text, ~64 kB at a time

Cells a spreadsheet would read as a formula (= + - @ …) are neutralised with a leading
``'`` by the audit export's own rule (``governance.exports``), so every export opened in a
spreadsheet is safe. Times are UTC ISO 8601; money is a plain decimal.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from campaigns.models import PerformanceSample
from campaigns.selectors import campaigns_for_user
from governance import exports as audit_exports
from governance import policies

#: Rows read per round trip (server-side cursor).
CHUNK_ROWS = 2_000
#: Bytes of CSV gathered before handing a piece to the response.
CHUNK_BYTES = 64 * 1024

CAMPAIGN_COLUMNS: tuple[str, ...] = (
    "campaign_id",
    "brand",
    "name",
    "phase",
    "owner",
    "budget",
    "consumed",
    "currency",
    "launched_at",
    "deadline",
    "sla_status",
    "escalation_state",
    "open_flags",
)

TELEMETRY_COLUMNS: tuple[str, ...] = (
    "campaign_id",
    "campaign",
    "brand",
    "channel",
    "variant",
    "hour",
    "impressions",
    "clicks",
    "conversions",
    "spend",
    "reach",
    "leads",
    "qualified_leads",
    "link_checks",
    "link_failures",
    "complaints",
)

AUDIT_COLUMNS = audit_exports.COLUMNS

Row = Sequence[Any]


# --- Writing -----------------------------------------------------------------------------


class _Echo:
    """A file-like object whose ``write`` returns what it was given: ``csv.writer``
    then formats one line at a time without a buffer of its own."""

    def write(self, value: str) -> str:
        return value


def cell(value: Any) -> str | int:
    """One value as a CSV cell: text neutralised against formulas, times in UTC."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | Decimal):
        # Numbers are ours, never a formula: "-3" stays a number a spreadsheet can sum.
        return value if isinstance(value, int) else str(value)
    neutralised = audit_exports._neutralise(str(value))
    assert neutralised is not None
    return neutralised


def csv_lines(columns: Sequence[str], rows: Iterable[Row]) -> Iterator[str]:
    """The header, then one CSV line (RFC 4180, ``\\r\\n``) per row."""
    writer = csv.writer(_Echo())
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow([cell(value) for value in row])


def csv_chunks(columns: Sequence[str], rows: Iterable[Row]) -> Iterator[str]:
    """``csv_lines`` in pieces of about :data:`CHUNK_BYTES`."""
    return chunked(csv_lines(columns, rows))


def chunked(lines: Iterable[str]) -> Iterator[str]:
    """Lines gathered into pieces of about :data:`CHUNK_BYTES` (one tiny write per row
    would cost the response more than the rows do)."""
    piece: list[str] = []
    size = 0
    for line in lines:
        piece.append(line)
        size += len(line)
        if size >= CHUNK_BYTES:
            yield "".join(piece)
            piece, size = [], 0
    if piece:
        yield "".join(piece)


def filename(kind: str, *, today: date | None = None, suffix: str = "") -> str:
    """``campaigns-2026-12-01.csv``, ``telemetry-campaign-7-2026-12-01.csv`` …"""
    day = (today or timezone.localdate()).isoformat()
    middle = f"-{suffix}" if suffix else ""
    return f"{kind}{middle}-{day}.csv"


# --- Campaigns ---------------------------------------------------------------------------


def campaign_rows_for_user(user: Any) -> Iterator[Row]:
    """One row per campaign the user may see (``CAMPAIGN_COLUMNS``), by brand and name."""
    # Open: pending or firing (``monitoring.models.OPEN_FLAG_STATES``, named here because
    # monitoring is a floor above).
    open_flags = Count("anomaly_flags", filter=Q(anomaly_flags__state__in=("pending", "firing")))
    campaigns = (
        campaigns_for_user(user)
        .annotate(open_flags=open_flags)
        .order_by("brand__name", "name", "pk")
        .values_list(
            "pk",
            "brand__name",
            "name",
            "phase",
            "owner__username",
            "budget_total",
            "budget_consumed",
            "brand__currency",
            "launched_at",
            "brief__deadline",
            "sla_status",
            "escalation_state",
            "open_flags",
        )
    )
    return campaigns.iterator(chunk_size=CHUNK_ROWS)


# --- Telemetry ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TelemetryFilter:
    """Which hourly roll-ups to export: one campaign (or all visible), hours from
    ``since`` (inclusive) up to ``until`` (exclusive) — the audit export's convention,
    so consecutive periods never overlap or miss an hour."""

    campaign_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> TelemetryFilter:
        """From query parameters: ``campaign`` (id), ``since`` and ``until`` (ISO 8601
        date or date-time; without an offset, UTC). Raises
        :class:`governance.exports.ExportFilterInvalid` naming every bad parameter. Whether
        the campaign is visible is the caller's question (a view answers 404)."""
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        campaign = str(params.get("campaign") or "").strip()
        if campaign:
            if campaign.isdigit():
                values["campaign_id"] = int(campaign)
            else:
                errors["campaign"] = f"The campaign must be a numeric id, not “{campaign[:40]}”."
        for name in ("since", "until"):
            raw = str(params.get(name) or "").strip()
            if not raw:
                continue
            moment = audit_exports._moment(raw)
            if moment is None:
                errors[name] = (
                    f"“{name}” must be an ISO 8601 date or date-time "
                    f"(e.g. 2026-01-31 or 2026-01-31T09:00:00Z), not “{raw[:40]}”."
                )
            else:
                values[name] = moment
        since, until = values.get("since"), values.get("until")
        if since and until and until <= since:
            errors["until"] = "“until” must be after “since”."
        if errors:
            raise audit_exports.ExportFilterInvalid(errors)
        return cls(**values)


def telemetry_rows_for_user(user: Any, telemetry_filter: TelemetryFilter) -> Iterator[Row]:
    """The hourly roll-ups (``PerformanceSample``) of campaigns the user may see, per
    campaign, channel, variant and hour (``TELEMETRY_COLUMNS``)."""
    samples = PerformanceSample.objects.filter(
        campaign__brand_id__in=policies.visible_brand_ids(user)
    )
    if telemetry_filter.campaign_id is not None:
        samples = samples.filter(campaign_id=telemetry_filter.campaign_id)
    if telemetry_filter.since is not None:
        samples = samples.filter(bucket_start__gte=telemetry_filter.since)
    if telemetry_filter.until is not None:
        samples = samples.filter(bucket_start__lt=telemetry_filter.until)
    # The order of the one-sample-per-surface-and-bucket index: no sort on the way out.
    rows = samples.order_by("campaign_id", "channel", "variant", "bucket_start").values_list(
        "campaign_id",
        "campaign__name",
        "campaign__brand__name",
        "channel",
        "variant",
        "bucket_start",
        "impressions",
        "clicks",
        "conversions",
        "spend",
        "reach",
        "leads",
        "qualified_leads",
        "link_checks",
        "link_failures",
        "complaints",
    )
    return rows.iterator(chunk_size=CHUNK_ROWS)


def campaign_visible(user: Any, campaign_id: int) -> bool:
    return campaigns_for_user(user).filter(pk=campaign_id).exists()


# --- Audit events --------------------------------------------------------------------------


def audit_rows_for_user(user: Any, audit_filter: audit_exports.AuditFilter) -> Iterator[Row]:
    """The audit export's rows (``governance.exports.rows``, its columns and its scoping)
    as tuples, read a chunk at a time. The hashes are re-checked on the way, as the
    command-line export does; the CSV is for reading (verify from a JSONL export)."""
    for row in audit_exports.export_rows(audit_filter, user=user):
        yield [row[column] for column in AUDIT_COLUMNS]


__all__ = [
    "AUDIT_COLUMNS",
    "CAMPAIGN_COLUMNS",
    "TELEMETRY_COLUMNS",
    "TelemetryFilter",
    "audit_rows_for_user",
    "campaign_rows_for_user",
    "campaign_visible",
    "cell",
    "chunked",
    "csv_chunks",
    "csv_lines",
    "filename",
    "telemetry_rows_for_user",
]
