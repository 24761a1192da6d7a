"""Admin building blocks shared by the apps."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponseRedirect

from core.errors import YuyueError


class ReadOnlyAdminMixin:
    """Rows written only by services: staff may look, never add, edit or delete here."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ServiceCreateAdminMixin:
    """An add form whose row is made by a service, the only writer of such rows.

    The form's `clean()` asks the service's validator (it writes nothing); on save,
    `create(request, form)` calls the service and returns the row it made, and Django goes
    on with that object: log entry, message, redirect (`save_form` returns the object the
    rest of the add view uses). Changes of a made row are left to the admin class.

    A refusal only the service can see, under its locks (a twin added in the same
    instant), ends the add view's transaction with nothing written; the page is shown
    again with the refusal as a message.
    """

    def create(self, request: HttpRequest, form):
        raise NotImplementedError

    def save_form(self, request: HttpRequest, form, change: bool):
        if change:
            return super().save_form(request, form, change)
        return self.create(request, form)

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        if change:
            super().save_related(request, form, formsets, change)

    def changeform_view(
        self, request: HttpRequest, object_id=None, form_url="", extra_context=None
    ):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except YuyueError as error:
            if object_id is not None or request.method != "POST":
                raise
            messages.error(request, error.detail)
            return HttpResponseRedirect(request.get_full_path())
