"""Reads of agent work: a campaign's plan and timeline, and each agent's record.

Everything in a handoff came from a model or from uploaded data, so it is untrusted:
these read models hand it on as plain strings and numbers for templates to escape,
never as markup.
"""

from __future__ import annotations

import json
import logging
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, get_args

from django.db.models import (
    CharField,
    Count,
    F,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, NullIf
from django.utils import timezone

from approvals.analytics import format_span, median
from approvals.domain.policy import Outcome
from approvals.models import ApprovalRequest, ApprovalStatus, PolicyDecisionRecord
from campaigns.domain.briefs import CHANNELS
from governance import policies
from governance.domain.actions import ActionType
from governance.domain.audit import Actor
from governance.models import AuditEvent

from .domain.handoffs import (
    DraftsV1,
    HandoffInvalid,
    HandoffKind,
    PlanV1,
    ReportV1,
    Specialist,
    validate_handoff,
)
from .models import AgentRun, Handoff, HandoffStatus, RunStatus
from .providers.offline import LABEL as OFFLINE_LABEL

logger = logging.getLogger(__name__)

#: Every agent, in the order work flows: the planner, then its specialists.
AGENTS: tuple[str, ...] = ("planner", *get_args(Specialist))

#: How an agent's name is written where it differs from its capitalised id.
_AGENT_LABELS = {"crm": "CRM"}


def agent_label(agent: str) -> str:
    return _AGENT_LABELS.get(agent, agent[:1].upper() + agent[1:])


#: The campaign page shows this many of the latest runs (a long-lived campaign's
#: monitoring runs would otherwise make the page, and its live updates, unbounded).
TIMELINE_LIMIT = 50

#: A contact scored at least this high by the CRM agent counts as a qualified lead.
QUALIFIED_SCORE = 60

#: Generic handoff rendering: how much of an unknown or rejected payload is shown.
_MAX_ENTRIES = 20
_MAX_ITEMS = 20
_MAX_TEXT = 500

_FAILED = (RunStatus.FAILED, RunStatus.ESCALATED)


# --- The campaign's plan ---------------------------------------------------------------


@dataclass(frozen=True)
class PlanStepView:
    specialist: str
    goal: str
    expected_output: str
    needs_approval: bool

    @property
    def specialist_label(self) -> str:
        return agent_label(self.specialist)


@dataclass(frozen=True)
class CurrentPlan:
    """The latest accepted plan of a campaign, parsed."""

    handoff_id: int
    run_id: int
    created_at: datetime
    model_label: str
    objective: str
    success_metric: str
    steps: tuple[PlanStepView, ...]

    @property
    def offline_composer(self) -> bool:
        return self.model_label == OFFLINE_LABEL


def current_plan(campaign_id: int) -> CurrentPlan | None:
    """The campaign's latest accepted plan, or None while there is none. One query."""
    handoff = (
        Handoff.objects.filter(
            campaign_id=campaign_id, kind=HandoffKind.PLAN, status=HandoffStatus.ACCEPTED
        )
        .select_related("run")
        .order_by("-created_at", "-id")
        .first()
    )
    if handoff is None:
        return None
    plan = _parse(handoff, PlanV1)
    if plan is None:
        return None
    return CurrentPlan(
        handoff_id=handoff.pk,
        run_id=handoff.run_id,
        created_at=handoff.created_at,
        model_label=handoff.run.model_label,
        objective=plan.objective,
        success_metric=plan.success_metric,
        steps=_plan_steps(plan),
    )


@dataclass(frozen=True)
class LatestReport:
    """The reporting agent's latest summary for leadership, parsed."""

    handoff_id: int
    run_id: int
    created_at: datetime
    model_label: str
    occasion: str
    headline: str
    what_changed: tuple[str, ...]
    why: tuple[str, ...]
    what_next: tuple[str, ...]

    @property
    def offline_composer(self) -> bool:
        return self.model_label == OFFLINE_LABEL


def latest_report(campaign_id: int) -> LatestReport | None:
    """The campaign's newest accepted report, or None. One query."""
    handoff = (
        Handoff.objects.filter(
            campaign_id=campaign_id, kind=HandoffKind.REPORT, status=HandoffStatus.ACCEPTED
        )
        .select_related("run")
        .order_by("-created_at", "-id")
        .first()
    )
    report = _parse(handoff, ReportV1) if handoff else None
    if report is None:
        return None
    inputs = handoff.run.inputs or {}
    occasion = str(inputs.get("occasion") or "")
    if not occasion and inputs.get("asked by"):
        occasion = f"asked for by {inputs['asked by']}"
    return LatestReport(
        handoff_id=handoff.pk,
        run_id=handoff.run_id,
        created_at=handoff.created_at,
        model_label=handoff.run.model_label,
        occasion=occasion,
        headline=report.headline,
        what_changed=tuple(report.what_changed),
        why=tuple(report.why),
        what_next=tuple(report.what_next),
    )


def _plan_steps(plan: PlanV1) -> tuple[PlanStepView, ...]:
    return tuple(
        PlanStepView(s.specialist, s.goal, s.expected_output, s.needs_approval) for s in plan.steps
    )


# --- The campaign's timeline -----------------------------------------------------------


@dataclass(frozen=True)
class DraftView:
    channel: str
    channel_label: str
    headline: str
    body: str
    claims: tuple[str, ...]
    cites: tuple[str, ...]
    segment: str = ""


@dataclass(frozen=True)
class Entry:
    """One top-level field of a handoff shown generically: a text, a list of texts, or
    a list of small records (each a tuple of (label, text) pairs)."""

    label: str
    text: str = ""
    items: tuple[str, ...] = ()
    records: tuple[tuple[tuple[str, str], ...], ...] = ()
    more: int = 0  # items or records left out


@dataclass(frozen=True)
class HandoffView:
    pk: int
    kind: str
    status: str
    schema_version: int | None
    created_at: datetime
    problems: tuple[str, ...]
    plan_steps: tuple[PlanStepView, ...] = ()
    plan_objective: str = ""
    plan_success_metric: str = ""
    drafts: tuple[DraftView, ...] = ()
    entries: tuple[Entry, ...] = ()
    picked_up_by: tuple[str, ...] = ()

    @property
    def rejected(self) -> bool:
        return self.status == HandoffStatus.REJECTED

    @property
    def is_plan(self) -> bool:
        return bool(self.plan_steps)

    @property
    def is_drafts(self) -> bool:
        return bool(self.drafts)


@dataclass(frozen=True)
class HandoffRef:
    """The handoff a run worked from."""

    pk: int
    kind: str
    status: str
    from_agent: str


@dataclass(frozen=True)
class DecisionView:
    """What the delegation-policy gate decided for one action a run proposed."""

    pk: int
    action_type: str
    action_label: str
    outcome: str
    outcome_label: str
    rule: str
    reason: str
    approver_role: str
    policy_version: int
    decided_at: datetime
    approval_id: int | None = None
    approval_status: str = ""
    approval_status_label: str = ""

    @property
    def approval_pending(self) -> bool:
        return self.approval_status == ApprovalStatus.PENDING


@dataclass(frozen=True)
class RunView:
    pk: int
    agent: str
    status: str
    status_label: str
    model_label: str
    attempts: int
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration: timedelta | None
    input_tokens: int
    output_tokens: int
    cost: Decimal
    error: str
    inputs: tuple[tuple[str, str], ...]
    consumes: HandoffRef | None
    handoffs: tuple[HandoffView, ...]
    decisions: tuple[DecisionView, ...]

    @property
    def offline_composer(self) -> bool:
        """The built-in deterministic composer, which must never pass for an LLM."""
        return self.model_label == OFFLINE_LABEL

    @property
    def agent_label(self) -> str:
        return agent_label(self.agent)

    @property
    def duration_label(self) -> str:
        return duration_label(self.duration)

    @property
    def stopped(self) -> bool:
        return self.status in _FAILED


@dataclass(frozen=True)
class CampaignTimeline:
    campaign_id: int
    runs: tuple[RunView, ...]  # oldest first, the latest TIMELINE_LIMIT of them
    total_runs: int

    @property
    def earlier_runs(self) -> int:
        return self.total_runs - len(self.runs)

    @property
    def rejected_handoffs(self) -> tuple[tuple[RunView, HandoffView], ...]:
        return tuple((run, h) for run in self.runs for h in run.handoffs if h.rejected)

    @property
    def latest(self) -> RunView | None:
        return self.runs[-1] if self.runs else None


def campaign_timeline(campaign_id: int, *, limit: int = TIMELINE_LIMIT) -> CampaignTimeline:
    """The campaign's latest runs, oldest first, each with what it worked from, what it
    handed on (and who picked that up), and the gate's decision on each action it
    proposed. Four queries whatever the number of runs (five past ``limit``)."""
    consumers = Prefetch("consumers", queryset=AgentRun.objects.only("id", "agent", "consumes_id"))
    handoffs = Prefetch(
        "handoffs",
        queryset=Handoff.objects.order_by("created_at", "id").prefetch_related(consumers),
    )
    decisions = Prefetch(
        "policy_decisions",
        queryset=PolicyDecisionRecord.objects.select_related("approval_request").order_by(
            "decided_at", "id"
        ),
    )
    latest = list(
        AgentRun.objects.filter(campaign_id=campaign_id)
        .select_related("consumes__run")
        .prefetch_related(handoffs, decisions)
        .order_by("-queued_at", "-id")[:limit]
    )
    total = len(latest)
    if total == limit:
        total = AgentRun.objects.filter(campaign_id=campaign_id).count()
    return CampaignTimeline(
        campaign_id=campaign_id,
        runs=tuple(_run_view(run) for run in reversed(latest)),
        total_runs=total,
    )


@dataclass(frozen=True)
class AgentWork:
    """What the campaign page's Plan and Agent work sections show (and live updates
    carry): the same for everyone who may see the campaign."""

    campaign_id: int
    currency: str
    plan: CurrentPlan | None
    timeline: CampaignTimeline
    report: LatestReport | None = None
    #: The campaign is live (execution or monitoring): the performance agent watches.
    delivering: bool = False

    @property
    def report_in_progress(self) -> bool:
        """A report was asked for (or is due) and the reporting agent has not handed it
        on yet: the report card says so instead of showing only the old one."""
        return any(
            run.agent == "reporting" and run.status in ("queued", "running")
            for run in self.timeline.runs
        )

    @property
    def progress(self) -> tuple[tuple[PlanStepView, str, str], ...]:
        """Each plan step with where its work stands, from its specialist's latest run:
        (step, state, label) — state is waiting, queued, running, done or stopped."""
        if self.plan is None:
            return ()
        latest: dict[str, RunView] = {}
        for run in self.timeline.runs:
            latest[run.agent] = run
        steps = []
        for step in self.plan.steps:
            run = latest.get(step.specialist)
            if run is None and step.specialist == "performance" and self.delivering:
                # The performance agent's watch is the SLA clocks and detectors on every
                # delivery, not a run: while the campaign delivers, it is at work.
                state, label = "running", "Watching the numbers"
            elif run is None:
                state, label = "waiting", "Not started"
            elif run.status in ("queued", "running"):
                state, label = run.status, run.status_label
            elif run.stopped:
                state, label = "stopped", run.status_label
            else:
                state, label = "done", "Done"
            steps.append((step, state, label))
        return tuple(steps)


def campaign_agent_work(campaign_id: int, *, currency: str | None = None) -> AgentWork | None:
    """The plan and the timeline of a campaign, or None if there is no such campaign.
    Callers decide who may see it (the campaign page, or the campaign's socket group)."""
    from campaigns.models import Campaign

    found = Campaign.objects.filter(pk=campaign_id).values_list("brand__currency", "phase").first()
    if found is None:
        return None
    currency = currency or found[0]
    return AgentWork(
        delivering=found[1] in ("execution", "monitoring"),
        campaign_id=campaign_id,
        currency=currency,
        plan=current_plan(campaign_id),
        timeline=campaign_timeline(campaign_id),
        report=latest_report(campaign_id),
    )


def _run_view(run: AgentRun) -> RunView:
    consumed = run.consumes
    return RunView(
        pk=run.pk,
        agent=run.agent,
        status=run.status,
        status_label=run.get_status_display(),
        model_label=run.model_label,
        attempts=run.attempts,
        queued_at=run.queued_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        duration=run.duration,
        input_tokens=run.input_tokens,
        output_tokens=run.output_tokens,
        cost=run.cost,
        error=run.error,
        inputs=tuple(
            (_label(str(key)), _short(value)) for key, value in _items(run.inputs)[:_MAX_ENTRIES]
        ),
        consumes=(
            HandoffRef(consumed.pk, consumed.kind, consumed.status, consumed.run.agent)
            if consumed is not None
            else None
        ),
        handoffs=tuple(_handoff_view(h) for h in run.handoffs.all()),
        decisions=tuple(_decision_view(d) for d in run.policy_decisions.all()),
    )


def _handoff_view(handoff: Handoff) -> HandoffView:
    base = {
        "pk": handoff.pk,
        "kind": handoff.kind,
        "status": handoff.status,
        "schema_version": handoff.schema_version,
        "created_at": handoff.created_at,
        "problems": tuple(str(p) for p in (handoff.problems or [])),
        "picked_up_by": tuple(run.agent for run in handoff.consumers.all()),
    }
    if handoff.status == HandoffStatus.ACCEPTED:
        if handoff.kind == HandoffKind.PLAN and (plan := _parse(handoff, PlanV1)) is not None:
            return HandoffView(
                **base,
                plan_steps=_plan_steps(plan),
                plan_objective=plan.objective,
                plan_success_metric=plan.success_metric,
            )
        if handoff.kind == HandoffKind.DRAFTS and (drafts := _parse(handoff, DraftsV1)):
            return HandoffView(
                **base,
                drafts=tuple(
                    DraftView(
                        channel=v.channel,
                        channel_label=CHANNELS.get(v.channel, v.channel),
                        headline=v.headline,
                        body=v.body,
                        claims=tuple(v.claims),
                        cites=tuple(v.cites),
                        segment=v.segment,
                    )
                    for v in drafts.variants
                ),
            )
    return HandoffView(**base, entries=generic_entries(handoff.payload))


def _parse(handoff: Handoff, schema: type) -> Any:
    """The handoff parsed by its schema, or None if the stored row no longer passes it
    (it is then shown generically, as data)."""
    try:
        parsed = validate_handoff(handoff.kind, handoff.payload)
    except HandoffInvalid:
        logger.warning("Stored %s handoff %s no longer passes its schema", handoff.kind, handoff.pk)
        return None
    return parsed if isinstance(parsed, schema) else None


def generic_entries(payload: Any) -> tuple[Entry, ...]:
    """Any JSON as a definition list: one entry per top-level field (bookkeeping fields
    left out), nested values flattened to short text. Bounded, whatever it holds."""
    if not isinstance(payload, dict):
        payload = {"value": payload}
    entries = []
    for key, value in _items(payload):
        if key in ("schema_version", "campaign_id"):
            continue
        label = _label(str(key))
        if isinstance(value, list):
            if value and all(isinstance(v, dict) for v in value):
                records = tuple(
                    tuple((_label(str(k)), _short(v)) for k, v in _items(record)[:_MAX_ENTRIES])
                    for record in value[:_MAX_ITEMS]
                )
                entries.append(Entry(label, records=records, more=max(0, len(value) - _MAX_ITEMS)))
            else:
                items = tuple(_short(v) for v in value[:_MAX_ITEMS])
                entries.append(Entry(label, items=items, more=max(0, len(value) - _MAX_ITEMS)))
        elif isinstance(value, dict):
            pairs = tuple((_label(str(k)), _short(v)) for k, v in _items(value)[:_MAX_ENTRIES])
            entries.append(Entry(label, records=(pairs,)))
        else:
            entries.append(Entry(label, text=_short(value)))
        if len(entries) >= _MAX_ENTRIES:
            break
    return tuple(entries)


def _items(value: Any) -> list[tuple[Any, Any]]:
    return list(value.items()) if isinstance(value, dict) else []


def _label(key: str) -> str:
    return key.replace("_", " ").strip().capitalize()[:80] or "—"


def _short(value: Any) -> str:
    if value is None or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


_OUTCOME_LABELS = {
    Outcome.ALLOW: "Allowed: carried out",
    Outcome.APPROVAL: "Held for approval",
    Outcome.RECOMMEND: "Recommended only",
    Outcome.REFUSE: "Refused",
}


def _decision_view(decision: PolicyDecisionRecord) -> DecisionView:
    try:
        action_label = ActionType(decision.action_type).label
    except ValueError:
        action_label = decision.action_type
    outcome_label = _OUTCOME_LABELS.get(decision.outcome, decision.outcome)
    approval: ApprovalRequest | None = getattr(decision, "approval_request", None)
    return DecisionView(
        pk=decision.pk,
        action_type=decision.action_type,
        action_label=action_label,
        outcome=decision.outcome,
        outcome_label=outcome_label,
        rule=decision.rule,
        reason=decision.reason,
        approver_role=decision.approver_role,
        policy_version=decision.policy_version,
        decided_at=decision.decided_at,
        approval_id=approval.pk if approval else None,
        approval_status=approval.status if approval else "",
        approval_status_label=approval.get_status_display() if approval else "",
    )


def duration_label(span: timedelta | None) -> str:
    """Agent runs are often sub-second: show tenths below a minute, then as the queues do."""
    if span is None:
        return "—"
    seconds = span.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds >= 0.1 else "< 0.1 s"
    return format_span(span)


# --- Each agent's record ---------------------------------------------------------------


@dataclass(frozen=True)
class RejectionReason:
    text: str
    count: int


@dataclass(frozen=True)
class AgentRecord:
    """One agent's track record over the campaigns of the brands someone may see."""

    agent: str
    runs: int = 0
    failures: int = 0  # failed or escalated
    in_progress: int = 0
    median_latency: timedelta | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost: Decimal = Decimal("0")
    # Conversions of the campaigns it worked on (each campaign counted once).
    conversions: int = 0
    # Contacts of its brands it scored at least QUALIFIED_SCORE (the CRM agent's work).
    qualified_leads: int = 0
    proposed: int = 0
    approved: int = 0  # by a person (not a timer's safe default)
    rejected: int = 0
    changes_requested: int = 0
    top_rejection_reasons: tuple[RejectionReason, ...] = ()
    edited: int = 0  # approvals a reviewer edited before approving
    median_edit_chars: float | None = None
    currency: str = ""  # of the costs, when every brand in view shares one

    @property
    def label(self) -> str:
        return agent_label(self.agent)

    @property
    def median_latency_label(self) -> str:
        return duration_label(self.median_latency)

    @property
    def decided(self) -> int:
        return self.approved + self.rejected + self.changes_requested

    @property
    def approval_rate(self) -> float | None:
        """Approved ÷ decided by a person (approved, rejected or sent back for changes)."""
        return self.approved / self.decided if self.decided else None

    @property
    def edited_share(self) -> float | None:
        return self.edited / self.approved if self.approved else None

    @property
    def cost_per_conversion(self) -> Decimal | None:
        if not self.conversions:
            return None
        return (self.cost / self.conversions).quantize(Decimal("0.0001"))

    @property
    def cost_per_qualified_lead(self) -> Decimal | None:
        if not self.qualified_leads:
            return None
        return (self.cost / self.qualified_leads).quantize(Decimal("0.0001"))


def runs_for_user(user: Any) -> QuerySet[AgentRun]:
    """Runs on campaigns of the brands ``user`` may see."""
    return AgentRun.objects.filter(campaign__brand_id__in=policies.visible_brand_ids(user))


def agent_records(user: Any, *, agents: list[str] | None = None) -> list[AgentRecord]:
    """Each agent's record over the brands ``user`` may see: every known agent (and any
    other that has run), or only ``agents``. A fixed number of queries."""
    brand_ids = policies.visible_brand_ids(user)
    runs = AgentRun.objects.filter(campaign__brand_id__in=brand_ids)
    if agents is not None:
        runs = runs.filter(agent__in=agents)
    totals = {
        row["agent"]: row
        for row in runs.order_by()
        .values("agent")
        .annotate(
            n=Count("pk"),
            failures=Count("pk", filter=Q(status__in=_FAILED)),
            in_progress=Count("pk", filter=Q(status__in=(RunStatus.QUEUED, RunStatus.RUNNING))),
            tokens_in=Sum("input_tokens"),
            tokens_out=Sum("output_tokens"),
            cost=Sum("cost"),
        )
    }
    latencies: dict[str, list[timedelta]] = defaultdict(list)
    for agent, started, finished in (
        runs.filter(started_at__isnull=False, finished_at__isnull=False)
        .order_by()
        .values_list("agent", "started_at", "finished_at")
    ):
        latencies[agent].append(finished - started)
    conversions = _conversions_by_agent(runs)
    approvals = _approvals_by_agent(brand_ids, agents)
    reasons = _rejection_reasons_by_agent(brand_ids, agents)
    edits = _edits_by_agent(brand_ids, agents)
    names = list(agents) if agents is not None else list(AGENTS)
    names += sorted(set(totals) - set(names))
    leads = _qualified_leads_by_agent(brand_ids, names)
    currency = _single_currency(brand_ids)
    records = []
    for name in names:
        total = totals.get(name, {})
        verdicts = approvals.get(name, {})
        efforts = edits.get(name, [])
        records.append(
            AgentRecord(
                agent=name,
                runs=total.get("n", 0),
                failures=total.get("failures", 0),
                in_progress=total.get("in_progress", 0),
                median_latency=median(latencies.get(name, [])),
                input_tokens=total.get("tokens_in") or 0,
                output_tokens=total.get("tokens_out") or 0,
                cost=total.get("cost") or Decimal("0"),
                conversions=conversions.get(name, 0),
                qualified_leads=leads.get(name, 0),
                proposed=verdicts.get("proposed", 0),
                approved=verdicts.get("approved", 0),
                rejected=verdicts.get("rejected", 0),
                changes_requested=verdicts.get("changes_requested", 0),
                top_rejection_reasons=reasons.get(name, ()),
                edited=len(efforts),
                median_edit_chars=_median_number(efforts),
                currency=currency,
            )
        )
    return records


@dataclass(frozen=True)
class AgentRunRow:
    """One run in an agent's history, with the campaign it was for."""

    pk: int
    campaign_id: int
    campaign_name: str
    brand_name: str
    currency: str
    status: str
    status_label: str
    model_label: str
    attempts: int
    queued_at: datetime
    duration: timedelta | None
    input_tokens: int
    output_tokens: int
    cost: Decimal
    error: str

    @property
    def offline_composer(self) -> bool:
        return self.model_label == OFFLINE_LABEL

    @property
    def duration_label(self) -> str:
        return duration_label(self.duration)


def agent_recent_runs(user: Any, agent: str, *, limit: int = 50) -> list[AgentRunRow]:
    """The agent's latest runs on campaigns ``user`` may see, newest first."""
    return _run_rows(runs_for_user(user).filter(agent=agent), limit)


def agent_failures(user: Any, agent: str, *, limit: int = 20) -> list[AgentRunRow]:
    """The agent's latest failed or escalated runs (with why) that ``user`` may see."""
    return _run_rows(runs_for_user(user).filter(agent=agent, status__in=_FAILED), limit)


def _run_rows(runs: QuerySet[AgentRun], limit: int) -> list[AgentRunRow]:
    return [
        AgentRunRow(
            pk=run.pk,
            campaign_id=run.campaign_id,
            campaign_name=run.campaign.name,
            brand_name=run.campaign.brand.name,
            currency=run.campaign.brand.currency,
            status=run.status,
            status_label=run.get_status_display(),
            model_label=run.model_label,
            attempts=run.attempts,
            queued_at=run.queued_at,
            duration=run.duration,
            input_tokens=run.input_tokens,
            output_tokens=run.output_tokens,
            cost=run.cost,
            error=run.error,
        )
        for run in runs.select_related("campaign__brand").order_by("-queued_at", "-id")[:limit]
    ]


def _conversions_by_agent(runs: QuerySet[AgentRun]) -> dict[str, int]:
    """Conversions of the campaigns each agent worked on, each campaign once."""
    from campaigns.models import PerformanceSample

    worked_on: dict[str, set[int]] = defaultdict(set)
    for agent, campaign_id in runs.order_by().values_list("agent", "campaign_id").distinct():
        worked_on[agent].add(campaign_id)
    per_campaign = dict(
        PerformanceSample.objects.filter(campaign_id__in=runs.order_by().values("campaign_id"))
        .order_by()
        .values("campaign_id")
        .annotate(n=Sum("conversions"))
        .values_list("campaign_id", "n")
    )
    return {
        agent: sum(per_campaign.get(pk) or 0 for pk in campaigns)
        for agent, campaigns in worked_on.items()
    }


def _proposals(brand_ids: list[int], agents: list[str] | None) -> QuerySet[ApprovalRequest]:
    """Approval requests an agent raised, each tagged with the agent: the run its policy
    decision names, or (for requests raised before runs were linked) the agent it names."""
    proposals = (
        ApprovalRequest.objects.filter(brand_id__in=brand_ids)
        .annotate(
            proposer=Coalesce(
                F("decision__agent_run__agent"), NullIf(F("requested_by_agent"), Value(""))
            )
        )
        .filter(proposer__isnull=False)
    )
    if agents is not None:
        proposals = proposals.filter(proposer__in=agents)
    return proposals.order_by()


def _approvals_by_agent(
    brand_ids: list[int], agents: list[str] | None
) -> dict[str, dict[str, int]]:
    by_person = Q(decided_by__isnull=False)
    return {
        row["proposer"]: row
        for row in _proposals(brand_ids, agents)
        .values("proposer")
        .annotate(
            proposed=Count("pk"),
            approved=Count("pk", filter=by_person & Q(status=ApprovalStatus.APPROVED)),
            rejected=Count("pk", filter=by_person & Q(status=ApprovalStatus.REJECTED)),
            changes_requested=Count(
                "pk", filter=by_person & Q(status=ApprovalStatus.CHANGES_REQUESTED)
            ),
        )
    }


def _rejection_reasons_by_agent(
    brand_ids: list[int], agents: list[str] | None, *, top: int = 3
) -> dict[str, tuple[RejectionReason, ...]]:
    """The reasons reviewers gave most often when rejecting an agent's requests (the same
    words, ignoring case and surrounding space, count as one reason)."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    wording: dict[tuple[str, str], str] = {}
    for agent, note in (
        _proposals(brand_ids, agents)
        .filter(status=ApprovalStatus.REJECTED)
        .order_by("pk")  # the first wording of a reason is the one shown
        .values_list("proposer", "decision_note")
    ):
        text = " ".join((note or "").split())
        if not text:
            continue
        key = text.casefold()
        counts[agent][key] += 1
        wording.setdefault((agent, key), text)
    return {
        agent: tuple(
            RejectionReason(wording[(agent, key)], n)
            for key, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        )
        for agent, counter in counts.items()
    }


def _edits_by_agent(brand_ids: list[int], agents: list[str] | None) -> dict[str, list[int]]:
    """Characters reviewers changed in each agent's drafts before approving them, one
    figure per edited approval (from the ``approval.approved`` audit rows)."""
    approved = (
        _proposals(brand_ids, agents)
        .filter(status=ApprovalStatus.APPROVED)
        .annotate(key=Cast("pk", CharField()))
        .values("key")
    )
    efforts = list(
        AuditEvent.objects.filter(
            action="approval.approved",
            object_type=ApprovalRequest._meta.label_lower,
            object_id__in=approved,
            data__edit__effort_chars__isnull=False,
        )
        .order_by()
        .values_list("object_id", "data__edit__effort_chars")
    )
    if not efforts:
        return {}
    proposer_of = dict(
        _proposals(brand_ids, agents)
        .filter(pk__in=[int(object_id) for object_id, _ in efforts])
        .values_list("pk", "proposer")
    )
    by_agent: dict[str, list[int]] = defaultdict(list)
    for object_id, effort in efforts:
        agent = proposer_of.get(int(object_id))
        if agent is not None:
            by_agent[agent].append(int(effort))
    return by_agent


def _qualified_leads_by_agent(brand_ids: list[int], agents: list[str]) -> dict[str, int]:
    """Contacts of these brands each agent scored as qualified (the CRM agent writes the
    score, and its actor label as ``scored_by``)."""
    from crm.models import Contact

    label_of = {Actor.for_agent(agent).label: agent for agent in agents}
    return {
        label_of[label]: n
        for label, n in Contact.objects.filter(
            brand_id__in=brand_ids, lead_score__gte=QUALIFIED_SCORE, scored_by__in=list(label_of)
        )
        .order_by()
        .values("scored_by")
        .annotate(n=Count("pk"))
        .values_list("scored_by", "n")
    }


def _single_currency(brand_ids: list[int]) -> str:
    from campaigns.models import Brand

    currencies = set(
        Brand.objects.filter(pk__in=brand_ids).order_by().values_list("currency", flat=True)
    )
    return currencies.pop() if len(currencies) == 1 else ""


def _median_number(values: list[int]) -> float | None:
    return float(statistics.median(values)) if values else None


# --- Experiments ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ExperimentView:
    """One channel's test as the campaign page shows it: the latest round's read-out and
    the shares applied over time, with the figures already built."""

    experiment: Any
    channel_label: str
    latest: Any  # the latest AllocationRound
    summary: str
    share_summary: str
    intervals_figure: dict[str, Any]
    best_figure: dict[str, Any]
    share_figure: dict[str, Any]
    approval_id: int | None

    @property
    def pk(self) -> int:
        return self.experiment.pk

    @property
    def intervals_id(self) -> str:
        return f"chart-intervals-{self.pk}-data"

    @property
    def best_id(self) -> str:
        return f"chart-best-{self.pk}-data"

    @property
    def shares_id(self) -> str:
        return f"chart-shares-{self.pk}-data"

    @property
    def arms_table(self) -> list[dict[str, str]]:
        """The latest round's arms as the page's table reads them (plain strings)."""
        rows = []
        for arm in sorted(self.latest.arms, key=lambda a: -float(a["mean"])):
            rows.append(
                {
                    "label": arm["label"],
                    "headline": arm.get("headline", ""),
                    "trials": f"{int(arm['trials']):,}",
                    "successes": f"{int(arm['successes']):,}",
                    "rate": f"{arm['mean']:.2%} ({arm['low']:.2%} to {arm['high']:.2%})",
                    "best": _chance(float(arm["prob_best"])),
                    "share": f"{float(self.latest.shares.get(arm['label'], 0)):.0%}",
                    "stopped": arm.get("stopped", ""),
                }
            )
        return rows


def _chance(p: float) -> str:
    """A probability as the summary writes it: never rounded to certainty."""
    if p > 0.99:
        return "> 99 %"
    if 0 < p < 0.01 or p == 0:
        return "< 1 %"
    return f"{p:.0%}".replace("%", " %")


def campaign_experiments(campaign_id: int) -> list[ExperimentView]:
    """The campaign's tests (the latest per channel), newest round's read-out first."""
    from controltower import charts

    from .models import AllocationRound, Experiment, RoundStatus

    views = []
    seen: set[str] = set()
    experiments = Experiment.objects.filter(campaign_id=campaign_id).order_by("-started_at")
    for experiment in experiments:
        if experiment.channel in seen:
            continue
        seen.add(experiment.channel)
        rounds = list(AllocationRound.objects.filter(experiment=experiment).order_by("number"))
        if not rounds:
            continue
        latest = rounds[-1]
        readouts = [
            charts.ArmReadout(
                label=f"{arm['label']} {arm.get('headline', '')}".strip()[:60],
                mean=float(arm["mean"]),
                low=float(arm["low"]),
                high=float(arm["high"]),
                prob_best=float(arm["prob_best"]),
                trials=int(arm["trials"]),
                successes=int(arm["successes"]),
                stopped=arm.get("stopped", ""),
                winner=arm["label"] == experiment.winner,
            )
            for arm in latest.arms
        ]
        labels = {
            arm["label"]: f"{arm['label']} {arm.get('headline', '')}".strip()[:60]
            for arm in latest.arms
        }
        even = {label: 1 / len(labels) for label in labels.values()}
        history = [(experiment.started_at, even)] + [
            (r.applied_at, {labels.get(k, k): v for k, v in r.shares.items()})
            for r in rounds
            if r.status == RoundStatus.APPLIED and r.applied_at
        ]
        winner_label = labels.get(experiment.winner) if experiment.winner else None
        approval = (
            latest.decision.approval_request
            if latest.decision_id and hasattr(latest.decision, "approval_request")
            else None
        )
        views.append(
            ExperimentView(
                experiment=experiment,
                channel_label=CHANNELS.get(experiment.channel, experiment.channel),
                latest=latest,
                summary=charts.experiment_summary(
                    readouts, winner_label=winner_label, min_sample=experiment.min_sample
                ),
                share_summary=charts.allocation_summary(history),
                intervals_figure=charts.figure_data(charts.experiment_intervals_figure(readouts)),
                best_figure=charts.figure_data(charts.probability_best_figure(readouts)),
                share_figure=charts.figure_data(
                    # The shares in force last until now: the market still delivers by them.
                    charts.allocation_share_figure(history, until=max(latest.at, timezone.now()))
                ),
                approval_id=approval.pk if approval and approval.status == "pending" else None,
            )
        )
    return views
