"""Forms of the patient's own pages: reschedule and waitlist. They parse input only;
every rule is the services' (a refusal comes back as a YuyueError and is shown)."""

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from patients.models import Patient


class ChoiceQueryForm(forms.Form):
    """The reschedule pages' choices, carried in the query string (GET, no JavaScript)."""

    session = forms.IntegerField(required=False, min_value=1)
    slot = forms.IntegerField(required=False, min_value=1)


class RescheduleConfirmForm(forms.Form):
    session = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    slot = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    # One key per confirm page: a double submit replays the first result.
    idempotency_key = forms.CharField(max_length=64, widget=forms.HiddenInput)

    @staticmethod
    def new_key() -> str:
        return uuid.uuid4().hex


class WaitlistJoinForm(forms.Form):
    patient = forms.TypedChoiceField(
        label=_("Who is waiting for a place?"),
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose the patient who will see the doctor.")},
    )

    def __init__(self, *args, patients: list[Patient], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["patient"].choices = [(p.pk, p.real_name) for p in patients]
        if len(patients) == 1 and not self.is_bound:
            self.initial["patient"] = patients[0].pk
