"""Admin building blocks shared by the apps."""

from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """Rows written only by services: staff may look, never add, edit or delete here."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
