from celery import shared_task

from . import realtime


@shared_task(name="tower.push_campaign", ignore_result=True, expires=30)
def tower_push_campaign(campaign_id: int) -> None:
    """The trailing push of a coalesced burst of changes (see ``controltower.realtime``)."""
    realtime.push_campaign(campaign_id)
