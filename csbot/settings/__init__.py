"""csbot settings, read from the environment.

With no environment set, everything runs embedded in one process: SQLite, the
in-memory channel layer, the local-memory cache and eager Celery tasks.
`REDIS_URL` switches the channel layer, cache and Celery broker to Redis;
`DATABASE_URL` switches the database (for example to PostgreSQL).
Production (`DEBUG=0`) refuses to start without a strong `SECRET_KEY`.
"""

import logging
import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("CSBOT_VAR_DIR", BASE_DIR / "var"))

log = logging.getLogger("csbot.settings")


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return float(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from exc


def env_int(name: str, default: int) -> int:
    return int(env_float(name, default))


# --- Core -------------------------------------------------------------------

DEBUG = env_bool("DEBUG", True)
LOCAL_HOSTS = ["localhost", "127.0.0.1", "[::1]", "testserver"]
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", LOCAL_HOSTS)

_DEV_SECRET = "django-insecure-csbot-dev-only-key-never-use-in-production"  # noqa: S105
SECRET_KEY = os.environ.get("SECRET_KEY", _DEV_SECRET if DEBUG else "")

if not DEBUG:
    if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure") or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured(
            "DEBUG is off: set SECRET_KEY to a random string of at least 50 characters."
        )
else:
    public = [h for h in ALLOWED_HOSTS if h not in LOCAL_HOSTS and not h.startswith(".localhost")]
    if public and not env_bool("CSBOT_ALLOW_DEBUG_PUBLIC", False):
        raise ImproperlyConfigured(
            f"DEBUG is on with public hosts {public}: set DEBUG=0 for a public deployment."
        )

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "graphene_django",
    "django_prometheus",
    "catalog",
    "conversations",
    "intents",
    "handoff",
    "safety",
    "privacy",
    "experiments",
    "ops",
    "vision",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "csbot.urls"
ASGI_APPLICATION = "csbot.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------

DATABASE_URL = os.environ.get("DATABASE_URL", "")
# Connections persist (a new connection per call cost ~4 fsyncs on SQLite and a
# handshake on PostgreSQL); health checks drop a broken one before it is used.
# The test settings close them after each call so test databases can be dropped.
DATABASES: dict[str, Any]
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=600, conn_health_checks=True)
    }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            "CONN_MAX_AGE": None,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so two writers queue
                # on the busy timeout instead of failing with "database is locked".
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache, Celery broker ------------------------------

REDIS_URL = os.environ.get("REDIS_URL", "")

if REDIS_URL:
    # "pubsub" (default): Redis pub/sub, one PUBLISH per group send and no polling;
    # frames reach whoever listens at that moment, which is all the chat needs (the
    # database is the record, and a client that missed frames resumes from it).
    # "core": channels_redis's list-based layer, which holds frames for a short
    # while for a consumer that is not reading yet, at several round trips a frame.
    CSBOT_CHANNEL_LAYER = os.environ.get("CSBOT_CHANNEL_LAYER", "pubsub")
    if CSBOT_CHANNEL_LAYER not in ("pubsub", "core"):
        raise ImproperlyConfigured("CSBOT_CHANNEL_LAYER must be pubsub or core")
    _layer_prefix = os.environ.get("CSBOT_CHANNEL_PREFIX", "csbot")
    CHANNEL_LAYERS = {
        "default": (
            {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [REDIS_URL], "prefix": _layer_prefix},
            }
            if CSBOT_CHANNEL_LAYER == "pubsub"
            else {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {
                    "hosts": [REDIS_URL],
                    "prefix": _layer_prefix,
                    "capacity": 1000,
                    "expiry": 30,
                },
            }
        )
    }
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CSBOT_CACHE_PREFIX", "csbot"),
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    }
else:
    # The stock in-memory layer scans every queue on each send; ours does not.
    CHANNEL_LAYERS = {"default": {"BACKEND": "csbot.layers.InMemoryChannelLayer"}}
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "csbot",
            "OPTIONS": {"MAX_ENTRIES": 50_000},
        }
    }

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not CELERY_BROKER_URL)
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"  # never contacted while tasks run eagerly
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# With late acks, a worker that loses the broker connection cancels its running tasks
# (they are redelivered) instead of finishing them and acking on a dead channel.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "default"
# The reply queue's name (workers: `-Q inference,default`); a test gets its own.
CSBOT_INFERENCE_QUEUE = os.environ.get("CSBOT_INFERENCE_QUEUE", "inference")
CELERY_TASK_ROUTES = {
    "conversations.reply_generate": {"queue": CSBOT_INFERENCE_QUEUE},
    "conversations.unanswered_sweep": {"queue": "default"},
}
# Explicit limits: the soft one raises inside the task, the hard one kills its process.
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 30)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 20)
# Above the task time limit, so a slow task is not redelivered while it still runs; a
# task whose worker vanished (SIGKILL, lost machine) is redelivered after this long.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT_S", 120),
    # How often a worker looks for such tasks (kombu's default is every ~100 s).
    "unacked_restore_interval": env_int("CELERY_UNACKED_RESTORE_INTERVAL_S", 10),
    "unacked_restore_throttle": 1,
}
if not (
    CELERY_TASK_SOFT_TIME_LIMIT
    < CELERY_TASK_TIME_LIMIT
    < CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
):
    raise ImproperlyConfigured(
        "Celery limits must satisfy soft time limit < time limit < visibility timeout."
    )
CELERY_BEAT_SCHEDULE = {
    "unanswered-sweep": {"task": "conversations.unanswered_sweep", "schedule": 60.0},
}

# --- Sessions, auth ---------------------------------------------------------

SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 30
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- I18n, static -----------------------------------------------------------

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- GraphQL ----------------------------------------------------------------

GRAPHENE = {"SCHEMA": "csbot.schema.schema"}

# --- csbot ------------------------------------------------------------------

CSBOT_SHOP_NAME = os.environ.get("CSBOT_SHOP_NAME", "星河商城 Xinghe Mall")
# Intent confidence below this asks to clarify, then hands off (docs/protocol.md §10).
# Unset: the threshold the active intent model chose on validation data (0.7 for
# the keyword router used before any model is trained). Set: overrides both.
CSBOT_HANDOFF_THRESHOLD = (
    env_float("CSBOT_HANDOFF_THRESHOLD", 0.7) if os.environ.get("CSBOT_HANDOFF_THRESHOLD") else None
)
CSBOT_MAX_TEXT_CHARS = 2000
CSBOT_MAX_FRAME_BYTES = 16 * 1024
# Per-socket frame rate (exact, in the consumer) and per-visitor message rate (a sliding
# window in the cache, conversations/ratelimit.py).
CSBOT_WS_FRAMES_PER_10S = env_int("CSBOT_WS_FRAMES_PER_10S", 30)
CSBOT_MESSAGES_PER_MINUTE = env_int("CSBOT_MESSAGES_PER_MINUTE", 40)
CSBOT_IP_MESSAGES_PER_MINUTE = env_int("CSBOT_IP_MESSAGES_PER_MINUTE", 600)
# Order verification: failures allowed before the lockout, and its length.
CSBOT_VERIFY_MAX_FAILURES = env_int("CSBOT_VERIFY_MAX_FAILURES", 3)
CSBOT_VERIFY_LOCKOUT_S = env_int("CSBOT_VERIFY_LOCKOUT_S", 15 * 60)
# Dialogue state lives in the cache for this long after the last turn.
CSBOT_STATE_TTL_S = env_int("CSBOT_STATE_TTL_S", 24 * 60 * 60)
# How long the HTTP chat API waits for a worker's reply before answering.
CSBOT_HTTP_REPLY_WAIT_S = env_float("CSBOT_HTTP_REPLY_WAIT_S", 5.0)
# Hot-question cache: the same question in the same context reuses its answer for
# this long (0 turns the cache off, as the load benchmark does to measure the pipeline).
CSBOT_HOT_CACHE_TTL_S = env_int("CSBOT_HOT_CACHE_TTL_S", 600)
# Messages longer than this are summarised before classification.
CSBOT_SUMMARY_OVER_CHARS = env_int("CSBOT_SUMMARY_OVER_CHARS", 300)
# The sweep re-queues shopper messages left unanswered for longer than this.
CSBOT_SWEEP_AFTER_S = env_int("CSBOT_SWEEP_AFTER_S", 30)

# --- Handoff: queue, agents, CSAT (handoff app) -----------------------------

# Agent hours in shop time (TIME_ZONE), "HH:MM-HH:MM"; "00:00-24:00" is always open and
# "00:00-00:00" never. Outside them the bot takes a message and a contact for the morning.
CSBOT_AGENT_HOURS = os.environ.get("CSBOT_AGENT_HOURS", "09:00-22:00")
# Chats one agent may hold at once, unless the agent's profile (admin) says otherwise.
CSBOT_AGENT_CAPACITY = env_int("CSBOT_AGENT_CAPACITY", 3)
# Estimated wait per queue position before there is take history to learn from.
CSBOT_HANDOFF_WAIT_PER_POSITION_S = env_int("CSBOT_HANDOFF_WAIT_PER_POSITION_S", 90)

# --- Safety and privacy: PII, banned words, sentiment, data rights (safety app)

# Anger (0..1, safety.sentiment) at or above this makes a message "angry"; then
# "priority" (the default) raises a handoff that is already open (complaints and requests
# for a person hand off by themselves), "handoff" hands every angry message's chat to a
# human now, "off" only records it.
CSBOT_ANGER_THRESHOLD = env_float("CSBOT_ANGER_THRESHOLD", 0.5)
CSBOT_ANGER_ACTION = os.environ.get("CSBOT_ANGER_ACTION", "priority")
if CSBOT_ANGER_ACTION not in {"priority", "handoff", "off"}:
    raise ImproperlyConfigured("CSBOT_ANGER_ACTION must be priority, handoff or off.")
# Conversations idle for longer than this many days are deleted daily (0 keeps them).
CSBOT_RETENTION_DAYS = env_int("CSBOT_RETENTION_DAYS", 180)
# Key for the irreversible user/visitor ids in logs (HMAC-SHA256); SECRET_KEY when unset.
CSBOT_LOG_HASH_KEY = os.environ.get("CSBOT_LOG_HASH_KEY", "")
# Privacy export/delete requests per visitor per minute.
CSBOT_PRIVACY_REQUESTS_PER_MINUTE = env_int("CSBOT_PRIVACY_REQUESTS_PER_MINUTE", 10)
CELERY_BEAT_SCHEDULE["privacy-retention"] = {
    "task": "privacy.retention_purge",
    "schedule": 24 * 60 * 60.0,
}
CELERY_TASK_ROUTES["privacy.retention_purge"] = {"queue": "default"}
# Content security policy (django-csp): scripts, styles and connections from this site
# only (the widget's WebSocket included), no inline script, no framing. GraphiQL's page
# loads its scripts from a CDN, so /graphql/ is left out of the policy.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "csp.middleware.CSPMiddleware",
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("csp.middleware.CSPMiddleware") + 1,
    "safety.middleware.PermissionsPolicyMiddleware",
)
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/graphql/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'", "ws:", "wss:"] if DEBUG else ["'self'", "wss:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# CSRF failures on /api/ paths answer JSON like every other API error.
CSRF_FAILURE_VIEW = "csbot.views.csrf_failure"

# --- Inference: LLM backends, deadlines, batching, A/B experiments ---------

# Which backend words the answers: "template" (the grounded template, no model),
# "openai" (any OpenAI-compatible endpoint: vLLM, a hosted API) or "transformers"
# (a local model directory). A/B arms can pick another backend or model per shopper.
CSBOT_LLM_BACKEND = os.environ.get("CSBOT_LLM_BACKEND", "template")
# The model stage's deadline: no answer in time means the template answer goes out.
CSBOT_LLM_DEADLINE_S = env_float("CSBOT_LLM_DEADLINE_S", 1.2)
# Whatever the model does, the wording stage never holds a reply longer than this.
CSBOT_LLM_MAX_WAIT_S = 2.0
if not 0 < CSBOT_LLM_DEADLINE_S <= CSBOT_LLM_MAX_WAIT_S:
    raise ImproperlyConfigured("CSBOT_LLM_DEADLINE_S must be above 0 and at most 2 seconds.")
# The same question in the same context reuses the model's checked answer (per arm).
CSBOT_LLM_CACHE_TTL_S = env_int("CSBOT_LLM_CACHE_TTL_S", 600)
CSBOT_LLM_MAX_NEW_TOKENS = env_int("CSBOT_LLM_MAX_NEW_TOKENS", 160)
# Dotted paths to callables: masker(text) -> masked text for the shopper's question,
# output_filter(text) -> a reason string when the output must not be sent (banned words).
CSBOT_LLM_MASKER = os.environ.get("CSBOT_LLM_MASKER", "safety.services.llm_mask")
CSBOT_LLM_OUTPUT_FILTER = os.environ.get("CSBOT_LLM_OUTPUT_FILTER", "safety.services.output_filter")
# openai backend: base URL (e.g. http://vllm:8000/v1), key and model name.
CSBOT_LLM_OPENAI_BASE_URL = os.environ.get("CSBOT_LLM_OPENAI_BASE_URL", "")
CSBOT_LLM_OPENAI_API_KEY = os.environ.get("CSBOT_LLM_OPENAI_API_KEY", "")
CSBOT_LLM_OPENAI_MODEL = os.environ.get("CSBOT_LLM_OPENAI_MODEL", "")
# Attempts after the first (429, 5xx, timeouts; never quota errors), all inside the deadline.
CSBOT_LLM_OPENAI_RETRIES = env_int("CSBOT_LLM_OPENAI_RETRIES", 2)
CSBOT_LLM_RETRY_BACKOFF_S = env_float("CSBOT_LLM_RETRY_BACKOFF_S", 0.05)
# Circuit breaker: this many failed calls in a row open it for CSBOT_LLM_BREAKER_RESET_S.
CSBOT_LLM_BREAKER_FAILURES = env_int("CSBOT_LLM_BREAKER_FAILURES", 5)
CSBOT_LLM_BREAKER_RESET_S = env_float("CSBOT_LLM_BREAKER_RESET_S", 30.0)
# transformers backend: a local model directory, "auto" device (GPU when present),
# "" / "8bit" / "4bit" quantization with bitsandbytes.
CSBOT_LLM_MODEL_DIR = os.environ.get("CSBOT_LLM_MODEL_DIR", "")
CSBOT_LLM_DEVICE = os.environ.get("CSBOT_LLM_DEVICE", "auto")
CSBOT_LLM_QUANTIZATION = os.environ.get("CSBOT_LLM_QUANTIZATION", "")
if CSBOT_LLM_QUANTIZATION not in {"", "8bit", "4bit"}:
    raise ImproperlyConfigured("CSBOT_LLM_QUANTIZATION must be empty, 8bit or 4bit.")
# Batching for the local model: up to this many requests, or this long a wait, per generate.
CSBOT_LLM_BATCH_MAX = env_int("CSBOT_LLM_BATCH_MAX", 16)
CSBOT_LLM_BATCH_WAIT_MS = env_float("CSBOT_LLM_BATCH_WAIT_MS", 10.0)
# A reply task redelivered (worker lost) more than this many times runs without the
# model; past that it is given up (logged; a sweep re-queueing it within the hour
# returns at once).
CSBOT_TASK_MAX_DELIVERIES = env_int("CSBOT_TASK_MAX_DELIVERIES", 3)

# --- Operations: dashboard, alerts, order push, backups (ops app) ----------

from celery.schedules import crontab  # noqa: E402

# Order-status webhook: HMAC-SHA256 shared secret (unset: the endpoint answers 503),
# how far `sent_at` may be from our clock, and the largest body accepted.
CSBOT_ORDER_WEBHOOK_SECRET = os.environ.get("CSBOT_ORDER_WEBHOOK_SECRET", "")
CSBOT_ORDER_WEBHOOK_MAX_AGE_S = env_int("CSBOT_ORDER_WEBHOOK_MAX_AGE_S", 300)
CSBOT_ORDER_WEBHOOK_MAX_BYTES = env_int("CSBOT_ORDER_WEBHOOK_MAX_BYTES", 16 * 1024)
# Dashboard figures are cached this long; alert thresholds (deploy/prometheus/alerts.yml
# names the same numbers) and an optional webhook that hears of each new alert.
CSBOT_DASHBOARD_CACHE_S = env_int("CSBOT_DASHBOARD_CACHE_S", 30)
CSBOT_ALERT_ERROR_RATE = env_float("CSBOT_ALERT_ERROR_RATE", 0.05)
CSBOT_ALERT_P99_S = env_float("CSBOT_ALERT_P99_S", 2.0)
CSBOT_ALERT_WEBHOOK_URL = os.environ.get("CSBOT_ALERT_WEBHOOK_URL", "")
CSBOT_ALERT_WEBHOOK_TIMEOUT_S = env_float("CSBOT_ALERT_WEBHOOK_TIMEOUT_S", 5.0)
# Catalog backend: "local" (this database) or "remote" (a shop's own GraphQL store).
CSBOT_CATALOG_BACKEND = os.environ.get("CSBOT_CATALOG_BACKEND", "local")
CSBOT_REMOTE_STORE_URL = os.environ.get("CSBOT_REMOTE_STORE_URL", "")
CSBOT_REMOTE_STORE_TOKEN = os.environ.get("CSBOT_REMOTE_STORE_TOKEN", "")
# The header that carries the token, and what goes before it ("Bearer " by default).
CSBOT_REMOTE_STORE_AUTH_HEADER = os.environ.get("CSBOT_REMOTE_STORE_AUTH_HEADER", "Authorization")
CSBOT_REMOTE_STORE_TOKEN_PREFIX = os.environ.get("CSBOT_REMOTE_STORE_TOKEN_PREFIX", "Bearer ")
CSBOT_REMOTE_STORE_TIMEOUT_S = env_float("CSBOT_REMOTE_STORE_TIMEOUT_S", 3.0)
# The reply pipeline keeps remote products this long per process.
CSBOT_REMOTE_STORE_CACHE_S = env_float("CSBOT_REMOTE_STORE_CACHE_S", 30.0)
if CSBOT_CATALOG_BACKEND not in ("local", "remote"):
    raise ImproperlyConfigured("CSBOT_CATALOG_BACKEND must be 'local' or 'remote'.")
if CSBOT_CATALOG_BACKEND == "remote" and not CSBOT_REMOTE_STORE_URL:
    raise ImproperlyConfigured("CSBOT_CATALOG_BACKEND=remote needs CSBOT_REMOTE_STORE_URL.")
# Backups: a local directory, or s3://bucket/prefix (CSBOT_BACKUP_S3_ENDPOINT_URL for
# any S3-compatible store; credentials from the usual AWS_* variables); copies kept.
CSBOT_BACKUP_TARGET = os.environ.get("CSBOT_BACKUP_TARGET", str(VAR_DIR / "backups"))
CSBOT_BACKUP_S3_ENDPOINT_URL = os.environ.get("CSBOT_BACKUP_S3_ENDPOINT_URL", "")
CSBOT_BACKUP_KEEP = env_int("CSBOT_BACKUP_KEEP", 14)
# Periodic jobs (crontab fields "minute hour day-of-month month day-of-week", UTC):
# the daily backup, the monthly retrain (activated only when no worse on held-out data).
CSBOT_BACKUP_CRON = os.environ.get("CSBOT_BACKUP_CRON", "30 3 * * *")
CSBOT_RETRAIN_CRON = os.environ.get("CSBOT_RETRAIN_CRON", "0 4 1 * *")


def _crontab(name: str, value: str) -> crontab:
    fields = value.split()
    if len(fields) != 5:
        raise ImproperlyConfigured(f"{name} needs 5 crontab fields, got {value!r}")
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    return crontab(
        minute=minute,
        hour=hour,
        day_of_month=day_of_month,
        month_of_year=month_of_year,
        day_of_week=day_of_week,
    )


CELERY_BEAT_SCHEDULE.update(
    {
        "ops-backup-daily": {
            "task": "ops.backup_create",
            "schedule": _crontab("CSBOT_BACKUP_CRON", CSBOT_BACKUP_CRON),
        },
        "intents-retrain-monthly": {
            "task": "intents.retrain",
            "schedule": _crontab("CSBOT_RETRAIN_CRON", CSBOT_RETRAIN_CRON),
        },
        "ops-alerts-check": {"task": "ops.alerts_check", "schedule": 60.0},
        "ops-review-collect": {"task": "ops.review_collect", "schedule": 300.0},
    }
)
CELERY_TASK_ROUTES.update(
    {
        "ops.backup_create": {"queue": "default"},
        "intents.retrain": {"queue": "default"},
        "ops.alerts_check": {"queue": "default"},
        "ops.review_collect": {"queue": "default"},
    }
)

# --- Pictures: uploads, OCR, photo-to-product search (vision app) ---------

# Uploaded chat pictures and generated product pictures live here, never under a
# static path: `/api/chat/image/<id>/` serves each upload to its owner and to agents.
MEDIA_ROOT = Path(os.environ.get("CSBOT_MEDIA_ROOT", VAR_DIR / "media"))
# Upload limits: bytes of the file, pixels and the longest side of the decoded picture
# (checked from the header before any pixel is decoded: decompression bombs stop there).
CSBOT_IMAGE_MAX_BYTES = env_int("CSBOT_IMAGE_MAX_BYTES", 8 * 1024 * 1024)
CSBOT_IMAGE_MAX_PIXELS = env_int("CSBOT_IMAGE_MAX_PIXELS", 24_000_000)
CSBOT_IMAGE_MAX_SIDE = env_int("CSBOT_IMAGE_MAX_SIDE", 8000)
CSBOT_IMAGE_UPLOADS_PER_MINUTE = env_int("CSBOT_IMAGE_UPLOADS_PER_MINUTE", 10)
# How long `POST /api/chat/image/` waits for OCR, search and the reply (a worker's queue).
CSBOT_IMAGE_REPLY_WAIT_S = env_float("CSBOT_IMAGE_REPLY_WAIT_S", 15.0)
# Pictures are scaled down to this longest side before OCR (speed; text stays legible).
CSBOT_OCR_MAX_SIDE = env_int("CSBOT_OCR_MAX_SIDE", 1600)
# Photo-to-product search: a CLIP model from this local directory (transformers format)
# when set; otherwise perceptual hashes and colour histograms, no weights needed.
CSBOT_VISION_CLIP_DIR = os.environ.get("CSBOT_VISION_CLIP_DIR", "")
# Similarity a picture needs to name a product without text (None: the mode's default).
CSBOT_VISION_MATCH_MIN = (
    env_float("CSBOT_VISION_MATCH_MIN", 0.0) if os.environ.get("CSBOT_VISION_MATCH_MIN") else None
)
CELERY_TASK_ROUTES["vision.image_process"] = {"queue": "inference"}

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    # Every log line passes the PII mask; ids are logged as keyed hashes (safety.logging).
    "filters": {"pii": {"()": "safety.logging.PiiMaskFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "safety.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": os.environ.get("CSBOT_LOG_FORMAT", "plain" if DEBUG else "json"),
            "filters": ["pii"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},
    },
}
