from django.apps import AppConfig


class ControltowerConfig(AppConfig):
    name = "controltower"
    verbose_name = "Control tower"
