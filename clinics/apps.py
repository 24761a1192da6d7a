from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClinicsConfig(AppConfig):
    name = "clinics"
    verbose_name = _("Clinics")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from clinics import models

        # Every staff change to the catalogue is audited. Capacity moves by conditional
        # UPDATEs that the audit log never sees: each one writes a CapacityChange row
        # instead (clinics.services.quota_capacity_move / quota_capacity_set).
        for model in (models.Department, models.Doctor, models.Room, models.ScheduleTemplate):
            auditlog.register(model)
        auditlog.register(models.Session, exclude_fields=["last_queue_number"])
