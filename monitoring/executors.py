"""What a delegated pause does once the gate allows it (registered in
``monitoring.subscribers``): a circuit breaker on one surface when it names a channel,
else the whole campaign paused."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from campaigns.domain.briefs import CHANNELS
from campaigns.models import Campaign
from campaigns.services import campaign_transition_phase
from governance.domain.audit import Actor
from governance.executors import Executor, PayloadInvalid, reason_of

from .services import breaker_open


def _validate_pause(payload: Mapping[str, Any]) -> None:
    """A pause names why, and optionally the one channel (and variant) it stops."""
    reason_of(payload)
    channel = payload.get("channel", "")
    if channel and channel not in CHANNELS:
        raise PayloadInvalid(f"“{channel}” is not a channel.")
    variant = payload.get("variant", "")
    if not isinstance(variant, str) or len(variant) > 64 or (variant and not channel):
        raise PayloadInvalid("A variant is named with its channel, in at most 64 characters.")


def _pause(
    campaign: Campaign, payload: Mapping[str, Any], actor: Actor, authorization: str
) -> None:
    if payload.get("channel"):
        # A circuit breaker on that surface only; the rest of the campaign keeps running.
        flag_id = payload.get("flag_id")
        breaker_open(
            campaign_id=campaign.pk,
            channel=payload["channel"],
            variant=payload.get("variant", ""),
            reason=reason_of(payload),
            actor=actor,
            authorization=authorization,
            flag_id=flag_id if isinstance(flag_id, int) else None,
        )
        return
    campaign_transition_phase(
        campaign_id=campaign.pk,
        to_phase="paused",
        actor=actor,
        reason=reason_of(payload),
        authorization=authorization,
    )


PAUSE = Executor(validate=_validate_pause, run=_pause)
