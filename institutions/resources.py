"""django-import-export resource for the institution registry (admin and command share it)."""

from django.core.exceptions import ValidationError
from import_export import fields, resources, widgets

from institutions.models import HospitalLevel, Institution, Ownership, Province

INSTITUTION_COLUMNS = ["code", "name", "province", "city", "ownership", "hospital_level"]


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # spreadsheets hand codes like 11 back as 11.0
    return str(value).strip()


class ProvinceCodeWidget(widgets.ForeignKeyWidget):
    """Two-digit division code (11 Beijing ... 65 Xinjiang); a name in either language works too."""

    def __init__(self):
        super().__init__(Province, field="code")

    def clean(self, value, row=None, **kwargs):
        text = cell_text(value)
        if not text:
            raise ValueError("province is required (two-digit code, e.g. 11 for Beijing)")
        province = (
            Province.objects.filter(code=text.zfill(2)).first()
            or Province.objects.filter(name_zh=text).first()
            or Province.objects.filter(name_en__iexact=text).first()
        )
        if province is None:
            raise ValueError(f"unknown province '{text}' (expected a two-digit code such as 11 or 65)")
        return province


class CodeChoiceWidget(widgets.Widget):
    """A choice given by its code or by its label in Chinese or English; blank allowed."""

    def __init__(self, choices, field_name):
        super().__init__()
        self.choices = choices
        self.field_name = field_name

    def clean(self, value, row=None, **kwargs):
        text = cell_text(value)
        if not text:
            return ""
        for code, label in self.choices.choices:
            if text in (code, str(label)):
                return code
        from django.utils import translation

        for language in ("zh-hans", "en"):
            with translation.override(language):
                for code, label in self.choices.choices:
                    if text == str(label):
                        return code
        raise ValueError(
            f"unknown {self.field_name} '{text}' (expected one of {', '.join(self.choices.values)})"
        )

    def render(self, value, obj=None, **kwargs):
        return value or ""


class TextWidget(widgets.CharWidget):
    def clean(self, value, row=None, **kwargs):
        return cell_text(value)


class InstitutionResource(resources.ModelResource):
    code = fields.Field(attribute="code", column_name="code", widget=TextWidget())
    name = fields.Field(attribute="name", column_name="name", widget=TextWidget())
    province = fields.Field(attribute="province", column_name="province", widget=ProvinceCodeWidget())
    city = fields.Field(attribute="city", column_name="city", widget=TextWidget())
    ownership = fields.Field(
        attribute="ownership", column_name="ownership", widget=CodeChoiceWidget(Ownership, "ownership")
    )
    hospital_level = fields.Field(
        attribute="hospital_level",
        column_name="hospital_level",
        widget=CodeChoiceWidget(HospitalLevel, "hospital_level"),
    )

    class Meta:
        model = Institution
        import_id_fields = ["code"]
        fields = INSTITUTION_COLUMNS
        export_order = INSTITUTION_COLUMNS
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True
        use_bulk = False

    def before_import(self, dataset, **kwargs):
        missing = [column for column in ("code", "name", "province") if column not in (dataset.headers or [])]
        if missing:
            raise ValidationError(f"missing column(s): {', '.join(missing)}; the header must be {','.join(INSTITUTION_COLUMNS)}")
        super().before_import(dataset, **kwargs)
