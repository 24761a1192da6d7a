from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BookingConfig(AppConfig):
    name = "booking"
    verbose_name = _("Booking")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from booking import models, tasks  # noqa: F401 (tasks: register them by name)

        auditlog.register(models.BookingPolicy)
