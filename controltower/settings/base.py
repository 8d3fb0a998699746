"""Settings, read from the environment (see README.md and .env.example).

With nothing set, the product runs on the embedded defaults: a SQLite file under
``var/`` and the embedded Redis that ``make run`` starts on a unix socket under
``var/redis/``. Production sets ``DATABASE_URL``, ``REDIS_URL``, ``SECRET_KEY``,
``ALLOWED_HOSTS`` and turns ``DEBUG`` off.

One file, over 500 lines: every setting, each beside the reason it has the value it has.
"""

from decimal import Decimal, InvalidOperation
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("CONTROLTOWER_VAR_DIR", default=str(BASE_DIR / "var")))
EMBEDDED_REDIS_SOCKET = VAR_DIR / "redis" / "redis.sock"

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

# TRICKY: production secrets have no default. A development key exists only while
# DEBUG is on, so a forgotten SECRET_KEY can never reach a real deployment.
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off. "
            "Set SECRET_KEY in the environment (see .env.example), or DEBUG=1 for development."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-used-in-production"
# Rotating the key: keep the old one here for a while, or every link already mailed
# (approve/reject links, unsubscribe links — which never expire) stops working.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "django_htmx",
    "template_partials",
    "guardian",
    "axes",
    "governance",
    "controltower",
    "campaigns",
    "approvals",
    "agents",
    "memory",
    "crm",
    "monitoring",
    "integrations",
    "api",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "controltower.middleware.nul_bytes_refused",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page requires login unless its view is marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # DEBUG only: the product's 404 page instead of Django's technical one (the demo).
    "controltower.views.errors.product_404_pages",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns lockouts into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "controltower.urls"
ASGI_APPLICATION = "controltower.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "controltower.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------
# TRICKY: SQLite is the zero-setup default. WAL lets readers and the one writer work
# at once, IMMEDIATE transactions take the write lock up front (no upgrade deadlock
# between the web process and the workers) and the timeout makes a busy writer wait
# instead of failing with "database is locked".
VAR_DIR.mkdir(parents=True, exist_ok=True)  # the SQLite default and the embedded Redis live here
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'controltower.sqlite3'}")
}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db.setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
elif _db["ENGINE"] == "django.db.backends.postgresql":
    # psycopg's connection pool (Django 5.1+) saves a connect per request under ASGI.
    if env.bool("DATABASE_POOL", default=True):
        _db.setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN", default=1),
            "max_size": env.int("DATABASE_POOL_MAX", default=10),
            "timeout": 10,
        }
    else:
        _db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: broker, channel layer, cache ---------------------------------------
# With REDIS_URL unset the product talks to the embedded Redis on its unix socket.
REDIS_URL = env.str("REDIS_URL", default=f"unix://{EMBEDDED_REDIS_SOCKET}")
REDIS_IS_EMBEDDED = "REDIS_URL" not in env.ENVIRON


def _kombu_url(redis_url: str) -> str:
    """Kombu spells a unix-socket Redis ``redis+socket://`` where redis-py says ``unix://``."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


CHANNEL_LAYERS = {
    "default": {
        # The pub/sub layer: 3x faster than the core layer when sending from sync code.
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            "hosts": [REDIS_URL],
            "prefix": env.str("CONTROLTOWER_CHANNEL_PREFIX", default="controltower"),
        },
    }
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "controltower",
    }
}

CELERY_BROKER_URL = _kombu_url(env.str("CELERY_BROKER_URL", default=REDIS_URL))
CELERY_RESULT_BACKEND = None  # results live in our own models, never in the broker
CELERY_TASK_ACKS_LATE = True  # a crashed worker's task is redelivered, not lost
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# How often the approval queues' SLA timers are swept (escalations, safe defaults).
CONTROLTOWER_APPROVAL_SWEEP_SECONDS = env.float("CONTROLTOWER_APPROVAL_SWEEP_SECONDS", default=60)
# Monitoring's periodic work (sandbox deliveries, closing hours, climbing escalations,
# SLA clocks) runs this often; each tick works from what the database says is due.
CONTROLTOWER_MONITORING_TICK_SECONDS = env.float("CONTROLTOWER_MONITORING_TICK_SECONDS", default=60)
# The learning loop (experiments' allocation rounds, lessons for brand memory, agents'
# track records) runs this often.
CONTROLTOWER_LEARNING_TICK_SECONDS = env.float("CONTROLTOWER_LEARNING_TICK_SECONDS", default=3600)
CELERY_BEAT_SCHEDULE: dict = {
    "approvals.sweep-timers": {
        "task": "approvals.sweep_timers",
        "schedule": CONTROLTOWER_APPROVAL_SWEEP_SECONDS,
        # A tick still queued after one interval is dropped: the next does the same work.
        "options": {"expires": CONTROLTOWER_APPROVAL_SWEEP_SECONDS},
    },
    # Runs stranded by a killed worker go back to the queue (agents.services.agent_runs_reap).
    "agents.reap-runs": {
        "task": "agents.reap_runs",
        "schedule": 60,
        "options": {"expires": 60},
    },
    # Tells legal owners of claims that expire soon (each once); a missed day catches up.
    "memory.claim-expiry-notices": {
        "task": "memory.send_claim_expiry_notices",
        "schedule": crontab(hour=7, minute=0),
        "options": {"expires": 12 * 60 * 60},
    },
    # Monitoring (monitoring/services): the sandbox market delivers, hours the clock has
    # closed are judged, escalations climb their chains, SLAs are evaluated, and
    # notifications that failed to send are tried again.
    **{
        f"monitoring.{task.replace('_', '-')}": {
            "task": f"monitoring.{task}",
            "schedule": CONTROLTOWER_MONITORING_TICK_SECONDS,
            "options": {"expires": CONTROLTOWER_MONITORING_TICK_SECONDS},
        }
        for task in ("sandbox_tick", "close_buckets", "climb_escalations", "evaluate_slas")
    },
    # The audit chain head, signed and kept outside the database.
    "governance.audit-checkpoint": {
        "task": "governance.audit_checkpoint",
        "schedule": crontab(minute=7),
        "options": {"expires": 60 * 60},
    },
    "monitoring.resend-deliveries": {
        "task": "monitoring.resend_deliveries",
        "schedule": 300,
        "options": {"expires": 300},
    },
    **{
        name: {
            "task": task,
            "schedule": CONTROLTOWER_LEARNING_TICK_SECONDS,
            "options": {"expires": CONTROLTOWER_LEARNING_TICK_SECONDS},
        }
        for name, task in (
            ("agents.reallocate", "agents.reallocate"),
            ("agents.learn", "agents.learn"),
            ("approvals.review-autonomy", "approvals.review_autonomy"),
        )
    },
    # Contact-file previews nobody confirmed in 24 h are deleted (they hold personal data).
    "crm.purge-expired-imports": {
        "task": "crm.purge_expired_imports",
        "schedule": crontab(minute=17),
        "options": {"expires": 60 * 60},
    },
    # Webhook deliveries whose retry was lost with a crashed worker are sent again
    # (only those overdue by 5 minutes; integrations.services.RESEND_GRACE).
    "integrations.resend-webhooks": {
        "task": "integrations.resend_webhooks",
        "schedule": 60,
        "options": {"expires": 60},
    },
    # So are telemetry files previewed and never confirmed (they can be large).
    "monitoring.purge-expired-imports": {
        "task": "monitoring.purge_expired_imports",
        "schedule": crontab(minute=23),
        "options": {"expires": 60 * 60},
    },
}

# --- Auth, roles, object permissions -------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses locked-out logins first
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "tower"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Repeated failed logins are throttled: after AXES_FAILURE_LIMIT failures for a
# username from one address, that pair is locked out for AXES_COOLOFF_TIME hours.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

GUARDIAN_RAISE_403 = False
ANONYMOUS_USER_NAME = None  # no anonymous object permissions: every page needs login

# --- Security ------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads no cookie; the token travels in hx-headers
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    if env.bool("BEHIND_TLS_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Internationalisation, static ---------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# In development WhiteNoise serves straight from the finders: no collectstatic step.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
# SMTP (EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend); no secrets by default.
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="control-tower@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

# --- The public API (/api/v1/) -------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.StrictJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Content-Security-Policy (django-csp): scripts only from this site, never inline (the
# pages pass data to scripts as JSON, with json_script); styles allow inline attributes,
# which htmx's indicators and plotly's charts set. The live socket is same-origin.
from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        # The API docs (Redoc) search in a worker its own script makes from a blob.
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Campaign Control Tower API",
    "DESCRIPTION": "The same roles, per-brand permissions and delegation policy as the web "
    "UI. Authenticate with a personal token: `Authorization: Bearer cct_…` (docs/API.md).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs page's assets are served from this app (no CDN: browsers may be offline).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "APPEND_COMPONENTS": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "SECURITY": [{"bearer": []}],
    # One named enum per choice set, however many fields use it.
    "ENUM_NAME_OVERRIDES": {
        "PhaseEnum": "campaigns.models.PHASE_CHOICES",
        "ChannelEnum": "campaigns.domain.briefs.CHANNEL_CODES",
    },
}

# --- Domain knobs -------------------------------------------------------------
# Where links in emails and webhook posts point (the address people open the app at).
CONTROLTOWER_BASE_URL = env.str("CONTROLTOWER_BASE_URL", default="http://127.0.0.1:8000")
# Integrations: approve-from-link lifetime, webhook retries, and whether the email
# channel really sends campaign mail over SMTP (off: the sandbox market stands in).
CONTROLTOWER_APPROVAL_LINK_HOURS = env.int("CONTROLTOWER_APPROVAL_LINK_HOURS", default=48)
# Outbound webhooks: attempts per delivery before it is marked failed (30 s · 2^n apart, ≤ 1 h).
# Webhook endpoints (integrations.outbound): https only, public addresses only. These
# open a development setup or a lab to http and to private addresses; never production.
# The largest request body read (a telemetry batch of ~50,000 events fits): Django's
# limit for every view, and the ASGI layer's for every body, chunked or not.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("CONTROLTOWER_MAX_BODY_BYTES", default=16 * 2**20)
# The web process collects its garbage after every this many bytes of request bodies
# (what a body holds is freed only by a collection: controltower/memory.py); 0: never.
CONTROLTOWER_GC_EVERY_BODY_BYTES = env.int("CONTROLTOWER_GC_EVERY_BODY_BYTES", default=4 * 2**20)
CONTROLTOWER_WEBHOOK_ALLOW_HTTP = env.bool("CONTROLTOWER_WEBHOOK_ALLOW_HTTP", default=False)
CONTROLTOWER_WEBHOOK_ALLOW_PRIVATE = env.bool("CONTROLTOWER_WEBHOOK_ALLOW_PRIVATE", default=False)
CONTROLTOWER_WEBHOOK_MAX_ATTEMPTS = env.int("CONTROLTOWER_WEBHOOK_MAX_ATTEMPTS", default=8)
CONTROLTOWER_CAMPAIGN_EMAIL = env.bool("CONTROLTOWER_CAMPAIGN_EMAIL", default=False)
# Monitoring (monitoring/services/detection.py): an hour is judged once this long has
# passed after its end (late reports still count), and a series judged for the first
# time (or after a gap) starts at most this far back.
CONTROLTOWER_TELEMETRY_CLOSE_GRACE_SECONDS = env.int(
    "CONTROLTOWER_TELEMETRY_CLOSE_GRACE_SECONDS", default=120
)
CONTROLTOWER_DETECTION_BACKFILL_HOURS = env.int(
    "CONTROLTOWER_DETECTION_BACKFILL_HOURS", default=14 * 24
)
# The sandbox market delivers live campaigns on each beat tick (off: only API/CSV data).
CONTROLTOWER_SANDBOX_MARKET = env.bool("CONTROLTOWER_SANDBOX_MARKET", default=True)
# A webhook post or email that still fails after this many attempts is marked failed.
CONTROLTOWER_DELIVERY_MAX_ATTEMPTS = env.int("CONTROLTOWER_DELIVERY_MAX_ATTEMPTS", default=6)
# A brief budget above this is refused as implausible (a typo, not a campaign).
CONTROLTOWER_MAX_BRIEF_BUDGET = env.int("CONTROLTOWER_MAX_BRIEF_BUDGET", default=10_000_000)
# Changes to one campaign within this window reach the tower as at most two updates.
CONTROLTOWER_TOWER_COALESCE_MS = env.int("CONTROLTOWER_TOWER_COALESCE_MS", default=250)
# Rows per tower page: the tower renders about what fits on a screen, no more.
CONTROLTOWER_TOWER_PAGE_SIZE = env.int("CONTROLTOWER_TOWER_PAGE_SIZE", default=25)
# An item a reviewer claimed stays theirs this long without a decision, then frees up.
CONTROLTOWER_CLAIM_MINUTES = env.int("CONTROLTOWER_CLAIM_MINUTES", default=30)
# A decision made within this many seconds of the reviewer taking the item is flagged as
# rubber-stamping on the admin's queue analytics.
CONTROLTOWER_RUBBER_STAMP_SECONDS = env.float("CONTROLTOWER_RUBBER_STAMP_SECONDS", default=10)

# Agent runs (agents/services/runs.py). A worker holds a run for the lease; past it, the
# reaper (beat, every minute) re-queues the run. Keep it above the task's time limit.
CONTROLTOWER_AGENT_LEASE_SECONDS = env.int("CONTROLTOWER_AGENT_LEASE_SECONDS", default=180)
# A queued run whose task has not started in this long is sent again (lost message).
CONTROLTOWER_AGENT_QUEUE_GRACE_SECONDS = env.int(
    "CONTROLTOWER_AGENT_QUEUE_GRACE_SECONDS", default=600
)
# A run whose worker died this many times is failed and escalated, not tried again.
CONTROLTOWER_AGENT_MAX_INTERRUPTIONS = env.int("CONTROLTOWER_AGENT_MAX_INTERRUPTIONS", default=3)
# A run is tried at most this many times (model unreachable, a bug on its input, a
# database blip); then it is failed and its campaign escalated with the last error.
# Audit checkpoints (governance.services.audit_checkpoint_write, beat hourly): the chain
# head signed and kept outside the database; mailed too when an address is set.
CONTROLTOWER_AUDIT_CHECKPOINT_DIR = env.str(
    "CONTROLTOWER_AUDIT_CHECKPOINT_DIR", default=str(VAR_DIR / "audit-checkpoints")
)
CONTROLTOWER_AUDIT_CHECKPOINT_EMAIL = env.str("CONTROLTOWER_AUDIT_CHECKPOINT_EMAIL", default="")
CONTROLTOWER_AUDIT_CHECKPOINT_KEY = env.str("CONTROLTOWER_AUDIT_CHECKPOINT_KEY", default="")
CONTROLTOWER_AGENT_MAX_ATTEMPTS = env.int("CONTROLTOWER_AGENT_MAX_ATTEMPTS", default=4)
# A claim waits this long for its run's row (held for a moment by another worker or the
# reaper), then its task retries: never skipped, so a run is never left behind.
CONTROLTOWER_AGENT_CLAIM_WAIT_SECONDS = env.float(
    "CONTROLTOWER_AGENT_CLAIM_WAIT_SECONDS", default=10
)

# --- Language models (agents/providers) ------------------------------------------
# offline: the built-in composer — deterministic, no network, labelled as such in the UI.
# openai: any OpenAI-compatible endpoint (OpenAI itself when LLM_BASE_URL is blank; Ollama,
# vLLM…). anthropic: Claude. See README "Language models".
LLM_PROVIDER = env.str("LLM_PROVIDER", default="offline").strip().lower()
LLM_BASE_URL = env.str("LLM_BASE_URL", default="")
LLM_MODEL = env.str("LLM_MODEL", default="")
LLM_API_KEY = env.str("LLM_API_KEY", default="")  # blank is fine for a local server
LLM_TIMEOUT_SECONDS = env.float("LLM_TIMEOUT_SECONDS", default=60)
# Invalid output goes back to the model this many times, then the run escalates.
LLM_OUTPUT_RETRIES = env.int("LLM_OUTPUT_RETRIES", default=2)
LLM_MAX_OUTPUT_TOKENS = env.int("LLM_MAX_OUTPUT_TOKENS", default=4000)
# A larger prompt is refused unsent; with the two above, this bounds what one run can cost.
LLM_MAX_INPUT_TOKENS = env.int("LLM_MAX_INPUT_TOKENS", default=50_000)
try:
    LLM_PRICE_INPUT_PER_MTOK = Decimal(env.str("LLM_PRICE_INPUT_PER_MTOK", default="0"))
    LLM_PRICE_OUTPUT_PER_MTOK = Decimal(env.str("LLM_PRICE_OUTPUT_PER_MTOK", default="0"))
except InvalidOperation:
    raise ImproperlyConfigured(
        "LLM_PRICE_INPUT_PER_MTOK and LLM_PRICE_OUTPUT_PER_MTOK are prices per million "
        "tokens, e.g. 0.15."
    ) from None
if LLM_PROVIDER not in ("offline", "openai", "anthropic"):
    raise ImproperlyConfigured(
        f"LLM_PROVIDER must be offline, openai or anthropic; got “{LLM_PROVIDER}”. "
        "Leave it unset for the offline composer."
    )
if LLM_PROVIDER != "offline" and not LLM_MODEL:
    raise ImproperlyConfigured(
        f"LLM_PROVIDER={LLM_PROVIDER} needs LLM_MODEL, the model's name "
        "(e.g. llama3.1 for Ollama, gpt-4o-mini for OpenAI, claude-sonnet-4-6 for Anthropic)."
    )

# Legal owners of approved claims are emailed this many days before a claim expires.
CONTROLTOWER_CLAIM_EXPIRY_NOTICE_DAYS = env.int("CONTROLTOWER_CLAIM_EXPIRY_NOTICE_DAYS", default=14)
