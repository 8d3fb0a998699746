from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring: telemetry, SLAs and escalations"

    def ready(self) -> None:
        from . import subscribers  # noqa: F401  (registers executors, connects receivers)
