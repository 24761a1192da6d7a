from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PatientsConfig(AppConfig):
    name = "patients"
    verbose_name = _("Patients")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from patients import models

        auditlog.register(models.Account, exclude_fields=["password", "last_login"])
        auditlog.register(models.Patient, mask_fields=["document_number"])
