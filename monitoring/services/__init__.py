"""Every write of the monitoring app, by subsystem:

- ``telemetry``: ingesting reported delivery (batches, idempotent by event id);
- ``detection``: the detectors over each series, and flags from their transitions;
- ``flags``: raising, updating and resolving anomaly flags; recording SLA evaluations;
- ``responses``: what a firing flag does; silences; circuit breakers;
- ``escalations``: opening, telling, climbing, acknowledging, resolving;
- ``notify``: in-app notifications, email and webhook deliveries;
- ``slas``: evaluating each campaign's SLAs;
- ``sandbox``: the sandbox market delivering live campaigns, and injected faults;
- ``settings``: a brand's monitoring settings and ingestion tokens.

Import from here; the modules are an implementation detail.
"""

from .detection import (
    detect_on_batch,
    flag_apply,
    monitoring_close_buckets,
)
from .escalations import (
    Origin,
    escalation_acknowledge,
    escalation_open,
    escalation_open_for_phase,
    escalation_raise,
    escalation_resolve,
    escalations_climb,
    escalations_resolve_for_phase,
)
from .flags import (
    anomaly_flag_raise,
    anomaly_flag_resolve,
    anomaly_flag_responded,
    sla_evaluation_record,
)
from .notify import (
    DeliveryFailed,
    deliveries_resend,
    notification_delivery_send,
    notifications_mark_read,
    notify_people,
)
from .responses import breaker_close, breaker_open, flag_respond, silence_create, silence_end
from .telemetry import IngestResult, TelemetryInvalid, telemetry_ingest

__all__ = [
    "DeliveryFailed",
    "IngestResult",
    "Origin",
    "TelemetryInvalid",
    "anomaly_flag_raise",
    "anomaly_flag_resolve",
    "anomaly_flag_responded",
    "breaker_close",
    "breaker_open",
    "campaign_hours",
    "deliveries_resend",
    "detect_on_batch",
    "escalation_acknowledge",
    "escalation_open",
    "escalation_open_for_phase",
    "escalation_raise",
    "escalation_resolve",
    "escalations_climb",
    "escalations_resolve_for_phase",
    "flag_apply",
    "flag_respond",
    "live_detector",
    "monitoring_close_buckets",
    "notification_delivery_send",
    "notifications_mark_read",
    "notify_people",
    "silence_create",
    "silence_end",
    "sla_evaluation_record",
    "telemetry_ingest",
]
