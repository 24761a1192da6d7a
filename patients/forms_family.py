"""Forms of the "my patients" pages. They parse what was typed; the rules (identity,
limit, guardian) are the services' and come back as refusals, which `show_refusal`
puts next to the field they are about."""

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from core.errors import YuyueError
from patients.exceptions import (
    DocumentDetailsMismatch,
    DocumentNumberRequired,
    InvalidBirthDate,
    InvalidDocumentNumber,
    InvalidName,
    InvalidPhone,
    MissingPersonalDetails,
    PatientAlreadyRegistered,
)
from patients.models import Patient

# Where each refusal is shown; anything else goes in the error summary only.
_REFUSAL_FIELDS = {
    InvalidName: "real_name",
    InvalidDocumentNumber: "document_number",
    DocumentDetailsMismatch: "document_number",
    PatientAlreadyRegistered: "document_number",
    DocumentNumberRequired: "document_type",
    InvalidBirthDate: "birth_date",
    InvalidPhone: "phone",
}


class AccessibleFormMixin:
    """Ties each field to its help text and error (aria-describedby, aria-invalid)."""

    def full_clean(self):
        super().full_clean()
        self.describe_fields()

    def describe_fields(self) -> None:
        for name, field in self.fields.items():
            bound = self[name]
            ids = []
            if field.help_text:
                ids.append(f"{bound.auto_id}_help")
            if name in self.errors:
                ids.append(f"{bound.auto_id}_error")
                field.widget.attrs["aria-invalid"] = "true"
            if ids:
                field.widget.attrs["aria-describedby"] = " ".join(ids)

    def show_refusal(self, refusal: YuyueError) -> None:
        field = _REFUSAL_FIELDS.get(type(refusal))
        if isinstance(refusal, MissingPersonalDetails):
            field = "birth_date" if not self.cleaned_data.get("birth_date") else "sex"
        self.add_error(
            field if field in self.fields else None,
            forms.ValidationError(refusal.detail, code=refusal.code),
        )
        self.describe_fields()


class FamilyAddForm(AccessibleFormMixin, forms.Form):
    real_name = forms.CharField(
        label=_("Real name"),
        max_length=50,
        help_text=_("As written on the document."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    relationship = forms.ChoiceField(
        label=_("Relationship to you"),
        choices=Patient.Relationship.choices,
        initial=Patient.Relationship.CHILD,
        widget=forms.RadioSelect,
    )
    document_type = forms.ChoiceField(
        label=_("Document"),
        choices=Patient.DocumentType.choices,
        initial=Patient.DocumentType.RESIDENT_ID,
        widget=forms.RadioSelect,
    )
    document_number = forms.CharField(
        label=_("Document number"),
        max_length=40,
        required=False,
        help_text=_(
            "Leave empty only for a child under 14 without an ID number. After saving, "
            "only the first 4 and last 4 characters are shown."
        ),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )
    birth_date = forms.DateField(
        label=_("Birth date"),
        required=False,
        help_text=_(
            "Year-month-day, e.g. 2018-05-01. Not needed for a resident ID: it is read from "
            "the number."
        ),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    sex = forms.ChoiceField(
        label=_("Sex"),
        choices=Patient.Sex.choices,
        required=False,
        help_text=_("Not needed for a resident ID: it is read from the number."),
        widget=forms.RadioSelect,
    )
    phone = forms.CharField(
        label=_("Contact phone (optional)"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    # One key per form drawn: a second submit of the same form adds no second patient.
    add_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("add_key", uuid.uuid4())
        super().__init__(*args, **kwargs)


class FamilyEditForm(AccessibleFormMixin, forms.Form):
    relationship = forms.ChoiceField(
        label=_("Relationship to you"),
        choices=Patient.Relationship.choices,
        widget=forms.RadioSelect,
    )
    phone = forms.CharField(
        label=_("Contact phone (optional)"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
