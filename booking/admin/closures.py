"""Ops controls: channel closures (close, reopen, print the sign) and public notices.

A closure is made by `closure_create` and ended by `closure_reopen`; once made it is
read-only here, so what patients were told and when stays on record.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from booking import exceptions as errors
from booking.channels import CLOSABLE
from booking.models import Closure, Notice
from booking.selectors import closures as selectors
from booking.services import closures as services
from clinics.models import Channel
from core.admin import ServiceCreateAdminMixin
from core.errors import YuyueError

# Which form field a refusal of closure_validate belongs next to.
_ERROR_FIELDS = {
    errors.ClosureNoChannel.code: "online",
    errors.ClosureUnknownChannel.code: "online",
    errors.ClosureEndsBeforeStart.code: "ends_at",
    errors.ClosureAlreadyOver.code: "ends_at",
    errors.ClosureUnknownReason.code: "reason",
    errors.ClosureNoticeMissing.code: "notice",
    errors.ClosureNoticeTooLong.code: "notice",
}
_TARGET_FIELDS = {
    Closure.Scope.DEPARTMENT: "department",
    Closure.Scope.DOCTOR: "doctor",
    Closure.Scope.SESSION: "session",
}


class ClosureAddForm(forms.ModelForm):
    class Meta:
        model = Closure
        fields = [
            "scope",
            "department",
            "doctor",
            "session",
            "online",
            "phone",
            "walkin",
            "starts_at",
            "ends_at",
            "reason",
            "notice",
            "notice_en",
            "release_places",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The notices must fit on the one-page sign: say so where they are typed.
        for name in ("notice", "notice_en"):
            field = self.fields[name]
            field.max_length = services.NOTICE_MAX_LENGTH
            field.validators.append(MaxLengthValidator(services.NOTICE_MAX_LENGTH))
            field.widget.attrs["maxlength"] = str(services.NOTICE_MAX_LENGTH)
            field.help_text = _("At most %(limit)d characters.") % {
                "limit": services.NOTICE_MAX_LENGTH
            }
        # The admin splits each moment into a date and a time box: each box needs its own
        # name for a screen reader (the field's one <label> points at neither).
        for name, date_label, time_label in (
            ("starts_at", _("Start date"), _("Start time")),
            ("ends_at", _("End date"), _("End time")),
        ):
            widgets = getattr(self.fields[name].widget, "widgets", ())
            if len(widgets) == 2:
                widgets[0].attrs["aria-label"] = date_label
                widgets[1].attrs["aria-label"] = time_label

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        scope = data.get("scope")
        target_field = _TARGET_FIELDS.get(scope)
        target = data.get(target_field) if target_field else None
        # Another target filled in besides the scope's own is a mistake, not ignored.
        stray = [f for f in _TARGET_FIELDS.values() if f != target_field and data.get(f)]
        try:
            if stray:
                raise errors.ClosureTargetMismatch(scope=Closure.Scope(scope).label)
            services.closure_validate(
                scope=scope,
                target=target,
                channels=self.channels(),
                starts_at=data.get("starts_at"),
                ends_at=data.get("ends_at"),
                reason=data.get("reason"),
                notice=data.get("notice", ""),
                notice_en=data.get("notice_en", ""),
            )
        except YuyueError as error:
            field = _ERROR_FIELDS.get(error.code)
            if error.code == errors.ClosureTargetMismatch.code:
                field = stray[0] if stray else target_field or "scope"
            # A field with an error is left out of the model's own constraint checks,
            # so the refusal is shown once, in words, next to its field.
            self.add_error(field, ValidationError(error.detail, code=error.code))
        return data

    def channels(self) -> list[str]:
        return [c for c in CLOSABLE if self.cleaned_data.get(c)]


@admin.register(Closure)
class ClosureAdmin(ServiceCreateAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "scope",
        "target",
        "channel_list",
        "starts_at",
        "ends_at",
        "reopened_at",
        "reason",
        "active",
        "sign",
    )
    list_filter = ("scope", "reason", "online", "phone", "walkin")
    list_select_related = ("department", "doctor", "session__doctor", "session__department")
    date_hierarchy = "starts_at"
    raw_id_fields = ("session",)
    actions = ("reopen_now", "reopen_and_return")
    fieldsets = (
        (_("Where"), {"fields": ("scope", "department", "doctor", "session")}),
        (_("Channels to close"), {"fields": ("online", "phone", "walkin")}),
        (_("When"), {"fields": ("starts_at", "ends_at")}),
        (_("Why, and what patients are told"), {"fields": ("reason", "notice", "notice_en")}),
        (_("Places"), {"fields": ("release_places",)}),
    )

    def get_form(self, request: HttpRequest, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ClosureAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        return {"starts_at": timezone.now(), **super().get_changeform_initial_data(request)}

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        if obj is None:
            return ()
        return (
            *[f for fs in self.fieldsets for f in fs[1]["fields"]],
            "reopened_at",
            "reopened_by",
            "created_by",
            "created_at",
            "sign",
        )

    def get_fieldsets(self, request: HttpRequest, obj=None):
        if obj is None:
            return self.fieldsets
        return (
            *self.fieldsets,
            (
                _("Record"),
                {"fields": ("created_by", "created_at", "reopened_at", "reopened_by", "sign")},
            ),
        )

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # what patients were told stays on record; reopen ends a closure

    def change_view(self, request: HttpRequest, object_id, form_url="", extra_context=None):
        # Nothing to save on a made closure: reopen it from the list instead.
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def create(self, request: HttpRequest, form: ClosureAddForm) -> Closure:
        data = form.cleaned_data
        target_field = _TARGET_FIELDS.get(data["scope"])
        return services.closure_create(
            scope=data["scope"],
            target=data.get(target_field) if target_field else None,
            channels=form.channels(),
            starts_at=data["starts_at"],
            ends_at=data.get("ends_at"),
            reason=data["reason"],
            notice=data["notice"],
            notice_en=data["notice_en"],
            release_places=data["release_places"],
            created_by=request.user,
        )

    def save_model(self, request: HttpRequest, obj: Closure, form, change: bool) -> None:
        pass  # made by `create`; read-only once made

    @admin.display(description=_("applies to"))
    def target(self, obj: Closure) -> str:
        names = selectors.closure_target_names(obj)
        return (
            names["zh-hans"]
            if names["zh-hans"] == names["en"]
            else f"{names['zh-hans']} / {names['en']}"
        )

    @admin.display(description=_("channels"))
    def channel_list(self, obj: Closure) -> str:
        return ", ".join(str(Channel(c).label) for c in obj.channels())

    @admin.display(description=_("in force now"), boolean=True)
    def active(self, obj: Closure) -> bool:
        return selectors.closure_is_active(obj, now=timezone.now())

    @admin.display(description=_("sign"))
    def sign(self, obj: Closure) -> str:
        if obj.pk is None:
            return "-"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            reverse("sign-closure", args=[obj.pk]),
            _("Print the sign"),
        )

    @admin.action(
        description=_("Reopen now: end the selected closures (released places stay at walk-in)"),
        permissions=["change"],
    )
    def reopen_now(self, request: HttpRequest, queryset) -> None:
        self._reopen(request, queryset, return_places=False)

    @admin.action(
        description=_(
            "Reopen now and move released places still unbooked back to their channels "
            "(sessions more than 2 hours ahead)"
        ),
        permissions=["change"],
    )
    def reopen_and_return(self, request: HttpRequest, queryset) -> None:
        self._reopen(request, queryset, return_places=True)

    def _reopen(self, request: HttpRequest, queryset, *, return_places: bool) -> None:
        done = 0
        now = timezone.now()
        for closure in queryset:
            try:
                services.closure_reopen(
                    closure=closure, reopened_by=request.user, return_places=return_places, now=now
                )
                done += 1
            except YuyueError as error:
                self.message_user(request, f"#{closure.pk}: {error.detail}", messages.WARNING)
        message = _("%(count)d closures reopened.") % {"count": done}
        if return_places:
            message += " " + str(
                _("Released places move back in the background; each release run shows how many.")
            )
        self.message_user(request, message)


class NoticeForm(forms.ModelForm):
    class Meta:
        model = Notice
        fields = ["title", "title_en", "body", "body_en", "severity", "starts_at", "ends_at"]

    def clean(self) -> dict:
        data = super().clean()
        ends_at, starts_at = data.get("ends_at"), data.get("starts_at")
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("ends_at", errors.NoticeEndsBeforeStart().detail)
        return data


@admin.register(Notice)
class NoticeAdmin(ServiceCreateAdminMixin, admin.ModelAdmin):
    form = NoticeForm
    list_display = ("title", "title_en", "severity", "starts_at", "ends_at", "shown_now")
    list_filter = ("severity",)
    search_fields = ("title", "title_en", "body", "body_en")
    date_hierarchy = "starts_at"
    readonly_fields = ("created_by", "created_at")

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        return {"starts_at": timezone.now(), **super().get_changeform_initial_data(request)}

    @admin.display(description=_("shown now"), boolean=True)
    def shown_now(self, obj: Notice) -> bool:
        now = timezone.now()
        return obj.starts_at <= now and (obj.ends_at is None or now < obj.ends_at)

    def create(self, request: HttpRequest, form: NoticeForm) -> Notice:
        return services.notice_create(created_by=request.user, **self._fields(form))

    def save_model(self, request: HttpRequest, obj: Notice, form, change: bool) -> None:
        if change:
            services.notice_update(notice=obj, **self._fields(form))

    @staticmethod
    def _fields(form: NoticeForm) -> dict:
        return {name: form.cleaned_data[name] for name in NoticeForm.Meta.fields}
