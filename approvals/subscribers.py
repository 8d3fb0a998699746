"""What approvals registers and reacts to: the executor of autonomy steps; claims legal
cleared in a brand's registry."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from governance import events, executors
from governance.domain.actions import ActionType

from . import executors as approvals_executors

executors.register(ActionType.ADJUST_AUTONOMY, approvals_executors.ADJUST_AUTONOMY)


@receiver(events.claims_cleared)
def _reconsider_claims(sender: Any, *, brand_id: int, actor: Any, **kwargs: Any) -> list[int]:
    """Requests that waited for legal only because of the claims now approved go on to
    the queue the policy sends them to; the ids moved (the claim's page says how many)."""
    from .services import approvals_reconsider_claims

    return approvals_reconsider_claims(brand_id=brand_id, actor=actor)
