"""Every write about agent work: starting and finishing runs, recording handoffs.

A handoff that fails its schema is kept as evidence, stops its run, and escalates the
campaign — a broken chain is never passed on and never silent.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from approvals.domain.audit import Actor
from approvals.services import audit_record
from campaigns.domain.errors import DomainError
from campaigns.domain.phases import LIVE_PHASES, Phase
from campaigns.services import campaign_transition_phase

from .domain.handoffs import HandoffInvalid, validate_handoff
from .models import AgentRun, Handoff, HandoffStatus, RunStatus


def agent_run_start(*, campaign_id: int, agent: str, key: str, model_label: str) -> AgentRun:
    """Start (or, for a re-delivered task, find) the run ``key`` names."""
    with transaction.atomic():
        run, created = AgentRun.objects.get_or_create(
            key=key,
            defaults={"campaign_id": campaign_id, "agent": agent, "model_label": model_label},
        )
        if created:
            audit_record(
                actor=Actor.for_agent(agent),
                action="agent.run_started",
                target=run,
                brand_id=run.campaign.brand_id,
                campaign_id=campaign_id,
                data={"key": key, "model": model_label},
            )
    return run


def agent_run_finish(
    *,
    run_id: int,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cost: Decimal = Decimal("0"),
) -> AgentRun:
    with transaction.atomic():
        run = AgentRun.objects.select_for_update().select_related("campaign").get(pk=run_id)
        if run.status != RunStatus.RUNNING:
            return run  # finished already: a duplicate delivery changes nothing
        run.status, run.finished_at = RunStatus.SUCCEEDED, timezone.now()
        run.input_tokens, run.output_tokens, run.cost = input_tokens, output_tokens, cost
        run.save(update_fields=["status", "finished_at", "input_tokens", "output_tokens", "cost"])
        audit_record(
            actor=Actor.for_agent(run.agent),
            action="agent.run_succeeded",
            target=run,
            brand_id=run.campaign.brand_id,
            campaign_id=run.campaign_id,
            data={"tokens_in": input_tokens, "tokens_out": output_tokens, "cost": str(cost)},
        )
    return run


def handoff_record(*, run_id: int, kind: str, payload: Any) -> Handoff:
    """Validate and store what a run hands on. If it fails its schema, it is stored as
    rejected, the run is escalated, and so is its campaign (with the problems as the
    reason), all in one transaction."""
    with transaction.atomic():
        run = AgentRun.objects.select_for_update().select_related("campaign").get(pk=run_id)
        if run.status != RunStatus.RUNNING:
            raise DomainError(
                f"This run is {run.get_status_display().lower()}; it hands nothing on."
            )
        actor = Actor.for_agent(run.agent)
        try:
            parsed = validate_handoff(kind, payload)
        except HandoffInvalid as invalid:
            handoff = Handoff.objects.create(
                run=run,
                campaign=run.campaign,
                kind=kind,
                payload=payload if isinstance(payload, dict | list) else {"raw": str(payload)},
                status=HandoffStatus.REJECTED,
                problems=invalid.problems,
            )
            run.status, run.finished_at = RunStatus.ESCALATED, timezone.now()
            run.error = str(invalid)[:2000]
            run.save(update_fields=["status", "finished_at", "error"])
            audit_record(
                actor=actor,
                action="handoff.rejected",
                target=handoff,
                brand_id=run.campaign.brand_id,
                campaign_id=run.campaign_id,
                data={"kind": kind, "problems": invalid.problems[:20]},
            )
            if Phase(run.campaign.phase) in LIVE_PHASES:
                campaign_transition_phase(
                    campaign_id=run.campaign_id,
                    to_phase=Phase.ESCALATED,
                    actor=actor,
                    reason=_fit(
                        f"The {kind} handoff from {run.agent} failed its checks: "
                        + "; ".join(invalid.problems)
                    ),
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
    return handoff


def _fit(text: str, limit: int = 900) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- The planner and content agents on the offline composer ---------------------------


def _facts(campaign: Any) -> Any:
    from .providers.offline import BriefFacts

    brief = campaign.brief
    return BriefFacts(
        campaign_id=campaign.pk,
        brand_name=campaign.brand.name,
        title=brief.title,
        objective=brief.objective,
        success_metric=brief.get_success_metric_display(),
        channels=list(brief.channels),
        audience=brief.audience,
        tone=brief.tone,
        offer=brief.offer,
        required_claims=list(brief.required_claims),
        voice_rules=list(campaign.brand.voice_rules or []),
    )


def planner_run(*, campaign_id: int) -> AgentRun | None:
    """Plan a campaign in briefing, then hand over to the content agent. All or nothing:
    a crash mid-run leaves no trace, and a re-delivered task finds the finished run."""
    from campaigns.models import Campaign

    from .providers.offline import LABEL, compose_plan
    from .tasks import draft_campaign

    with transaction.atomic():
        campaign = Campaign.objects.select_related("brand", "brief").get(pk=campaign_id)
        if campaign.phase != Phase.BRIEFING:
            return None  # nothing to plan (or no longer)
        run = agent_run_start(
            campaign_id=campaign_id, agent="planner", key=f"plan:{campaign_id}", model_label=LABEL
        )
        if run.status != RunStatus.RUNNING:
            return run
        handoff = handoff_record(
            run_id=run.pk, kind="plan", payload=compose_plan(_facts(campaign)).model_dump()
        )
        if handoff.status != HandoffStatus.ACCEPTED:
            return run
        run = agent_run_finish(run_id=run.pk)
        transaction.on_commit(lambda: draft_campaign.delay(campaign_id))
    return run


def content_run(*, campaign_id: int) -> AgentRun | None:
    """Draft variants, hold back any that break the brand's rules, and propose the rest
    for publishing through the delegation-policy gate."""
    from approvals.services import action_propose
    from campaigns.models import Campaign

    from .domain.compliance import BrandRules, blocks, check_variant
    from .domain.handoffs import DraftsV1
    from .providers.offline import LABEL, compose_drafts

    with transaction.atomic():
        campaign = Campaign.objects.select_related("brand", "brief").get(pk=campaign_id)
        run = agent_run_start(
            campaign_id=campaign_id, agent="content", key=f"drafts:{campaign_id}", model_label=LABEL
        )
        if run.status != RunStatus.RUNNING:
            return run
        rules = BrandRules(
            prohibited_claims=tuple(campaign.brief.prohibited_claims),
            approved_claims=tuple(campaign.brief.required_claims),
        )
        passed = []
        for variant in compose_drafts(_facts(campaign)).variants:
            findings = check_variant(
                channel=variant.channel,
                headline=variant.headline,
                body=variant.body,
                claims=variant.claims,
                rules=rules,
            )
            if blocks(findings):
                audit_record(
                    actor=Actor.for_agent("content"),
                    action="content.held_back",
                    target=run,
                    brand_id=campaign.brand_id,
                    campaign_id=campaign_id,
                    data={"channel": variant.channel, "findings": [f.message for f in findings]},
                )
            else:
                passed.append(variant)
        if not passed:
            return run
        handoff = handoff_record(
            run_id=run.pk,
            kind="drafts",
            payload=DraftsV1(campaign_id=campaign_id, variants=passed).model_dump(),
        )
        if handoff.status != HandoffStatus.ACCEPTED:
            return run
        for variant in passed:
            action_propose(
                campaign_id=campaign_id,
                action="publish_content",
                payload={
                    "channel": variant.channel,
                    "headline": variant.headline,
                    "body": variant.body,
                    "claims": list(variant.claims),
                },
                actor=Actor.for_agent("content"),
                summary=f"{variant.channel}: {variant.headline}",
                claims=variant.claims,
                evidence={"model": LABEL, "cites": ", ".join(variant.cites) or "the brief"},
            )
        return agent_run_finish(run_id=run.pk)
