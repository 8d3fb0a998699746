"""Reading reported telemetry, in pure Python: one parser for the ingestion endpoint
(JSON events) and CSV uploads, so both accept exactly the same rows and say exactly the
same things about bad ones.

A batch is all or nothing: ``parse_rows`` returns every problem, each with its row
number, and the service stores nothing if there is any. Row numbers are what the sender
sees: the event's position in the posted list (1 = the first), or a spreadsheet's row
(the header is row 1, the first data row 2).

TRICKY: this runs on every ingested event (the target is 50,000 events per second per
process, checks included), so it is plain loops over dicts with no per-row objects
beyond the result tuple — pydantic or a form per row would cost ~20x.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from campaigns.domain.briefs import CHANNELS
from campaigns.domain.inputs import is_ascii_integer, is_ascii_number

#: Events per batch (one request or one file). Bigger feeds send several batches.
MAX_ROWS = 50_000
#: Problems listed one by one; past this the batch is plainly wrong throughout.
MAX_LISTED_ERRORS = 200
#: Reported times may run this far ahead of our clock (clock skew), no further.
FUTURE_SKEW = timedelta(minutes=5)
#: And no older than this: a late report of older delivery is a data fix, not telemetry.
MAX_AGE = timedelta(days=90)

COUNT_FIELDS = (
    "impressions",
    "clicks",
    "conversions",
    "reach",
    "leads",
    "qualified_leads",
    "link_checks",
    "link_failures",
    "complaints",  # complaints and unsubscribes (an experiment's guardrail)
)
REQUIRED = ("event_id", "campaign_id", "channel", "occurred_at")
FIELDS = frozenset((*REQUIRED, "variant", "spend", *COUNT_FIELDS))
_EVENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}")
_VARIANT = re.compile(r"[A-Za-z0-9 ._:#/-]{0,64}")
_MAX_COUNT = 2**31 - 1
_MAX_SPEND = Decimal("9999999999.99")
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class TelemetryRow:
    """One valid event. ``spend`` is exact (Decimal): it becomes money in the database."""

    row: int
    event_id: str
    campaign_id: int
    channel: str
    variant: str
    occurred_at: datetime
    impressions: int = 0
    clicks: int = 0
    conversions: int = 0
    spend: Decimal = Decimal("0")
    reach: int = 0
    leads: int = 0
    qualified_leads: int = 0
    link_checks: int = 0
    link_failures: int = 0
    complaints: int = 0


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row else "the batch"
        if self.field:
            return f"{where}, {self.field}: {self.message}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class ParseResult:
    rows: list[TelemetryRow]
    errors: list[RowError]
    duplicates_in_batch: int = 0  # the same event id again within this batch


def parse_rows(
    items: Sequence[Any], *, now: datetime, first_row: int = 1, strings: bool = False
) -> ParseResult:
    """Validate a batch of events (mappings). ``strings``: values are text (CSV cells),
    so empty cells mean "not reported" and numbers are parsed from text."""
    if not isinstance(items, Sequence) or isinstance(items, str | bytes):
        return ParseResult([], [RowError(0, "", "expected a list of events")])
    if not items:
        return ParseResult([], [RowError(0, "", "the batch has no events")])
    if len(items) > MAX_ROWS:
        return ParseResult(
            [], [RowError(0, "", f"{len(items):,} events; at most {MAX_ROWS:,} per batch")]
        )
    rows: list[TelemetryRow] = []
    errors: list[RowError] = []
    seen: set[str] = set()
    duplicates = 0
    earliest, latest = now - MAX_AGE, now + FUTURE_SKEW
    for offset, item in enumerate(items):
        number = first_row + offset
        if len(errors) >= MAX_LISTED_ERRORS:
            errors.append(RowError(0, "", "too many errors; the rest were not checked"))
            break
        if not isinstance(item, Mapping):
            errors.append(RowError(number, "", "an event must be an object of fields"))
            continue
        problems: list[RowError] = []
        row = _parse_one(item, number, problems, strings, earliest, latest)
        if problems:
            errors.extend(problems)
            continue
        assert row is not None
        if row.event_id in seen:
            duplicates += 1
            continue
        seen.add(row.event_id)
        rows.append(row)
    return ParseResult(rows if not errors else [], errors, duplicates)


def _parse_one(
    item: Mapping[str, Any],
    number: int,
    problems: list[RowError],
    strings: bool,
    earliest: datetime,
    latest: datetime,
) -> TelemetryRow | None:
    def bad(field: str, message: str) -> None:
        problems.append(RowError(number, field, message))

    unknown = [key for key in item if key not in FIELDS]
    if unknown:
        bad(", ".join(sorted(map(str, unknown))[:5]), "unknown field; see the documented fields")
    for field in REQUIRED:
        value = item.get(field)
        if value is None or (type(value) is str and not value.strip()):
            bad(field, "required")
    if problems:
        return None

    event_id = str(item["event_id"]).strip()
    if not _EVENT_ID.fullmatch(event_id):
        bad("event_id", "1 to 100 letters, digits or . _ : / - (starting with a letter or digit)")
    campaign_id = _integer(item["campaign_id"], strings)
    if campaign_id is None or campaign_id <= 0:
        bad("campaign_id", "must be a campaign's id (a positive whole number)")
    channel = str(item["channel"]).strip()
    if channel not in CHANNELS:
        bad("channel", f"unknown channel “{channel[:40]}”; one of {', '.join(CHANNELS)}")
    variant = "" if _blank(item.get("variant")) else str(item["variant"]).strip()
    if not _VARIANT.fullmatch(variant):
        bad("variant", "at most 64 letters, digits, spaces or . _ : # / -")
    occurred_at = _timestamp(item["occurred_at"])
    if occurred_at is None:
        bad("occurred_at", "an ISO 8601 time with its zone, e.g. 2026-12-01T14:00:00Z")
    elif occurred_at > latest:
        bad("occurred_at", "is in the future")
    elif occurred_at < earliest:
        bad("occurred_at", f"is more than {MAX_AGE.days} days old")

    counts: dict[str, int] = {}
    for field in COUNT_FIELDS:
        value = item.get(field)
        # The common case first (a JSON number): type() is exact, so True is not an int.
        if type(value) is int and 0 <= value <= _MAX_COUNT:
            counts[field] = value
            continue
        if _blank(value):
            counts[field] = 0
            continue
        number_value = _integer(value, strings)
        if number_value is None or not 0 <= number_value <= _MAX_COUNT:
            bad(field, "must be a whole number, 0 or more")
        else:
            counts[field] = number_value
    spend = Decimal("0")
    if not _blank(item.get("spend")):
        parsed = _money(item["spend"])
        if parsed is None:
            bad("spend", "must be an amount, 0 or more, with at most 2 decimals")
        else:
            spend = parsed
    if problems:
        return None
    if counts["qualified_leads"] > counts["leads"]:
        bad("qualified_leads", "cannot exceed leads")
    if counts["link_failures"] > counts["link_checks"]:
        bad("link_failures", "cannot exceed link_checks")
    if counts["reach"] > counts["impressions"]:
        bad("reach", "people reached cannot exceed impressions")
    if problems:
        return None
    assert campaign_id is not None and occurred_at is not None
    return TelemetryRow(
        row=number,
        event_id=event_id,
        campaign_id=campaign_id,
        channel=channel,
        variant=variant,
        occurred_at=occurred_at,
        spend=spend,
        **counts,
    )


def read_csv(text: str, *, now: datetime) -> ParseResult:
    """A telemetry CSV (a header row with the field names, then one event per row) as a
    batch; row numbers are the spreadsheet's."""
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        return ParseResult([], [RowError(1, "", "the file has no header row")])
    header = [(name or "").strip() for name in reader.fieldnames]
    missing = [f for f in REQUIRED if f not in header]
    unknown = [f for f in header if f and f not in FIELDS]
    problems = []
    if missing:
        problems.append(RowError(1, ", ".join(missing), "missing column"))
    if unknown:
        problems.append(RowError(1, ", ".join(unknown[:5]), "unknown column"))
    if problems:
        return ParseResult([], problems)
    reader.fieldnames = header
    items: list[dict[str, Any]] = []
    for record in reader:
        if None in record:
            items.append({"__extra__": record[None]})  # more cells than headers
            continue
        items.append({k: v for k, v in record.items() if k})
    rows = parse_rows(items, now=now, first_row=2, strings=True)
    errors = [
        RowError(e.row, "", "more cells than the header has columns")
        if e.field == "__extra__"
        else e
        for e in rows.errors
    ]
    return ParseResult(rows.rows, errors, rows.duplicates_in_batch)


def csv_header() -> str:
    """The columns a telemetry CSV may have, in the documented order."""
    return ",".join(
        ("event_id", "campaign_id", "channel", "variant", "occurred_at", "spend", *COUNT_FIELDS)
    )


# --- Cells -------------------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _integer(value: Any, strings: bool) -> int | None:
    if isinstance(value, bool):
        return None  # JSON true is not a count
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str) and (strings or is_ascii_integer(value.strip())):
        text = value.strip()
        # ASCII only: "٣" is a digit to Python, not to the person reading the export.
        return int(text) if is_ascii_integer(text) and not text.startswith("-") else None
    return None


def _money(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and not is_ascii_number(value.strip()):
        return None  # "٣٠٠", "1_000", "1e3": not a figure as people write one
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0 or amount > _MAX_SPEND:
        return None
    if amount != amount.quantize(_CENT):
        return None
    return amount.quantize(_CENT)


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None  # a time without its zone is ambiguous; refuse rather than guess
    return parsed.astimezone(UTC)


def unique_campaign_ids(rows: Iterable[TelemetryRow]) -> set[int]:
    return {row.campaign_id for row in rows}
