"""A database connection lost in the middle of a save (issue 9, item 8): on PostgreSQL, for real.

A second connection holds a row lock on one answer the save will update; once the page's
save is waiting on that lock (after it has already deleted and inserted other answers in its
transaction), a third connection terminates the page's backend with pg_terminate_backend and
forbids new connections to the database, as an outage would. The page must answer 503 with
the typing kept and a translated message, without reading the database; nothing may be
written. Then the database comes back and saving again works.
"""

import threading
import time

import psycopg
import pytest
from django.db import connection
from django.test import Client

from reporting.models import Answer, AuditEvent, SurveyReturn, WarningConfirmation
from reporting.services import returns as services
from tests.reporting import entry_support
from tests.reporting.entry_support import answers_store

open_edition, world = entry_support.open_edition, entry_support.world

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="terminates a PostgreSQL backend")

STORED = {"eq_thyroid_analyzer": 1, "sup_doctoral": 3, "svc_pet": True, "pmr_exam_tumor": 12}
TYPED = {"version": "1", "action": "save", "eq_thyroid_analyzer": "", "eq_spect": "7", "sup_doctoral": "9",
         "op_suggestions": "希望增加培训名额",
         # An explanation for a warning the page shows, and one for a warning it cannot list now.
         "explain__pmr_exams_without_unit": "合作医院的PET/MR", "explain__change_since_previous:eq_spect": "新购设备"}


def _connect(dbname: str, **kwargs) -> psycopg.Connection:
    settings = connection.settings_dict
    return psycopg.connect(
        dbname=dbname, host=settings["HOST"] or None, port=settings["PORT"] or None,
        user=settings["USER"] or None, password=settings["PASSWORD"] or None, **kwargs,
    )


def _terminate_when_waiting(dbname: str, outcome: dict) -> None:
    """Kill the backend waiting on a lock in `dbname`, after closing the database to new connections."""
    with _connect("postgres", autocommit=True) as admin:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            row = admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'", (dbname,)
            ).fetchone()
            if row:
                admin.execute(f'ALTER DATABASE "{dbname}" WITH ALLOW_CONNECTIONS false')
                outcome["terminated"] = admin.execute("SELECT pg_terminate_backend(%s)", (row[0],)).fetchone()[0]
                return
            time.sleep(0.05)
        outcome["terminated"] = False


@pytest.mark.django_db(transaction=True)
def test_connection_lost_mid_save_writes_nothing_and_keeps_the_typing(world):
    ret = world["return"]
    answers_store(ret, STORED)
    locked_answer = Answer.objects.get(survey_return=ret, item__code="sup_doctoral").pk
    dbname = connection.settings_dict["NAME"]
    client = Client()  # the site's default language, Chinese
    client.force_login(world["reporter"])
    url = f"/returns/{ret.pk}/"
    client.get(url)  # compile the questionnaire outside the save

    outcome: dict = {}
    holder = _connect(dbname)
    try:
        holder.execute("SELECT 1 FROM reporting_answer WHERE id = %s FOR UPDATE", (locked_answer,))
        killer = threading.Thread(target=_terminate_when_waiting, args=(dbname, outcome))
        killer.start()
        response = client.post(url, TYPED)
        killer.join()
    finally:
        holder.rollback()
        holder.close()
        with _connect("postgres", autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{dbname}" WITH ALLOW_CONNECTIONS true')

    assert outcome["terminated"] is True
    assert response.status_code == 503
    html = response.content.decode()
    assert 'data-testid="database-unreachable"' in html
    assert "无法连接数据库，未保存任何内容" in html
    # What was typed is on the page, the blank included; what was not sent shows the stored answer.
    assert 'name="sup_doctoral" value="9"' in html and 'name="eq_spect" value="7"' in html
    assert 'name="eq_thyroid_analyzer" value=""' in html
    assert "希望增加培训名额" in html
    assert 'name="svc_pet" value="yes" id="id_svc_pet_0" checked' in html
    assert 'name="version" value="1"' in html
    assert 'name="explain__pmr_exams_without_unit"' in html and ">合作医院的PET/MR</textarea>" in html
    assert '<input type="hidden" name="explain__change_since_previous:eq_spect" value="新购设备">' in html

    # Nothing half-written: the deletion and the inserts before the lock were rolled back with it.
    assert services.return_values(ret) == STORED
    assert SurveyReturn.objects.get(pk=ret.pk).version == 1
    assert not AuditEvent.objects.filter(survey_return=ret).exists()
    assert not WarningConfirmation.objects.filter(survey_return=ret).exists()

    # The database is back: the same typing saves.
    assert client.post(url, TYPED).status_code == 302
    assert services.return_values(ret) == {"sup_doctoral": 9, "svc_pet": True, "eq_spect": 7, "pmr_exam_tumor": 12,
                                           "op_suggestions": "希望增加培训名额"}
    assert WarningConfirmation.objects.get(survey_return=ret, rule_code="pmr_exams_without_unit").explanation == "合作医院的PET/MR"
