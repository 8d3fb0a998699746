"""What the ground floor's rules and records are about — brands and campaigns — named by
label, the way its foreign keys name them (``"campaigns.Brand"``) and the way Django
names the user model (``get_user_model()``). The rows belong to ``campaigns``, a floor
above; the ground floor reads them through these two functions and imports no app."""

from __future__ import annotations

from typing import Any

from django.apps import apps

BRAND_MODEL = "campaigns.Brand"
CAMPAIGN_MODEL = "campaigns.Campaign"

#: For annotations: a brand row (``campaigns.models.Brand``).
Brand = Any
#: For annotations: a campaign row (``campaigns.models.Campaign``).
Campaign = Any


def brand_model() -> Any:
    return apps.get_model(BRAND_MODEL)


def campaign_model() -> Any:
    return apps.get_model(CAMPAIGN_MODEL)
