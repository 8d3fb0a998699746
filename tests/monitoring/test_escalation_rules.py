"""Escalation rules as a full table, and the chain climbing on frozen datetimes: pure, no
database, no clock."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from campaigns.models import SlaStatus
from monitoring.domain.anomalies import DEFAULT_RESPONSES, KINDS
from monitoring.domain.escalation import (
    DEFAULT_CHAIN,
    FLAG_DIRECTIONS,
    FLAG_KINDS,
    ChainStep,
    Climb,
    EscalationDecision,
    Reason,
    Stops,
    Trigger,
    chain_from_json,
    chain_to_json,
    climb,
    decide,
    overshoot_pct,
    validate_chain,
)
from monitoring.models import AnomalyKind, FlagResponse

P, M, D, X, S = (
    Reason.PERFORMANCE,
    Reason.MISSING_DEPENDENCY,
    Reason.PERMISSION,
    Reason.COMPLIANCE,
    Reason.SLA_BREACH,
)
CAMPAIGN, CHANNEL, VARIANT = Stops.CAMPAIGN, Stops.CHANNEL, Stops.VARIANT


def flag(kind, response, observed=None, limit=None, tolerance=None, **kw):
    return Trigger(
        "flag",
        flag_kind=kind,
        flag_response=response,
        observed=observed,
        limit=limit,
        tolerance_pct=tolerance,
        **kw,
    )


# Every row of the table in the module docstring, plus what does not escalate.
TABLE = [
    # flags: the brand's response "escalate" stops the campaign, whatever the surface
    (flag("cpa_above_limit", "escalate"), P, CAMPAIGN),
    (flag("cpa_above_limit", "escalate", channel="search_ads", variant="B"), P, CAMPAIGN),
    (flag("conversion_drop", "escalate", observed=4.4, limit=4.5, tolerance=50), P, CAMPAIGN),
    # flags the agents may handle: only past the limit by more than the tolerance
    (flag("cpm_spike", "optimize", 12.01, 10, 20), P, CAMPAIGN),  # +20.1 % past
    (flag("cpm_spike", "optimize", 12, 10, 20), None, None),  # exactly 20 %: within
    (flag("cpm_spike", "optimize", 11, 10, 20), None, None),
    (flag("cpm_spike", "optimize", 30, 10, None), None, None),  # no tolerance: no row
    (flag("cpm_spike", "optimize", 30, 10, 20, channel="display"), P, CHANNEL),
    (flag("cpm_spike", "continue", 30, 10, 20, channel="display", variant="A"), P, VARIANT),
    (flag("broken_link", "pause", 100, 50, 50), P, CAMPAIGN),  # 100 % past 50
    (flag("broken_link", "pause", 75, 50, 50), None, None),  # exactly 50 % past
    (flag("conversion_drop", "optimize", 2.0, 4.5, 50), P, CAMPAIGN),  # 55.6 % below
    (flag("conversion_drop", "optimize", 9.0, 4.5, 50), None, None),  # up is good
    (flag("pacing_drift", "optimize", -25, 10, 100), P, CAMPAIGN),  # |-25| is 150 % past 10
    (flag("pacing_drift", "optimize", 20, 10, 100), None, None),  # exactly 100 %
    (flag("audience_fatigue", "optimize", 9, 3, 50), None, None),  # no single direction
    (flag("audience_fatigue", "optimize", 9, 3, 50, direction="up_is_bad"), P, CAMPAIGN),
    (flag("cpa_above_limit", "optimize", None, 40, 10), None, None),  # nothing observed
    # failed agent runs
    (Trigger("agent_run", run_error_kind="model_unavailable"), M, CAMPAIGN),
    (Trigger("agent_run", run_error_kind="waiting_dependency"), M, CAMPAIGN),
    (Trigger("agent_run", run_error_kind="handoff_invalid"), M, CAMPAIGN),
    (Trigger("agent_run", run_error_kind="malformed_output", channel="email"), M, CAMPAIGN),
    (Trigger("agent_run", run_error_kind="spend_cap"), D, CAMPAIGN),
    (Trigger("agent_run", run_error_kind="worker_died"), None, None),  # the reaper re-queues
    # ...but a run whose worker died on every attempt is given up on: a person looks.
    (Trigger("agent_run", run_error_kind="retries_exhausted"), M, CAMPAIGN),
    (Trigger("agent_run", run_error_kind=""), None, None),
    # SLAs: only a breach
    (Trigger("sla", sla_kind="qa_pass_rate", sla_status="breached"), S, CAMPAIGN),
    (Trigger("sla", sla_kind="draft_time", sla_status="breached", channel="email"), S, CHANNEL),
    (Trigger("sla", sla_kind="qa_pass_rate", sla_status="at_risk"), None, None),
    (Trigger("sla", sla_kind="qa_pass_rate", sla_status="on_track"), None, None),
    # policy refusals: always a permission problem
    (Trigger("policy_refusal", refusal_rule="pause.forbidden"), D, CAMPAIGN),
    (Trigger("policy_refusal", refusal_rule="hard_cap.campaign_budget"), D, CAMPAIGN),
    (Trigger("policy_refusal", refusal_rule="hard_cap.daily_spend", channel="email"), D, CAMPAIGN),
    (Trigger("policy_refusal"), D, CAMPAIGN),  # NotPermitted, no rule name
    # content checks: blocking findings only
    (Trigger("content_check", findings=("Uses “guaranteed”.",)), X, CAMPAIGN),
    (Trigger("content_check", findings=("x",), channel="email", variant="B"), X, VARIANT),
    (Trigger("content_check", findings=("x",), channel="email"), X, CHANNEL),
    (Trigger("content_check", findings=("x",), variant="B", published=True), X, CAMPAIGN),
    (Trigger("content_check", findings=()), None, None),
    (Trigger("content_check", findings=(), published=True), None, None),
]


@pytest.mark.parametrize(("trigger", "reason", "stops"), TABLE)
def test_the_escalation_table(trigger, reason, stops):
    decision = decide(trigger)
    if reason is None:
        assert decision is None
    else:
        assert decision is not None
        assert (decision.reason, decision.stops) == (reason, stops)
        assert decision.summary and decision.rule


def test_decisions_explain_themselves_and_keep_the_callers_summary():
    assert decide(flag("cpa_above_limit", "escalate")) == EscalationDecision(
        Reason.PERFORMANCE,
        "CPA above control limit: its response is to escalate to a person.",
        Stops.CAMPAIGN,
        "flag.escalate",
    )
    beyond = decide(
        flag("cpm_spike", "optimize", Decimal("30.0000"), Decimal("10.0000"), 20, channel="x")
    )
    assert beyond.summary == "CPM spike: 30 against a limit of 10, beyond the 20 % tolerance."
    assert beyond.rule == "flag.beyond_tolerance"
    sla = decide(Trigger("sla", sla_kind="qa_pass_rate", sla_status="breached"))
    assert (sla.summary, sla.rule) == ("SLA breached: QA pass rate.", "sla.qa_pass_rate")
    refusal = decide(Trigger("policy_refusal", refusal_rule="pause.forbidden"))
    assert refusal.rule == "refusal.pause.forbidden"
    published = decide(Trigger("content_check", findings=("A.", "B."), published=True))
    assert published.summary == "Published copy breaks the brand's rules: A. B."
    run = decide(Trigger("agent_run", run_error_kind="spend_cap", summary="Cap of 50.00 hit."))
    assert (run.summary, run.rule) == ("Cap of 50.00 hit.", "run.spend_cap")


def test_an_unknown_source_is_a_mistake_not_a_quiet_none():
    with pytest.raises(ValueError):
        Trigger("gut_feeling")


def test_overshoot_is_measured_on_the_bad_side_relative_to_the_limit():
    assert overshoot_pct(50, 40, "up_is_bad") == 25
    assert overshoot_pct(30, 40, "up_is_bad") == -25
    assert overshoot_pct(3, 4, "down_is_bad") == 25
    assert overshoot_pct(-15, 10, "either_is_bad") == 50
    assert overshoot_pct(1, 0, "up_is_bad") == Decimal("Infinity")
    assert overshoot_pct(0, 0, "up_is_bad") == 0
    assert overshoot_pct(None, 40, "up_is_bad") is None
    assert overshoot_pct(50, 40, None) is None
    with pytest.raises(ValueError):
        overshoot_pct(50, 40, "sideways")


def test_names_match_the_models_and_the_anomaly_rules():
    assert dict(FLAG_KINDS) == dict(AnomalyKind.choices)
    assert set(KINDS) == set(FLAG_KINDS)
    assert set(DEFAULT_RESPONSES.values()) <= set(FlagResponse.values)
    assert "escalate" in FlagResponse.values and "breached" in SlaStatus.values
    assert FLAG_DIRECTIONS["cpa_above_limit"] == "up_is_bad"
    assert FLAG_DIRECTIONS["conversion_drop"] == "down_is_bad"
    assert FLAG_DIRECTIONS["pacing_drift"] == "either_is_bad"
    assert "audience_fatigue" not in FLAG_DIRECTIONS
    assert [r.label for r in Reason] == [
        "Compliance issue",
        "Performance drop beyond tolerance",
        "Missing dependency",
        "Permission problem",
        "SLA breach",
        "Raised by a person",
    ]


# ---------------------------------------------------------------------------- the chain

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def at(minutes, seconds=0):
    return T0 + timedelta(minutes=minutes, seconds=seconds)


def sweep(now, *, level=0, entered=T0, acknowledged=False, chain=DEFAULT_CHAIN):
    return climb(chain, level=level, entered_level_at=entered, now=now, acknowledged=acknowledged)


def test_the_owner_has_exactly_15_minutes_before_it_climbs():
    waiting = sweep(at(14, 59))
    assert waiting == Climb(0, T0, False, at(15), "owner")
    climbed = sweep(at(15))
    assert climbed == Climb(1, at(15), True, at(45), "manager", ("manager",))


def test_the_manager_has_exactly_30_minutes_after_entering():
    assert sweep(at(44, 59), level=1, entered=at(15)).level == 1
    top = sweep(at(45), level=1, entered=at(15))
    assert top == Climb(2, at(45), True, None, "admin", ("admin",))


def test_a_sweep_two_hours_late_lands_on_admin_with_the_chains_own_clocks():
    late = sweep(at(120))
    assert (late.level, late.tier, late.climbed) == (2, "admin", True)
    assert late.entered_level_at == at(45)  # 15 + 30, not the sweep's time
    assert late.newly_reached == ("manager", "admin")
    assert late.next_climb_at is None


def test_a_late_sweep_between_tiers_keeps_the_next_climb_on_schedule():
    # Swept at 20 min (5 late): the manager's clock started at 15, so the climb is at 45.
    middle = sweep(at(20))
    assert (middle.level, middle.entered_level_at, middle.next_climb_at) == (1, at(15), at(45))


def test_an_acknowledged_escalation_never_climbs():
    for now in (at(14), at(15), at(500)):
        held = sweep(now, acknowledged=True)
        assert held == Climb(0, T0, False, None, "owner")
    assert sweep(at(500), level=1, entered=at(15), acknowledged=True).level == 1


def test_the_top_tier_stays():
    assert sweep(at(10_000), level=2, entered=at(45)) == Climb(2, at(45), False, None, "admin")
    single = (ChainStep("admin", None),)
    assert sweep(at(10_000), chain=single) == Climb(0, T0, False, None, "admin")
    # A hand-built chain whose top has a wait still has nowhere to go.
    odd = (ChainStep("owner", 5 * MIN), ChainStep("admin", 5 * MIN))
    assert sweep(at(60), chain=odd) == Climb(1, at(5), True, None, "admin", ("admin",))


def test_a_clock_before_the_entry_does_not_climb():
    assert sweep(at(-5)).level == 0


def test_climb_refuses_a_level_off_the_chain():
    with pytest.raises(ValueError):
        sweep(at(0), level=3)
    with pytest.raises(ValueError):
        climb((), level=0, entered_level_at=T0, now=T0, acknowledged=False)


DEFAULT_JSON = [
    {"tier": "owner", "wait_minutes": 15},
    {"tier": "manager", "wait_minutes": 30},
    {"tier": "admin", "wait_minutes": None},
]


def test_the_chain_round_trips_through_json():
    assert chain_to_json(DEFAULT_CHAIN) == DEFAULT_JSON
    assert chain_from_json(DEFAULT_JSON) == DEFAULT_CHAIN
    assert chain_from_json(None) == DEFAULT_CHAIN
    short = [{"tier": "manager", "wait_minutes": 60}, {"tier": "admin", "wait_minutes": None}]
    assert chain_from_json(short) == (
        ChainStep("manager", timedelta(hours=1)),
        ChainStep("admin", None),
    )
    assert validate_chain([{"tier": "owner", "wait_minutes": None}]) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "The chain needs at least one step."),
        ({"tier": "owner"}, "The chain must be a list of steps."),
        (["owner"], "Step 1 must have a tier and a wait."),
        (
            [{"tier": "boss", "wait_minutes": None}],
            "Step 1: unknown tier “boss” (choose owner, manager, admin).",
        ),
        ([{"wait_minutes": None}], "Step 1 needs a tier (owner, manager, admin)."),
        (
            [{"tier": "owner", "wait_minutes": 0}, {"tier": "admin", "wait_minutes": None}],
            "Step 1: the wait must be more than 0 minutes.",
        ),
        (
            [{"tier": "owner", "wait_minutes": -5}, {"tier": "admin", "wait_minutes": None}],
            "Step 1: the wait must be more than 0 minutes.",
        ),
        (
            [{"tier": "owner", "wait_minutes": 1.5}, {"tier": "admin", "wait_minutes": None}],
            "Step 1: the wait must be a whole number of minutes.",
        ),
        (
            [{"tier": "owner", "wait_minutes": True}, {"tier": "admin", "wait_minutes": None}],
            "Step 1: the wait must be a whole number of minutes.",
        ),
        (
            [{"tier": "owner", "wait_minutes": 10081}, {"tier": "admin", "wait_minutes": None}],
            "Step 1: the wait can be at most 10080 minutes.",
        ),
        (
            [{"tier": "owner", "wait_minutes": None}, {"tier": "admin", "wait_minutes": None}],
            "Step 1 needs a wait before the chain climbs.",
        ),
        (
            [{"tier": "owner", "wait_minutes": 15}, {"tier": "admin", "wait_minutes": 30}],
            "Step 2 is the last: leave its wait empty (nobody is above it).",
        ),
        (
            [{"tier": "manager", "wait_minutes": 15}, {"tier": "owner", "wait_minutes": None}],
            "Step 2: “owner” comes after manager; a chain climbs.",
        ),
        (
            [{"tier": "owner", "wait_minutes": 15}, {"tier": "owner", "wait_minutes": None}],
            "Step 2: “owner” is already in the chain.",
        ),
        (
            [{"tier": "admin", "wait_minutes": None, "wait": 5}],
            "Step 1 has unknown fields: wait.",
        ),
    ],
)
def test_an_invalid_chain_says_what_is_wrong(data, message):
    assert validate_chain(data) == [message]
    with pytest.raises(ValueError) as raised:
        chain_from_json(data)
    assert str(raised.value) == message


def test_every_problem_is_reported_at_once():
    errors = validate_chain(
        [{"tier": "admin", "wait_minutes": 0}, {"tier": "owner", "wait_minutes": 5}]
    )
    assert errors == [
        "Step 1: the wait must be more than 0 minutes.",
        "Step 2: “owner” comes after admin; a chain climbs.",
        "Step 2 is the last: leave its wait empty (nobody is above it).",
    ]
