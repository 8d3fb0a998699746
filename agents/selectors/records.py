"""Each agent's record — the agents page's report card — over the campaigns of the
brands someone may see: runs, failures and latency, tokens and cost, the conversions
and qualified leads of its work, and what reviewers made of its proposals (approved,
rejected and why, edited before approving and by how much). A fixed number of queries
whatever the number of runs.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import CharField, Count, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, Coalesce, NullIf

from approvals.analytics import median
from approvals.models import ApprovalRequest, ApprovalStatus
from governance import policies
from governance.domain.audit import Actor
from governance.models import AuditEvent

from ..models import AgentRun, RunStatus
from ..providers.offline import LABEL as OFFLINE_LABEL
from .common import AGENTS, STOPPED, agent_label, duration_label

#: A contact scored at least this high by the CRM agent counts as a qualified lead.
QUALIFIED_SCORE = 60


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


def agent_has_runs(user: Any, agent: str) -> bool:
    """Whether ``agent`` has run on a campaign of the brands ``user`` may see."""
    return runs_for_user(user).filter(agent=agent).exists()


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
            failures=Count("pk", filter=Q(status__in=STOPPED)),
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
    return _run_rows(runs_for_user(user).filter(agent=agent, status__in=STOPPED), limit)


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
