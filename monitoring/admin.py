"""Django admin for monitoring: settings, ingestion tokens and sandbox faults are made
here by admins (through the audited services); everything else is read-only.

Who may open these pages is ``policies.can_configure_monitoring``'s answer (the Admin
role), not per-model permissions granted to the role's group one by one."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages

from governance import policies
from governance.admin import ReadOnlyAdmin

from .models import (
    AnomalyFlag,
    CircuitBreaker,
    Escalation,
    IngestionToken,
    MonitoringSettings,
    NotificationDelivery,
    SandboxFault,
    Silence,
    SlaEvaluation,
    TelemetryEvent,
)
from .services.sandbox import FAULT_KINDS, fault_inject
from .services.settings import FIELDS, monitoring_settings_problems, monitoring_settings_save
from .services.tokens import ingestion_token_create, ingestion_token_revoke


class ConfiguredByAdmins:
    """Admins open, read and (where the page makes things) add, by the policy."""

    def has_module_permission(self, request: Any) -> bool:
        return policies.can_configure_monitoring(request.user)

    def has_view_permission(self, request: Any, obj: Any = None) -> bool:
        return policies.can_configure_monitoring(request.user)


class MadeByAdmins(ConfiguredByAdmins):
    def has_add_permission(self, request: Any) -> bool:
        return policies.can_configure_monitoring(request.user)

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return policies.can_configure_monitoring(request.user)


class MonitoringSettingsForm(forms.ModelForm):
    slack_webhook_url = forms.URLField(
        assume_scheme="https", required=False, label="Slack-compatible webhook URL"
    )

    class Meta:
        model = MonitoringSettings
        fields = ["brand", *FIELDS]
        help_texts = {
            "escalation_chain": "Empty: owner 15 min → managers 30 min → admins. E.g. "
            '[{"tier": "owner", "wait_minutes": 10}, {"tier": "manager", "wait_minutes": 20}, '
            '{"tier": "admin"}]',
            "flag_responses": "Per flag kind: continue, optimize, pause or escalate. E.g. "
            '{"cpm_spike": "pause"}',
        }

    def clean(self):
        cleaned = super().clean()
        for field, errors in monitoring_settings_problems(cleaned).items():
            self.add_error(field, errors)
        return cleaned


@admin.register(MonitoringSettings)
class MonitoringSettingsAdmin(MadeByAdmins, admin.ModelAdmin):
    form = MonitoringSettingsForm
    list_display = ["brand", "response_minutes", "completion_pct", "exception_max_pct"]

    def save_model(self, request: Any, obj: MonitoringSettings, form: Any, change: bool) -> None:
        saved = monitoring_settings_save(
            brand=obj.brand,
            values={name: form.cleaned_data[name] for name in FIELDS},
            user=request.user,
        )
        obj.pk = saved.pk

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


class TokenForm(forms.ModelForm):
    class Meta:
        model = IngestionToken
        fields = ["brand", "name"]


@admin.register(IngestionToken)
class IngestionTokenAdmin(MadeByAdmins, admin.ModelAdmin):
    form = TokenForm
    list_display = [
        "name",
        "brand",
        "prefix",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    actions = ["revoke"]

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        # Tokens are made and revoked (the list's action), never edited.
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def save_model(self, request: Any, obj: IngestionToken, form: Any, change: bool) -> None:
        token, raw = ingestion_token_create(brand=obj.brand, name=obj.name, user=request.user)
        obj.pk = token.pk
        messages.warning(
            request,
            f"The token for “{token.name}” is {raw} — copy it now: it is shown only once "
            "and only its hash is kept.",
        )

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: Any, queryset: Any) -> None:
        for token in queryset:
            ingestion_token_revoke(token_id=token.pk, user=request.user)
        messages.success(request, f"Revoked {queryset.count()} token(s).")


class FaultForm(forms.ModelForm):
    kind = forms.ChoiceField(choices=[(k, k.replace("_", " ")) for k in FAULT_KINDS])
    hours = forms.FloatField(min_value=0.1, max_value=336, initial=6)

    class Meta:
        model = SandboxFault
        fields = ["campaign", "kind", "channel", "variant", "severity"]


@admin.register(SandboxFault)
class SandboxFaultAdmin(MadeByAdmins, admin.ModelAdmin):
    form = FaultForm
    list_display = ["campaign", "kind", "channel", "variant", "severity", "starts_at", "ends_at"]
    list_select_related = ["campaign"]

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request: Any, obj: SandboxFault, form: Any, change: bool) -> None:
        fault = fault_inject(
            campaign_id=obj.campaign_id,
            kind=form.cleaned_data["kind"],
            hours=form.cleaned_data["hours"],
            channel=obj.channel,
            variant=obj.variant,
            severity=obj.severity,
            user=request.user,
        )
        obj.pk = fault.pk


@admin.register(AnomalyFlag)
class AnomalyFlagAdmin(ConfiguredByAdmins, ReadOnlyAdmin):
    list_display = ["campaign", "kind", "state", "response", "opened_at", "resolved_at"]
    list_filter = ["kind", "state", "response"]
    list_select_related = ["campaign"]


@admin.register(SlaEvaluation)
class SlaEvaluationAdmin(ConfiguredByAdmins, ReadOnlyAdmin):
    list_display = ["campaign", "sla", "status", "measured", "target", "evaluated_at"]
    list_filter = ["sla", "status"]
    list_select_related = ["campaign"]


@admin.register(Escalation)
class EscalationAdmin(ConfiguredByAdmins, ReadOnlyAdmin):
    list_display = ["campaign", "reason", "status", "level", "opened_at", "acknowledged_by"]
    list_filter = ["reason", "status"]
    list_select_related = ["campaign", "acknowledged_by"]


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(ConfiguredByAdmins, ReadOnlyAdmin):
    list_display = ["channel", "target", "subject", "status", "attempts", "last_error", "sent_at"]
    list_filter = ["channel", "status"]


@admin.register(Silence)
class SilenceAdmin(ConfiguredByAdmins, ReadOnlyAdmin):
    list_display = ["brand", "campaign", "reason", "starts_at", "ends_at", "created_by"]


@admin.register(CircuitBreaker)
class CircuitBreakerAdmin(ConfiguredByAdmins, ReadOnlyAdmin):
    list_display = ["campaign", "channel", "variant", "state", "opened_at", "closed_by"]
    list_filter = ["state"]


@admin.register(TelemetryEvent)
class TelemetryEventAdmin(ConfiguredByAdmins, ReadOnlyAdmin):
    list_display = ["event_id", "campaign", "channel", "variant", "occurred_at", "source"]
    list_filter = ["source", "channel"]
    list_select_related = ["campaign"]
