"""The approval queues: thin adapters over selectors (reads) and services (writes)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from campaigns.domain.briefs import split_lines
from governance import policies
from governance.domain.actions import ActionType
from governance.domain.errors import DomainError, NotPermitted, ReasonRequired

from . import cards, selectors, services
from .domain.links import LinkExpired, LinkInvalid, LinkTampered, LinkUsed
from .domain.policy import policy_from_json
from .forms import PolicyForm, QueueFilterForm
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


def _queue_view(request: HttpRequest, data: Any) -> tuple[QueueFilterForm, selectors.QueueView]:
    """The filter form and the view it selects, from a query (the URL, or a form's
    ``view`` field carrying it)."""
    decided = data.get("show") == "decided"
    options = selectors.queue_filter_options(request.user, decided=decided)
    brands = [(b.slug, b.name) for b in policies.visible_brands(request.user).order_by("name")]
    campaigns = [(pk, name) for pk, name, _ in options["campaigns"]]
    wanted = data.get("campaign", "")
    if wanted.isdigit() and int(wanted) not in dict(campaigns):
        # A bookmarked campaign with nothing waiting now: still a valid filter.
        campaigns += selectors.queue_campaign_choices(request.user, [int(wanted)])
    form = QueueFilterForm(data, brands=brands, campaigns=campaigns, counts=options)
    return form, selectors.QueueView(decided=decided, **form.filters())


def _rows(request: HttpRequest, items: list[ApprovalRequest]) -> list[dict[str, Any]]:
    return [cards.row(a, can_decide=policies.can_decide(request.user, a)) for a in items]


def queue(request: HttpRequest) -> HttpResponse:
    """The queue: a compact list (filters in the URL) and, beside it, the evidence card of
    the item chosen (``?item=ID``; the most urgent one when none is)."""
    if not policies.roles_of(request.user):
        raise PermissionDenied("You have no approval queue.")
    form, view = _queue_view(request, request.GET)
    items = selectors.queue_filtered(request.user, view)
    rows = _rows(request, items)
    chosen, item_error = None, ""
    wanted = request.GET.get("item", "")
    if wanted:
        chosen = (
            selectors.approvals_visible_to(request.user, ids=[int(wanted)]).first()
            if wanted.isdigit()
            else None
        )
        if chosen is None:
            item_error = "That item is not one you can see: it may have been removed."
    elif items and not view.decided:
        chosen = items[0]
    listed = {a.pk for a in items}
    context = {
        "rows": rows,
        "form": form,
        "view": view,
        "query": view.query(),
        "show_decided": view.decided,
        "card": _card(request, chosen) if chosen else None,
        "explicit": bool(wanted),
        "item_error": item_error,
        "in_list": chosen is not None and chosen.pk in listed,
        "next_pk": _next_pending(items, chosen),
        "bulk_possible": any(r["bulk"] for r in rows),
        "is_admin": policies.is_admin(request.user),
    }
    template = "approvals/queue.html"
    if request.htmx and request.htmx.target == "approval-pane":
        template += "#pane"
    elif request.htmx and request.htmx.target == "queue-list":
        # The filters changed: the address becomes the view (bookmarkable, Back works).
        response = render(request, template + "#queue-list", context)
        query = view.query(item=wanted if chosen else "")
        response["HX-Push-Url"] = reverse("approvals:queue") + (f"?{query}" if query else "")
        return response
    return render(request, template, context)


def _next_pending(items: list[ApprovalRequest], chosen: ApprovalRequest | None) -> int | None:
    """The pending item after ``chosen`` in the list (the "Next item" link), if any."""
    pending = [a.pk for a in items if a.status == ApprovalStatus.PENDING]
    if chosen is None or chosen.pk not in pending:
        return pending[0] if pending and (chosen is None or chosen.pk != pending[0]) else None
    at = pending.index(chosen.pk)
    return pending[at + 1] if at + 1 < len(pending) else None


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
        if not request.htmx:
            raise PermissionDenied(str(exc)) from exc
        # From the card (someone else holds it, say): said there, like any refusal.
        approval.refresh_from_db()
        return _card_response(request, approval, str(exc))
    except ReasonRequired as exc:
        return _card_response(request, approval, str(exc), field="note")
    except DomainError as exc:
        approval.refresh_from_db()
        return _card_response(request, approval, str(exc))
    if not request.htmx:
        messages.success(request, f"{approval.get_status_display()}: {approval.summary}")
        return redirect(_queue_url(request))
    return _card_response(request, approval)


@require_POST
def bulk_approve(request: HttpRequest) -> HttpResponse:
    """Approve the ticked low-risk items, each on its own (``approvals_decide_many``); the
    list comes back with what was approved and what was refused, and why."""
    ids = [int(pk) for pk in request.POST.getlist("ids") if pk.isdigit()]
    results = services.approvals_decide_many(approval_ids=ids, user=request.user) if ids else []
    if not request.htmx:
        if not results:
            messages.error(request, "Select the items to approve.")
        approved = [r for r in results if r.ok]
        if approved:
            messages.success(
                request,
                f"Approved {len(approved)} of {len(results)}: "
                + "; ".join(r.summary for r in approved),
            )
        for refused in (r for r in results if not r.ok):
            messages.error(request, f"Not approved — {refused.summary}: {refused.message}")
        return redirect(_queue_url(request))
    form, view = _queue_view(request, QueryDict(request.POST.get("view", "")))
    items = selectors.queue_filtered(request.user, view)
    context = {
        "rows": _rows(request, items),
        "form": form,
        "view": view,
        "query": view.query(),
        "show_decided": view.decided,
        "bulk_results": results,
        "bulk_asked": True,
        "bulk_possible": True,
    }
    return render(request, "approvals/queue.html#queue-list", context)


def _queue_url(request: HttpRequest, **changes: Any) -> str:
    """Back to the queue view the form was posted from (its filters ride in ``view``)."""
    view = QueryDict(request.POST.get("view", ""), mutable=True)
    for key, value in changes.items():
        view[key] = value
    query = view.urlencode()
    return reverse("approvals:queue") + (f"?{query}" if query else "")


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
    except DomainError as exc:  # not permitted included: said in the card, nothing changed
        approval.refresh_from_db()
        return _card_response(request, approval, str(exc))
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
    request: HttpRequest,
    approval: ApprovalRequest,
    error: str = "",
    *,
    field: str = "",
    status: int = 200,
) -> HttpResponse:
    """The card again, answered in place: with a refusal beside the field it is about
    (``field``) or at its foot, or with the decision made.

    TRICKY: htmx 2 does not swap a 4xx answer, so a refusal to an htmx request comes back
    as 200 with the error in the card (the page would otherwise stay as it was, the
    reason only in the console); without htmx it is a message on the queue page."""
    if request.htmx:
        context = _card(request, approval, error=error)
        context |= {
            "error_field": field,
            "note": request.POST.get("note", "") if error else "",
            "edits": {k[5:]: v for k, v in request.POST.items() if k.startswith("edit-")}
            if error
            else {},
            "query": request.POST.get("view", ""),
            "in_list": request.POST.get("in_list") == "1",
            "after_decision": approval.status != ApprovalStatus.PENDING and not error,
        }
        if context["edits"]:  # what the reviewer typed, not the proposal, to correct it
            context["editable"] = [(f, context["edits"].get(f, v)) for f, v in context["editable"]]
        if context["after_decision"] or context["in_list"]:
            context["row"] = cards.row(approval, can_decide=context["can_decide"])
        if context["after_decision"]:
            _, view = _queue_view(request, QueryDict(context["query"]))
            items = selectors.queue_filtered(request.user, view)
            context["next_pk"] = next(
                (a.pk for a in items if a.status == ApprovalStatus.PENDING), None
            )
        return render(request, "approvals/queue.html#card-answer", context, status=status)
    if error:
        messages.error(request, error)
    return redirect(_queue_url(request, item=approval.pk))


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
