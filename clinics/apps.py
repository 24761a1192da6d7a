from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClinicsConfig(AppConfig):
    name = "clinics"
    verbose_name = _("Clinics")

    def ready(self) -> None:
        from auditlog.registry import auditlog
        from django.db.models.signals import post_save

        from clinics import models
        from clinics.cache import connect_availability_signals
        from core.audit import register_staff_changes

        # Every staff change to the catalogue is audited.
        for model in (models.Department, models.Doctor, models.Room, models.ScheduleTemplate):
            auditlog.register(model)
        auditlog.register(models.Session, exclude_fields=["last_queue_number"])
        # Slots and quotas are made by session generation by the thousand: logged when
        # staff change them. The counters move by conditional UPDATEs only.
        register_staff_changes(models.Slot)
        register_staff_changes(models.Quota, exclude_fields=["booked", "held"])
        # A capacity change is a conditional UPDATE the audit log never sees; its
        # CapacityChange row (written in the same transaction) is logged on its quota.
        post_save.connect(
            _audit_capacity_change,
            sender=models.CapacityChange,
            dispatch_uid="clinics.audit_capacity_change",
        )
        # What availability shows: an instance save (the admin) bumps the generation;
        # bulk writes bump through the models' AvailabilityQuerySet.
        connect_availability_signals(
            models.Department, models.Doctor, models.Room, models.Session, models.Slot, models.Quota
        )


def _audit_capacity_change(sender, instance, created: bool, **kwargs) -> None:
    from core.audit import audit_record

    if not created:
        return
    audit_record(
        instance=instance.quota,
        changes={"capacity": (instance.capacity_after - instance.delta, instance.capacity_after)},
        actor=instance.changed_by,
        additional_data={"reason": instance.reason, "note": instance.note},
    )
