"""The import's bulk inserts (COPY on PostgreSQL, one prepared INSERT over every row elsewhere)
write rows that read back exactly as the ORM would have written them, on both engines."""

import datetime as dt

import pytest
from django.utils import timezone

from reporting.models import Answer, AuditEvent, AuditSource
from reporting.services.imports import returns_import
from tests.factories import InstitutionFactory, society_admin
from tests.reporting.entry_support import clean_values
from tests.reporting.spreadsheet_support import csv_bytes, returns_rows

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def test_imported_answers_and_events_read_back_typed(edition):
    admin = society_admin()
    institutions = [InstitutionFactory(), InstitutionFactory()]
    values = dict(clean_values(edition), op_suggestions="多写几句：“引号”, 逗号")
    before = timezone.now()
    returns_import(edition=edition, content=csv_bytes(returns_rows(edition, institutions, values)),
                   filename="r.csv", actor=admin)
    after = timezone.now()

    for institution in institutions:
        stored = {}
        for code, kind, i, b, t in Answer.objects.filter(survey_return__institution=institution).values_list(
            "item__code", "item__type", "int_value", "bool_value", "text_value"
        ):
            stored[code] = i if kind == "integer" else b if kind == "boolean" else t
        assert stored == {code: value for code, value in values.items() if value is not None}
        assert all(type(stored[code]) is type(value) for code, value in values.items())

    events = AuditEvent.objects.filter(survey_return__institution=institutions[0])
    value_events = events.filter(kind=AuditEvent.Kind.VALUE)
    assert value_events.count() == len(values)
    moments = set(events.values_list("at", flat=True))
    assert len(moments) == 1  # the whole import is one moment, stored as an aware datetime
    moment = moments.pop()
    assert moment.tzinfo is not None and before - dt.timedelta(seconds=1) <= moment <= after
    event = value_events.get(item_code="op_suggestions")
    assert (event.actor, event.source, event.old_value, event.new_value, event.return_version) == (
        admin, AuditSource.IMPORT, "", values["op_suggestions"], 2,
    )
    # Filtering on the stored moment works (the backend's datetime format was used).
    assert AuditEvent.objects.filter(at__gte=before - dt.timedelta(seconds=1), at__lte=after,
                                     survey_return__institution__in=institutions).count() == events.count() * 2
