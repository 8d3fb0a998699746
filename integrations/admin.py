"""Django admin for outbound webhooks: admins subscribe, test and revoke through the
audited services (the secret is shown once, at creation); deliveries are a read-only log.
Who may open these pages is ``policies.can_configure_monitoring``'s answer."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime

from governance import policies
from governance.admin import ReadOnlyAdmin
from governance.domain.errors import DomainError
from governance.events import ANNOUNCEMENTS as EVENT_TYPES

from .models import WebhookDelivery, WebhookSubscription
from .services import (
    subscription_problems,
    webhook_revoke,
    webhook_send_test,
    webhook_subscribe,
)

#: How many deliveries the subscription's page lists (the full log is a link away).
RECENT_DELIVERIES = 20


class ConfiguredByAdmins:
    """These pages exist for the people who configure monitoring (admins), whatever
    model permissions their groups hold."""

    def has_module_permission(self, request: Any) -> bool:
        return policies.can_configure_monitoring(request.user)

    def has_view_permission(self, request: Any, obj: Any = None) -> bool:
        return policies.can_configure_monitoring(request.user)


class SubscriptionForm(forms.ModelForm):
    url = forms.URLField(
        label="Endpoint URL",
        assume_scheme="https",
        max_length=500,
        help_text="Receives a signed JSON POST per event (docs/WEBHOOKS.md).",
    )
    events = forms.MultipleChoiceField(
        choices=[(event, f"{label} ({event})") for event, label in EVENT_TYPES.items()],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = WebhookSubscription
        fields = ["brand", "description"]  # and the declared url, events (ADD_FIELDS)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if "url" in cleaned and "events" in cleaned:
            for field, errors in subscription_problems(
                url=cleaned["url"], events=cleaned["events"]
            ).items():
                self.add_error(field, errors)
        return cleaned


ADD_FIELDS = ["brand", "url", "events", "description"]
SHOWN = [
    "brand",
    "url",
    "event_list",
    "description",
    "state",
    "secret_hint",
    "created_by",
    "created_at",
    "revoked_at",
    "send_test",
    "recent_deliveries",
]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ConfiguredByAdmins, admin.ModelAdmin):
    form = SubscriptionForm
    # The form declares its own URL field; this keeps the model's default one (built,
    # then replaced) from warning about Django 6's change of default scheme.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["url", "brand", "event_list", "state", "created_by", "created_at"]
    list_filter = ["brand", "active"]
    list_select_related = ["brand", "created_by"]
    actions = ["send_test_action", "revoke_action"]

    def has_add_permission(self, request: Any) -> bool:
        return policies.can_configure_monitoring(request.user)

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False  # made, tested and revoked; never edited (the secret stays unseen)

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False  # revoke instead: the delivery log stays

    def get_fields(self, request: Any, obj: Any = None) -> list[str]:
        return ADD_FIELDS if obj is None else SHOWN

    def get_readonly_fields(self, request: Any, obj: Any = None) -> list[str]:
        return [] if obj is None else SHOWN

    def save_model(self, request: Any, obj: WebhookSubscription, form: Any, change: bool) -> None:
        subscription, secret = webhook_subscribe(
            brand=form.cleaned_data["brand"],
            url=form.cleaned_data["url"],
            events=form.cleaned_data["events"],
            description=form.cleaned_data.get("description", ""),
            user=request.user,
        )
        obj.pk = subscription.pk
        messages.warning(
            request,
            f"The signing secret for {subscription.url} is {secret} — copy it now into the "
            "receiver: it is shown only once.",
        )

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:pk>/send-test/",
                self.admin_site.admin_view(self.send_test_view),
                name="integrations_webhooksubscription_send_test",
            ),
            *super().get_urls(),
        ]

    def send_test_view(self, request: Any, pk: int) -> Any:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_view_permission(request):
            raise PermissionDenied
        subscription = get_object_or_404(WebhookSubscription, pk=pk)
        self._send_test(request, subscription)
        return HttpResponseRedirect(
            reverse("admin:integrations_webhooksubscription_change", args=[pk])
        )

    @admin.action(description="Send a test to the selected webhooks")
    def send_test_action(self, request: Any, queryset: Any) -> None:
        for subscription in queryset:
            self._send_test(request, subscription)

    @admin.action(description="Revoke the selected webhooks")
    def revoke_action(self, request: Any, queryset: Any) -> None:
        for subscription in queryset:
            webhook_revoke(subscription_id=subscription.pk, user=request.user)
        messages.success(request, f"Revoked {queryset.count()} webhook(s).")

    def _send_test(self, request: Any, subscription: WebhookSubscription) -> None:
        try:
            delivery = webhook_send_test(subscription_id=subscription.pk, user=request.user)
        except DomainError as exc:
            messages.error(request, f"{subscription.url}: {exc}")
            return
        if delivery.status == "sent":
            messages.success(
                request,
                f"Test delivery #{delivery.pk} to {subscription.url}: sent, the endpoint "
                f"answered {delivery.last_status_code}.",
            )
        else:
            messages.error(
                request,
                f"Test delivery #{delivery.pk} to {subscription.url} failed: {delivery.last_error}",
            )

    @admin.display(description="events")
    def event_list(self, obj: WebhookSubscription) -> str:
        return ", ".join(obj.events)

    @admin.display(description="state")
    def state(self, obj: WebhookSubscription) -> str:
        if obj.revoked_at:
            return "Revoked"
        return "Active" if obj.active else "Paused"

    @admin.display(description="secret")
    def secret_hint(self, obj: WebhookSubscription) -> str:
        return f"{obj.secret_hint} (shown in full only when it was made)"

    @admin.display(description="test")
    def send_test(self, obj: WebhookSubscription) -> str:
        if obj.revoked_at:
            return "—"
        # The change page is a form (with its CSRF token) even when read-only; this
        # button posts it to the send-test view instead.
        url = reverse("admin:integrations_webhooksubscription_send_test", args=[obj.pk])
        return format_html(
            '<button type="submit" class="button" formaction="{}" formmethod="post" '
            'name="_send_test">Send a test</button>',
            url,
        )

    @admin.display(description="recent deliveries")
    def recent_deliveries(self, obj: WebhookSubscription) -> str:
        deliveries = list(obj.deliveries.order_by("-created_at", "-id")[:RECENT_DELIVERIES])
        log = reverse("admin:integrations_webhookdelivery_changelist")
        link = format_html(
            '<a href="{}?subscription__id__exact={}">Full delivery log</a>', log, obj.pk
        )
        if not deliveries:
            return format_html("None yet. {}", link)
        rows = format_html_join(
            "",
            "<tr><td><a href='{}'>#{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    reverse("admin:integrations_webhookdelivery_change", args=[d.pk]),
                    d.pk,
                    d.event,
                    d.get_status_display(),
                    d.attempts,
                    d.last_status_code or "—",
                    d.last_error or "—",
                    f"{localtime(d.created_at):%Y-%m-%d %H:%M:%S}",
                    f"{localtime(d.sent_at):%Y-%m-%d %H:%M:%S}" if d.sent_at else "—",
                )
                for d in deliveries
            ),
        )
        return format_html(
            '<table class="webhook-deliveries"><thead><tr><th>Delivery</th><th>Event</th>'
            "<th>Status</th><th>Attempts</th><th>Last status code</th><th>Last error</th>"
            "<th>Created</th><th>Sent</th></tr></thead><tbody>{}</tbody></table>{}",
            rows,
            link,
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ConfiguredByAdmins, ReadOnlyAdmin):
    list_display = [
        "pk",
        "subscription",
        "event",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "created_at",
        "sent_at",
        "next_attempt_at",
    ]
    list_filter = ["status", "event", "subscription__brand", "subscription"]
    list_select_related = ["subscription"]
    search_fields = ["event_id"]
    date_hierarchy = "created_at"
