from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BookingConfig(AppConfig):
    name = "booking"
    verbose_name = _("Booking")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from booking import models, tasks  # noqa: F401 (tasks: register them by name)
        from clinics.cache import connect_availability_signals
        from core.audit import register_staff_changes

        # Staff decisions: policies, closures (the channels) and their public notices.
        for model in (models.BookingPolicy, models.Closure, models.Notice):
            auditlog.register(model)
        # Bookings: what staff do to them (cancel, check in, no-show and its undo, status
        # notes, bookings for callers), not each patient's own booking on the hot path.
        # A session stop's cancellations are one entry on the session (session_stop).
        register_staff_changes(models.Booking, exclude_fields=["idempotency_key", "updated_at"])
        # Closures, policies and notices change what availability and the status show.
        connect_availability_signals(models.Closure, models.BookingPolicy, models.Notice)
        # yuyue_bookings_total{channel}: counted at commit, no query (core/metrics.py).
        from core.metrics import connect_booking_signals

        connect_booking_signals()
