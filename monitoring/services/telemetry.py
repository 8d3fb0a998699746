"""Ingesting telemetry: validate a batch, store its new events once, roll them up into
hourly samples and run the checks on what the batch closed — in one transaction.

The life of a batch (``telemetry_ingest``)::

    rows ─parse (pure, row-numbered errors)─▶ any error: refused, nothing written
         ─campaign check (one query)──────────▶ unknown campaign: refused, nothing written
         ─INSERT … ON CONFLICT DO NOTHING─────▶ only events never seen (by event id) go on
         ─roll up into PerformanceSample (one upsert, adding to each hour's counts)
         ─detectors (monitoring.services.detection) on the hours this batch closed and
          on link checks at once ─▶ flags, responses, escalations, notifications
    commit ─▶ tower rows pushed, deliveries sent

TRICKY: the target is 50,000 events per second per process, checks included. The ORM
costs ~40 µs per object to build and save, so on PostgreSQL the events and roll-ups
are written with one ``INSERT … SELECT FROM unnest(…)`` each (column arrays, a few µs
per row); SQLite (the zero-setup default) takes the portable per-row path.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from campaigns.models import Campaign, PerformanceSample
from governance import events
from governance.domain.errors import DomainError

from ..domain.telemetry import COUNT_FIELDS, ParseResult, RowError, TelemetryRow, parse_rows
from ..models import TelemetryEvent, TelemetrySource
from . import sql

HOUR = timedelta(hours=1)


class TelemetryInvalid(DomainError):
    """The batch has errors; nothing was stored. ``errors`` lists them with row numbers."""

    def __init__(self, errors: Sequence[RowError]):
        self.errors = list(errors)
        shown = "; ".join(str(e) for e in self.errors[:5])
        more = f" (and {len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        super().__init__(f"Nothing was stored: {shown}{more}")


@dataclass(frozen=True)
class IngestResult:
    received: int  # events in the batch
    stored: int  # new events stored
    duplicates: int  # already stored (or repeated in the batch): ignored
    flags: list[int] = field(default_factory=list)  # flags raised or changed


def telemetry_ingest(
    *,
    brand_id: int,
    items: Sequence[Any] | None = None,
    parsed: ParseResult | None = None,
    source: str = TelemetrySource.API,
    now: datetime | None = None,
) -> IngestResult:
    """Store one batch of reported delivery for a brand and check it. All or nothing:
    :class:`TelemetryInvalid` (with row numbers) and nothing written if any row is bad.
    Idempotent by event id: a batch sent twice stores nothing the second time."""
    from .detection import detect_on_batch

    now = now or timezone.now()
    if parsed is None:
        parsed = parse_rows(items if items is not None else [], now=now)
    if parsed.errors:
        raise TelemetryInvalid(parsed.errors)
    rows = parsed.rows
    known = set(
        Campaign.objects.filter(
            brand_id=brand_id, pk__in={row.campaign_id for row in rows}
        ).values_list("pk", flat=True)
    )
    unknown = [
        RowError(row.row, "campaign_id", f"there is no campaign {row.campaign_id} for this brand")
        for row in rows
        if row.campaign_id not in known
    ]
    if unknown:
        raise TelemetryInvalid(unknown)
    with transaction.atomic():
        new = _store_events(brand_id, rows, source, now)
        flags: list[int] = []
        if new:
            _roll_up(new)
            _mark_delivery_started(new)
            flags = detect_on_batch(rows=new, now=now)
    return IngestResult(
        received=len(rows) + parsed.duplicates_in_batch,
        stored=len(new),
        duplicates=len(rows) - len(new) + parsed.duplicates_in_batch,
        flags=flags,
    )


def bucket_start(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


# --- Storage -----------------------------------------------------------------------------

_EVENT_COLUMNS = (
    "event_id",
    "campaign_id",
    "channel",
    "variant",
    "occurred_at",
    *COUNT_FIELDS,
    "spend",
)


def _store_events(
    brand_id: int, rows: list[TelemetryRow], source: str, now: datetime
) -> list[TelemetryRow]:
    """Insert the rows whose event id this brand has not stored yet; those rows."""
    if sql.postgresql():
        return _store_events_postgresql(brand_id, rows, source, now)
    return _store_events_portable(brand_id, rows, source, now)


def _store_events_postgresql(
    brand_id: int, rows: list[TelemetryRow], source: str, now: datetime
) -> list[TelemetryRow]:
    """COPY the batch into a session's staging table, then move the rows whose event id
    is new: COPY costs ~30 % less than one INSERT of column arrays (measured)."""
    table = TelemetryEvent._meta.db_table
    columns = ", ".join(_EVENT_COLUMNS)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor: COPY is not in the DB-API
        raw.execute(
            "CREATE TEMP TABLE IF NOT EXISTS telemetry_incoming (event_id text, "
            "campaign_id bigint, channel text, variant text, occurred_at timestamptz, "
            + ", ".join(f"{name} bigint" for name in COUNT_FIELDS)
            + ", spend numeric) ON COMMIT DELETE ROWS"
        )
        with raw.copy(f"COPY telemetry_incoming ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([getattr(row, column) for column in _EVENT_COLUMNS])
        raw.execute(
            f"INSERT INTO {table} (brand_id, source, received_at, {columns}) "
            f"SELECT %s, %s, %s, {columns} FROM telemetry_incoming "
            "ON CONFLICT (brand_id, event_id) DO NOTHING RETURNING event_id",
            [brand_id, source, now],
        )
        stored = {event_id for (event_id,) in raw.fetchall()}
        raw.execute("TRUNCATE telemetry_incoming")
    return [row for row in rows if row.event_id in stored]


def _store_events_portable(
    brand_id: int, rows: list[TelemetryRow], source: str, now: datetime
) -> list[TelemetryRow]:
    seen: set[str] = set()
    ids = [row.event_id for row in rows]
    for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit
        seen.update(
            TelemetryEvent.objects.filter(
                brand_id=brand_id, event_id__in=ids[start : start + 500]
            ).values_list("event_id", flat=True)
        )
    new = [row for row in rows if row.event_id not in seen]
    TelemetryEvent.objects.bulk_create(
        [
            TelemetryEvent(
                brand_id=brand_id,
                source=source,
                received_at=now,
                **{column: getattr(row, column) for column in _EVENT_COLUMNS},
            )
            for row in new
        ],
        batch_size=500,
    )
    return new


def _mark_delivery_started(rows: list[TelemetryRow]) -> None:
    """The first delivery a campaign reports starts its spend plan and the pacing
    warm-up (``campaigns.domain.budget``): record when, once. Never before the launch:
    history imported from before it does not move the plan's start."""
    first: dict[int, datetime] = {}
    for row in rows:
        if row.impressions > 0 or row.spend > 0:
            at = first.get(row.campaign_id)
            first[row.campaign_id] = row.occurred_at if at is None else min(at, row.occurred_at)
    if not first:
        return
    waiting = Campaign.objects.filter(pk__in=first, delivery_started_at__isnull=True)
    for campaign_id, launched_at in waiting.values_list("pk", "launched_at"):
        started = (
            first[campaign_id] if launched_at is None else max(first[campaign_id], launched_at)
        )
        Campaign.objects.filter(pk=campaign_id, delivery_started_at__isnull=True).update(
            delivery_started_at=started
        )
        events.announce_on_commit(events.campaign_changed, campaign_id=campaign_id)


# --- Roll-up -----------------------------------------------------------------------------

_SUM_FIELDS = (*COUNT_FIELDS, "spend")


def _roll_up(rows: list[TelemetryRow]) -> None:
    """Add the rows to their hour's sample (per campaign, channel and variant)."""
    totals: dict[tuple[int, str, str, datetime], list[Any]] = defaultdict(
        lambda: [0] * len(COUNT_FIELDS) + [Decimal("0")]
    )
    for row in rows:
        sums = totals[(row.campaign_id, row.channel, row.variant, bucket_start(row.occurred_at))]
        for i, name in enumerate(_SUM_FIELDS):
            sums[i] += getattr(row, name)
    table = PerformanceSample._meta.db_table
    keys = ("campaign_id", "channel", "variant", "bucket_start")
    columns = ", ".join((*keys, *_SUM_FIELDS))
    add = ", ".join(f"{name} = {table}.{name} + EXCLUDED.{name}" for name in _SUM_FIELDS)
    conflict = f"ON CONFLICT (campaign_id, channel, variant, bucket_start) DO UPDATE SET {add}"
    with connection.cursor() as cursor:
        if sql.postgresql():
            raw = cursor.cursor  # psycopg's own cursor, for COPY (see _store_events_postgresql)
            raw.execute(
                "CREATE TEMP TABLE IF NOT EXISTS samples_incoming (campaign_id bigint, "
                "channel text, variant text, bucket_start timestamptz, "
                + ", ".join(f"{name} bigint" for name in COUNT_FIELDS)
                + ", spend numeric) ON COMMIT DELETE ROWS"
            )
            with raw.copy(f"COPY samples_incoming ({columns}) FROM STDIN") as copy:
                for key, sums in totals.items():
                    copy.write_row((*key, *sums))
            raw.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM samples_incoming {conflict}"
            )
            raw.execute("TRUNCATE samples_incoming")
        else:
            # Values as the ORM would store them (SQLite keeps datetimes and decimals as
            # text, so they must match what the ORM wrote for the conflict to be seen).
            ops = connection.ops
            marks = ", ".join(["%s"] * (len(keys) + len(_SUM_FIELDS)))
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({marks}) {conflict}",
                [
                    (
                        key[0],
                        key[1],
                        key[2],
                        ops.adapt_datetimefield_value(key[3]),
                        *sums[:-1],
                        ops.adapt_decimalfield_value(sums[-1], 12, 2),
                    )
                    for key, sums in totals.items()
                ],
            )
