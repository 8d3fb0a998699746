"""Writes of brands and briefs: a submitted brief becomes a campaign in briefing (the
planner is asked for a plan); a template only waits to be reused."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from governance import events, policies
from governance.domain.audit import Actor
from governance.domain.errors import DomainError, NotPermitted
from governance.services import audit_record

from ..domain.briefs import BriefSpec, validate_brief
from ..domain.phases import (
    Phase,
)
from ..models import (
    Brand,
    Brief,
    Campaign,
)
from .phases import campaign_transition_phase


class BriefInvalid(DomainError):
    """The brief breaks one or more rules; ``errors`` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(m for messages in errors.values() for m in messages))


def brief_create(
    *,
    author: Any,
    brand: Brand,
    spec: BriefSpec,
    as_template: bool = False,
    today: date | None = None,
    start_agents: bool = True,
) -> tuple[Brief, Campaign | None]:
    """Save a brief. A submitted brief (not a template) starts its campaign in briefing,
    where the planner agent picks it up; a template only waits to be reused."""
    if not policies.can_write_brief_for(author, brand):
        raise NotPermitted("You cannot write briefs for this brand.")
    errors = validate_brief(
        spec,
        today=today or timezone.localdate(),
        max_budget=settings.CONTROLTOWER_MAX_BRIEF_BUDGET,
    )
    if errors:
        raise BriefInvalid(errors)

    actor = Actor.for_user(author)
    with transaction.atomic():
        brief = Brief.objects.create(
            brand=brand, created_by=author, is_template=as_template, **asdict(spec)
        )
        audit_record(
            actor=actor,
            action="brief.template_saved" if as_template else "brief.submitted",
            target=brief,
            brand_id=brand.pk,
            data={"title": brief.title, "budget": str(brief.budget)},
        )
        if as_template:
            return brief, None
        campaign = _campaign_create(brief=brief, owner=author, actor=actor)
        campaign = campaign_transition_phase(
            campaign_id=campaign.pk,
            to_phase=Phase.BRIEFING,
            actor=actor,
            reason="Brief submitted",
        )
        if start_agents:
            # The planner's run is queued with the brief (it survives any crash after
            # commit) and picked up once committed; nobody starts it.
            events.announce(events.planning_requested, campaign_id=campaign.pk)
    return brief, campaign


def _campaign_create(*, brief: Brief, owner: Any, actor: Actor) -> Campaign:
    campaign = Campaign.objects.create(
        brand=brief.brand,
        brief=brief,
        name=brief.title,
        owner=owner,
        phase=Phase.DRAFT,
        phase_changed_at=timezone.now(),
        budget_total=brief.budget,
        daily_cap=brief.daily_cap,
    )
    audit_record(
        actor=actor,
        action="campaign.created",
        target=campaign,
        brand_id=campaign.brand_id,
        campaign_id=campaign.pk,
        data={"brief_id": brief.pk, "budget_total": str(campaign.budget_total)},
    )
    return campaign


def brand_save(*, brand: Brand, actor: Actor, changed: list[str]) -> Brand:
    """Create or update a brand's settings (the admin's form), audited."""
    with transaction.atomic():
        adding = brand._state.adding
        brand.save()
        audit_record(
            actor=actor,
            action="brand.created" if adding else "brand.changed",
            target=brand,
            brand_id=brand.pk,
            data={"changed": sorted(changed)},
        )
    return brand
