"""The survey as data.

An edition owns its questionnaire (sections, items, validation rules), its report
definition (indicators) and its published figures, all loaded from the definition files
under ``reporting/definitions/<year>/``. A return is one institution's answers for one
edition, stored long: one typed row per answered item, so national totals are a
``GROUP BY`` in the database.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import formats, timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from institutions.models import Institution

# Rule 1: one value must fit a 32-bit signed integer, so national sums never overflow.
MAX_INTEGER_VALUE = 2_147_483_647


class EditionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    PUBLISHED = "published", _("Published")


@dataclass(frozen=True)
class EditionStatusShown:
    """An edition's status as people should read it today (see ``Edition.status_shown``)."""

    code: str  # draft, scheduled, open, closed, published: also the badge's CSS class
    label: str  # in the active language, with the date that explains it
    entry_open: bool


class Edition(models.Model):
    year = models.PositiveSmallIntegerField(_("survey year"), unique=True)
    data_year = models.PositiveSmallIntegerField(_("data year"))
    title_en = models.CharField(_("title (English)"), max_length=200)
    title_zh = models.CharField(_("title (Chinese)"), max_length=200)
    status = models.CharField(
        _("status"), max_length=16, choices=EditionStatus.choices, default=EditionStatus.DRAFT
    )
    opens_on = models.DateField(_("opens on"), null=True, blank=True)
    closes_on = models.DateField(_("closes on"), null=True, blank=True)
    previous = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="next_editions",
        verbose_name=_("previous edition"),
    )
    # The version string of the definition file last loaded, e.g. "2024.1".
    definition_version = models.CharField(_("definition version"), max_length=32, blank=True)
    definition_checksum = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-year"]
        verbose_name = _("edition")
        verbose_name_plural = _("editions")
        constraints = [
            models.CheckConstraint(
                name="edition_closes_after_opening",
                condition=Q(opens_on__isnull=True)
                | Q(closes_on__isnull=True)
                | Q(closes_on__gte=F("opens_on")),
            )
        ]

    def __str__(self):
        return str(self.year)

    def entry_open_on(self, day: dt.date) -> bool:
        """Open for entry on `day` by its status and dates (extensions aside)."""
        return (
            self.status == EditionStatus.OPEN
            and (self.opens_on is None or self.opens_on <= day)
            and (self.closes_on is None or day <= self.closes_on)
        )

    @property
    def status_shown(self) -> EditionStatusShown:
        """The status to show people: the stored status read together with the dates, so an
        edition left "open" after its closing date shows as closed, never as open."""
        today = timezone.localdate()

        def day(value: dt.date) -> str:
            return formats.date_format(value, "DATE_FORMAT")

        if self.status == EditionStatus.PUBLISHED:
            return EditionStatusShown("published", gettext("Published"), False)
        if self.status == EditionStatus.DRAFT:
            return EditionStatusShown("draft", gettext("In preparation (not open for entry)"), False)
        if self.closes_on is not None and self.closes_on < today:
            return EditionStatusShown(
                "closed", gettext("Closed for entry (the deadline was %(date)s)") % {"date": day(self.closes_on)}, False
            )
        if self.status == EditionStatus.CLOSED:
            return EditionStatusShown("closed", gettext("Closed for entry"), False)
        if self.opens_on is not None and today < self.opens_on:
            return EditionStatusShown(
                "scheduled", gettext("Opens for entry on %(date)s") % {"date": day(self.opens_on)}, False
            )
        if self.closes_on is not None:
            return EditionStatusShown(
                "open", gettext("Open for entry until %(date)s") % {"date": day(self.closes_on)}, True
            )
        return EditionStatusShown("open", gettext("Open for entry"), True)


class Section(models.Model):
    edition = models.ForeignKey(Edition, on_delete=models.CASCADE, related_name="sections")
    code = models.CharField(max_length=64)
    position = models.PositiveIntegerField()
    title_en = models.CharField(max_length=200)
    title_zh = models.CharField(max_length=200)

    class Meta:
        ordering = ["edition", "position"]
        constraints = [
            models.UniqueConstraint(fields=["edition", "code"], name="section_code_unique"),
        ]

    def __str__(self):
        return f"{self.edition_id}:{self.code}"


class ItemType(models.TextChoices):
    INTEGER = "integer", _("Integer")
    BOOLEAN = "boolean", _("Yes/no")
    CHOICE = "choice", _("Choice")
    TEXT = "text", _("Text")


class Item(models.Model):
    """One question of an edition's questionnaire."""

    edition = models.ForeignKey(Edition, on_delete=models.CASCADE, related_name="items")
    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="items")
    code = models.CharField(max_length=64)
    position = models.PositiveIntegerField()
    type = models.CharField(max_length=16, choices=ItemType.choices)
    # [{"code": "public", "label_en": "Public", "label_zh": "公立"}, ...]
    choices = models.JSONField(default=list, blank=True)
    unit_en = models.CharField(max_length=32, blank=True)
    unit_zh = models.CharField(max_length=32, blank=True)
    applies_if = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="dependants"
    )
    part_of = models.CharField(max_length=64, blank=True, db_index=True)
    label_en = models.CharField(max_length=300)
    label_zh = models.CharField(max_length=300)

    class Meta:
        ordering = ["edition", "position"]
        constraints = [
            models.UniqueConstraint(fields=["edition", "code"], name="item_code_unique"),
        ]

    def __str__(self):
        return self.code

    @property
    def choice_codes(self) -> list[str]:
        return [choice["code"] for choice in self.choices]


class PartOfGroup(models.Model):
    """Labels for a ``part_of`` group (e.g. ``staff``: the personnel total)."""

    edition = models.ForeignKey(Edition, on_delete=models.CASCADE, related_name="groups")
    code = models.CharField(max_length=64)
    label_en = models.CharField(max_length=200)
    label_zh = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["edition", "code"], name="group_code_unique"),
        ]


class RuleSeverity(models.TextChoices):
    ERROR = "error", _("Error")
    WARNING = "warning", _("Warning")


class ValidationRule(models.Model):
    """A cross-item rule of the edition's questionnaire (see the rules file's header).

    Per-item rules (types, ranges, ``applies_if``, completeness) follow from the items
    themselves; these are the rules that relate several items or editions.
    """

    edition = models.ForeignKey(Edition, on_delete=models.CASCADE, related_name="rules")
    code = models.CharField(max_length=64)
    position = models.PositiveIntegerField()
    severity = models.CharField(max_length=16, choices=RuleSeverity.choices)
    kind = models.CharField(max_length=32)  # "expression" or "previous_change"
    when = models.TextField(blank=True)  # condition; the rule is checked only when true
    condition = models.TextField()  # must hold, or the message is shown
    fields = models.JSONField(default=list, blank=True)  # item codes the message sits by
    message_en = models.TextField()
    message_zh = models.TextField()

    class Meta:
        ordering = ["edition", "position"]
        constraints = [
            models.UniqueConstraint(fields=["edition", "code"], name="rule_code_unique"),
        ]

    def __str__(self):
        return self.code


class IndicatorFormat(models.TextChoices):
    INT = "int", _("Whole number")
    PCT0 = "pct0", _("Percent, 0 decimals")
    PCT1 = "pct1", _("Percent, 1 decimal")
    PCT2 = "pct2", _("Percent, 2 decimals")
    DEC1 = "dec1", _("Number, 1 decimal")
    DEC2 = "dec2", _("Number, 2 decimals")


class Indicator(models.Model):
    """One figure of the edition's report, defined over item codes."""

    edition = models.ForeignKey(Edition, on_delete=models.CASCADE, related_name="indicators")
    key = models.CharField(max_length=64)
    position = models.PositiveIntegerField()
    section = models.CharField(max_length=64, blank=True)
    format = models.CharField(max_length=8, choices=IndicatorFormat.choices)
    definition = models.TextField()
    label_en = models.CharField(max_length=300, blank=True)
    label_zh = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["edition", "position"]
        constraints = [
            models.UniqueConstraint(fields=["edition", "key"], name="indicator_key_unique"),
        ]

    def __str__(self):
        return self.key


class PublishedFigure(models.Model):
    """A national figure as the society printed it (the 2019 baseline, the 2024 report)."""

    edition = models.ForeignKey(
        Edition, on_delete=models.CASCADE, related_name="published_figures"
    )
    key = models.CharField(max_length=64)
    value = models.DecimalField(max_digits=20, decimal_places=4)
    format = models.CharField(max_length=8, choices=IndicatorFormat.choices, default="int")
    quote = models.TextField(blank=True)

    class Meta:
        ordering = ["edition", "key"]
        constraints = [
            models.UniqueConstraint(fields=["edition", "key"], name="published_figure_unique"),
        ]


class ReturnStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    SENT_BACK = "sent_back", _("Sent back")
    REVIEWED = "reviewed", _("Reviewed")
    APPROVED = "approved", _("Approved")


class SurveyReturnQuerySet(models.QuerySet):
    def approved(self):
        return self.filter(status=ReturnStatus.APPROVED)


class SurveyReturn(models.Model):
    """One institution's annual return for one edition."""

    edition = models.ForeignKey(Edition, on_delete=models.PROTECT, related_name="returns")
    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="returns"
    )
    status = models.CharField(
        max_length=16, choices=ReturnStatus.choices, default=ReturnStatus.DRAFT, db_index=True
    )
    # Optimistic lock: every write checks and bumps it in the same UPDATE.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)

    objects = SurveyReturnQuerySet.as_manager()

    class Meta:
        ordering = ["edition", "institution"]
        constraints = [
            models.UniqueConstraint(
                fields=["edition", "institution"], name="one_return_per_institution_per_edition"
            ),
        ]
        # The API's incremental pulls page through returns in (updated_at, id) order.
        indexes = [models.Index(fields=["updated_at", "id"], name="return_updated_keyset")]

    def __str__(self):
        return f"{self.edition_id}/{self.institution_id}"


class Answer(models.Model):
    """One typed value of one item in one return. No row means unanswered."""

    # No single-column indexes: the unique (survey_return, item) and the (item, survey_return)
    # index serve both lookups, and every extra index slows bulk imports of 150,000 rows.
    survey_return = models.ForeignKey(
        SurveyReturn, on_delete=models.CASCADE, related_name="answers", db_index=False
    )
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="answers", db_index=False)
    int_value = models.BigIntegerField(null=True, blank=True)
    bool_value = models.BooleanField(null=True, blank=True)
    text_value = models.TextField(null=True, blank=True)  # choice codes and free text

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["survey_return", "item"], name="one_answer_per_item"),
            models.CheckConstraint(
                name="answer_int_in_range",
                condition=Q(int_value__isnull=True)
                | Q(int_value__gte=0, int_value__lte=MAX_INTEGER_VALUE),
            ),
        ]
        indexes = [models.Index(fields=["item", "survey_return"])]

    def __str__(self):
        return f"{self.survey_return_id}:{self.item_id}"


class WarningConfirmation(models.Model):
    """A reporter's explanation for a warning they confirmed; reviewers read it."""

    survey_return = models.ForeignKey(
        SurveyReturn, on_delete=models.CASCADE, related_name="warning_confirmations"
    )
    rule_code = models.CharField(max_length=96)
    explanation = models.TextField()
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    confirmed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["survey_return", "rule_code"], name="one_confirmation_per_warning"
            ),
        ]


class ReviewComment(models.Model):
    """A reviewer's comment when sending a return back, on the return or on one item."""

    survey_return = models.ForeignKey(
        SurveyReturn, on_delete=models.CASCADE, related_name="review_comments"
    )
    item = models.ForeignKey(Item, on_delete=models.PROTECT, null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    # The return's version when it was sent back, to show what changed since.
    return_version = models.PositiveIntegerField()

    class Meta:
        ordering = ["created_at", "id"]


class EntryExtension(models.Model):
    """An admin's extension of the entry period for one institution."""

    edition = models.ForeignKey(Edition, on_delete=models.CASCADE, related_name="extensions")
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="+")
    until = models.DateField()
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    granted_at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["edition", "institution"], name="one_extension_per_institution"
            ),
        ]


class AuditSource(models.TextChoices):
    WEB = "web", _("Web form")
    IMPORT = "import", _("Import")
    ADMIN = "admin", _("Admin")
    SYSTEM = "system", _("System")
    DEMO = "demo", _("Demo data")
    API = "api", _("API")


class AuditEvent(models.Model):
    """Who changed what, when: one row per value, status, edition, registry or role change.

    A return's events name the return; other events name what they changed in ``subject_*``
    (content type, primary key and a label that outlives a rename or a deletion), and the
    institution they concern, if any. Registry and account events belong to no edition.
    """

    class Kind(models.TextChoices):
        VALUE = "value", _("Value changed")
        STATUS = "status", _("Status changed")
        EDITION = "edition", _("Edition changed")
        EXTENSION = "extension", _("Extension granted")
        INSTITUTION = "institution", _("Institution changed")
        MEMBERSHIP = "membership", _("Role changed")
        ACCOUNT = "account", _("Account changed")
        REMINDER = "reminder", _("Reminder sent")
        TOKEN = "token", _("API token changed")
        OUTLIER = "outlier", _("Outlier marked")

    # Indexed only as (edition, at) and (survey_return, at), the two ways the trail is read:
    # an import writes one row per changed value, so each index costs.
    edition = models.ForeignKey(
        Edition, on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_index=False
    )
    survey_return = models.ForeignKey(
        SurveyReturn,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="audit_events",
        db_index=False,
    )
    institution = models.ForeignKey(
        Institution, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    # The changed object when it is not a return's value or status (an institution, a user...).
    # db_default: the bulk import COPYs events without these columns.
    subject_type = models.ForeignKey(
        "contenttypes.ContentType", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        db_index=False,
    )
    subject_id = models.CharField(max_length=64, blank=True, default="", db_default="")
    subject_label = models.CharField(max_length=255, blank=True, default="", db_default="")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    source = models.CharField(max_length=16, choices=AuditSource.choices, default=AuditSource.WEB)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    at = models.DateTimeField(auto_now_add=True)
    item_code = models.CharField(max_length=64, blank=True)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    return_version = models.PositiveIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            models.Index(fields=["survey_return", "at"]),
            models.Index(fields=["edition", "at"]),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.subject_label or self.item_code}".strip()


class Breakdown(models.TextChoices):
    NATIONAL = "national", _("National")
    PROVINCE = "province", _("Province")
    OWNERSHIP = "ownership", _("Ownership")
    HOSPITAL_LEVEL = "hospital_level", _("Hospital level")


class FigureValue(models.Model):
    """The aggregation's summary table: one computed indicator for one group."""

    # The unique constraint's index (edition, breakdown, group, key) serves every lookup; more
    # indexes would only slow the rewrite of an edition's figures on each recomputation.
    edition = models.ForeignKey(
        Edition, on_delete=models.CASCADE, related_name="figure_values", db_index=False
    )
    breakdown = models.CharField(max_length=16, choices=Breakdown.choices)
    group = models.CharField(max_length=32)  # "national", a province code, a choice code
    key = models.CharField(max_length=64)
    value = models.DecimalField(max_digits=24, decimal_places=8, null=True, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["edition", "breakdown", "group", "key"], name="figure_value_unique"
            ),
        ]


class CountedReturn(models.Model):
    """Aggregation state: an approved return as the edition's cell totals last counted it.

    With CellItemTotal this is a summary of the answers that the aggregation keeps up to
    date incrementally: a recomputation compares the approved returns (id, version,
    province) with these rows and re-adds only the cells whose returns changed. A plain
    return id, not a foreign key, so a deleted return is still found and taken out.
    """

    edition = models.ForeignKey(Edition, on_delete=models.CASCADE, related_name="+", db_index=False)
    return_id = models.BigIntegerField()
    version = models.PositiveIntegerField()
    province = models.CharField(max_length=2)
    ownership = models.CharField(max_length=64, blank=True)
    hospital_level = models.CharField(max_length=64, blank=True)
    # Bit k holds the return's k-th per-return condition of the edition's indicators, e.g.
    # count(eq_pet_ct+eq_pet_mr>0); the state key changes when the conditions do.
    conditions = models.BigIntegerField(default=0)
    run = models.PositiveIntegerField()  # the AggregationState run that counted it

    class Meta:
        constraints = [models.UniqueConstraint(fields=["edition", "return_id"], name="counted_return_unique")]


class CellItemTotal(models.Model):
    """Aggregation state: one item's sum and yes answers over the counted returns of one
    cell (province, ownership, hospital level) — some ten thousand rows in place of the
    millions of answers. Sparse: a missing row is a sum of 0."""

    edition = models.ForeignKey(Edition, on_delete=models.CASCADE, related_name="+", db_index=False)
    province = models.CharField(max_length=2)
    ownership = models.CharField(max_length=64, blank=True)
    hospital_level = models.CharField(max_length=64, blank=True)
    item_id = models.BigIntegerField()
    total = models.BigIntegerField()
    yes = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["edition", "province", "ownership", "hospital_level", "item_id"],
                name="cell_item_total_unique",
            )
        ]


class GroupItemTotal(models.Model):
    """Aggregation state: CellItemTotal summed per group (national, each province, ownership
    and hospital level). A run subtracts the old totals of the cells it sums again and adds
    their new ones, so the figures read a few thousand rows."""

    edition = models.ForeignKey(Edition, on_delete=models.CASCADE, related_name="+", db_index=False)
    breakdown = models.CharField(max_length=16, choices=Breakdown.choices)
    group = models.CharField(max_length=64)
    item_id = models.BigIntegerField()
    total = models.BigIntegerField()
    yes = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["edition", "breakdown", "group", "item_id"], name="group_item_total_unique")
        ]


class AggregationState(models.Model):
    """Which compiled definition the edition's CountedReturn and CellItemTotal rows follow:
    when the key changes (new indicators, items, compiler), the next run rebuilds them."""

    edition = models.OneToOneField(Edition, on_delete=models.CASCADE, primary_key=True, related_name="+")
    key = models.CharField(max_length=64)
    run = models.PositiveIntegerField(default=0)
    rebuilt_at = models.DateTimeField()
    updated_at = models.DateTimeField()


class Publication(models.Model):
    """A frozen revision of an edition's figures; later corrections make a new revision."""

    edition = models.ForeignKey(Edition, on_delete=models.PROTECT, related_name="publications")
    revision = models.PositiveIntegerField()
    published_at = models.DateTimeField(auto_now_add=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    note = models.TextField(blank=True)
    # [[return_id, version], ...]: exactly which return versions the figures include.
    return_versions = models.JSONField(default=list)

    class Meta:
        ordering = ["edition", "revision"]
        constraints = [
            models.UniqueConstraint(fields=["edition", "revision"], name="publication_revision_unique"),
        ]


class PublishedValue(models.Model):
    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, related_name="values")
    breakdown = models.CharField(max_length=16, choices=Breakdown.choices)
    group = models.CharField(max_length=32)
    key = models.CharField(max_length=64)
    value = models.DecimalField(max_digits=24, decimal_places=8, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["publication", "breakdown", "group", "key"], name="published_value_unique"
            ),
        ]
