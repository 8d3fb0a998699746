"""What a delegated reallocation between an experiment's arms does once the gate allows
it (registered in ``agents.subscribers``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from campaigns.domain.briefs import CHANNELS
from campaigns.models import Campaign
from governance.domain.audit import Actor
from governance.executors import Executor, PayloadInvalid, reason_of


def _validate_reallocation(payload: Mapping[str, Any]) -> None:
    """A reallocation names its experiment round and the shares it sets (adding up to 1)."""
    reason_of(payload)
    for key in ("experiment_id", "round_id"):
        if not isinstance(payload.get(key), int) or isinstance(payload.get(key), bool):
            raise PayloadInvalid(f"A reallocation names its “{key}” (a whole number).")
    if payload.get("channel") not in CHANNELS:
        raise PayloadInvalid("A reallocation names its channel.")
    shares = payload.get("shares")
    if not isinstance(shares, dict) or len(shares) < 2:
        raise PayloadInvalid("A reallocation gives each variant's share (two or more).")
    values = list(shares.values())
    if not all(
        isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1 for v in values
    ):
        raise PayloadInvalid("Each share is a number between 0 and 1.")
    if abs(sum(values) - 1) > 0.01:
        raise PayloadInvalid("The shares must add up to 1.")


def _reallocate(
    campaign: Campaign, payload: Mapping[str, Any], actor: Actor, authorization: str
) -> None:
    from .models import AllocationRound
    from .services import allocation_apply

    allocation = AllocationRound.objects.select_related("experiment").get(pk=payload["round_id"])
    if (
        allocation.experiment.campaign_id != campaign.pk
        or allocation.experiment_id != payload["experiment_id"]
        or allocation.shares != payload["shares"]
    ):
        raise PayloadInvalid("This reallocation does not match the round it names.")
    allocation_apply(round_id=allocation.pk, actor=actor, authorization=authorization)


REALLOCATE_BUDGET = Executor(validate=_validate_reallocation, run=_reallocate)
