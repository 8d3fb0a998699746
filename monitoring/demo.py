"""Monitoring's part of ``seed_demo``: once the story is in place, the sandbox market
starts delivering the live campaigns from now (each beat tick), and every campaign's
SLAs are measured as the beat's sweep would — so the tower's SLA column is the real
measure from the first page, and stays so."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from approvals.services import action_propose
from campaigns.demo import ESCALATIONS, PROPOSALS
from campaigns.domain.launch import launch_summary
from campaigns.domain.phases import Phase
from campaigns.models import Campaign, ContentStatus, ContentVariant
from crm.models import Contact
from governance.domain.audit import Actor

from .domain.escalation import EscalationDecision, Stops
from .models import AnomalyKind, FlagResponse, SandboxCursor
from .services import Origin, anomaly_flag_raise, escalation_open, flag_respond
from .services.slas import slas_evaluate

# (campaign, kind, response, explanation, observed, limit, channel)
FLAGS = [
    (
        "Office Coffee B2B Leads",
        AnomalyKind.CPA_ABOVE_LIMIT,
        FlagResponse.ESCALATE,
        "CPA 41.20 is above the control limit 28.00 for 3 h",
        "41.20",
        "28.00",
        "",
    ),
    (
        "Sleep Tracker Spring Push",
        AnomalyKind.CPM_SPIKE,
        FlagResponse.OPTIMIZE,
        "CPM 14.80 on paid social is 63 % above its 7-day median of 9.10",
        "14.80",
        "13.65",
        "social_ads",
    ),
]


def seed_demo_monitoring() -> None:
    now = timezone.now()
    live = Campaign.objects.filter(
        phase__in=[Phase.EXECUTION, Phase.MONITORING],
        content__status=ContentStatus.PUBLISHED,
        content__connector="sandbox market",
    ).distinct()
    SandboxCursor.objects.bulk_create(
        [SandboxCursor(campaign=c, delivered_until=now) for c in live], ignore_conflicts=True
    )
    slas_evaluate(now=now)


def _launch_reason(campaign: Campaign) -> str:
    """What the launch would put out, counted: cleared variants per channel, reachable
    contacts for email, the budget over the days to the deadline."""
    cleared: dict[str, int] = {}
    for channel in ContentVariant.objects.filter(
        campaign=campaign, status=ContentStatus.APPROVED
    ).values_list("channel", flat=True):
        cleared[channel] = cleared.get(channel, 0) + 1
    return launch_summary(
        cleared=cleared,
        reachable_contacts=Contact.objects.filter(brand_id=campaign.brand_id).mailable().count(),
        budget=campaign.budget_total,
        currency=campaign.brand.currency,
        days=max(1, (campaign.brief.deadline - timezone.localdate()).days),
    )


def seed_demo_incidents_and_proposals() -> None:
    """The story's open incidents (flags with their responses run for real, escalations)
    and the proposals waiting in the queues, after every campaign has lived its story."""
    campaign_ids = dict(Campaign.objects.values_list("name", "pk"))
    monitor = Actor.for_agent("performance")
    for name, kind, response, explanation, observed, limit, channel in FLAGS:
        flag = anomaly_flag_raise(
            campaign_id=campaign_ids[name],
            kind=kind,
            explanation=explanation,
            response=response,
            actor=monitor,
            observed=Decimal(observed),
            limit=Decimal(limit),
            channel=channel,
        )
        # Its configured response runs for real (escalate: the escalation tells the owner
        # and climbs from now; optimise: the performance agent is asked).
        flag_respond(flag=flag, now=timezone.now())
    for name, reason, why in ESCALATIONS:
        escalation_open(
            campaign_id=campaign_ids[name],
            decision=EscalationDecision(reason, why, Stops.CAMPAIGN),
            actor=monitor,
            origin=Origin(reason=reason),
        )
    campaigns = Campaign.objects.in_bulk(list(campaign_ids.values()))
    for name, action, payload, summary, agent, amount, claims, confidence in PROPOSALS:
        if action == "launch_campaign":
            payload = {**payload, "reason": _launch_reason(campaigns[campaign_ids[name]])}
        action_propose(
            campaign_id=campaign_ids[name],
            action=action,
            payload=payload,
            actor=Actor.for_agent(agent),
            summary=summary,
            amount=Decimal(amount),
            claims=claims,
            confidence=confidence,
            evidence={"brief": campaigns[campaign_ids[name]].brief.title},
        )
