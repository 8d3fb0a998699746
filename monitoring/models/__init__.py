"""Monitoring's models, by subsystem. Written only by ``monitoring.services``.

- ``telemetry``: reported delivery as received, CSV uploads, the detectors' memory per
  series, the sandbox market's faults and cursor;
- ``flags``: anomaly flags and SLA evaluations (the tower's read models, whose tables
  keep their campaigns-app names), silences and circuit breakers;
- ``escalations``: escalations, in-app notifications and their outside deliveries;
- ``settings``: a brand's monitoring settings and ingestion tokens.

The hourly ``PerformanceSample`` roll-ups live with the campaign
(``campaigns.models``); this app feeds them. Import from here; the modules are an
implementation detail.
"""

from .escalations import (
    UNRESOLVED,
    DeliveryChannel,
    DeliveryStatus,
    Escalation,
    EscalationStatus,
    Notification,
    NotificationDelivery,
)
from .flags import (
    OPEN_FLAG_STATES,
    AnomalyFlag,
    AnomalyKind,
    BreakerState,
    CircuitBreaker,
    FlagResponse,
    FlagState,
    Silence,
    SlaEvaluation,
    SlaKind,
)
from .settings import IngestionToken, MonitoringSettings
from .telemetry import (
    DetectorState,
    SandboxCursor,
    SandboxFault,
    TelemetryEvent,
    TelemetryImport,
    TelemetryImportStatus,
    TelemetrySource,
)

__all__ = [
    "OPEN_FLAG_STATES",
    "UNRESOLVED",
    "AnomalyFlag",
    "AnomalyKind",
    "BreakerState",
    "CircuitBreaker",
    "DeliveryChannel",
    "DeliveryStatus",
    "DetectorState",
    "Escalation",
    "EscalationStatus",
    "FlagResponse",
    "FlagState",
    "IngestionToken",
    "MonitoringSettings",
    "Notification",
    "NotificationDelivery",
    "SandboxCursor",
    "SandboxFault",
    "Silence",
    "SlaEvaluation",
    "SlaKind",
    "TelemetryEvent",
    "TelemetryImport",
    "TelemetryImportStatus",
    "TelemetrySource",
]
