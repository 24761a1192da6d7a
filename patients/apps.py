from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PatientsConfig(AppConfig):
    name = "patients"
    verbose_name = _("Patients")

    def ready(self) -> None:
        from auditlog.registry import auditlog
        from django.apps import apps
        from django.contrib.auth.models import Group

        from patients import models

        # The audit log holds no more than the staff lists show: no document number at
        # all (the entry's name shows its last 4), phones and phone-usernames masked by
        # AUDITLOG_MASK_CALLABLE, no password or sign-in secrets. Group and permission
        # changes are logged with the account they were given to.
        auditlog.register(
            models.Account,
            exclude_fields=["password", "last_login", "wechat_openid"],
            mask_fields=["username", "phone"],
            m2m_fields={"groups", "user_permissions"},
        )
        auditlog.register(
            models.Patient, exclude_fields=["document_number", "add_key"], mask_fields=["phone"]
        )
        auditlog.register(Group, m2m_fields={"permissions"})
        # Second-factor devices: who enrolled (the actor) whose device, confirmed or not;
        # never the key, the counters or the static tokens.
        for label, name in (("otp_totp", "TOTPDevice"), ("otp_static", "StaticDevice")):
            if apps.is_installed(f"django_otp.plugins.{label}"):
                auditlog.register(
                    apps.get_model(label, name), include_fields=["user", "name", "confirmed"]
                )
