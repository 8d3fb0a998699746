"""Reads for the API app: what each endpoint shows, scoped exactly as the web UI scopes it
(``governance.policies`` decides what a user may see; a token narrows it further by scope,
never wider). The views call these and serialize what they return."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from approvals.models import ApprovalRequest, ApprovalStatus
from campaigns.models import Brand, Brief, Campaign
from campaigns.selectors import briefs_for_user, campaigns_for_user
from governance import policies
from monitoring.models import OPEN_FLAG_STATES

from .models import ApiToken


def tokens_manageable_by(user: Any) -> QuerySet[ApiToken]:
    """The tokens ``user`` may see and revoke: their own; an admin's, everyone's
    (``policies.can_manage_api_tokens`` decides each write)."""
    tokens = ApiToken.objects.select_related("user", "created_by", "revoked_by")
    return tokens if policies.is_admin(user) else tokens.filter(user=user)


def tokens_of(user: Any) -> QuerySet[ApiToken]:
    """The tokens ``user`` holds (``GET /tokens``), with their owner."""
    return ApiToken.objects.filter(user=user).select_related("user")


# --- Brands ----------------------------------------------------------------------------


def brands_visible_to(user: Any) -> QuerySet[Brand]:
    """The brands ``user`` may see."""
    return Brand.objects.filter(pk__in=policies.visible_brand_ids(user))


def brand_slugs_visible_to(user: Any) -> list[str]:
    """The slugs of the brands ``user`` may see, in order (``GET /me``)."""
    return list(brands_visible_to(user).order_by("slug").values_list("slug", flat=True))


def brand_for_user_by_slug(user: Any, slug: str) -> Brand | None:
    """The brand with this slug if ``user`` may see it, else None."""
    return brands_visible_to(user).filter(slug=slug).first()


def brand_by_slug(slug: str) -> Brand | None:
    """The brand with this slug, whoever asks: the caller decides what may be done to it
    (telemetry asks ``policies.can_upload_telemetry``)."""
    return Brand.objects.filter(slug=slug).first()


# --- Campaigns and briefs --------------------------------------------------------------


def campaigns_for_api(
    user: Any, *, brand: str | None = None, phase: str | None = None
) -> QuerySet[Campaign]:
    """The campaigns ``user`` may see, newest change first, each with its open flags and
    pending approvals counted; only one brand (by slug) or one phase when given."""
    campaigns = (
        campaigns_for_user(user)
        .select_related("brand", "owner")
        .annotate(
            open_flag_count=Count(
                "anomaly_flags", filter=Q(anomaly_flags__state__in=OPEN_FLAG_STATES), distinct=True
            ),
            pending_approval_count=Count(
                "approval_requests",
                filter=Q(approval_requests__status=ApprovalStatus.PENDING),
                distinct=True,
            ),
        )
        .order_by("-updated_at", "-id")
    )
    if brand:
        campaigns = campaigns.filter(brand__slug=brand)
    if phase:
        campaigns = campaigns.filter(phase=phase)
    return campaigns


def briefs_for_api(user: Any) -> QuerySet[Brief]:
    """The briefs ``user`` may see, newest first."""
    return briefs_for_user(user).select_related("brand").order_by("-created_at")


# --- Approvals -------------------------------------------------------------------------


def approvals_visible_to(user: Any) -> QuerySet[ApprovalRequest]:
    """The approval requests of the brands ``user`` may see (the gate decides who may
    decide each one)."""
    return ApprovalRequest.objects.filter(brand_id__in=policies.visible_brand_ids(user))


def approval_as_decided(approval_id: int) -> ApprovalRequest:
    """One approval request re-read after a decision, with what its answer shows."""
    return ApprovalRequest.objects.select_related("brand", "decision", "decided_by").get(
        pk=approval_id
    )
