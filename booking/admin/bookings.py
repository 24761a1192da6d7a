"""Booking admin: a window onto the books. Writes go through the services."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import models
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from booking import services
from booking.models import Booking, BookingPolicy
from core.errors import YuyueError


class StaffCancelForm(forms.Form):
    """Why staff cancel bookings, and whose decision it is: recorded with each booking."""

    class DecidedBy(models.TextChoices):
        PATIENT = "patient", _("The patient asked (cancelled on the patient's behalf)")
        HOSPITAL = "hospital", _("The hospital cancels (e.g. the doctor is unavailable)")

    decided_by = forms.ChoiceField(
        label=_("Who decided"), choices=DecidedBy.choices, widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=Booking._meta.get_field("cancel_reason").max_length,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Recorded with each booking. When the hospital cancels, each patient is told "
            "this reason, with other times to book."
        ),
    )


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
        "cancelled_by",
        "cancel_reason",
    )
    list_filter = ("status", "channel", "booked_by", "visit_date", "department")
    search_fields = (
        "code",
        "patient__real_name",
        "patient__medical_record_number",
        "patient__phone",
    )
    date_hierarchy = "visit_date"
    list_select_related = ("patient", "slot", "session__doctor", "department", "cancelled_by")
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

    @admin.action(description=_("Cancel the selected bookings"), permissions=["change"])
    def cancel_bookings(self, request: HttpRequest, queryset) -> TemplateResponse | None:
        """Like Django's "delete selected": a confirmation page lists the bookings and asks
        why and whose decision it is; its confirmed form cancels each through
        booking_cancel and says what was done."""
        bookings = list(
            queryset.select_related("patient", "slot", "session__doctor").order_by(
                "slot__starts_at", "pk"
            )
        )
        confirmed = request.POST.get("confirm") == "yes"
        form = StaffCancelForm(request.POST if confirmed else None)
        if confirmed and form.is_valid():
            self._cancel(
                request,
                bookings,
                reason=form.cleaned_data["reason"],
                by_hospital=form.cleaned_data["decided_by"] == StaffCancelForm.DecidedBy.HOSPITAL,
            )
            return None  # back to the list, with the messages
        context = {
            **self.admin_site.each_context(request),
            "title": _("Cancel bookings"),
            "opts": self.opts,
            "bookings": bookings,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/booking/booking/cancel_confirmation.html", context)

    def _cancel(
        self, request: HttpRequest, bookings: list[Booking], *, reason: str, by_hospital: bool
    ) -> None:
        done = 0
        for booking in bookings:
            if booking.status in Booking.CANCELLED:
                # booking_cancel would return it unchanged: say so rather than count it.
                self.message_user(
                    request,
                    _("%(code)s: already cancelled; nothing changed.") % {"code": booking.code},
                    messages.WARNING,
                )
                continue
            try:
                services.booking_cancel(
                    booking=booking,
                    requested_by=request.user,
                    reason=reason,
                    by_hospital=by_hospital,
                )
            except YuyueError as error:
                self.message_user(request, f"{booking.code}: {error.detail}", messages.WARNING)
            else:
                done += 1
        if by_hospital:
            text = ngettext(
                "%(count)d booking cancelled by the hospital; its patient is told why, "
                "with other times to book.",
                "%(count)d bookings cancelled by the hospital; their patients are told why, "
                "with other times to book.",
                done,
            )
        else:
            text = ngettext(
                "%(count)d booking cancelled on the patient's behalf; the patient is told "
                "by message.",
                "%(count)d bookings cancelled on the patients' behalf; each patient is told "
                "by message.",
                done,
            )
        self.message_user(
            request, text % {"count": done}, messages.SUCCESS if done else messages.INFO
        )
