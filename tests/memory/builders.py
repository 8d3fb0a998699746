"""Building blocks for memory tests: claims and entries made through the services."""

from datetime import date, timedelta

from governance.domain.audit import Actor
from memory.domain.claims import ClaimSpec
from memory.services import claim_propose, claim_review, memory_entry_create

TODAY = date(2025, 3, 10)


def spec(wording="Roasted to order", *, days=200, today=TODAY, **overrides):
    values = {
        "wording": wording,
        "substantiation": "Roastery logs, 2024: 99 % within 2 days.",
        "expires_on": today + timedelta(days=days),
        "jurisdictions": ["US"],
    }
    values.update(overrides)
    return ClaimSpec(**values)


def propose(
    brand, proposer, owner, wording="Roasted to order", *, renews_id=None, today=TODAY, **overrides
):
    return claim_propose(
        brand_id=brand.pk,
        spec=spec(wording, today=today, **overrides),
        legal_owner=owner,
        proposer=proposer,
        renews_id=renews_id,
        today=today,
    )


def approved(brand, proposer, owner, wording="Roasted to order", *, today=TODAY, **overrides):
    claim = propose(brand, proposer, owner, wording, today=today, **overrides)
    return claim_review(claim_id=claim.pk, reviewer=owner, approve=True, today=today)


def add(brand, user, kind="voice_rule", text="Warm and plain-spoken.", **kwargs):
    return memory_entry_create(
        brand_id=brand.pk, kind=kind, text=text, actor=Actor.for_user(user), **kwargs
    )
