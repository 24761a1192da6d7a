from django.utils.translation import gettext_lazy as _
from rest_framework import status

from core.errors import YuyueError


class InvalidScheduleTemplate(YuyueError):
    code = "invalid_schedule_template"
    message = _("The schedule template is not valid: %(reason)s")


class SessionExists(YuyueError):
    code = "session_exists"
    message = _("This doctor already has a session in that half-day.")
    http_status = status.HTTP_409_CONFLICT


class CapacityBelowTaken(YuyueError):
    code = "capacity_below_taken"
    message = _(
        "The capacity cannot be lower than the places already booked or held back (%(taken)d)."
    )
    http_status = status.HTTP_409_CONFLICT


class CapacityReasonRequired(YuyueError):
    code = "capacity_reason_required"
    message = _("Say why the capacity changes: the change is recorded with its reason.")
