"""Who may do what, decided here and nowhere else.

The ONLY module that asks django-guardian. Views, services, consumers and templates ask
these functions; none of them inspect groups or object permissions themselves.

The model:
- A **role** is a Django group (``governance.domain.roles.Role``): what kind of work a
  person does.
- An **assignment** is the object permission ``campaigns.view_brand`` on a brand, given
  to the person or to a group they are in (Django admin → Brand → Object permissions):
  which brands they do it for. Without it a brand, its briefs and campaigns do not
  exist for them (404, never 403, so its existence does not leak).
- **Admins** (the Admin group, or superusers) see and configure every brand.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Cast
from guardian.models import GroupObjectPermission, UserObjectPermission

from .domain.roles import Role
from .subjects import Brand, Campaign, brand_model

ASSIGNMENT_PERMISSION = "campaigns.view_brand"


def roles_of(user: Any) -> frozenset[Role]:
    """The user's roles, read once per user object."""
    if user is None or isinstance(user, AnonymousUser) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_controltower_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = frozenset(role for role in Role if role.value in names)
        if user.is_superuser:
            cached |= {Role.ADMIN}
        user._controltower_roles = cached
    return cached


def is_admin(user: Any) -> bool:
    return Role.ADMIN in roles_of(user)


def is_manager(user: Any) -> bool:
    return Role.MANAGER in roles_of(user)


def is_legal_reviewer(user: Any) -> bool:
    return Role.LEGAL in roles_of(user)


def visible_brands(user: Any) -> QuerySet[Brand]:
    """Brands the user may see: all for admins, assigned ones for everyone else."""
    brands = brand_model().objects
    if not roles_of(user):
        return brands.none()
    if is_admin(user):
        return brands.all()
    # The same answer as guardian's get_objects_for_user(user, "campaigns.view_brand",
    # accept_global_perms=False) — a test holds them equal — asked of guardian's tables
    # in one statement: the shortcut spent ~5 ms of Python building its query on every
    # page (docs/PERFORMANCE.md).
    # TRICKY: the content type (cached by Django) and the permission id are looked up
    # first; joining them into the query cost PostgreSQL 3 ms of planning per request.
    brand_type = ContentType.objects.get_for_model(brand_model())
    permission = (
        Permission.objects.filter(
            content_type=brand_type, codename=ASSIGNMENT_PERMISSION.split(".")[1]
        )
        .values_list("pk", flat=True)
        .first()
    )
    granted = {
        "permission_id": permission,
        "content_type_id": brand_type.pk,
        "object_pk": Cast(OuterRef("pk"), CharField()),
    }
    return brands.filter(
        Exists(UserObjectPermission.objects.filter(user=user, **granted))
        | Exists(GroupObjectPermission.objects.filter(group__user=user, **granted))
    )


def can_view_brand(user: Any, brand: Brand) -> bool:
    return visible_brands(user).filter(pk=brand.pk).exists()


def can_write_briefs(user: Any) -> bool:
    """Managers and admins write briefs (for brands they can see)."""
    return is_manager(user) or is_admin(user)


def can_write_brief_for(user: Any, brand: Brand) -> bool:
    return can_write_briefs(user) and can_view_brand(user, brand)


def can_change_phase(user: Any, campaign: Campaign) -> bool:
    """Managers and admins run campaigns of brands they can see; legal reviewers only read."""
    return can_write_briefs(user) and can_view_brand(user, campaign.brand)


def can_use_admin_site(user: Any) -> bool:
    return is_admin(user) and user.is_staff


def visible_brand_ids(user: Any) -> list[int]:
    """Ids of the brands the user may see, read once per user object (one request, or one
    socket's connect)."""
    cached = getattr(user, "_controltower_brand_ids", None)
    if cached is None:
        cached = list(visible_brands(user).values_list("pk", flat=True))
        if user is not None and not isinstance(user, AnonymousUser):
            user._controltower_brand_ids = cached
    return cached


def approval_refusal(user: Any, approval: Any) -> str | None:
    """Why ``user`` may not decide ``approval``, or None if they may.

    Separation of duties: only people decide (agents have no user account, so they
    cannot reach this); nobody decides a request they raised; a role decides only in its
    own queue (or one escalated to it), and only for brands it is assigned to. A reviewer
    away may delegate: their delegate may then decide in their queues — but only for
    brands the delegate is assigned to themselves (a delegation never opens a brand to
    someone who may not see it), and never a request the delegate raised themselves.
    """
    refusal = _own_refusal(user, approval)
    if refusal is None or refusal == SELF_REQUEST:
        return refusal
    if approval.brand_id not in visible_brand_ids(user):
        return refusal
    for reviewer in active_delegators(user):
        if _own_refusal(reviewer, approval) is None:
            return None
    return refusal


SELF_REQUEST = "You cannot decide a request you raised; another person must."


def _own_refusal(user: Any, approval: Any) -> str | None:
    if user is None or not user.is_authenticated or not user.is_active:
        return "Log in to decide approval requests."
    if approval.requested_by_user_id is not None and approval.requested_by_user_id == user.pk:
        return SELF_REQUEST
    queue = approval.queue_role
    held = {role.value for role in roles_of(user)}
    # An overdue item escalated to the next tier may be decided there too.
    if queue not in held and (getattr(approval, "escalated_to", "") or "") not in held:
        return f"This item is in the {queue} queue, and you are not a {queue}."
    if approval.brand_id not in visible_brand_ids(user):
        return "You are not assigned to this brand."
    return None


def active_delegators(user: Any) -> list[Any]:
    """People who have delegated their reviews to ``user`` right now."""
    from django.utils import timezone

    from .models import ReviewDelegation

    if user is None or not user.is_authenticated:
        return []
    cached = getattr(user, "_controltower_delegators", None)
    if cached is None:
        now = timezone.now()
        cached = [
            d.reviewer
            for d in ReviewDelegation.objects.filter(
                delegate=user, starts_at__lte=now, ends_at__gt=now, reviewer__is_active=True
            ).select_related("reviewer")
        ]
        user._controltower_delegators = cached
    return cached


def queue_scope(user: Any) -> Q:
    """The approval requests that belong in ``user``'s queue page: their own roles'
    queues (and items escalated to those roles) for their brands, plus those of anyone who
    delegated to them."""
    scope = Q(pk__in=[])
    own_brands = set(visible_brand_ids(user))
    for person in [user, *active_delegators(user)]:
        roles = [role.value for role in roles_of(person)]
        # A delegator's queues, for the brands both of them may see (approval_refusal).
        brands = own_brands & set(visible_brand_ids(person))
        if roles and brands:
            scope |= (Q(queue_role__in=roles) | Q(escalated_to__in=roles)) & Q(
                brand_id__in=sorted(brands)
            )
    return scope


def can_decide(user: Any, approval: Any) -> bool:
    return approval_refusal(user, approval) is None


# --- Brand memory and the claims registry -----------------------------------------------


def can_edit_memory(user: Any, brand: Brand) -> bool:
    """Managers and admins of the brand edit its memory. Everyone who sees the brand
    (``visible_brands``) reads it; legal reviewers only read."""
    return (is_manager(user) or is_admin(user)) and can_view_brand(user, brand)


def can_propose_claims(user: Any, brand: Brand) -> bool:
    return (is_manager(user) or is_admin(user)) and can_view_brand(user, brand)


def can_review_claims(user: Any, brand: Brand) -> bool:
    """Only legal reviewers assigned to the brand approve or reject its claims."""
    return is_legal_reviewer(user) and can_view_brand(user, brand)


def can_own_claims(user: Any, brand: Brand) -> bool:
    """A claim's legal owner (told before it expires) is an active legal reviewer of the
    brand."""
    return user is not None and user.is_active and can_review_claims(user, brand)


def claim_review_refusal(user: Any, claim: Any) -> str | None:
    """Why ``user`` may not approve or reject ``claim``, or None if they may."""
    if not can_review_claims(user, claim.brand):
        return "Only a legal reviewer assigned to this brand reviews its claims."
    if claim.proposed_by_id == user.pk:
        return "You proposed this claim; another legal reviewer must review it."
    return None


def can_retire_claims(user: Any, brand: Brand) -> bool:
    """Withdrawing a claim only ever narrows what may be said: the brand's managers, admins
    and legal reviewers may all do it."""
    return can_edit_memory(user, brand) or can_review_claims(user, brand)


def can_manage_contacts_somewhere(user: Any) -> bool:
    """Managers and admins upload and read first-party contacts; legal reviewers do not
    (contacts are personal data they have no need to see)."""
    return is_manager(user) or is_admin(user)


def can_manage_contacts(user: Any, brand: Brand) -> bool:
    return can_manage_contacts_somewhere(user) and can_view_brand(user, brand)


def contact_brands(user: Any) -> QuerySet[Brand]:
    """Brands whose contacts ``user`` may upload and read."""
    if not can_manage_contacts_somewhere(user):
        return brand_model().objects.none()
    return visible_brands(user)


def can_view_agent_records(user: Any) -> bool:
    """The agents page (runs, costs, approval rates, rejection reasons), for the brands
    the user may see. Managers and admins run the agents; legal reviewers read it too,
    since the approval rates and rejection reasons are largely their own decisions."""
    return is_manager(user) or is_admin(user) or is_legal_reviewer(user)


def claim_owner_candidates(brand: Brand) -> QuerySet:
    """People who may own the brand's claims (see ``can_own_claims``): active legal
    reviewers assigned to it, or legal reviewers who are admins (they see every brand)."""
    from django.contrib.auth import get_user_model
    from guardian.shortcuts import get_users_with_perms

    assigned = get_users_with_perms(
        brand, only_with_perms_in=[ASSIGNMENT_PERMISSION.split(".")[1]], with_group_users=True
    )
    admins = Q(groups__name=Role.ADMIN.value) | Q(is_superuser=True)
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.LEGAL.value)
        .filter(Q(pk__in=assigned.values("pk")) | admins)
        .distinct()
        .order_by("username")
    )


# --- Monitoring: escalations, silences, circuit breakers, telemetry -------------------


def can_answer_escalations(user: Any, campaign: Campaign) -> bool:
    """Acknowledging and resolving an escalation is running the campaign: managers and
    admins of its brand (the owner is a manager). Legal reviewers see escalations but
    answer them through their queue, not here."""
    return can_change_phase(user, campaign)


def can_silence(user: Any, brand: Brand) -> bool:
    """Silencing a brand's flags for a known event: its managers and admins."""
    return can_write_briefs(user) and can_view_brand(user, brand)


def can_resume_paused_surfaces(user: Any, campaign: Campaign) -> bool:
    """Closing a circuit breaker (resuming a paused channel or variant) spends money
    again: the campaign's managers and admins, with a written justification."""
    return can_change_phase(user, campaign)


def can_upload_telemetry(user: Any, brand: Brand) -> bool:
    return can_write_briefs(user) and can_view_brand(user, brand)


def can_configure_monitoring(user: Any) -> bool:
    """SLA targets, escalation chains, webhooks, ingestion tokens, sandbox faults."""
    return is_admin(user)


def escalation_recipients(brand: Brand, *, tier: str, owner: Any) -> list[Any]:
    """Who an escalation tells at each tier of its chain: the campaign's owner; the
    brand's marketing managers (assigned to it); the admins. Active people only."""
    from django.contrib.auth import get_user_model
    from guardian.shortcuts import get_users_with_perms

    people = get_user_model().objects.filter(is_active=True)
    if tier == "owner":
        return [owner] if owner is not None and owner.is_active else []
    if tier == "manager":
        assigned = get_users_with_perms(
            brand, only_with_perms_in=[ASSIGNMENT_PERMISSION.split(".")[1]], with_group_users=True
        )
        return list(
            people.filter(groups__name=Role.MANAGER.value, pk__in=assigned.values("pk"))
            .distinct()
            .order_by("username")
        )
    if tier == "admin":
        admins = Q(groups__name=Role.ADMIN.value) | Q(is_superuser=True)
        return list(people.filter(admins).distinct().order_by("username"))
    raise ValueError(f"Unknown escalation tier “{tier}”.")


# --- The public API -----------------------------------------------------------------------


def can_manage_api_tokens(user: Any, owner: Any) -> bool:
    """People make and revoke their own API tokens; admins anyone's."""
    if user is None or not user.is_authenticated:
        return False
    return user.pk == owner.pk or is_admin(user)


def api_scope_allows(scopes: Any, needed: str) -> bool:
    """A token's scopes allow what a request needs (a person's session allows all: the
    roles still decide). ``approve`` and ``write`` are separate on purpose: a reporting
    tool with write access must not be able to approve."""
    return scopes is None or needed in scopes


# --- Approving from Slack or email ------------------------------------------------------


def approval_reviewers(approval: Any) -> list[Any]:
    """The people who may decide ``approval`` (see ``approval_refusal``; a test holds the
    two in agreement), each told with their own links: active holders of its queue's role
    (or of the tier it was escalated to) assigned to its brand — admins see every brand —
    and the active delegates of those away. Never whoever raised it."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone
    from guardian.shortcuts import get_users_with_perms

    from .models import ReviewDelegation

    roles = {approval.queue_role, getattr(approval, "escalated_to", "") or ""} - {""}
    holds_role = Q(groups__name__in=roles)
    if Role.ADMIN.value in roles:
        holds_role |= Q(is_superuser=True)
    assigned = get_users_with_perms(
        approval.brand,
        only_with_perms_in=[ASSIGNMENT_PERMISSION.split(".")[1]],
        with_group_users=True,
    )
    sees_brand = (
        Q(pk__in=assigned.values("pk")) | Q(groups__name=Role.ADMIN.value) | Q(is_superuser=True)
    )
    people = get_user_model().objects.filter(is_active=True)
    if approval.requested_by_user_id is not None:
        people = people.exclude(pk=approval.requested_by_user_id)
    reviewers = list(people.filter(holds_role).filter(sees_brand).distinct())
    now = timezone.now()
    delegates = people.filter(sees_brand).filter(
        pk__in=ReviewDelegation.objects.filter(
            reviewer__in=reviewers, starts_at__lte=now, ends_at__gt=now
        ).values("delegate")
    )
    return sorted(
        {p.pk: p for p in [*reviewers, *delegates]}.values(), key=lambda p: p.get_username()
    )
