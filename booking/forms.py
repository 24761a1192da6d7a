"""Forms of the patient's booking pages: parse and validate input, nothing more. The
booking rules are judged by the services (`booking.services.booking_create`)."""

from django import forms
from django.utils.translation import gettext_lazy as _


class RedFlagForm(forms.Form):
    """Step 0: does the patient have an eye emergency? (GET, so Back keeps the answer.)"""

    YES = "yes"
    NO = "no"

    red_flags = forms.ChoiceField(
        label=_("Do you have any of these now?"),
        choices=[(YES, _("Yes, one of these")), (NO, _("No, none of these"))],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose yes or no.")},
    )


class ConfirmForm(forms.Form):
    """The final step's POST: which place, for whom, and the key that makes a double
    submit one booking."""

    slot = forms.IntegerField(min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)
    patient = forms.IntegerField(
        label=_("Who is the appointment for?"),
        min_value=1,
        max_value=2**63 - 1,
        error_messages={"required": _("Choose who the appointment is for.")},
    )
    idempotency_key = forms.CharField(max_length=64, widget=forms.HiddenInput)
