"""Audit trail exports for auditors: CSV or JSON lines, filtered, streamed.

The pipeline, one step per function, so each can be tested (and reused by a view) alone::

    AuditFilter.from_params(params)          validate the request; bad input changes nothing
      → audit_events_for_export(filter)      read, scoped to what the user may see, by seq
      → ExportSummary.watch(events)          re-check every hash as the events go by
      → rows(events)                         flatten to stable columns
      → write_csv / write_jsonl(rows, out)   stream

Nothing holds the whole trail in memory: events are read ``EXPORT_CHUNK_SIZE`` at a time
through a server-side cursor, so a million-event export costs one chunk of memory. The
cursor is one query, so an export is a consistent snapshot even while events are appended.
docs/AUDIT.md describes the columns and how an auditor verifies a JSONL export alone.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any, TextIO

from django.db.models import QuerySet
from django.utils.dateparse import parse_date, parse_datetime

from . import policies
from .domain.audit import GENESIS_HASH, ChainBreak, event_hash
from .models import AuditEvent
from .subjects import brand_model, campaign_model

EXPORT_CHUNK_SIZE = 2000
APPROVAL_OBJECT_TYPE = "approvals.approvalrequest"

# The order of the CSV header. JSONL carries the same keys (sorted, per line).
# actor_user_id and actor_agent are part of what each hash covers, so they are exported:
# without them an auditor could not recompute the hashes from the file alone.
COLUMNS: tuple[str, ...] = (
    "seq",
    "occurred_at",
    "actor_label",
    "actor_type",
    "actor_user_id",
    "actor_agent",
    "action",
    "object_type",
    "object_id",
    "brand_id",
    "campaign_id",
    "policy_version",
    "rule",
    "outcome",
    "approval_id",
    "content_hash",
    "content_hash_before",
    "content_hash_after",
    "executed_content_hash",
    "data",
    "prev_hash",
    "hash",
)

Row = dict[str, str | int | None]


class ExportFilterInvalid(ValueError):
    """The export request is malformed; ``errors`` maps each parameter to its message."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__(" ".join(self.errors.values()))


# --- What to export --------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    """Which events to export. Empty fields do not filter.

    ``since`` is inclusive and ``until`` exclusive, so consecutive periods
    (``--since 2025-01-01 --until 2025-02-01``, then February) never overlap or miss one.
    """

    brand_id: int | None = None
    campaign_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    actor: str = ""
    actor_exact: bool = False
    action_prefix: str = ""

    def __post_init__(self) -> None:
        # Checked here, not only in from_params, so a filter built in code holds them too.
        errors: dict[str, str] = {}
        for name in ("since", "until"):
            moment = getattr(self, name)
            if moment is not None and moment.utcoffset() is None:
                errors[name] = f"“{name}” must carry a time zone."
        if not errors and self.since and self.until and self.until <= self.since:
            errors["until"] = (
                f"“until” ({self.until.isoformat()}) must be after "
                f"“since” ({self.since.isoformat()})."
            )
        if errors:
            raise ExportFilterInvalid(errors)

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, user: Any = None) -> AuditFilter:
        """Build a filter from request or command-line parameters (strings; absent or
        blank means "any"): ``brand`` (slug or id), ``campaign`` (id), ``since`` and
        ``until`` (ISO 8601 date or date-time; without an offset, UTC), ``actor`` (part
        of the actor label, case-insensitive, or the whole label with ``actor_exact``),
        ``action`` (prefix, e.g. ``approval.``).

        With ``user``, a brand or campaign they may not see is reported exactly like one
        that does not exist, so an export request never reveals that it exists.
        Raises :class:`ExportFilterInvalid` naming every bad parameter at once.
        """
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}

        brand = _text(params.get("brand"))
        if brand:
            values["brand_id"] = _brand_id(brand, user)
            if values["brand_id"] is None:
                errors["brand"] = f"There is no brand “{brand}” (give its slug or id)."

        campaign = _text(params.get("campaign"))
        if campaign:
            if not campaign.isdigit():
                errors["campaign"] = f"The campaign must be a numeric id, not “{campaign}”."
            elif not _campaign_exists(int(campaign), user):
                errors["campaign"] = f"There is no campaign with id {campaign}."
            else:
                values["campaign_id"] = int(campaign)

        for name in ("since", "until"):
            raw = _text(params.get(name))
            if raw:
                moment = _moment(raw)
                if moment is None:
                    errors[name] = (
                        f"“{name}” must be an ISO 8601 date or date-time "
                        f"(e.g. 2025-01-31 or 2025-01-31T09:00:00Z), not “{raw}”."
                    )
                else:
                    values[name] = moment

        try:
            actor_exact = _flag(params.get("actor_exact"))
        except ValueError:
            errors["actor_exact"] = "“actor_exact” must be true or false."
            actor_exact = False

        if errors:
            raise ExportFilterInvalid(errors)
        return cls(
            **values,
            actor=_text(params.get("actor")),
            actor_exact=actor_exact,
            action_prefix=_text(params.get("action")),
        )


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in {"", "0", "false", "no", "off"}:
        return False
    if text in {"1", "true", "yes", "on"}:
        return True
    raise ValueError(text)


def _moment(raw: str) -> datetime | None:
    """An aware datetime from an ISO 8601 date or date-time; a date means its midnight."""
    try:
        moment = parse_datetime(raw)
        if moment is None:
            day = parse_date(raw)
            moment = datetime.combine(day, time.min) if day else None
    except ValueError:  # well formed but impossible, e.g. 2025-02-30
        return None
    if moment is not None and moment.utcoffset() is None:
        # Exported times are UTC, so an offset-less bound means UTC too (not TIME_ZONE).
        moment = moment.replace(tzinfo=UTC)
    return moment


def _brand_id(slug_or_id: str, user: Any) -> int | None:
    brands = brand_model().objects.all() if user is None else policies.visible_brands(user)
    # The slug first: a slug may itself be all digits.
    found = brands.filter(slug=slug_or_id).values_list("pk", flat=True).first()
    if found is None and slug_or_id.isdigit():
        found = brands.filter(pk=int(slug_or_id)).values_list("pk", flat=True).first()
    return found


def _campaign_exists(campaign_id: int, user: Any) -> bool:
    campaigns = campaign_model().objects.filter(pk=campaign_id)
    if user is not None:
        campaigns = campaigns.filter(brand__in=policies.visible_brands(user))
    return campaigns.exists()


def audit_events_for_export(audit_filter: AuditFilter, *, user: Any = None) -> QuerySet[AuditEvent]:
    """The events ``audit_filter`` selects, by seq. With ``user``, only those of brands
    ``governance.policies`` lets them see; events of no brand (system-wide ones) belong
    to nobody's assignment, so only admins get them. Without ``user`` (the command line,
    run by an operator with shell access), everything."""
    events = AuditEvent.objects.all()
    if user is not None and not policies.is_admin(user):
        # TRICKY: brand_id IN (...) is never true for NULL, which is what drops the
        # brandless events here; an empty list matches nothing, as it should.
        events = events.filter(brand_id__in=policies.visible_brand_ids(user))
    if audit_filter.brand_id is not None:
        events = events.filter(brand_id=audit_filter.brand_id)
    if audit_filter.campaign_id is not None:
        events = events.filter(campaign_id=audit_filter.campaign_id)
    if audit_filter.since is not None:
        events = events.filter(occurred_at__gte=audit_filter.since)
    if audit_filter.until is not None:
        events = events.filter(occurred_at__lt=audit_filter.until)
    if audit_filter.actor:
        lookup = "actor_label" if audit_filter.actor_exact else "actor_label__icontains"
        events = events.filter(**{lookup: audit_filter.actor})
    if audit_filter.action_prefix:
        events = events.filter(action__startswith=audit_filter.action_prefix)
    return events.order_by("seq")


# --- Checking what is exported ---------------------------------------------------------


@dataclass
class ExportSummary:
    """Counts the exported events and re-checks each one's hash, and its link to the
    event before it when that one is exported too (a filtered export has gaps; what
    lies in a gap is not in the file, so only ``audit_verify`` can vouch for it)."""

    count: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    first_break: ChainBreak | None = None
    breaks: int = 0
    _last_hash: str = field(default="", repr=False)

    def watch(self, events: Iterable[AuditEvent]) -> Iterator[AuditEvent]:
        """Pass ``events`` through unchanged, checking each on the way."""
        for event in events:
            self._check(event)
            yield event

    def _check(self, event: AuditEvent) -> None:
        problem = ""
        if event_hash(event.prev_hash, event.hashed_content()) != event.hash:
            problem = "its content does not match its hash: it was altered"
        elif event.seq == 1 and event.prev_hash != GENESIS_HASH:
            problem = "the first event does not start from the genesis hash"
        elif self.last_seq == event.seq - 1 and event.prev_hash != self._last_hash:
            problem = "its link to the previous event does not match"
        if problem:
            self.breaks += 1
            self.first_break = self.first_break or ChainBreak(event.seq, problem)
        self.count += 1
        self.first_seq = event.seq if self.first_seq is None else self.first_seq
        self.last_seq, self._last_hash = event.seq, event.hash

    @property
    def verified(self) -> bool:
        return self.breaks == 0

    def line(self) -> str:
        if not self.count:
            return "exported 0 events (nothing matched the filter)"
        verdict = "yes"
        if self.first_break:
            verdict = (
                f"no ({self.breaks} bad; first at event #{self.first_break.seq}: "
                f"{self.first_break.problem})"
            )
        return (
            f"exported {self.count} events, seq {self.first_seq}..{self.last_seq}, "
            f"chain verified for the exported range: {verdict}"
        )


# --- Flattening and writing ------------------------------------------------------------


def rows(events: Iterable[AuditEvent]) -> Iterator[Row]:
    """One flat dict per event with exactly ``COLUMNS``; absent values are None.

    The hash-covered fields are exported exactly as hashed (``occurred_at`` is the
    UTC ISO 8601 string the hash covers), so the file alone proves each event.
    """
    for event in events:
        content = event.hashed_content()
        data = event.data if isinstance(event.data, dict) else {}
        edit = data.get("edit") if isinstance(data.get("edit"), dict) else {}
        approval_id = _scalar(data.get("approval_id"))
        if event.object_type == APPROVAL_OBJECT_TYPE and event.object_id.isdigit():
            approval_id = int(event.object_id)
        yield {
            "seq": event.seq,
            "occurred_at": content["occurred_at"],
            "actor_label": event.actor_label,
            "actor_type": actor_type(event.actor_agent),
            "actor_user_id": event.actor_user_id,
            "actor_agent": event.actor_agent,
            "action": event.action,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "brand_id": event.brand_id,
            "campaign_id": event.campaign_id,
            "policy_version": _scalar(data.get("policy_version")),
            "rule": _scalar(data.get("rule")),
            "outcome": _scalar(data.get("outcome")),
            "approval_id": approval_id,
            "content_hash": _scalar(data.get("content_hash")),
            "content_hash_before": _scalar(edit.get("content_hash_before")),
            "content_hash_after": _scalar(edit.get("content_hash_after")),
            "executed_content_hash": _scalar(data.get("executed_content_hash")),
            # Compact and key-sorted: one spelling per content, easy to diff across exports.
            "data": json.dumps(
                event.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False
            ),
            "prev_hash": event.prev_hash,
            "hash": event.hash,
        }


def actor_type(actor_agent: str) -> str:
    """user, agent or system — told apart the way ``governance.domain.audit.Actor`` builds
    them. A user deleted since keeps "user": the label still says who it was."""
    if actor_agent.startswith("system:"):
        return "system"
    return "agent" if actor_agent else "user"


def _scalar(value: Any) -> str | int | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return value if isinstance(value, str | int) else str(value)


# Cells a spreadsheet would read as a formula (OWASP "CSV injection"): tab and carriage
# return too, because some spreadsheets strip them and then see the = behind them.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _neutralise(value: str | int | None) -> str | int | None:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(rows: Iterable[Row], stream: TextIO) -> int:
    """Write a header and one line per row (RFC 4180, UTF-8); return the row count.

    Cells that would start a formula get a leading ``'``, since auditors open these
    files in spreadsheets — so a CSV is for reading; verify hashes from a JSONL export.
    """
    writer = csv.DictWriter(stream, fieldnames=COLUMNS)
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({column: _neutralise(row[column]) for column in COLUMNS})
        count += 1
    return count


def write_jsonl(rows: Iterable[Row], stream: TextIO) -> int:
    """Write one JSON object per line (sorted keys, ASCII); return the row count."""
    count = 0
    for row in rows:
        stream.write(jsonl_line(row))
        count += 1
    return count


def jsonl_line(row: Row) -> str:
    return json.dumps(row, sort_keys=True) + "\n"


WRITERS: dict[str, Callable[[Iterable[Row], TextIO], int]] = {
    "csv": write_csv,
    "jsonl": write_jsonl,
}


def export_events(
    audit_filter: AuditFilter,
    *,
    fmt: str,
    stream: TextIO,
    user: Any = None,
    chunk_size: int = EXPORT_CHUNK_SIZE,
) -> ExportSummary:
    """Stream the selected events to ``stream`` as ``fmt`` ("csv" or "jsonl"), checking
    each hash on the way; the summary says how many and whether they verified."""
    summary = ExportSummary()
    WRITERS[fmt](
        export_rows(audit_filter, user=user, chunk_size=chunk_size, summary=summary), stream
    )
    return summary


def export_rows(
    audit_filter: AuditFilter,
    *,
    user: Any = None,
    chunk_size: int = EXPORT_CHUNK_SIZE,
    summary: ExportSummary | None = None,
) -> Iterator[Row]:
    """The selected events as export rows, read a chunk at a time and each hash checked
    on the way (into ``summary``, if given): what every export of the trail writes."""
    summary = summary or ExportSummary()
    events = audit_events_for_export(audit_filter, user=user).iterator(chunk_size=chunk_size)
    return rows(summary.watch(events))
