from approvals.domain.decisions import FieldDiff, payload_diff


def test_only_changed_fields_with_word_runs():
    before = {"headline": "Clinically proven sleep", "body": "Same body", "claims": ["A", "B"]}
    after = {"headline": "Sleep insights reviewed", "body": "Same body", "claims": ["A"]}
    assert payload_diff(before, after) == [
        FieldDiff("claims", (("removed", "A; B"), ("added", "A"))),
        FieldDiff(
            "headline",
            (("removed", "Clinically proven sleep"), ("added", "Sleep insights reviewed")),
        ),
    ]


def test_insertions_keep_the_words_around_them():
    diff = payload_diff({"body": "Roasted to order."}, {"body": "Roasted fresh to order."})
    assert diff == [
        FieldDiff("body", (("same", "Roasted"), ("added", "fresh"), ("same", "to order.")))
    ]


def test_identical_payloads_have_no_diff():
    assert payload_diff({"reason": "x"}, {"reason": "x"}) == []
