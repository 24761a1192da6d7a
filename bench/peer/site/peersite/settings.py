"""Settings of the peer site: django-appointment 3.12.0 served like Yuyue in the bench.

DEBUG off, PostgreSQL with persistent connections (CONN_MAX_AGE=60), database sessions and a
per-process cache (the package caches its Config there). Mail goes to the dummy backend: the
package still renders every message, nothing leaves the machine.
"""

import os
import sys
from pathlib import Path

SITE_DIR = Path(__file__).resolve().parent.parent
WORK_DIR = Path(os.environ.get("PEER_WORK_DIR", SITE_DIR.parent.parent / ".work"))

# The package ships no migrations (its README says to run makemigrations); they are generated
# once into the gitignored work directory, never into the repository.
MIGRATIONS_DIR = WORK_DIR / "peer-migrations"
sys.path.insert(0, str(MIGRATIONS_DIR))
MIGRATION_MODULES = {"appointment": "peer_migrations.appointment"}

SECRET_KEY = "peer-bench-only-not-a-secret"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "phonenumber_field",
    "appointment",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "peersite.urls"
WSGI_APPLICATION = "peersite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("PEER_DB_NAME", "yuyue_bench_peer"),
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": "5432",
        "CONN_MAX_AGE": 60,
    }
}

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LANGUAGE_CODE = "en"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
DEFAULT_FROM_EMAIL = "bench@example.invalid"
PHONENUMBER_DEFAULT_REGION = "CN"

APPOINTMENT_WEBSITE_NAME = "Peer bench"
APPOINTMENT_SLOT_DURATION = 20
APPOINTMENT_LEAD_TIME = (8, 0)
APPOINTMENT_FINISH_TIME = (17, 0)

# The package logs each booking at INFO to stdout; gunicorn's output goes to a log file.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler", "level": "WARNING"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
