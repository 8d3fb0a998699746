"""Every read of the monitoring app, by subject:

- ``pages``: what the pages show — delivery so far, notifications, escalations, flags,
  SLAs, breakers, silences, backtests, an agent's operations record;
- ``series``: the watch's series and detector configuration, read (the live watch in
  ``monitoring.services.detection`` and the backtest share them).

Import from here; the modules are an implementation detail.
"""

from .pages import *  # noqa: F403  (every public read of the pages)
from .series import campaign_hours as campaign_hours
from .series import live_detector as live_detector
