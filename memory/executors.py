"""What a delegated brand-memory update does once the gate allows it (registered in
``memory.subscribers``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from campaigns.models import Campaign
from governance.domain.audit import Actor
from governance.executors import Executor, PayloadInvalid

from .domain.entries import ChangeInvalid, MemoryChange, parse_memory_change
from .services import memory_change_apply


def _validate_memory_change(payload: Mapping[str, Any]) -> None:
    _memory_change(payload)


def _memory_change(payload: Mapping[str, Any]) -> MemoryChange:
    try:
        return parse_memory_change(payload)
    except ChangeInvalid as exc:
        raise PayloadInvalid(str(exc)) from None


def _update_brand_memory(
    campaign: Campaign, payload: Mapping[str, Any], actor: Actor, authorization: str
) -> None:
    memory_change_apply(
        brand_id=campaign.brand_id,
        change=_memory_change(payload),
        actor=actor,
        authorization=authorization,
        campaign_id=campaign.pk,
    )


UPDATE_BRAND_MEMORY = Executor(validate=_validate_memory_change, run=_update_brand_memory)
