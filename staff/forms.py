"""Staff sign-in in one step (name, password, code), and confirming an authenticator app.

Whatever is wrong, the answer is the same sentence: a right password with a wrong code
must look exactly like a wrong password, and counts towards the lock-out like one.
"""

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_otp import devices_for_user
from django_otp.models import Device

from core.access import second_factor_required

GENERIC_ERROR = _("Please enter a correct username, password and verification code.")


class CodeInput(forms.TextInput):
    """A code is good once: after a failure the box is empty for a fresh one."""

    def format_value(self, value):
        return None


def _code_field(required: bool) -> forms.CharField:
    # Never required on the server: a missing code is judged with the password, as one
    # failed sign-in with the one generic answer. The browser asks for it where needed.
    # No numeric keypad: a backup code has letters.
    attrs = {"autocomplete": "one-time-code", "autocapitalize": "none", "spellcheck": "false"}
    if required:
        attrs["required"] = True
    return forms.CharField(
        label=_("Verification code"),
        required=False,
        max_length=16,
        strip=True,
        help_text=_("The 6-digit code from your authenticator app, or one of your backup codes."),
        widget=CodeInput(attrs=attrs),
    )


def verify_code(user, code: str) -> Device | None:
    """The user's confirmed device (authenticator app or backup code) that accepts `code`."""
    code = "".join(code.split())
    if not code:
        return None
    # Locked rows: two requests with one backup code cannot both use it.
    with transaction.atomic():
        for device in devices_for_user(user, confirmed=True, for_verify=True):
            if device.verify_token(code):
                return device
    return None


class StaffLoginForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    otp_token = _code_field(required=True)

    error_messages = {"invalid_login": GENERIC_ERROR, "inactive": GENERIC_ERROR}

    def __init__(self, request: HttpRequest, *args, **kwargs) -> None:
        self.request = request
        self.user = None
        self.device: Device | None = None
        super().__init__(*args, **kwargs)
        if not second_factor_required():
            self.fields["otp_token"] = _code_field(required=False)

    def clean(self) -> dict:
        data = super().clean()
        username = data.get("username")
        password = data.get("password")
        if self.errors or not (username and password):
            return data  # a missing name or password is named by its field; nothing tried
        code = data.get("otp_token") or ""
        user = authenticate(self.request, username=username, password=password)
        if user is None:
            # A wrong password (or a lock-out): authenticate() has told axes already.
            raise forms.ValidationError(GENERIC_ERROR, code="invalid_login")
        device = verify_code(user, code) if code else None
        code_failed = device is None and (bool(code) or second_factor_required())
        if code_failed or not (user.is_active and user.is_staff):
            # A right password is no success without the code: one failure for axes.
            user_login_failed.send(
                sender=__name__, credentials={"username": username}, request=self.request
            )
            raise forms.ValidationError(GENERIC_ERROR, code="invalid_login")
        self.user, self.device = user, device
        return data


class EnrolForm(forms.Form):
    """The person's own password, and a first code from the app they just set up."""

    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    otp_token = forms.CharField(
        label=_("Code from your app"),
        max_length=8,
        strip=True,
        help_text=_(
            "Scan the QR code with your authenticator app, then type the 6 digits it shows."
        ),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"}
        ),
    )

    def __init__(self, request: HttpRequest, device, *args, **kwargs) -> None:
        self.request = request
        self.device = device
        super().__init__(*args, **kwargs)

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        user = self.device.user
        # Through authenticate(): a guessed password here counts towards the lock-out.
        if (
            authenticate(self.request, username=user.get_username(), password=data["password"])
            is None
        ):
            raise forms.ValidationError(
                _("That password or code is not right. Please try again."), code="invalid"
            )
        code = "".join(data["otp_token"].split())
        if not self.device.verify_token(code):
            raise forms.ValidationError(
                _("That password or code is not right. Please try again."), code="invalid"
            )
        return data
