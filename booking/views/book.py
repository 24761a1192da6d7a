"""The booking steps: the red-flag check, then department → doctor → day → time band →
confirm, and the confirmation page with its calendar file.

Every choice travels in the query string of GET pages (`/book/doctor/?department=3`),
so Back never loses input and a sign-in that interrupts a step comes back to it
(`next`). Only the final confirm is a POST, carrying an idempotency key made when the
confirm page rendered: a double submit is one booking. Browsing is public; confirming
and the confirmation page need the patient's account. Thin: parse, read through
`booking.selectors.booking_steps`, write through `booking.services.booking_create`.
"""

import uuid
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from booking.forms import ConfirmForm, RedFlagForm
from booking.selectors import booking_steps as selectors
from booking.services import booking_create
from clinics import selectors as clinic_selectors
from clinics.models import Channel
from core.errors import YuyueError
from core.metrics import booking_refused
from core.qr import qr_svg
from patients import selectors as patient_selectors
from patients.exceptions import NotYourPatient

# The choices a step passes on, in the order they are made.
CARRIED = ("department", "doctor", "session", "slot", "patient")
STEPS = (
    ("booking:department", _("Clinic"), ()),
    ("booking:doctor", _("Doctor"), ("department",)),
    ("booking:session", _("Day"), ("department", "doctor")),
    ("booking:slot", _("Time"), ("department", "doctor", "session")),
    ("booking:confirm", _("Confirm"), ("department", "doctor", "session", "slot")),
)
# Refusals after which other places of the same kind are worth offering.
OFFER_ALTERNATIVES = frozenset({"slot_full", "slot_started", "session_stopped"})


def step_url(name: str, **choices: object) -> str:
    """A step's address with the choices made so far (empty ones left out)."""
    query = {key: choices[key] for key in CARRIED if choices.get(key) not in (None, "")}
    url = reverse(name)
    return f"{url}?{urlencode(query)}" if query else url


def _carried(request: HttpRequest) -> dict[str, str]:
    """The choices in the query string, as given (each step validates what it uses)."""
    return {key: request.GET[key] for key in CARRIED if request.GET.get(key)}


def _steps(current: int, choices: dict) -> list[dict]:
    """The step indicator: each step's number and name, a link back to the steps
    already taken (with their choices), `current` marked."""
    steps = []
    for number, (name, label, needs) in enumerate(STEPS, start=1):
        url = None
        if number < current:
            url = step_url(name, **{key: choices.get(key) for key in (*needs, "patient")})
        steps.append({"number": number, "label": label, "url": url, "current": number == current})
    return steps


def _context(current: int, choices: dict, **extra) -> dict:
    return {
        "steps": _steps(current, choices),
        "step": current,
        "step_count": len(STEPS),
        "choices": choices,
        **extra,
    }


def patient_add_url() -> str | None:
    """The "add a family member" page, once the account pages provide it."""
    try:
        return reverse("patients:patient-add")
    except NoReverseMatch:
        return None


def _clinic_phone(department) -> str:
    parent = department.parent
    return department.phone or (parent.phone if parent else "") or settings.YUYUE_HOSPITAL_PHONE


@require_GET
def start(request: HttpRequest) -> HttpResponse:
    """Step 0, the red-flag check: an eye emergency goes to the emergency department
    now, not to a booking days away."""
    choices = _carried(request)
    form = RedFlagForm(request.GET if "red_flags" in request.GET else None)
    if form.is_valid():
        if form.cleaned_data["red_flags"] == RedFlagForm.NO:
            # Came with a clinic (and a doctor) chosen, e.g. from a doctor's card: go on
            # from there; each step still validates what it is given.
            if "department" in choices and "doctor" in choices:
                return redirect(step_url("booking:session", **choices))
            if "department" in choices:
                return redirect(step_url("booking:doctor", **choices))
            return redirect(step_url("booking:department", **choices))
        return render(
            request,
            "booking/book_emergency.html",
            {"back_url": step_url("booking:start", **choices)},
        )
    return render(request, "booking/book_start.html", {"form": form, "choices": choices})


@require_GET
def department(request: HttpRequest) -> HttpResponse:
    """Step 1: the clinic."""
    choices = _carried(request)
    departments = [
        d for d in clinic_selectors.department_list() if d.parent is None or not d.parent.is_active
    ]
    return render(
        request,
        "booking/book_department.html",
        _context(1, choices, departments=departments),
    )


def _department_or_404(request: HttpRequest):
    department = selectors.department_get(department_id=request.GET.get("department"))
    if department is None:
        raise Http404("No such clinic.")
    return department


@require_GET
def doctor(request: HttpRequest) -> HttpResponse:
    """Step 2: a doctor — title, level, fee, specialties, where the next place is — or
    any doctor."""
    choices = _carried(request)
    if "department" not in choices:
        return redirect(step_url("booking:department", **choices))
    department = _department_or_404(request)
    doctors = selectors.doctor_list_for_booking(department=department, now=timezone.now())
    return render(
        request,
        "booking/book_doctor.html",
        _context(2, choices, department=department, doctors=doctors),
    )


@require_GET
def session(request: HttpRequest) -> HttpResponse:
    """Step 3: the booking window's days, each session's online places in words."""
    choices = _carried(request)
    if "department" not in choices:
        return redirect(step_url("booking:department", **choices))
    department = _department_or_404(request)
    chosen_doctor = None
    if "doctor" in choices:
        chosen_doctor = selectors.doctor_get(doctor_id=choices["doctor"], department=department)
        if chosen_doctor is None:
            raise Http404("No such doctor in this clinic.")
    now = timezone.now()
    policy, days = selectors.session_week(department=department, doctor=chosen_doctor, now=now)
    return render(
        request,
        "booking/book_session.html",
        _context(
            3,
            choices,
            department=department,
            doctor=chosen_doctor,
            policy=policy,
            days=days,
            today=timezone.localdate(now),
            clinic_phone=_clinic_phone(department),
            walkin_windows=settings.YUYUE_WALKIN_WINDOWS,
            walkin_hours=settings.YUYUE_WALKIN_HOURS,
        ),
    )


@require_GET
def slot(request: HttpRequest) -> HttpResponse:
    """Step 4: a time band of the chosen session, with the places left in each."""
    choices = _carried(request)
    if "session" not in choices:
        return redirect(step_url("booking:session", **choices))
    chosen = selectors.session_for_booking(session_id=choices["session"], now=timezone.now())
    if chosen is None:
        raise Http404("No such session.")
    # The session names its clinic; a tampered department in the query never misleads.
    choices["department"] = str(chosen.department_id)
    return render(
        request,
        "booking/book_slot.html",
        _context(
            4,
            choices,
            session=chosen,
            online=chosen.availability[Channel.ONLINE],
            clinic_phone=_clinic_phone(chosen.department),
            walkin_windows=settings.YUYUE_WALKIN_WINDOWS,
            walkin_hours=settings.YUYUE_WALKIN_HOURS,
        ),
    )


def _confirm_page(
    request: HttpRequest,
    *,
    choices: dict,
    chosen_slot,
    form: ConfirmForm,
    refusal: YuyueError | None = None,
    status: int = 200,
    patients: list | None = None,
) -> HttpResponse:
    now = timezone.now()
    session_ = chosen_slot.session
    choices = {
        **choices,
        "department": str(session_.department_id),
        "session": str(session_.pk),
        "slot": str(chosen_slot.pk),
    }
    alternatives = None
    if refusal is not None and refusal.code in OFFER_ALTERNATIVES:
        alternatives = selectors.slot_alternatives(slot=chosen_slot, now=now)
    if patients is None:
        patients = list(patient_selectors.patient_list_for_account(account=request.user))
    return render(
        request,
        "booking/book_confirm.html",
        _context(
            5,
            choices,
            slot=chosen_slot,
            session=session_,
            patients=patients,
            form=form,
            refusal=refusal,
            alternatives=alternatives,
            patient_add_url=patient_add_url(),
            clinic_phone=_clinic_phone(session_.department),
            walkin_windows=settings.YUYUE_WALKIN_WINDOWS,
            walkin_hours=settings.YUYUE_WALKIN_HOURS,
        ),
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest) -> HttpResponse:
    """Step 5: for whom, then one POST that books. GET shows the place and the account's
    patients with a fresh idempotency key; POST calls `booking_create` once. A refusal
    shows its message, and after a full or started slot or a stopped session the
    nearest free alternatives, each one tap back into step 4 or 5."""
    if request.method == "POST":
        return _confirm_post(request)
    choices = _carried(request)
    if "slot" not in choices:
        return redirect(step_url("booking:slot", **choices))
    chosen_slot = selectors.slot_for_booking(slot_id=choices["slot"], now=timezone.now())
    if chosen_slot is None:
        raise Http404("No such time band.")
    initial = {"slot": chosen_slot.pk, "idempotency_key": uuid.uuid4().hex}
    patients = list(patient_selectors.patient_list_for_account(account=request.user))
    if "patient" in choices:
        # Only one of the account's own patients: another account's id is "not found".
        chosen = [p for p in patients if str(p.pk) == choices["patient"]]
        if not chosen:
            raise Http404("No such patient in this account.")
        initial["patient"] = chosen[0].pk
    return _confirm_page(
        request,
        choices=choices,
        chosen_slot=chosen_slot,
        form=ConfirmForm(initial=initial),
        patients=patients,
    )


def _confirm_post(request: HttpRequest) -> HttpResponse:
    form = ConfirmForm(request.POST)
    valid = form.is_valid()
    chosen_slot = selectors.slot_for_booking(slot_id=request.POST.get("slot"), now=timezone.now())
    if chosen_slot is None:
        raise Http404("No such time band.")
    choices = {"patient": request.POST.get("patient", "")}
    if not valid:
        if "idempotency_key" in form.errors:
            # A missing or mangled key: start the form again with a fresh one.
            form = ConfirmForm(
                initial={"slot": chosen_slot.pk, "idempotency_key": uuid.uuid4().hex}
            )
        return _confirm_page(
            request, choices=choices, chosen_slot=chosen_slot, form=form, status=400
        )
    try:
        patient = patient_selectors.patient_get_for_account(
            account=request.user, patient_id=form.cleaned_data["patient"]
        )
    except NotYourPatient:
        raise Http404("No such patient in this account.") from None
    try:
        booking = booking_create(
            patient=patient,
            slot=chosen_slot,
            channel=Channel.ONLINE,
            requested_by=request.user,
            idempotency_key=form.cleaned_data["idempotency_key"],
        )
    except YuyueError as refusal:
        booking_refused(refusal.code)
        return _confirm_page(
            request,
            choices=choices,
            chosen_slot=chosen_slot,
            form=form,
            refusal=refusal,
            status=refusal.http_status,
        )
    return redirect("booking:booking-detail", code=booking.code)


def _booking_or_404(request: HttpRequest, code: str):
    booking = selectors.booking_get_by_code(account=request.user, code=code)
    if booking is None:
        raise Http404("No such booking in this account.")
    return booking


@login_required
@require_GET
def booking_detail(request: HttpRequest, code: str) -> HttpResponse:
    """The confirmation: code, queue number, when and where, how to prepare, a QR code
    for check-in, a calendar file and the whole as text to copy."""
    booking = _booking_or_404(request, code)
    return render(
        request,
        "booking/confirmation.html",
        {
            "booking": booking,
            "location": selectors.booking_location(booking),
            "qr": qr_svg(booking.code, css_class="sign__qr-code", label=f"QR code: {booking.code}"),
            "hospital_phone": settings.YUYUE_HOSPITAL_PHONE,
        },
    )


@login_required
@require_GET
def booking_ics(request: HttpRequest, code: str) -> HttpResponse:
    """The booking as an .ics file (Asia/Shanghai), for the phone's calendar."""
    booking = _booking_or_404(request, code)
    language = translation.get_language() or settings.LANGUAGE_CODE
    ics = selectors.booking_calendar(booking=booking, language=language)
    if ics is None:
        raise Http404("No calendar for this booking.")
    response = HttpResponse(ics, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="booking-{booking.code}.ics"'
    return response
