"""Forms for what people do about monitoring: shape checks only; the services decide."""

from __future__ import annotations

from django import forms

from campaigns.domain.briefs import CHANNELS
from campaigns.domain.metrics import METRICS
from campaigns.forms import AsciiDecimalField

from .domain.telemetry import MAX_ROWS
from .models import AnomalyKind

#: Bytes per uploaded telemetry file (50,000 rows of ~120 bytes, with room to spare).
MAX_UPLOAD_BYTES = 10 * 1024 * 1024


class SilenceForm(forms.Form):
    reason = forms.CharField(
        max_length=300,
        label="Known event",
        help_text="What is happening, e.g. “Launch day: CPM runs high for the first hours”.",
    )
    hours = forms.IntegerField(
        min_value=1, max_value=24 * 31, initial=24, label="For how many hours (from now)"
    )
    kinds = forms.MultipleChoiceField(
        choices=AnomalyKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Flag kinds (none ticked: every kind)",
    )
    channel = forms.ChoiceField(
        choices=[("", "Every channel"), *CHANNELS.items()], required=False, label="Channel"
    )
    whole_brand = forms.BooleanField(
        required=False, label="Every campaign of this brand, not just this one"
    )


class ResolveForm(forms.Form):
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="How it was resolved")
    resume = forms.BooleanField(required=False, label="Resume the campaign")


class ResumeSurfaceForm(forms.Form):
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), label="Why it is safe to resume"
    )


class TelemetryUploadForm(forms.Form):
    brand = forms.ChoiceField(label="Brand")
    file = forms.FileField(
        label="Telemetry CSV",
        help_text=f"One event per row, at most {MAX_ROWS:,} rows; the columns are listed below.",
    )

    def __init__(self, *args, brands=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["brand"].choices = [(str(b.pk), b.name) for b in brands]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size / 1_000_000:.1f} MB; at most "
                f"{MAX_UPLOAD_BYTES // 1_000_000} MB per file. Split it and upload each part."
            )
        return upload


class BacktestForm(forms.Form):
    """ "How would the live detector have done on my data?": a metric, and optionally a
    control limit to try instead of the live one."""

    metric = forms.ChoiceField(
        choices=[(metric.value, spec.label) for metric, spec in METRICS.items()],
        label="Metric",
        error_messages={"invalid_choice": "Choose a metric from the list."},
    )
    control_limit = AsciiDecimalField(
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=4,
        label="Control limit (optional)",
        help_text="A ceiling for costs, a floor for rates, the ± tolerance in % for spend "
        "pace. Empty: the limit the live detector uses.",
        error_messages={"min_value": "A control limit cannot be negative."},
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "backtest-%s")  # unique beside the page's other forms
        super().__init__(*args, **kwargs)
