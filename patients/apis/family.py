"""The account's patients (self and family) over the API: list, add, read, change, remove.

Thin: parse, call the same selector or service as the "my patients" pages
(patients.views_family), render. Every method needs a signed-in patient account; a
patient is looked up through the caller's account, so another account's (or a removed)
patient answers 404 `not_your_patient`. The document number is never sent back whole:
only its last 4 characters (`patients.identity.mask_document_number`).
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import ApiView, PatientAccount, error_responses
from core.throttles import AnonReadThrottle, BookingWriteThrottle
from patients import exceptions as errors
from patients import selectors, services
from patients.models import Patient

PATIENT_CREATE_ERRORS = (
    errors.InvalidName,
    errors.InvalidDocumentNumber,
    errors.DocumentDetailsMismatch,
    errors.MissingPersonalDetails,
    errors.InvalidBirthDate,
    errors.DocumentNumberRequired,
    errors.InvalidPhone,
    errors.PatientAlreadyRegistered,
    errors.TooManyPatients,
    errors.GuardianRequired,
)
PATIENT_UPDATE_ERRORS = (errors.NotYourPatient, errors.InvalidPhone)
PATIENT_REMOVE_ERRORS = (errors.NotYourPatient, errors.PatientIsGuardian)
# Writes count per account as booking writes do: adding patients is no ID-number oracle.
WRITE_THROTTLES = [AnonReadThrottle, BookingWriteThrottle]


class MyPatientResponse(serializers.Serializer):
    id = serializers.IntegerField()
    real_name = serializers.CharField()
    relationship = serializers.ChoiceField(choices=Patient.Relationship.choices)
    document_type = serializers.ChoiceField(choices=Patient.DocumentType.choices)
    document_number = serializers.CharField(
        source="masked_document_number",
        help_text="Masked: only the last 4 characters are shown (empty for a child "
        "without an ID number).",
    )
    birth_date = serializers.DateField()
    sex = serializers.ChoiceField(choices=Patient.Sex.choices)
    phone = serializers.CharField(help_text="The contact phone, if one was given.")
    medical_record_number = serializers.CharField()
    guardian = serializers.IntegerField(
        source="guardian_id",
        allow_null=True,
        help_text="For a child without an ID number: the patient who is their guardian.",
    )
    suspended_until = serializers.DateField(
        allow_null=True,
        help_text="Online and phone booking is suspended until this day (missed visits).",
    )
    created_at = serializers.DateTimeField()


class PatientCreateSerializer(serializers.Serializer):
    # Judged by the service (invalid_name), as on the web page.
    real_name = serializers.CharField(
        max_length=200, allow_blank=True, help_text="As written on the document (at most 50)."
    )
    relationship = serializers.ChoiceField(
        choices=Patient.Relationship.choices, default=Patient.Relationship.SELF
    )
    document_type = serializers.ChoiceField(choices=Patient.DocumentType.choices)
    document_number = serializers.CharField(
        max_length=40,
        required=False,
        default="",
        allow_blank=True,
        help_text="Required except for a child under 14 without an ID number yet "
        "(document_type none).",
    )
    birth_date = serializers.DateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Read from a resident ID; required for other documents.",
    )
    sex = serializers.ChoiceField(
        choices=Patient.Sex.choices,
        required=False,
        allow_null=True,
        default=None,
        help_text="Read from a resident ID; required for other documents.",
    )
    phone = serializers.CharField(max_length=32, required=False, default="", allow_blank=True)


class PatientUpdateSerializer(serializers.Serializer):
    relationship = serializers.ChoiceField(choices=Patient.Relationship.choices, required=False)
    phone = serializers.CharField(
        max_length=32, required=False, allow_blank=True, help_text="Empty removes it."
    )


class MyPatientListCreateApi(ApiView):
    """GET: the account's patients. POST: add one."""

    access = {"GET": PatientAccount(), "POST": PatientAccount()}
    throttle_classes = WRITE_THROTTLES

    @extend_schema(
        operation_id="patients_list",
        summary="My patients",
        description="The people you book for (yourself and family), oldest first.",
        responses={
            200: MyPatientResponse(many=True),
            **error_responses(generic=(401, 403, 429)),
        },
    )
    def get(self, request: Request) -> Response:
        patients = selectors.patient_list_for_account(account=request.user)
        return Response(MyPatientResponse(patients, many=True).data)

    @extend_schema(
        operation_id="patients_create",
        summary="Add a patient",
        description="Registers yourself or a family member (`patient_create`): real name "
        f"and document, at most {services.PATIENTS_PER_ACCOUNT} people per account. A "
        "person removed earlier comes back with their history.",
        request=PatientCreateSerializer,
        responses={201: MyPatientResponse, **error_responses(*PATIENT_CREATE_ERRORS)},
    )
    def post(self, request: Request) -> Response:
        data = PatientCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        patient = services.patient_create(
            account=request.user,
            real_name=fields["real_name"],
            relationship=fields["relationship"],
            document_type=fields["document_type"],
            document_number=fields["document_number"],
            birth_date=fields["birth_date"],
            sex=fields["sex"],
            phone=fields["phone"],
        )
        return Response(MyPatientResponse(patient).data, status=status.HTTP_201_CREATED)


class MyPatientDetailApi(ApiView):
    """GET: one of the account's patients. PATCH: change it. DELETE: remove it."""

    access = {"GET": PatientAccount(), "PATCH": PatientAccount(), "DELETE": PatientAccount()}
    throttle_classes = WRITE_THROTTLES

    @extend_schema(
        operation_id="patients_retrieve",
        summary="One of my patients",
        responses={200: MyPatientResponse, **error_responses(errors.NotYourPatient)},
    )
    def get(self, request: Request, patient_id: int) -> Response:
        patient = selectors.patient_get_for_account(account=request.user, patient_id=patient_id)
        return Response(MyPatientResponse(patient).data)

    @extend_schema(
        operation_id="patients_partial_update",
        summary="Change one of my patients",
        description="Changes what may change after registration (`patient_update`): the "
        "relationship and the contact phone. Name and document never change: remove the "
        "person and add them again.",
        request=PatientUpdateSerializer,
        responses={200: MyPatientResponse, **error_responses(*PATIENT_UPDATE_ERRORS)},
    )
    def patch(self, request: Request, patient_id: int) -> Response:
        patient = selectors.patient_get_for_account(account=request.user, patient_id=patient_id)
        data = PatientUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        patient = services.patient_update(
            patient=patient,
            relationship=data.validated_data.get("relationship", patient.relationship),
            phone=data.validated_data.get("phone", patient.phone),
        )
        return Response(MyPatientResponse(patient).data)

    @extend_schema(
        operation_id="patients_destroy",
        summary="Remove one of my patients",
        description="Removes the person from your patients (`patient_remove`); their "
        "bookings stay valid. Removing again answers 204 too.",
        responses={204: None, **error_responses(*PATIENT_REMOVE_ERRORS)},
    )
    def delete(self, request: Request, patient_id: int) -> Response:
        patient = selectors.patient_get_for_account(
            account=request.user, patient_id=patient_id, include_removed=True
        )
        services.patient_remove(patient=patient, requested_by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
