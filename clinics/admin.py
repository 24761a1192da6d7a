"""Staff pages for the clinic catalogue and the slot inventory.

Thin: the catalogue (departments, doctors, rooms, templates) is edited here; sessions,
slots and quotas are made only by `clinics.services` (generation, hand-added sessions)
and change only through services, so their pages are read-only. Capacity never moves
by an admin save: invariant 2 wants every such change to go through an audited service.
"""

from collections.abc import Iterable

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin

from clinics import services
from clinics.exceptions import SessionExists
from clinics.models import (
    CapacityChange,
    Department,
    Doctor,
    Quota,
    Room,
    ScheduleTemplate,
    Session,
    Slot,
)
from core.admin import ReadOnlyAdminMixin, ServiceCreateAdminMixin
from core.errors import YuyueError


# The catalogue's admins edit every language's text side by side (clinics/translation.py).
@admin.register(Department)
class DepartmentAdmin(TranslationAdmin):
    list_display = ["name_zh_hans", "name_en", "code", "parent", "sort_order", "is_active"]
    list_filter = [("parent", admin.RelatedOnlyFieldListFilter), "is_active"]
    list_select_related = ["parent"]
    search_fields = ["name_zh_hans", "name_en", "code"]
    autocomplete_fields = ["parent"]


@admin.register(Doctor)
class DoctorAdmin(TranslationAdmin):
    list_display = ["name_zh_hans", "name_en", "title", "level", "fee", "department", "is_active"]
    list_filter = ["title", "level", "department", "is_active"]
    list_select_related = ["department"]
    search_fields = ["name_zh_hans", "name_en", "specialties_zh_hans", "specialties_en"]
    autocomplete_fields = ["department"]


@admin.register(Room)
class RoomAdmin(TranslationAdmin):
    list_display = ["code", "name_zh_hans", "name_en", "department"]
    list_filter = ["department"]
    list_select_related = ["department"]
    search_fields = ["code", "name_zh_hans", "name_en"]
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
    search_fields = ["doctor__name_zh_hans", "doctor__name_en"]
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
        # The service judges what is refused; checking writes nothing (the admin's
        # SessionAdmin.create calls session_add once the form is valid).
        try:
            services.session_add_check(
                doctor=data["doctor"],
                date=data["date"],
                half_day=data["half_day"],
                **self.shape(),
            )
        except YuyueError as exc:
            # Next to the half-day, the second session in one is refused once, in the
            # service's words: a field with an error is left out of the model's own
            # constraint checks.
            field = "half_day" if exc.code == SessionExists.code else None
            self.add_error(field, forms.ValidationError(exc.detail, code=exc.code))
        return data

    def shape(self) -> dict:
        """The slots' shape and the channel split, as session_add takes them."""
        data = self.cleaned_data
        return {
            "start_time": data["start_time"],
            "slot_minutes": data["slot_minutes"],
            "slot_count": data["slot_count"],
            "places_per_slot": data["places_per_slot"],
            "split": {
                "online": data["online_percent"],
                "phone": data["phone_percent"],
                "walkin": data["walkin_percent"],
                "reserved": data["reserved_percent"],
            },
        }


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
class SessionAdmin(ServiceCreateAdminMixin, admin.ModelAdmin):
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
    search_fields = ["doctor__name_zh_hans", "doctor__name_en"]
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
        queryset = (
            super()
            .get_queryset(request)
            .annotate(
                places_capacity=Sum("slots__quotas__capacity"),
                places_booked=Sum("slots__quotas__booked"),
            )
        )
        user = request.user
        # A doctor's account that may not change sessions (the doctor role) reads its own.
        if (
            not user.has_perm("clinics.change_session")
            and Doctor.objects.filter(account_id=user.pk).exists()
        ):
            queryset = queryset.filter(doctor__account_id=user.pk)
        return queryset

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

    def create(self, request: HttpRequest, form: SessionAddForm) -> Session:
        """A hand-added session, with its slots and quotas: session_add writes them all."""
        data = form.cleaned_data
        return services.session_add(
            doctor=data["doctor"],
            department=data["department"],
            room=data["room"],
            date=data["date"],
            half_day=data["half_day"],
            **form.shape(),
        )

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


class CapacityChangeInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CapacityChange
    fields = ["created_at", "delta", "capacity_after", "reason", "ref", "note", "changed_by"]
    readonly_fields = fields
    extra = 0
    ordering = ["-created_at", "-pk"]


@admin.register(Quota)
class QuotaAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Quotas move only through services. Staff with the change right set a capacity on
    its own page, with a reason, through `quota_capacity_set` (recorded)."""

    list_display = ["slot", "channel", "capacity", "booked", "held", "available"]
    list_filter = ["channel"]
    list_select_related = ["slot__session__doctor"]
    search_fields = ["slot__session__doctor__name"]
    readonly_fields = ["slot", "channel", "capacity", "booked", "held", "available", "set_link"]
    show_full_result_count = False  # a large table: skip the second COUNT(*)
    inlines = [CapacityChangeInline]

    @admin.display(description=_("available"))
    def available(self, quota: Quota) -> int:
        return quota.available

    @admin.display(description=_("change the capacity"))
    def set_link(self, quota: Quota) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:clinics_quota_set_capacity", args=[quota.pk]),
            _("Change the capacity, with a reason"),
        )

    def get_urls(self):
        return [
            path(
                "<int:quota_id>/capacity/",
                self.admin_site.admin_view(self.set_capacity_view),
                name="clinics_quota_set_capacity",
            ),
            *super().get_urls(),
        ]

    def set_capacity_view(self, request: HttpRequest, quota_id: int) -> HttpResponse:
        if not request.user.has_perm("clinics.change_quota"):
            raise PermissionDenied
        quota = get_object_or_404(
            Quota.objects.select_related("slot__session__doctor"), pk=quota_id
        )
        form = QuotaCapacityForm(request.POST or None, initial={"capacity": quota.capacity})
        if request.method == "POST" and form.is_valid():
            try:
                services.quota_capacity_set(
                    quota=quota,
                    capacity=form.cleaned_data["capacity"],
                    changed_by=request.user,
                    note=form.cleaned_data["note"],
                )
            except YuyueError as error:
                form.add_error(None, error.detail)
            else:
                self.message_user(request, _("Capacity changed and recorded."), messages.SUCCESS)
                return redirect("admin:clinics_quota_change", quota.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Change the capacity of %(quota)s") % {"quota": quota},
            "opts": self.model._meta,
            "original": quota,
            "form": form,
        }
        return TemplateResponse(request, "admin/clinics/quota/set_capacity.html", context)


class QuotaCapacityForm(forms.Form):
    capacity = forms.IntegerField(label=_("new capacity"), min_value=0)
    note = forms.CharField(label=_("reason"), max_length=200)


@admin.register(CapacityChange)
class CapacityChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "quota", "delta", "capacity_after", "reason", "ref", "changed_by"]
    list_filter = ["reason"]
    list_select_related = ["quota__slot__session__doctor", "changed_by"]
    search_fields = ["ref", "note"]
    date_hierarchy = "created_at"
    show_full_result_count = False


def _quotas_summary(quotas: Iterable[Quota]) -> str:
    return " · ".join(
        f"{quota.get_channel_display()} {quota.booked}/{quota.capacity}"
        for quota in sorted(quotas, key=lambda quota: services.CHANNEL_ORDER.index(quota.channel))
    )
