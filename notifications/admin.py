from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from notifications import services
from notifications.models import OutboxMessage, Reminder

SIGN_IN_CODE_KIND = "sign_in_code"


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Read-only: staff see every message's fate; failed ones can be retried."""

    list_display = (
        "created_at",
        "kind",
        "channel",
        "masked_recipient",
        "language",
        "status",
        "attempts",
        "due_at",
        "sent_at",
        "delivered_via",
        "last_error",
    )
    list_filter = ("status", "kind", "channel", "delivered_via", "language")
    search_fields = ("dedupe_key",)
    # Neither the number nor, for a sign-in code, the code: a staff member who could read
    # a live code could sign in as the patient.
    exclude = ("recipient", "context")
    readonly_fields = [
        "masked_recipient",
        "safe_context",
        *(f.name for f in OutboxMessage._meta.fields if f.name not in ("recipient", "context")),
    ]
    date_hierarchy = "created_at"
    actions = ["retry_failed"]

    @admin.display(description=_("context"))
    def safe_context(self, obj: OutboxMessage) -> dict:
        if obj.kind == SIGN_IN_CODE_KIND:
            return {key: "******" if key == "code" else value for key, value in obj.context.items()}
        return obj.context

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("recipient"))
    def masked_recipient(self, obj: OutboxMessage) -> str:
        return obj.masked_recipient

    @admin.action(description=_("Retry the selected failed messages"))
    def retry_failed(self, request, queryset) -> None:
        ids = list(queryset.filter(status=OutboxMessage.Status.FAILED).values_list("pk", flat=True))
        retried = sum(services.message_retry(message_id=pk) for pk in ids)
        skipped = queryset.count() - retried
        self.message_user(
            request,
            ngettext(
                "%(count)d message will be sent again.",
                "%(count)d messages will be sent again.",
                retried,
            )
            % {"count": retried},
            messages.SUCCESS,
        )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d message was not failed and was left alone.",
                    "%(count)d messages were not failed and were left alone.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    list_display = ("due_at", "day", "kind", "masked_recipient", "status", "message")
    list_filter = ("status", "day")
    search_fields = ("dedupe_key",)
    exclude = ("recipient",)
    readonly_fields = [
        "masked_recipient",
        *(f.name for f in Reminder._meta.fields if f.name != "recipient"),
    ]
    date_hierarchy = "due_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("recipient"))
    def masked_recipient(self, obj: Reminder) -> str:
        return "***" + obj.recipient[-4:]
