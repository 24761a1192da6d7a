"""The audit log (django-auditlog): who changed what, before and after, without more
personal data than the staff lists show.

Each app registers its models in its `AppConfig.ready()`. What auditlog's signals never
see — a conditional UPDATE (a session stop, a capacity change) — is written with
`audit_record`. Rows that patients and background jobs write by the thousand (bookings,
slots, quotas) are registered with `register_staff_changes`: logged when staff act, so
a patient's booking pays no audit queries on the 07:00 hot path.

Masks: patients' document numbers are never stored (excluded), phones are stored as
138****5678 by the project's mask (settings.AUDITLOG_MASK_CALLABLE, which auditlog uses
for every model's `mask_fields`), an account's string is its masked username.
`AuditEntryAdmin` masks again on display with the same function, for older entries.
"""

from collections.abc import Callable, Mapping
from typing import Any

from auditlog.context import auditlog_value
from auditlog.diff import get_mask_function
from auditlog.mixins import LogEntryAdminMixin
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.contrib import admin
from django.db import models
from django.db.models.signals import pre_save
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe


def mask(value: Any) -> str:
    """The project's audit mask (settings.AUDITLOG_MASK_CALLABLE) applied to `value`."""
    return get_mask_function()(str(value))


def current_actor() -> Any | None:
    """The account auditlog's context names (the request's user, or `set_actor`), while
    that context is open. auditlog leaves the last context's data behind when it ends;
    it is live while its LogEntry receiver is connected."""
    try:
        data = auditlog_value.get()
    except LookupError:
        return None
    uid = data.get("signal_duid")
    if uid is None or not any(key[0] == uid for key, *_ in pre_save.receivers):
        return None
    return data.get("actor")


def staff_is_acting() -> bool:
    actor = current_actor()
    return actor is not None and bool(getattr(actor, "is_staff", False))


def _when_staff_acts(receiver: Callable) -> Callable:
    def receive(sender, **kwargs):
        if staff_is_acting():
            receiver(sender, **kwargs)

    return receive


def register_staff_changes(model: type[models.Model], **options: Any) -> None:
    """Register `model` with auditlog, logging only what staff do (an actor with
    `is_staff`): the booking paths of patients and of the background jobs (release,
    session generation) write no entries and pay no extra query (auditlog reads the old
    row before each save)."""
    auditlog.register(model, **options)
    for signal, receiver in auditlog._signals.items():
        signal.disconnect(sender=model, dispatch_uid=auditlog._dispatch_uid(signal, receiver))
        signal.connect(
            _when_staff_acts(receiver),
            sender=model,
            weak=False,
            dispatch_uid=("yuyue.staff_changes", model._meta.label_lower, id(signal)),
        )


def audit_record(
    *,
    instance: models.Model,
    changes: Mapping[str, tuple[Any, Any]],
    actor: Any | None = None,
    additional_data: Mapping[str, Any] | None = None,
) -> LogEntry:
    """Write an "updated" entry for a change auditlog's signals cannot see (a conditional
    UPDATE). `changes` maps a field to (before, after); the actor is `actor` or, without
    one, the open auditlog context's. Values are masked like log lines."""
    return LogEntry.objects.log_create(
        instance,
        action=LogEntry.Action.UPDATE,
        changes={field: [mask(before), mask(after)] for field, (before, after) in changes.items()},
        actor=actor,
        additional_data=(
            {key: mask(value) for key, value in additional_data.items()}
            if additional_data
            else None
        ),
    )


class AuditEntryAdmin(admin.ModelAdmin, LogEntryAdminMixin):
    """auditlog's log entry pages, read only, masking resident IDs and mobile numbers in
    whatever they show (entries are stored masked; this also covers older ones)."""

    date_hierarchy = "timestamp"
    list_select_related = ["content_type", "actor"]
    list_display = ["created", "resource_url", "action", "msg_short", "user_url"]
    # Not the changes: a search by a full phone or ID number must not find its owner.
    search_fields = ["object_repr", "actor__username", "actor__first_name", "actor__last_name"]
    list_filter = ["action", "content_type"]
    readonly_fields = ["created", "resource_url", "action", "user_url", "msg", "extra"]
    fieldsets = [
        (None, {"fields": ["created", "user_url", "resource_url"]}),
        ("", {"fields": ["action", "msg", "extra"]}),
    ]
    show_facets = admin.ShowFacets.NEVER

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the audit log is append-only

    def get_queryset(self, request):
        self.request = request  # LogEntryAdminMixin's links need it
        return super().get_queryset(request)

    def get_object(self, request, object_id, from_field=None):
        # The page's title and breadcrumbs name the entry by its object_repr.
        entry = super().get_object(request, object_id, from_field)
        if entry is None:
            return None
        entry.object_repr = mask(entry.object_repr)
        # Entries from before the exclusion hold half a document number (auditlog's
        # mask): shown with its last 4 characters only, like everywhere else.
        changes = entry.changes if isinstance(entry.changes, dict) else None
        for field in OLD_DOCUMENT_FIELDS & set(changes or ()):
            changes[field] = [_last_4(value) for value in changes[field]]
        return entry

    @admin.display(description=LogEntryAdminMixin.resource_url.short_description)
    def resource_url(self, obj):
        return _masked_html(super().resource_url(obj))

    @admin.display(description=LogEntryAdminMixin.user_url.short_description)
    def user_url(self, obj):
        return _masked_html(super().user_url(obj))

    @admin.display(description=LogEntryAdminMixin.msg.short_description)
    def msg(self, obj):
        return _masked_html(super().msg(obj))

    @admin.display(description=LogEntry._meta.get_field("additional_data").verbose_name)
    def extra(self, obj):
        if not obj.additional_data:
            return ""
        items = ((key, mask(value)) for key, value in obj.additional_data.items())
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}: {}</li>", items))


# Fields that entries written before this module's registrations may hold half-masked.
OLD_DOCUMENT_FIELDS = {"document_number"}


def _last_4(value: Any) -> Any:
    if not isinstance(value, str) or value == "None" or len(value) <= 4:
        return value
    return "*" * (len(value) - 4) + value[-4:]


def _masked_html(html: Any) -> Any:
    # Masking replaces digits with "*": it cannot open a tag or an entity.
    if not html:
        return html
    return mark_safe(mask(html))  # noqa: S308
