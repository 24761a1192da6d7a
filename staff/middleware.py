"""Staff sessions end when the browser closes and after a while without a request.

A staff member's desk may be left open; the session must not outlive them. Patients
have their own idle limit (patients.views); this is the staff side: the last request's
time is kept in the session, and a session idle for longer than
`YUYUE_STAFF_SESSION_IDLE_SECONDS` is signed out. Under /admin/ the person is sent to
sign in with `next` and a message saying why; elsewhere (the staff API) the request
goes on signed out and is refused there. static/admin/js/yuyue-session.js warns before.
"""

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

LAST_SEEN = "staff_last_seen"


def staff_session_start(request: HttpRequest) -> None:
    """At sign-in: a browser-session cookie, and the idle clock started."""
    request.session.set_expiry(0)
    request.session[LAST_SEEN] = timezone.now().timestamp()


class StaffSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        # Visitors without a sign-in cost nothing here: no user is loaded for them.
        if session is not None and SESSION_KEY in session:
            user = request.user
            if user.is_authenticated and user.is_staff:
                now = timezone.now().timestamp()
                last_seen = session.get(LAST_SEEN)
                idle = settings.YUYUE_STAFF_SESSION_IDLE_SECONDS
                if last_seen is not None and now - float(last_seen) > idle:
                    response = self._expired(request)
                    if response is not None:
                        return response
                else:
                    if not session.get_expire_at_browser_close():
                        session.set_expiry(0)
                    session[LAST_SEEN] = now
        return self.get_response(request)

    def _expired(self, request: HttpRequest) -> HttpResponse | None:
        target = request.get_full_path()
        logout(request)
        admin_root = reverse("admin:index")
        if not request.path.startswith(admin_root):
            return None  # signed out; the page or API judges an anonymous request
        messages.warning(
            request,
            _(
                "You were signed out after %(minutes)d minutes without activity. "
                "Please sign in again."
            )
            % {"minutes": settings.YUYUE_STAFF_SESSION_IDLE_SECONDS // 60},
        )
        login_url = reverse("admin:login")
        return HttpResponseRedirect(f"{login_url}?{urlencode({'next': target})}")
