"""Anomaly flags and SLA evaluations: raising, updating and resolving a flag (one
incident, one flag), recording what its response did, and recording an SLA measurement
(the campaign's ``sla_status`` becomes the worst latest one).

Each write locks what it changes (the campaign row, then the flag) before its audit
event, in the same transaction, and tells the tower after commit
(``events.campaign_changed``). Callers: detection (``flag_apply``), responses
(``flag_respond``) and the SLA sweep (``slas_evaluate``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from campaigns.models import SLA_SEVERITY, Campaign, SlaStatus
from governance import events
from governance.domain.audit import Actor
from governance.domain.errors import DomainError
from governance.services import audit_record

from ..models import AnomalyFlag, FlagState, SlaEvaluation, SlaKind


def anomaly_flag_raise(
    *,
    campaign_id: int,
    kind: str,
    explanation: str,
    response: str,
    actor: Actor,
    observed: Decimal | None = None,
    limit: Decimal | None = None,
    expected: tuple[Decimal | None, Decimal | None] = (None, None),
    bad_since: datetime | None = None,
    channel: str = "",
    variant: str = "",
    state: str = FlagState.FIRING,
) -> AnomalyFlag:
    """Open a flag, or update the open one of the same kind and surface (one incident, one
    flag). ``expected`` is the band the detector expected the value in (low, high)."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
        flag, created = AnomalyFlag.objects.select_for_update().get_or_create(
            campaign=campaign,
            kind=kind,
            channel=channel,
            variant=variant,
            state__in=[FlagState.PENDING, FlagState.FIRING],
            defaults={
                "state": state,
                "response": response,
                "explanation": explanation,
                "observed": observed,
                "limit": limit,
                "expected_low": expected[0],
                "expected_high": expected[1],
                "bad_since": bad_since,
                "opened_at": timezone.now(),
            },
        )
        fires_now = state == FlagState.FIRING and flag.firing_at is None
        if fires_now:
            flag.firing_at = timezone.now()
        if not created:
            flag.state, flag.response, flag.explanation = state, response, explanation
            flag.observed, flag.limit = observed, limit
            flag.expected_low, flag.expected_high = expected
            flag.bad_since = bad_since or flag.bad_since
            flag.save(
                update_fields=[
                    "state",
                    "response",
                    "explanation",
                    "observed",
                    "limit",
                    "expected_low",
                    "expected_high",
                    "bad_since",
                    "firing_at",
                ]
            )
        elif fires_now:
            flag.save(update_fields=["firing_at"])
        audit_record(
            actor=actor,
            action="anomaly.raised" if created else "anomaly.updated",
            target=flag,
            brand_id=campaign.brand_id,
            campaign_id=campaign.pk,
            data={"kind": kind, "state": state, "response": response, "explanation": explanation},
        )
        events.announce_on_commit(events.campaign_changed, campaign_id=campaign.pk)
    return flag


def anomaly_flag_responded(
    *, flag_id: int, actor: Actor, response_taken: str, silence_note: str = ""
) -> AnomalyFlag:
    """Record what the flag's response did when it fired (or that a silence held it)."""
    with transaction.atomic():
        flag = (
            AnomalyFlag.objects.select_for_update(no_key=True, of=("self",))
            .select_related("campaign")
            .get(pk=flag_id)
        )
        flag.response_taken = response_taken[:300]
        flag.silenced = bool(silence_note)
        flag.silence_note = silence_note[:300]
        flag.save(update_fields=["response_taken", "silenced", "silence_note"])
        audit_record(
            actor=actor,
            action="anomaly.silenced" if silence_note else "anomaly.responded",
            target=flag,
            brand_id=flag.campaign.brand_id,
            campaign_id=flag.campaign_id,
            data={
                "kind": flag.kind,
                "response": flag.response,
                "taken": flag.response_taken,
                **({"silence": silence_note} if silence_note else {}),
            },
        )
        events.announce_on_commit(events.campaign_changed, campaign_id=flag.campaign_id)
    return flag


def anomaly_flag_resolve(*, flag_id: int, actor: Actor, note: str = "") -> AnomalyFlag:
    with transaction.atomic():
        flag = (
            AnomalyFlag.objects.select_for_update(no_key=True, of=("self",))
            .select_related("campaign")
            .get(pk=flag_id)
        )
        if flag.state == FlagState.RESOLVED:
            raise DomainError("This flag is already resolved.")
        flag.state, flag.resolved_at = FlagState.RESOLVED, timezone.now()
        flag.save(update_fields=["state", "resolved_at"])
        audit_record(
            actor=actor,
            action="anomaly.resolved",
            target=flag,
            brand_id=flag.campaign.brand_id,
            campaign_id=flag.campaign_id,
            data={"kind": flag.kind, "note": note},
        )
        events.announce_on_commit(events.campaign_changed, campaign_id=flag.campaign_id)
    return flag


def sla_evaluation_record(
    *,
    campaign_id: int,
    sla: str,
    status: str,
    measured: str,
    target: str,
    actor: Actor,
    detail: str = "",
    error_budget: str = "",
) -> SlaEvaluation:
    """Record one SLA measurement; the campaign's status becomes the worst latest one."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
        evaluation = SlaEvaluation.objects.create(
            campaign=campaign,
            sla=sla,
            status=status,
            measured=measured,
            target=target,
            detail=detail[:300],
            error_budget=error_budget[:120],
            evaluated_at=timezone.now(),
        )
        # The latest evaluation of each SLA (one indexed lookup per kind).
        latest = [
            latest_status
            for kind in SlaKind
            if (
                latest_status := SlaEvaluation.objects.filter(campaign=campaign, sla=kind)
                .order_by("-evaluated_at", "-id")
                .values_list("status", flat=True)
                .first()
            )
        ]
        worst = max(latest, key=lambda s: SLA_SEVERITY[SlaStatus(s)], default=SlaStatus.ON_TRACK)
        changed = worst != campaign.sla_status
        if changed:
            campaign.sla_status = worst
            campaign.save(update_fields=["sla_status", "updated_at"])
        audit_record(
            actor=actor,
            action="sla.evaluated",
            target=evaluation,
            brand_id=campaign.brand_id,
            campaign_id=campaign.pk,
            data={"sla": sla, "status": status, "measured": measured, "target": target},
        )
        if changed:
            events.announce_on_commit(events.campaign_changed, campaign_id=campaign.pk)
    return evaluation
