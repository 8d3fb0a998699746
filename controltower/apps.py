from django.apps import AppConfig


class ControltowerConfig(AppConfig):
    name = "controltower"
    verbose_name = "Control tower"

    def ready(self) -> None:
        from . import subscribers  # noqa: F401  (connects the receivers)
