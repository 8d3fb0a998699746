"""What the agents register and react to: the executor of reallocations, and the work
a campaign's changes ask of them (a plan for a new brief, publishing at launch and
when copy is cleared, the final report when it completes) — queued in the change's
transaction, so accepted work survives a crash after commit."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from governance import events, executors
from governance.domain.actions import ActionType

from . import executors as agents_executors

executors.register(ActionType.REALLOCATE_BUDGET, agents_executors.REALLOCATE_BUDGET)


@receiver(events.planning_requested)
def _plan(sender: Any, *, campaign_id: int, **kwargs: Any) -> None:
    from .services import campaign_agents_start

    campaign_agents_start(campaign_id=campaign_id)


@receiver(events.content_cleared)
def _publish_cleared(sender: Any, *, campaign_id: int, **kwargs: Any) -> None:
    from campaigns.models import Campaign

    from .services import distribution_request

    distribution_request(campaign=Campaign.objects.get(pk=campaign_id))


@receiver(events.phase_changed)
def _follow_phase(sender: Any, *, campaign_id: int, to_phase: str, **kwargs: Any) -> None:
    from campaigns.domain.phases import Phase
    from campaigns.models import Campaign

    from .services import campaign_phase_follow_up

    campaign_phase_follow_up(
        campaign=Campaign.objects.get(pk=campaign_id), to_phase=Phase(to_phase)
    )
