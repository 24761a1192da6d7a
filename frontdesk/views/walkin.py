"""Walk-in registration and booking, phone booking, the printed ticket.

Admin pages (frontdesk/admin.py routes them through `admin_site.admin_view`: staff and
a verified second factor). Each page is one flow whose state lives in the query string
(`q`, `patient`, `department`, `session`) and in hidden fields; every write is one
service call, and a refusal is shown as a message in the user's language with nothing
changed. Book buttons carry a one-time idempotency key: a double click books once.
"""

import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from booking import services as booking_services
from booking.models import Booking
from booking.selectors import desk as desk_selectors
from clinics import selectors as clinic_selectors
from clinics.models import Channel, Department, Session, Slot
from core.errors import YuyueError
from core.qr import qr_svg
from frontdesk.forms import (
    BookForm,
    DepartmentForm,
    DeskPatientForm,
    ExtraPlaceForm,
    PatientSearchForm,
    new_key,
)
from frontdesk.selectors import mask_name
from frontdesk.views.pages import admin_context, require_any
from patients import selectors as patient_selectors
from patients import services as patient_services
from patients.exceptions import PatientAlreadyRegistered
from patients.identity import age_on, mask_phone
from patients.models import Patient

WALKIN_PERMISSION = "frontdesk.book_walkin"
PHONE_PERMISSION = "frontdesk.book_phone"
CHECK_IN_PERMISSION = "frontdesk.check_in"
EXTRA_PLACE_PERMISSION = "frontdesk.add_extra_place"


# --- small helpers shared by the desk's pages ---------------------------------------------


def describe_patient(patient: Patient, *, today: datetime.date) -> Patient:
    """Attach what the desk may show of a patient: the ID's last 4 characters only, the
    age, and the phone masked."""
    number = patient.document_number or ""
    patient.id_tail = number[-4:] if number else ""
    patient.age = age_on(patient.birth_date, today)
    patient.masked_phone = mask_phone(patient.phone or patient.account.phone or "")
    return patient


def _url(name: str, **params) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return reverse(name) + (f"?{query}" if query else "")


def _patient_flow(request: HttpRequest, *, page: str, now: datetime.datetime) -> dict:
    """The part both booking pages share: search, results, the new-patient form, the
    chosen patient, the department chooser."""
    today = timezone.localdate(now)
    search_form = PatientSearchForm(request.GET if "q" in request.GET else None)
    results = None
    if search_form.is_bound and search_form.is_valid():
        results = [
            describe_patient(p, today=today)
            for p in patient_selectors.patient_search(query=search_form.cleaned_data["q"])
        ]
    patient = patient_selectors.patient_get_for_desk(patient_id=request.GET.get("patient"))
    if patient is not None:
        describe_patient(patient, today=today)
    # The chooser needs no sub-clinics: one query to validate, one to draw.
    departments = clinic_selectors.department_list().prefetch_related(None)
    department_form = DepartmentForm(
        request.GET if patient is not None and "department" in request.GET else None,
        departments=departments,
    )
    department = None
    if department_form.is_bound and department_form.is_valid():
        department = department_form.cleaned_data["department"]
    return {
        "page": page,
        "page_url": reverse(page),
        "search_form": search_form,
        "results": results,
        "patient": patient,
        "new_form": DeskPatientForm(),
        "show_new": request.GET.get("new") == "1",
        "department_form": department_form,
        "department": department,
    }


def _register(request: HttpRequest, *, page: str, context: dict) -> HttpResponse | None:
    """POST action=register: the new-patient form. Returns the redirect to the chosen
    patient, or None with the form's errors (or the already-registered patient) in
    `context`."""
    form = DeskPatientForm(request.POST)
    context["new_form"] = form
    context["show_new"] = True
    if not form.is_valid():
        return None
    try:
        patient = patient_services.patient_register_at_desk(
            **form.service_arguments(), registered_by=request.user
        )
    except PatientAlreadyRegistered as error:
        existing = getattr(error, "patient", None)
        if existing is None:
            form.show_refusal(error)
            return None
        context["existing"] = describe_patient(existing, today=timezone.localdate(timezone.now()))
        messages.warning(
            request,
            _("This person is already registered. Choose the registered patient below."),
        )
        return None
    except YuyueError as error:
        form.show_refusal(error)
        return None
    messages.success(
        request,
        _("Registered %(name)s, medical record number %(number)s.")
        % {"name": patient.real_name, "number": patient.medical_record_number},
    )
    return HttpResponseRedirect(_url(page, patient=patient.pk))


def _posted_patient(request: HttpRequest) -> Patient:
    patient = patient_selectors.patient_get_for_desk(patient_id=request.POST.get("patient"))
    if patient is None:
        raise PermissionDenied  # a tampered form: no such patient to book for
    return patient


# --- walk-in ----------------------------------------------------------------------------


def walkin_page(request: HttpRequest, *, model_admin) -> HttpResponse:
    """Search or register the patient at the window, choose a department, book today's
    walk-in place (or an extra place [加号]), then print the ticket."""
    require_any(request, WALKIN_PERMISSION)
    now = timezone.now()
    page = "admin:frontdesk_walkin"
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "book":
            return _walkin_book(request)
        if action == "extra":
            return _walkin_extra(request)
    context = _patient_flow(request, page=page, now=now)
    if request.method == "POST" and request.POST.get("action") == "register":
        done = _register(request, page=page, context=context)
        if done is not None:
            return done
    if context["patient"] is not None and context["department"] is not None:
        sessions = desk_selectors.walkin_sessions_today(department=context["department"], now=now)
        for session in sessions:
            session.book_key = new_key()
        context["sessions"] = sessions
    context["can_add_extra"] = request.user.has_perm(EXTRA_PLACE_PERMISSION)
    return TemplateResponse(
        request,
        "frontdesk/walkin.html",
        admin_context(request, model_admin, title=_("Walk-in registration"), **context),
    )


def _back_to_sessions(request: HttpRequest, page: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(
        _url(
            page,
            patient=request.POST.get("patient"),
            department=request.POST.get("department"),
            session=request.POST.get("session_shown"),
        )
    )


def _book(request: HttpRequest, *, channel: str, page: str) -> Booking | HttpResponse:
    """Book the posted slot for the posted patient through `channel` (walk-in or phone);
    a refusal goes back to the sessions with its message."""
    form = BookForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The form was incomplete. Please choose the session again."))
        return _back_to_sessions(request, page)
    patient = _posted_patient(request)
    slot = get_object_or_404(Slot, pk=form.cleaned_data["slot"])
    try:
        return booking_services.booking_create(
            patient=patient,
            slot=slot,
            channel=channel,
            requested_by=request.user,
            idempotency_key=form.cleaned_data["key"],
        )
    except YuyueError as error:
        messages.error(request, error.detail)
        return _back_to_sessions(request, page)


def _walkin_book(request: HttpRequest) -> HttpResponse:
    booked = _book(request, channel=Channel.WALKIN, page="admin:frontdesk_walkin")
    if isinstance(booked, HttpResponse):
        return booked
    return HttpResponseRedirect(reverse("admin:frontdesk_ticket", args=[booked.pk]))


def _walkin_extra(request: HttpRequest) -> HttpResponse:
    require_any(request, EXTRA_PLACE_PERMISSION)
    form = ExtraPlaceForm(request.POST)
    # The reason's absence is the service's refusal (extra_place_reason_required).
    form.fields["reason"].required = False
    if not form.is_valid():
        messages.error(request, _("The form was incomplete. Please choose the session again."))
        return _back_to_sessions(request, "admin:frontdesk_walkin")
    patient = _posted_patient(request)
    session = get_object_or_404(Session, pk=form.cleaned_data["session"])
    try:
        booking = booking_services.booking_create_extra(
            patient=patient,
            session=session,
            requested_by=request.user,
            reason=form.cleaned_data["reason"],
            idempotency_key=form.cleaned_data["key"],
        )
    except YuyueError as error:
        messages.error(request, error.detail)
        return _back_to_sessions(request, "admin:frontdesk_walkin")
    return HttpResponseRedirect(reverse("admin:frontdesk_ticket", args=[booking.pk]))


# --- phone ------------------------------------------------------------------------------


def phone_page(request: HttpRequest, *, model_admin) -> HttpResponse:
    """Book for a caller: find or register the patient, department, session in the
    booking window with phone places, slot; the confirmation shows the booking code."""
    require_any(request, PHONE_PERMISSION)
    now = timezone.now()
    page = "admin:frontdesk_phone"
    if request.method == "POST" and request.POST.get("action") == "book":
        return _phone_book(request)
    booking_id = request.GET.get("booking")
    if booking_id:
        booking = desk_selectors.booking_get_for_desk(booking_id=booking_id)
        if booking is None or booking.channel != Channel.PHONE:
            raise Http404("no such phone booking")
        recipient = booking.patient.phone or booking.patient.account.phone or ""
        return TemplateResponse(
            request,
            "frontdesk/phone_done.html",
            admin_context(
                request,
                model_admin,
                title=_("Phone booking made"),
                booking=booking,
                masked_name=mask_name(booking.patient.real_name),
                masked_recipient=mask_phone(recipient),
                page_url=reverse(page),
            ),
        )
    context = _patient_flow(request, page=page, now=now)
    if request.method == "POST" and request.POST.get("action") == "register":
        done = _register(request, page=page, context=context)
        if done is not None:
            return done
    department: Department | None = context["department"]
    if context["patient"] is not None and department is not None:
        sessions = desk_selectors.phone_sessions(department=department, now=now)
        context["sessions"] = sessions
        chosen = next((s for s in sessions if str(s.pk) == request.GET.get("session")), None)
        if chosen is not None:
            slots = desk_selectors.session_slots_with_places(
                session=chosen, channel=Channel.PHONE, now=now
            )
            for slot in slots:
                slot.book_key = new_key()
            context["chosen"] = chosen
            context["slots"] = slots
    return TemplateResponse(
        request,
        "frontdesk/phone.html",
        admin_context(request, model_admin, title=_("Phone booking"), **context),
    )


def _phone_book(request: HttpRequest) -> HttpResponse:
    booked = _book(request, channel=Channel.PHONE, page="admin:frontdesk_phone")
    if isinstance(booked, HttpResponse):
        return booked
    return HttpResponseRedirect(_url("admin:frontdesk_phone", booking=booked.pk))


# --- the printed ticket -------------------------------------------------------------------


def ticket_page(request: HttpRequest, booking_id: int, *, model_admin) -> HttpResponse:
    """A ticket for an 80 mm receipt printer: queue number, where and when, the booking
    code and its QR code (what the check-in scanner reads)."""
    require_any(request, WALKIN_PERMISSION, CHECK_IN_PERMISSION)
    booking = desk_selectors.booking_get_for_desk(booking_id=booking_id)
    if booking is None:
        raise Http404("no such booking")
    return TemplateResponse(
        request,
        "frontdesk/ticket.html",
        admin_context(
            request,
            model_admin,
            title=_("Ticket %(code)s") % {"code": booking.code},
            booking=booking,
            hospital=settings.YUYUE_HOSPITAL_NAME,
            masked_name=mask_name(booking.patient.real_name),
            qr_svg=qr_svg(
                booking.code,
                css_class="ticket__qr",
                label=_("QR code of booking code %(code)s") % {"code": booking.code},
            ),
            walkin_url=reverse("admin:frontdesk_walkin"),
        ),
    )
