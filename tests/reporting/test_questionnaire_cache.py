"""The compiled questionnaire is kept per process: a definition loaded through another host
(or another worker process) must not leave this one checking returns against the old one."""

import pytest

from reporting.models import Edition, Item
from reporting.rules.engine import questionnaire_compiled

pytestmark = pytest.mark.django_db


def test_a_definition_changed_elsewhere_is_compiled_again(edition):
    before = questionnaire_compiled(Edition.objects.get(pk=edition.pk))
    assert questionnaire_compiled(Edition.objects.get(pk=edition.pk)) is before  # cached
    # What `setup_survey` run on another host writes: new rows and a new checksum (SQL
    # updates here, so this process's cache hears nothing of it).
    Item.objects.filter(edition=edition, code="eq_pet_ct").update(label_en="PET/CT scanners (changed)")
    Edition.objects.filter(pk=edition.pk).update(definition_checksum="changed-elsewhere")
    after = questionnaire_compiled(Edition.objects.get(pk=edition.pk))
    assert after is not before
    assert after.items["eq_pet_ct"].label_en == "PET/CT scanners (changed)"
