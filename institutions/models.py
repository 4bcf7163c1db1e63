from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Province(models.Model):
    """A provincial-level division of mainland China (GB/T 2260 two-digit code)."""

    code = models.CharField(_("code"), max_length=2, primary_key=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=50)
    name_en = models.CharField(_("name (English)"), max_length=50)

    class Meta:
        ordering = ["code"]
        verbose_name = _("province")
        verbose_name_plural = _("provinces")

    def __str__(self):
        return f"{self.code} {self.name_zh}"


class Ownership(models.TextChoices):
    PUBLIC = "public", _("Public")
    NONPUBLIC = "nonpublic", _("Non-public")


class HospitalLevel(models.TextChoices):
    TERTIARY_A = "tertiary_a", _("Top-tier tertiary")
    TERTIARY_OTHER = "tertiary_other", _("Other tertiary")
    SECONDARY = "secondary", _("Secondary")
    OTHER = "other", _("Other")


class InstitutionQuerySet(models.QuerySet):
    def active(self):
        return self.filter(active=True)


class Institution(models.Model):
    """A medical institution whose nuclear medicine department files a return."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    province = models.ForeignKey(
        Province, on_delete=models.PROTECT, related_name="institutions", verbose_name=_("province")
    )
    city = models.CharField(_("city"), max_length=100, blank=True)
    ownership = models.CharField(
        _("ownership"), max_length=16, choices=Ownership.choices, blank=True
    )
    hospital_level = models.CharField(
        _("hospital level"), max_length=16, choices=HospitalLevel.choices, blank=True
    )
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    # Demo institutions are generated, never real: marked so nobody mistakes them.
    is_synthetic = models.BooleanField(_("synthetic (demo data)"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = InstitutionQuerySet.as_manager()

    class Meta:
        ordering = ["province_id", "code"]
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")
        indexes = [models.Index(fields=["province", "active"])]

    def __str__(self):
        return f"{self.code} {self.name}"


class Role(models.TextChoices):
    REPORTER = "reporter", _("Reporter (one institution)")
    LIAISON = "liaison", _("Provincial liaison (one province)")
    ADMIN = "admin", _("Society admin (national)")


class Membership(models.Model):
    """The role a user plays in the survey; one per user, assigned in the admin."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="membership",
        verbose_name=_("user"),
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    institution = models.ForeignKey(
        Institution,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("institution"),
    )
    province = models.ForeignKey(
        Province,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="liaisons",
        verbose_name=_("province"),
    )

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.CheckConstraint(
                name="membership_scope_matches_role",
                condition=(
                    Q(role=Role.REPORTER, institution__isnull=False, province__isnull=True)
                    | Q(role=Role.LIAISON, institution__isnull=True, province__isnull=False)
                    | Q(role=Role.ADMIN, institution__isnull=True, province__isnull=True)
                ),
            )
        ]

    def __str__(self):
        scope = self.institution or self.province or _("national")
        return f"{self.user} · {self.get_role_display()} · {scope}"

    def clean(self):
        # The database constraint says the same; this says it next to the field to fix.
        errors = {}
        if self.role == Role.REPORTER:
            if not self.institution_id:
                errors["institution"] = _("A reporter needs the institution they report for.")
            if self.province_id:
                errors["province"] = _("Leave the province empty: a reporter's province is their institution's.")
        elif self.role == Role.LIAISON:
            if not self.province_id:
                errors["province"] = _("A provincial liaison needs their province.")
            if self.institution_id:
                errors["institution"] = _("Leave the institution empty for a provincial liaison.")
        elif self.role == Role.ADMIN:
            if self.institution_id:
                errors["institution"] = _("Leave the institution empty for a society admin (national).")
            if self.province_id:
                errors["province"] = _("Leave the province empty for a society admin (national).")
        if errors:
            raise ValidationError(errors)

