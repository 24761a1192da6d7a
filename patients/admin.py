"""Staff pages for accounts, patients and no-shows.

Lists never show a full document number, a birth date or a full phone: a document
number keeps its last 4 characters, a phone is 138****5678, a patient's age stands for
the birth date (with the last 4 of a resident ID, a birth date narrows the number to a
few hundred). The change page shows the full number and birth date to staff with
`patients.view_document_number`, who opened one patient on purpose. Phones and document
numbers are searched as whole numbers only (so a search cannot uncover the hidden
digits), a document number also by its last 4 characters.

A new patient goes through `patient_create`, so the admin obeys the same identity
rules, limits and medical record numbers as the site.
"""

from auditlog.models import LogEntry
from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdminMixin, ServiceCreateAdminMixin
from core.audit import AuditEntryAdmin
from core.errors import YuyueError
from patients.exceptions import (
    InvalidBirthDate,
    InvalidDocumentNumber,
    InvalidName,
    InvalidPhone,
    PatientAlreadyRegistered,
    TooManyPatients,
)
from patients.identity import age_on, document_suffix_query, mask_phone
from patients.models import Account, NoShow, Patient
from patients.selectors import patient_list_for_account
from patients.services import (
    PATIENTS_PER_ACCOUNT,
    contact_phone_clean,
    patient_create,
    patient_details_clean,
    patient_update,
)

# Where a refusal is shown on the add form; anything else goes above the form.
_ERROR_FIELDS = {
    InvalidName: "real_name",
    InvalidDocumentNumber: "document_number",
    InvalidBirthDate: "birth_date",
    InvalidPhone: "phone",
}


DOCUMENT_NUMBER_PERMISSION = "patients.view_document_number"


class DocumentSuffixSearchMixin:
    """A 4-character search term also finds the patients whose document number ends with
    it: the desk asks for "the last 4 of your ID", as the lists show them."""

    document_number_path = "document_number"

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        suffix = document_suffix_query(search_term)
        if suffix is not None:
            found |= queryset.filter(**{f"{self.document_number_path}__endswith": suffix})
        return found, may_have_duplicates


@admin.register(Account)
class AccountAdmin(UserAdmin):
    list_display = (
        "__str__",
        "account_phone",
        "language",
        "is_staff",
        "is_active",
        "date_joined",
    )
    # "=": a patient's username and phone are the phone number, found only whole.
    search_fields = ("=username", "=phone", "first_name", "last_name", "email")
    fieldsets = (
        *UserAdmin.fieldsets,
        (_("Patient sign-in"), {"fields": ("phone", "language")}),
    )
    add_fieldsets = (
        *UserAdmin.add_fieldsets,
        (_("Patient sign-in"), {"fields": ("phone", "language")}),
    )

    @admin.display(description=_("phone"), ordering="phone")
    def account_phone(self, obj: Account) -> str:
        return mask_phone(obj.phone)


class SuspendedFilter(admin.SimpleListFilter):
    title = _("online booking suspended")
    parameter_name = "suspended"

    def lookups(self, request, model_admin):
        return (("yes", _("Yes")), ("no", _("No")))

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "yes":
            return queryset.filter(suspended_until__gte=today)
        if self.value() == "no":
            return queryset.exclude(suspended_until__gte=today)
        return queryset


class PatientAddForm(forms.ModelForm):
    """The service's rules as form errors; birth date and sex may be left out for a resident ID."""

    class Meta:
        model = Patient
        fields = (
            "account",
            "relationship",
            "real_name",
            "document_type",
            "document_number",
            "birth_date",
            "sex",
            "phone",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["birth_date"].required = False
        self.fields["sex"].required = False
        self.fields["birth_date"].help_text = _("Derived from a resident ID when left empty.")

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            details = patient_details_clean(
                real_name=cleaned["real_name"],
                document_type=cleaned["document_type"],
                document_number=cleaned["document_number"],
                birth_date=cleaned.get("birth_date"),
                sex=cleaned.get("sex") or None,
                phone=cleaned.get("phone", ""),
            )
        except YuyueError as exc:
            self.add_error(
                _ERROR_FIELDS.get(type(exc)), forms.ValidationError(exc.detail, exc.code)
            )
            return cleaned
        cleaned.update(
            real_name=details.real_name,
            document_number=details.document_number,
            birth_date=details.birth_date,
            sex=details.sex,
            phone=details.phone,
        )
        # Early answers for the desk; `patient_create` checks both again under the lock.
        patients = patient_list_for_account(account=cleaned["account"])
        if patients.filter(
            document_type=details.document_type, document_number=details.document_number
        ).exists():
            error = PatientAlreadyRegistered()
            self.add_error(None, forms.ValidationError(error.detail, error.code))
        elif patients.count() >= PATIENTS_PER_ACCOUNT:
            error = TooManyPatients(limit=PATIENTS_PER_ACCOUNT)
            self.add_error(None, forms.ValidationError(error.detail, error.code))
        return cleaned

    def validate_unique(self):
        # The service owns uniqueness (document per account, medical record number).
        pass


class PatientChangeForm(forms.ModelForm):
    """What staff may change after registration, judged as `patient_update` judges it."""

    class Meta:
        model = Patient
        fields = ("relationship", "phone", "suspended_until")

    def clean_phone(self) -> str:
        try:
            return contact_phone_clean(self.cleaned_data["phone"])
        except YuyueError as exc:
            raise forms.ValidationError(exc.detail, code=exc.code) from exc


@admin.register(Patient)
class PatientAdmin(DocumentSuffixSearchMixin, ServiceCreateAdminMixin, admin.ModelAdmin):
    list_display = (
        "real_name",
        "masked_document_number",
        "relationship",
        "account_phone",
        "age",
        "sex",
        "medical_record_number",
        "suspended_until",
    )
    list_filter = ("document_type", "sex", SuspendedFilter)
    # "=": phones and the document number are searched only as exact, whole numbers.
    search_fields = (
        "real_name",
        "medical_record_number",
        "=phone",
        "=account__phone",
        "=document_number",
    )
    list_select_related = ("account",)
    autocomplete_fields = ("account",)
    ordering = ("-created_at",)
    # Identity is set once, through the service's checks; suspensions may be lifted.
    identity_fields = (
        "account",
        "real_name",
        "document_type",
        "document_number",
        "birth_date",
        "sex",
    )

    @admin.display(description=_("document number"))
    def masked_document_number(self, obj: Patient) -> str:
        return obj.masked_document_number

    @admin.display(description=_("account phone"), ordering="account__phone")
    def account_phone(self, obj: Patient) -> str:
        return mask_phone(obj.account.phone)

    @admin.display(description=_("age"), ordering="-birth_date")
    def age(self, obj: Patient) -> int:
        return age_on(obj.birth_date, timezone.localdate())

    def _shown_identity_fields(self, request) -> tuple[str, ...]:
        """The identity on the change page: in full to staff allowed to see document
        numbers; to others the masked number and the age, as in the list."""
        if request.user.has_perm(DOCUMENT_NUMBER_PERMISSION):
            return self.identity_fields
        shown = {"document_number": "masked_document_number", "birth_date": "age"}
        return tuple(shown.get(name, name) for name in self.identity_fields)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (*self._shown_identity_fields(request), "medical_record_number", "created_at")

    def get_fields(self, request, obj=None):
        if obj is None:
            return super().get_fields(request, obj)
        return (
            *self._shown_identity_fields(request),
            "medical_record_number",
            *PatientChangeForm.Meta.fields,
            "created_at",
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = PatientAddForm if obj is None else PatientChangeForm
        return super().get_form(request, obj, change=change, **kwargs)

    def create(self, request, form: PatientAddForm) -> Patient:
        data = form.cleaned_data
        return patient_create(
            account=data["account"],
            relationship=data["relationship"],
            real_name=data["real_name"],
            document_type=data["document_type"],
            document_number=data["document_number"],
            birth_date=data["birth_date"],
            sex=data["sex"],
            phone=data["phone"],
        )

    def save_model(self, request, obj: Patient, form, change: bool) -> None:
        if not change:
            return  # `create` made it
        data = form.cleaned_data
        patient_update(
            patient=obj,
            relationship=data["relationship"],
            phone=data["phone"],
            suspended_until=data["suspended_until"],
        )


@admin.register(NoShow)
class NoShowAdmin(DocumentSuffixSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Missed visits are recorded by the booking app (`patient_record_no_show`), once per
    booking; they count towards suspensions, so staff read them here and never edit."""

    list_display = ("patient", "visit_date", "reference", "created_at")
    list_select_related = ("patient",)
    search_fields = ("reference", "patient__medical_record_number", "patient__real_name")
    document_number_path = "patient__document_number"
    autocomplete_fields = ("patient",)
    date_hierarchy = "visit_date"
    readonly_fields = ("created_at",)


# auditlog's log entry pages, masked again on display (core.audit.AuditEntryAdmin).
if admin.site.is_registered(LogEntry):
    admin.site.unregister(LogEntry)
admin.site.register(LogEntry, AuditEntryAdmin)
