"""The desk's forms. They parse what was typed; the rules are the services' and come
back as refusals, shown next to the field they are about (`show_refusal`)."""

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from patients.forms_family import AccessibleFormMixin
from patients.models import Patient


class PatientSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Find a patient"),
        max_length=60,
        help_text=_("Phone, medical record number, name, or the last 4 characters of the ID."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )


class DeskPatientForm(AccessibleFormMixin, forms.Form):
    """A new patient at the window: a phone is optional (a walk-in without one works)."""

    real_name = forms.CharField(
        label=_("Real name"),
        max_length=50,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    document_type = forms.ChoiceField(
        label=_("Document"),
        choices=Patient.DocumentType.choices,
        initial=Patient.DocumentType.RESIDENT_ID,
    )
    document_number = forms.CharField(
        label=_("Document number"),
        max_length=40,
        required=False,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )
    birth_date = forms.DateField(
        label=_("Birth date"),
        required=False,
        help_text=_("Only without a resident ID: it is read from the number."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    sex = forms.ChoiceField(
        label=_("Sex"),
        choices=[("", "—"), *Patient.Sex.choices],
        required=False,
        help_text=_("Only without a resident ID: it is read from the number."),
    )
    phone = forms.CharField(
        label=_("Mobile phone (optional)"),
        max_length=20,
        required=False,
        help_text=_("Leave empty if the patient has none: the desk keeps the record."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "real_name": data["real_name"],
            "document_type": data["document_type"],
            "document_number": data["document_number"],
            "birth_date": data["birth_date"],
            "sex": data["sex"] or None,
            "phone": data["phone"],
        }


class DepartmentForm(forms.Form):
    department = forms.ModelChoiceField(label=_("Department"), queryset=None, empty_label="—")

    def __init__(self, *args, departments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments


def new_key() -> str:
    """A one-time idempotency key for a Book button: a double click books once."""
    return uuid.uuid4().hex


class BookForm(forms.Form):
    """What a Book button posts; the patient and the key are hidden fields."""

    patient = forms.IntegerField(widget=forms.HiddenInput)
    slot = forms.IntegerField(widget=forms.HiddenInput)
    key = forms.CharField(max_length=64, widget=forms.HiddenInput)


class ExtraPlaceForm(forms.Form):
    """An extra place [加号] once a session's walk-in places are gone: why, always."""

    patient = forms.IntegerField(widget=forms.HiddenInput)
    session = forms.IntegerField(widget=forms.HiddenInput)
    key = forms.CharField(max_length=64, widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("Reason for the extra place"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class CheckInForm(forms.Form):
    q = forms.CharField(
        label=_("Booking code or phone"),
        max_length=60,
        help_text=_("Type the code, scan the QR code on the booking, or type the phone number."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )
    disability = forms.BooleanField(label=_("Disability priority"), required=False)


class CheckInBookingForm(forms.Form):
    """The chosen booking of a phone's list."""

    booking = forms.IntegerField(widget=forms.HiddenInput)
    disability = forms.BooleanField(label=_("Disability priority"), required=False)
