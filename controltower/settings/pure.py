"""Settings for the pure management commands (``detect_anomalies``: a backtest over a
CSV). They read no secret, touch no database and send nothing, so they run on a machine
with nothing configured; ``manage.py`` picks this module for them. A throwaway key keeps
the production guard in ``base`` (no SECRET_KEY, no start) intact for everything else.
"""

import os
import secrets

os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))

from .base import *  # noqa: F403
