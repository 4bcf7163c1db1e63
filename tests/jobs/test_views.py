"""A job's file and progress, from the outside: its owner and society admins, nobody else."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jobs.models import BackgroundJob, JobState
from jobs.services import job_create
from tests.factories import InstitutionFactory, liaison, reporter, society_admin

pytestmark = pytest.mark.django_db


def _client(user=None):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def finished_job():
    owner = reporter(InstitutionFactory())
    job = job_create(kind="test", owner=owner, parameters={}, file=b"a,b\n1,2\n", file_label="returns-2024.csv")
    BackgroundJob.objects.filter(pk=job.pk).update(
        state=JobState.DONE, result={"content_type": "text/csv; charset=utf-8"}, done=3, total=4,
    )
    return BackgroundJob.objects.get(pk=job.pk)


def test_the_owner_downloads_the_file(finished_job):
    response = _client(finished_job.owner).get(reverse("jobs:file", kwargs={"job_id": finished_job.pk}))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"a,b\n1,2\n"
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Length"] == "8"
    assert 'attachment; filename="returns-2024.csv"' == response["Content-Disposition"]


def test_a_society_admin_may_fetch_it(finished_job):
    response = _client(society_admin()).get(reverse("jobs:file", kwargs={"job_id": finished_job.pk}))
    assert response.status_code == 200


@pytest.mark.parametrize("who", ["reporter of the same institution", "other reporter", "liaison"])
def test_anybody_else_gets_404(finished_job, who):
    user = {
        "reporter of the same institution": lambda: reporter(finished_job.owner.membership.institution),
        "other reporter": lambda: reporter(InstitutionFactory()),
        "liaison": lambda: liaison("11"),
    }[who]()
    client = _client(user)
    assert client.get(reverse("jobs:file", kwargs={"job_id": finished_job.pk})).status_code == 404
    assert client.get(reverse("jobs:status", kwargs={"job_id": finished_job.pk})).status_code == 404


def test_anonymous_is_sent_to_login(finished_job):
    response = _client().get(reverse("jobs:file", kwargs={"job_id": finished_job.pk}))
    assert response.status_code == 302 and "login" in response["Location"]


def test_an_expired_file_is_gone_even_before_the_sweep(finished_job):
    BackgroundJob.objects.filter(pk=finished_job.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = _client(finished_job.owner).get(reverse("jobs:file", kwargs={"job_id": finished_job.pk}))
    assert response.status_code == 404


def test_an_unfinished_job_has_no_file_yet(finished_job):
    BackgroundJob.objects.filter(pk=finished_job.pk).update(state=JobState.RUNNING)
    client = _client(finished_job.owner)
    assert client.get(reverse("jobs:file", kwargs={"job_id": finished_job.pk})).status_code == 404
    status = client.get(reverse("jobs:status", kwargs={"job_id": finished_job.pk})).json()
    assert status == {"state": "running", "step": "", "phase": "", "done": 3, "total": 4, "percent": 75}


@pytest.mark.parametrize("kind", ["returns_export", "audit_export"])
def test_a_former_admin_loses_their_whole_edition_export(kind):
    from institutions.models import Membership

    admin = society_admin()
    job = job_create(kind=kind, owner=admin, parameters={}, file=b"code\n", file_label="returns-2024.csv")
    BackgroundJob.objects.filter(pk=job.pk).update(state=JobState.DONE)
    client = _client(admin)
    url = reverse("jobs:file", kwargs={"job_id": job.pk})
    assert client.get(url).status_code == 200
    Membership.objects.filter(user=admin).delete()  # no longer a society admin
    assert client.get(url).status_code == 404
    assert client.get(reverse("jobs:status", kwargs={"job_id": job.pk})).status_code == 404
