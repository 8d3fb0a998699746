"""Forms parse what a person typed into plain values; the rules live in ``memory.domain``
and are applied by the services, so agents' proposals get the same messages."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from campaigns.forms import LinesField
from governance import policies

from .domain.claims import ClaimSpec
from .domain.entries import KINDS


class EntryForm(forms.Form):
    """Add a fact (``with_kind``) or write a new version of one."""

    kind = forms.ChoiceField(choices=list(KINDS.items()))
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), strip=True)
    lift_pct = forms.FloatField(
        label="Lift (%)", required=False, help_text="e.g. 12.5 for +12.5 % against control."
    )
    sample_size = forms.IntegerField(label="Sample size", required=False)
    campaign = forms.ModelChoiceField(
        queryset=None, required=False, label="Campaign it was seen in"
    )
    link = forms.CharField(label="Evidence link", required=False, max_length=500)
    evidence_note = forms.CharField(
        label="Evidence note", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    note = forms.CharField(
        label="Change note",
        required=False,
        max_length=300,
        help_text="What changed and why (required for an edit).",
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, brand: Any, with_kind: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["campaign"].queryset = brand.campaigns.order_by("name")
        if not with_kind:
            del self.fields["kind"]

    def evidence(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "lift_pct": data["lift_pct"],
            "sample_size": data["sample_size"],
            "campaign_id": data["campaign"].pk if data["campaign"] else None,
            "link": data["link"],
            "note": data["evidence_note"],
        }

    @staticmethod
    def initial_from(entry: Any) -> dict[str, Any]:
        evidence = entry.evidence
        return {
            "text": entry.text,
            "lift_pct": evidence.get("lift_pct"),
            "sample_size": evidence.get("sample_size"),
            "campaign": evidence.get("campaign_id"),
            "link": evidence.get("link", ""),
            "evidence_note": evidence.get("note", ""),
            "version": entry.version,
        }


#: Domain error keys that are evidence fields on the form.
EVIDENCE_FIELDS = {
    "lift_pct": "lift_pct",
    "sample_size": "sample_size",
    "campaign_id": "campaign",
    "link": "link",
    "note": "evidence_note",
}


class RetireForm(forms.Form):
    note = forms.CharField(label="Why retire it", max_length=300)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)


class ClaimForm(forms.Form):
    wording = forms.CharField(max_length=200, help_text="The claim exactly as it may be used.")
    variants = LinesField(label="Wording variants (one per line)")
    substantiation = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The study, test or data that backs the claim.",
    )
    evidence_url = forms.CharField(label="Evidence link", required=False, max_length=500)
    disclaimers = LinesField(label="Required disclaimers (one per line)")
    jurisdictions = forms.CharField(
        help_text="Where it may be used: country codes such as US, GB, EU or US-CA.",
        max_length=300,
    )
    expires_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    legal_owner = forms.ModelChoiceField(
        queryset=None,
        empty_label="— choose the legal owner —",
        help_text="Told before the claim expires.",
    )

    def __init__(self, *args: Any, brand: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["legal_owner"].queryset = policies.claim_owner_candidates(brand)

    def spec(self) -> ClaimSpec:
        data = self.cleaned_data
        return ClaimSpec(
            wording=data["wording"],
            substantiation=data["substantiation"],
            expires_on=data["expires_on"],
            jurisdictions=[c for c in re.split(r"[\s,;]+", data["jurisdictions"]) if c],
            variants=data["variants"],
            disclaimers=data["disclaimers"],
            evidence_url=data["evidence_url"],
        )

    @staticmethod
    def initial_from(claim: Any) -> dict[str, Any]:
        """A renewal starts from the claim it renews (a new expiry date is the point)."""
        return {
            "wording": claim.wording,
            "variants": claim.variants,
            "substantiation": claim.substantiation,
            "evidence_url": claim.evidence_url,
            "disclaimers": claim.disclaimers,
            "jurisdictions": ", ".join(claim.jurisdictions),
            "legal_owner": claim.legal_owner_id,
        }


class ClaimReviewForm(forms.Form):
    verdict = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    note = forms.CharField(required=False, max_length=500)


class ClaimRetireForm(forms.Form):
    note = forms.CharField(label="Why withdraw it", max_length=300)
