"""Escalation rules and the escalation chain, in pure Python.

**When to escalate** is deterministic: :func:`decide` turns a :class:`Trigger` (what
happened, as plain data) into an :class:`EscalationDecision` or ``None``. First match
wins, one rule per row::

    source          condition                                        reason              stops
    --------------  -----------------------------------------------  ------------------  --------
    flag            its response is "escalate"                       performance         campaign
    flag            observed past its limit, on the bad side, by     performance         surface
                    more than tolerance_pct % of the limit
    agent_run       model_unavailable (after every retry),           missing_dependency  campaign
                    waiting_dependency (connector/input missing),
                    handoff_invalid, malformed_output (after retries)
    agent_run       spend_cap (the brand's model spend cap)          permission          campaign
    sla             status "breached"                                sla_breach          surface
    policy_refusal  any refusal: hard_cap.*, <action>.forbidden,     permission          campaign
                    not_permitted
    content_check   blocking findings in copy already published      compliance          campaign
    content_check   blocking findings in a draft                     compliance          surface
    anything else   (worker_died, an at-risk SLA, a flag the agents  — no escalation
                    may optimise within tolerance, no findings)

*surface* is the variant when the trigger names one, else its channel, else the whole
campaign: an escalation stops only the agent work it is about.

Why these rows:

* A flag's response is the brand's decision (``monitoring.domain.anomalies``
  ``DEFAULT_RESPONSES``): "escalate" means a person must look (is the site or the
  tracking down?), which is about the whole campaign, whatever surface showed it first.
* A flag the agents may handle themselves (optimise, pause) still escalates once the
  numbers are past the limit by more than the brief's tolerance: a "performance drop
  beyond tolerance". Without a tolerance (``tolerance_pct=None``) that row does not apply.
* TRICKY: malformed output and an invalid handoff are *missing dependencies*, not
  quality problems: the next agent has no usable input, so the chain stops there.
* ``worker_died`` is not escalated: the reaper re-queues the run (``agents.services``).
* Published copy carrying a blocked claim is live brand risk, and claims are shared
  across a campaign's variants, so it stops the campaign; a blocked draft never reached
  distribution and stops only its own surface.

**Who is told** climbs a configured chain (owner → manager → admin by default) on
timers until someone acknowledges: :func:`climb` says where an unacknowledged
escalation should be at ``now``. Each tier's entry time is the previous entry time plus
its wait, so a late sweep lands where a punctual one would have, with the same clocks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from campaigns.domain.metrics import METRICS, Direction

from .anomalies import KIND_FOR_METRIC
from .slas import SLA_KINDS


class Reason(StrEnum):
    COMPLIANCE = "compliance"
    PERFORMANCE = "performance"
    MISSING_DEPENDENCY = "missing_dependency"
    PERMISSION = "permission"
    SLA_BREACH = "sla_breach"
    #: Not one of the rules: a person moved the campaign to escalated themselves.
    RAISED_BY_PERSON = "raised_by_person"

    @property
    def label(self) -> str:
        return {
            "compliance": "Compliance issue",
            "performance": "Performance drop beyond tolerance",
            "missing_dependency": "Missing dependency",
            "permission": "Permission problem",
            "sla_breach": "SLA breach",
            "raised_by_person": "Raised by a person",
        }[self.value]


class Source(StrEnum):
    FLAG = "flag"
    AGENT_RUN = "agent_run"
    SLA = "sla"
    POLICY_REFUSAL = "policy_refusal"
    CONTENT_CHECK = "content_check"


class Stops(StrEnum):
    """Which agent work an escalation stops."""

    CAMPAIGN = "campaign"  # every agent's work on the campaign
    CHANNEL = "channel"  # only the trigger's channel
    VARIANT = "variant"  # only the trigger's variant


@dataclass(frozen=True)
class Trigger:
    """What happened, as plain data. Only the fields of its ``source`` matter."""

    source: str  # a Source value
    summary: str = ""  # what happened in words; becomes the decision's summary
    channel: str = ""  # the surface it is about, when it is about one
    variant: str = ""
    # source == "flag" (monitoring.models.AnomalyFlag)
    flag_kind: str = ""  # an AnomalyKind value
    flag_response: str = ""  # a FlagResponse value: continue / optimize / pause / escalate
    observed: Decimal | float | None = None
    limit: Decimal | float | None = None
    tolerance_pct: float | None = None  # how far past the limit (in % of it) agents may go
    direction: str = ""  # a metrics.Direction value; blank: the flag kind's own
    # source == "agent_run": model_unavailable, waiting_dependency, handoff_invalid,
    # malformed_output, spend_cap, worker_died
    run_error_kind: str = ""
    # source == "sla"
    sla_kind: str = ""
    sla_status: str = ""  # an SlaStatus value
    # source == "policy_refusal": the rule that refused, e.g. "hard_cap.campaign_budget"
    refusal_rule: str = ""
    # source == "content_check": the *blocking* findings' messages (warnings go to the
    # reviewer, not here), and whether the copy is already published
    findings: tuple[str, ...] = ()
    published: bool = False

    def __post_init__(self) -> None:
        # An unknown source is a programming error, not "nothing to escalate".
        Source(self.source)


@dataclass(frozen=True)
class EscalationDecision:
    reason: Reason
    summary: str  # for people, in the notification and on the tower
    stops: Stops
    rule: str = ""  # the row that fired, for the audit trail, e.g. "flag.escalate"


#: Failed-run kinds and what they escalate as; a kind missing here is not escalated.
RUN_ERRORS: Mapping[str, Reason] = {
    "model_unavailable": Reason.MISSING_DEPENDENCY,
    "waiting_dependency": Reason.MISSING_DEPENDENCY,
    "handoff_invalid": Reason.MISSING_DEPENDENCY,
    "malformed_output": Reason.MISSING_DEPENDENCY,
    "retries_exhausted": Reason.MISSING_DEPENDENCY,
    "spend_cap": Reason.PERMISSION,
}

#: Anomaly kinds and their labels: ``monitoring.models.AnomalyKind`` (a test holds them equal).
FLAG_KINDS: Mapping[str, str] = {
    "cpm_spike": "CPM spike",
    "cpc_spike": "CPC spike",
    "cpa_above_limit": "CPA above control limit",
    "conversion_drop": "Conversion drop",
    "broken_link": "Broken link",
    "pacing_drift": "Pacing drift (overspend)",
    "audience_fatigue": "Audience fatigue",
}

#: Which way each anomaly kind goes wrong, from the metric its detector watches. Audience
#: fatigue watches two metrics at once, so it has no single direction: give one on the
#: trigger, or the tolerance row does not apply to it.
FLAG_DIRECTIONS: Mapping[str, str] = {
    kind: METRICS[metric].direction.value for metric, kind in KIND_FOR_METRIC.items()
}

_RUN_SUMMARIES = {
    "model_unavailable": "The language model could not be reached after every retry.",
    "waiting_dependency": "A connector or input the work needs is missing.",
    "handoff_invalid": "An agent's handoff failed its schema; the next agent has no input.",
    "malformed_output": "The model's output stayed malformed after its retries.",
    "spend_cap": "The brand's language-model spend cap stopped the run.",
    "retries_exhausted": "Its worker died on every attempt; a person should look first.",
}


def decide(trigger: Trigger) -> EscalationDecision | None:
    """The escalation ``trigger`` calls for, or None (see the table in the docstring).
    The decision's summary is the trigger's own when it has one."""
    t = trigger
    if t.source == Source.FLAG:
        kind = FLAG_KINDS.get(t.flag_kind) or _readable(t.flag_kind) or "A flag"
        if t.flag_response == "escalate":
            why = f"{kind}: its response is to escalate to a person."
            return _decision(t, Reason.PERFORMANCE, Stops.CAMPAIGN, "flag.escalate", why)
        direction = t.direction or FLAG_DIRECTIONS.get(t.flag_kind)
        beyond = overshoot_pct(t.observed, t.limit, direction)
        if beyond is not None and t.tolerance_pct is not None and beyond > _dec(t.tolerance_pct):
            why = (
                f"{kind}: {_number(t.observed)} against a limit of {_number(t.limit)}, "
                f"beyond the {t.tolerance_pct:g} % tolerance."
            )
            return _decision(t, Reason.PERFORMANCE, _surface(t), "flag.beyond_tolerance", why)
        return None
    if t.source == Source.AGENT_RUN:
        reason = RUN_ERRORS.get(t.run_error_kind)
        if reason is None:
            return None
        why = _RUN_SUMMARIES[t.run_error_kind]
        return _decision(t, reason, Stops.CAMPAIGN, f"run.{t.run_error_kind}", why)
    if t.source == Source.SLA:
        if t.sla_status != "breached":
            return None
        why = f"SLA breached: {SLA_KINDS.get(t.sla_kind, _readable(t.sla_kind))}."
        return _decision(t, Reason.SLA_BREACH, _surface(t), f"sla.{t.sla_kind}", why)
    if t.source == Source.POLICY_REFUSAL:
        rule = t.refusal_rule or "not_permitted"
        why = f"The delegation policy refused an agent's action ({rule})."
        return _decision(t, Reason.PERMISSION, Stops.CAMPAIGN, f"refusal.{rule}", why)
    # Source.CONTENT_CHECK: Trigger refuses any other source.
    if not t.findings:
        return None
    if t.published:
        why = "Published copy breaks the brand's rules: " + " ".join(t.findings)
        return _decision(t, Reason.COMPLIANCE, Stops.CAMPAIGN, "content.published", why)
    why = "A draft was blocked: " + " ".join(t.findings)
    return _decision(t, Reason.COMPLIANCE, _surface(t), "content.blocked", why)


def overshoot_pct(
    observed: Decimal | float | None, limit: Decimal | float | None, direction: str | None
) -> Decimal | None:
    """How far ``observed`` is past ``limit`` on the bad side, in % of the limit: positive
    when past it, zero or negative when within. None when a number or the direction is
    missing. For ``either_is_bad`` (pacing: a signed deviation against a ± band) the
    magnitudes are compared. A limit of 0 has no scale: any value past it is infinitely
    far past (``Decimal("Infinity")``), any other is 0."""
    if observed is None or limit is None or not direction:
        return None
    value, bound = _dec(observed), _dec(limit)
    if direction == Direction.UP_IS_BAD:
        past = value - bound
    elif direction == Direction.DOWN_IS_BAD:
        past = bound - value
    elif direction == Direction.EITHER_IS_BAD:
        past = abs(value) - abs(bound)
    else:
        raise ValueError(f"Unknown direction “{direction}”.")
    if bound == 0:
        return Decimal("Infinity") if past > 0 else Decimal(0)
    return past / abs(bound) * 100


def _decision(
    t: Trigger, reason: Reason, stops: Stops, rule: str, default: str
) -> EscalationDecision:
    return EscalationDecision(reason, t.summary or default, stops, rule)


def _readable(value: str) -> str:
    """ "draft_time" → "Draft time", for a value no label list knows."""
    return value.replace("_", " ").capitalize()


def _number(x: Decimal | float | None) -> str:
    """58.2000 → "58.2", 100 → "100"."""
    return "?" if x is None else f"{_dec(x).normalize():f}"


def _surface(t: Trigger) -> Stops:
    if t.variant:
        return Stops.VARIANT
    if t.channel:
        return Stops.CHANNEL
    return Stops.CAMPAIGN


def _dec(x: Decimal | float) -> Decimal:
    return x if isinstance(x, Decimal) else Decimal(str(x))


# ---------------------------------------------------------------------------- the chain

#: Chain tiers, lowest first: the campaign's owner, the brand's marketing managers, the
#: admins. A chain climbs upwards only.
TIERS: tuple[str, ...] = ("owner", "manager", "admin")
TIER_LABELS: Mapping[str, str] = {
    "owner": "Campaign owner",
    "manager": "Marketing managers",
    "admin": "Admins",
}
#: The longest wait a step may have: past a week it is no longer an escalation.
MAX_WAIT = timedelta(days=7)


@dataclass(frozen=True)
class ChainStep:
    tier: str  # a TIERS value
    wait: timedelta | None  # how long at this tier before climbing; None on the last step


DEFAULT_CHAIN: tuple[ChainStep, ...] = (
    ChainStep("owner", timedelta(minutes=15)),
    ChainStep("manager", timedelta(minutes=30)),
    ChainStep("admin", None),
)


def validate_chain(data: Any) -> list[str]:
    """Every problem with a chain as the settings form and the database hold it —
    ``[{"tier": "owner", "wait_minutes": 15}, …, {"tier": "admin", "wait_minutes": null}]``
    — empty when it is valid.

    Rules: at least one step; known tiers, each at most once and climbing upwards
    (owner → manager → admin, tiers may be skipped); every step but the last waits a
    whole, positive number of minutes (at most a week); the last step has no wait, since
    there is nobody above it to climb to."""
    if not isinstance(data, list | tuple):
        return ["The chain must be a list of steps."]
    if not data:
        return ["The chain needs at least one step."]
    errors: list[str] = []
    previous = -1
    for n, step in enumerate(data, start=1):
        where = f"Step {n}"
        if not isinstance(step, Mapping):
            errors.append(f"{where} must have a tier and a wait.")
            continue
        unknown = sorted(set(step) - {"tier", "wait_minutes"})
        if unknown:
            errors.append(f"{where} has unknown fields: {', '.join(map(str, unknown))}.")
        tier = step.get("tier")
        if tier is None or tier == "":
            errors.append(f"{where} needs a tier ({', '.join(TIERS)}).")
        elif tier not in TIERS:
            errors.append(f"{where}: unknown tier “{tier}” (choose {', '.join(TIERS)}).")
        else:
            index = TIERS.index(tier)
            if index == previous:
                errors.append(f"{where}: “{tier}” is already in the chain.")
            elif index < previous:
                errors.append(f"{where}: “{tier}” comes after {TIERS[previous]}; a chain climbs.")
            previous = max(previous, index)
        wait = step.get("wait_minutes")
        last = n == len(data)
        if last:
            if wait is not None:
                errors.append(f"{where} is the last: leave its wait empty (nobody is above it).")
        elif wait is None:
            errors.append(f"{where} needs a wait before the chain climbs.")
        elif isinstance(wait, bool) or not isinstance(wait, int):
            errors.append(f"{where}: the wait must be a whole number of minutes.")
        elif wait <= 0:
            errors.append(f"{where}: the wait must be more than 0 minutes.")
        elif timedelta(minutes=wait) > MAX_WAIT:
            errors.append(f"{where}: the wait can be at most {_minutes(MAX_WAIT)} minutes.")
    return errors


def chain_from_json(data: Any) -> tuple[ChainStep, ...]:
    """The chain stored as JSON (see :func:`validate_chain`); ``None`` (nothing
    configured) is :data:`DEFAULT_CHAIN`. Raises ``ValueError`` naming every problem."""
    if data is None:
        return DEFAULT_CHAIN
    errors = validate_chain(data)
    if errors:
        raise ValueError(" ".join(errors))
    return tuple(
        ChainStep(
            step["tier"],
            timedelta(minutes=step["wait_minutes"]) if step.get("wait_minutes") else None,
        )
        for step in data
    )


def chain_to_json(chain: Sequence[ChainStep]) -> list[dict[str, Any]]:
    """The chain as plain JSON, the inverse of :func:`chain_from_json`."""
    return [
        {"tier": s.tier, "wait_minutes": _minutes(s.wait) if s.wait is not None else None}
        for s in chain
    ]


@dataclass(frozen=True)
class Climb:
    """Where an escalation stands on its chain at ``now``."""

    level: int  # index into the chain
    entered_level_at: datetime  # when it reached this level (on the chain's clock)
    climbed: bool  # it moved up since the caller's level
    next_climb_at: datetime | None  # None: acknowledged, or at the top
    tier: str  # the chain's tier at ``level``
    newly_reached: tuple[str, ...] = ()  # tiers entered by this climb, lowest first: notify


def climb(
    chain: Sequence[ChainStep],
    *,
    level: int,
    entered_level_at: datetime,
    now: datetime,
    acknowledged: bool,
) -> Climb:
    """Where an escalation at ``level`` since ``entered_level_at`` should be at ``now``.

    Unacknowledged, it climbs one step per expired wait — from exactly the wait, not a
    second before — possibly several when the sweep ran late; each step's entry time is
    the previous one plus its wait, never ``now``, so lateness does not reset the clocks.
    Acknowledged, it never climbs (and has no next climb). At the top it stays."""
    if not chain:
        raise ValueError("An escalation chain needs at least one step.")
    if not 0 <= level < len(chain):
        raise ValueError(f"Level {level} is not on a chain of {len(chain)} steps.")
    if acknowledged:
        return Climb(level, entered_level_at, False, None, chain[level].tier)
    start, reached = level, []
    while (wait := chain[level].wait) is not None and now >= entered_level_at + wait:
        if level + 1 >= len(chain):
            break  # TRICKY: a hand-built chain whose last step has a wait: the top holds
        entered_level_at += wait
        level += 1
        reached.append(chain[level].tier)
    wait = chain[level].wait
    next_at = entered_level_at + wait if wait is not None and level + 1 < len(chain) else None
    return Climb(
        level, entered_level_at, level != start, next_at, chain[level].tier, tuple(reached)
    )


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)
