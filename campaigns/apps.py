from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self) -> None:
        from . import subscribers  # noqa: F401  (registers executors, connects receivers)
