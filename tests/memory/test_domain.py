"""Brand-memory and claims rules, without a database."""

from datetime import date, timedelta

import pytest

from memory.domain.claims import (
    ClaimSpec,
    ExpiryState,
    claim_is_approved_on,
    clean_jurisdictions,
    clean_lines,
    expiry_notice_due,
    expiry_state,
    validate_claim,
    validate_review_note,
    wordings_clash,
)
from memory.domain.entries import (
    ChangeInvalid,
    EntrySpec,
    clean_evidence,
    clean_text,
    entry_ref,
    evidence_summary,
    parse_entry_ref,
    parse_memory_change,
    same_fact,
    validate_change_note,
    validate_entry,
)

TODAY = date(2025, 3, 10)


def entry(kind="voice_rule", text="Warm and plain-spoken.", **evidence):
    return validate_entry(EntrySpec(kind, clean_text(text), clean_evidence(evidence)))


class TestEntries:
    def test_a_plain_fact_is_valid(self):
        assert entry() == {}
        assert entry("segment", "Home brewers\nwho buy monthly") == {}

    def test_unknown_kind_and_bad_lengths_are_named(self):
        assert entry(kind="gossip")["kind"][0].startswith("Unknown kind “gossip”")
        assert entry(text=" a ")["text"] == ["Write the fact out: at least 3 characters."]
        assert entry(text="x" * 1001)["text"] == ["Keep it to 1000 characters (this has 1001)."]

    def test_matched_kinds_are_one_short_line(self):
        assert entry("prohibited_phrase", "x" * 201)["text"] == [
            "Keep it to 200 characters (this has 201)."
        ]
        assert entry("prohibited_claim", "cures\ncolds")["text"] == [
            "A prohibited claim is one line: drafts are matched against it."
        ]

    def test_a_working_angle_needs_evidence(self):
        assert entry("working_angle", "Lead with freshness")["evidence"] == [
            "Say why it works: a lift with its sample size, a link, or a note on the evidence."
        ]
        assert entry("working_angle", "Lead with freshness", lift_pct=12.5, sample_size=400) == {}
        assert entry("working_angle", "Lead with freshness", note="Won the A/B test") == {}
        assert entry("working_angle", "Lead with freshness", link="https://x.test/r") == {}

    @pytest.mark.parametrize(
        ("evidence", "field", "message"),
        [
            ({"lift_pct": 12}, "sample_size", "A lift means little without its sample size"),
            ({"sample_size": 10}, "lift_pct", "A lift means little without its sample size"),
            ({"lift_pct": "12", "sample_size": 1}, "lift_pct", "The lift is a percentage"),
            ({"lift_pct": 5000, "sample_size": 1}, "lift_pct", "The lift is a percentage"),
            ({"lift_pct": float("nan"), "sample_size": 1}, "lift_pct", "The lift is a percentage"),
            ({"lift_pct": 1, "sample_size": 0}, "sample_size", "The sample size is a whole"),
            ({"lift_pct": 1, "sample_size": True}, "sample_size", "The sample size is a whole"),
            ({"campaign_id": "7"}, "campaign_id", "The campaign is given by its number"),
            ({"link": "javascript:alert(1)"}, "link", "The link must be a web address"),
            ({"link": "https://"}, "link", "The link must be a web address"),
            ({"note": "x" * 501}, "note", "The evidence note is text of at most 500"),
            ({"secret": 1}, "evidence", "Unknown evidence secret; use only"),
        ],
    )
    def test_evidence_shape(self, evidence, field, message):
        errors = validate_entry(
            EntrySpec("failure_mode", "Discounts erode repeat orders", evidence)
        )
        assert any(m.startswith(message) for m in errors[field]), errors

    def test_evidence_that_is_not_a_mapping_is_refused(self):
        errors = validate_entry(EntrySpec("failure_mode", "Discounts hurt", ["lift"]))  # type: ignore[arg-type]
        assert errors["evidence"][0].startswith("Evidence must be a set of named values")

    def test_cleaning_folds_spaces_and_drops_blank_evidence(self):
        assert clean_text("  Warm   and\tplain \n\n  kind ") == "Warm and plain\nkind"
        assert clean_evidence({"note": "  ", "link": None, "lift_pct": 0}) == {"lift_pct": 0}

    def test_evidence_reads_as_one_short_line(self):
        summary = evidence_summary(
            {"lift_pct": 12.5, "sample_size": 4800, "campaign_id": 3, "note": "subject test"}
        )
        assert summary == "+12.5% lift, n=4,800, campaign #3: subject test"
        assert evidence_summary({}) == ""
        assert len(evidence_summary({"note": "x" * 400})) == 160

    def test_change_notes(self):
        assert validate_change_note("", required=True) == [
            "Say what changed and why: a change note is required."
        ]
        assert validate_change_note("", required=False) == []
        assert validate_change_note("x" * 301, required=False) == [
            "Keep the change note to 300 characters."
        ]

    def test_refs_and_sameness(self):
        assert entry_ref(12) == "M12"
        assert parse_entry_ref(" M12 ") == 12
        assert parse_entry_ref("C12") is None and parse_entry_ref(12) is None
        assert same_fact("Never  snobbish.", "never snobbish")


class TestProposedChanges:
    def test_a_create_is_parsed_and_validated_in_full(self):
        change = parse_memory_change(
            {
                "operation": "create",
                "kind": "working_angle",
                "text": " Lead  with freshness ",
                "evidence": {"lift_pct": 18.4, "sample_size": 1200},
                "reason": "Won the subject-line test",
            }
        )
        assert (change.operation, change.kind, change.text) == (
            "create",
            "working_angle",
            "Lead with freshness",
        )
        assert change.evidence == {"lift_pct": 18.4, "sample_size": 1200}

    def test_a_revise_without_evidence_keeps_it(self):
        change = parse_memory_change(
            {"operation": "revise", "entry": "M4", "text": "New text", "reason": "Sharper"}
        )
        assert (change.entry_id, change.evidence) == (4, None)

    @pytest.mark.parametrize(
        ("payload", "message"),
        [
            ({"operation": "delete", "reason": "x"}, "Unknown memory operation “delete”"),
            ({"operation": "create", "kind": "voice_rule", "text": "Warm"}, "must say why"),
            ({"operation": "retire", "reason": "Out of date"}, "Name the entry"),
            ({"operation": "retire", "entry": "12", "reason": "Out of date"}, "Name the entry"),
            (
                {"operation": "retire", "entry": "M1", "reason": "Old", "based_on_version": 0},
                "“based_on_version”",
            ),
            ({"operation": "create", "kind": "gossip", "text": "abc", "reason": "why"}, "Unknown"),
            ({"operation": "create", "kind": "segment", "reason": "why"}, "needs its “text”"),
            (
                {
                    "operation": "revise",
                    "entry": "M1",
                    "text": "ok ok",
                    "evidence": [1],
                    "reason": "why",
                },
                "“evidence” must be",
            ),
            (
                {
                    "operation": "create",
                    "kind": "working_angle",
                    "text": "Lead with freshness",
                    "reason": "why",
                },
                "Say why it works",
            ),
        ],
    )
    def test_bad_payloads_say_what_is_wrong(self, payload, message):
        with pytest.raises(ChangeInvalid, match=message):
            parse_memory_change(payload)


def claim(**overrides):
    values = {
        "wording": "Roasted to order",
        "substantiation": "Roastery logs, 2024: 99 % within 2 days.",
        "expires_on": TODAY + timedelta(days=200),
        "jurisdictions": ["US", "CA"],
    }
    values.update(overrides)
    return validate_claim(ClaimSpec(**values), today=TODAY)


class TestClaims:
    def test_a_complete_claim_is_valid(self):
        assert claim() == {}
        assert claim(jurisdictions=["US-CA", "EU", "GB-SCT"], variants=["Fresh roasted"]) == {}

    @pytest.mark.parametrize(
        ("overrides", "field", "message"),
        [
            ({"wording": "ab"}, "wording", "Write the claim's wording"),
            ({"wording": "x" * 201}, "wording", "A claim is one line of at most 200"),
            ({"variants": ["Roasted to order."]}, "variants", "is the claim's own wording"),
            ({"variants": ["v" * 201]}, "variants", "Each variant is 3 to 200"),
            ({"variants": [f"Variant {i}" for i in range(11)]}, "variants", "At most 10"),
            ({"substantiation": "trust us"}, "substantiation", "Say what substantiates"),
            ({"evidence_url": "ftp://x.test"}, "evidence_url", "must start with http"),
            ({"disclaimers": ["d" * 301]}, "disclaimers", "at most 300"),
            ({"jurisdictions": []}, "jurisdictions", "Say where the claim may be used"),
            (
                {"jurisdictions": ["USA", "us", "U"]},
                "jurisdictions",
                "Not a country or region code: USA, us, U",
            ),
            ({"expires_on": None}, "expires_on", "Give the date the claim expires"),
            ({"expires_on": TODAY}, "expires_on", "must be after today"),
            ({"expires_on": TODAY + timedelta(days=6 * 365)}, "expires_on", "five years at most"),
        ],
    )
    def test_bad_claims_say_what_is_wrong(self, overrides, field, message):
        errors = claim(**overrides)
        assert any(message in m for m in errors.get(field, [])), errors

    def test_lists_are_cleaned(self):
        assert clean_lines(["  Fresh  roast ", "", "fresh roast.", "Other"]) == [
            "Fresh roast",
            "Other",
        ]
        assert clean_jurisdictions(["us", " ca ", "US"]) == ["US", "CA"]

    def test_an_approved_claim_counts_until_the_day_before_it_expires(self):
        expires = date(2025, 6, 30)
        assert claim_is_approved_on(status="approved", expires_on=expires, day=date(2025, 6, 29))
        assert not claim_is_approved_on(status="approved", expires_on=expires, day=expires)
        assert not claim_is_approved_on(status="approved", expires_on=expires, day=date(2025, 7, 1))
        for status in ("pending", "rejected", "retired"):
            assert not claim_is_approved_on(status=status, expires_on=expires, day=TODAY)

    def test_the_expiry_notice_is_due_in_the_window_once(self):
        expires = TODAY + timedelta(days=14)

        def due(today, status="approved", sent=False):
            return expiry_notice_due(
                status=status, expires_on=expires, notice_sent=sent, today=today, notice_days=14
            )

        assert not due(TODAY - timedelta(days=1))
        assert due(TODAY)
        assert due(expires - timedelta(days=1))  # a missed day catches up
        assert not due(expires)
        assert not due(TODAY, sent=True)
        assert not due(TODAY, status="pending")

    def test_expiry_state_for_the_page(self):
        expires = TODAY + timedelta(days=10)

        def state(today, status="approved"):
            return expiry_state(status=status, expires_on=expires, today=today, notice_days=14)

        assert state(TODAY - timedelta(days=5)) == ExpiryState.NONE
        assert state(TODAY) == ExpiryState.SOON
        assert state(expires) == ExpiryState.EXPIRED
        assert state(expires, status="retired") == ExpiryState.NONE

    def test_review_notes_and_clashes(self):
        assert validate_review_note("", approve=False) == [
            "Say why you reject it: a reason is required."
        ]
        assert validate_review_note("", approve=True) == []
        assert wordings_clash(["Roasted to Order!", "New"], ["roasted to order"]) == [
            "Roasted to Order!"
        ]
