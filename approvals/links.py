"""Approving from Slack or email (being built): signed, single-use, expiring links."""

from __future__ import annotations

from typing import Any


def approval_notify_reviewers(approval: Any) -> None:
    """Tell the queue's reviewers about a new request (in-app, email, webhook)."""
