"""Forms of the patient's account pages. They parse and show errors; the rules are the
services' (a form calls the service's clean function to show its refusal early)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from core.errors import YuyueError
from patients.models import Account
from patients.selectors import SIGN_IN_CODE_DIGITS
from patients.services import sign_in_phone_clean


class SignInPhoneForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile phone number"),
        max_length=32,
        help_text=_("We send a 6-digit sign-in code to this number by SMS."),
        widget=forms.TextInput(
            attrs={"autocomplete": "tel", "inputmode": "tel", "spellcheck": "false"}
        ),
    )
    language = forms.ChoiceField(
        label=_("Language of your messages"),
        help_text=_("Used when this phone number signs in for the first time."),
        choices=Account.Language.choices,
        widget=forms.RadioSelect,
    )

    def clean_phone(self) -> str:
        try:
            return sign_in_phone_clean(self.cleaned_data["phone"])
        except YuyueError as error:
            raise forms.ValidationError(error.detail, code=error.code) from None


class SignInCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Sign-in code"),
        help_text=_("The 6 digits in the SMS. You can paste them."),
        max_length=32,  # pasted text may carry spaces; the service drops them
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "spellcheck": "false",
                "size": SIGN_IN_CODE_DIGITS + 2,
            }
        ),
    )
