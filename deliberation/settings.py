"""Settings read from the environment.

With no environment at all, Yishi runs on the embedded default: one SQLite file
under ``var/`` shared by web, worker and beat, and kombu's filesystem transport
as the Celery broker. ``DATABASE_URL`` and ``REDIS_URL`` switch to PostgreSQL
and Redis.
"""

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("YISHI_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production-0123456789abcdef"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# The site's public address, which text messages and emails link to (a resident's rating
# link, a notice's page): they have no request to build it from. `manage.py demo` sets it
# from the address it serves on.
BASE_URL = os.environ.get(
    "YISHI_BASE_URL",
    "http://127.0.0.1:8000" if DEBUG or not ALLOWED_HOSTS else f"https://{ALLOWED_HOSTS[0]}",
).rstrip("/")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "axes",
    "csp",
    "members",
    "issues",
    "deliberation",
    "visits",
    "volunteers",
    "public",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before anything reads the body (CSRF reads POST): oversized bodies are refused unread.
    "common.bodycap.RequestSizeCapMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "members.middleware.NoStoreForPersonalDataMiddleware",
    # Last, so that a locked-out login never reaches the view.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "deliberation.urls"
WSGI_APPLICATION = "deliberation.wsgi.application"
ASGI_APPLICATION = "deliberation.asgi.application"

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
                "members.context_processors.navigation",
                "members.context_processors.display_mode",
                "members.context_processors.draft_session",
                "members.context_processors.outbox_owner",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------

VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'yishi.sqlite3'}"),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one file: writers must queue instead of failing
    # with "database is locked", so every transaction takes the write lock up
    # front (IMMEDIATE) and the journal is WAL with a busy timeout.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
        ),
    }
    # A file (not memory) so that a real worker process can see the test data;
    # one per test run, so that two runs on one machine do not share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
# Requests are many and short and the cores few: a parallel plan's helper processes take
# the cores other requests wait for. A common word's capped count in the inbox took 48 ms
# in three processes and takes 26 ms in one; under 8 clients on 2 cores the search page
# serves 1.6 times as many requests. Raise it where cores are spare.
PARALLEL_WORKERS_PER_QUERY = int(os.environ.get("DATABASE_PARALLEL_WORKERS", "0"))
POSTGRESQL_SESSION = f"-c max_parallel_workers_per_gather={PARALLEL_WORKERS_PER_QUERY}"
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = POSTGRESQL_SESSION

# --- Read replica ---------------------------------------------------------------
# With DATABASE_REPLICA_URL (a streaming replica of DATABASE_URL) the dashboards, the
# inbox exports built by workers and the period reports read from it; everything else,
# and every write, stays on the primary (common/replica.py). Without it the router and
# the middleware do nothing.
DATABASE_ROUTERS = ["common.replica.ReplicaRouter"]
MIDDLEWARE.insert(
    MIDDLEWARE.index("axes.middleware.AxesMiddleware"), "common.replica.PrimaryAfterWriteMiddleware"
)
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"],
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
    # A replica that does not answer is skipped quickly rather than holding the page.
    DATABASES["replica"]["OPTIONS"] = {"connect_timeout": 3, "options": POSTGRESQL_SESSION}
    # The tests read the primary's test database through the replica: none of its own.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
# Seconds a person who wrote reads the primary, so the next page shows their change.
YISHI_REPLICA_STICKY_SECONDS = int(os.environ.get("YISHI_REPLICA_STICKY_SECONDS", "10"))
# A replica behind by more than this makes the dashboards say "as of" its time.
YISHI_REPLICA_LAG_NOTICE_SECONDS = int(os.environ.get("YISHI_REPLICA_LAG_NOTICE_SECONDS", "5"))
# After the replica failed to answer, reads stay on the primary this long before a new try.
YISHI_REPLICA_RETRY_SECONDS = int(os.environ.get("YISHI_REPLICA_RETRY_SECONDS", "30"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "members.User"

# --- Cache and Celery -----------------------------------------------------------

REDIS_URL = os.environ.get("REDIS_URL", "")

if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    CELERY_BROKER_URL = REDIS_URL
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
    CELERY_BROKER_URL = "filesystem://"
    # kombu's transport, writing and taking each message file by an atomic rename
    # (deliberation/celery.py explains the race this closes).
    CELERY_BROKER_TRANSPORT = "deliberation.celery:FilesystemTransport"
    _broker_dir = Path(os.environ.get("CELERY_FILESYSTEM_DIR", VAR_DIR / "broker"))
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # Seconds between looks at the folder (kombu's default); tests look more often.
        "polling_interval": float(os.environ.get("CELERY_BROKER_POLLING_INTERVAL", "1")),
    }

CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "yishi")
# Beat's periodic tasks run on "<default queue>.sweep", which every worker consumes too
# (`-Q yishi,yishi.sweep`), so a backlog of deliveries cannot delay the sweepers.
CELERY_TASK_ROUTES = ("common.queue.route_sweepers",)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Tests that run real beat processes shorten these periods (in seconds).
_NOTICES_REQUEUE_EVERY = os.environ.get("NOTICES_REQUEUE_EVERY")
_MEETINGS_MATERIALISE_EVERY = os.environ.get("MEETINGS_MATERIALISE_EVERY")
_REVIEWS_SWEEP_EVERY = os.environ.get("REVIEWS_SWEEP_EVERY")
_VISIT_ROUNDS_EVERY = os.environ.get("VISIT_ROUNDS_EVERY")
CELERY_BEAT_SCHEDULE = {
    "requeue-stalled-notices": {
        "task": "members.tasks.requeue_stalled_notices",
        "schedule": float(_NOTICES_REQUEUE_EVERY or 300),
    },
    # Daily at 08:00 in CELERY_TIMEZONE (Asia/Shanghai), before the working day starts.
    "notify-overdue-issues": {
        "task": "issues.tasks.notify_overdue_issues",
        "schedule": crontab(hour=8, minute=0),
    },
    # Nightly: the forms promise contact details go six months after a matter closes.
    "erase-expired-contact-details": {
        "task": "issues.tasks.erase_expired_contact_details",
        "schedule": crontab(hour=3, minute=30),
    },
    # Follow-up reviews that came due: ask the reporter, put them on the next agenda, remind.
    "send-due-reviews": {
        "task": "deliberation.tasks.send_due_reviews",
        "schedule": float(_REVIEWS_SWEEP_EVERY or 180),
    },
    "sweep-period-reports": {
        "task": "reports.tasks.sweep_period_reports",
        "schedule": 120.0,
    },
    # Large exports: re-send lost jobs, take back those whose worker died; delete old files.
    "sweep-inbox-exports": {
        "task": "issues.tasks.sweep_inbox_exports",
        "schedule": 120.0,
    },
    "expire-exports": {
        "task": "issues.tasks.expire_exports",
        "schedule": crontab(minute=20),
    },
    # Nightly: the dashboards' monthly roll-up of last month and this one, recomputed from the
    # issues (the actions keep it exact; this repairs what was written around them).
    "refresh-issue-months": {
        "task": "issues.tasks.refresh_issue_months",
        "schedule": crontab(hour=2, minute=45),
    },
    # The quarter's visiting round (first working days of Jan/Apr/Jul/Oct), then a daily
    # reminder to the leaders of teams whose round is past due. Both idempotent in the
    # database (one round per street and quarter; one notice per team and day).
    "open-visiting-rounds": {
        "task": "visits.tasks.open_rounds",
        "schedule": float(_VISIT_ROUNDS_EVERY)
        if _VISIT_ROUNDS_EVERY
        else crontab(hour=7, minute=0),
    },
    "remind-overdue-rounds": {
        "task": "visits.tasks.remind_overdue_rounds",
        "schedule": crontab(hour=8, minute=30),
    },
    # Nightly: the ask-for-a-visit form promises when the resident's contact details go.
    "erase-asked-visit-contacts": {
        "task": "visits.tasks.erase_asked_contacts",
        "schedule": crontab(hour=3, minute=40),
    },
    # Meetings from every schedule, their agendas, notices and morning reminders.
    # Idempotent in the database, so a second beat process does no harm.
    "materialise-meetings": {
        "task": "deliberation.tasks.materialise_meetings",
        "schedule": float(_MEETINGS_MATERIALISE_EVERY)
        if _MEETINGS_MATERIALISE_EVERY
        else crontab(minute="*/15"),
    },
}

# --- Notifications --------------------------------------------------------------

EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "yishi@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SMS_BACKEND = os.environ.get("SMS_BACKEND", "common.sms.LoggingSmsBackend")
# The sender's signature that begins every text message, in 【】: carriers in China deliver
# a text only with a signature registered with them (the name of the street office,
# community or service that sends). Given with or without the brackets.
SMS_SIGNATURE = os.environ.get("YISHI_SMS_SIGNATURE", "议事通").strip().strip("【】").strip()
if not SMS_SIGNATURE:
    raise ImproperlyConfigured("YISHI_SMS_SIGNATURE must not be empty.")
# A notice left "sending" longer than this by a worker that died is claimable again.
NOTICE_CLAIM_TIMEOUT_SECONDS = int(os.environ.get("NOTICE_CLAIM_TIMEOUT_SECONDS", "600"))

# --- Auth ---------------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend reading the user with the header's unread count: one statement less on
    # every page.
    "members.backends.UserWithUnreadCountBackend",
    # Only so that sessions begun before the line above keep their login (they name this
    # backend); remove once SESSION_COOKIE_AGE has passed after the deploy.
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# The client's address behind a reverse proxy (common.clientip): the networks of the
# proxies whose X-Forwarded-For is believed, comma-separated. Empty: trust nobody.
YISHI_TRUSTED_PROXIES = os.environ.get("YISHI_TRUSTED_PROXIES", "")
AXES_CLIENT_IP_CALLABLE = "common.clientip.axes_client_ip"

# The largest request body accepted (common.bodycap), the reverse proxy's
# client_max_body_size. Fields other than files are capped lower by Django itself;
# uploaded files above FILE_UPLOAD_MAX_MEMORY_SIZE go to a temporary file, not memory.
# Exports: up to this many rows are streamed in the request; more are built by a worker
# into storage and downloaded from the export's page, kept for YISHI_EXPORT_KEEP_DAYS.
YISHI_EXPORT_INLINE_ROWS = int(os.environ.get("YISHI_EXPORT_INLINE_ROWS", "5000"))
YISHI_EXPORT_KEEP_DAYS = int(os.environ.get("YISHI_EXPORT_KEEP_DAYS", "7"))
# Rows a worker writes between two progress updates (each also says it is alive), and how
# long a building export may go without one before the sweeper gives it to another worker.
YISHI_EXPORT_CHUNK_ROWS = int(os.environ.get("YISHI_EXPORT_CHUNK_ROWS", "500"))
YISHI_EXPORT_STALE_SECONDS = int(os.environ.get("YISHI_EXPORT_STALE_SECONDS", "300"))
YISHI_MAX_REQUEST_BYTES = int(os.environ.get("YISHI_MAX_REQUEST_BYTES", str(20 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_SENSITIVE_PARAMETERS = ["password"]

# --- Internationalisation ---------------------------------------------------------

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "staticfiles"))
if DEBUG:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise serves from the finders
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Files --------------------------------------------------------------------------
# Photos, report PDFs and exports. With S3_ENDPOINT_URL and S3_BUCKET set they live in an
# S3-compatible object store (SeaweedFS, MinIO, a cloud's), so every web process and worker
# sees the same files; otherwise under MEDIA_ROOT. Either way they are private: the bucket
# gets no public ACL and the app's scoped views stream them after the tenancy check (a
# signed URL, if one is ever made, lives S3_URL_EXPIRE seconds).

S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL", "")
S3_BUCKET = os.environ.get("S3_BUCKET", "")
if S3_ENDPOINT_URL and S3_BUCKET:
    from common.object_store import s3_storage

    STORAGES["default"] = s3_storage(
        endpoint_url=S3_ENDPOINT_URL,
        bucket=S3_BUCKET,
        access_key=os.environ.get("S3_ACCESS_KEY_ID", ""),
        secret_key=os.environ.get("S3_SECRET_ACCESS_KEY", ""),
        region=os.environ.get("S3_REGION", "us-east-1"),
        expire=int(os.environ.get("S3_URL_EXPIRE", "60")),
    )

# --- Security -----------------------------------------------------------------------

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 8 * 3600
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)

# Everything is served from this origin: htmx is vendored, nothing comes from a CDN.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"permission_refusals": {"()": "common.logs.PermissionRefusalFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # A 403 is one line (user, path, reason), never a traceback.
        "django.request": {"filters": ["permission_refusals"]},
        "django.server": {"level": "INFO"},
        "django.db.backends": {"level": "INFO"},
    },
}

YISHI_SITE_NAME = _("Yishi")
