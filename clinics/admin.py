"""Staff pages for the clinic catalogue and the slot inventory.

Thin: the catalogue (departments, doctors, rooms, templates) is edited here; sessions,
slots and quotas are made only by `clinics.services` (generation, hand-added sessions)
and change only through services, so their pages are read-only. Capacity never moves
by an admin save: invariant 2 wants every such change to go through an audited service.
"""

from collections.abc import Iterable

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet, Sum
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from clinics import services
from clinics.models import (
    Department,
    Doctor,
    Quota,
    Room,
    ScheduleTemplate,
    Session,
    Slot,
)
from config.admin import ReadOnlyAdminMixin
from config.errors import YuyueError


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "name_en", "code", "parent", "sort_order", "is_active"]
    list_filter = [("parent", admin.RelatedOnlyFieldListFilter), "is_active"]
    list_select_related = ["parent"]
    search_fields = ["name", "name_en", "code"]
    autocomplete_fields = ["parent"]


@admin.register(Doctor)
class DoctorAdmin(admin.ModelAdmin):
    list_display = ["name", "title", "level", "fee", "department", "is_active"]
    list_filter = ["title", "level", "department", "is_active"]
    list_select_related = ["department"]
    search_fields = ["name", "name_en", "specialties"]
    autocomplete_fields = ["department"]


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "department"]
    list_filter = ["department"]
    list_select_related = ["department"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["department"]


@admin.register(ScheduleTemplate)
class ScheduleTemplateAdmin(admin.ModelAdmin):
    list_display = [
        "doctor",
        "weekday",
        "half_day",
        "start_time",
        "level",
        "slots_and_places",
        "channel_split",
        "room",
        "is_active",
    ]
    list_filter = ["weekday", "half_day", "level", "department", "is_active"]
    list_select_related = ["doctor", "room"]
    search_fields = ["doctor__name", "doctor__name_en"]
    autocomplete_fields = ["doctor", "department", "room"]
    actions = ["generate_sessions"]

    @admin.display(description=_("slots × places"))
    def slots_and_places(self, template: ScheduleTemplate) -> str:
        return f"{template.slot_count} × {template.places_per_slot} = {template.places}"

    @admin.display(description=_("online / phone / walk-in / reserved %"))
    def channel_split(self, template: ScheduleTemplate) -> str:
        return " / ".join(str(percent) for percent in template.channel_split().values())

    @admin.action(
        description=_("Generate sessions for the coming 8 days"), permissions=["generate"]
    )
    def generate_sessions(self, request: HttpRequest, queryset: QuerySet) -> None:
        try:
            result = services.sessions_generate(
                template_ids=list(queryset.values_list("pk", flat=True))
            )
        except YuyueError as exc:
            self.message_user(request, exc.detail, messages.ERROR)
            return
        self.message_user(
            request,
            _(
                "%(sessions)d sessions created (%(slots)d slots, %(places)d places); "
                "%(skipped)d already existed. Inactive templates and doctors are skipped."
            )
            % {
                "sessions": result.sessions_created,
                "slots": result.slots_created,
                "places": result.places_created,
                "skipped": result.skipped_existing,
            },
            messages.SUCCESS,
        )

    def has_generate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("clinics.add_session")


class SessionAddForm(forms.ModelForm):
    """A hand-added session [加诊]: the slots' shape and the channel split, then session_add."""

    start_time = forms.TimeField(label=_("first slot starts"))
    slot_minutes = forms.IntegerField(label=_("slot length (minutes)"), initial=30)
    slot_count = forms.IntegerField(label=_("slots"))
    places_per_slot = forms.IntegerField(label=_("places per slot"))
    online_percent = forms.IntegerField(label=_("online %"), initial=60)
    phone_percent = forms.IntegerField(label=_("phone %"), initial=10)
    walkin_percent = forms.IntegerField(label=_("walk-in %"), initial=30)
    reserved_percent = forms.IntegerField(label=_("reserved %"), initial=0)

    class Meta:
        model = Session
        fields = ["doctor", "department", "room", "date", "half_day"]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        # The service is the only writer and the only judge of what is refused. The
        # admin's add view runs in one transaction, so anything failing later undoes it.
        try:
            self.instance = services.session_add(
                doctor=data["doctor"],
                department=data["department"],
                room=data["room"],
                date=data["date"],
                half_day=data["half_day"],
                start_time=data["start_time"],
                slot_minutes=data["slot_minutes"],
                slot_count=data["slot_count"],
                places_per_slot=data["places_per_slot"],
                split={
                    "online": data["online_percent"],
                    "phone": data["phone_percent"],
                    "walkin": data["walkin_percent"],
                    "reserved": data["reserved_percent"],
                },
            )
        except YuyueError as exc:
            raise forms.ValidationError(exc.detail, code=exc.code) from exc
        return data


class SlotInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Slot
    fields = ["starts_at", "ends_at", "quotas_summary"]
    readonly_fields = fields
    extra = 0
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("quotas")

    @admin.display(description=_("booked / capacity per channel"))
    def quotas_summary(self, slot: Slot) -> str:
        return _quotas_summary(slot.quotas.all())


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    """Sessions are generated or added through session_add; stopping one is booking's."""

    list_display = [
        "date",
        "half_day",
        "starts_at",
        "doctor",
        "department",
        "level",
        "status",
        "places_summary",
    ]
    list_filter = ["department", "status", "level", "half_day"]
    list_select_related = ["doctor", "department"]
    date_hierarchy = "date"
    search_fields = ["doctor__name", "doctor__name_en"]
    autocomplete_fields = ["doctor", "department", "room"]
    add_fieldsets = [
        (None, {"fields": ["doctor", "department", "room", "date", "half_day"]}),
        (_("Slots"), {"fields": ["start_time", "slot_minutes", "slot_count", "places_per_slot"]}),
        (
            _("Channel split (%)"),
            {"fields": ["online_percent", "phone_percent", "walkin_percent", "reserved_percent"]},
        ),
    ]
    inlines = [SlotInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(
                places_capacity=Sum("slots__quotas__capacity"),
                places_booked=Sum("slots__quotas__booked"),
            )
        )

    @admin.display(description=_("booked / places"))
    def places_summary(self, session: Session) -> str:
        return f"{session.places_booked or 0} / {session.places_capacity or 0}"

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = SessionAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else super().get_fieldsets(request, obj)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def save_model(self, request, obj, form, change) -> None:
        """session_add already wrote the session with its slots and quotas (in clean)."""

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # Deleting would drop its slots and quotas and let generation make it again.
        return False


class QuotaInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Quota
    fields = ["channel", "capacity", "booked", "available"]
    readonly_fields = fields
    extra = 0


@admin.register(Slot)
class SlotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["session", "starts_at", "ends_at", "booked", "capacity"]
    list_select_related = ["session__doctor"]
    date_hierarchy = "starts_at"
    search_fields = ["session__doctor__name"]
    readonly_fields = ["session", "starts_at", "ends_at", "booked", "capacity"]
    inlines = [QuotaInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(places_capacity=Sum("quotas__capacity"), places_booked=Sum("quotas__booked"))
        )

    @admin.display(description=_("booked"))
    def booked(self, slot: Slot) -> int:
        return slot.places_booked or 0

    @admin.display(description=_("capacity"))
    def capacity(self, slot: Slot) -> int:
        return slot.places_capacity or 0


@admin.register(Quota)
class QuotaAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["slot", "channel", "capacity", "booked", "available"]
    list_filter = ["channel"]
    list_select_related = ["slot__session__doctor"]
    search_fields = ["slot__session__doctor__name"]
    readonly_fields = ["slot", "channel", "capacity", "booked", "available"]
    show_full_result_count = False  # a large table: skip the second COUNT(*)

    @admin.display(description=_("available"))
    def available(self, quota: Quota) -> int:
        return quota.available


def _quotas_summary(quotas: Iterable[Quota]) -> str:
    return " · ".join(
        f"{quota.get_channel_display()} {quota.booked}/{quota.capacity}"
        for quota in sorted(quotas, key=lambda quota: services.CHANNEL_ORDER.index(quota.channel))
    )
