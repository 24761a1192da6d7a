"""Message texts per kind, in zh-hans and English, rendered from the stored context."""

from django.utils import translation
from django.utils.translation import gettext as _


def render(*, kind: str, language: str, context: dict) -> str:
    with translation.override(language):
        if kind == "booking_confirmed":
            return _(
                "[Yuyue] Booking %(code)s confirmed: %(patient)s, %(department)s, "
                "Dr %(doctor)s, %(when)s, queue no. %(queue_number)s. %(preparation)s"
            ) % {
                **context,
                "preparation": _(
                    "Bring your glasses and earlier reports; eye drops may blur vision, do not drive."
                ),
            }
        if kind == "booking_cancelled":
            return _("[Yuyue] Booking %(code)s on %(when)s is cancelled.") % context
        if kind == "booking_rescheduled":
            return (
                _("[Yuyue] Booking %(code)s moved to %(when)s, queue no. %(queue_number)s.")
                % context
            )
        return _("[Yuyue] You have a new message.")
