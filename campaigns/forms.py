"""Forms parse what a person typed into plain values; the rules live in ``campaigns.domain``
and are applied by the services, so the API and CSV imports get the same messages."""

from __future__ import annotations

from typing import Any

from django import forms

from approvals import policies

from .domain.briefs import CHANNELS, SUCCESS_METRICS, BriefSpec, split_lines
from .models import Brand, Brief


class LinesField(forms.CharField):
    """A textarea read as one item per line."""

    widget = forms.Textarea(attrs={"rows": 3})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        return split_lines(super().to_python(value) or "")


class ChannelsField(forms.MultipleChoiceField):
    """Checkboxes of the known channels. Whether a submitted channel exists is a domain
    rule (``validate_brief``), which words the error better than Django's default."""

    def valid_value(self, value: Any) -> bool:
        return True


class BriefForm(forms.Form):
    brand = forms.ModelChoiceField(queryset=Brand.objects.none(), empty_label=None)
    title = forms.CharField(max_length=200)
    objective = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    audience = forms.CharField(
        label="ICP / segment", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    tone = forms.CharField(max_length=200, required=False)
    offer = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    assets = LinesField(label="Assets (one per line)")
    required_claims = LinesField(label="Required claims (one per line)")
    prohibited_claims = LinesField(label="Prohibited claims (one per line)")
    channels = ChannelsField(
        choices=list(CHANNELS.items()), required=False, widget=forms.CheckboxSelectMultiple
    )
    budget = forms.DecimalField(decimal_places=2, required=False)
    daily_cap = forms.DecimalField(
        label="Daily spend cap",
        decimal_places=2,
        required=False,
        help_text="Optional. No one, agent or person, can spend more in a day.",
    )
    deadline = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    success_metric = forms.CharField(
        required=False,
        widget=forms.Select(choices=[("", "— choose a metric —"), *SUCCESS_METRICS.items()]),
    )
    success_target = forms.DecimalField(
        decimal_places=2, required=False, help_text="The value that counts as success."
    )
    escalation_criteria = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="When agents must stop and ask a person.",
    )
    sla_draft_hours = forms.IntegerField(label="Draft within (hours)", min_value=1, initial=2)
    sla_qa_pass_pct = forms.IntegerField(
        label="QA pass rate at least (%)", min_value=0, max_value=100, initial=95
    )
    sla_policy_escalation_minutes = forms.IntegerField(
        label="Policy issue escalated within (minutes)", min_value=1, initial=10
    )
    sla_pacing_tolerance_pct = forms.IntegerField(
        label="Budget pacing within ± (%)", min_value=1, max_value=100, initial=10
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        brands = policies.visible_brands(user)
        self.fields["brand"].queryset = brands
        if brands.count() == 1:
            self.fields["brand"].initial = brands.first()

    def spec(self) -> BriefSpec:
        data = self.cleaned_data
        return BriefSpec(
            title=data["title"],
            objective=data["objective"],
            audience=data["audience"],
            tone=data["tone"],
            offer=data["offer"],
            assets=data["assets"],
            required_claims=data["required_claims"],
            prohibited_claims=data["prohibited_claims"],
            channels=data["channels"],
            budget=data["budget"],
            daily_cap=data["daily_cap"],
            deadline=data["deadline"],
            success_metric=data["success_metric"],
            success_target=data["success_target"],
            escalation_criteria=data["escalation_criteria"],
            sla_draft_hours=data["sla_draft_hours"],
            sla_qa_pass_pct=data["sla_qa_pass_pct"],
            sla_policy_escalation_minutes=data["sla_policy_escalation_minutes"],
            sla_pacing_tolerance_pct=data["sla_pacing_tolerance_pct"],
        )

    @staticmethod
    def initial_from(template: Brief) -> dict[str, Any]:
        """Prefill a new brief from a template (everything but the dates and the brand)."""
        fields = [f for f in BriefSpec.__dataclass_fields__ if f != "deadline"]
        initial = {name: getattr(template, name) for name in fields}
        initial["brand"] = template.brand_id
        return initial


class TransitionForm(forms.Form):
    to_phase = forms.CharField(max_length=16)
    reason = forms.CharField(
        required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )
