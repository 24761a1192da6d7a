"""Booking admin: a window onto the books, and the desk's list of the day. Writes go
through the services.

The list fits a 1280 px screen and shows no more personal data than the patient list:
the name, the phone masked (138****5678). Staff find a booking by its code, the
patient's name or medical record number, a whole phone number (the patient's or the
account's) or the last 4 characters of the ID number.

Actions: check in (`booking_check_in`; needs frontdesk.check_in), mark a no-show and
undo one with a reason (`booking_mark_no_show`, `booking_no_show_undo`; need
booking.change_booking), cancel with a reason (`booking_cancel`; the patient is told).
Each reports per booking what happened, a refusal as a warning with its message.

Check-in puts the patient in the day's queue, as the desk's check-in page does: booking
never imports frontdesk, so frontdesk/admin.py registers this admin with its
`queue_check_in` as `check_in_service` (called with the same keyword arguments).
"""

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
from patients.admin import DocumentSuffixSearchMixin
from patients.identity import mask_phone


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


class NoShowUndoForm(forms.Form):
    """Why a no-show mark was wrong: kept with each booking as its status note."""

    reason = forms.CharField(
        label=_("Reason"),
        max_length=Booking._meta.get_field("status_note").max_length,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            'Recorded with each booking and in the audit log, e.g. "checked in at the '
            'window on paper".'
        ),
    )


@admin.register(Booking)
class BookingAdmin(DocumentSuffixSearchMixin, admin.ModelAdmin):
    list_display = (
        "code",
        "queue_number",
        "patient_name",
        "patient_phone",
        "visit_date",
        "slot_time",
        "doctor",
        "department",
        "channel",
        "status",
    )
    list_filter = (
        "visit_date",
        "department",
        ("session__doctor", admin.RelatedOnlyFieldListFilter),
        "status",
        "channel",
    )
    show_facets = admin.ShowFacets.ALWAYS
    # "=": phones are found only as whole numbers; a 4-character term also finds the
    # bookings of patients whose document number ends with it.
    search_fields = (
        "code",
        "patient__real_name",
        "patient__medical_record_number",
        "=patient__phone",
        "=patient__account__phone",
    )
    document_number_path = "patient__document_number"
    date_hierarchy = "visit_date"
    list_select_related = ("patient__account", "slot", "session__doctor", "department")
    actions = ("check_in_bookings", "mark_no_shows", "undo_no_shows", "cancel_bookings")
    readonly_fields = [f.name for f in Booking._meta.fields]
    # The check-in action's service; see the module's docstring.
    check_in_service = staticmethod(services.booking_check_in)

    def has_add_permission(self, request) -> bool:
        return False  # bookings are made through booking_create (quota, rules, message)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a booking is cancelled, never deleted: the books must balance

    @admin.display(description=_("patient"), ordering="patient__real_name")
    def patient_name(self, obj: Booking) -> str:
        return obj.patient.real_name

    @admin.display(description=_("phone"))
    def patient_phone(self, obj: Booking) -> str:
        return mask_phone(obj.patient.phone or obj.patient.account.phone)

    def has_check_in_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("frontdesk.check_in")

    @admin.action(description=_("Check in the selected bookings"), permissions=["check_in"])
    def check_in_bookings(self, request: HttpRequest, queryset) -> None:
        self._each(
            request,
            queryset,
            lambda booking: self.check_in_service(booking=booking, checked_in_by=request.user),
            done=_("%(code)s: checked in."),
            unchanged=_("%(code)s: already checked in; nothing changed."),
            unchanged_status=Booking.Status.CHECKED_IN,
        )

    @admin.action(description=_("Mark the selected bookings as no-shows"), permissions=["change"])
    def mark_no_shows(self, request: HttpRequest, queryset) -> None:
        self._each(
            request,
            queryset,
            lambda booking: services.booking_mark_no_show(booking=booking, marked_by=request.user),
            done=_("%(code)s: marked as a no-show."),
            unchanged=_("%(code)s: already a no-show; nothing changed."),
            unchanged_status=Booking.Status.NO_SHOW,
        )

    @admin.action(
        description=_("Undo the no-show marks of the selected bookings"), permissions=["change"]
    )
    def undo_no_shows(self, request: HttpRequest, queryset) -> TemplateResponse | None:
        """A confirmation page lists the bookings and asks why the marks were wrong; its
        confirmed form undoes each through booking_no_show_undo."""
        bookings = self._selected(queryset)
        confirmed = request.POST.get("confirm") == "yes"
        form = NoShowUndoForm(request.POST if confirmed else None)
        if confirmed and form.is_valid():
            reason = form.cleaned_data["reason"]
            self._each(
                request,
                bookings,
                lambda booking: services.booking_no_show_undo(
                    booking=booking, undone_by=request.user, reason=reason
                ),
                done=_("%(code)s: no-show undone; now %(status)s."),
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Undo no-show marks"),
            "opts": self.opts,
            "bookings": bookings,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
        }
        return TemplateResponse(
            request, "admin/booking/booking/no_show_undo_confirmation.html", context
        )

    def _selected(self, queryset) -> list[Booking]:
        return list(
            queryset.select_related("patient", "slot", "session__doctor").order_by(
                "slot__starts_at", "pk"
            )
        )

    def _each(
        self,
        request: HttpRequest,
        bookings,
        change,
        *,
        done: str,
        unchanged: str | None = None,
        unchanged_status: str | None = None,
    ) -> None:
        """Run `change` on each booking (its own service call and transaction) and say
        per booking what happened: done, unchanged, or the refusal's message."""
        if not isinstance(bookings, list):
            bookings = self._selected(bookings)
        for booking in bookings:
            if unchanged is not None and booking.status == unchanged_status:
                self.message_user(request, unchanged % {"code": booking.code}, messages.INFO)
                continue
            try:
                changed = change(booking)
            except YuyueError as error:
                self.message_user(
                    request,
                    _("%(code)s: %(message)s") % {"code": booking.code, "message": error.detail},
                    messages.WARNING,
                )
                continue
            status = getattr(changed, "get_status_display", lambda: "")()
            self.message_user(
                request,
                done % {"code": booking.code, "status": status},
                messages.SUCCESS,
            )

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
