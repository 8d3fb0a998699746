"""What a run hands on: validated by its schema and stored, or — when it fails its
checks — kept as rejected evidence while the run is stopped and its campaign escalated
(a broken chain is never passed on and never silent); and a handoff read back by its
consumer, validated again.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from pydantic import BaseModel

from governance.domain.audit import Actor
from governance.domain.errors import DomainError
from governance.services import audit_record

from ..domain.handoffs import HandoffInvalid, validate_handoff
from ..models import AgentRun, Handoff, HandoffStatus, RunStatus
from .runs import _lock_run, _stop, _timeline_changed

# --- Handoffs --------------------------------------------------------------------------


def handoff_record(*, run_id: int, kind: str, payload: Any) -> Handoff:
    """Validate and store what a run hands on. If it fails its schema, it is stored as
    rejected, the run is escalated, and so is its campaign (with the problems as the
    reason), all in one transaction."""
    with transaction.atomic():
        run = _lock_run(run_id, campaign=True)
        if run is None:
            raise AgentRun.DoesNotExist(f"No run {run_id}.")
        if run.status != RunStatus.RUNNING:
            raise DomainError(
                f"This run is {run.get_status_display().lower()}; it hands nothing on."
            )
        actor = Actor.for_agent(run.agent)
        try:
            parsed = validate_handoff(kind, payload)
            claimed_campaign = getattr(parsed, "campaign_id", run.campaign_id)
            if claimed_campaign != run.campaign_id:
                raise HandoffInvalid(
                    kind,
                    [f"campaign_id: names campaign {claimed_campaign}, not this run's campaign"],
                )
        except HandoffInvalid as invalid:
            handoff = Handoff.objects.create(
                run=run,
                campaign=run.campaign,
                kind=kind,
                payload=payload if isinstance(payload, dict | list) else {"raw": str(payload)},
                status=HandoffStatus.REJECTED,
                problems=invalid.problems,
            )
            audit_record(
                actor=actor,
                action="handoff.rejected",
                target=handoff,
                brand_id=run.campaign.brand_id,
                campaign_id=run.campaign_id,
                data={"kind": kind, "problems": invalid.problems[:20]},
            )
            _stop(
                run,
                f"The {kind} handoff from {run.agent} failed its checks: "
                + "; ".join(invalid.problems),
                RunStatus.ESCALATED,
                kind="handoff_invalid",
            )
            return handoff
        handoff = Handoff.objects.create(
            run=run,
            campaign=run.campaign,
            kind=kind,
            schema_version=parsed.schema_version,
            payload=parsed.model_dump(mode="json"),
            status=HandoffStatus.ACCEPTED,
        )
        audit_record(
            actor=actor,
            action="handoff.accepted",
            target=handoff,
            brand_id=run.campaign.brand_id,
            campaign_id=run.campaign_id,
            data={"kind": kind, "schema_version": parsed.schema_version},
        )
        _timeline_changed(run.campaign_id)
    return handoff


def hand_on(
    run: AgentRun, kind: str, output: BaseModel | dict[str, Any]
) -> tuple[Handoff, BaseModel] | None:
    """Record ``output`` as the run's handoff: the stored handoff and its validated
    content, or ``None`` when it failed its schema (run and campaign are escalated)."""
    payload = output.model_dump(mode="json") if isinstance(output, BaseModel) else output
    handoff = handoff_record(run_id=run.pk, kind=kind, payload=payload)
    if handoff.status != HandoffStatus.ACCEPTED:
        return None
    return handoff, handoff_read(handoff)


def handoff_read(handoff: Handoff) -> BaseModel:
    """A handoff as its consumer reads it: validated again (the protocol checks both
    sides), so a row altered after it was written is never acted on."""
    if handoff.status != HandoffStatus.ACCEPTED:
        raise HandoffInvalid(handoff.kind, ["this handoff was rejected; nothing follows it"])
    return validate_handoff(handoff.kind, handoff.payload)
