"""The delegation-policy editor's form: one row of fields per action type."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from governance.domain.actions import ActionType
from governance.domain.roles import Role

from .domain.policy import Mode, Policy

MODE_LABELS = {
    Mode.ACT_ALONE: "Act alone",
    Mode.RECOMMEND_ONLY: "Recommend only",
    Mode.NEEDS_APPROVAL: "Needs approval",
    Mode.FORBIDDEN: "Forbidden",
}


class PolicyForm(forms.Form):
    note = forms.CharField(
        label="Why this change",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="Required to submit; the second admin reads it.",
    )

    def __init__(self, *args: Any, policy: Policy, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actions = list(ActionType)
        for action in self.actions:
            rule = policy.rule_for(action)
            key = action.value
            self.fields[f"{key}-mode"] = forms.ChoiceField(
                label="Mode", choices=[(m.value, MODE_LABELS[m]) for m in Mode], initial=rule.mode
            )
            self.fields[f"{key}-approver"] = forms.ChoiceField(
                label="Approved by",
                choices=[(r.value, r.value) for r in Role],
                initial=rule.approver,
            )
            self.fields[f"{key}-max_amount"] = forms.DecimalField(
                label="Above amount",
                required=False,
                min_value=Decimal(0),
                decimal_places=2,
                initial=rule.max_amount,
            )
            self.fields[f"{key}-max_budget_pct"] = forms.DecimalField(
                label="Above % of budget",
                required=False,
                min_value=Decimal(0),
                max_value=Decimal(100),
                decimal_places=2,
                initial=rule.max_budget_pct,
            )
            self.fields[f"{key}-min_confidence"] = forms.FloatField(
                label="Below confidence",
                required=False,
                min_value=0,
                max_value=1,
                initial=rule.min_confidence,
            )
            # The grid's column headers are not labels: each control names its row and column.
            for name in ("mode", "approver", "max_amount", "max_budget_pct", "min_confidence"):
                field = self.fields[f"{key}-{name}"]
                field.widget.attrs["aria-label"] = f"{action.label}: {field.label}"

    def rows(self) -> list[tuple[ActionType, list[forms.BoundField]]]:
        """The fields grouped per action type, for the template's table."""
        names = ("mode", "approver", "max_amount", "max_budget_pct", "min_confidence")
        return [(a, [self[f"{a.value}-{n}"] for n in names]) for a in self.actions]

    def rules(self) -> dict[str, dict[str, Any]]:
        """The rules as stored (``approvals.domain.policy.policy_from_json`` reads them)."""
        data = self.cleaned_data

        def text(value: Any) -> str | None:
            return None if value is None else str(value)

        return {
            a.value: {
                "mode": data[f"{a.value}-mode"],
                "approver": data[f"{a.value}-approver"],
                "max_amount": text(data[f"{a.value}-max_amount"]),
                "max_budget_pct": text(data[f"{a.value}-max_budget_pct"]),
                "min_confidence": data[f"{a.value}-min_confidence"],
            }
            for a in self.actions
        }


class QueueFilterForm(forms.Form):
    """The queue's filters, read from the URL (``?brand=…&campaign=…&kind=…&holder=…``).

    A value that names nothing of the user's is an error beside its menu, and that filter
    is not applied; a valid one with nothing waiting simply lists nothing."""

    brand = forms.ChoiceField(required=False, label="Brand")
    campaign = forms.TypedChoiceField(
        required=False, label="Campaign", coerce=int, empty_value=None
    )
    kind = forms.ChoiceField(required=False, label="Kind")
    holder = forms.ChoiceField(
        required=False,
        label="Claimed",
        choices=[("", "By anyone or nobody"), ("mine", "By me"), ("free", "By nobody")],
    )

    def __init__(
        self,
        data: Any,
        *,
        brands: list[tuple[str, str]],
        campaigns: list[tuple[int, str]],
        counts: dict[str, list[tuple[Any, str, int]]],
    ) -> None:
        super().__init__(data)
        per = {name: {value: n for value, _, n in rows} for name, rows in counts.items()}

        def label(text: str, n: int | None) -> str:
            return f"{text} ({n})" if n else text

        self.fields["brand"].choices = [("", "All brands")] + [
            (slug, label(name, per["brands"].get(slug))) for slug, name in brands
        ]
        self.fields["campaign"].choices = [("", "All campaigns")] + [
            (pk, label(name, per["campaigns"].get(pk))) for pk, name in campaigns
        ]
        self.fields["kind"].choices = [("", "All kinds")] + [
            (a.value, label(a.label, per["kinds"].get(a.value))) for a in ActionType
        ]
        for name in ("brand", "campaign", "kind"):
            self.fields[name].error_messages["invalid_choice"] = (
                f"No {name} “%(value)s” in your queues: showing all."
            )

    def filters(self) -> dict[str, Any]:
        """The valid filters (an invalid one is left out)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            name: data.get(name)
            for name in ("brand", "campaign", "kind", "holder")
            if name not in self.errors and data.get(name)
        }
