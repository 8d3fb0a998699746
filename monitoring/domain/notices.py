"""A notification as the notifications page shows it: the words, not the email's links.

The same notice goes by email, where signed one-time approve/reject links and their fine
print belong; in the app the title already links to the item, so those lines would only
be noise (and a page of raw signed URLs)."""

from __future__ import annotations

import re

#: Characters of the in-app summary; the whole notice is one click away.
SUMMARY_CHARS = 240

_LINK = re.compile(r"https?://\S+")
_LINK_FINE_PRINT = ("Each link works once", "You will see the request and confirm")


def in_app_summary(body: str, *, limit: int = SUMMARY_CHARS) -> str:
    """The body without lines that carry links or the links' fine print, blank runs
    collapsed, cut at ``limit`` characters on a word."""
    kept = [
        line.strip()
        for line in body.splitlines()
        if not _LINK.search(line) and not line.strip().startswith(_LINK_FINE_PRINT)
    ]
    text = re.sub(r"\s*\n\s*", " ", "\n".join(line for line in kept if line)).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"
