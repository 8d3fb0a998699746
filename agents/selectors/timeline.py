"""A campaign's agent work as its page shows it (and live updates carry): the latest
plan, the latest report, and the timeline of runs — what each worked from, what it
handed on and who picked that up, and the gate's decision on each action it proposed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Prefetch

from approvals.domain.policy import Outcome
from approvals.models import ApprovalRequest, ApprovalStatus, PolicyDecisionRecord
from governance.domain.actions import ActionType

from ..domain.handoffs import HandoffKind, PlanV1, ReportV1
from ..models import AgentRun, Handoff, HandoffStatus
from ..providers.offline import LABEL as OFFLINE_LABEL
from .common import STOPPED, agent_label, duration_label
from .handoffs import (
    DraftView,
    HandoffRef,
    HandoffView,
    PlanStepView,
    entry_pairs,
    handoff_view,
    parsed_handoff,
    plan_steps,
)

#: The campaign page shows this many of the latest runs (a long-lived campaign's
#: monitoring runs would otherwise make the page, and its live updates, unbounded).
TIMELINE_LIMIT = 50


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
    plan = parsed_handoff(handoff, PlanV1)
    if plan is None:
        return None
    return CurrentPlan(
        handoff_id=handoff.pk,
        run_id=handoff.run_id,
        created_at=handoff.created_at,
        model_label=handoff.run.model_label,
        objective=plan.objective,
        success_metric=plan.success_metric,
        steps=plan_steps(plan),
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
    report = parsed_handoff(handoff, ReportV1) if handoff else None
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
        return self.status in STOPPED


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

    found = (
        Campaign.objects.filter(pk=campaign_id)
        .values_list("brand__currency", "phase", "brand_id")
        .first()
    )
    if found is None:
        return None
    currency = currency or found[0]
    return AgentWork(
        delivering=found[1] in ("execution", "monitoring"),
        campaign_id=campaign_id,
        currency=currency,
        plan=current_plan(campaign_id),
        timeline=with_references(campaign_timeline(campaign_id), brand_id=found[2]),
        report=latest_report(campaign_id),
    )


def with_references(timeline: CampaignTimeline, *, brand_id: int) -> CampaignTimeline:
    """The timeline with each draft's citations (``M12``, ``C3``) resolved to the brand's
    memory entries and claims: a link with the entry's text, not a bare code."""
    from memory.selectors import references

    cited = {
        ref
        for run in timeline.runs
        for handoff in run.handoffs
        for draft in handoff.drafts
        for ref in draft.cites
    }
    if not cited:
        return timeline
    found = references(brand_id, cited)

    def linked(draft: DraftView) -> DraftView:
        links = tuple(
            (ref, found[ref].title, found[ref].url) if ref in found else (ref, "", "")
            for ref in draft.cites
        )
        return replace(draft, cite_links=links)

    runs = tuple(
        replace(
            run,
            handoffs=tuple(
                replace(handoff, drafts=tuple(linked(d) for d in handoff.drafts))
                if handoff.drafts
                else handoff
                for handoff in run.handoffs
            ),
        )
        for run in timeline.runs
    )
    return replace(timeline, runs=runs)


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
        inputs=entry_pairs(run.inputs),
        consumes=(
            HandoffRef(consumed.pk, consumed.kind, consumed.status, consumed.run.agent)
            if consumed is not None
            else None
        ),
        handoffs=tuple(handoff_view(h) for h in run.handoffs.all()),
        decisions=tuple(_decision_view(d) for d in run.policy_decisions.all()),
    )


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
