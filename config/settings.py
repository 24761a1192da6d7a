"""Yuyue settings, driven by the environment (see `.env.example`).

With no environment at all this runs for development: SQLite, tasks in-process,
console SMS and e-mail, DEBUG on. `DJANGO_DEBUG=false` is production: it refuses to
start without its secrets and passes `manage.py check --deploy` cleanly.
"""

import datetime
import ipaddress
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.security import check_secret_key, check_sms_backend

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=True)

if not DEBUG:
    missing = [
        name
        for name in ("DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DJANGO_ALLOWED_HOSTS")
        if not env.str(name, default="")
    ]
    if missing:
        raise ImproperlyConfigured(
            "Production mode (DJANGO_DEBUG=false) needs these variables: " + ", ".join(missing)
        )

SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY",
    default="django-insecure-development-only-key-never-use-in-production-yuyue",
)
if not DEBUG:
    # Published, placeholder or weak keys are refused (config/security.py).
    check_secret_key(SECRET_KEY)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # Before the admin: catalogue translation fields exist before admin modules load.
    "modeltranslation",
    # The admin, with Yuyue's site (staff.sites.YuyueAdminSite: second factor, roles).
    "staff.apps.YuyueAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_celery_beat",
    "auditlog",
    "csp",
    "axes",
    # Request counts, statuses and latencies at /metrics (Yuyue's own: core/metrics.py, config/metrics.py).
    "django_prometheus",
    "patients",
    "clinics",
    "notifications",
    "booking",
    "frontdesk",
    "staff",
]

MIDDLEWARE = [
    # First: proxy headers count only from YUYUE_TRUSTED_PROXIES (is_secure, client_ip).
    "core.middleware.TrustedProxyMiddleware",
    # Here and last: django-prometheus times (nearly) the whole chain.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # A request id on every log line and the response (core/request_id.py).
    "core.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.database_unavailable.DatabaseUnavailableMiddleware",
    "csp.middleware.CSPMiddleware",
    "core.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Staff sessions end with the browser and after YUYUE_STAFF_SESSION_IDLE_SECONDS idle.
    "staff.middleware.StaffSessionMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "booking.context_processors.public_notices",
                "core.hospital.hospital_facts",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "patients.Account"
# Patients sign in with their phone and a one-time code (patients/urls.py).
LOGIN_URL = "patients:sign-in"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# A patient's session ends after 30 minutes without a request: patients.views sets this
# expiry at sign-in, and it moves forward on every request that has a session. A visitor
# without a session (the start page, browsing) never gets one written; a signed-in page
# costs one UPDATE. After expiry, login_required pages send the patient to sign in with
# `next`, and the booking steps (GET pages, choices in the query string) resume there.
YUYUE_PATIENT_SESSION_IDLE_SECONDS = 30 * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_HTTPONLY = True
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Time: Asia/Shanghai for display, UTC in storage.
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True
USE_I18N = True
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The catalogue's patient-visible text (names, locations, specialties, room names) has a
# column per language (django-modeltranslation, clinics/translation.py): `name` reads the
# active language's, and English falls back to Chinese while its text is empty.
MODELTRANSLATION_DEFAULT_LANGUAGE = "zh-hans"
MODELTRANSLATION_FALLBACK_LANGUAGES = {"default": ("zh-hans",)}

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Redis: broker and cache when REDIS_URL is set; otherwise everything stays in-process.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                # A Redis outage must slow nothing down: fail fast, never hang a request.
                # A Redis call answers in a millisecond; a hung Redis costs a process one
                # 0.25 s timeout, then it skips Redis for 5 s (config/redis_cache.py) and
                # errors are cache misses. tests/faults/test_restarts.py holds it to that.
                "SOCKET_CONNECT_TIMEOUT": 0.25,
                "SOCKET_TIMEOUT": 0.25,
                "CONNECTION_POOL_CLASS": "config.redis_cache.FailFastConnectionPool",
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery sizes its pool from the node's CPUs, not a container's limit: set it (deploy/k8s).
CELERY_WORKER_CONCURRENCY = env.int("CELERY_WORKER_CONCURRENCY", default=0) or None
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 100
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 1,
    "socket_timeout": 2,
    "max_retries": 1,
}
CELERY_TASK_PUBLISH_RETRY = False
CELERY_TIMEZONE = TIME_ZONE
# django-celery-beat's, surviving a database outage at its schedule re-read (config/beat.py).
CELERY_BEAT_SCHEDULER = "config.beat:ResilientDatabaseScheduler"

# Messages: console by default. Later providers plug in here.
YUYUE_SMS_BACKEND = (
    env.str("YUYUE_SMS_BACKEND", default="") or "notifications.backends.ConsoleSMSBackend"
)
# Production refuses the console backend (no patient would get a message) unless a demo
# says so. The console backend never logs a message's text (notifications/backends.py).
YUYUE_ALLOW_CONSOLE_SMS = env.bool("YUYUE_ALLOW_CONSOLE_SMS", default=False)
if not DEBUG:
    check_sms_backend(YUYUE_SMS_BACKEND, allow_console=YUYUE_ALLOW_CONSOLE_SMS)

# --- Notifications (see docs/operations.md#notifications) ---------------------------
# Every provider is off unless configured here. YUYUE_SMS_BACKEND: console (default),
# locmem, file, http (a generic gateway) or aliyun, or a dotted path.
YUYUE_SMS_FILE_PATH = env.str("YUYUE_SMS_FILE_PATH", default=str(BASE_DIR / "sms.log"))
YUYUE_SMS_HTTP_URL = env.str("YUYUE_SMS_HTTP_URL", default="")
YUYUE_SMS_HTTP_SECRET = env.str("YUYUE_SMS_HTTP_SECRET", default="")
YUYUE_SMS_HTTP_TIMEOUT = env.float("YUYUE_SMS_HTTP_TIMEOUT", default=5.0)
YUYUE_ALIYUN_ACCESS_KEY_ID = env.str("YUYUE_ALIYUN_ACCESS_KEY_ID", default="")
YUYUE_ALIYUN_ACCESS_KEY_SECRET = env.str("YUYUE_ALIYUN_ACCESS_KEY_SECRET", default="")
YUYUE_ALIYUN_SMS_ENDPOINT = env.str("YUYUE_ALIYUN_SMS_ENDPOINT", default="dysmsapi.aliyuncs.com")
YUYUE_ALIYUN_SMS_PROTOCOL = env.str("YUYUE_ALIYUN_SMS_PROTOCOL", default="https")
YUYUE_ALIYUN_SMS_SIGN_NAME = env.str("YUYUE_ALIYUN_SMS_SIGN_NAME", default="")
YUYUE_ALIYUN_SMS_TEMPLATES = env.json("YUYUE_ALIYUN_SMS_TEMPLATES", default={})
# WeChat Official Account template messages: on when both are set.
YUYUE_WECHAT_APP_ID = env.str("YUYUE_WECHAT_APP_ID", default="")
YUYUE_WECHAT_APP_SECRET = env.str("YUYUE_WECHAT_APP_SECRET", default="")
YUYUE_WECHAT_API_BASE = env.str("YUYUE_WECHAT_API_BASE", default="https://api.weixin.qq.com")
YUYUE_WECHAT_TEMPLATES = env.json("YUYUE_WECHAT_TEMPLATES", default={})
# Delivery: attempts, back-off, the sweep, the sending lease, the /readyz backlog age.
YUYUE_OUTBOX_MAX_ATTEMPTS = env.int("YUYUE_OUTBOX_MAX_ATTEMPTS", default=6)
YUYUE_OUTBOX_RETRY_BASE_SECONDS = env.float("YUYUE_OUTBOX_RETRY_BASE_SECONDS", default=30.0)
YUYUE_OUTBOX_RETRY_MAX_SECONDS = env.float("YUYUE_OUTBOX_RETRY_MAX_SECONDS", default=3600.0)
YUYUE_OUTBOX_COUNTDOWN_MAX_SECONDS = env.float("YUYUE_OUTBOX_COUNTDOWN_MAX_SECONDS", default=300.0)
YUYUE_OUTBOX_SWEEP_INTERVAL_SECONDS = env.float("YUYUE_OUTBOX_SWEEP_INTERVAL_SECONDS", default=60.0)
YUYUE_OUTBOX_SWEEP_AGE_SECONDS = env.float("YUYUE_OUTBOX_SWEEP_AGE_SECONDS", default=60.0)
# Longer than a send can take (the task's hard time limit), so a live send is never redone.
YUYUE_OUTBOX_SENDING_LEASE_SECONDS = env.float("YUYUE_OUTBOX_SENDING_LEASE_SECONDS", default=300.0)
YUYUE_OUTBOX_PUBLISH_PAUSE_SECONDS = env.float("YUYUE_OUTBOX_PUBLISH_PAUSE_SECONDS", default=5.0)
# Web processes publish committed messages from a relay thread, gathering them this long
# into one task (notifications/relay.py); 0 publishes each at commit, in the request.
YUYUE_OUTBOX_RELAY_SECONDS = env.float("YUYUE_OUTBOX_RELAY_SECONDS", default=0.05)
YUYUE_OUTBOX_BACKLOG_MINUTES = env.int("YUYUE_OUTBOX_BACKLOG_MINUTES", default=10)
# Quiet hours (hospital time): only urgent messages go out between these.
YUYUE_QUIET_HOURS_START = datetime.time.fromisoformat(
    env.str("YUYUE_QUIET_HOURS_START", default="21:00")
)
YUYUE_QUIET_HOURS_END = datetime.time.fromisoformat(
    env.str("YUYUE_QUIET_HOURS_END", default="08:00")
)
YUYUE_REMINDER_EVENING = datetime.time.fromisoformat(
    env.str("YUYUE_REMINDER_EVENING", default="18:00")
)
YUYUE_REMINDER_SAME_DAY_HOURS = env.float("YUYUE_REMINDER_SAME_DAY_HOURS", default=2.0)
# Celery: a task redelivered after a lost worker is harmless (message_send claims rows);
# a broker that is down costs a request at most ~1 s, then publishing pauses.
CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = env.int(
    "CELERY_VISIBILITY_TIMEOUT", default=3600
)
# The one connect retry comes at once, not after kombu's default 2 s pause.
CELERY_BROKER_TRANSPORT_OPTIONS["interval_start"] = 0
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A send running when Redis goes finishes and marks its row sent (its ack is lost, the
# redelivery claims nothing). Cancelling it would leave the row `sending` until the
# lease and send it a second time (tests/faults/test_restarts.py).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TASK_IGNORE_RESULT = True
EMAIL_BACKEND = env.str(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="yuyue@localhost")

# Staff sign-in: lock out after repeated failures (django-axes), by the pair of user and
# address: a stranger's guesses never lock a colleague out, nor the user's own other desk.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=30)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# One idea of the client's address for axes and the patients' code limits (core.http).
AXES_CLIENT_IP_CALLABLE = "core.http.client_ip"
# Our reverse proxies: only behind one of these is X-Forwarded-For believed.
# Addresses or networks (10.0.0.0/8: an ingress's pods); a typo fails at start, not per request.
YUYUE_TRUSTED_PROXIES = env.list("YUYUE_TRUSTED_PROXIES", default=[])
for _proxy in YUYUE_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy.strip(), strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"YUYUE_TRUSTED_PROXIES: {_proxy!r} is not an address") from _exc
AXES_LOCKOUT_TEMPLATE = "staff/lockout.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# Patients' code sign-ins are not axes' business (patients/axes.py).
AXES_HANDLER = "patients.axes.StaffOnlyAxesHandler"

# Staff pages need a verified second factor (django-otp) outside development; production
# (DEBUG off) requires it whatever the environment says.
YUYUE_ADMIN_REQUIRE_OTP = True if not DEBUG else env.bool("YUYUE_ADMIN_REQUIRE_OTP", default=False)
# A staff session ends when the browser closes, and after this long without a request.
YUYUE_STAFF_SESSION_IDLE_SECONDS = env.int("YUYUE_STAFF_SESSION_IDLE_SECONDS", default=30 * 60)
OTP_TOTP_ISSUER = "Yuyue"
# django-otp's own throttle is per device: anyone holding the password could lock the
# person out from anywhere with wrong codes. Guessing is limited by axes instead, per
# user and address, like a wrong password (staff.forms counts a wrong code as a failure).
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.errors.api_exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "patients.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Deny by default: core.api.ApiView lists who may call each method.
    "DEFAULT_PERMISSION_CLASSES": ["core.api_access.AccessPermission"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # core/throttles.py; on the default cache (Redis). Views add their own classes
    # (sign-in, BookingWriteThrottle) to this default.
    "DEFAULT_THROTTLE_CLASSES": ["core.throttles.AnonReadThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon_read": env.str("API_RATE_ANON_READ", default="120/min"),
        "sign_in_code_phone": env.str("API_RATE_SIGN_IN_CODE_PHONE", default="5/hour"),
        "sign_in_code_address": env.str("API_RATE_SIGN_IN_CODE_ADDRESS", default="30/hour"),
        "sign_in_address": env.str("API_RATE_SIGN_IN_ADDRESS", default="20/min"),
        "booking_write": env.str("API_RATE_BOOKING_WRITE", default="30/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Yuyue API",
    "DESCRIPTION": "Eye-clinic appointment booking: catalogue, availability, bookings. "
    "Every refusal is {code, detail} in the request's language (Accept-Language).",
    "VERSION": "1.0.0",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs page's scripts come from this project's static files, never a CDN.
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # One enum name per choice set, whatever the field is called.
    "ENUM_NAME_OVERRIDES": {
        "ChannelStateEnum": "booking.apis.status.CHANNEL_STATE_CHOICES",
        "PatientFacingChannelEnum": "booking.apis.status.CLOSABLE_CHANNEL_CHOICES",
        "ClosureScopeEnum": "booking.models.Closure.Scope",
        "ClosureReasonEnum": "booking.models.Closure.Reason",
        "NoticeSeverityEnum": "booking.models.Notice.Severity",
        "LanguageEnum": "patients.models.Account.Language",
        "QueueTicketStateEnum": "frontdesk.models.QueueTicket.State",
        "BookingStatusEnum": "booking.models.Booking.Status",
        "WaitlistEntryStatusEnum": "booking.models.WaitlistEntry.Status",
        "ChannelEnum": "clinics.models.Channel",
        "SessionStatusEnum": "clinics.models.Session.Status",
        "SlotRefusalCodeEnum": "booking.apis.catalogue.SLOT_REFUSAL_CHOICES",
        "ClinicLevelEnum": "clinics.models.ClinicLevel",
        "QueuePriorityEnum": "frontdesk.models.QueueTicket.Priority",
        "BulkResourceTypeEnum": "interop.smart.BULK_TYPES",
    },
}

# Hospital facts shown to patients (emergency address, phones, windows).
# Name and address in Chinese and in English (`core.hospital` picks by language); an
# empty English text shows the Chinese one.


def _demo_english(chinese_variable: str, demo: str) -> str:
    """The demo's English text only while the Chinese text is the demo's too: a hospital
    that sets its own address must never show patients the demo's."""
    return "" if chinese_variable in env else demo


YUYUE_HOSPITAL_NAME = env.str("YUYUE_HOSPITAL_NAME", default="示范医院眼科中心")
YUYUE_HOSPITAL_NAME_EN = env.str(
    "YUYUE_HOSPITAL_NAME_EN",
    default=_demo_english("YUYUE_HOSPITAL_NAME", "Demo Hospital Eye Centre"),
)
YUYUE_HOSPITAL_PHONE = env.str("YUYUE_HOSPITAL_PHONE", default="010-0000-0000")
YUYUE_HOSPITAL_ADDRESS = env.str("YUYUE_HOSPITAL_ADDRESS", default="急诊楼 1 层，示范路 1 号")
YUYUE_HOSPITAL_ADDRESS_EN = env.str(
    "YUYUE_HOSPITAL_ADDRESS_EN",
    default=_demo_english(
        "YUYUE_HOSPITAL_ADDRESS", "Emergency building, ground floor, 1 Demo Road"
    ),
)
# Printed on the signs put up when booking is closed: where and when to register on site.
YUYUE_WALKIN_WINDOWS = env.str(
    "YUYUE_WALKIN_WINDOWS",
    default="门诊楼 1 层挂号窗口 1–6 号 / Outpatient building, ground floor, windows 1–6",
)
YUYUE_WALKIN_HOURS = env.str(
    "YUYUE_WALKIN_HOURS",
    default="每天 7:00–16:30 / Every day 7:00–16:30",
)
# The public address of the site, for the QR code on printed signs (e.g.
# https://yuyue.example.org). Empty: the address the sign was printed from.
YUYUE_PUBLIC_URL = env.str("YUYUE_PUBLIC_URL", default="")

# /healthz/background (the monitor's, not the load balancer's) fails when more outbox
# messages than this are late (due over YUYUE_OUTBOX_BACKLOG_MINUTES ago), or the oldest
# late one was due this many seconds ago. YUYUE_READYZ_OUTBOX_BACKLOG: the old name.
YUYUE_HEALTH_OUTBOX_BACKLOG = env.int(
    "YUYUE_HEALTH_OUTBOX_BACKLOG", default=env.int("YUYUE_READYZ_OUTBOX_BACKLOG", default=100)
)
YUYUE_HEALTH_OUTBOX_OLDEST_SECONDS = env.int("YUYUE_HEALTH_OUTBOX_OLDEST_SECONDS", default=1800)

# The audit log's mask for every registered `mask_fields` (auditlog's own keeps half a
# value): phones as 138****5678, resident IDs to their last 4 (core/audit.py).
AUDITLOG_MASK_CALLABLE = "patients.identity.mask_personal_value"

# --- Logs and metrics (docs/operations.md, "Metrics and logs") ------------------------
# json: one JSON object a line (core/logformat.py), for the log collector; text: for a
# person at a terminal. Every line has the request id (core/request_id.py) and goes
# through the masking filter before it is formatted.
YUYUE_LOG_FORMAT = env.str("YUYUE_LOG_FORMAT", default="text" if DEBUG else "json")
if YUYUE_LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured("YUYUE_LOG_FORMAT must be json or text")
# Who may read /metrics (addresses or networks, the connecting address itself): the
# Prometheus scraper's. Loopback only by default; everyone else gets 403.
YUYUE_METRICS_ALLOWED_IPS = env.list("YUYUE_METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "mask_identity": {"()": "patients.logging.MaskIdentityFilter"},
        "request_id": {"()": "core.request_id.RequestIdFilter"},
    },
    "formatters": {
        "json": {"()": "core.logformat.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id", "mask_identity"],
            "formatter": YUYUE_LOG_FORMAT,
        },
    },
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Security headers (docs/operations.md, "Security settings") ---------------------
# Every page, API response and admin page: scripts, styles, images and fetches from this
# site only, no inline script, no plugins, never framed, forms post only here. The API
# docs page loosens this for itself only (config/api_docs.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "object-src": ["'none'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
    }
}
SECURE_REFERRER_POLICY = "same-origin"
# core.middleware.PermissionsPolicyMiddleware: features no page uses, off for all origins.
YUYUE_PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
}
X_FRAME_OPTIONS = "DENY"
# Where the staff admin lives (config/urls.py); code reaches it through reverse() only.
YUYUE_ADMIN_PATH = env.str("YUYUE_ADMIN_PATH", default="admin/").strip("/") + "/"
if YUYUE_ADMIN_PATH == "/":
    raise ImproperlyConfigured("YUYUE_ADMIN_PATH must not be empty (e.g. admin/ or desk-7f3a/)")

if not DEBUG:
    # Believed only from YUYUE_TRUSTED_PROXIES: core.middleware.TrustedProxyMiddleware
    # drops the header from anyone else before SecurityMiddleware reads it.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^healthz/background$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

# --- Error tracker: Sentry, only when SENTRY_DSN is set and sentry-sdk is installed
# (`pip install sentry-sdk`; not in requirements.txt). No personal data is sent: no
# user, cookies or bodies (send_default_pii off), and every message, exception value and
# breadcrumb is masked like the logs (config/sentry.py).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from config.sentry import init_sentry

    init_sentry(
        SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production" if not DEBUG else "dev"),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )
