"""Asking the agents for work: a campaign's first plan, publishing cleared content, the
work a phase change starts, and a person asking an agent for something fresh.

A run is asked for inside the transaction of the change that needs it: the queued run
commits with the change (so accepted work survives any crash after commit) and its task
is sent after commit (``runs``).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from campaigns.domain.phases import Phase
from governance.domain.audit import Actor
from governance.domain.errors import DomainError, NotPermitted
from governance.services import audit_record

from ..models import AgentRun, Handoff
from .runs import UNFINISHED, _enqueue_on_commit, _queue_grace, _timeline_changed

# --- Asking for work ------------------------------------------------------------------


def agent_work_request(
    *,
    campaign_id: int,
    agent: str,
    key: str,
    inputs: dict[str, Any] | None = None,
    consumes: Handoff | None = None,
) -> AgentRun:
    """Ask ``agent`` to work on a campaign. Call it inside the transaction of the change
    that needs the work: the queued run commits with it (so accepted work survives any
    crash after commit) and the task is sent after commit. Asking twice with the same
    ``key`` finds the first run."""
    from ..specialists import SPECIALISTS

    if agent not in SPECIALISTS:
        raise DomainError(f"There is no “{agent}” agent.")
    with transaction.atomic():
        run, created = AgentRun.objects.get_or_create(
            key=key,
            defaults={
                "campaign_id": campaign_id,
                "agent": agent,
                "inputs": inputs or {},
                "consumes": consumes,
                "lease_expires_at": timezone.now() + _queue_grace(),
            },
        )
        if created:
            _enqueue_on_commit(run.pk)
            _timeline_changed(campaign_id)
    return run


def campaign_agents_start(*, campaign_id: int) -> AgentRun:
    """A submitted brief's first step: the planner, queued with the brief."""
    return agent_work_request(
        campaign_id=campaign_id,
        agent="planner",
        key=f"plan:{campaign_id}",
        inputs={"brief": "the campaign's brief", "memory": "the brand's memory"},
    )


def distribution_request(*, campaign: Any) -> AgentRun | None:
    """Ask the distribution agent to publish cleared content, if the campaign is live.
    One run per batch: the key names the newest cleared content."""
    from campaigns.models import ContentStatus, ContentVariant

    if campaign.phase not in (Phase.EXECUTION, Phase.MONITORING):
        return None  # it goes out at launch
    newest = (
        ContentVariant.objects.filter(campaign=campaign, status=ContentStatus.APPROVED)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    if newest is None:
        return None
    return agent_work_request(
        campaign_id=campaign.pk,
        agent="distribution",
        key=f"distribution:{campaign.pk}:{newest}",
        inputs={"cleared content up to": newest},
    )


def campaign_phase_follow_up(*, campaign: Any, to_phase: Phase) -> None:
    """The agent work a phase change starts: publishing at launch, the final report when
    the campaign completes."""
    if to_phase == Phase.EXECUTION:
        distribution_request(campaign=campaign)
    elif to_phase == Phase.COMPLETED:
        agent_work_request(
            campaign_id=campaign.pk,
            agent="reporting",
            key=f"reporting:{campaign.pk}:final",
            inputs={"occasion": "the campaign completed"},
        )


ON_REQUEST = ("research", "performance", "reporting")


def agent_work_ask(
    *, campaign_id: int, agent: str, user: Any, channels: list[str] | None = None
) -> AgentRun:
    """A person asks an agent for fresh work on a campaign (a report, a performance read,
    new research, or new drafts for some of the brief's ``channels``). Each request is
    its own run."""
    from campaigns.domain.briefs import CHANNELS
    from campaigns.models import Campaign
    from governance import policies

    campaign = Campaign.objects.select_related("brand", "brief").get(pk=campaign_id)
    if not policies.can_change_phase(user, campaign):
        raise NotPermitted("You cannot direct the agents of this campaign.")
    if agent == "content":
        # New drafts are asked for by channel: after a claim was reworded, say.
        wanted = [c for c in channels or [] if c in campaign.brief.channels]
        if not wanted or len(wanted) != len(channels or []):
            raise DomainError(
                "Name the brief's channels to draft again: "
                + ", ".join(CHANNELS.get(c, c) for c in campaign.brief.channels)
                + "."
            )
    elif agent not in ON_REQUEST:
        raise DomainError(f"Agents you can ask: {', '.join((*ON_REQUEST, 'content'))}.")
    with transaction.atomic():
        # One ask at a time (NO KEY: see the lock order in governance.services).
        Campaign.objects.select_for_update(no_key=True).filter(pk=campaign_id).first()
        runs = AgentRun.objects.filter(campaign_id=campaign_id, agent=agent)
        unfinished = runs.filter(status__in=UNFINISHED).order_by("queued_at").first()
        if unfinished is not None:
            return unfinished  # already at it: a second click asks for nothing more
        n = runs.count()
        run = agent_work_request(
            campaign_id=campaign_id,
            agent=agent,
            key=f"{agent}:{campaign_id}:asked:{n + 1}",
            inputs={
                "asked by": user.get_username(),
                **({"channels": wanted} if agent == "content" else {}),
            },
        )
        audit_record(
            actor=Actor.for_user(user),
            action="agent.work_asked",
            target=run,
            brand_id=campaign.brand_id,
            campaign_id=campaign_id,
            data={"agent": agent},
        )
    return run
