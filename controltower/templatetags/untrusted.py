"""Template filters for text the product did not write itself (agents, uploads).

Plain untrusted text needs nothing: Django autoescapes it. Use ``{{ value|sanitized }}``
only where agent-written *rich text* must keep its formatting.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from governance.domain.untrusted import sanitize_rich_text

register = template.Library()


@register.filter
def sanitized(value: Any) -> SafeString:
    """``value`` as HTML reduced to an allowlist by nh3 (no scripts, no attributes but
    web/mail link targets)."""
    if value is None:
        return mark_safe("")
    # Marking safe is right here and only here: nh3 has just removed everything that
    # could run or restyle the page, so what remains is inert markup.
    return mark_safe(sanitize_rich_text(str(value)))
