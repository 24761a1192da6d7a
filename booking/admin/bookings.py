"""Booking admin: a window onto the books. Writes go through the services."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from booking import services
from booking.models import Booking, BookingPolicy
from config.errors import YuyueError


@admin.register(BookingPolicy)
class BookingPolicyAdmin(admin.ModelAdmin):
    list_display = (
        "department",
        "window_days",
        "release_time",
        "max_per_department_day",
        "max_per_day",
        "max_per_7_days",
        "cancel_cutoff_minutes",
        "no_show_limit",
        "suspension_days",
    )
    list_select_related = ("department",)


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "queue_number",
        "patient_name",
        "visit_date",
        "slot_time",
        "doctor",
        "department",
        "channel",
        "status",
        "booked_by",
    )
    list_filter = ("status", "channel", "booked_by", "visit_date", "department")
    search_fields = (
        "code",
        "patient__real_name",
        "patient__medical_record_number",
        "patient__phone",
    )
    date_hierarchy = "visit_date"
    list_select_related = ("patient", "slot", "session__doctor", "department")
    actions = ("cancel_bookings",)
    readonly_fields = [f.name for f in Booking._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # bookings are made through booking_create (quota, rules, message)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a booking is cancelled, never deleted: the books must balance

    @admin.display(description=_("patient"), ordering="patient__real_name")
    def patient_name(self, obj: Booking) -> str:
        return obj.patient.real_name

    @admin.display(description=_("time"), ordering="slot__starts_at")
    def slot_time(self, obj: Booking):
        return obj.slot.starts_at

    @admin.display(description=_("doctor"))
    def doctor(self, obj: Booking) -> str:
        return obj.session.doctor.name

    @admin.action(description=_("Cancel the selected bookings"))
    def cancel_bookings(self, request, queryset) -> None:
        done = 0
        for booking in queryset.select_related("patient"):
            try:
                services.booking_cancel(booking=booking, requested_by=request.user)
                done += 1
            except YuyueError as error:
                self.message_user(request, f"{booking.code}: {error.detail}", messages.WARNING)
        self.message_user(request, _("%(count)d bookings cancelled.") % {"count": done})
