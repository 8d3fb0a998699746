"""The Celery app: configuration from Django settings (``CELERY_*``), tasks discovered per app."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controltower.settings.base")

app = Celery("controltower")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
