"""Accounts (who signs in) and patients (who is seen): self and family."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from patients.identity import mask_document_number


class Account(AbstractUser):
    """The custom user: patients sign in with their phone; staff with a username."""

    class Language(models.TextChoices):
        ZH_HANS = "zh-hans", "简体中文"
        EN = "en", "English"

    phone = models.CharField(_("phone"), max_length=20, unique=True, null=True, blank=True)
    language = models.CharField(
        _("language"), max_length=10, choices=Language.choices, default=Language.ZH_HANS
    )
    # The account's openid at the hospital's WeChat Official Account: messages go there
    # as template messages when it is set and WeChat is configured, by SMS otherwise.
    wechat_openid = models.CharField(_("WeChat openid"), max_length=64, blank=True, default="")

    class Meta(AbstractUser.Meta):
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        swappable = "AUTH_USER_MODEL"


class Patient(models.Model):
    class DocumentType(models.TextChoices):
        RESIDENT_ID = "resident_id", _("Resident ID card")
        PASSPORT = "passport", _("Passport")
        OTHER = "other", _("Other document")

    class Sex(models.TextChoices):
        FEMALE = "F", _("Female")
        MALE = "M", _("Male")

    class Relationship(models.TextChoices):
        SELF = "self", _("Self")
        PARENT = "parent", _("Parent")
        CHILD = "child", _("Child")
        SPOUSE = "spouse", _("Spouse")
        OTHER = "other", _("Other family")

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="patients", verbose_name=_("account")
    )
    relationship = models.CharField(
        _("relationship"), max_length=10, choices=Relationship.choices, default=Relationship.SELF
    )
    real_name = models.CharField(_("real name"), max_length=50)
    document_type = models.CharField(
        _("document type"), max_length=20, choices=DocumentType.choices
    )
    document_number = models.CharField(_("document number"), max_length=32)
    birth_date = models.DateField(_("birth date"))
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    medical_record_number = models.CharField(
        _("medical record number"), max_length=12, unique=True, editable=False
    )
    suspended_until = models.DateField(_("online booking suspended until"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "document_type", "document_number"],
                name="patient_unique_document_per_account",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.real_name} ({self.masked_document_number})"

    @property
    def masked_document_number(self) -> str:
        return mask_document_number(self.document_number)

    def is_suspended_on(self, day) -> bool:
        return self.suspended_until is not None and day <= self.suspended_until


class NoShow(models.Model):
    """One missed visit, kept for the rolling no-show count."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="no_shows")
    visit_date = models.DateField(_("visit date"))
    reference = models.CharField(_("reference"), max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("no-show")
        verbose_name_plural = _("no-shows")
        indexes = [models.Index(fields=["patient", "visit_date"])]

    def __str__(self) -> str:
        return f"{self.patient_id} {self.visit_date}"
