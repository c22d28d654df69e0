"""One settings module, configured from the environment (12-factor).

Profiles (PALISADE_ENV): ``dev`` (default), ``test`` and ``production``. The production
profile refuses to start with unsafe values instead of warning (O1, E5).
"""

import base64
from pathlib import Path
from urllib.parse import unquote

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
PALISADE_ENV = env.str("PALISADE_ENV", default="dev")
if PALISADE_ENV not in {"dev", "test", "production"}:
    raise ImproperlyConfigured(
        f"PALISADE_ENV must be dev, test or production, not {PALISADE_ENV!r}"
    )
IS_PRODUCTION = PALISADE_ENV == "production"

DEV_SECRET_KEY = "dev-only-insecure-secret-key-never-use-in-production"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=PALISADE_ENV == "dev")

# Sites are chosen by host (ARCHITECTURE "Sites and hosts"). The super-admin URLconf is only
# loaded by processes started with PALISADE_SERVE_ADMIN_SITE=1 (Z8).
PORTAL_HOST = env.str("PALISADE_PORTAL_HOST", default="app.localhost")
CLIENT_HOST = env.str("PALISADE_CLIENT_HOST", default="client.localhost")
ADMIN_HOST = env.str("PALISADE_ADMIN_HOST", default="admin.localhost")
SERVE_ADMIN_SITE = env.bool("PALISADE_SERVE_ADMIN_SITE", default=False)
CLIENT_PORTAL_URLCONF = "config.urls_client"
SITE_URLCONFS = {
    PORTAL_HOST: "config.urls_portal",
    CLIENT_HOST: CLIENT_PORTAL_URLCONF,
}
if SERVE_ADMIN_SITE:
    SITE_URLCONFS[ADMIN_HOST] = "config.urls_admin"
if PALISADE_ENV == "test":
    SITE_URLCONFS["testserver"] = "config.urls_portal"
ALLOWED_HOSTS = list(SITE_URLCONFS)
ROOT_URLCONF = "config.urls_portal"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    # D8: Swagger UI's files, served from here (no CDN).
    "drf_spectacular_sidecar",
    # Z9: object-level grants; only its direct-foreign-key base classes are used
    # (workforce.DocumentGrant), so every grant lives in a tenant table under RLS.
    "guardian",
    "tenants",
    "rbac",
    "keys",
    "audit",
    "accounts",
    # API tokens (A17) and token mode for SPA and mobile clients (A8).
    "tokens",
    # Passkeys (A6): WebAuthn credentials as django-otp devices; its views are not routed.
    "django_otp_webauthn",
    "workforce",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # O10: CSP without inline script on every response, those of the middleware below too.
    "config.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.hosts.SiteRoutingMiddleware",
    # Z8: the super-admin site's session cookie has a name of its own (needs the site).
    "superadmin.cookies.AdminSessionCookieMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A11: counts every request once the user is known, before anything queries the database.
    "ratelimits.middleware.RateLimitMiddleware",
    # A4: request.user.is_verified(), from the second factor recorded in the session.
    "django_otp.middleware.OTPMiddleware",
    "accounts.password_change.PasswordChangeRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A9, A10: refuses dead session cookies, applies idle/absolute limits; before the tenant
    # middleware so a session it ends is ended outside the tenant transaction.
    "accounts.sessions.middleware.SessionLifetimeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tenants.middleware.TenantMiddleware",
    # A9: the organisation's own session limits (needs the tenant context).
    "accounts.sessions.middleware.OrganizationSessionPolicyMiddleware",
    # A4: the organisation's second-factor requirement (also needs the membership).
    "accounts.second_factors.policy.SecondFactorPolicyMiddleware",
    "audit.middleware.AuditContextMiddleware",
    # A17: an API token reaches only views that declare a scope it holds.
    "tokens.middleware.ApiTokenScopeMiddleware",
    # Z1: a view that declares no permission answers 403; declared permissions are checked.
    "rbac.middleware.DeclaredPermissionMiddleware",
]
# Peers whose X-Forwarded-For / X-Request-ID are believed (CIDRs); nobody by default.
PALISADE_TRUSTED_PROXIES = env.list("PALISADE_TRUSTED_PROXIES", default=[])

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
                "portal.context_processors.serving_site",
            ],
            "builtins": ["config.template_filters"],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# Database (T2, T3). Three URLs, three PostgreSQL roles:
# - PALISADE_DB_URL: the runtime role used by web and workers (DML only, RLS applies).
# - PALISADE_DB_OWNER_URL: the owner role that runs migrations (``migrate --database owner``).
# - PALISADE_DB_CROSS_TENANT_URL: the BYPASSRLS role behind tenants.cross_tenant; only set
#   for processes that serve the super-admin site or run platform jobs.
DATABASE_CONN_MAX_AGE = env.int("PALISADE_DB_CONN_MAX_AGE", default=60)
DB_APPLICATION_NAME = env.str("PALISADE_DB_APPLICATION_NAME", default="palisade")


def _database(url_var: str) -> dict:
    config = env.db_url(url_var)
    # A unix-socket directory travels percent-encoded in the URL's host part.
    config["HOST"] = unquote(config["HOST"])
    config["ENGINE"] = "django.db.backends.postgresql"
    config["CONN_MAX_AGE"] = DATABASE_CONN_MAX_AGE
    config["CONN_HEALTH_CHECKS"] = True
    config.setdefault("OPTIONS", {})["application_name"] = DB_APPLICATION_NAME
    # Tests connect as the runtime role to a database the dev launcher already provisioned and
    # migrated; Django must not try to create one (the runtime role cannot).
    config["TEST"] = {"NAME": config["NAME"]}
    return config


RUNTIME_DB_URL_VAR = "PALISADE_DB_URL"
DATABASES = {"default": _database(RUNTIME_DB_URL_VAR)}
if "PALISADE_DB_OWNER_URL" in env:
    DATABASES["owner"] = _database("PALISADE_DB_OWNER_URL")
if "PALISADE_DB_CROSS_TENANT_URL" in env:
    DATABASES["cross_tenant"] = _database("PALISADE_DB_CROSS_TENANT_URL")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: cache, Celery broker and result backend.
REDIS_URL = env.str("PALISADE_REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "palisade",
    }
}


# Rate limits (A11). Quotas are "LIMIT/SECONDS,..." (fixed windows of Redis time); every
# request counts under "default" per principal (and organisation), public endpoints also
# under their own stricter policy. fail_open: whether requests pass when Redis is unreachable.
def _quotas(var: str, default: str) -> list[tuple[int, int]]:
    quotas = []
    for item in env.str(var, default=default).split(","):
        limit, _, seconds = item.strip().partition("/")
        if not (limit.isdigit() and seconds.isdigit() and int(limit) > 0 and int(seconds) > 0):
            raise ImproperlyConfigured(f"{var} must be LIMIT/SECONDS[,LIMIT/SECONDS...].")
        quotas.append((int(limit), int(seconds)))
    return quotas


# The test profile counts nothing, so tests are not throttled by each other's traffic;
# tests/ratelimits switches it on.
PALISADE_RATELIMIT_ENABLED = env.bool("PALISADE_RATELIMIT_ENABLED", default=PALISADE_ENV != "test")
PALISADE_RATELIMIT_KEY_PREFIX = env.str("PALISADE_RATELIMIT_KEY_PREFIX", default="palisade:rl")
PALISADE_RATELIMIT_REDIS_TIMEOUT_SECONDS = env.float(
    "PALISADE_RATELIMIT_REDIS_TIMEOUT_SECONDS", default=0.25
)
PALISADE_RATELIMIT_POLICIES = {
    "default": {
        "quotas": _quotas("PALISADE_RATELIMIT_DEFAULT", "3/1,200/60,800/300"),
        "fail_open": env.bool("PALISADE_RATELIMIT_DEFAULT_FAIL_OPEN", default=True),
    },
    "sign-in": {
        "quotas": _quotas("PALISADE_RATELIMIT_SIGN_IN", "20/60,100/900"),
        "fail_open": env.bool("PALISADE_RATELIMIT_SIGN_IN_FAIL_OPEN", default=False),
    },
    "public-form": {
        "quotas": _quotas("PALISADE_RATELIMIT_PUBLIC_FORM", "10/60,30/3600"),
        "fail_open": env.bool("PALISADE_RATELIMIT_PUBLIC_FORM_FAIL_OPEN", default=False),
    },
}
# A user's requests across all organisations, as a multiple of the default quotas.
PALISADE_RATELIMIT_ALL_ORGANIZATIONS_FACTOR = env.int(
    "PALISADE_RATELIMIT_ALL_ORGANIZATIONS_FACTOR", default=4
)
# Requests with a checksummed API token (not yet looked up, so possibly invented) from one
# client network, as a multiple of the default quotas.
PALISADE_RATELIMIT_BEARER_NETWORK_FACTOR = env.int(
    "PALISADE_RATELIMIT_BEARER_NETWORK_FACTOR", default=4
)
# Failed sign-ins (ratelimits.sign_in): failures allowed per account and network, per network
# and per account within the window; blocks of the first two start at BLOCK and double up to
# the window; the account-wide delay starts at ACCOUNT_DELAY and doubles up to its cap.
PALISADE_RATELIMIT_SIGN_IN_WINDOW_SECONDS = env.int(
    "PALISADE_RATELIMIT_SIGN_IN_WINDOW_SECONDS", default=900
)
PALISADE_RATELIMIT_SIGN_IN_PAIR_FAILURES = env.int(
    "PALISADE_RATELIMIT_SIGN_IN_PAIR_FAILURES", default=5
)
PALISADE_RATELIMIT_SIGN_IN_NETWORK_FAILURES = env.int(
    "PALISADE_RATELIMIT_SIGN_IN_NETWORK_FAILURES", default=50
)
PALISADE_RATELIMIT_SIGN_IN_ACCOUNT_FAILURES = env.int(
    "PALISADE_RATELIMIT_SIGN_IN_ACCOUNT_FAILURES", default=20
)
PALISADE_RATELIMIT_SIGN_IN_BLOCK_SECONDS = env.int(
    "PALISADE_RATELIMIT_SIGN_IN_BLOCK_SECONDS", default=60
)
PALISADE_RATELIMIT_SIGN_IN_ACCOUNT_DELAY_SECONDS = env.int(
    "PALISADE_RATELIMIT_SIGN_IN_ACCOUNT_DELAY_SECONDS", default=1
)
PALISADE_RATELIMIT_SIGN_IN_ACCOUNT_DELAY_MAX_SECONDS = env.int(
    "PALISADE_RATELIMIT_SIGN_IN_ACCOUNT_DELAY_MAX_SECONDS", default=30
)
PALISADE_RATELIMIT_SIGN_IN_KNOWN_NETWORK_DAYS = env.int(
    "PALISADE_RATELIMIT_SIGN_IN_KNOWN_NETWORK_DAYS", default=30
)


def _celery_url(redis_url: str) -> str:
    # kombu spells a unix-socket Redis URL differently from redis-py.
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


CELERY_BROKER_URL = _celery_url(REDIS_URL)
CELERY_RESULT_BACKEND = _celery_url(REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = False
# Celery's Django fixup closes the DB connection around every task unless told to reuse it;
# reuse is safe because the organisation context is transaction-local (T2, T6).
CELERY_DB_REUSE_MAX = env.int("PALISADE_CELERY_DB_REUSE_MAX", default=200)
CELERY_BEAT_SCHEDULE = {
    "audit-checkpoints": {
        "task": "audit.checkpoint_all_organizations",
        "schedule": env.int("PALISADE_AUDIT_CHECKPOINT_SECONDS", default=3600),
    },
    # A10: ends (and records) sessions nobody came back to; clears expired session rows.
    "sessions-end-lapsed": {
        "task": "accounts.end_lapsed_sessions",
        "schedule": env.int("PALISADE_SESSION_SWEEP_SECONDS", default=900),
    },
    # L8: catches up any sink whose delivery was not queued or whose retries ran out.
    "audit-stream-sweep": {
        "task": "audit.sweep_all_sinks",
        "schedule": env.int("PALISADE_AUDIT_STREAM_SWEEP_SECONDS", default=60),
    },
    # A8: spent refresh tokens are kept for reuse detection until their family ends.
    "tokens-delete-expired-refresh": {
        "task": "tokens.delete_expired_refresh_tokens",
        "schedule": env.int("PALISADE_REFRESH_TOKEN_SWEEP_SECONDS", default=3600),
    },
    # D2: shifts that ended with nobody clocked in become missed attendance, once each.
    "workforce-mark-missed-attendance": {
        "task": "workforce.mark_missed_attendance_all_organizations",
        "schedule": env.int("PALISADE_MISSED_ATTENDANCE_SECONDS", default=300),
    },
    # D4: documents expiring within 30 days are reminded of, once each.
    "workforce-document-expiry-reminders": {
        "task": "workforce.send_document_expiry_reminders_all_organizations",
        "schedule": env.int("PALISADE_DOCUMENT_REMINDER_SECONDS", default=86400),
    },
}

# Audit streaming to webhook sinks (L8). Deliveries go to their own queue when one is named,
# so a slow receiver never delays other jobs; empty means Celery's default queue.
PALISADE_AUDIT_STREAMING_QUEUE = env.str("PALISADE_AUDIT_STREAMING_QUEUE", default="")
# First retry delay; each further failure doubles it (capped in audit.streaming).
PALISADE_AUDIT_WEBHOOK_BACKOFF_SECONDS = env.float(
    "PALISADE_AUDIT_WEBHOOK_BACKOFF_SECONDS", default=5.0
)
# Dev and tests only: lets sinks use http:// and loopback receivers. Refused in production.
PALISADE_AUDIT_WEBHOOK_ALLOW_INSECURE = env.bool(
    "PALISADE_AUDIT_WEBHOOK_ALLOW_INSECURE", default=False
)

# Keys (E2, E5). The dev master key and audit signing seed are public and refused in
# production; real ones come only from the environment.
DEV_MASTER_KEY = "ZGV2LW9ubHktbWFzdGVyLWtleS1ub3Qtc2VjcmV0ISE="
DEV_AUDIT_SIGNING_KEY = "ZGV2LW9ubHktYXVkaXQtc2lnbmluZy1rZXktcHVibGk="
PALISADE_KEY_PROVIDER = env.str("PALISADE_KEY_PROVIDER", default="local")
PALISADE_MASTER_KEY = env.str("PALISADE_MASTER_KEY", default=DEV_MASTER_KEY)


def _base64_key(value: str, name: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} must be base64.") from error


PALISADE_MASTER_KEYS = [
    _base64_key(key, "PALISADE_MASTER_KEY")
    for key in [PALISADE_MASTER_KEY, *env.list("PALISADE_MASTER_KEY_PREVIOUS", default=[])]
]
PALISADE_KEY_CACHE_SECONDS = env.int("PALISADE_KEY_CACHE_SECONDS", default=300)
PALISADE_AWS_REGION = env.str("PALISADE_AWS_REGION", default="eu-west-2")
PALISADE_KMS_ENDPOINT_URL = env.str("PALISADE_KMS_ENDPOINT_URL", default="")
# aws-kms: the platform KMS key that wraps each person's data key (E3, E6); organisations'
# keys are their own KMS keys.
PALISADE_KMS_PLATFORM_KEY_ID = env.str("PALISADE_KMS_PLATFORM_KEY_ID", default="")
# Static KMS credentials, only where no instance role or profile provides them (a local
# KMS-compatible server); empty means boto3's default credential chain.
PALISADE_AWS_ACCESS_KEY_ID = env.str("PALISADE_AWS_ACCESS_KEY_ID", default="")
PALISADE_AWS_SECRET_ACCESS_KEY = env.str("PALISADE_AWS_SECRET_ACCESS_KEY", default="")
PALISADE_AUDIT_SIGNING_KEY = env.str("PALISADE_AUDIT_SIGNING_KEY", default=DEV_AUDIT_SIGNING_KEY)

# Transactional email (O11): EMAIL_URL (e.g. smtp+tls://user:pass@host:587); the console in
# development. The production profile refuses the console.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = EMAIL_CONFIG.pop("EMAIL_BACKEND")
globals().update(EMAIL_CONFIG)  # EMAIL_HOST, EMAIL_PORT, credentials and TLS flags
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Palisade <no-reply@palisade.invalid>")
# Absolute links in emails point here.
PALISADE_PORTAL_URL = env.str("PALISADE_PORTAL_URL", default=f"http://{PORTAL_HOST}:8000")

AUTH_USER_MODEL = "accounts.User"
# A11: Django's ModelBackend behind the failed sign-in throttle.
AUTHENTICATION_BACKENDS = [
    "ratelimits.backends.ThrottledModelBackend",
    # Z9: answers has_perm(perm, obj) from object grants; it authenticates nobody.
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = ["accounts.hashers.OwaspArgon2idHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.validators.BreachedPasswordValidator"},
]
# A1: the Have I Been Pwned range API (k-anonymity). Empty turns the online check off (the
# offline common-password list still applies); production defaults to the public service.
PALISADE_HIBP_URL = env.str(
    "PALISADE_HIBP_URL", default="https://api.pwnedpasswords.com" if IS_PRODUCTION else ""
)
# When the service cannot be reached: refuse the new password (True) or accept it and log.
PALISADE_HIBP_FAIL_CLOSED = env.bool("PALISADE_HIBP_FAIL_CLOSED", default=False)
# Second factors (A3-A6). Wrong codes back off exponentially per device (1 s, 2 s, 4 s, ...).
PALISADE_SECOND_FACTOR_THROTTLE_FACTOR = env.int(
    "PALISADE_SECOND_FACTOR_THROTTLE_FACTOR", default=1
)
PALISADE_EMAIL_CODE_COOLDOWN_SECONDS = env.int("PALISADE_EMAIL_CODE_COOLDOWN_SECONDS", default=30)
# How long a password-checked sign-in waits for its second factor, and how recent a second
# factor must be to remove one (A4).
PALISADE_SIGN_IN_PENDING_SECONDS = env.int("PALISADE_SIGN_IN_PENDING_SECONDS", default=300)
PALISADE_STEP_UP_SECONDS = env.int("PALISADE_STEP_UP_SECONDS", default=300)
# Passkeys (A6) are bound to the portal's host name; only these origins may use them (outside
# production, also the portal host on any port, for development servers and tests).
OTP_WEBAUTHN_RP_ID = env.str("PALISADE_WEBAUTHN_RP_ID", default=PORTAL_HOST)
OTP_WEBAUTHN_RP_NAME = "Palisade"
OTP_WEBAUTHN_ALLOWED_ORIGINS = env.list(
    "PALISADE_WEBAUTHN_ORIGINS", default=[f"https://{PORTAL_HOST}"]
)
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
OTP_WEBAUTHN_HELPER_CLASS = "accounts.second_factors.passkeys.PortalWebAuthnHelper"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "organization-choose"
LOGOUT_REDIRECT_URL = "login"

# Sessions (A7, A9, A10): server-side in PostgreSQL, keys stored only as digests.
SESSION_ENGINE = "accounts.sessions.store"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = IS_PRODUCTION
CSRF_COOKIE_SECURE = IS_PRODUCTION
# A7: in production the __Host- prefix makes browsers refuse the cookies unless they are
# Secure, host-only and for path /, so no sibling subdomain can plant or shadow them.
SESSION_COOKIE_NAME = "__Host-sessionid" if IS_PRODUCTION else "sessionid"
# Z8: the super-admin site's session cookie (superadmin.cookies).
PALISADE_ADMIN_SESSION_COOKIE_NAME = (
    "__Host-palisade_admin_session" if IS_PRODUCTION else "palisade_admin_session"
)
CSRF_COOKIE_NAME = "__Host-csrftoken" if IS_PRODUCTION else "csrftoken"
# The cookie and the server-side row live this long after the session's last write (an
# active session writes at least once a minute): the outer bound of every idle limit.
SESSION_COOKIE_AGE = env.int("PALISADE_SESSION_COOKIE_AGE", default=8 * 3600)
# A9: limits outside any organisation; inside one, its SecurityPolicy's (same defaults).
PALISADE_SESSION_IDLE_TIMEOUT_MINUTES = env.int("PALISADE_SESSION_IDLE_TIMEOUT_MINUTES", default=30)
PALISADE_SESSION_ABSOLUTE_TIMEOUT_HOURS = env.int(
    "PALISADE_SESSION_ABSOLUTE_TIMEOUT_HOURS", default=12
)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Self-hosted assets (no CDN): WhiteNoise serves them from the app server. Outside production
# it reads the source directories directly, so there is no collectstatic step (and no root).
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles") if IS_PRODUCTION else None
WHITENOISE_USE_FINDERS = not IS_PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG

REST_FRAMEWORK = {
    # Bearer first (A8, A17): a bearer request is never taken for a session one.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tokens.authentication.BearerAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "config.api_errors.exception_handler",
}
# D8: the OpenAPI schema (/api/v1/schema/) and its docs page (/api/v1/docs/), for signed-in
# users only; the docs page's Swagger UI comes from drf-spectacular-sidecar's static files
# (no CDN, O10).
SPECTACULAR_SETTINGS = {
    "TITLE": "Palisade API",
    "VERSION": "1.0.0",
    "DESCRIPTION": (
        "Organisation resources live under /api/v1/o/{org_slug}/. Lists are cursor-paginated "
        "(follow `next`), filtered by query parameters and ordered with `ordering`. Detail "
        "responses carry an ETag; send it back in If-Match with PATCH or DELETE to refuse "
        "(412) a change to a record someone else changed meanwhile. Errors: "
        '`{"detail": "..."}` (with an optional `code`), or for invalid input (400) a list of '
        "messages per field."
    ),
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Registers the bearer scheme and keeps pages out of the schema (config.api_schema).
    "PREPROCESSING_HOOKS": ["config.api_schema.api_endpoints_only"],
    "ENUM_NAME_OVERRIDES": {"ApprovalStatusEnum": "workforce.models.Approvable.Status"},
}

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"


def _not_rate_limited(record) -> bool:
    # A11: Django logs every 4xx; a refused flood must not become a flood of log lines.
    return getattr(record, "status_code", None) != 429


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "not_rate_limited": {
            "()": "django.utils.log.CallbackFilter",
            "callback": _not_rate_limited,
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"filters": ["not_rate_limited"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

if IS_PRODUCTION:
    # O1, E1, E5: refuse to start rather than run unsafely.
    if DEBUG:
        raise ImproperlyConfigured("DEBUG must be off in production.")
    if SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("Set a real SECRET_KEY (50+ characters) in production.")
    if PALISADE_KEY_PROVIDER == "local" and PALISADE_MASTER_KEY == DEV_MASTER_KEY:
        raise ImproperlyConfigured("Set PALISADE_MASTER_KEY (or use aws-kms) in production.")
    if PALISADE_KEY_PROVIDER == "aws-kms" and not PALISADE_KMS_PLATFORM_KEY_ID:
        raise ImproperlyConfigured("Set PALISADE_KMS_PLATFORM_KEY_ID to use aws-kms.")
    if EMAIL_BACKEND.endswith("console.EmailBackend"):
        raise ImproperlyConfigured("Set EMAIL_URL to a real mail service in production.")
    if PALISADE_AUDIT_SIGNING_KEY == DEV_AUDIT_SIGNING_KEY:
        raise ImproperlyConfigured("Set PALISADE_AUDIT_SIGNING_KEY in production.")
    if PALISADE_AUDIT_WEBHOOK_ALLOW_INSECURE:
        # L8: http:// and loopback receivers would open an SSRF path into the platform.
        raise ImproperlyConfigured("PALISADE_AUDIT_WEBHOOK_ALLOW_INSECURE is for dev and tests.")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Z9: guardian's anonymous user is not used (every grant names a real member).
ANONYMOUS_USER_NAME = None
