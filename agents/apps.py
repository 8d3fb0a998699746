from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"

    def ready(self) -> None:
        from . import subscribers  # noqa: F401  (registers executors, connects receivers)
