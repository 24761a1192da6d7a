"""The front desk's and phone centre's API: book for a caller, check in, the day's queue.

Thin: parse, call the same service or selector as the desk's admin pages, render. Every
method needs staff with a verified second factor and the desk page's permission
(`core.api.Staff`); refusals are the services' YuyueErrors, rendered as {code, detail}.
"""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from booking import exceptions as booking_errors
from booking import services as booking_services
from booking.apis.mine import IDEMPOTENCY_PARAMETER, MyBookingResponse, idempotency_key
from booking.selectors import desk as desk_selectors
from clinics.models import Channel, ClinicLevel, Session, Slot
from core.api import ApiView, ErrorSerializer, Staff, error_responses
from core.throttles import AnonReadThrottle, BookingWriteThrottle
from frontdesk import services as desk_services
from frontdesk.models import QueueTicket
from frontdesk.selectors import queue_for_session, queue_sessions_visible
from patients.models import Patient

# booking_create's refusals that a staff booking in the phone channel can meet.
PHONE_BOOKING_ERRORS = (
    booking_errors.SessionStopped,
    booking_errors.SlotStarted,
    booking_errors.OutsideWindow,
    booking_errors.NotYetReleased,
    booking_errors.ChannelClosed,
    booking_errors.PatientSuspended,
    booking_errors.AlreadyBookedSession,
    booking_errors.DuplicateDepartmentDay,
    booking_errors.DailyLimit,
    booking_errors.WeeklyLimit,
    booking_errors.SlotFull,
    booking_errors.IdempotencyKeyReused,
)
CHECK_IN_ERRORS = (
    booking_errors.BookingCancelledByHospital,
    booking_errors.BookingCancelled,
    booking_errors.NotCheckable,
    booking_errors.NotToday,
)


# --- phone bookings ------------------------------------------------------------------------


class StaffBookingCreateSerializer(serializers.Serializer):
    patient = serializers.PrimaryKeyRelatedField(
        queryset=Patient.objects.filter(removed_at__isnull=True),
        help_text="The patient's id (any account's: staff book for callers).",
    )
    slot = serializers.PrimaryKeyRelatedField(
        queryset=Slot.objects.select_related("session"),
        help_text="The slot's id; the place is taken from its phone quota.",
    )


class StaffBookingResponse(MyBookingResponse):
    """A booking as the desk sees it (the patient's full name is fine for staff): the
    patient's answer without the doctor's id, the move and the cancellation."""

    doctor = None
    rescheduled_from = None
    cancelled_at = None


class StaffBookingCreateApi(ApiView):
    """POST: book a place for a caller in the phone channel (`booking_create`)."""

    access = {"POST": Staff("frontdesk.book_phone")}
    throttle_classes = [AnonReadThrottle, BookingWriteThrottle]

    @extend_schema(
        operation_id="staff_bookings_create",
        summary="Book for a phone caller",
        description="The phone centre books `patient` into `slot` through the phone "
        "channel, with the same rules and messages as an online booking. Needs staff with "
        "a verified second factor and `frontdesk.book_phone`.",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=StaffBookingCreateSerializer,
        responses={201: StaffBookingResponse, **error_responses(*PHONE_BOOKING_ERRORS)},
    )
    def post(self, request: Request) -> Response:
        key = idempotency_key(request)
        data = StaffBookingCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        booking = booking_services.booking_create(
            patient=data.validated_data["patient"],
            slot=data.validated_data["slot"],
            channel=Channel.PHONE,
            requested_by=request.user,
            idempotency_key=key,
        )
        booking = desk_selectors.booking_get_for_desk(booking_id=booking.pk)
        return Response(StaffBookingResponse(booking).data, status=status.HTTP_201_CREATED)


# --- check-in --------------------------------------------------------------------------------


class StaffCheckInSerializer(serializers.Serializer):
    code = serializers.CharField(
        max_length=40,
        help_text="The booking code, as printed or as a QR scanner types it "
        "(case and spaces do not matter).",
    )
    disability = serializers.BooleanField(
        default=False, help_text="The patient has a disability: priority in the queue."
    )


class QueueTicketResponse(serializers.Serializer):
    """A checked-in patient's place in the session's queue."""

    id = serializers.IntegerField()
    booking = serializers.IntegerField(source="booking_id")
    booking_code = serializers.CharField(source="booking.code")
    session = serializers.IntegerField(source="session_id")
    room = serializers.IntegerField(source="room_id")
    number = serializers.IntegerField(help_text="The queue number [序号] shown on the board.")
    position = serializers.IntegerField(
        help_text="The order among the waiting (1 is next); kept when called or seen."
    )
    state = serializers.ChoiceField(choices=QueueTicket.State.choices)
    priority = serializers.ChoiceField(choices=QueueTicket.Priority.choices, allow_blank=True)
    late = serializers.BooleanField(help_text="Arrived after the slot ended: waits at the end.")
    skips = serializers.IntegerField()
    calls = serializers.IntegerField()
    patient_name = serializers.CharField(source="booking.patient.real_name")
    checked_in_at = serializers.DateTimeField()
    called_at = serializers.DateTimeField(allow_null=True)
    done_at = serializers.DateTimeField(allow_null=True)


class CheckInResponse(QueueTicketResponse):
    """The ticket of a checked-in patient, with the room to send them to."""

    room_code = serializers.CharField(source="room.code")
    room_name = serializers.CharField(source="room.name")


class AlternativeSessionResponse(serializers.Serializer):
    """A session with online places left where a patient of a stopped session can go."""

    id = serializers.IntegerField()
    date = serializers.DateField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    department = serializers.IntegerField(source="department_id")
    department_name = serializers.CharField(source="department.name")
    doctor = serializers.IntegerField(source="doctor_id")
    doctor_name = serializers.CharField(source="doctor.name")
    level = serializers.ChoiceField(choices=ClinicLevel.choices)


class CheckInRefusal(ErrorSerializer):
    """A refused check-in; for booking_cancelled_by_hospital, where the patient can go."""

    alternatives = AlternativeSessionResponse(
        many=True,
        required=False,
        help_text="Only with booking_cancelled_by_hospital: sessions with places left "
        "(the same doctor's next, then the same level in the same department that day).",
    )


def _check_in_responses() -> dict:
    responses = error_responses(*CHECK_IN_ERRORS)
    refused = responses[status.HTTP_409_CONFLICT]
    examples = []
    for example in refused.examples:
        if example.name == booking_errors.BookingCancelledByHospital.code:
            example = OpenApiExample(
                example.name,
                value={
                    **example.value,
                    "alternatives": [
                        {
                            "id": 42,
                            "date": "2026-11-24",
                            "starts_at": "2026-11-24T08:00:00+08:00",
                            "ends_at": "2026-11-24T12:00:00+08:00",
                            "department": 3,
                            "department_name": "Glaucoma clinic",
                            "doctor": 7,
                            "doctor_name": "Li Xiuying",
                            "level": "expert",
                        }
                    ],
                },
            )
        examples.append(example)
    responses[status.HTTP_409_CONFLICT] = OpenApiResponse(CheckInRefusal, examples=examples)
    return responses


class StaffCheckInApi(ApiView):
    """POST: check a booking's patient in and give them a place in the queue."""

    access = {"POST": Staff("frontdesk.check_in")}

    @extend_schema(
        operation_id="staff_check_ins_create",
        summary="Check a patient in",
        description="Checks in the booking with this code (`queue_check_in`) and returns "
        "its queue ticket; checking in again returns the same ticket. A booking the "
        "hospital cancelled is refused with the sessions the patient can book instead "
        "(`alternatives`). An unknown code answers 404. Needs staff with a verified "
        "second factor and `frontdesk.check_in`.",
        request=StaffCheckInSerializer,
        responses={200: CheckInResponse, **_check_in_responses()},
    )
    def post(self, request: Request) -> Response:
        data = StaffCheckInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        booking = desk_selectors.booking_find_by_code(code=data.validated_data["code"])
        if booking is None:
            raise exceptions.NotFound(_("No booking has this code. Check the code."))
        try:
            ticket = desk_services.queue_check_in(
                booking=booking,
                checked_in_by=request.user,
                disability=data.validated_data["disability"],
            )
        except booking_errors.BookingCancelledByHospital as refusal:
            body = {
                "code": refusal.code,
                "detail": refusal.detail,
                "alternatives": AlternativeSessionResponse(refusal.alternatives, many=True).data,
            }
            return Response(body, status=refusal.http_status)
        ticket = (
            QueueTicket.objects.select_related("booking__patient", "room")
            .filter(pk=ticket.pk)
            .get()
        )
        return Response(CheckInResponse(ticket).data)


# --- the queue -------------------------------------------------------------------------------


class QueueSessionResponse(serializers.Serializer):
    id = serializers.IntegerField()
    date = serializers.DateField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=Session.Status.choices)
    room = serializers.CharField(source="room.code")
    doctor_name = serializers.CharField(source="doctor.name")
    department_name = serializers.CharField(source="department.name")


class SessionQueueResponse(serializers.Serializer):
    """A session's queue: the patient being called, the waiting in order, the seen."""

    session = QueueSessionResponse()
    called = QueueTicketResponse(allow_null=True)
    waiting = QueueTicketResponse(many=True, help_text="In queue order: the first is next.")
    done = QueueTicketResponse(many=True, help_text="The seen patients, latest first.")


class StaffSessionQueueApi(ApiView):
    """GET: one session's queue, as the desk's queue page shows it."""

    access = {"GET": Staff("frontdesk.view_queueticket")}

    @extend_schema(
        operation_id="staff_session_queue",
        summary="A session's queue",
        description="The patient being called, the waiting in queue order and the seen "
        "(full names: staff only). Needs staff with a verified second factor and "
        "`frontdesk.view_queueticket`; a doctor sees only their own sessions (another "
        "session answers 404).",
        parameters=[
            OpenApiParameter("session_id", int, OpenApiParameter.PATH, description="Session id.")
        ],
        responses={200: SessionQueueResponse, **error_responses()},
    )
    def get(self, request: Request, session_id: str) -> Response:
        # A string route: an id that is no number answers this API's 404, not a page's.
        if not (session_id.isascii() and session_id.isdigit() and len(session_id) < 19):
            raise exceptions.NotFound()
        session = get_object_or_404(
            queue_sessions_visible(user=request.user).select_related(
                "doctor", "room", "department"
            ),
            pk=int(session_id),
        )
        queue = queue_for_session(session=session)
        body = {
            "session": session,
            "called": queue.called,
            "waiting": queue.waiting,
            "done": queue.done,
        }
        return Response(SessionQueueResponse(body).data)
