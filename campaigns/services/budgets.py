"""A campaign's money: spend recorded per day against its caps, today's spend, and budget
changes."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from governance import events
from governance.domain.audit import Actor
from governance.domain.errors import DomainError
from governance.services import audit_record

from ..models import (
    Campaign,
    DailySpend,
)


def campaign_record_spend(*, campaign_id: int, amount: Decimal, actor: Actor) -> Campaign:
    """Add spend to a campaign, refusing anything that would cross its budget or today's
    cap (hard caps: for everyone, and under concurrent workers — the campaign row lock
    serialises them, and database constraints back the budget)."""
    if amount <= 0:
        raise DomainError("Spend must be a positive amount.")
    try:
        with transaction.atomic():
            campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
            if campaign.budget_consumed + amount > campaign.budget_total:
                raise DomainError(
                    f"Spending {amount} would exceed the budget of {campaign.budget_total} "
                    f"({campaign.budget_consumed} already consumed)."
                )
            today, _ = DailySpend.objects.get_or_create(campaign=campaign, day=timezone.localdate())
            if campaign.daily_cap is not None and today.amount + amount > campaign.daily_cap:
                raise DomainError(
                    f"Spending {amount} would exceed today's cap of {campaign.daily_cap} "
                    f"({today.amount} already spent today)."
                )
            today.amount += amount
            today.save(update_fields=["amount"])
            campaign.budget_consumed += amount
            campaign.save(update_fields=["budget_consumed", "updated_at"])
            audit_record(
                actor=actor,
                action="campaign.spend_recorded",
                target=campaign,
                brand_id=campaign.brand_id,
                campaign_id=campaign.pk,
                data={
                    "amount": str(amount),
                    "consumed": str(campaign.budget_consumed),
                    "spent_today": str(today.amount),
                },
            )
            events.announce_on_commit(events.campaign_changed, campaign_id=campaign.pk)
    except IntegrityError as exc:  # the database constraint is the last line of defence
        raise DomainError("That spend would exceed the campaign budget.") from exc
    return campaign


def spent_today(campaign: Campaign) -> Decimal:
    tally = DailySpend.objects.filter(campaign=campaign, day=timezone.localdate()).first()
    return tally.amount if tally else Decimal("0")


def campaign_change_budget(
    *, campaign_id: int, new_total: Decimal, actor: Actor, reason: str
) -> Campaign:
    """Set a campaign's total budget; never below what it has already spent."""
    limit = Decimal(settings.CONTROLTOWER_MAX_BRIEF_BUDGET)
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
        if new_total < campaign.budget_consumed:
            raise DomainError(
                f"The budget cannot go below the {campaign.budget_consumed:,.2f} already spent."
            )
        if new_total > limit:
            raise DomainError(f"A budget above {limit:,.0f} is refused as implausible.")
        before = campaign.budget_total
        campaign.budget_total = new_total
        campaign.save(update_fields=["budget_total", "updated_at"])
        audit_record(
            actor=actor,
            action="campaign.budget_changed",
            target=campaign,
            brand_id=campaign.brand_id,
            campaign_id=campaign.pk,
            data={"from": str(before), "to": str(new_total), "reason": reason},
        )
        events.announce_on_commit(events.campaign_changed, campaign_id=campaign.pk)
    return campaign
