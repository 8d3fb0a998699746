from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"

    def ready(self) -> None:
        from . import subscribers  # noqa: F401  (registers executors, connects receivers)
