"""Reading a brand's contacts/leads CSV, in pure Python.

``decode_upload`` turns the uploaded bytes into text (or says why it cannot);
``parse_contacts`` turns the text into rows, row-numbered errors and warnings. Row
numbers are the ones a spreadsheet shows: the header is row 1, the first contact row 2.
A quoted cell may span lines; it is still one row.

Every free-text cell goes through ``injection_findings``. A row that reads as
instructions is *not* an error: it is imported with its flags, so no data is lost, and
the flags keep it out of agents' prompts.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

from governance.domain.untrusted import injection_findings

#: Data rows per file. Bigger lists go in several files: one import is one transaction.
MAX_ROWS = 50_000
#: Bytes per uploaded file (the upload view refuses bigger ones before reading them).
MAX_FILE_BYTES = 5 * 1024 * 1024
#: Errors listed one by one; past this a file is plainly the wrong file.
MAX_LISTED_ERRORS = 500

#: Longest value per column, in characters (the model's field sizes).
FIELD_LIMITS = {
    "email": 254,
    "name": 200,
    "company": 200,
    "job_title": 200,
    "country": 100,
    "source": 100,
    "notes": 2000,
    "suppression_reason": 200,
}
#: Columns whose text is free-form and may carry instructions.
TEXT_FIELDS = ("name", "company", "job_title", "country", "source", "notes", "suppression_reason")

# Header spellings people use -> our field. Headers are compared lower-cased with spaces
# and hyphens as underscores.
_COLUMNS = {
    "email": "email",
    "e_mail": "email",
    "email_address": "email",
    "name": "name",
    "full_name": "name",
    "company": "company",
    "organisation": "company",
    "organization": "company",
    "job_title": "job_title",
    "title": "job_title",
    "country": "country",
    "source": "source",
    "lead_source": "source",
    "notes": "notes",
    "note": "notes",
    "subscribed": "subscribed",
    "unsubscribed": "unsubscribed",
    "consent": "consent",
    "suppressed": "suppressed",
    "suppression_reason": "suppression_reason",
}

_YES = {"yes", "y", "true", "1", "x"}
_NO = {"no", "n", "false", "0"}
_CONSENT_YES = _YES | {"subscribed", "opted_in", "opt_in", "granted", "given"}
_CONSENT_NO = _NO | {"unsubscribed", "opted_out", "opt_out", "withdrawn", "revoked", "none"}

_email_is_valid = EmailValidator()


class UploadUnreadable(ValueError):
    """The upload is not CSV text; ``str(error)`` tells the person what to do."""


@dataclass(frozen=True)
class ContactRow:
    """One contact as the file states it. ``None`` (subscribed, suppressed) means the
    file does not say."""

    row_number: int
    email: str
    name: str = ""
    company: str = ""
    job_title: str = ""
    country: str = ""
    source: str = ""
    notes: str = ""
    subscribed: bool | None = None
    suppressed: bool | None = None
    suppression_reason: str = ""
    flags: tuple[str, ...] = ()

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


@dataclass(frozen=True)
class RowProblem:
    """An error or warning; ``row`` is None when it concerns the whole file."""

    message: str
    row: int | None = None

    def __str__(self) -> str:
        return f"Row {self.row}: {self.message}" if self.row is not None else self.message


@dataclass(frozen=True)
class ParseResult:
    rows: tuple[ContactRow, ...]
    errors: tuple[RowProblem, ...]
    warnings: tuple[RowProblem, ...]
    columns: tuple[str, ...] = ()  # the fields the header named, in file order

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def flagged_rows(self) -> tuple[ContactRow, ...]:
        return tuple(r for r in self.rows if r.flagged)


def decode_upload(data: bytes) -> str:
    """UTF-8 text from an upload (a byte-order mark is dropped), or
    :class:`UploadUnreadable` for spreadsheets, binaries and other encodings."""
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise UploadUnreadable(
            "This is an Excel workbook, not a CSV file. In your spreadsheet choose "
            "File → Save as → CSV UTF-8, then upload that file."
        )
    if b"\x00" in data[:8192]:
        raise UploadUnreadable(
            "This file is binary (or UTF-16 text), not a CSV file. Save it as CSV UTF-8 "
            "and upload it again."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadUnreadable(
            f"This file is not UTF-8 text (unreadable byte at position {exc.start}). Save it "
            "as CSV UTF-8 and upload it again."
        ) from None


def row_findings(fields: dict[str, str]) -> list[str]:
    """Injection findings over a contact's free-text fields, each prefixed with where it
    was found ("notes: tells an agent to launch (“launch now”)")."""
    return [
        f"{field.replace('_', ' ')}: {finding}"
        for field in TEXT_FIELDS
        for finding in injection_findings(fields.get(field) or "")
    ]


def parse_contacts(text: str) -> ParseResult:
    """Rows, row-numbered errors and warnings for a contacts CSV (see the module doc)."""
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        return _failed("This file is binary, not CSV text. Save it as CSV UTF-8 and try again.")
    records = _Records(text, delimiter=_delimiter(text))
    try:
        header_number, header = next(
            ((n, cells) for n, cells in records if any(c.strip() for c in cells)), (0, [])
        )
    except csv.Error as exc:
        return _failed(f"The header row cannot be read as CSV ({exc}).", row=records.number)
    if not header:
        return _failed("The file is empty: it needs a header row naming the columns, then rows.")

    errors: list[RowProblem] = []
    warnings: list[RowProblem] = []
    fields: list[str | None] = []
    for cell in header:
        key = cell.strip().lower().replace(" ", "_").replace("-", "_")
        field = _COLUMNS.get(key)
        if field is not None and field in fields:
            errors.append(RowProblem(f"The column “{cell.strip()}” appears twice.", header_number))
        fields.append(field)
        if field is None and key:
            warnings.append(
                RowProblem(f"The column “{cell.strip()}” is not one we know; it is ignored.")
            )
    if "email" not in fields:
        if any("@" in cell for cell in header):
            message = (
                "The first row must be a header naming the columns (email, name, company…); "
                "it looks like a contact."
            )
        else:
            message = "The header row has no “email” column; every contact needs an email."
        return _failed(message, row=header_number)

    rows: list[ContactRow] = []
    seen: dict[str, int] = {}
    data_rows = 0
    try:
        for number, cells in records:
            if not any(cell.strip() for cell in cells):
                continue  # spreadsheets leave blank rows behind; they mean nothing
            data_rows += 1
            if data_rows > MAX_ROWS:
                errors.append(
                    RowProblem(
                        f"The file has more than {MAX_ROWS:,} contact rows; split it into "
                        "smaller files."
                    )
                )
                break
            row, problems = _row(number, cells, fields, seen)
            errors.extend(problems)
            if row is not None:
                rows.append(row)
    except csv.Error as exc:
        errors.append(RowProblem(f"This row cannot be read as CSV ({exc}).", records.number))

    if data_rows == 0 and not errors:
        errors.append(RowProblem("The file has a header row but no contacts."))
    if len(errors) > MAX_LISTED_ERRORS:
        hidden = len(errors) - MAX_LISTED_ERRORS
        errors = [*errors[:MAX_LISTED_ERRORS], RowProblem(f"…and {hidden:,} more errors.")]
    columns = tuple(f for f in dict.fromkeys(fields) if f is not None)
    return ParseResult(tuple(rows), tuple(errors), tuple(warnings), columns)


def _failed(message: str, *, row: int | None = None) -> ParseResult:
    return ParseResult((), (RowProblem(message, row),), ())


class _Records:
    """``(row number, cells)`` per CSV record; the row number counts records, not lines."""

    def __init__(self, text: str, *, delimiter: str):
        self._reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        self.number = 0

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        return self

    def __next__(self) -> tuple[int, list[str]]:
        self.number += 1
        return self.number, next(self._reader)


def _delimiter(text: str) -> str:
    """Commas, unless the header line plainly uses semicolons or tabs (spreadsheets in
    many European locales save "CSV" with semicolons)."""
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _row(
    number: int, cells: list[str], fields: list[str | None], seen: dict[str, int]
) -> tuple[ContactRow | None, list[RowProblem]]:
    problems: list[RowProblem] = []
    if len(cells) > len(fields) and any(c.strip() for c in cells[len(fields) :]):
        problems.append(
            RowProblem(
                f"it has {len(cells)} cells but the header names {len(fields)} columns "
                "(a comma inside a value needs quotes around the value).",
                number,
            )
        )
        return None, problems
    # Spreadsheets drop trailing empty cells: a short row just leaves those columns blank.
    values = {
        field: cell.strip() for field, cell in zip(fields, cells, strict=False) if field is not None
    }

    email = values.get("email", "").lower()
    if not email:
        problems.append(RowProblem("the email is missing.", number))
    elif len(email) > FIELD_LIMITS["email"]:
        problems.append(RowProblem("the email is longer than 254 characters.", number))
    elif not _valid_email(email):
        problems.append(RowProblem(f"“{email}” is not a valid email address.", number))
    elif email in seen:
        problems.append(RowProblem(f"{email} is already on row {seen[email]}.", number))
    else:
        seen[email] = number

    for field, limit in FIELD_LIMITS.items():
        if field != "email" and len(values.get(field, "")) > limit:
            label = field.replace("_", " ")
            problems.append(RowProblem(f"the {label} is longer than {limit:,} characters.", number))

    subscribed = _consent(values, number, problems)
    suppressed = _yes_no(values, "suppressed", number, problems)
    if problems:
        return None, problems
    text_values = {field: values.get(field, "") for field in TEXT_FIELDS}
    return (
        ContactRow(
            row_number=number,
            email=email,
            subscribed=subscribed,
            suppressed=suppressed,
            flags=tuple(row_findings(text_values)),
            **text_values,
        ),
        problems,
    )


def _valid_email(email: str) -> bool:
    try:
        _email_is_valid(email)
    except ValidationError:
        return False
    return True


def _consent(values: dict[str, str], number: int, problems: list[RowProblem]) -> bool | None:
    """What the row says about the person's subscription, from whichever of the
    subscribed / unsubscribed / consent columns it fills; they must agree."""
    answers: list[tuple[str, bool]] = []
    subscribed = _yes_no(values, "subscribed", number, problems)
    if subscribed is not None:
        answers.append(("subscribed", subscribed))
    unsubscribed = _yes_no(values, "unsubscribed", number, problems)
    if unsubscribed is not None:
        answers.append(("unsubscribed", not unsubscribed))
    consent = values.get("consent", "")
    if consent:
        key = consent.lower().replace(" ", "_").replace("-", "_")
        if key in _CONSENT_YES:
            answers.append(("consent", True))
        elif key in _CONSENT_NO:
            answers.append(("consent", False))
        else:
            problems.append(
                RowProblem(
                    f"“{consent}” is not a consent value (use subscribed or unsubscribed).",
                    number,
                )
            )
    if len({answer for _, answer in answers}) > 1:
        columns = " and ".join(column for column, _ in answers)
        problems.append(RowProblem(f"the {columns} columns contradict each other.", number))
        return None
    return answers[0][1] if answers else None


def _yes_no(
    values: dict[str, str], field: str, number: int, problems: list[RowProblem]
) -> bool | None:
    value = values.get(field, "")
    if not value:
        return None
    if value.lower() in _YES:
        return True
    if value.lower() in _NO:
        return False
    problems.append(RowProblem(f"“{value}” is not yes or no (column {field}).", number))
    return None
