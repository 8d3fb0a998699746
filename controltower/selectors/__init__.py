"""The control tower's reads, by subject:

- ``tower``: the tower's read model — filters, columns, one row per campaign a user may
  see, the counts that need attention, a campaign's status line;
- ``work``: what each campaign waits for (its next action and the facts behind it).

Import from here; the modules are an implementation detail.
"""

from .tower import *  # noqa: F403  (the tower's public reads)
from .work import CampaignWork as CampaignWork
from .work import campaign_next_actions as campaign_next_actions
from .work import campaign_work as campaign_work
