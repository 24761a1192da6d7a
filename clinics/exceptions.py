from django.utils.translation import gettext_lazy as _
from rest_framework import status

from config.errors import YuyueError


class InvalidScheduleTemplate(YuyueError):
    code = "invalid_schedule_template"
    message = _("The schedule template is not valid: %(reason)s")


class SessionExists(YuyueError):
    code = "session_exists"
    message = _("This doctor already has a session in that half-day.")
    http_status = status.HTTP_409_CONFLICT
