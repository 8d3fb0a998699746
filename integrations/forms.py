"""The form an admin subscribes a brand's endpoint with; the view adds the service's own
checks of the URL and the events (``services.subscription_problems``) to its errors."""

from __future__ import annotations

from typing import Any

from django import forms

from governance import policies
from governance.events import ANNOUNCEMENTS


class WebhookForm(forms.Form):
    brand = forms.ModelChoiceField(queryset=None, empty_label=None)
    url = forms.URLField(
        label="Endpoint URL",
        assume_scheme="https",
        max_length=500,
        help_text="Receives a signed JSON POST per event (docs/WEBHOOKS.md).",
    )
    events = forms.MultipleChoiceField(
        choices=[(event, f"{label} ({event})") for event, label in ANNOUNCEMENTS.items()],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one event to send."},
    )
    description = forms.CharField(
        max_length=300, required=False, help_text="Optional: who receives it and why."
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["brand"].queryset = policies.visible_brands(user).order_by("name")
