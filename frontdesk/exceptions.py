"""Every refusal of the front desk's queue, each with its stable code."""

from django.utils.translation import gettext_lazy as _
from rest_framework import status

from core.errors import YuyueError


class TicketNotCalled(YuyueError):
    code = "ticket_not_called"
    message = _("Only the patient who is being called can be called again or finished.")
    http_status = status.HTTP_409_CONFLICT


class TicketAlreadyDone(YuyueError):
    code = "ticket_done"
    message = _("This patient has already been seen.")
    http_status = status.HTTP_409_CONFLICT


class QueueBusy(YuyueError):
    code = "queue_busy"
    message = _("The queue changed while you pressed the button. Please try again.")
    http_status = status.HTTP_409_CONFLICT
