"""A reviewer's mark on a flagged value: "follow up" (a question to the reporter) or
"explained". Written only by analysis.services.outlier_mark, which audits it."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class OutlierMarkStatus(models.TextChoices):
    FOLLOW_UP = "follow_up", _("Follow up")
    EXPLAINED = "explained", _("Explained")


class OutlierMark(models.Model):
    survey_return = models.ForeignKey("reporting.SurveyReturn", on_delete=models.CASCADE, related_name="outlier_marks")
    key = models.CharField(_("ratio"), max_length=64)  # a key of the edition's outliers.csv
    status = models.CharField(_("status"), max_length=16, choices=OutlierMarkStatus.choices)
    note = models.TextField(_("note"), blank=True)
    marked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    marked_at = models.DateTimeField(_("marked at"))

    class Meta:
        verbose_name = _("outlier mark")
        constraints = [models.UniqueConstraint(fields=["survey_return", "key"], name="outlier_mark_unique")]

    def __str__(self):
        return f"{self.survey_return_id} {self.key}: {self.status}"
