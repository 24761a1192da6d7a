from django.utils.translation import gettext_lazy as _
from rest_framework import status

from core.errors import YuyueError


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


# --- sign-in by phone and one-time code ---------------------------------------------


class InvalidMobilePhone(InvalidPhone):
    message = _("Please enter a mainland China mobile number: 11 digits starting with 1.")


class CodeTooSoon(YuyueError):
    code = "code_too_soon"
    message = _("A code was sent less than a minute ago. You can ask again in %(seconds)s seconds.")
    http_status = status.HTTP_429_TOO_MANY_REQUESTS


class CodeDailyLimit(YuyueError):
    code = "code_daily_limit"
    message = _(
        "This phone has been sent %(limit)s codes today, the most in one day. "
        "Please try again tomorrow, or call the clinic to book."
    )
    http_status = status.HTTP_429_TOO_MANY_REQUESTS


class CodeIpLimit(YuyueError):
    code = "code_ip_limit"
    message = _("Too many codes were asked for from this network. Please try again in an hour.")
    http_status = status.HTTP_429_TOO_MANY_REQUESTS


class CodeExpired(YuyueError):
    code = "code_expired"
    message = _("This code has expired or has already been used. Please ask for a new code.")


class CodeWrong(YuyueError):
    code = "code_wrong"
    message = _("The code is not right. Please check the SMS and try again (%(left)s tries left).")


class CodeLocked(YuyueError):
    code = "code_locked"
    message = _("The code was entered wrongly too many times. Please ask for a new code.")


class SignInNotAllowed(YuyueError):
    code = "sign_in_not_allowed"
    message = _("This account cannot sign in here. Please call the clinic.")
    http_status = status.HTTP_403_FORBIDDEN


class DocumentNumberRequired(YuyueError):
    code = "document_number_required"
    message = _(
        "Only a child under 14 may be added without an ID number. Please enter the "
        "resident ID or another document."
    )


class GuardianRequired(YuyueError):
    code = "guardian_required"
    message = _(
        "A child without an ID number books with a guardian. Please add yourself "
        "(relationship: self, with your ID) first."
    )


class PatientIsGuardian(YuyueError):
    code = "patient_is_guardian"
    message = _(
        "This person is the guardian of a child without an ID number in your account. "
        "Please remove the child first."
    )
