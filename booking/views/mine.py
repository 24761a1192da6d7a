"""The patient's own pages: my bookings, cancel (with undo), reschedule, the waitlist and
my messages. Signed in only; only the account's own rows (another account's id is 404).

Thin: parse, call one selector or service, render. A refusal (a YuyueError from a
service) is shown on the page with its message and changes nothing; every rule is the
services' and `booking.rules`'. After a write the browser is redirected (POST, redirect,
GET), so reloading never repeats it; a double submit gets the first result.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from booking import services
from booking.forms_mine import ChoiceQueryForm, RescheduleConfirmForm, WaitlistJoinForm
from booking.models import Booking
from booking.selectors import mine as selectors
from clinics.models import Session, Slot
from core.errors import YuyueError
from patients.exceptions import NotYourPatient

NOT_FOUND = (NotYourPatient, Session.DoesNotExist, Slot.DoesNotExist)


def _mine_url(**done: int) -> str:
    """My bookings, saying what was just done (`?cancelled=<id>`), scrolled to it."""
    url = reverse("booking:mine")
    for what, pk in done.items():
        anchor = "waitlist" if what in ("joined", "left") else "booking"
        return f"{url}?{what}={pk}#{anchor}-{pk}"
    return url


def _int_param(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() and len(value) < 12 else None


def _mine_page(request: HttpRequest, *, refusal: YuyueError | None = None, about: int = 0):
    data = selectors.my_bookings(account=request.user, now=timezone.now())
    done = {
        what: _int_param(request, what)
        for what in ("cancelled", "undone", "rescheduled", "joined", "left")
    }
    return render(
        request,
        "booking/mine_list.html",
        {
            "data": data,
            "done": {what: pk for what, pk in done.items() if pk},
            "refusal": refusal,
            "refusal_about": about,
        },
        status=refusal.http_status if refusal else 200,
    )


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    """Upcoming and past bookings with their status in words, waitlist entries."""
    return _mine_page(request)


@login_required
@require_http_methods(["GET", "POST"])
def booking_cancel(request: HttpRequest, booking_id: int) -> HttpResponse:
    """GET: what will be cancelled and until when online; POST: cancel it."""
    try:
        preview = selectors.booking_cancel_preview(
            account=request.user, booking_id=booking_id, now=timezone.now()
        )
    except NOT_FOUND:
        raise Http404() from None
    refusal = None
    if request.method == "POST":
        try:
            services.booking_cancel(booking=preview.booking, requested_by=request.user)
        except YuyueError as exc:
            refusal = exc
        else:
            return HttpResponseRedirect(_mine_url(cancelled=booking_id))
    return render(
        request,
        "booking/mine_cancel.html",
        {"preview": preview, "refusal": refusal},
        status=refusal.http_status if refusal else 200,
    )


@login_required
@require_POST
def booking_undo(request: HttpRequest, booking_id: int) -> HttpResponse:
    """Take back a cancellation made a moment ago, while its place is still held."""
    try:
        booking = selectors.booking_get_mine(account=request.user, booking_id=booking_id)
    except NOT_FOUND:
        raise Http404() from None
    try:
        services.booking_cancel_undo(booking=booking, requested_by=request.user)
    except YuyueError as exc:
        return _mine_page(request, refusal=exc, about=booking_id)
    return HttpResponseRedirect(_mine_url(undone=booking_id))


@login_required
@require_http_methods(["GET", "POST"])
def booking_reschedule(request: HttpRequest, booking_id: int) -> HttpResponse:
    """GET, choices in the query string: the sessions with places, then a session's
    slots, then the confirmation (with a fresh idempotency key). POST: move."""
    now = timezone.now()
    if request.method == "POST":
        form = RescheduleConfirmForm(request.POST)
        if not form.is_valid():
            raise Http404()
        try:
            booking = selectors.booking_get_mine(account=request.user, booking_id=booking_id)
            new_slot = selectors.slot_get_for_reschedule(
                booking=booking,
                session_id=form.cleaned_data["session"],
                slot_id=form.cleaned_data["slot"],
            )
        except NOT_FOUND:
            raise Http404() from None
        try:
            moved = services.booking_reschedule(
                booking=booking,
                new_slot=new_slot,
                requested_by=request.user,
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
        except YuyueError as exc:
            # The choices as they are now: the alternatives to the refused place.
            choices = selectors.reschedule_choices(
                account=request.user, booking_id=booking_id, now=now
            )
            return render(
                request,
                "booking/mine_reschedule.html",
                {"choices": choices, "refusal": exc, "refused_slot": new_slot},
                status=exc.http_status,
            )
        return HttpResponseRedirect(_booking_url(moved))
    query = ChoiceQueryForm(request.GET)
    if not query.is_valid():
        raise Http404()
    try:
        choices = selectors.reschedule_choices(
            account=request.user,
            booking_id=booking_id,
            now=now,
            session_id=query.cleaned_data["session"],
            slot_id=query.cleaned_data["slot"],
        )
    except NOT_FOUND:
        raise Http404() from None
    confirm = None
    if choices.slot is not None:
        confirm = RescheduleConfirmForm(
            initial={
                "session": choices.session.pk,
                "slot": choices.slot.pk,
                "idempotency_key": RescheduleConfirmForm.new_key(),
            }
        )
    return render(request, "booking/mine_reschedule.html", {"choices": choices, "confirm": confirm})


def _booking_url(booking: Booking) -> str:
    """The booking's confirmation page when it is built, else my bookings."""
    try:
        return reverse("booking:booking-detail", args=[booking.code])
    except NoReverseMatch:
        return _mine_url(rescheduled=booking.pk)


@login_required
@require_http_methods(["GET", "POST"])
def waitlist_join(request: HttpRequest) -> HttpResponse:
    """A full session (?session=<id>): choose a patient, confirm, join."""
    session_id = _int_param(request, "session")
    if session_id is None:
        raise Http404()
    try:
        choices = selectors.waitlist_join_choices(account=request.user, session_id=session_id)
    except NOT_FOUND:
        raise Http404() from None
    form = WaitlistJoinForm(
        request.POST if request.method == "POST" else None, patients=choices.patients
    )
    refusal = None
    if request.method == "POST" and form.is_valid():
        try:
            patient = selectors.patient_get_mine(
                account=request.user, patient_id=form.cleaned_data["patient"]
            )
        except NOT_FOUND:
            raise Http404() from None
        try:
            entry = services.waitlist_join(
                patient=patient, session=choices.session, requested_by=request.user
            )
        except YuyueError as exc:
            refusal = exc
        else:
            return HttpResponseRedirect(_mine_url(joined=entry.pk))
    status = refusal.http_status if refusal else (400 if form.errors else 200)
    return render(
        request,
        "booking/mine_waitlist_join.html",
        {"choices": choices, "form": form, "refusal": refusal},
        status=status,
    )


@login_required
@require_POST
def waitlist_leave(request: HttpRequest, entry_id: int) -> HttpResponse:
    try:
        entry = selectors.waitlist_entry_get_mine(account=request.user, entry_id=entry_id)
    except NOT_FOUND:
        raise Http404() from None
    try:
        services.waitlist_leave(entry=entry, requested_by=request.user)
    except YuyueError as exc:
        return _mine_page(request, refusal=exc, about=entry_id)
    return HttpResponseRedirect(_mine_url(left=entry_id))


@login_required
def messages(request: HttpRequest) -> HttpResponse:
    """The account's messages, newest first, each linking to its booking."""
    return render(
        request,
        "booking/mine_messages.html",
        {"items": selectors.message_list_for_account(account=request.user)},
    )
