"""What the approvals services announce (``governance.events``), in one place: the apps
above react — the tower and the queues push live, monitoring settles notifications."""

from __future__ import annotations

from governance import events


def announce_changed(
    campaign_id: int,
    approval_id: int | None = None,
    *,
    created: bool = False,
    escalated: bool = False,
) -> None:
    """After commit: the campaign's tower row, and the approval's queue card if given."""
    events.announce_on_commit(events.campaign_changed, campaign_id=campaign_id)
    if approval_id is not None:
        events.announce_on_commit(
            events.approval_changed, approval_id=approval_id, created=created, escalated=escalated
        )


def announce_settled(approval_id: int) -> None:
    """In the transaction: nothing waits for the request's reviewers any more (it was
    answered, or moved to another queue), so their notices about it are read."""
    events.announce(events.approval_settled, approval_id=approval_id)
