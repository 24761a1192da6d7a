from django.utils.translation import gettext_lazy as _

from config.errors import YuyueError


class InvalidScheduleTemplate(YuyueError):
    code = "invalid_schedule_template"
    message = _("The schedule template is not valid: %(reason)s")
