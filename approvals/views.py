"""The approval queues: thin adapters over selectors (reads) and services (writes)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from campaigns.domain.briefs import split_lines
from governance import policies
from governance.domain.actions import ActionType
from governance.domain.errors import DomainError, NotPermitted

from . import cards, selectors, services
from .domain.links import LinkExpired, LinkInvalid, LinkTampered, LinkUsed
from .domain.policy import LOW_RISK_ACTIONS, policy_from_json
from .forms import PolicyForm
from .models import ApprovalRequest, ApprovalStatus, PolicyStatus

_LOOK_UP = object()  # "find the previous version yourself" (a page passes them in bulk)


def _card(
    request: HttpRequest, approval: ApprovalRequest, *, error: str = "", previous: Any = _LOOK_UP
) -> dict[str, Any]:
    if previous is _LOOK_UP:
        previous = selectors.previous_versions([approval]).get(approval.pk)
    return cards.card(
        approval,
        can_decide=policies.can_decide(request.user, approval),
        error=error,
        previous=previous,
    )


def queue(request: HttpRequest) -> HttpResponse:
    if not policies.roles_of(request.user):
        raise PermissionDenied("You have no approval queue.")
    decided = request.GET.get("show") == "decided"
    items = list(selectors.queue_for_user(request.user, decided=decided))
    previous = selectors.previous_versions(items)
    shown = [_card(request, a, previous=previous.get(a.pk)) for a in items]
    return render(
        request,
        "approvals/queue.html",
        {
            "cards": shown,
            "show_decided": decided,
            "bulk_possible": any(c["low_risk"] and c["can_decide"] for c in shown),
            "is_admin": policies.is_admin(request.user),
        },
    )


@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    approval = get_object_or_404(_visible(request), pk=pk)
    verdict = request.POST.get("verdict")
    if verdict not in {"approve", "reject", "edit_approve", "changes"}:
        return _card_response(
            request, approval, "Choose approve, reject, ask for changes or edit then approve."
        )
    edited = None
    if verdict == "edit_approve":
        edited = dict(approval.payload)
        for field in cards.EDITABLE.get(ActionType(approval.action_type), ()):
            if f"edit-{field}" in request.POST:
                value = request.POST[f"edit-{field}"]
                # A list (claims) is edited as one item per line.
                is_list = isinstance(approval.payload.get(field), list)
                edited[field] = split_lines(value) if is_list else value
    try:
        approval = services.approval_decide(
            approval_id=approval.pk,
            user=request.user,
            approve=verdict in {"approve", "edit_approve"},
            note=request.POST.get("note", ""),
            edited_payload=edited,
            request_changes=verdict == "changes",
        )
    except NotPermitted as exc:
        raise PermissionDenied(str(exc)) from exc
    except DomainError as exc:
        approval.refresh_from_db()
        return _card_response(request, approval, str(exc), status=409)
    if not request.htmx:
        messages.success(request, f"{approval.get_status_display()}: {approval.summary}")
        return redirect("approvals:queue")
    return _card_response(request, approval)


@require_POST
def bulk_approve(request: HttpRequest) -> HttpResponse:
    ids = [int(pk) for pk in request.POST.getlist("ids") if pk.isdigit()]
    chosen = list(selectors.approvals_visible_to(request.user, ids=ids))
    kinds = {a.action_type for a in chosen}
    if not chosen:
        messages.error(request, "Select the items to approve.")
    elif len(kinds) > 1 or not {ActionType(k) for k in kinds} <= LOW_RISK_ACTIONS:
        messages.error(request, "Only items of one low-risk kind can be approved together.")
    else:
        approved, problems = 0, []
        for approval in chosen:
            try:
                services.approval_decide(approval_id=approval.pk, user=request.user, approve=True)
                approved += 1
            except DomainError as exc:
                problems.append(f"{approval.summary}: {exc}")
        messages.success(request, f"Approved {approved} of {len(chosen)}.")
        for problem in problems:
            messages.error(request, problem)
    return redirect("approvals:queue")


def _visible(request: HttpRequest):
    # Items of brands the user cannot see (nor a reviewer who delegated to them) do not
    # exist for them (404).
    return selectors.approvals_visible_to(request.user)


@require_POST
def claim(request: HttpRequest, pk: int) -> HttpResponse:
    """Claim, release or hand on an item (``action`` = claim / release / reassign)."""
    approval = get_object_or_404(_visible(request), pk=pk)
    action = request.POST.get("action")
    try:
        if action == "claim":
            approval = services.approval_claim(approval_id=approval.pk, user=request.user)
        elif action == "release":
            approval = services.approval_reassign(
                approval_id=approval.pk, user=request.user, to_user=None
            )
        elif action == "reassign":
            to_user = selectors.active_user_named(request.POST.get("to", ""))
            if to_user is None:
                raise DomainError("No active user by that name.")
            approval = services.approval_reassign(
                approval_id=approval.pk, user=request.user, to_user=to_user
            )
        else:
            raise DomainError("Choose claim, release or reassign.")
    except NotPermitted as exc:
        return _card_response(request, approval, str(exc), status=403)
    except DomainError as exc:
        return _card_response(request, approval, str(exc), status=409)
    approval.refresh_from_db()
    return _card_response(request, approval)


def away(request: HttpRequest) -> HttpResponse:
    """A reviewer sets who decides for them while they are away."""
    from datetime import datetime, time

    from django.utils import timezone

    if not policies.roles_of(request.user):
        raise PermissionDenied("You have no approval queue.")
    error, status = "", 200
    if request.method == "POST":
        delegate = selectors.active_user_named(request.POST.get("delegate", ""))
        try:
            start = datetime.fromisoformat(request.POST.get("starts", ""))
            end = datetime.fromisoformat(request.POST.get("ends", ""))
        except ValueError:
            error, status = "Give the first and last day as dates.", 422
        else:
            try:
                services.review_delegate(
                    reviewer=request.user,
                    delegate=delegate,
                    starts_at=timezone.make_aware(datetime.combine(start.date(), time.min)),
                    ends_at=timezone.make_aware(datetime.combine(end.date(), time.max)),
                )
            except DomainError as exc:
                error, status = str(exc), 422
            else:
                messages.success(request, f"{delegate.get_username()} decides for you then.")
                return redirect("approvals:away")
    given, received = selectors.review_delegations_of(request.user)
    return render(
        request,
        "approvals/away.html",
        {"error": error, "given": given, "received": received},
        status=status,
    )


def _card_response(
    request: HttpRequest, approval: ApprovalRequest, error: str = "", *, status: int = 200
) -> HttpResponse:
    if request.htmx:
        template = "approvals/queue.html#approval-card"
        return render(request, template, _card(request, approval, error=error), status=status)
    if error:
        messages.error(request, error)
    return redirect("approvals:queue")


# --- The delegation-policy editor (admins) -------------------------------------------


def _require_admin(request: HttpRequest) -> None:
    if not policies.is_admin(request.user):
        raise PermissionDenied("Only admins change the delegation policy.")


def policy_list(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    return render(
        request,
        "approvals/policies.html",
        {"brands": selectors.policy_brands_in_force(), "proposals": selectors.policy_proposals()},
    )


def policy_edit(request: HttpRequest, brand_id: int) -> HttpResponse:
    brand = get_object_or_404(selectors.policy_brands(), pk=brand_id)
    return _policy_edit(request, brand, campaign=None)


def campaign_policy_edit(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """A campaign's own override of its brand's policy (e.g. a riskier launch)."""
    campaign = get_object_or_404(selectors.policy_campaigns(), pk=campaign_id)
    return _policy_edit(request, campaign.brand, campaign=campaign)


def _policy_edit(request: HttpRequest, brand: Any, *, campaign: Any) -> HttpResponse:
    _require_admin(request)
    campaign_id = campaign.pk if campaign else None
    row, current = selectors.policy_in_force(brand.pk, campaign_id)
    form = PolicyForm(request.POST or None, policy=current)
    impact, status = None, 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            proposed = policy_from_json(current.version + 1, form.rules())
            impact = selectors.policy_impact(brand.pk, proposed, campaign_id=campaign_id)
            if request.POST.get("intent") == "propose":
                try:
                    proposal = services.policy_propose(
                        admin=request.user,
                        brand_id=brand.pk,
                        campaign_id=campaign_id,
                        rules=form.rules(),
                        note=form.cleaned_data["note"],
                    )
                except DomainError as exc:
                    form.add_error("note", str(exc))
                else:
                    messages.success(
                        request,
                        f"Version {proposal.version} proposed; a second admin must approve it.",
                    )
                    return redirect("approvals:policy_proposal", pk=proposal.pk)
            else:
                status = 200
    template = "approvals/policy_edit.html"
    if request.htmx and request.POST.get("intent") == "preview":
        template += "#impact"
    context = {
        "brand": brand,
        "campaign": campaign,
        "form": form,
        "current": current,
        "inherited": campaign is not None and (row is None or row.campaign_id is None),
        "impact": impact,
    }
    return render(request, template, context, status=status)


def policy_proposal(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    proposal = get_object_or_404(selectors.policy_versions(), pk=pk)
    _, current = selectors.policy_in_force(proposal.brand_id, proposal.campaign_id)
    proposed = policy_from_json(proposal.version, proposal.rules)
    error = ""
    if request.method == "POST":
        try:
            services.policy_decide(
                policy_id=proposal.pk,
                admin=request.user,
                approve=request.POST.get("verdict") == "approve",
                note=request.POST.get("note", ""),
            )
        except DomainError as exc:
            error = str(exc)
        else:
            messages.success(request, "Decision recorded.")
            return redirect("approvals:policy_proposal", pk=proposal.pk)
    changes = [
        (action, current.rule_for(action), proposed.rule_for(action))
        for action in ActionType
        if current.rule_for(action) != proposed.rule_for(action)
    ]
    return render(
        request,
        "approvals/policy_proposal.html",
        {
            "proposal": proposal,
            "changes": changes,
            "impact": selectors.policy_impact(
                proposal.brand_id, proposed, campaign_id=proposal.campaign_id
            )
            if proposal.status == PolicyStatus.PROPOSED
            else None,
            "can_decide": proposal.status == PolicyStatus.PROPOSED
            and proposal.created_by_id != request.user.pk,
            "error": error,
        },
        status=409 if error else 200,
    )


# --- Approving from Slack or email (signed links) -----------------------------------


def link(request: HttpRequest, token: str) -> HttpResponse:
    """A signed link from a notification. GET shows the request's card and what the link
    will do — and never decides (mail scanners prefetch links); POST confirms."""
    try:
        linked = selectors.approval_link_read(token)
    except LinkUsed as exc:
        # Who used it is only for people who can see the request at all.
        get_object_or_404(_visible(request), pk=exc.approval_id)
        return _link_page(request, error=str(exc), status=410)
    except LinkTampered as exc:
        return _link_page(request, error=str(exc), status=400)
    except LinkInvalid as exc:
        return _link_page(request, error=str(exc), status=410)
    approval = get_object_or_404(_visible(request), pk=linked.approval.pk)
    refusal = selectors.link_refusal(linked, request.user)
    if refusal:
        return _link_page(request, approval=approval, linked=linked, error=refusal, status=403)
    if request.method != "POST":
        return _link_page(request, approval=approval, linked=linked)
    note = request.POST.get("note", "")
    try:
        approval = services.approval_link_use(token=token, user=request.user, note=note)
    except (LinkExpired, LinkUsed) as exc:
        return _link_page(request, approval=approval, error=str(exc), status=410)
    except LinkTampered as exc:
        return _link_page(request, error=str(exc), status=400)
    except NotPermitted as exc:
        return _link_page(request, approval=approval, linked=linked, error=str(exc), status=403)
    except services.AlreadyDecided as exc:
        approval.refresh_from_db()
        return _link_page(request, approval=approval, error=str(exc), status=409)
    except DomainError as exc:  # e.g. a reject without a reason: the form again
        return _link_page(
            request, approval=approval, linked=linked, error=str(exc), note=note, status=422
        )
    return _link_page(request, approval=approval, done=True)


def _link_page(
    request: HttpRequest,
    *,
    approval: ApprovalRequest | None = None,
    linked: Any = None,
    error: str = "",
    note: str = "",
    done: bool = False,
    status: int = 200,
) -> HttpResponse:
    pending = approval is not None and approval.status == ApprovalStatus.PENDING
    context: dict[str, Any] = {
        "linked": linked,
        "link_error": error,
        "note": note,
        "done": done,
        # The confirm form: a valid link this person may use, on a request still pending
        # (again after a reject without a reason).
        "confirm": linked is not None and pending and status in (200, 422),
    }
    if approval is not None:
        context["card"] = _card(request, approval)
        # Someone else holding it for review: they decide (see approval_decide).
        if context["card"]["claimed_by"] not in (None, request.user):
            context["confirm"] = False
    return render(request, "approvals/link.html", context, status=status)
