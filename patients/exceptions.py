from django.utils.translation import gettext_lazy as _
from rest_framework import status

from config.errors import YuyueError


class InvalidDocumentNumber(YuyueError):
    code = "invalid_document_number"
    message = _("The ID number is not valid. Please check it against the card.")


class DocumentDetailsMismatch(YuyueError):
    code = "document_details_mismatch"
    message = _("The birth date or sex does not match the resident ID number.")


class MissingPersonalDetails(YuyueError):
    code = "missing_personal_details"
    message = _("Please give the birth date and sex shown on the document.")


class TooManyPatients(YuyueError):
    code = "too_many_patients"
    message = _("One account can hold at most %(limit)s patients.")


class PatientAlreadyRegistered(YuyueError):
    code = "patient_already_registered"
    message = _("This person is already registered in your account.")


class NotYourPatient(YuyueError):
    code = "not_your_patient"
    message = _("This patient does not belong to your account.")
    http_status = status.HTTP_404_NOT_FOUND


class InvalidName(YuyueError):
    code = "invalid_name"
    message = _("Please enter the real name shown on the document, at most 50 characters.")


class InvalidBirthDate(YuyueError):
    code = "invalid_birth_date"
    message = _("The birth date cannot be in the future.")


class InvalidPhone(YuyueError):
    code = "invalid_phone"
    message = _("Please enter a valid phone number.")


class PhoneAlreadyRegistered(YuyueError):
    code = "phone_already_registered"
    message = _("An account with this phone number already exists. Please sign in instead.")
    http_status = status.HTTP_409_CONFLICT
