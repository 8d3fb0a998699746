"""The token page's form: what a person fills in to make a token."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from .domain.tokens import SCOPES

#: How long a new token lives (an expiry is the default: a forgotten token dies).
LIFETIMES = {"30": "30 days", "90": "90 days", "365": "A year", "never": "Until revoked"}


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Name",
        help_text="What will use it, e.g. “BI dashboard” or “Slack bot”.",
    )
    scopes = forms.MultipleChoiceField(
        choices=list(SCOPES.items()),
        widget=forms.CheckboxSelectMultiple,
        initial=["read"],
        label="Scopes",
        help_text="A token never does more than its owner may; scopes narrow it further.",
    )
    lifetime = forms.ChoiceField(choices=list(LIFETIMES.items()), initial="90", label="Expires")

    def __init__(self, *args: Any, owners: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if owners is not None:  # admins make tokens for anyone (a service account, say)
            self.fields["owner"] = forms.ModelChoiceField(
                queryset=owners, label="For", required=True, to_field_name="username"
            )

    def expires_at(self) -> Any:
        lifetime = self.cleaned_data["lifetime"]
        return None if lifetime == "never" else timezone.now() + timedelta(days=int(lifetime))


def token_owners() -> Any:
    return get_user_model().objects.filter(is_active=True).order_by("username")
