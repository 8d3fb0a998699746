"""The audit export: filtered, scoped to what a person may see, streamed as CSV or JSON
lines, refusing bad input without writing anything, and verifiable by an auditor with
nothing but the snippet in docs/AUDIT.md."""

import csv
import io
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from approvals.domain.decisions import content_hash
from approvals.models import ApprovalRequest
from approvals.services import action_propose, approval_decide
from campaigns.services import campaign_transition_phase
from governance import exports
from governance.domain.audit import Actor
from governance.exports import (
    COLUMNS,
    AuditFilter,
    ExportFilterInvalid,
    audit_events_for_export,
    write_csv,
)
from governance.models import AuditChainHead, AuditEvent
from governance.services import audit_record, brand_assign
from tests.factories import UserFactory

DOC = Path(__file__).resolve().parents[2] / "docs" / "AUDIT.md"
PROPOSED = {"new_total": "15000", "reason": "Strong CPA"}
EDITED = {"new_total": "12000", "reason": "Strong CPA"}


@dataclass
class Trail:
    approval: ApprovalRequest


@pytest.fixture
def trail(campaign_a, campaign_b, manager, admin_user, brand_b):
    """Events of both brands, of a person, an agent and a system process, through the
    real services:

    1 campaign.phase_changed    manager   brand A, campaign A
    2 campaign.phase_changed    manager   brand B, campaign B
    3 brand.permissions_changed admin     brand B
    4 policy.decided            agent     brand A, campaign A  (change_budget → approval)
    5 approval.requested        agent     brand A, campaign A
    6 campaign.budget_changed   agent     brand A, campaign A  (the edited budget runs)
    7 approval.approved         manager   brand A, campaign A  (with the edit's hashes)
    8 audit.checked             system    no brand
    """
    as_manager = Actor.for_user(manager)
    campaign_transition_phase(campaign_id=campaign_a.pk, to_phase="execution", actor=as_manager)
    campaign_transition_phase(campaign_id=campaign_b.pk, to_phase="execution", actor=as_manager)
    brand_assign(
        brand=brand_b, assignee=UserFactory(username="auditor-b"), actor=Actor.for_user(admin_user)
    )
    approval = action_propose(
        campaign_id=campaign_a.pk,
        action="change_budget",
        payload=PROPOSED,
        actor=Actor.for_agent("performance"),
        summary="Raise the budget",
        amount=Decimal(5000),
    ).approval
    approval_decide(approval_id=approval.pk, user=manager, approve=True, edited_payload=EDITED)
    with transaction.atomic():
        audit_record(
            actor=Actor.system("nightly-audit"),
            action="audit.checked",
            target=AuditChainHead.objects.get(),
            data={"events": 7},
        )
    return Trail(approval=approval)


def export(**options):
    """Run the command; return (standard output, standard error)."""
    out, err = io.StringIO(), io.StringIO()
    call_command("audit_export", stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def jsonl(text):
    return [json.loads(line) for line in text.splitlines()]


def actions(rows):
    return [row["action"] for row in rows]


@pytest.mark.django_db
def test_jsonl_export_has_every_column_with_the_values_recorded(trail, manager, campaign_a):
    out, err = export(format="jsonl")
    rows = jsonl(out)

    assert actions(rows) == [
        "campaign.phase_changed",
        "campaign.phase_changed",
        "brand.permissions_changed",
        "policy.decided",
        "approval.requested",
        "campaign.budget_changed",
        "approval.approved",
        "audit.checked",
    ]
    assert all(set(row) == set(COLUMNS) for row in rows)
    assert err.strip() == "exported 8 events, seq 1..8, chain verified for the exported range: yes"

    for row, event in zip(rows, AuditEvent.objects.order_by("seq"), strict=True):
        assert (row["seq"], row["hash"], row["prev_hash"]) == (
            event.seq,
            event.hash,
            event.prev_hash,
        )
        assert row["occurred_at"] == event.occurred_at.isoformat()
        assert row["occurred_at"].endswith("+00:00")
        assert json.loads(row["data"]) == event.data
        assert (row["brand_id"], row["campaign_id"]) == (event.brand_id, event.campaign_id)

    moved, decided, requested, approved, system = (rows[i] for i in (0, 3, 4, 6, 7))
    assert (moved["actor_label"], moved["actor_type"], moved["actor_user_id"]) == (
        "manager",
        "user",
        manager.pk,
    )
    assert moved["campaign_id"] == campaign_a.pk and moved["policy_version"] is None
    assert (decided["actor_type"], decided["actor_agent"]) == ("agent", "performance")
    assert (decided["policy_version"], decided["outcome"]) == (0, "approval")
    assert decided["rule"].startswith("change_budget.")
    assert decided["content_hash"] == content_hash(PROPOSED)
    assert requested["approval_id"] == trail.approval.pk
    assert requested["rule"] == decided["rule"]
    assert approved["approval_id"] == trail.approval.pk
    assert (approved["content_hash_before"], approved["content_hash_after"]) == (
        content_hash(PROPOSED),
        content_hash(EDITED),
    )
    assert approved["executed_content_hash"] == content_hash(EDITED)
    assert (system["actor_type"], system["brand_id"], system["actor_user_id"]) == (
        "system",
        None,
        None,
    )


@pytest.mark.django_db
def test_csv_export_has_the_header_and_the_same_values(trail):
    out, err = export(format="csv")
    reader = csv.DictReader(io.StringIO(out))
    rows = list(reader)
    by_json = jsonl(export(format="jsonl")[0])

    assert tuple(reader.fieldnames) == COLUMNS
    assert len(rows) == 8 and "exported 8 events" in err
    for row, expected in zip(rows, by_json, strict=True):
        # CSV has no null: an absent value is an empty cell.
        assert row == {k: "" if v is None else str(v) for k, v in expected.items()}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"brand": "brand-b"}, [2, 3]),
        ({"campaign": "{campaign_a}"}, [1, 4, 5, 6, 7]),
        ({"actor": "MANAG"}, [1, 2, 7]),  # part of the label, any case
        ({"actor": "agent:perf"}, [4, 5, 6]),
        ({"actor": "manage", "actor_exact": True}, []),
        ({"actor": "admin", "actor_exact": True}, [3]),
        ({"action": "approval."}, [5, 7]),
        ({"action": "campaign.", "brand": "brand-a"}, [1, 6]),
        ({"campaign": "{campaign_b}", "action": "approval."}, []),
    ],
)
def test_filters_select_by_brand_campaign_actor_and_action(
    trail, campaign_a, campaign_b, options, expected
):
    ids = {"campaign_a": campaign_a.pk, "campaign_b": campaign_b.pk}
    options = {k: v.format(**ids) if isinstance(v, str) else v for k, v in options.items()}

    assert [row["seq"] for row in jsonl(export(format="jsonl", **options)[0])] == expected


@pytest.mark.django_db
def test_brand_filter_takes_the_id_as_well_as_the_slug(trail, brand_b):
    by_id = jsonl(export(format="jsonl", brand=str(brand_b.pk))[0])

    assert [row["seq"] for row in by_id] == [2, 3]


@pytest.mark.django_db
def test_time_filter_is_inclusive_from_since_and_exclusive_at_until(trail):
    events = list(AuditEvent.objects.order_by("seq"))
    boundary = events[3].occurred_at  # event #4

    since = jsonl(export(format="jsonl", since=boundary.isoformat())[0])
    until = jsonl(export(format="jsonl", until=boundary.isoformat())[0])

    assert [r["seq"] for r in since] == [e.seq for e in events if e.occurred_at >= boundary]
    assert [r["seq"] for r in until] == [e.seq for e in events if e.occurred_at < boundary]
    assert 4 in [r["seq"] for r in since] and 4 not in [r["seq"] for r in until]
    # A bare date is its midnight, in UTC.
    today = boundary.date().isoformat()
    assert len(jsonl(export(format="jsonl", since=today)[0])) == 8
    assert jsonl(export(format="jsonl", until=today)[0]) == []


@pytest.mark.django_db
def test_a_reviewer_of_brand_a_never_gets_another_brands_events(trail, legal_a, admin_user):
    seen = list(audit_events_for_export(AuditFilter(), user=legal_a).values_list("seq", "brand"))
    everything = audit_events_for_export(AuditFilter(), user=admin_user)

    assert [seq for seq, _ in seen] == [1, 4, 5, 6, 7]
    assert {brand for _, brand in seen} == {trail.approval.brand_id}
    # Admins see all, including the event of no brand; someone with no role sees nothing.
    assert list(everything.values_list("seq", flat=True)) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert not audit_events_for_export(AuditFilter(), user=UserFactory()).exists()
    # Asking for brand B by name or by filter gets them nothing, and says no more than
    # it would of a brand that does not exist.
    with pytest.raises(ExportFilterInvalid) as hidden:
        AuditFilter.from_params({"brand": "brand-b"}, user=legal_a)
    assert str(hidden.value) == "There is no brand “brand-b” (give its slug or id)."
    only_b = AuditFilter.from_params({"brand": "brand-b"})
    assert not audit_events_for_export(only_b, user=legal_a).exists()


@pytest.mark.django_db
def test_a_campaign_of_a_brand_they_cannot_see_is_unknown_to_them(trail, legal_a, campaign_b):
    with pytest.raises(ExportFilterInvalid, match=f"no campaign with id {campaign_b.pk}"):
        AuditFilter.from_params({"campaign": str(campaign_b.pk)}, user=legal_a)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"brand": "no-such-brand"}, "There is no brand “no-such-brand” (give its slug or id)."),
        ({"campaign": "twelve"}, "The campaign must be a numeric id, not “twelve”."),
        ({"campaign": "999999"}, "There is no campaign with id 999999."),
        (
            {"since": "last tuesday"},
            "“since” must be an ISO 8601 date or date-time "
            "(e.g. 2025-01-31 or 2025-01-31T09:00:00Z), not “last tuesday”.",
        ),
        ({"until": "2025-02-30"}, "“until” must be an ISO 8601 date or date-time"),
        (
            {"since": "2025-02-01", "until": "2025-01-01T00:00:00Z"},
            "“until” (2025-01-01T00:00:00+00:00) must be after "
            "“since” (2025-02-01T00:00:00+00:00).",
        ),
        (
            {"brand": "nope", "campaign": "x"},
            "There is no brand “nope” (give its slug or id). "
            "The campaign must be a numeric id, not “x”.",
        ),
    ],
)
def test_bad_filters_give_a_clear_message_and_write_nothing(trail, tmp_path, options, message):
    target = tmp_path / "audit.csv"
    events = AuditEvent.objects.count()

    with pytest.raises(CommandError) as stdout_error:
        export(format="jsonl", **options)
    with pytest.raises(CommandError) as file_error:
        export(format="csv", output=str(target), **options)

    assert message in str(stdout_error.value) and message in str(file_error.value)
    assert list(tmp_path.iterdir()) == []  # no file, and no partial one either
    assert AuditEvent.objects.count() == events


def test_a_filter_built_in_code_keeps_the_same_rules():
    with pytest.raises(ExportFilterInvalid, match="must carry a time zone"):
        AuditFilter(since=datetime(2025, 1, 1))  # naive, on purpose


@pytest.mark.django_db
def test_a_failure_part_way_leaves_no_file(trail, tmp_path, monkeypatch):
    def write_then_fail(rows, stream):
        stream.write(json.dumps(next(iter(rows))) + "\n")
        raise OSError("disk full")

    monkeypatch.setitem(exports.WRITERS, "jsonl", write_then_fail)
    with pytest.raises(OSError, match="disk full"):
        export(format="jsonl", output=str(tmp_path / "audit.jsonl"))

    assert list(tmp_path.iterdir()) == []


@pytest.mark.django_db
def test_output_file_holds_exactly_what_stdout_would(trail, tmp_path):
    target = tmp_path / "audit.csv"
    _, err = export(format="csv", output=str(target), brand="brand-a")

    assert target.read_bytes().decode() == export(format="csv", brand="brand-a")[0]
    assert "exported 5 events, seq 1..7, chain verified for the exported range: yes" in err
    assert [p.name for p in tmp_path.iterdir()] == ["audit.csv"]


def test_csv_cells_that_would_run_as_formulas_are_neutralised():
    dangerous = ["=1+1", "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1"]
    row = dict.fromkeys(COLUMNS)
    out = io.StringIO()
    for value in dangerous:
        row["actor_label"] = value
        write_csv([dict(row, object_id="a=b", seq=-1)], out)

    cells = [r for r in csv.DictReader(io.StringIO(out.getvalue())) if r["seq"] != "seq"]
    assert [r["actor_label"] for r in cells] == ["'" + value for value in dangerous]
    assert {r["object_id"] for r in cells} == {"a=b"}  # = inside a cell is harmless
    assert {r["seq"] for r in cells} == {"-1"}  # numbers are not formulas


@pytest.mark.django_db
def test_a_formula_in_a_recorded_value_reaches_the_csv_as_text(brand_a):
    sneaky = UserFactory(username='=HYPERLINK("http://evil.example","open")')
    brand_assign(brand=brand_a, assignee=UserFactory(), actor=Actor.for_user(sneaky))

    (row,) = csv.DictReader(io.StringIO(export(format="csv")[0]))
    (line,) = jsonl(export(format="jsonl")[0])

    assert row["actor_label"] == "'" + sneaky.username
    assert line["actor_label"] == sneaky.username  # JSONL stays exact, for verification


def doc_snippet() -> str:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(r"<!-- verify-snippet -->\s*```python\n(.*?)```", text, re.DOTALL)
    assert found, "docs/AUDIT.md lost its <!-- verify-snippet --> python block"
    return found.group(1)


@pytest.mark.django_db
def test_the_documented_snippet_verifies_an_export_and_catches_one_changed_character(
    trail, tmp_path
):
    exported = tmp_path / "audit.jsonl"
    export(format="jsonl", output=str(exported))
    snippet = tmp_path / "verify_audit_export.py"
    snippet.write_text(doc_snippet(), encoding="utf-8")
    namespace = {"__name__": "verify_audit_export"}
    exec(compile(doc_snippet(), str(snippet), "exec"), namespace)
    verify_export = namespace["verify_export"]

    assert verify_export(exported) == (8, 1, 8, [])
    run = subprocess.run(
        [sys.executable, snippet, exported], capture_output=True, text=True, check=False
    )
    assert (run.returncode, run.stdout) == (0, "chain valid: 8 events, seq 1..8\n")

    original = exported.read_text(encoding="utf-8")
    forged = original.replace('"actor_label": "manager"', '"actor_label": "managex"', 1)
    assert sum(a != b for a, b in zip(original, forged, strict=True)) == 1
    exported.write_text(forged, encoding="utf-8")

    count, _, _, problems = verify_export(exported)
    assert count == 8
    assert problems == ["line 1, event #1: content does not match its hash"]
    run = subprocess.run(
        [sys.executable, snippet, exported], capture_output=True, text=True, check=False
    )
    assert run.returncode == 1 and "chain INVALID: 1 problem(s) in 8 events" in run.stdout


@pytest.mark.django_db
def test_the_snippet_checks_links_and_order_of_a_filtered_export(trail, tmp_path):
    exported = tmp_path / "audit.jsonl"
    export(format="jsonl", output=str(exported), brand="brand-a")
    namespace = {"__name__": "verify_audit_export"}
    exec(doc_snippet(), namespace)
    lines = exported.read_text(encoding="utf-8").splitlines(keepends=True)

    # Gaps (events of other brands) are fine: seq 1, 4, 5, 6, 7.
    assert namespace["verify_export"](exported) == (5, 1, 7, [])
    exported.write_text("".join([lines[0], lines[2], lines[1], *lines[3:]]), encoding="utf-8")
    _, _, _, problems = namespace["verify_export"](exported)
    assert "line 3, event #4: out of order after #5" in problems


@pytest.mark.django_db(transaction=True)
def test_an_export_of_a_tampered_trail_says_so_keeps_the_file_and_fails(
    campaign_a, manager, tmp_path
):
    actor = Actor.for_user(manager)
    campaign_transition_phase(campaign_id=campaign_a.pk, to_phase="execution", actor=actor)
    campaign_transition_phase(campaign_id=campaign_a.pk, to_phase="monitoring", actor=actor)
    # Someone with database superpowers: disable the trigger, forge, re-enable.
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE approvals_auditevent DISABLE TRIGGER USER")
        cursor.execute(
            'UPDATE approvals_auditevent SET data = \'{"from": "briefing", "to": "completed"}\''
            " WHERE seq = 1"
        )
        cursor.execute("ALTER TABLE approvals_auditevent ENABLE TRIGGER USER")
    target = tmp_path / "audit.jsonl"
    err = io.StringIO()

    with pytest.raises(CommandError, match="do not verify"):
        call_command(
            "audit_export", format="jsonl", output=str(target), stdout=io.StringIO(), stderr=err
        )

    assert err.getvalue().strip() == (
        "exported 2 events, seq 1..2, chain verified for the exported range: no "
        "(1 bad; first at event #1: its content does not match its hash: it was altered)"
    )
    assert len(target.read_text(encoding="utf-8").splitlines()) == 2
