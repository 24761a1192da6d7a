from django.contrib import admin

from notifications.models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "kind",
        "channel",
        "masked_recipient",
        "language",
        "status",
        "attempts",
        "sent_at",
    )
    list_filter = ("status", "kind", "channel", "language")
    search_fields = ("dedupe_key",)
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="recipient")
    def masked_recipient(self, obj: OutboxMessage) -> str:
        return "***" + obj.recipient[-4:]
