"""Who may call an API method (`core.api.ApiView.access`), and the DRF permission that asks.

Apart from core.api because DRF loads its default permission class while its own views
module is still importing: this module must not import rest_framework.views.
"""

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from core.access import is_verified_staff


class Access:
    """Who may call a method. Subclasses answer `allows(request)`."""

    #: A short name used in the schema's description of the operation.
    label = ""

    def allows(self, request: Request) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError


class Public(Access):
    """Anyone, signed in or not."""

    label = "public"

    def allows(self, request: Request) -> bool:
        return True


class PatientAccount(Access):
    """A signed-in patient account (not staff): it sees only its own patients' data."""

    label = "patient"

    def allows(self, request: Request) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and not user.is_staff)


class Staff(Access):
    """Active staff with a verified second factor (`core.access.is_verified_staff`: a
    session signed in through the admin's one-step login, or a staff token issued after
    one) holding every permission named."""

    label = "staff"

    def __init__(self, *perms: str) -> None:
        self.perms = perms

    def allows(self, request: Request) -> bool:
        user = request.user
        return bool(user and is_verified_staff(user) and user.has_perms(self.perms))


class AccessPermission(BasePermission):
    """The view's `access` entry for the request's method decides; missing → refused."""

    def has_permission(self, request: Request, view) -> bool:
        rule = view.access_for(request.method)
        return rule is not None and rule.allows(request)
