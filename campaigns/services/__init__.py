"""Every write to brands, briefs and campaigns, by subject:

- ``briefs``: briefs and templates, brand settings;
- ``phases``: a campaign's phase changes (the phase table);
- ``budgets``: spend against the caps, budget changes;
- ``content``: copy cleared for publishing and published;
- ``holds``: work waiting for a person.

Adapters (views, tasks, commands, the API, the executors) import from here; each service
validates through ``campaigns.domain``, locks what it changes and writes its audit event
in the same transaction. The modules are an implementation detail.
"""

from .briefs import BriefInvalid, brand_save, brief_create
from .budgets import campaign_change_budget, campaign_record_spend, spent_today
from .content import content_approve_for_publishing, content_mark_published, content_matches_hash
from .holds import hold_open, hold_resolve, holds_clear
from .phases import campaign_escalation_state_set, campaign_transition_phase

__all__ = [
    "BriefInvalid",
    "brand_save",
    "brief_create",
    "campaign_change_budget",
    "campaign_escalation_state_set",
    "campaign_record_spend",
    "campaign_transition_phase",
    "content_approve_for_publishing",
    "content_mark_published",
    "content_matches_hash",
    "hold_open",
    "hold_resolve",
    "holds_clear",
    "spent_today",
]
