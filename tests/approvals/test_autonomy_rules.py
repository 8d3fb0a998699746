"""Autonomy is earned: the widening/narrowing rules, database-free.

Records are written out literally; each boundary is tested one short of the criterion
and exactly at it, against the default rules (20 decided, 95 % unedited, at most 2 %
rejected, median edit at most 40 characters, 3 cycles, 30 days)."""

import json
from dataclasses import replace

import pytest

from approvals.domain.autonomy import (
    LADDER,
    EarningRules,
    Step,
    TrackRecord,
    next_mode,
    progress,
    review,
)
from approvals.domain.policy import (
    DEFAULT_POLICY,
    Mode,
    Outcome,
    ProposedAction,
    evaluate,
    with_rule,
)
from governance.domain.actions import ActionType

PUBLISH = ActionType.PUBLISH_CONTENT
RO, NA, AA, FB = Mode.RECOMMEND_ONLY, Mode.NEEDS_APPROVAL, Mode.ACT_ALONE, Mode.FORBIDDEN


def record(**changes) -> TrackRecord:
    """A record exactly at every widening boundary: 20 decided, 19 unedited (95 %),
    no rejections, a 40-character median edit, 3 cycles, no incidents, SLAs kept."""
    base = TrackRecord(
        action=PUBLISH,
        decided=20,
        approved_unedited=19,
        approved_edited=1,
        rejected=0,
        median_edit_chars=40,
        acted_alone=0,
        incidents=0,
        sla_breaches=0,
        error_budget_burned=False,
        cycles=3,
        window_days=30,
    )
    return replace(base, **changes)


# --- widening boundaries --------------------------------------------------------------

AT_BOUNDARY = {
    "decided 20": {},
    "unedited 95.0 %": {"decided": 1000, "approved_unedited": 950, "approved_edited": 50},
    "rejected 2.0 %": {"decided": 50, "approved_unedited": 48, "approved_edited": 1, "rejected": 1},
    "median edit 40": {"median_edit_chars": 40},
    "no edits": {"approved_unedited": 20, "approved_edited": 0, "median_edit_chars": None},
    "cycles 3": {"cycles": 3},
    "window 30 days": {"window_days": 30},
    "shorter window": {"window_days": 14},
}

ONE_SHORT = {
    "decided 19": {"decided": 19, "approved_unedited": 19, "approved_edited": 0},
    "unedited 94.9 %": {"decided": 1000, "approved_unedited": 949, "approved_edited": 51},
    "rejected 2.04 %": {
        "decided": 49,
        "approved_unedited": 47,
        "approved_edited": 1,
        "rejected": 1,
    },
    "median edit 41": {"median_edit_chars": 41},
    "median edit 40.5": {"median_edit_chars": 40.5},
    "cycles 2": {"cycles": 2},
    "one SLA breach": {"sla_breaches": 1},
    "window 31 days": {"window_days": 31},
}


@pytest.mark.parametrize("changes", AT_BOUNDARY.values(), ids=AT_BOUNDARY.keys())
def test_a_record_exactly_at_each_criterion_widens_one_step(changes):
    step = review(NA, record(**changes))

    assert step is not None
    assert (step.from_mode, step.to_mode, step.direction) == (NA, AA, "widen")


@pytest.mark.parametrize("changes", ONE_SHORT.values(), ids=ONE_SHORT.keys())
def test_a_record_one_short_of_any_criterion_changes_nothing(changes):
    assert review(NA, record(**changes)) is None
    assert review(RO, record(**changes)) is None


def test_boundaries_follow_configured_rules():
    rules = EarningRules(min_decided=5, min_unedited_pct=80.0, min_cycles=1)
    four_of_five = record(decided=5, approved_unedited=4, approved_edited=1, cycles=1)

    assert review(RO, four_of_five, rules) is not None
    assert review(RO, replace(four_of_five, decided=4, approved_edited=0), rules) is None
    assert review(RO, four_of_five) is None  # the default rules want more


# --- one step at a time ---------------------------------------------------------------


def test_widening_climbs_one_step_at_a_time_and_never_past_act_alone():
    perfect = record(decided=40, approved_unedited=40, approved_edited=0, median_edit_chars=None)
    seen = []
    mode = RO
    while (step := review(mode, perfect)) is not None:
        seen.append((step.from_mode, step.to_mode))
        mode = step.to_mode

    assert seen == [(RO, NA), (NA, AA)]
    assert review(AA, perfect) is None


def test_next_mode_on_the_ladder():
    assert LADDER == (RO, NA, AA)
    assert [next_mode(m, "widen") for m in LADDER] == [NA, AA, None]
    assert [next_mode(m, "narrow") for m in LADDER] == [None, RO, NA]
    assert next_mode(FB, "widen") is None
    assert next_mode(FB, "narrow") is None


# --- narrowing ------------------------------------------------------------------------


def test_an_incident_narrows_act_alone_at_once_even_with_a_perfect_record():
    perfect = record(decided=40, approved_unedited=40, approved_edited=0, median_edit_chars=None)

    step = review(AA, replace(perfect, incidents=1))

    assert step == Step(
        action=PUBLISH,
        from_mode=AA,
        to_mode=NA,
        direction="narrow",
        automatic=True,
        reasons=(
            "The agent's actions caused 1 incident in the last 30 days.",
            "Stepped down from act alone to needs approval at once.",
        ),
        evidence=step.evidence,
    )
    assert step.evidence["incidents"] == 1


def test_an_incident_narrows_needs_approval_to_recommend_only_and_blocks_widening():
    step = review(NA, record(incidents=2))

    assert (step.to_mode, step.direction, step.automatic) == (RO, "narrow", True)
    assert step.reasons[0] == "The agent's actions caused 2 incidents in the last 30 days."


def test_a_burned_error_budget_narrows():
    step = review(AA, record(sla_breaches=3, error_budget_burned=True))

    assert (step.from_mode, step.to_mode, step.automatic) == (AA, NA, True)
    assert step.reasons == (
        "An SLA of this agent used up its error budget in the last 30 days.",
        "Stepped down from act alone to needs approval at once.",
    )
    assert step.evidence["error_budget_burned"] is True
    assert step.evidence["sla_breaches"] == 3


def test_sla_breaches_within_the_error_budget_only_block_widening():
    assert review(AA, record(sla_breaches=2)) is None
    assert review(NA, record(sla_breaches=2)) is None


@pytest.mark.parametrize(
    "changes",
    [
        {"incidents": 1},
        {"error_budget_burned": True},
        {"decided": 10, "approved_unedited": 5, "approved_edited": 0, "rejected": 5},
    ],
    ids=["incident", "error budget", "rejections"],
)
def test_at_the_bottom_nothing_narrows(changes):
    assert review(RO, record(**changes)) is None


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"decided": 40, "approved_unedited": 40, "approved_edited": 0, "median_edit_chars": None},
        {"incidents": 3, "error_budget_burned": True},
        {"decided": 10, "approved_unedited": 0, "approved_edited": 0, "rejected": 10},
    ],
    ids=["boundary", "perfect", "incidents", "all rejected"],
)
def test_forbidden_is_never_touched(changes):
    assert review(FB, record(**changes)) is None
    assert progress(FB, record(**changes)) == []


def test_a_high_rejection_rate_narrows_with_the_rate_in_the_reason():
    two_of_ten = record(decided=10, approved_unedited=8, approved_edited=0, rejected=2)

    step = review(AA, two_of_ten)

    assert (step.from_mode, step.to_mode, step.direction, step.automatic) == (
        AA,
        NA,
        "narrow",
        True,
    )
    assert step.reasons == (
        "2 of 10 proposals were rejected or sent back in the last 30 days (20 %); at 20 % "
        "or more over at least 10 decisions the agent steps down.",
        "Stepped down from act alone to needs approval at once.",
    )
    assert step.evidence["rejected_pct"] == 20.0


@pytest.mark.parametrize(
    "changes",
    [
        {"decided": 9, "approved_unedited": 7, "approved_edited": 0, "rejected": 2},  # too few
        {"decided": 100, "approved_unedited": 81, "approved_edited": 0, "rejected": 19},  # 19 %
    ],
    ids=["9 decided", "19 %"],
)
def test_rejections_below_the_narrowing_rule_leave_the_mode_alone(changes):
    assert review(AA, record(**changes)) is None


# --- what a step carries --------------------------------------------------------------


def test_a_widening_waits_for_an_admin_and_lists_each_criterion_with_numbers():
    step = review(NA, record())

    assert step.automatic is False
    assert step.reasons == (
        "20 decided in the last 30 days; needs at least 20.",
        "19 of 20 approved unedited (95 %); needs at least 95 %.",
        "0 of 20 rejected or sent back (0 %); needs at most 2 %.",
        "Edits changed a median of 40 characters; needs at most 40 characters.",
        "Proven over 3 campaigns; needs at least 3.",
        "No incidents in the last 30 days.",
        "SLAs kept in the last 30 days.",
    )


def test_evidence_is_plain_json_with_the_records_numbers_and_the_rules():
    step = review(NA, record())

    assert json.loads(json.dumps(step.evidence)) == step.evidence
    assert step.evidence == {
        "action": "publish_content",
        "decided": 20,
        "approved_unedited": 19,
        "approved_edited": 1,
        "rejected": 0,
        "median_edit_chars": 40,
        "acted_alone": 0,
        "incidents": 0,
        "sla_breaches": 0,
        "error_budget_burned": False,
        "cycles": 3,
        "window_days": 30,
        "cycle_unit": "campaign",
        "unedited_pct": 95.0,
        "rejected_pct": 0.0,
        "summary": (
            "20 decided in 30 days over 3 campaigns: 19 approved unedited (95 %), 1 edited "
            "(median 40 characters changed), 0 rejected; no incidents; SLAs kept"
        ),
        "rules": {
            "min_decided": 20,
            "min_unedited_pct": 95.0,
            "max_rejected_pct": 2.0,
            "max_median_edit_chars": 40,
            "min_cycles": 3,
            "window_days": 30,
            "narrow_when_rejected_pct": 20.0,
            "min_decided_to_narrow": 10,
        },
    }


def test_a_recommendation_changes_nothing_until_an_admin_applies_it():
    """Acceptance: the recommendation appears after the configured record and the policy
    still decides as before; only a new policy version (after approval) widens."""
    action = ActionType.SEND_EMAIL
    proposed = ProposedAction(action=action, by_agent=True)
    mode = DEFAULT_POLICY.rule_for(action).mode

    step = review(mode, record(action=action))

    assert (step.action, step.from_mode, step.to_mode, step.automatic) == (action, NA, AA, False)
    assert evaluate(DEFAULT_POLICY, proposed).outcome == Outcome.APPROVAL
    rule = replace(DEFAULT_POLICY.rule_for(action), mode=step.to_mode)
    widened = with_rule(DEFAULT_POLICY, action, rule, version=DEFAULT_POLICY.version + 1)
    assert evaluate(widened, proposed).outcome == Outcome.ALLOW


# --- the record's words ---------------------------------------------------------------


def test_summary_is_one_line_with_the_numbers():
    thirty_eight = record(
        decided=38, approved_unedited=36, approved_edited=1, rejected=1, median_edit_chars=12
    )
    thirty_eight = replace(thirty_eight, cycles=4)

    assert thirty_eight.summary == (
        "38 decided in 30 days over 4 campaigns: 36 approved unedited (94.7 %), 1 edited "
        "(median 12 characters changed), 1 rejected; no incidents; SLAs kept"
    )
    assert thirty_eight.unedited_rate == pytest.approx(36 / 38)
    assert thirty_eight.rejection_rate == pytest.approx(1 / 38)


def test_summary_of_a_troubled_record():
    troubled = TrackRecord(
        action=PUBLISH,
        decided=12,
        approved_unedited=2,
        approved_edited=0,
        rejected=1,
        median_edit_chars=None,
        acted_alone=9,
        incidents=1,
        sla_breaches=2,
        error_budget_burned=True,
        cycles=1,
        window_days=7,
        cycle_unit="week",
    )

    assert troubled.summary == (
        "12 decided in 7 days over 1 week: 2 approved unedited (16.7 %), 0 edited, "
        "1 rejected, 9 ran alone; 1 incident; 2 SLA breaches, error budget used up"
    )


def test_rates_are_none_before_anything_is_decided():
    empty = record(decided=0, approved_unedited=0, approved_edited=0, median_edit_chars=None)

    assert empty.unedited_rate is None
    assert empty.rejection_rate is None
    assert (
        empty.summary
        == "0 decided in 30 days over 3 campaigns: nothing yet; no incidents; SLAs kept"
    )
    assert review(NA, empty) is None


# --- progress -------------------------------------------------------------------------


def test_progress_for_a_record_halfway_there():
    halfway = TrackRecord(
        action=PUBLISH,
        decided=10,
        approved_unedited=9,
        approved_edited=1,
        rejected=0,
        median_edit_chars=55,
        acted_alone=0,
        incidents=0,
        sla_breaches=1,
        error_budget_burned=False,
        cycles=2,
        window_days=30,
    )

    assert progress(NA, halfway) == [
        ("Enough decisions", False, "10 decided in the last 30 days; needs at least 20."),
        ("Approved unedited", False, "9 of 10 approved unedited (90 %); needs at least 95 %."),
        ("Rarely rejected", True, "0 of 10 rejected or sent back (0 %); needs at most 2 %."),
        (
            "Small edits",
            False,
            "Edits changed a median of 55 characters; needs at most 40 characters.",
        ),
        ("Several cycles", False, "Proven over 2 campaigns; needs at least 3."),
        ("No incidents", True, "No incidents in the last 30 days."),
        ("SLAs kept", False, "1 SLA breach in the last 30 days; needs none."),
    ]
    assert review(NA, halfway) is None


def test_progress_shows_which_side_of_a_threshold_a_rounded_rate_is_on():
    one_of_49 = record(**ONE_SHORT["rejected 2.04 %"])
    rows = {label: (met, detail) for label, met, detail in progress(NA, one_of_49)}

    assert rows["Rarely rejected"] == (
        False,
        "1 of 49 rejected or sent back (2.04 %); needs at most 2 %.",
    )


def test_progress_is_empty_at_the_top_and_complete_when_earned():
    assert progress(AA, record()) == []
    assert all(met for _, met, _ in progress(RO, record()))


def test_progress_says_when_the_record_was_counted_over_too_long_a_window():
    rows = {label: (met, detail) for label, met, detail in progress(NA, record(window_days=60))}

    assert rows["Enough decisions"] == (
        False,
        "20 decided over 60 days, but only the last 30 days count; needs at least 20.",
    )


# --- validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"min_decided": 0}, "min_decided must be at least 1"),
        ({"min_decided": 2.5}, "min_decided must be a whole number"),
        ({"min_decided": True}, "min_decided must be a whole number"),
        ({"min_unedited_pct": 101}, "min_unedited_pct must be between 0 and 100"),
        ({"min_unedited_pct": -1}, "min_unedited_pct must be between 0 and 100"),
        ({"min_unedited_pct": "95"}, "min_unedited_pct must be a percentage"),
        ({"max_rejected_pct": 100.5}, "max_rejected_pct must be between 0 and 100"),
        ({"max_median_edit_chars": -1}, "max_median_edit_chars must be at least 0"),
        ({"min_cycles": 0}, "min_cycles must be at least 1"),
        ({"window_days": 0}, "window_days must be at least 1"),
        ({"narrow_when_rejected_pct": 120}, "narrow_when_rejected_pct must be between"),
        ({"min_decided_to_narrow": 0}, "min_decided_to_narrow must be at least 1"),
        (
            {"max_rejected_pct": 20.0, "narrow_when_rejected_pct": 20.0},
            r"narrow_when_rejected_pct \(20.0\) must be more than max_rejected_pct \(20.0\)",
        ),
    ],
)
def test_earning_rules_reject_nonsense(changes, message):
    with pytest.raises(ValueError, match=message):
        EarningRules(**changes)


def test_earning_rules_defaults():
    assert EarningRules() == EarningRules(
        min_decided=20,
        min_unedited_pct=95.0,
        max_rejected_pct=2.0,
        max_median_edit_chars=40,
        min_cycles=3,
        window_days=30,
        narrow_when_rejected_pct=20.0,
        min_decided_to_narrow=10,
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"decided": -1}, "decided must be at least 0"),
        ({"incidents": -1}, "incidents must be at least 0"),
        ({"window_days": 0}, "window_days must be at least 1"),
        ({"approved_unedited": 20}, "The outcomes add up to 21, more than the 20 decided"),
        ({"median_edit_chars": -3}, "median_edit_chars must be None or 0 or more"),
    ],
)
def test_track_record_rejects_impossible_numbers(changes, message):
    with pytest.raises(ValueError, match=message):
        record(**changes)
