"""What each campaign waits for — its next action, pending approvals, holds, the warm-up
before the detectors judge it, the SLA behind an at-risk status — read for many
campaigns at once (the tower's rows, the campaign page, the API)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import (
    Count,
)
from django.utils import timezone

from approvals.models import ApprovalRequest, ApprovalStatus
from campaigns.domain.briefs import CHANNELS
from campaigns.domain.next_action import WorkFacts, next_action
from campaigns.domain.phases import Phase
from campaigns.models import (
    Campaign,
    CampaignHold,
    ContentStatus,
    ContentVariant,
    SlaStatus,
)
from monitoring.models import OPEN_FLAG_STATES, AnomalyFlag, SlaEvaluation


@dataclass(frozen=True)
class CampaignWork:
    """What one campaign waits for: its next action, and the facts behind it."""

    next_action: str
    pending_approvals: int
    holds: list[CampaignHold]
    warm_up: timedelta
    #: Which SLA makes the campaign at risk or breached, and why ("" when on track).
    sla_concern: str = ""
    sla_concern_detail: str = ""

    @property
    def warm_up_hours(self) -> int:
        return int(self.warm_up.total_seconds() // 3600)


def campaign_work(
    campaigns: list[Campaign], *, flags: Mapping[int, list[AnomalyFlag]], now: datetime
) -> dict[int, CampaignWork]:
    """The next action of each campaign (``campaigns.domain.next_action``), from one
    query per kind of fact whatever the number of campaigns."""
    from agents.models import AgentRun, RunStatus
    from monitoring.models import Escalation, EscalationStatus, MonitoringSettings

    ids = [c.pk for c in campaigns]
    escalations: dict[int, str] = {}
    for campaign_id, summary in (
        Escalation.objects.filter(
            campaign_id__in=ids,
            stops="campaign",
            status__in=[EscalationStatus.OPEN, EscalationStatus.ACKNOWLEDGED],
        )
        .order_by("-opened_at")
        .values_list("campaign_id", "summary")
    ):
        escalations.setdefault(campaign_id, summary)
    holds: dict[int, list[CampaignHold]] = {pk: [] for pk in ids}
    for hold in CampaignHold.objects.filter(campaign_id__in=ids, resolved_at__isnull=True).order_by(
        "opened_at", "id"
    ):
        holds[hold.campaign_id].append(hold)
    at_work: dict[int, tuple[str, str]] = {}
    for campaign_id, agent, status in (
        AgentRun.objects.filter(
            campaign_id__in=ids, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
        )
        .order_by("queued_at", "id")
        .values_list("campaign_id", "agent", "status")
    ):
        at_work.setdefault(campaign_id, (agent, status))
    pending: dict[int, dict[str, int]] = {pk: {} for pk in ids}
    drafted: set[int] = set()  # drafts were proposed (whatever became of them)
    for campaign_id, role, status, action, n in (
        ApprovalRequest.objects.filter(campaign_id__in=ids)
        .order_by()
        .values("campaign_id", "queue_role", "status", "action_type")
        .annotate(n=Count("pk"))
        .values_list("campaign_id", "queue_role", "status", "action_type", "n")
    ):
        if status == ApprovalStatus.PENDING:
            pending[campaign_id][role] = pending[campaign_id].get(role, 0) + n
        if action == "publish_content":
            drafted.add(campaign_id)
    content: dict[int, dict[str, int]] = {pk: {} for pk in ids}
    for campaign_id, status, n in (
        ContentVariant.objects.filter(campaign_id__in=ids)
        .order_by()
        .values("campaign_id", "status")
        .annotate(n=Count("pk"))
        .values_list("campaign_id", "status", "n")
    ):
        content[campaign_id][status] = n
    warm_ups = dict(
        MonitoringSettings.objects.filter(brand_id__in={c.brand_id for c in campaigns}).values_list(
            "brand_id", "pacing_warm_up_hours"
        )
    )
    default_warm_up = MonitoringSettings().pacing_warm_up_hours
    concerns = _sla_concerns([c for c in campaigns if c.sla_status != SlaStatus.ON_TRACK])
    work = {}
    for c in campaigns:
        warm_up = timedelta(hours=warm_ups.get(c.brand_id, default_warm_up))
        started = timezone.localtime(c.delivery_started_at) if c.delivery_started_at else None
        agent, status = at_work.get(c.pk, ("", ""))
        flag = flags.get(c.pk, [None])[0] if flags.get(c.pk) else None
        campaign_holds = holds[c.pk]
        facts = WorkFacts(
            phase=Phase(c.phase),
            escalation=escalations.get(c.pk, ""),
            hold=_hold_sentence(campaign_holds[0]) if campaign_holds else "",
            agent_at_work=agent,
            agent_queued=status == RunStatus.QUEUED,
            pending=pending[c.pk],
            cleared=content[c.pk].get(ContentStatus.APPROVED, 0),
            published=content[c.pk].get(ContentStatus.PUBLISHED, 0),
            drafted=c.pk in drafted,
            delivering_since=started,
            pacing_judged_from=started + warm_up if started else None,
            now=timezone.localtime(now),
            open_flag=_flag_sentence(flag) if flag else "",
            flag_response=(flag.response_taken or "") if flag else "",
        )
        work[c.pk] = CampaignWork(
            next_action=next_action(facts),
            pending_approvals=sum(pending[c.pk].values()),
            holds=campaign_holds,
            warm_up=warm_up,
            sla_concern=concerns.get(c.pk, ("", ""))[0],
            sla_concern_detail=concerns.get(c.pk, ("", ""))[1],
        )
    return work


def _sla_concerns(campaigns: list[Campaign]) -> dict[int, tuple[str, str]]:
    """For campaigns not on track: the SLA that sets their status, and its detail — so a
    row that says "At risk" also says what is at risk. One query for the page."""
    if not campaigns:
        return {}
    wanted = {c.pk: c.sla_status for c in campaigns}
    latest: dict[tuple[int, str], SlaEvaluation] = {}
    for evaluation in SlaEvaluation.objects.filter(campaign_id__in=wanted).order_by(
        "-evaluated_at", "-id"
    )[: 40 * len(wanted)]:
        latest.setdefault((evaluation.campaign_id, evaluation.sla), evaluation)
    concerns: dict[int, tuple[str, str]] = {}
    for (campaign_id, _), evaluation in sorted(latest.items()):
        if evaluation.status == wanted[campaign_id] and campaign_id not in concerns:
            concerns[campaign_id] = (evaluation.get_sla_display(), evaluation.detail)
    return concerns


def campaign_next_actions(campaigns: list[Campaign]) -> dict[int, str]:
    """Each campaign's next action, in the order given (the API's lists and details)."""
    ids = [c.pk for c in campaigns]
    flags: dict[int, list[AnomalyFlag]] = {pk: [] for pk in ids}
    for flag in AnomalyFlag.objects.filter(
        campaign_id__in=ids, state__in=OPEN_FLAG_STATES
    ).order_by("kind"):
        flags[flag.campaign_id].append(flag)
    work = campaign_work(campaigns, flags=flags, now=timezone.now())
    return {pk: work[pk].next_action for pk in ids}


def _hold_sentence(hold: CampaignHold) -> str:
    return f"{hold.channel_label}: {hold.reason}"


def _flag_sentence(flag: AnomalyFlag) -> str:
    where = f" on {CHANNELS.get(flag.channel, flag.channel)}" if flag.channel else ""
    return f"{flag.get_kind_display()}{where}"
