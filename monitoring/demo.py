"""Monitoring's part of ``seed_demo``: once the story is in place, the sandbox market
starts delivering the live campaigns from now (each beat tick), and every campaign's
SLAs are measured as the beat's sweep would — so the tower's SLA column is the real
measure from the first page, and stays so."""

from __future__ import annotations

from django.utils import timezone

from campaigns.domain.phases import Phase
from campaigns.models import Campaign, ContentStatus

from .models import SandboxCursor
from .services.slas import slas_evaluate


def seed_demo_monitoring() -> None:
    now = timezone.now()
    live = Campaign.objects.filter(
        phase__in=[Phase.EXECUTION, Phase.MONITORING],
        content__status=ContentStatus.PUBLISHED,
        content__connector="sandbox market",
    ).distinct()
    SandboxCursor.objects.bulk_create(
        [SandboxCursor(campaign=c, delivered_until=now) for c in live], ignore_conflicts=True
    )
    slas_evaluate(now=now)
