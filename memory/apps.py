from django.apps import AppConfig


class MemoryConfig(AppConfig):
    name = "memory"
    verbose_name = "Brand memory and claims"

    def ready(self) -> None:
        from . import subscribers  # noqa: F401  (registers executors, connects receivers)
