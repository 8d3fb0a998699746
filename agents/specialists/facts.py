"""Reading what specialists work from, as plain values (read-only; no writes here).

Everything gathered here may reach a language model as data, so it is what the model
needs and no more: counts rather than contact lists where counts will do, email domains
rather than addresses, and text flagged as instructions withheld.
"""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum

from agents.providers.offline import AudienceFacts, BriefFacts, DeliveryFacts, MemoryNote
from campaigns.models import Campaign


def brief_facts(campaign: Campaign) -> BriefFacts:
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
        prohibited_claims=list(brief.prohibited_claims),
        voice_rules=list(campaign.brand.voice_rules or []),
        memory=memory_notes(campaign.brand_id),
        contacts=audience_facts(campaign.brand_id).total,
        existing_headlines=brand_headlines(campaign.brand_id),
    )


#: How many of a brand's latest headlines a new campaign is told to avoid.
HEADLINES_REMEMBERED = 300


def brand_headlines(brand_id: int, *, limit: int = HEADLINES_REMEMBERED) -> tuple[str, ...]:
    """The brand's latest headlines, drafted (waiting at the gate or decided) or cleared
    and published, newest first: so a new campaign's copy does not repeat an old one."""
    from approvals.models import ApprovalRequest
    from campaigns.models import ContentVariant

    drafted = (
        ApprovalRequest.objects.filter(brand_id=brand_id, action_type="publish_content")
        .order_by("-created_at", "-id")
        .values_list("payload__headline", flat=True)[:limit]
    )
    cleared = (
        ContentVariant.objects.filter(campaign__brand_id=brand_id)
        .order_by("-created_at", "-id")
        .values_list("headline", flat=True)[:limit]
    )
    found = [h for h in [*drafted, *cleared] if isinstance(h, str) and h]
    return tuple(dict.fromkeys(found))


def memory_notes(brand_id: int) -> tuple[MemoryNote, ...]:
    from memory.selectors import memory_for_agents

    return tuple(
        MemoryNote(ref=fact.ref, kind=str(fact.kind), text=fact.text, disclaimers=fact.disclaimers)
        for fact in memory_for_agents(brand_id)
    )


def audience_facts(brand_id: int) -> AudienceFacts:
    from crm.models import Contact

    contacts = Contact.objects.filter(brand_id=brand_id)
    total = contacts.count()
    if not total:
        return AudienceFacts()
    reachable = contacts.mailable().count()
    return AudienceFacts(
        total=total,
        reachable=reachable,
        top_titles=_top(contacts, "job_title"),
        top_countries=_top(contacts, "country"),
    )


def _top(contacts, field: str, n: int = 3) -> tuple[tuple[str, int], ...]:
    rows = (
        contacts.exclude(**{field: ""})
        .values(field)
        .annotate(n=Count("id"))
        .order_by("-n", field)[:n]
    )
    return tuple((row[field], row["n"]) for row in rows)


def delivery_facts(campaign: Campaign) -> DeliveryFacts:
    from approvals.models import ApprovalRequest, ApprovalStatus
    from campaigns.domain.phases import Phase
    from campaigns.models import ContentStatus, ContentVariant
    from governance.models import AuditEvent

    totals = campaign.performance_samples.aggregate(
        impressions=Sum("impressions"),
        clicks=Sum("clicks"),
        conversions=Sum("conversions"),
        spend=Sum("spend"),
    )
    brief = campaign.brief
    return DeliveryFacts(
        campaign_id=campaign.pk,
        name=campaign.name,
        phase=campaign.get_phase_display(),
        success_metric=brief.success_metric,
        target=float(brief.success_target) if brief.success_target is not None else None,
        impressions=totals["impressions"] or 0,
        clicks=totals["clicks"] or 0,
        conversions=totals["conversions"] or 0,
        spend=float(totals["spend"] or Decimal("0")),
        budget=float(campaign.budget_total),
        open_flags=tuple(
            flag.explanation
            # Through the reverse relation: the flag model is monitoring's, a floor above.
            for flag in campaign.anomaly_flags.exclude(state="resolved")[:5]
        ),
        approvals_waiting=ApprovalRequest.objects.filter(
            campaign=campaign, status=ApprovalStatus.PENDING
        ).count(),
        drafts_held_back=AuditEvent.objects.filter(
            campaign_id=campaign.pk, action="content.held_back"
        ).count(),
        variants_live=ContentVariant.objects.filter(
            campaign=campaign, status=ContentStatus.APPROVED
        ).count(),
        variants_published=ContentVariant.objects.filter(
            campaign=campaign, status=ContentStatus.PUBLISHED
        ).count(),
        finished=campaign.phase in (Phase.COMPLETED, Phase.CANCELLED),
        experiments=_experiments(campaign),
    )


def _experiments(campaign: Campaign) -> tuple[tuple[str, str], ...]:
    """Each channel's latest test: its channel and its winner ("" while it runs)."""
    from campaigns.domain.briefs import CHANNELS

    from ..models import Experiment

    latest: dict[str, str] = {}
    for channel, winner in (
        Experiment.objects.filter(campaign=campaign)
        .order_by("-started_at", "-id")
        .values_list("channel", "winner")
    ):
        latest.setdefault(channel, winner)
    return tuple(
        (CHANNELS.get(channel, channel).lower(), winner) for channel, winner in latest.items()
    )


def as_data(value: Any) -> Any:
    """Facts as JSON-ready data for the model."""
    if is_dataclass(value):
        return {k: as_data(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {k: as_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_data(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


def plan_steps(campaign_id: int) -> set[str]:
    """The specialists the campaign's plan names (validated again as it is read)."""
    from agents.models import Handoff, HandoffStatus
    from agents.services import handoff_read

    plan = (
        Handoff.objects.filter(campaign_id=campaign_id, kind="plan", status=HandoffStatus.ACCEPTED)
        .order_by("-created_at", "-id")
        .first()
    )
    if plan is None:
        return set()
    return {step.specialist for step in handoff_read(plan).steps}
