"""The ASGI entry point (uvicorn): HTTP to Django, websockets to Channels consumers."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controltower.settings.base")

# Build Django's app first: it loads the apps the websocket stack imports.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from .body_limit import BodyLimit  # noqa: E402
from .memory import CollectAfterBodies  # noqa: E402
from .routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Bodies bounded before Django: chunked ones too (controltower/body_limit.py);
        # and let go of once handled, not whenever the collector comes round
        # (controltower/memory.py).
        "http": CollectAfterBodies(
            BodyLimit(django_asgi_app, max_bytes=settings.DATA_UPLOAD_MAX_MEMORY_SIZE),
            every_bytes=settings.CONTROLTOWER_GC_EVERY_BODY_BYTES,
        ),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

# TRICKY: garbage-collector pauses stall every socket at once. Everything loaded so far
# lives as long as the process, so freeze it out of the collector's sight, and collect
# less often: each live update allocates a task per socket, and with the default
# thresholds a full collection over 1,000 connections landed every ~1.5 s (p99 of a
# push to 1,000 sockets 264 ms → 108 ms; docs/PERFORMANCE.md).
gc.collect()
gc.freeze()
gc.set_threshold(*map(int, os.environ.get("CONTROLTOWER_GC_THRESHOLD", "50000,20,20").split(",")))
