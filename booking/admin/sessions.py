"""A session's admin page with what booking adds to it: stop the session [停诊] and print
the sign of a stopped one.

clinics owns the page (`clinics.admin.SessionAdmin`) but knows nothing of booking, and
dependencies point booking → clinics; so booking registers a subclass of clinics' admin
in its place, adding only its tools. Everything else stays clinics'.
"""

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse

from booking.admin.release import can_stop_sessions
from booking.selectors import session_list_stoppable
from clinics.admin import SessionAdmin as ClinicsSessionAdmin
from clinics.models import Session

admin.site.unregister(Session)


@admin.register(Session)
class SessionAdmin(ClinicsSessionAdmin):
    change_form_template = "admin/booking/session/change_form.html"

    def render_change_form(
        self, request: HttpRequest, context, add=False, change=False, form_url="", obj=None
    ):
        if obj is not None:
            context.update(self.booking_tools(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def booking_tools(self, request: HttpRequest, session: Session) -> dict[str, str]:
        """Links for the page's tools: stopping for a session that may still be stopped,
        to staff with the right; the printable sign once it is stopped."""
        tools = {}
        if can_stop_sessions(request.user) and (
            session_list_stoppable().filter(pk=session.pk).exists()
        ):
            stop = reverse("admin:booking_stop_session")
            tools["stop_session_url"] = f"{stop}?session={session.pk}"
        if session.is_stopped:
            tools["session_sign_url"] = reverse("sign-session", args=[session.pk])
        return tools
