"""The staff side of the accounts admin: setting up a person's second factor.

patients.admin registers the accounts' admin; this extends it (registered again on the
same model) with an action and a button, "Set up two-factor sign-in": it makes an
unconfirmed authenticator for the person and shows a one-time link to hand them.
Allowed to superusers and to holders of otp_totp.add_totpdevice.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from patients.admin import AccountAdmin
from patients.models import Account
from staff import services


class StaffAccountAdmin(AccountAdmin):
    actions = ["set_up_two_factor"]
    list_display = (*AccountAdmin.list_display, "has_second_factor")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        confirmed = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
        return super().get_queryset(request).annotate(second_factor=Exists(confirmed))

    @admin.display(description=_("two-factor sign-in"), boolean=True, ordering="second_factor")
    def has_second_factor(self, obj: Account) -> bool:
        return bool(getattr(obj, "second_factor", False))

    def has_enrol_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or request.user.has_perm("otp_totp.add_totpdevice")

    @admin.action(description=_("Set up two-factor sign-in"), permissions=["enrol"])
    def set_up_two_factor(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._start(request, list(queryset.order_by("username")))

    def get_urls(self):
        return [
            path(
                "<path:object_id>/two-factor/",
                self.admin_site.admin_view(self.two_factor_view),
                name="patients_account_two_factor",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_enrol": self.has_enrol_permission(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    def two_factor_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        account = get_object_or_404(Account, pk=object_id)
        if not (self.has_enrol_permission(request) and self.has_view_permission(request)):
            raise PermissionDenied
        if request.method == "POST":
            return self._start(request, [account])
        return TemplateResponse(
            request,
            "admin/staff/enrol_confirm.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Set up two-factor sign-in"),
                "account": account,
                "opts": self.opts,
                "has_device": TOTPDevice.objects.filter(user=account, confirmed=True).exists(),
            },
        )

    def _start(self, request: HttpRequest, accounts: list[Account]) -> HttpResponse | None:
        links = []
        for account in accounts:
            if not (account.is_active and account.is_staff):
                self.message_user(
                    request,
                    _("%(name)s is not an active staff account: no second factor was set up.")
                    % {"name": account.get_username()},
                    messages.WARNING,
                )
                continue
            _device, token = services.totp_enrolment_start(account=account)
            url = request.build_absolute_uri(reverse("staff:enrol", args=[token]))
            links.append({"account": account, "url": url})
        if not links:
            return None
        return TemplateResponse(
            request,
            "admin/staff/enrol_links.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Two-factor sign-in links"),
                "links": links,
                "opts": self.opts,
                "expires_at": timezone.now() + services.ENROLMENT_MAX_AGE,
            },
        )


admin.site.unregister(Account)
admin.site.register(Account, StaffAccountAdmin)
