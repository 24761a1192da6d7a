from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class StaffConfig(AppConfig):
    """Staff sign-in (password and a second factor), roles, and the admin site they use."""

    name = "staff"
    verbose_name = _("Staff")
    # staff.apps also holds the admin's config below: this one is the staff app's.
    default = True

    def ready(self) -> None:
        _translate_third_party_headings()


class YuyueAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with Yuyue's site as `admin.site` (listed in INSTALLED_APPS
    instead of "django.contrib.admin"), so every `@admin.register` lands on it."""

    default = False
    default_site = "staff.sites.YuyueAdminSite"


# Headings of third-party apps whose packages carry no Chinese (or no gettext at all).
# App names and the models' display names only: neither is part of a migration's state
# (that reads Meta's original attributes), so no migration follows from this.
_APP_NAMES = {
    "otp_totp": _("Two-factor sign-in: authenticator apps"),
    "otp_static": _("Two-factor sign-in: backup codes"),
    "axes": _("Sign-in lock-outs"),
}
_MODEL_NAMES = {
    ("otp_totp", "totpdevice"): (_("authenticator app"), _("authenticator apps")),
    ("otp_static", "staticdevice"): (_("backup code set"), _("backup code sets")),
    ("otp_static", "statictoken"): (_("backup code"), _("backup codes")),
}


def _translate_third_party_headings() -> None:
    from django.apps import apps

    for label, name in _APP_NAMES.items():
        try:
            apps.get_app_config(label).verbose_name = name
        except LookupError:
            continue
    for (label, model_name), (singular, plural) in _MODEL_NAMES.items():
        try:
            model = apps.get_model(label, model_name)
        except LookupError:
            continue
        model._meta.verbose_name = singular
        model._meta.verbose_name_plural = plural
