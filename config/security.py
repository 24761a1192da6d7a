"""Start-up refusals for production settings (DEBUG off), kept apart from settings.py so
each rule can be tested on its own. Each raises ImproperlyConfigured with the fix."""

from django.core.exceptions import ImproperlyConfigured

# Secret keys that are written down somewhere public (this repository, its docs, its
# templates): anyone could forge sessions, password-reset links and sign-in code hashes.
KNOWN_SECRET_KEYS = frozenset(
    {
        "django-insecure-development-only-key-never-use-in-production-yuyue",  # settings default
        "change-me-local-only-insecure-secret-key-for-docker-compose",  # docker-compose.yml
        "change-me-to-50-or-more-random-characters",  # .env.example
        "build-time-only-not-a-secret",  # Dockerfile's collectstatic step
    }
)
# Words that mark a key as a placeholder someone forgot to replace.
PLACEHOLDER_WORDS = ("change-me", "changeme", "change_me", "insecure", "example", "placeholder")
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_DISTINCT = 5

CONSOLE_SMS_BACKENDS = frozenset({"console", "notifications.backends.ConsoleSMSBackend"})


def check_secret_key(key: str) -> None:
    """Refuse a key that is published, a placeholder, or too weak to sign anything.

    The same thresholds as Django's security.W009, but fatal: a weak key in production
    is a forged session away from any account."""
    generate = "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    if key in KNOWN_SECRET_KEYS:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is a key published in this repository; "
            f"generate a new one: {generate}"
        )
    lowered = key.lower()
    for word in PLACEHOLDER_WORDS:
        if word in lowered:
            raise ImproperlyConfigured(
                f'DJANGO_SECRET_KEY contains "{word}": it is a placeholder, not a secret; '
                f"generate one: {generate}"
            )
    if len(key) < SECRET_KEY_MIN_LENGTH or len(set(key)) < SECRET_KEY_MIN_DISTINCT:
        raise ImproperlyConfigured(
            f"DJANGO_SECRET_KEY must have at least {SECRET_KEY_MIN_LENGTH} characters and "
            f"{SECRET_KEY_MIN_DISTINCT} different ones (it has {len(key)} and "
            f"{len(set(key))}); generate one: {generate}"
        )


def check_sms_backend(backend: str, *, allow_console: bool) -> None:
    """Production refuses the console SMS backend: patients would get no message at all
    (and sign-in codes would go nowhere). Demos may allow it with YUYUE_ALLOW_CONSOLE_SMS."""
    if backend in CONSOLE_SMS_BACKENDS and not allow_console:
        raise ImproperlyConfigured(
            "YUYUE_SMS_BACKEND is the console in production (DJANGO_DEBUG=false): no SMS "
            "would reach a patient. Set YUYUE_SMS_BACKEND to http or aliyun, or, for a "
            "demo, YUYUE_ALLOW_CONSOLE_SMS=true."
        )
