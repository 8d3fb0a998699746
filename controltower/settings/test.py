"""Test settings: the machine's PostgreSQL and Redis, never the embedded defaults.

Override with DATABASE_URL / REDIS_URL; ``make test`` and ``.ci/run`` use these.
"""

import os

os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-with-enough-entropy-0123456789abcdef")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/controltower")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/5")
# In-process tests run unpooled: connections held by sync-to-async threads would outlive
# the test database. The servers the flow tests start use the pool.
os.environ.setdefault("DATABASE_POOL", "0")
os.environ.setdefault("CONTROLTOWER_CHANNEL_PREFIX", "controltower-test")

# Journey tests move time forward across every process of the stack (tests/clock.py).
# Installed before any model is imported, so model defaults read the same clock.
if os.environ.get("CONTROLTOWER_TEST_CLOCK_FILE"):
    from tests.clock import install

    install(os.environ["CONTROLTOWER_TEST_CLOCK_FILE"])

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast tests
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_USE_FINDERS = True
AXES_FAILURE_LIMIT = 3
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP
# Browser tests speak plain HTTP to a local server; secure-only cookies would never be sent.
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# The webhook tests run their receivers on this machine, over http; the refusal of
# exactly that (integrations.outbound) is tested with these switched off.
os.environ.setdefault("CONTROLTOWER_WEBHOOK_ALLOW_HTTP", "1")
os.environ.setdefault("CONTROLTOWER_WEBHOOK_ALLOW_PRIVATE", "1")
CONTROLTOWER_WEBHOOK_ALLOW_HTTP = os.environ["CONTROLTOWER_WEBHOOK_ALLOW_HTTP"] == "1"
CONTROLTOWER_WEBHOOK_ALLOW_PRIVATE = os.environ["CONTROLTOWER_WEBHOOK_ALLOW_PRIVATE"] == "1"
