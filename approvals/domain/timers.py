"""SLA timers on the approval queues, in pure Python.

Every approval request gets a response time (its SLA) when it is raised, from the rule
for its action type and queue. Its clock then runs through four states:

    0 ──── 50 % ──────── 100 % (due) ──────────── 200 % (hard deadline)
    on track │  at risk    │  overdue: escalated once  │  expired: the safe default
             │             │  to the next tier         │  is applied

- **At risk** only changes what the card shows.
- **Overdue**: escalated once to the tier above the queue (Marketing Manager → Admin,
  Legal Reviewer → Admin). The item stays in its own queue and stays decidable there;
  the tier above now sees it too. The Admin queue has nobody above it.
- **Expired** (the hard deadline, twice the SLA): nobody answered, so the rule's safe
  default is applied. Usually that is *expire*: the request ends as rejected and nothing
  runs. The deliberate exception is ``pause``: an agent asks to pause because it saw
  something wrong (a broken link, a CPA spike), and a paused campaign spends nothing
  and can be resumed, so when nobody answers, stopping the spend is the safe side.

``approvals.services.approval_timers_sweep`` applies these states (from Celery beat);
``ApprovalRequest.timer_state`` reads them for the queue card.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from governance.domain.actions import ActionType
from governance.domain.roles import Role


class SafeDefault(StrEnum):
    EXPIRE = "expire"  # ends as rejected; nothing runs
    APPROVE = "approve"  # approved by nobody; the action runs, once


class TimerStatus(StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OVERDUE = "overdue"
    EXPIRED = "expired"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


#: From this share of the SLA an item is at risk.
AT_RISK_SHARE = 0.5
#: At this multiple of the SLA (the hard deadline) the safe default is applied.
HARD_DEADLINE_FACTOR = 2

#: Who sees an overdue item next. A queue missing here has nobody above it.
ESCALATION_TIERS: dict[str, str] = {
    Role.MANAGER.value: Role.ADMIN.value,
    Role.LEGAL.value: Role.ADMIN.value,
}


@dataclass(frozen=True)
class TimerRule:
    """How long a queue has to answer, and what happens when nobody does."""

    name: str  # stable, recorded in the audit trail, e.g. "launch_campaign.timeout"
    sla: timedelta
    safe_default: SafeDefault

    @property
    def hard_deadline(self) -> timedelta:
        return self.sla * HARD_DEADLINE_FACTOR


_EXPIRE, _APPROVE = SafeDefault.EXPIRE, SafeDefault.APPROVE
_H = timedelta(hours=1)

TIMER_RULES: dict[ActionType, TimerRule] = {
    ActionType.LAUNCH_CAMPAIGN: TimerRule("launch_campaign.timeout", 4 * _H, _EXPIRE),
    ActionType.CHANGE_BUDGET: TimerRule("change_budget.timeout", 2 * _H, _EXPIRE),
    ActionType.REALLOCATE_BUDGET: TimerRule("reallocate_budget.timeout", 2 * _H, _EXPIRE),
    ActionType.PUBLISH_CONTENT: TimerRule("publish_content.timeout", 8 * _H, _EXPIRE),
    ActionType.SEND_EMAIL: TimerRule("send_email.timeout", 8 * _H, _EXPIRE),
    ActionType.SELECT_AUDIENCE: TimerRule("select_audience.timeout", 8 * _H, _EXPIRE),
    # The one default that acts: see the module docstring for why pausing is safe.
    ActionType.PAUSE: TimerRule("pause.timeout", _H / 2, _APPROVE),
    ActionType.UPDATE_BRAND_MEMORY: TimerRule("update_brand_memory.timeout", 24 * _H, _EXPIRE),
}
#: Claims and sensitive categories: legal gets a day, and silence never clears a claim.
LEGAL_RULE = TimerRule("legal_review.timeout", 24 * _H, _EXPIRE)
#: Anything without a rule of its own: a working day, then expired.
FALLBACK_RULE = TimerRule("unlisted_action.timeout", 8 * _H, _EXPIRE)


def timer_rule(action_type: str, queue_role: str, *, is_recommendation: bool = False) -> TimerRule:
    """The rule for a request: legal's queue first, then the action's own rule.

    A recommendation never defaults to approved: the policy said only a person may adopt
    it, so silence cannot adopt it either (it keeps its action's response time)."""
    if queue_role == Role.LEGAL.value:
        return LEGAL_RULE
    try:
        rule = TIMER_RULES.get(ActionType(action_type), FALLBACK_RULE)
    except ValueError:
        rule = FALLBACK_RULE
    if is_recommendation and rule.safe_default != SafeDefault.EXPIRE:
        return TimerRule(f"{rule.name}.recommendation", rule.sla, SafeDefault.EXPIRE)
    return rule


def escalation_tier(queue_role: str) -> str | None:
    """The queue an overdue item escalates to, or None at the top."""
    return ESCALATION_TIERS.get(queue_role)


@dataclass(frozen=True)
class TimerState:
    """Where one request's clock stands at ``now``, and what is due."""

    status: TimerStatus
    due_at: datetime  # the SLA ends: overdue from here
    deadline_at: datetime  # the hard deadline: the safe default applies from here
    time_left: timedelta  # until due_at; negative once overdue
    escalate: bool  # escalate now (overdue, not yet escalated, a tier above exists)
    apply_default: bool  # apply the safe default now

    @property
    def default_in(self) -> timedelta:
        """Until the hard deadline; negative once past it."""
        return self.time_left + (self.deadline_at - self.due_at)

    @property
    def label(self) -> str:
        """What the queue card says, e.g. "1 h 20 min left" or "Overdue by 15 min"."""
        if self.status == TimerStatus.EXPIRED:
            return "Past its deadline"
        if self.status == TimerStatus.OVERDUE:
            return f"Overdue by {format_duration(-self.time_left)}"
        return f"{format_duration(self.time_left)} left"


def timer_state(
    requested_at: datetime,
    now: datetime,
    sla: timedelta,
    *,
    escalated: bool = False,
    can_escalate: bool = True,
) -> TimerState:
    """The state of a clock started at ``requested_at`` with response time ``sla``.

    Boundaries belong to the later state: exactly at 50 % it is at risk, exactly at the
    SLA overdue, exactly at twice the SLA expired. Past the hard deadline the default is
    applied without escalating first: escalating an item that is being closed helps nobody.
    """
    if sla <= timedelta(0):
        raise ValueError("An SLA must be a positive duration.")
    elapsed = now - requested_at
    due_at = requested_at + sla
    deadline_at = requested_at + sla * HARD_DEADLINE_FACTOR
    if now >= deadline_at:
        status = TimerStatus.EXPIRED
    elif now >= due_at:
        status = TimerStatus.OVERDUE
    elif elapsed >= sla * AT_RISK_SHARE:
        status = TimerStatus.AT_RISK
    else:
        status = TimerStatus.ON_TRACK
    return TimerState(
        status=status,
        due_at=due_at,
        deadline_at=deadline_at,
        time_left=due_at - now,
        escalate=status == TimerStatus.OVERDUE and can_escalate and not escalated,
        apply_default=status == TimerStatus.EXPIRED,
    )


def format_duration(span: timedelta) -> str:
    """A short human duration, rounded down to the minute: "2 h 5 min", "45 min", "< 1 min"."""
    minutes = int(span.total_seconds() // 60)
    if minutes < 1:
        return "< 1 min"
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
