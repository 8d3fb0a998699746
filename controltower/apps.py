from django.apps import AppConfig


class ControltowerConfig(AppConfig):
    name = "controltower"
    verbose_name = "Control tower"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the receivers)
