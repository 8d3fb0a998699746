"""Telemetry CSV uploads with a preview: a file is checked and kept (pending) first, and
ingested only when its uploader confirms what the preview showed.

The life of an upload::

    upload ─read_csv + campaign check─▶ any error: refused, row-numbered, nothing kept
           ─telemetry_import_stage────▶ TelemetryImport (pending, the text) + preview
    confirm ─telemetry_import_confirm─▶ the stored text parsed again and ingested
                                        (telemetry_ingest), the row marked imported

Only the uploader may confirm, once, within :data:`PENDING_IMPORT_TTL`; a new upload
replaces their earlier pending one. Both steps are audited.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns.models import Brand, Campaign
from governance import policies
from governance.domain.audit import Actor
from governance.domain.errors import DomainError, NotPermitted
from governance.services import audit_record

from ..domain.telemetry import ParseResult, RowError, TelemetryRow, read_csv
from ..models import TelemetryEvent, TelemetryImport, TelemetryImportStatus, TelemetrySource
from .telemetry import IngestResult, TelemetryInvalid, telemetry_ingest

#: How long an uploaded file waits for its uploader to confirm the preview.
PENDING_IMPORT_TTL = timedelta(hours=24)
#: Rows shown on the preview page.
PREVIEW_ROWS = 20
_LOOKUP_CHUNK = 5_000  # event ids per query (PostgreSQL takes at most 65,535 parameters)


@dataclass(frozen=True)
class LineTotals:
    """What a file reports for one campaign and channel."""

    campaign_id: int
    campaign_name: str
    channel: str
    events: int
    impressions: int
    conversions: int
    spend: Decimal


@dataclass(frozen=True)
class TelemetryPreview:
    filename: str
    rows: int  # distinct events in the file
    repeated_in_file: int  # the same event id again within the file (skipped)
    already_stored: int  # event ids this brand has stored already (skipped)
    totals: list[LineTotals]
    first_rows: list[TelemetryRow]

    @property
    def new(self) -> int:
        return self.rows - self.already_stored

    @property
    def more_rows(self) -> int:
        return max(self.rows - len(self.first_rows), 0)


def line_totals(rows: Iterable[TelemetryRow], names: dict[int, str]) -> list[LineTotals]:
    """Per campaign and channel: events, impressions, conversions and spend (pure)."""
    sums: dict[tuple[int, str], list[Any]] = {}
    for row in rows:
        acc = sums.setdefault((row.campaign_id, row.channel), [0, 0, 0, Decimal("0")])
        acc[0] += 1
        acc[1] += row.impressions
        acc[2] += row.conversions
        acc[3] += row.spend
    return [
        LineTotals(campaign_id, names.get(campaign_id, ""), channel, *acc)
        for (campaign_id, channel), acc in sorted(sums.items())
    ]


def telemetry_import_stage(
    *, brand: Brand, uploaded_by: Any, filename: str, text: str, now: datetime | None = None
) -> tuple[TelemetryImport, TelemetryPreview]:
    """Check an uploaded file and keep it until its uploader confirms the preview.

    TRICKY: the text waits in a pending row rather than in a form field: 50,000 rows are
    several MB (Django refuses POST fields over 2.5 MB), and what is confirmed must be
    exactly what was previewed, not whatever the browser sends back.

    Raises :class:`TelemetryInvalid` (row-numbered; nothing is kept and the uploader's
    earlier pending file stays as it was), :class:`NotPermitted`, or
    :class:`DomainError` (two uploads of one person at the same moment).
    """
    _check_may_upload(uploaded_by, brand)
    parsed, names = _checked(brand.pk, text, now or timezone.now())
    try:
        with transaction.atomic():
            record, preview = _stage(brand, uploaded_by, filename, text, parsed, names)
    except IntegrityError as exc:  # one_pending_telemetry_import
        raise DomainError(
            "Another upload of yours was being checked at the same moment; upload the file again."
        ) from exc
    return record, preview


def _stage(
    brand: Brand,
    uploaded_by: Any,
    filename: str,
    text: str,
    parsed: ParseResult,
    names: dict[int, str],
) -> tuple[TelemetryImport, TelemetryPreview]:
    """Replace the uploader's pending file with this one (inside the caller's
    transaction) and build its preview."""
    TelemetryImport.objects.filter(
        uploaded_by=uploaded_by, status=TelemetryImportStatus.PENDING
    ).delete()
    record = TelemetryImport.objects.create(
        brand=brand,
        uploaded_by=uploaded_by,
        filename=_clean_filename(filename),
        text=text,
        rows=len(parsed.rows),
        status=TelemetryImportStatus.PENDING,
    )
    preview = TelemetryPreview(
        filename=record.filename,
        rows=len(parsed.rows),
        repeated_in_file=parsed.duplicates_in_batch,
        already_stored=_already_stored(brand.pk, [row.event_id for row in parsed.rows]),
        totals=line_totals(parsed.rows, names),
        first_rows=parsed.rows[:PREVIEW_ROWS],
    )
    audit_record(
        actor=Actor.for_user(uploaded_by),
        action="telemetry.import_previewed",
        target=record,
        brand_id=brand.pk,
        data={
            "filename": record.filename,
            "rows": preview.rows,
            "already_stored": preview.already_stored,
            "repeated_in_file": preview.repeated_in_file,
            "campaigns": sorted(names),
        },
    )
    return record, preview


def telemetry_import_confirm(
    *, import_id: int, user: Any, now: datetime | None = None
) -> tuple[TelemetryImport, IngestResult]:
    """Ingest a staged file exactly as previewed (its stored text is parsed again). Only
    its uploader may confirm it, once, within :data:`PENDING_IMPORT_TTL`. Raises
    :class:`NotPermitted`, :class:`DomainError` (gone, imported, expired) or
    :class:`TelemetryInvalid` (the file no longer passes, e.g. a campaign was deleted or
    a row aged past the limit); on any refusal nothing is stored and the file stays
    pending."""
    now = now or timezone.now()
    with transaction.atomic():
        record = (
            TelemetryImport.objects.select_for_update(of=("self",))
            .select_related("brand")
            .filter(pk=import_id)
            .first()
        )
        if record is None:
            raise DomainError(
                "This preview no longer exists (a newer upload replaced it); upload the file again."
            )
        if record.uploaded_by_id != user.pk:
            raise NotPermitted("Only the person who uploaded a file can confirm its import.")
        if record.status != TelemetryImportStatus.PENDING:
            raise DomainError("This file has already been imported.")
        if record.created_at < now - PENDING_IMPORT_TTL:
            raise DomainError("This preview has expired; upload the file again.")
        _check_may_upload(user, record.brand)
        parsed, _ = _checked(record.brand_id, record.text, now)
        result = telemetry_ingest(
            brand_id=record.brand_id, parsed=parsed, source=TelemetrySource.CSV, now=now
        )
        record.status = TelemetryImportStatus.IMPORTED
        record.imported_at = now
        record.text = ""  # uploaded data should not outlive its purpose
        record.stored, record.duplicates = result.stored, result.duplicates
        record.save(update_fields=["status", "imported_at", "text", "stored", "duplicates"])
        audit_record(
            actor=Actor.for_user(user),
            action="telemetry.imported",
            target=record,
            brand_id=record.brand_id,
            data={
                "filename": record.filename,
                "rows": record.rows,
                "stored": result.stored,
                "duplicates": result.duplicates,
                "flags": result.flags,
            },
        )
    return record, result


def telemetry_imports_purge_expired(*, now: datetime | None = None) -> int:
    """Delete previews nobody confirmed within :data:`PENDING_IMPORT_TTL` (they can no
    longer be imported, and their text is uploaded data); the preview's audit event
    stays. How many were deleted."""
    cutoff = (now or timezone.now()) - PENDING_IMPORT_TTL
    deleted, _ = TelemetryImport.objects.filter(
        status=TelemetryImportStatus.PENDING, created_at__lt=cutoff
    ).delete()
    return deleted


# --- Helpers -----------------------------------------------------------------------------


def _checked(brand_id: int, text: str, now: datetime) -> tuple[ParseResult, dict[int, str]]:
    """The parsed file and its campaigns' names, or :class:`TelemetryInvalid` with every
    problem by row — the same checks ``telemetry_ingest`` makes, done before anything is
    kept so the preview never offers a file the import would refuse."""
    parsed = read_csv(text, now=now)
    if parsed.errors:
        raise TelemetryInvalid(parsed.errors)
    names = dict(
        Campaign.objects.filter(
            brand_id=brand_id, pk__in={row.campaign_id for row in parsed.rows}
        ).values_list("pk", "name")
    )
    unknown = [
        RowError(row.row, "campaign_id", f"there is no campaign {row.campaign_id} for this brand")
        for row in parsed.rows
        if row.campaign_id not in names
    ]
    if unknown:
        raise TelemetryInvalid(unknown)
    return parsed, names


def _already_stored(brand_id: int, event_ids: Sequence[str]) -> int:
    return sum(
        TelemetryEvent.objects.filter(brand_id=brand_id, event_id__in=chunk).count()
        for chunk in _chunks(event_ids, _LOOKUP_CHUNK)
    )


def _check_may_upload(user: Any, brand: Brand) -> None:
    if not policies.can_upload_telemetry(user, brand):
        raise NotPermitted("You cannot upload telemetry for this brand.")


def _clean_filename(filename: str) -> str:
    # Browsers may send a path; only the name means anything to the people reading it.
    name = os.path.basename((filename or "").replace("\\", "/")).strip()
    return (name or "telemetry.csv")[:255]


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
