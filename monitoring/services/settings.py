"""A brand's monitoring settings (the admin's): SLA targets, the escalation chain, the
Slack-compatible webhook, per-kind flag responses. Validated by the pure rules, audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from governance import policies
from governance.domain.audit import Actor
from governance.domain.errors import DomainError, NotPermitted
from governance.services import audit_record

from ..domain.anomalies import responses_for
from ..domain.escalation import validate_chain
from ..models import MonitoringSettings

FIELDS = (
    "response_minutes",
    "completion_pct",
    "exception_max_pct",
    "notify_minutes",
    "delivery_start_hours",
    "pacing_warm_up_hours",
    "escalation_chain",
    "slack_webhook_url",
    "flag_responses",
)


def monitoring_settings_problems(values: dict[str, Any]) -> dict[str, list[str]]:
    """Every problem with proposed settings, by field (empty: they are fine)."""
    problems: dict[str, list[str]] = {}
    chain = values.get("escalation_chain") or []
    if chain:
        found = validate_chain(chain)
        if found:
            problems["escalation_chain"] = found
    try:
        responses_for(values.get("flag_responses") or {})
    except ValueError as exc:
        problems["flag_responses"] = [str(exc)]
    url = values.get("slack_webhook_url") or ""
    if url:
        from integrations.outbound import url_problem

        found = url_problem(url)
        if found:
            problems["slack_webhook_url"] = [found]
    for name, low, high in (("completion_pct", 1, 100), ("exception_max_pct", 0, 100)):
        value = values.get(name)
        if value is not None and not low <= value <= high:
            problems[name] = [f"Between {low} and {high} %."]
    for name in ("response_minutes", "notify_minutes"):
        value = values.get(name)
        if value is not None and value < 1:
            problems[name] = ["At least 1 minute."]
    for name, low, high in (("delivery_start_hours", 1, 168), ("pacing_warm_up_hours", 0, 72)):
        value = values.get(name)
        if value is not None and not low <= value <= high:
            problems[name] = [f"Between {low} and {high} hours."]
    return problems


def monitoring_settings_save(
    *, brand: Any, values: dict[str, Any], user: Any
) -> MonitoringSettings:
    if not policies.can_configure_monitoring(user):
        raise NotPermitted("Only admins change monitoring settings.")
    problems = monitoring_settings_problems(values)
    if problems:
        raise DomainError("; ".join(f"{k}: {' '.join(v)}" for k, v in problems.items()))
    with transaction.atomic():
        row, _ = MonitoringSettings.objects.select_for_update().get_or_create(brand=brand)
        changed = [name for name in FIELDS if name in values and getattr(row, name) != values[name]]
        for name in changed:
            setattr(row, name, values[name])
        row.save()
        audit_record(
            actor=Actor.for_user(user),
            action="monitoring.settings_changed",
            target=row,
            brand_id=brand.pk,
            data={
                "changed": changed,
                **{name: values[name] for name in changed if name != "slack_webhook_url"},
            },
        )
    return row
