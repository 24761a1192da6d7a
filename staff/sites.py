"""Yuyue's admin site: staff pages behind a password and a second factor.

`admin.site` is this site (staff.apps.YuyueAdminConfig). Whether the second factor is
required is read on every request (`YUYUE_ADMIN_REQUIRE_OTP`, always on in production),
so a password alone, or a session signed in some other way, reaches no staff page.
"""

from django.conf import settings
from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse
from django.utils.functional import lazy
from django.utils.translation import gettext

from core.access import is_verified_staff
from core.hospital import hospital_name
from staff import views


def _header() -> str:
    return gettext("%(hospital)s · Booking administration") % {"hospital": hospital_name()}


def _title() -> str:
    return gettext("Booking administration")


_lazy_header = lazy(_header, str)
_lazy_title = lazy(_title, str)


class YuyueAdminSite(AdminSite):
    site_header = _lazy_header()
    site_title = _lazy_header()
    index_title = _lazy_title()

    def has_permission(self, request: HttpRequest) -> bool:
        return is_verified_staff(request.user)

    def each_context(self, request: HttpRequest) -> dict:
        context = super().each_context(request)
        context["staff_session_idle_seconds"] = settings.YUYUE_STAFF_SESSION_IDLE_SECONDS
        return context

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        return views.login(request, site=self, extra_context=extra_context)
