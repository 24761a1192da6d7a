"""Accounts (who signs in) and patients (who is seen): self and family."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from patients.identity import mask_document_number, mask_personal_value


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

    def __str__(self) -> str:
        # A patient's username is the phone: shown masked in lists, choosers, audit entries.
        return mask_personal_value(self.get_username())


class Patient(models.Model):
    class DocumentType(models.TextChoices):
        RESIDENT_ID = "resident_id", _("Resident ID card")
        PASSPORT = "passport", _("Passport")
        OTHER = "other", _("Other document")
        # A child under 14 whose resident ID number is not known yet: birth date and sex
        # typed in, booked with the account holder as guardian.
        NONE = "none", _("No ID number yet (child under 14)")

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
    # Set for a child without an ID number: the account holder's own patient, who books
    # and comes with the child.
    guardian = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="wards",
        verbose_name=_("guardian"),
    )
    # Removed from the account by its holder: hidden from the account's lists and
    # choosers, kept for the bookings and no-shows that name it.
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)
    # The add form's one-time key: a second submit of the same form finds this row.
    add_key = models.UUIDField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        permissions = [("view_document_number", _("Can see full ID document numbers"))]
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "document_type", "document_number"],
                condition=~models.Q(document_type="none"),
                name="patient_unique_document_per_account",
            ),
            # Without a document, a child is known by name and birth date.
            models.UniqueConstraint(
                fields=["account", "real_name", "birth_date"],
                condition=models.Q(document_type="none"),
                name="patient_unique_undocumented_child_per_account",
            ),
            models.UniqueConstraint(
                fields=["account", "add_key"], name="patient_unique_add_key_per_account"
            ),
            models.CheckConstraint(
                condition=~models.Q(document_type="none") | models.Q(guardian__isnull=False),
                name="patient_undocumented_child_has_guardian",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.real_name} ({self.masked_document_number})"

    @property
    def masked_document_number(self) -> str:
        return mask_document_number(self.document_number)

    @property
    def is_removed(self) -> bool:
        return self.removed_at is not None

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


class SignInCode(models.Model):
    """One one-time sign-in code sent by SMS. Only an HMAC of the code is stored.

    A code is good for `expires_at - created_at` (5 minutes), once (`used_at`), and
    dies after 5 wrong tries (`attempts`). Rows also count the requests per phone and
    per IP address (patients.services.sign_in_code_request).
    """

    phone = models.CharField(_("phone"), max_length=20)
    code_hash = models.CharField(_("code hash"), max_length=64)
    # The language chosen on the sign-in page: the SMS's, and the new account's.
    language = models.CharField(_("language"), max_length=10, choices=Account.Language.choices)
    requested_ip = models.GenericIPAddressField(_("requested from IP"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("wrong attempts"), default=0)

    class Meta:
        verbose_name = _("sign-in code")
        verbose_name_plural = _("sign-in codes")
        indexes = [
            models.Index(fields=["phone", "created_at"], name="signincode_phone_idx"),
            models.Index(fields=["requested_ip", "created_at"], name="signincode_ip_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="signincode_expires_after_created",
            ),
        ]

    def __str__(self) -> str:
        return f"***{self.phone[-4:]} {self.created_at:%Y-%m-%d %H:%M}"


class ApiToken(models.Model):
    """A bearer token for the API (`Authorization: Bearer <token>`). Only a SHA-256 of
    the token is stored; the token itself is shown once, when it is issued.

    A patient's token comes from the phone-code sign-in; a staff token only from a
    sign-in with a verified second factor (`second_factor` is then true and the API
    treats the request as verified). Tokens end at `expires_at` or when revoked.
    """

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("account")
    )
    key_hash = models.CharField(_("token hash"), max_length=64, unique=True)
    second_factor = models.BooleanField(_("issued after a second factor"), default=False)
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"))
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="apitoken_expires_after_created",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.created_at:%Y-%m-%d %H:%M}"
