"""The email that tells a claim's legal owner it expires soon (sent by ``memory.tasks``)."""

from __future__ import annotations

import logging

from django.core.mail import send_mail

from ..models import Claim

logger = logging.getLogger(__name__)


def send_claim_expiry_notice(claim_id: int) -> bool:
    """Email the legal owner; False if there is nobody to email (logged, not retried)."""
    claim = Claim.objects.select_related("brand", "legal_owner").get(pk=claim_id)
    owner = claim.legal_owner
    if not owner.is_active or not owner.email:
        logger.warning("Claim %s expires soon but its owner has no active email", claim.ref)
        return False
    expires = claim.expires_on.isoformat()
    send_mail(
        subject=f"Claim {claim.ref} for {claim.brand.name} expires on {expires}",
        message=(
            f"Hello {owner.get_username()},\n\n"
            f"You are the legal owner of claim {claim.ref} for {claim.brand.name}:\n\n"
            f"    “{claim.wording}”\n\n"
            f"It expires on {expires}. From that day it counts as unapproved, and every draft "
            "that uses it goes back to legal review.\n\n"
            "If its substantiation still holds, propose it again with a new expiry date in the "
            "brand's claims registry; otherwise let it expire or retire it.\n\n"
            "— Campaign Control Tower"
        ),
        from_email=None,
        recipient_list=[owner.email],
    )
    return True
