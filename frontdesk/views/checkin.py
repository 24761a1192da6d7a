"""Check-in [签到] at the desk: one field for a booking code, what a QR scanner types (the
code), or a phone number (then the phone's bookings today to choose from).

An admin page (frontdesk/admin.py: staff and a verified second factor); the check-in
itself is `frontdesk.services.queue_check_in`, and its refusals are shown in the user's
language, a hospital cancellation with the alternatives the patient can book instead.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from booking.exceptions import BookingCancelledByHospital
from booking.models import Booking
from booking.selectors import desk as desk_selectors
from core.errors import YuyueError
from frontdesk import services as desk_services
from frontdesk.forms import CheckInBookingForm, CheckInForm
from frontdesk.selectors import mask_name
from frontdesk.views.pages import admin_context, require_any
from frontdesk.views.walkin import CHECK_IN_PERMISSION
from patients.exceptions import InvalidPhone
from patients.services import contact_phone_clean


def checkin_page(request: HttpRequest, *, model_admin) -> HttpResponse:
    require_any(request, CHECK_IN_PERMISSION)
    now = timezone.now()
    context: dict = {"form": CheckInForm()}
    if request.method == "POST":
        if "booking" in request.POST:
            chosen = CheckInBookingForm(request.POST)
            booking = None
            if chosen.is_valid():
                booking = desk_selectors.booking_get_for_desk(
                    booking_id=chosen.cleaned_data["booking"]
                )
            if booking is None:
                messages.error(request, _("No such booking. Please search again."))
                return HttpResponseRedirect(reverse("admin:frontdesk_checkin"))
            done = _check_in(
                request, booking, disability=chosen.cleaned_data["disability"], context=context
            )
            if done is not None:
                return done
        else:
            form = CheckInForm(request.POST)
            context["form"] = form
            if form.is_valid():
                done = _lookup(request, form, now=now, context=context)
                if done is not None:
                    return done
    return TemplateResponse(
        request,
        "frontdesk/checkin.html",
        admin_context(request, model_admin, title=_("Check-in"), **context),
    )


def _lookup(request: HttpRequest, form: CheckInForm, *, now, context: dict):
    """A booking code checks in at once; a phone lists that phone's bookings today."""
    text = form.cleaned_data["q"]
    disability = form.cleaned_data["disability"]
    booking = desk_selectors.booking_find_by_code(code=text)
    if booking is not None:
        return _check_in(request, booking, disability=disability, context=context)
    try:
        phone = contact_phone_clean(text)
    except InvalidPhone:
        phone = ""
    if not phone:
        form.add_error("q", _("No booking has this code. Check the code or type the phone."))
        return None
    bookings = desk_selectors.bookings_today_for_phone(phone=phone, now=now)
    for booking in bookings:
        booking.masked_name = mask_name(booking.patient.real_name)
    if not bookings:
        form.add_error("q", _("This phone has no booking today."))
        return None
    context["bookings"] = bookings
    context["disability"] = disability
    context["CHECKABLE"] = (Booking.Status.CONFIRMED, Booking.Status.CHECKED_IN)
    return None


def _check_in(request: HttpRequest, booking: Booking, *, disability: bool, context: dict):
    try:
        ticket = desk_services.queue_check_in(
            booking=booking, checked_in_by=request.user, disability=disability
        )
    except BookingCancelledByHospital as error:
        messages.error(request, error.detail)
        context["cancelled"] = booking
        context["alternatives"] = error.alternatives
        return None
    except YuyueError as error:
        messages.error(request, error.detail)
        return None
    text = _("%(name)s checked in: queue number %(number)s, room %(room)s.") % {
        "name": mask_name(booking.patient.real_name),
        "number": ticket.number,
        "room": str(booking.session.room),
    }
    messages.success(request, text)
    if ticket.late:
        messages.warning(request, _("Arrived late: goes to the end of the queue."))
    return HttpResponseRedirect(reverse("admin:frontdesk_checkin"))
