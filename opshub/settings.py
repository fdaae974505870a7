"""opshub settings: one module, every deployment-specific value from the environment.

See .env.example for each variable. Local defaults are safe: DEBUG is off unless
asked for, and there is no default SECRET_KEY outside DEBUG.
"""

from pathlib import Path

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from opshub.lib.env import (
    env_bool,
    env_int,
    env_list,
    env_map,
    env_rate,
    env_str,
    parse_database_url,
    parse_email_url,
    parse_redis_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
TESTING = env_bool("OPSHUB_TESTING", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-local-development-key-" + "x" * 32  # DEBUG/tests only

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG or TESTING else [])
OPSHUB_BASE_URL = env_str("OPSHUB_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [OPSHUB_BASE_URL])

INSTALLED_APPS = [
    "opshub.accounts",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",  # trigram index for the work-item search
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's static files, vendored (no CDN)
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "opshub",
    "handoffs",
    "scoreboard",
    "reviews",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "opshub.accounts.mfa.middleware.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "opshub.urls"
WSGI_APPLICATION = "opshub.wsgi.application"

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
                "django.template.context_processors.csp",
                "opshub.context_processors.sign_in",
                "handoffs.work.context_processors.nav_counts",
            ],
        },
    },
]

DATABASES = {
    "default": parse_database_url(
        env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/opshub")
    )
}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL, CELERY_BROKER_URL = parse_redis_url(env_str("REDIS_URL", "redis://127.0.0.1:6379/0"))
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "opshub"),
        # A Redis outage must degrade pages, not break them: fail fast.
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}

if TESTING and (_test_worker := env_str("PYTEST_XDIST_WORKER", "")):
    # `make test` runs pytest-xdist workers side by side on one Redis: each keeps its own
    # cache keys (test databases are per worker already, Celery queues per test).
    CACHES["default"]["KEY_PREFIX"] += f"-{_test_worker}"

CELERY_RESULT_BACKEND = None
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "celery")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Timeouts: a Redis that is frozen or unreachable (not refusing) would otherwise hang every
# request that enqueues work; with them an enqueue gives up in seconds and is logged
# (opshub.lib.tasks). socket_timeout stays above the workers' 1 s BRPOP poll.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": 2,
    "socket_timeout": 3,
}
CELERY_TIMEZONE = "UTC"
# The one reviewed place for periodic work. Every task here claims rows
# atomically, so two beat schedulers running at once are harmless.
CELERY_BEAT_SCHEDULE = {
    # Hourly, so each user's digest goes out soon after their own working day starts.
    "notification-digest": {
        "task": "handoffs.tasks.send_notification_digest_task",
        "schedule": 3600.0,
    },
    # Every minute: open/resolve stall episodes, queue due alerts (docs/stalls.md).
    "scan-stalls": {"task": "handoffs.tasks.scan_stalls_task", "schedule": 60.0},
    # Every minute: the email outbox's sweep. Sends what its per-email task did not (lost
    # enqueue, dead worker) and drives the retries of refused sends (docs/operations.md).
    "send-emails": {"task": "handoffs.tasks.send_due_emails_task", "schedule": 60.0},
    # Every minute: the chat channels' outbox sweep, like the email one (docs/stalls.md).
    "send-channel-deliveries": {
        "task": "handoffs.tasks.send_channel_deliveries_task",
        "schedule": 60.0,
    },
    # Work whose enqueue was lost while Redis was down, re-derived from the database.
    "catch-up": {"task": "opshub.catch_up", "schedule": 120.0},
    # Outbound webhooks: new events become deliveries, due ones are sent (docs/integrations.md).
    "dispatch-webhooks": {"task": "handoffs.tasks.dispatch_webhooks_task", "schedule": 30.0},
    # Hourly: action items due in two days or overdue, one email per owner (docs/reviews.md).
    "action-reminders": {"task": "reviews.send_action_reminders", "schedule": 3600.0},
    # Nightly full scoreboard recompute (advisory-locked: two schedulers run it in turn).
    "scoreboard-rebuild": {"task": "scoreboard.rebuild", "schedule": crontab(hour=2, minute=30)},
    # Every 10 minutes: the forecast models (kept 15 minutes), so item forecasts stay warm.
    "forecast-warm": {"task": "scoreboard.forecast_warm", "schedule": 600.0},
}
# The shell calls into the features only through these dotted paths (it imports none of them):
# the catch-up sweeps of work whose enqueue was lost (opshub/tasks.py).
OPSHUB_CATCH_UP_SWEEPS = {"scoreboard_facts": "scoreboard.services.snapshot_catch_up"}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "opshub.accounts.oidc.backends.PasswordBackend",
    "opshub.accounts.oidc.backends.OIDCBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    # Password hashing is deliberately slow; tests log in hundreds of times.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "login"
# Signing in lands on the person's home: My work, or the scoreboard for a lead who chose it.
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "login"
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_RESET_ON_SUCCESS = True


# --- Single sign-on (OpenID Connect) and two-factor authentication (docs/operations.md) ---
# OIDC is on when OIDC_ISSUER is set; endpoints and keys come from its discovery document.
OIDC_ISSUER = env_str("OIDC_ISSUER", "").rstrip("/")
OPSHUB_OIDC_ENABLED = bool(OIDC_ISSUER)
OIDC_RP_CLIENT_ID = env_str("OIDC_CLIENT_ID", "", required=OPSHUB_OIDC_ENABLED)
OIDC_RP_CLIENT_SECRET = env_str("OIDC_CLIENT_SECRET", "", required=OPSHUB_OIDC_ENABLED)
OIDC_RP_SCOPES = env_str("OIDC_SCOPES", "openid email profile")
OIDC_RP_SIGN_ALGO = env_str("OIDC_SIGN_ALGO", "RS256")
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT", 10)
OIDC_CREATE_USER = env_bool("OIDC_CREATE_USERS", True)
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc:callback"
LOGIN_REDIRECT_URL_FAILURE = "login"
OPSHUB_OIDC_PROVIDER_NAME = env_str("OIDC_PROVIDER_NAME", "single sign-on")
# Just-in-time accounts: which email domains may get one, and how claims map to roles/teams.
OPSHUB_OIDC_ALLOWED_DOMAINS = [d.lower().lstrip("@") for d in env_list("OIDC_ALLOWED_DOMAINS")]
OPSHUB_OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups")
OPSHUB_OIDC_ROLE_MAP = env_map("OIDC_ROLE_MAP")
OPSHUB_OIDC_TEAM_MAP = env_map("OIDC_TEAM_MAP")
OPSHUB_OIDC_DEFAULT_ROLE = env_str("OIDC_DEFAULT_ROLE", "member")
_ROLES = {"admin", "lead", "member", "viewer"}
for _name, _roles in (
    ("OIDC_ROLE_MAP", set(OPSHUB_OIDC_ROLE_MAP.values())),
    ("OIDC_DEFAULT_ROLE", {OPSHUB_OIDC_DEFAULT_ROLE}),
):
    if not _roles <= _ROLES:
        raise ImproperlyConfigured(f"{_name} roles must be among {sorted(_ROLES)}.")
# Password sign-in for everyone, or (false) only for the break-glass accounts listed.
OPSHUB_PASSWORD_LOGIN = env_bool("PASSWORD_LOGIN", True)
OPSHUB_BREAK_GLASS_EMAILS = [e.lower() for e in env_list("BREAK_GLASS_EMAILS")]
if not OPSHUB_PASSWORD_LOGIN and not OPSHUB_OIDC_ENABLED:
    raise ImproperlyConfigured("PASSWORD_LOGIN=false needs OIDC_ISSUER: nobody could sign in.")
# Roles that must use a second factor (TOTP); they are asked to set it up at sign-in.
OPSHUB_MFA_REQUIRED_ROLES = env_list("MFA_REQUIRED_ROLES")
if not set(OPSHUB_MFA_REQUIRED_ROLES) <= _ROLES:
    raise ImproperlyConfigured(f"MFA_REQUIRED_ROLES must be among {sorted(_ROLES)}.")
# True: a sign-in through the identity provider counts as two-factor (it enforces its own).
OPSHUB_OIDC_SATISFIES_MFA = env_bool("OIDC_SATISFIES_MFA", False)
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "opshub")

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = DEBUG or TESTING
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "opshub <opshub@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
MAILERS = {
    "default": parse_email_url(
        env_str("EMAIL_URL", "console://" if DEBUG or TESTING else "smtp://localhost:25")
    )
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "opshub.accounts.api.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "opshub.accounts.api.CanWriteOrReadOnly",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "opshub.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # The JSON parser is strict (opshub.lib.jsonbody): deep nesting, NaN, NUL → 400, not 500.
    "DEFAULT_PARSER_CLASSES": [
        "opshub.api.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "opshub API",
    "DESCRIPTION": "Handoffs, work items, decisions, breakages and the cycle-time scoreboard.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # /api/docs/ loads Swagger UI from our static files and its init script from a URL of
    # its own (SpectacularSwaggerSplitView): no CDN and no inline script under SECURE_CSP.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a `kind`; name each choice set once so clients get stable types.
    "ENUM_NAME_OVERRIDES": {
        "StageKindEnum": "handoffs.models.Stage.Kind",
        "EventKindEnum": "handoffs.models.Event.Kind",
        "CauseEnum": "handoffs.models.Cause",
        "RoleEnum": "handoffs.models.DecisionRole",
        "UserRoleEnum": "opshub.accounts.models.User.Role",
        "ActionItemStatusEnum": "reviews.models.ActionItem.Status",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "opshub.api.document_error_responses",
    ],
}

# Django 6's CSP: no inline scripts anywhere; htmx and Chart.js are served from 'self'.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG and not TESTING:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"structured": {"()": "opshub.lib.logging.StructuredFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Stall alerts: how often reminders repeat while an episode stays open.
OPSHUB_REMINDER_INTERVAL_HOURS = env_int("OPSHUB_REMINDER_INTERVAL_HOURS", 24)
# Signed intake deliveries accepted per source (slug) and period; more answer 429.
OPSHUB_INTAKE_RATE_LIMIT = env_rate("OPSHUB_INTAKE_RATE_LIMIT", "600/min")
# Password-reset requests per address and per client IP and period; over either, no email
# is sent and the page answers as usual (opshub/accounts/forms.py).
OPSHUB_PASSWORD_RESET_RATE_PER_EMAIL = env_rate("OPSHUB_PASSWORD_RESET_RATE_PER_EMAIL", "3/hour")
OPSHUB_PASSWORD_RESET_RATE_PER_IP = env_rate("OPSHUB_PASSWORD_RESET_RATE_PER_IP", "10/hour")
# Outbound webhooks and chat channels may call loopback, private and link-local addresses (a
# receiver on this host or network). Off: such a URL is refused when saved and when sent
# (docs/integrations.md).
OPSHUB_WEBHOOK_ALLOW_PRIVATE = env_bool("OPSHUB_WEBHOOK_ALLOW_PRIVATE", False)
OPSHUB_DEMO_PASSWORD = env_str("OPSHUB_DEMO_PASSWORD", "opshub-demo")
