"""Evaluating each campaign's SLAs from what actually happened, every minute (beat).

Each SLA is measured from the records the product already keeps — runs, handoffs, the
gate's decisions, approvals, escalations, flags, notifications — judged by the pure
rules in ``monitoring.domain.slas`` against the brief's targets and the brand's
monitoring settings, and recorded (``monitoring.services.sla_evaluation_record``) when
its status changes, or every ``RECORD_EVERY`` while it holds. The campaign's SLA
status is the worst latest one; an SLA that becomes breached escalates.

===================  =========================================  ======================
SLA                  measured                                    target from
===================  =========================================  ======================
response time        brief submitted → the planner starts        brand settings
draft time           brief submitted → first drafts handed on    brief (hours)
QA pass rate         drafts passing the brand's checks / drafted  brief (%)
completion rate      agent runs that succeeded / finished        brand settings
exception rate       agent actions people stepped in on          brand settings
policy escalation    a policy issue found → sent to legal/person brief (minutes)
delivery start       launch → the first delivery reported        brand settings
budget pacing        spend against the plan since the first      brief (± %), after
                     delivery (judged after the warm-up)         the brand's warm-up
notify time          CPA above its limit → first person told     brand settings
===================  =========================================  ======================
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Min
from django.utils import timezone

from agents.models import AgentRun, Handoff, HandoffStatus, RunStatus
from approvals.models import ApprovalRequest, ApprovalStatus, PolicyDecisionRecord
from campaigns.domain.briefs import CHANNELS
from campaigns.domain.budget import PaceStatus, pace
from campaigns.domain.phases import Phase
from campaigns.models import Campaign, CampaignHold
from campaigns.selectors import campaign_plan_end
from governance import events
from governance.domain.audit import Actor
from governance.domain.errors import DomainError
from governance.models import AuditEvent

from ..domain.escalation import Source, Trigger
from ..domain.slas import (
    SlaReading,
    SlaState,
    rate_at_least,
    rate_at_most,
    time_to_event,
    within_band,
)
from ..models import AnomalyFlag, Escalation, MonitoringSettings, Notification, SlaEvaluation
from ..selectors import delivery_so_far
from .flags import sla_evaluation_record

#: The performance agent keeps the SLA clocks.
CLOCK = Actor.for_agent("performance")
#: A holding status is written down again this often (so the page's figures stay fresh).
RECORD_EVERY = timedelta(minutes=15)
#: Phases whose SLAs are running.
WATCHED = (Phase.BRIEFING, Phase.EXECUTION, Phase.MONITORING, Phase.ESCALATED, Phase.PAUSED)
#: SLAs whose targets the brief sets (the rest come from the brand's settings).
FROM_THE_BRIEF = frozenset({"draft_time", "qa_pass_rate", "policy_escalation", "budget_pacing"})
#: Samples below these are "too few to judge": one round of drafts, a few runs, actions.
QA_MIN_SAMPLE = 6
COMPLETION_MIN_SAMPLE = 5
EXCEPTION_MIN_SAMPLE = 10


def slas_evaluate(*, now: datetime | None = None, campaign_ids: list[int] | None = None) -> int:
    """Evaluate every watched campaign's SLAs; how many evaluations were recorded."""
    now = now or timezone.now()
    campaigns = Campaign.objects.filter(phase__in=WATCHED).select_related("brief", "brand")
    if campaign_ids is not None:
        campaigns = campaigns.filter(pk__in=campaign_ids)
    settings_by_brand = {s.brand_id: s for s in MonitoringSettings.objects.all()}
    recorded = 0
    for campaign in campaigns.order_by("pk"):
        brand_settings = settings_by_brand.get(campaign.brand_id) or MonitoringSettings()
        for reading in campaign_sla_readings(campaign, brand_settings, now=now):
            recorded += _record(campaign, reading, now=now)
    return recorded


def campaigns_enter_monitoring(*, now: datetime | None = None) -> list[int]:
    """Campaigns in execution that have delivered through their warm-up move to
    monitoring (the performance agent takes over): the ids moved. Beat runs it before
    the SLA clocks, so the page says "monitoring" as pacing starts being judged."""
    from campaigns.services import campaign_transition_phase

    now = now or timezone.now()
    settings_by_brand = {s.brand_id: s for s in MonitoringSettings.objects.all()}
    moved = []
    candidates = Campaign.objects.filter(
        phase=Phase.EXECUTION, delivery_started_at__isnull=False
    ).values_list("pk", "brand_id", "delivery_started_at")
    for campaign_id, brand_id, started in candidates:
        warm_up = (settings_by_brand.get(brand_id) or MonitoringSettings()).pacing_warm_up_hours
        judged_from = started + timedelta(hours=warm_up)
        if judged_from > now:
            continue
        try:
            campaign_transition_phase(
                campaign_id=campaign_id,
                to_phase=Phase.MONITORING,
                actor=CLOCK,
                reason=f"Delivering since {timezone.localtime(started):%Y-%m-%d %H:%M}; "
                f"the warm-up of {warm_up} h is over, so pacing is judged from now on.",
            )
        except DomainError:  # it moved meanwhile (paused, escalated): nothing to do
            continue
        moved.append(campaign_id)
    return moved


def campaign_sla_readings(
    campaign: Campaign, brand_settings: MonitoringSettings, *, now: datetime
) -> list[SlaReading]:
    """Every SLA that applies to the campaign now, measured."""
    brief = campaign.brief
    runs = AgentRun.objects.filter(campaign=campaign)
    readings = [
        time_to_event(
            "response_time",
            started_at=campaign.created_at,
            done_at=runs.filter(agent="planner").aggregate(at=Min("started_at"))["at"],
            now=now,
            target=timedelta(minutes=brand_settings.response_minutes),
        ),
        time_to_event(
            "draft_time",
            started_at=campaign.created_at,
            done_at=Handoff.objects.filter(
                campaign=campaign, kind="drafts", status=HandoffStatus.ACCEPTED
            ).aggregate(at=Min("created_at"))["at"],
            now=now,
            target=timedelta(hours=brief.sla_draft_hours),
        ),
    ]
    passed = PolicyDecisionRecord.objects.filter(
        campaign=campaign, action_type="publish_content", agent_run__agent="content"
    ).count()
    held = AuditEvent.objects.filter(campaign_id=campaign.pk, action="content.held_back").count()
    if passed + held:
        reading = rate_at_least(
            "qa_pass_rate",
            good=passed,
            total=passed + held,
            target_pct=brief.sla_qa_pass_pct,
            min_sample=QA_MIN_SAMPLE,
        )
        if held and reading.status != SlaState.ON_TRACK:
            reading = replace(reading, detail=f"{reading.detail} {_held_back(campaign)}")
        readings.append(reading)
    finished = runs.filter(finished_at__isnull=False)
    done = finished.count()
    if done:
        readings.append(
            rate_at_least(
                "completion_rate",
                good=finished.filter(status=RunStatus.SUCCEEDED).count(),
                total=done,
                target_pct=brand_settings.completion_pct,
                min_sample=COMPLETION_MIN_SAMPLE,
                unit="failed runs",
            )
        )
    actions = PolicyDecisionRecord.objects.filter(campaign=campaign).exclude(agent_run=None)
    total_actions = actions.count()
    if total_actions:
        readings.append(
            rate_at_most(
                "exception_rate",
                bad=min(total_actions, _interventions(campaign)),
                total=total_actions,
                max_pct=brand_settings.exception_max_pct,
                min_sample=EXCEPTION_MIN_SAMPLE,
            )
        )
    issue = _policy_issue(campaign)
    if issue is not None:
        found_at, escalated_at = issue
        readings.append(
            time_to_event(
                "policy_escalation",
                started_at=found_at,
                done_at=escalated_at,
                now=now,
                target=timedelta(minutes=brief.sla_policy_escalation_minutes),
            )
        )
    if campaign.phase in (Phase.EXECUTION, Phase.MONITORING) and campaign.launched_at:
        readings += _delivery_readings(campaign, brand_settings, now=now)
    flag = (
        AnomalyFlag.objects.filter(
            campaign=campaign, kind="cpa_above_limit", firing_at__isnull=False, silenced=False
        )
        .order_by("-firing_at")
        .first()
    )
    if flag is not None:
        told = Notification.objects.filter(flag_id=flag.pk).aggregate(at=Min("created_at"))["at"]
        readings.append(
            time_to_event(
                "notify_time",
                started_at=flag.firing_at,
                done_at=told,
                now=now,
                target=timedelta(minutes=brand_settings.notify_minutes),
            )
        )
    settings_label = f"{campaign.brand.name}'s monitoring settings"
    return [
        reading
        if reading.criterion
        else replace(
            reading,
            criterion="the brief" if reading.kind in FROM_THE_BRIEF else settings_label,
        )
        for reading in readings
    ]


def _delivery_readings(
    campaign: Campaign, brand_settings: MonitoringSettings, *, now: datetime
) -> list[SlaReading]:
    """Delivery starting after launch, and budget pacing once there is delivery to judge
    (``campaigns.domain.budget``: the plan runs from the first delivery and is judged
    after the warm-up). Until then pacing reads "waiting" or "warming up", on track:
    a market that has not delivered yet is not underspending."""
    settings_label = f"{campaign.brand.name}'s monitoring settings"
    started = campaign.delivery_started_at
    readings = [
        replace(
            time_to_event(
                "delivery_start",
                started_at=campaign.launched_at,
                done_at=started,
                now=now,
                target=timedelta(hours=brand_settings.delivery_start_hours),
            ),
            criterion=settings_label,
        )
    ]
    tolerance = brief_tolerance = campaign.brief.sla_pacing_tolerance_pct
    delivery = delivery_so_far([campaign.pk])[campaign.pk]
    pacing = pace(
        total=campaign.budget_total,
        consumed=delivery.consumed,
        launched_at=campaign.launched_at,
        delivery_started_at=timezone.localtime(started) if started else None,
        end=timezone.localtime(campaign_plan_end(campaign)),
        at=timezone.localtime(now),
        tolerance_pct=tolerance,
        warm_up=timedelta(hours=brand_settings.pacing_warm_up_hours),
        reported_until=_local(delivery.reported_until),
    )
    target = f"± {brief_tolerance} %"
    criterion = "the brief's pacing tolerance"
    if pacing.status in (PaceStatus.WAITING, PaceStatus.WARMING_UP):
        hours = brand_settings.pacing_warm_up_hours
        if pacing.judged_from is None:
            measured, detail = "—", f"Waiting for the first delivery; judged after {hours} h of it."
        else:
            at = timezone.localtime(pacing.judged_from)
            measured, detail = (
                "warming up",
                f"Pacing judged from {at:%H:%M}, after {hours} h of delivery.",
            )
        readings.append(
            SlaReading(
                kind="budget_pacing",
                status=SlaState.ON_TRACK,
                measured=measured,
                target=target,
                detail=detail,
                error_budget=None,
                value=None,
                criterion=criterion,
            )
        )
    else:
        reading = within_band(
            "budget_pacing",
            actual=pacing.actual,
            planned=pacing.planned,
            tolerance_pct=tolerance,
        )
        since = f"{timezone.localtime(started):%Y-%m-%d %H:%M}" if started else ""
        readings.append(
            replace(
                reading,
                detail=f"{pacing.actual:,.2f} spent against {pacing.planned:,.2f} planned "
                f"since delivery began at {since}"
                + (
                    f", as reported up to {pacing.as_of:%H:%M}."
                    if pacing.as_of and pacing.as_of < timezone.localtime(now)
                    else "."
                ),
                criterion=criterion,
            )
        )
    return readings


def _held_back(campaign: Campaign) -> str:
    """Why drafts were held back, in words: the evidence behind a QA reading."""
    findings: dict[str, set[str]] = {}
    for data in AuditEvent.objects.filter(
        campaign_id=campaign.pk, action="content.held_back"
    ).values_list("data", flat=True)[:50]:
        channel = CHANNELS.get(data.get("channel", ""), data.get("channel", "a channel"))
        findings.setdefault(channel, set()).update(data.get("findings", [])[:3])
    parts = [f"{channel}: {' '.join(sorted(found)[:2])}" for channel, found in findings.items()]
    return ("Held back — " + "; ".join(parts))[:280] if parts else ""


def _first_word(text: str) -> str:
    return text.split(maxsplit=1)[0] if text.strip() else ""


def _local(at: datetime | None) -> datetime | None:
    return timezone.localtime(at) if at is not None else None


def _interventions(campaign: Campaign) -> int:
    """Times people had to step in on the agents' work: a request rejected, sent back
    or edited before approval, and escalations the rules opened."""
    decided = ApprovalRequest.objects.filter(campaign=campaign, requested_by_agent__gt="")
    stepped_in = decided.filter(
        status__in=[ApprovalStatus.REJECTED, ApprovalStatus.CHANGES_REQUESTED]
    ).count()
    edited = AuditEvent.objects.filter(
        campaign_id=campaign.pk, action="approval.approved", data__has_key="edit"
    ).count()
    escalations = Escalation.objects.filter(campaign=campaign).exclude(reason="raised_by_person")
    return stepped_in + edited + escalations.count()


def _policy_issue(campaign: Campaign) -> tuple[datetime, datetime | None] | None:
    """When the first policy issue was found (a draft held back, or a claim legal must
    clear) and when it reached a person: the gate's routing to legal's queue (the request
    lands there in the same transaction, even if it later moves on once legal clears the
    claim), a hold that told the owner, or a compliance escalation."""
    held = AuditEvent.objects.filter(campaign_id=campaign.pk, action="content.held_back").aggregate(
        at=Min("occurred_at")
    )["at"]
    to_legal = PolicyDecisionRecord.objects.filter(
        campaign=campaign,
        rule__in=["claims.unapproved", "categories.sensitive"],
        outcome="approval",
    ).aggregate(at=Min("decided_at"))["at"]
    found = min((t for t in (held, to_legal) if t is not None), default=None)
    if found is None:
        return None
    since = found - timedelta(seconds=1)
    reached = [
        to_legal,
        CampaignHold.objects.filter(campaign=campaign, opened_at__gte=since).aggregate(
            at=Min("opened_at")
        )["at"],
        Escalation.objects.filter(campaign=campaign, reason="compliance")
        .filter(opened_at__gte=since)
        .aggregate(at=Min("opened_at"))["at"],
    ]
    return found, min((t for t in reached if t is not None), default=None)


def _record(campaign: Campaign, reading: SlaReading, *, now: datetime) -> int:
    """Write the reading down if its status changed (or it held for ``RECORD_EVERY``);
    a newly breached SLA escalates. 1 if recorded."""
    from .escalations import escalation_raise

    latest: Any = (
        SlaEvaluation.objects.filter(campaign=campaign, sla=reading.kind)
        .order_by("-evaluated_at", "-id")
        .first()
    )
    budget = reading.error_budget.label if reading.error_budget else ""
    if latest is not None and latest.status == reading.status:
        same = (latest.measured, latest.target, latest.error_budget) == (
            reading.measured,
            reading.target,
            budget,
        )
        # TRICKY: a statement that changed its kind ("Running for 2 h" → "Done in
        # 1 min", "Waiting…" → "Pacing judged from…") is written at once, or the page
        # would go on saying the opposite of what happened for up to RECORD_EVERY.
        same_kind = _first_word(latest.detail) == _first_word(reading.detail)
        if same or (same_kind and latest.evaluated_at > now - RECORD_EVERY):
            return 0
    sla_evaluation_record(
        campaign_id=campaign.pk,
        sla=reading.kind,
        status=reading.status.value,
        measured=reading.measured,
        target=reading.target,
        detail=reading.detail,
        error_budget=budget,
        actor=CLOCK,
    )
    newly_breached = reading.status == SlaState.BREACHED and (
        latest is None or latest.status != SlaState.BREACHED
    )
    if newly_breached:
        events.announce_publicly(
            event="sla.breached",
            brand_id=campaign.brand_id,
            data={
                "campaign_id": campaign.pk,
                "sla": reading.kind,
                "measured": reading.measured,
                "target": reading.target,
            },
        )
        escalation_raise(
            campaign_id=campaign.pk,
            trigger=Trigger(
                source=Source.SLA,
                sla_kind=reading.kind,
                sla_status=reading.status.value,
                summary=(
                    f"SLA breached: {reading.label} — {reading.measured} against "
                    f"{reading.target}"
                    + (f" ({reading.criterion})" if reading.criterion else "")
                    + "."
                    + (f" {reading.detail}" if reading.detail else "")
                ),
            ),
            actor=CLOCK,
        )
    return 1
