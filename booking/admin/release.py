"""Ops pages of the release engine, the waitlist and stopping a session [停诊].

Read-only windows onto rows the services write; the one write, stopping a session, is a
small form that calls `session_stop`.
"""

import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from booking import services
from booking.models import HeldPlace, ReleaseRun, WaitlistEntry
from booking.selectors import (
    release_run_summary,
    session_active_booking_count,
    session_list_stoppable,
)
from clinics.models import Session
from core.admin import ReadOnlyAdminMixin
from core.errors import YuyueError


@admin.register(ReleaseRun)
class ReleaseRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "pk",
        "kind",
        "closure",
        "status",
        "result",
        "created_at",
        "finished_at",
        "error",
    )
    list_filter = ("kind", "status")
    list_select_related = ("closure",)
    readonly_fields = (
        "kind",
        "closure",
        "status",
        "result",
        "places_moved",
        "sessions_touched",
        "places_freed_moved",
        "places_returned",
        "returned_at",
        "cursor",
        "error",
        "created_at",
        "started_at",
        "finished_at",
    )
    fields = readonly_fields

    @admin.display(description=_("result"))
    def result(self, obj: ReleaseRun) -> str:
        return release_run_summary(obj)


@admin.register(HeldPlace)
class HeldPlaceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("pk", "slot_time", "doctor", "channel", "freed_by", "release_at", "released_at")
    list_filter = (("released_at", admin.EmptyFieldListFilter), "quota__channel")
    list_select_related = ("quota__slot__session__doctor", "freed_by")
    readonly_fields = ("quota", "freed_by", "release_at", "released_at", "outcome", "taken_by")

    @admin.display(description=_("time"), ordering="quota__slot__starts_at")
    def slot_time(self, obj: HeldPlace) -> datetime.datetime:
        return obj.quota.slot.starts_at

    @admin.display(description=_("doctor"))
    def doctor(self, obj: HeldPlace) -> str:
        return obj.quota.slot.session.doctor.name

    @admin.display(description=_("channel"))
    def channel(self, obj: HeldPlace) -> str:
        return obj.quota.get_channel_display()


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "patient_name",
        "session",
        "status",
        "position",
        "created_at",
        "booking",
        "closed_at",
    )
    list_filter = ("status", "session__date", "session__department")
    search_fields = ("patient__real_name", "patient__medical_record_number")
    list_select_related = ("patient", "session__doctor", "booking")
    readonly_fields = (
        "patient",
        "session",
        "requested_by",
        "status",
        "booking",
        "created_at",
        "closed_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[WaitlistEntry]:
        # The position in one query: waiting entries of the same session joined no later.
        ahead = (
            WaitlistEntry.objects.filter(
                session_id=OuterRef("session_id"), status=WaitlistEntry.Status.WAITING
            )
            .filter(
                Q(created_at__lt=OuterRef("created_at"))
                | Q(created_at=OuterRef("created_at"), pk__lte=OuterRef("pk"))
            )
            .order_by()
            .values("session_id")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(waitlist_position=Subquery(ahead, output_field=IntegerField()))
        )

    def get_urls(self):
        # The "Stop session [停诊]" page: /admin/booking/waitlistentry/stop-session/
        stop = path(
            "stop-session/",
            self.admin_site.admin_view(stop_session_view),
            name="booking_stop_session",
        )
        return [stop, *super().get_urls()]

    @admin.display(description=_("patient"), ordering="patient__real_name")
    def patient_name(self, obj: WaitlistEntry) -> str:
        return obj.patient.real_name

    @admin.display(description=_("position"))
    def position(self, obj: WaitlistEntry) -> int | str:
        if obj.status != WaitlistEntry.Status.WAITING:
            return "-"
        return obj.waitlist_position


# --- stopping a session [停诊] --------------------------------------------------------


# Who may stop a session [停诊]: the stop page and the button on a session's admin page.
STOP_PERMISSION = "clinics.stop_session"


def can_stop_sessions(user) -> bool:
    return user.has_perm(STOP_PERMISSION)


class SessionStopForm(forms.Form):
    session = forms.ModelChoiceField(
        label=_("session"),
        queryset=Session.objects.none(),
        help_text=_("Open sessions that have not ended, in time order."),
    )
    reason = forms.CharField(
        label=_("reason (told to the patients)"), max_length=200, widget=forms.Textarea
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["session"].queryset = session_list_stoppable()


def stop_session_view(request: HttpRequest) -> HttpResponse:
    """The admin's "Stop session [停诊]" page, in two steps like a deletion: the session
    and the reason, then a confirmation that says how many bookings the stop cancels
    (and so how many patients it tells); only the confirmed form calls session_stop."""
    if not can_stop_sessions(request.user):
        raise PermissionDenied
    initial = {"session": request.GET.get("session")}
    form = SessionStopForm(request.POST or None, initial=initial)
    context = {
        **admin.site.each_context(request),
        "title": _("Stop session [停诊]"),
        "explanation": _(
            "Every booking of the session is cancelled by the hospital (never a no-show), "
            "each patient is told once with up to three alternatives, and the waitlist "
            "closes. This cannot be undone."
        ),
        "form": form,
    }
    if request.method == "POST" and form.is_valid():
        session = form.cleaned_data["session"]
        session_page = reverse("admin:clinics_session_change", args=[session.pk])
        if request.POST.get("confirm") != "yes":
            context |= {
                "title": _("Stop this session? [停诊]"),
                "session": session,
                "reason": form.cleaned_data["reason"],
                "bookings": session_active_booking_count(session=session),
                "session_page": session_page,
            }
            return TemplateResponse(request, "admin/booking/stop_session_confirm.html", context)
        try:
            result = services.session_stop(
                session=session, reason=form.cleaned_data["reason"], stopped_by=request.user
            )
        except YuyueError as error:
            form.add_error(None, error.detail)
        else:
            if result.stopped:
                messages.success(
                    request,
                    _(
                        "Session stopped: %(bookings)d bookings cancelled by the hospital "
                        "and their patients told, %(entries)d waitlist entries closed."
                    )
                    % {"bookings": result.bookings_cancelled, "entries": result.waitlist_closed},
                )
            else:
                messages.warning(request, _("The session was already stopped."))
            # Back to the session, where its sign is now linked.
            return HttpResponseRedirect(session_page)
    return TemplateResponse(request, "admin/booking/stop_session.html", context)
