"""Campaign and brief pages: thin adapters over selectors (reads) and services (writes)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from governance import policies
from governance.domain.errors import NotPermitted

from . import selectors, services
from .forms import BriefForm


def brief_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "campaigns/brief_list.html",
        {
            "briefs": selectors.briefs_for_user(request.user, templates=False),
            "templates": selectors.briefs_for_user(request.user, templates=True),
            "can_write": policies.can_write_briefs(request.user),
        },
    )


def brief_detail(request: HttpRequest, pk: int) -> HttpResponse:
    brief = get_object_or_404(selectors.briefs_for_user(request.user), pk=pk)
    return render(
        request,
        "campaigns/brief_detail.html",
        {
            "brief": brief,
            "campaigns": brief.campaigns.all(),
            "can_write": policies.can_write_briefs(request.user),
        },
    )


def brief_create(request: HttpRequest) -> HttpResponse:
    if not policies.can_write_briefs(request.user):
        raise PermissionDenied("Only marketing managers and admins write briefs.")
    initial = {}
    template_id = request.GET.get("template")
    template = None
    if template_id:
        template = get_object_or_404(
            selectors.briefs_for_user(request.user, templates=True), pk=template_id
        )
        initial = BriefForm.initial_from(template)
    form = BriefForm(request.POST or None, user=request.user, initial=initial)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            as_template = request.POST.get("intent") == "template"
            try:
                brief, campaign = services.brief_create(
                    author=request.user,
                    brand=form.cleaned_data["brand"],
                    spec=form.spec(),
                    as_template=as_template,
                )
            except services.BriefInvalid as exc:
                for field, field_errors in exc.errors.items():
                    for message in field_errors:
                        form.add_error(field, message)
            except NotPermitted as exc:
                form.add_error("brand", str(exc))
            else:
                if campaign is None:
                    messages.success(request, f"Template “{brief.title}” saved.")
                    return redirect("campaigns:brief_detail", pk=brief.pk)
                messages.success(request, f"Brief submitted: “{campaign.name}” is now in briefing.")
                return redirect("campaigns:detail", pk=campaign.pk)
    return render(
        request, "campaigns/brief_form.html", {"form": form, "template": template}, status=status
    )
