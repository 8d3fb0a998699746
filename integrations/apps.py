from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations: webhooks"

    def ready(self) -> None:
        from . import subscribers  # noqa: F401  (registers executors, connects receivers)
