"""Forms parse what a person typed into plain values; the rules live in ``campaigns.domain``
and are applied by the services, so the API and CSV imports get the same messages."""

from __future__ import annotations

from dataclasses import MISSING as dataclass_missing
from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone

from governance import policies

from .domain.briefs import (
    CHANNELS,
    LIMITS,
    MAX_DEADLINE_DAYS,
    SLA_BOUNDS,
    SUCCESS_METRICS,
    BriefSpec,
    list_problems,
    split_lines,
    text_problem,
    validate_brief,
)
from .domain.inputs import is_ascii_integer, is_ascii_number
from .models import Brand, Brief


def within_limit(field: str) -> Any:
    """A validator holding a text to the brief's limit for ``field``
    (``campaigns.domain.briefs.LIMITS``), in the domain's words."""

    def validate(value: str) -> None:
        problem = text_problem(field, value)
        if problem:
            raise forms.ValidationError(problem)

    return validate


def bounded_text(field: str, **kwargs: Any) -> forms.CharField:
    """A text field of the brief: the browser stops typing at the limit (``maxlength``),
    and what arrives anyway is refused with the domain's message."""
    widget = kwargs.pop("widget", None) or forms.TextInput()
    widget.attrs["maxlength"] = LIMITS[field].chars
    return forms.CharField(widget=widget, validators=[within_limit(field)], **kwargs)


class LinesField(forms.CharField):
    """A textarea read as one item per line; for a list of the brief (``field``), as
    many and as long as ``LIMITS[field]`` allows."""

    widget = forms.Textarea(attrs={"rows": 3})

    def __init__(self, *, field: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        self.limit_field = field
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        return split_lines(super().to_python(value) or "")

    def validate(self, value: Any) -> None:
        super().validate(value)
        problems = list_problems(self.limit_field, value) if self.limit_field else []
        if problems:
            raise forms.ValidationError(problems)


ASCII_NUMBER = "Enter a number in plain digits, like 12000 or 12.50."


class AsciiDecimalField(forms.DecimalField):
    """A number typed in plain ASCII digits (``campaigns.domain.inputs``): Python would
    also read "٣٠٠٠" or "1_000", and the figure people read back would not be theirs."""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value.strip() and not is_ascii_number(value.strip()):
            raise forms.ValidationError(ASCII_NUMBER, code="invalid")
        return super().to_python(value)


class AsciiIntegerField(forms.IntegerField):
    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value.strip() and not is_ascii_integer(value.strip()):
            raise forms.ValidationError("Enter a whole number in plain digits.", code="invalid")
        return super().to_python(value)


class ChannelsField(forms.MultipleChoiceField):
    """Checkboxes of the known channels. Whether a submitted channel exists is a domain
    rule (``validate_brief``), which words the error better than Django's default."""

    def valid_value(self, value: Any) -> bool:
        return True


def sla_field(field: str, label: str, initial: int) -> AsciiIntegerField:
    least, most = SLA_BOUNDS[field]
    return AsciiIntegerField(
        label=label, initial=initial, widget=forms.NumberInput(attrs={"min": least, "max": most})
    )


class BriefForm(forms.Form):
    """One submit says everything wrong: the fields' own checks (required, a number)
    and the domain's rules (``validate_brief``) run together in ``clean``, and each
    field shows its first problem from either. The service checks again when it saves."""

    brand = forms.ModelChoiceField(queryset=Brand.objects.none(), empty_label=None)
    title = bounded_text("title")
    objective = bounded_text("objective", widget=forms.Textarea(attrs={"rows": 3}))
    audience = bounded_text(
        "audience",
        label="ICP / segment",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    tone = bounded_text("tone", required=False)
    offer = bounded_text("offer", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    assets = LinesField(field="assets", label="Assets (one per line)")
    required_claims = LinesField(field="required_claims", label="Required claims (one per line)")
    prohibited_claims = LinesField(
        field="prohibited_claims", label="Prohibited claims (one per line)"
    )
    channels = ChannelsField(
        choices=list(CHANNELS.items()), required=False, widget=forms.CheckboxSelectMultiple
    )
    budget = AsciiDecimalField(decimal_places=2, required=False)
    daily_cap = AsciiDecimalField(
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
    success_target = AsciiDecimalField(
        decimal_places=2, required=False, help_text="The value that counts as success."
    )
    escalation_criteria = bounded_text(
        "escalation_criteria",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="When agents must stop and ask a person.",
    )
    # Their bounds are the domain's (SLA_BOUNDS), checked with the rest of the brief.
    sla_draft_hours = sla_field("sla_draft_hours", "Draft within (hours)", 2)
    sla_qa_pass_pct = sla_field("sla_qa_pass_pct", "QA pass rate at least (%)", 95)
    sla_policy_escalation_minutes = sla_field(
        "sla_policy_escalation_minutes", "Policy issue escalated within (minutes)", 10
    )
    sla_pacing_tolerance_pct = sla_field(
        "sla_pacing_tolerance_pct", "Budget pacing within ± (%)", 10
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        brands = policies.visible_brands(user)
        self.fields["brand"].queryset = brands
        if brands.count() == 1:
            self.fields["brand"].initial = brands.first()
        self.today = timezone.localdate()
        self.fields["deadline"].help_text = (
            f"Today or later, up to two years ahead "
            f"({(self.today + timedelta(days=MAX_DEADLINE_DAYS)).isoformat()})."
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        problems = validate_brief(
            self._spec_so_far(),
            today=self.today,
            max_budget=settings.CONTROLTOWER_MAX_BRIEF_BUDGET,
        )
        for field, messages in problems.items():
            if field in self.errors or field not in self.fields:
                continue  # the field's own check already said what is wrong with it
            for message in messages:
                self.add_error(field, message)
        return cleaned

    def _spec_so_far(self) -> BriefSpec:
        """The brief as far as the fields parsed. A field that failed its own check is
        empty here: its message is already shown, and the domain's is skipped."""
        values: dict[str, Any] = {}
        for name, field in BriefSpec.__dataclass_fields__.items():
            value = self.cleaned_data.get(name)
            if value is None and name in LIMITS:
                value = [] if LIMITS[name].items else ""
            elif value is None and field.default is not dataclass_missing:
                value = None if name in SLA_BOUNDS else field.default
            values[name] = value
        return BriefSpec(**values)

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
