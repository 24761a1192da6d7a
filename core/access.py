"""Who may see staff pages and staff API endpoints: the one test, for the admin site, the
sign-in form, the sign pages and the API (core, so every app can ask it)."""

from django.conf import settings


def second_factor_required() -> bool:
    """Read on every request, so tests (and nothing else: production forces it on in
    settings) can switch it."""
    return bool(settings.YUYUE_ADMIN_REQUIRE_OTP)


def is_verified_staff(user) -> bool:
    """Active staff, with a second factor verified in this session wherever it is required."""
    if not (user is not None and user.is_active and user.is_staff):
        return False
    if not second_factor_required():
        return True
    is_verified = getattr(user, "is_verified", None)  # set by django_otp's middleware
    return bool(is_verified and is_verified())
