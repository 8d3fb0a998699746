"""The API tokens page (HTML, for people): make a token, see it once, revoke it.

The JSON API lives in ``api.views``; both call ``api.tokens`` for every write."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from governance import policies
from governance.domain.errors import DomainError

from .domain.tokens import SCOPES
from .forms import TokenCreateForm, token_owners
from .selectors import tokens_manageable_by
from .tokens import api_token_create, api_token_revoke

#: The session key holding a just-made token until the page has shown it (once).
SHOW_ONCE = "api_token_show_once"


def api_tokens(request: HttpRequest) -> HttpResponse:
    user = request.user
    admin = policies.is_admin(user)
    owners = token_owners() if admin else None
    form = TokenCreateForm(request.POST or None, owners=owners, initial={"owner": user})
    if request.method == "POST" and form.is_valid():
        owner = form.cleaned_data.get("owner") or user
        try:
            token, raw = api_token_create(
                owner=owner,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                by=user,
                expires_at=form.expires_at(),
            )
        except DomainError as refused:
            form.add_error(None, str(refused))
        else:
            request.session[SHOW_ONCE] = {"id": token.pk, "token": raw}
            return redirect("api_tokens")
    tokens = tokens_manageable_by(user)
    return render(
        request,
        "api/tokens.html",
        {
            "form": form,
            "tokens": tokens,
            "admin": admin,
            "just_made": request.session.pop(SHOW_ONCE, None),
            "scopes": SCOPES,
        },
        status=400 if form.errors else 200,
    )


@require_POST
def api_token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(tokens_manageable_by(request.user), pk=pk)
    api_token_revoke(token_id=token.pk, by=request.user)
    messages.success(request, f"“{token.name}” is revoked: calls with it are refused from now.")
    return redirect("api_tokens")
