"""Showing people's data to people who are not signed in."""

from __future__ import annotations


def masked_email(email: str) -> str:
    """``mia@example.com`` → ``m***@example.com``: enough to recognise, not to harvest."""
    local, at, domain = email.rpartition("@")
    if not at or not local:
        return "***"
    return f"{local[0]}***@{domain}"
