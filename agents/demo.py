"""The agents' part of ``seed_demo``: real agent work on the demo campaigns, with the
offline composer, done in-process exactly as a worker does it (``run_specialist``).

- While every demo campaign is in briefing, the planner, research, CRM, content and
  experimentation agents plan and draft it; the drafts go through the delegation-policy
  gate like any others.
- People then clear the drafts of the campaigns whose story has moved on: the manager
  approves (editing one), legal approves what legal holds, and the drafts of the
  campaign that was sent back to draft are rejected with the reason it was sent back.
- At each launch the distribution agent publishes the cleared copy to the sandbox
  market; the completed campaign gets its final report.

Two things are left for the running product, so ``make run`` shows agents at work:
Heart Health Newsletter's planner waits in the queue for the worker (watch it plan and
draft on the campaign page), and half of Cold Brew Subscriptions' drafts wait in the
manager's queue (its story: underspending while creative is in review).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from approvals.models import ApprovalRequest, ApprovalStatus
from approvals.services import approval_decide
from campaigns.domain.phases import Phase
from campaigns.models import Campaign
from governance.domain.roles import Role

from .models import AgentRun, RunStatus
from .services import campaign_phase_follow_up
from .specialists import run_specialist

#: Left queued for the worker that ``make run`` starts.
LEFT_FOR_THE_WORKER = ("Heart Health Newsletter",)
#: Launched on one variant per channel; the second variants still wait for a reviewer.
STILL_IN_REVIEW = ("Cold Brew Subscriptions",)
#: Drafts rejected, with the reason the story gives.
SENT_BACK = {"Barista Workshop Promo": "The offer is not final yet; redraft once it is."}
#: One draft the manager edits before approving (the agents page shows editing effort).
EDITED = "Autumn Roast Launch"

#: Agents that wait while a campaign is paused or escalated (see run_specialist).
_WAITING_PHASES = (Phase.PAUSED, Phase.ESCALATED)


def seed_demo_agent_work() -> None:
    """Plan and draft every demo campaign (each in briefing), then clear the drafts the
    story moves past."""
    agents_drain()
    _clear_drafts()


def agents_follow_phase(campaign_id: int, phase: str) -> None:
    """What a live move to ``phase`` would have asked of the agents (the story's moves
    are history, which asks nothing), done now: publishing at launch, the final report."""
    campaign = Campaign.objects.get(pk=campaign_id)
    campaign_phase_follow_up(campaign=campaign, to_phase=Phase(phase))
    agents_drain(campaign_id=campaign_id)


def agents_drain(*, campaign_id: int | None = None, limit: int = 500) -> int:
    """Do every queued run (of one campaign, or of all but those left for the worker),
    oldest first, in this process; the number done. Runs of a paused or escalated
    campaign are left queued, as a worker would leave them."""
    for done in range(limit):
        runs = AgentRun.objects.filter(status=RunStatus.QUEUED).exclude(
            campaign__phase__in=_WAITING_PHASES
        )
        if campaign_id is not None:
            runs = runs.filter(campaign_id=campaign_id)
        else:
            runs = runs.exclude(campaign__name__in=LEFT_FOR_THE_WORKER)
        run = runs.order_by("queued_at", "id").first()
        if run is None:
            return done
        run_specialist(run_id=run.pk)
    raise RuntimeError(f"The demo's agents still had work after {limit} runs.")


def seed_demo_experiments() -> None:
    """The paid-social test of each live demo campaign, run as beat would have: a round
    every 12 hours since launch (its history is split between two variants, one
    converting better), so the campaign page shows the traffic moving."""
    from datetime import timedelta

    from django.utils import timezone

    from .services import experiment_allocate

    now = timezone.now()
    live = Campaign.objects.filter(
        phase__in=[Phase.EXECUTION, Phase.MONITORING], launched_at__isnull=False
    ).order_by("pk")
    for campaign in live:
        at = campaign.launched_at + timedelta(hours=12)
        while at < now:
            experiment_allocate(campaign_id=campaign.pk, channel="social_ads", now=at)
            at += timedelta(hours=12)


def _clear_drafts() -> None:
    users = get_user_model().objects
    manager = users.get(username="manager")
    pending = (
        ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING, action_type="publish_content")
        .exclude(campaign__name__in=LEFT_FOR_THE_WORKER)
        .select_related("campaign")
        .order_by("pk")
    )
    edited = False
    channels_cleared: set[tuple[str, str]] = set()
    for approval in pending:
        name, channel = approval.campaign.name, approval.payload.get("channel", "")
        reviewer = manager if approval.queue_role == Role.MANAGER.value else _legal(approval)
        if name in STILL_IN_REVIEW:
            if (name, channel) in channels_cleared:
                continue
            channels_cleared.add((name, channel))
            approval_decide(approval_id=approval.pk, user=reviewer, approve=True)
        elif name in SENT_BACK:
            approval_decide(
                approval_id=approval.pk, user=reviewer, approve=False, note=SENT_BACK[name]
            )
        elif name == EDITED and not edited and channel == "email":
            edited = True
            payload = dict(approval.payload)
            payload["headline"] = "Autumn Roast is here, roasted to order"
            approval_decide(
                approval_id=approval.pk,
                user=reviewer,
                approve=True,
                note="Shorter subject line; keep the season up front.",
                edited_payload=payload,
            )
        else:
            approval_decide(approval_id=approval.pk, user=reviewer, approve=True)


def _legal(approval: ApprovalRequest) -> Any:
    """The brand's legal reviewer (Lumen's is a demo colleague nobody logs in as)."""
    slug = Campaign.objects.values_list("brand__slug", flat=True).get(pk=approval.campaign_id)
    return get_user_model().objects.get(username="legal" if slug == "northwind" else "legal-lumen")
