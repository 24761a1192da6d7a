"""The patient's own bookings and waitlist entries over the API.

Thin: parse, call the same selector or service as the "my bookings" pages
(booking.views.mine), render. Every method needs a signed-in patient account
(`PatientAccount`); every object is looked up through the caller's account, so another
account's id answers 404 `not_your_patient` and shows nothing of it.

Creating and moving a booking need an `Idempotency-Key` header: the services look the
key up under the patient's row lock, so a retry (or 30 at once) gets the first booking,
and the response is rendered from the booking's row as stored (as created, or read back
for a replay), never from what the request sent — every replay answers the same 201 and
body.
"""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from booking import exceptions as errors
from booking import services
from booking.models import Booking, WaitlistEntry
from booking.selectors import mine as selectors
from booking.selectors.waitlist import waitlist_list_for_account
from clinics.models import Channel, ClinicLevel, Session, Slot
from core.api import ApiView, PatientAccount, error_responses
from core.throttles import AnonReadThrottle, BookingWriteThrottle
from patients.exceptions import NotYourPatient

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX = Booking._meta.get_field("idempotency_key").max_length

# booking_create's refusals that a patient booking online for their own patient can meet.
BOOKING_CREATE_ERRORS = (
    NotYourPatient,
    errors.SessionStopped,
    errors.SlotStarted,
    errors.OutsideWindow,
    errors.NotYetReleased,
    errors.ChannelClosed,
    errors.PatientSuspended,
    errors.AlreadyBookedSession,
    errors.DuplicateDepartmentDay,
    errors.DailyLimit,
    errors.WeeklyLimit,
    errors.SlotFull,
    errors.IdempotencyKeyReused,
)
# booking_cancel's refusals for a patient cancelling their own booking.
BOOKING_CANCEL_ERRORS = (NotYourPatient, errors.CancelTooLate, errors.NotCancellable)
BOOKING_RESCHEDULE_ERRORS = (
    *BOOKING_CREATE_ERRORS,
    errors.CancelTooLate,
    errors.NotCancellable,
    errors.RescheduleSameSlot,
)
WAITLIST_JOIN_ERRORS = (
    NotYourPatient,
    errors.SessionStopped,
    errors.WaitlistClosed,
    errors.OutsideWindow,
    errors.NotYetReleased,
    errors.ChannelClosed,
    errors.PatientSuspended,
    errors.AlreadyBookedSession,
    errors.DuplicateDepartmentDay,
    errors.DailyLimit,
    errors.WeeklyLimit,
    errors.SessionHasPlaces,
    errors.AlreadyWaitlisted,
    errors.WaitlistLimit,
)
WAITLIST_LEAVE_ERRORS = (NotYourPatient, errors.NotWaiting)

# Reads by a patient are not throttled (AnonReadThrottle counts callers without an
# account); writes count per account.
WRITE_THROTTLES = [AnonReadThrottle, BookingWriteThrottle]

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    required=True,
    description="A key you choose (at most 64 characters), new for each booking or move. "
    "Retrying with the same key and body returns the first result (the same 201 status "
    "and body), however many retries arrive and whenever; the same key with another "
    "patient or slot is refused with 422 idempotency_key_reused.",
)


def idempotency_key(request: Request) -> str:
    """The request's Idempotency-Key header: required, at most 64 characters."""
    key = (request.headers.get(IDEMPOTENCY_HEADER) or "").strip()
    if not key:
        message = _("Send an Idempotency-Key header: the same key when you retry this request.")
        raise exceptions.ValidationError({IDEMPOTENCY_HEADER: [message]})
    if len(key) > IDEMPOTENCY_KEY_MAX:
        message = _("The Idempotency-Key header is at most %(max)d characters.") % {
            "max": IDEMPOTENCY_KEY_MAX
        }
        raise exceptions.ValidationError({IDEMPOTENCY_HEADER: [message]})
    return key


def _mine(request: Request, booking_id: int) -> Booking:
    """One of the caller's bookings, read from the database now (404 otherwise)."""
    return selectors.booking_get_mine(account=request.user, booking_id=booking_id)


# --- serializers ---------------------------------------------------------------------


class MyBookingResponse(serializers.Serializer):
    """One of the account's bookings: only what its row and the rows it names hold."""

    id = serializers.IntegerField()
    code = serializers.CharField(help_text="The booking code: what the patient shows at check-in.")
    queue_number = serializers.IntegerField(help_text="The queue number [序号] in its session.")
    status = serializers.ChoiceField(choices=Booking.Status.choices)
    channel = serializers.ChoiceField(choices=Channel.choices)
    patient = serializers.IntegerField(source="patient_id")
    patient_name = serializers.CharField(source="patient.real_name")
    slot = serializers.IntegerField(source="slot_id")
    session = serializers.IntegerField(source="session_id")
    department = serializers.IntegerField(source="department_id")
    department_name = serializers.CharField(source="department.name")
    doctor = serializers.IntegerField(source="session.doctor_id")
    doctor_name = serializers.CharField(source="session.doctor.name")
    level = serializers.ChoiceField(choices=ClinicLevel.choices, source="session.level")
    room = serializers.CharField(source="session.room.code")
    visit_date = serializers.DateField()
    starts_at = serializers.DateTimeField(source="slot.starts_at")
    ends_at = serializers.DateTimeField(source="slot.ends_at")
    rescheduled_from = serializers.IntegerField(
        source="rescheduled_from_id",
        allow_null=True,
        help_text="The booking this one was moved from, if it was moved.",
    )
    created_at = serializers.DateTimeField()
    cancelled_at = serializers.DateTimeField(allow_null=True)


class MyBookingListResponse(serializers.Serializer):
    upcoming = MyBookingResponse(
        many=True, help_text="Bookings whose time has not ended, soonest first."
    )
    past = MyBookingResponse(
        many=True,
        help_text=f"Bookings whose time has ended, newest first (the last {selectors.PAST_SHOWN}).",
    )


class BookingListQuery(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=Booking.Status.choices,
        required=False,
        help_text="Only bookings in this status.",
    )


class SlotIdField(serializers.IntegerField):
    """A slot's id, not looked up here: `booking_create` reads the slot with all it
    needs in one query, and an unknown id is answered as this field's error."""

    def to_internal_value(self, data) -> Slot:
        return Slot(pk=super().to_internal_value(data))


def slot_does_not_exist(slot: Slot) -> exceptions.ValidationError:
    """The answer for an unknown slot id: DRF's own words for an unknown primary key."""
    message = serializers.PrimaryKeyRelatedField.default_error_messages["does_not_exist"]
    return exceptions.ValidationError({"slot": [str(message).format(pk_value=slot.pk)]})


class BookingCreateSerializer(serializers.Serializer):
    patient = serializers.IntegerField(
        min_value=1, help_text="One of your patients' ids (GET /api/v1/patients)."
    )
    slot = SlotIdField(help_text="The slot's id; the place is taken from its online quota.")


class BookingCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=200,
        required=False,
        default="",
        allow_blank=True,
        help_text="Why, if you wish to say.",
    )


class BookingRescheduleSerializer(serializers.Serializer):
    slot = serializers.PrimaryKeyRelatedField(
        queryset=Slot.objects.all(),
        help_text="The new slot, in the booking's department or one of its sub-clinics.",
    )


class MyWaitlistEntryResponse(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=WaitlistEntry.Status.choices)
    position = serializers.IntegerField(
        help_text="The place in the session's queue of waiting patients (1 is next); 0 "
        "when no longer waiting."
    )
    patient = serializers.IntegerField(source="patient_id")
    patient_name = serializers.CharField(source="patient.real_name")
    session = serializers.IntegerField(source="session_id")
    department = serializers.IntegerField(source="session.department_id")
    department_name = serializers.CharField(source="session.department.name")
    doctor = serializers.IntegerField(source="session.doctor_id")
    doctor_name = serializers.CharField(source="session.doctor.name")
    date = serializers.DateField(source="session.date")
    starts_at = serializers.DateTimeField(source="session.starts_at")
    booking = serializers.IntegerField(
        source="booking_id",
        allow_null=True,
        help_text="The booking made from this entry when a place freed up.",
    )
    created_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)


class WaitlistListQuery(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=WaitlistEntry.Status.choices,
        required=False,
        help_text="Only entries in this status.",
    )


class WaitlistJoinSerializer(serializers.Serializer):
    patient = serializers.IntegerField(
        min_value=1, help_text="One of your patients' ids (GET /api/v1/patients)."
    )
    session = serializers.PrimaryKeyRelatedField(
        queryset=Session.objects.all(), help_text="A full session to wait for."
    )


def _entry_response(entry: WaitlistEntry) -> dict:
    entry.position = selectors.waitlist_positions(entries=[entry])[entry.pk]
    return MyWaitlistEntryResponse(entry).data


# --- bookings ------------------------------------------------------------------------


class MyBookingListCreateApi(ApiView):
    """GET: the account's bookings. POST: book a place online."""

    access = {"GET": PatientAccount(), "POST": PatientAccount()}
    throttle_classes = WRITE_THROTTLES

    @extend_schema(
        operation_id="bookings_list",
        summary="My bookings",
        description="The bookings of all your patients: upcoming ones (the time has not "
        "ended) soonest first, and past ones newest first.",
        parameters=[BookingListQuery],
        responses={200: MyBookingListResponse, **error_responses(generic=(400, 401, 403, 429))},
    )
    def get(self, request: Request) -> Response:
        query = BookingListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        found = selectors.my_bookings(account=request.user, now=timezone.now())
        wanted = query.validated_data.get("status")
        upcoming, past = found.upcoming, found.past
        if wanted:
            upcoming = [b for b in upcoming if b.status == wanted]
            past = [b for b in past if b.status == wanted]
        return Response(MyBookingListResponse({"upcoming": upcoming, "past": past}).data)

    @extend_schema(
        operation_id="bookings_create",
        summary="Book a place",
        description="Books `patient` (one of yours) into `slot` through the online channel "
        "(`booking_create`), by every rule of the web booking; the confirmation message "
        "is sent as for a web booking. Send an `Idempotency-Key`: a retry with the same "
        "key and body answers 201 with the same booking.",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=BookingCreateSerializer,
        responses={201: MyBookingResponse, **error_responses(*BOOKING_CREATE_ERRORS)},
    )
    def post(self, request: Request) -> Response:
        key = idempotency_key(request)
        data = BookingCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        patient = selectors.patient_get_mine(
            account=request.user, patient_id=data.validated_data["patient"]
        )
        try:
            booking = services.booking_create(
                patient=patient,
                slot=data.validated_data["slot"],
                channel=Channel.ONLINE,
                requested_by=request.user,
                idempotency_key=key,
            )
        except Slot.DoesNotExist:
            raise slot_does_not_exist(data.validated_data["slot"]) from None
        # The service returns the row as stored (created, or read back for a replay)
        # with its relations: the first answer and every replay are equal.
        body = MyBookingResponse(booking).data
        return Response(body, status=status.HTTP_201_CREATED)


class MyBookingDetailApi(ApiView):
    """GET: one of the account's bookings."""

    access = {"GET": PatientAccount()}

    @extend_schema(
        operation_id="bookings_retrieve",
        summary="One of my bookings",
        responses={200: MyBookingResponse, **error_responses(NotYourPatient)},
    )
    def get(self, request: Request, booking_id: int) -> Response:
        return Response(MyBookingResponse(_mine(request, booking_id)).data)


class MyBookingCancelApi(ApiView):
    """POST: cancel one of the account's bookings."""

    access = {"POST": PatientAccount()}
    throttle_classes = WRITE_THROTTLES

    @extend_schema(
        operation_id="bookings_cancel",
        summary="Cancel my booking",
        description="Cancels the booking (`booking_cancel`) and frees its place, online "
        "until the department's cut-off before the visit (then at the front desk). "
        "Cancelling a cancelled booking answers it again.",
        request=BookingCancelSerializer,
        responses={200: MyBookingResponse, **error_responses(*BOOKING_CANCEL_ERRORS)},
    )
    def post(self, request: Request, booking_id: int) -> Response:
        booking = _mine(request, booking_id)
        data = BookingCancelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.booking_cancel(
            booking=booking, requested_by=request.user, reason=data.validated_data["reason"]
        )
        return Response(MyBookingResponse(_mine(request, booking_id)).data)


class MyBookingRescheduleApi(ApiView):
    """POST: move one of the account's bookings to another slot."""

    access = {"POST": PatientAccount()}
    throttle_classes = WRITE_THROTTLES

    @extend_schema(
        operation_id="bookings_reschedule",
        summary="Move my booking",
        description="Moves the booking to `slot` (`booking_reschedule`): the new place is "
        "taken and the old one given back at once, by the rules of booking and of "
        "cancelling. Answers 201 with the new booking (the old one is cancelled and named "
        "in `rescheduled_from`). Send an `Idempotency-Key`: a retry with the same key and "
        "slot answers 201 with the same new booking.",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=BookingRescheduleSerializer,
        responses={201: MyBookingResponse, **error_responses(*BOOKING_RESCHEDULE_ERRORS)},
    )
    def post(self, request: Request, booking_id: int) -> Response:
        booking = _mine(request, booking_id)
        key = idempotency_key(request)
        data = BookingRescheduleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        slot = data.validated_data["slot"]
        try:
            new_slot = selectors.slot_get_for_reschedule(
                booking=booking, session_id=slot.session_id, slot_id=slot.pk
            )
        except Slot.DoesNotExist:
            message = _("Choose a time in the booking's department.")
            raise exceptions.ValidationError({"slot": [message]}) from None
        moved = services.booking_reschedule(
            booking=booking, new_slot=new_slot, requested_by=request.user, idempotency_key=key
        )
        body = MyBookingResponse(_mine(request, moved.pk)).data
        return Response(body, status=status.HTTP_201_CREATED)


# --- waitlist ------------------------------------------------------------------------


class MyWaitlistListCreateApi(ApiView):
    """GET: the account's waitlist entries. POST: wait for a place in a full session."""

    access = {"GET": PatientAccount(), "POST": PatientAccount()}
    throttle_classes = WRITE_THROTTLES

    @extend_schema(
        operation_id="waitlist_list",
        summary="My waitlist entries",
        description="Your patients' waitlist entries [候补], newest first, each with its "
        "place in the queue while waiting.",
        parameters=[WaitlistListQuery],
        responses={
            200: MyWaitlistEntryResponse(many=True),
            **error_responses(generic=(400, 401, 403, 429)),
        },
    )
    def get(self, request: Request) -> Response:
        query = WaitlistListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        entries = waitlist_list_for_account(account=request.user)
        if wanted := query.validated_data.get("status"):
            entries = entries.filter(status=wanted)
        entries = list(entries)
        positions = selectors.waitlist_positions(entries=entries)
        for entry in entries:
            entry.position = positions[entry.pk]
        return Response(MyWaitlistEntryResponse(entries, many=True).data)

    @extend_schema(
        operation_id="waitlist_create",
        summary="Join a waitlist",
        description="Puts `patient` (one of yours) on the waitlist of a full `session` "
        "(`waitlist_join`): when a place frees up it is booked for them and they are told.",
        request=WaitlistJoinSerializer,
        responses={201: MyWaitlistEntryResponse, **error_responses(*WAITLIST_JOIN_ERRORS)},
    )
    def post(self, request: Request) -> Response:
        data = WaitlistJoinSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        patient = selectors.patient_get_mine(
            account=request.user, patient_id=data.validated_data["patient"]
        )
        entry = services.waitlist_join(
            patient=patient, session=data.validated_data["session"], requested_by=request.user
        )
        entry = selectors.waitlist_entry_get_mine(account=request.user, entry_id=entry.pk)
        return Response(_entry_response(entry), status=status.HTTP_201_CREATED)


class MyWaitlistEntryApi(ApiView):
    """DELETE: leave a waitlist."""

    access = {"DELETE": PatientAccount()}
    throttle_classes = WRITE_THROTTLES

    @extend_schema(
        operation_id="waitlist_destroy",
        summary="Leave a waitlist",
        description="Takes the entry off its waitlist (`waitlist_leave`) and answers it; "
        "leaving again answers the entry that left.",
        responses={200: MyWaitlistEntryResponse, **error_responses(*WAITLIST_LEAVE_ERRORS)},
    )
    def delete(self, request: Request, entry_id: int) -> Response:
        entry = selectors.waitlist_entry_get_mine(account=request.user, entry_id=entry_id)
        services.waitlist_leave(entry=entry, requested_by=request.user)
        entry = selectors.waitlist_entry_get_mine(account=request.user, entry_id=entry_id)
        return Response(_entry_response(entry))
