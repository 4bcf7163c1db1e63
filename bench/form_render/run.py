"""Server time to render the full data-entry page vs. the same number of plain inputs.

    .venv/bin/python bench/form_render/run.py [--rounds 60]

Uses its own PostgreSQL test database (test_surveysite_form_render_bench, created and migrated
on first use and kept; DATABASE_URL names the server), loads the questionnaire, creates a throw-away reporter
and return inside a transaction that is rolled back, then times in the same run:

- page:     GET of the return's data-entry page through the whole stack (middleware, session,
            queries, rules engine, crispy-forms layout, base template);
- baseline: GET of a page rendering a plain form with the same number of inputs as ``{{ form }}``;
- bare:     rendering ``{{ form }}`` of that plain form alone (no request).

Prints the medians and the ratio page/baseline (target: at most 3x, median under 60 ms).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "surveysite.settings.test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/surveysite")
# A fixed test database name (the test settings otherwise add the process id), kept between runs.
os.environ.setdefault("SURVEYSITE_TEST_RUN_ID", "form_render_bench")

import django  # noqa: E402

django.setup()

from django import forms  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.template import engines  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.urls import include, path  # noqa: E402

PLAIN_PAGE = engines["django"].from_string(
    "<!DOCTYPE html><html><body><form method='post'>{% csrf_token %}{{ form }}</form></body></html>"
)
BARE = engines["django"].from_string("{{ form }}")


def plain_form_class(count: int):
    fields = {f"item_{n}": forms.CharField(label=f"Item {n}", required=False) for n in range(count)}
    return type("PlainForm", (forms.Form,), fields)


class BenchUrls:
    """A URLconf: the project's URLs plus the baseline page."""

    form_class = None

    @staticmethod
    def baseline(request):
        return HttpResponse(PLAIN_PAGE.render({"form": BenchUrls.form_class()}, request))

    urlpatterns = [
        path("bench/plain/", lambda request: BenchUrls.baseline(request)),
        path("", include("surveysite.urls")),
    ]


def timed_together(functions, rounds: int) -> list[list[float]]:
    for function in functions:
        function()  # warm caches (templates, compiled questionnaire)
    samples = [[] for _ in functions]
    for _ in range(rounds):
        for function, times in zip(functions, samples, strict=True):
            started = time.perf_counter()
            function()
            times.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--profile", action="store_true", help="print where the page's time goes")
    args = parser.parse_args()

    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=True)
    call_command("setup_survey", verbosity=0, stdout=open(os.devnull, "w"))

    import datetime as dt

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from institutions.models import Institution, Membership, Province, Role
    from reporting.models import Edition, Item, SurveyReturn
    from reporting.services.returns import return_values_save

    edition = Edition.objects.get(year=2024)
    item_count = Item.objects.filter(edition=edition).count()
    BenchUrls.form_class = plain_form_class(item_count)

    with transaction.atomic():
        today = timezone.localdate()
        edition.status, edition.opens_on, edition.closes_on = "open", today - dt.timedelta(days=1), today + dt.timedelta(days=1)
        edition.save()
        institution = Institution.objects.create(code="BENCH1", name="基准医院", province=Province.objects.get(code="11"))
        user = get_user_model().objects.create_user("bench-reporter", password="x")
        Membership.objects.create(user=user, role=Role.REPORTER, institution=institution)
        survey_return = SurveyReturn.objects.create(edition=edition, institution=institution)
        # A half-filled return with a few findings, as people see it mid-way.
        return_values_save(
            survey_return=survey_return, actor=user, expected_version=1,
            values={"svc_pet": True, "svc_rpt": True, "rpt_performs": True, "eq_pet_ct": 2, "eq_spect_ct": 1,
                    "eq_holder_nm": 2, "pet_exam_tumor": 4000, "staff_physician": 6, "staff_nurse": 3,
                    "title_senior": 5, "edu_postgraduate": 9, "rpt_beds": 12, "tx_i131_graves": 300},
        )
        client = Client()
        client.force_login(user)
        url = f"/returns/{survey_return.pk}/"
        with override_settings(ROOT_URLCONF=BenchUrls):
            response = client.get(url)
            assert response.status_code == 200, response.status_code
            assert client.get("/bench/plain/").status_code == 200
            if args.profile:
                import cProfile
                import pstats

                profiler = cProfile.Profile()
                profiler.runcall(lambda: [client.get(url) for _ in range(10)])
                pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_SORT", "tottime")).print_stats(int(os.environ.get("BENCH_TOP", "25")))
            # Interleaved, so both sides see the same machine load (other processes come and go).
            page, baseline, bare = timed_together(
                [
                    lambda: client.get(url),
                    lambda: client.get("/bench/plain/"),
                    lambda: BARE.render({"form": BenchUrls.form_class()}),
                ],
                args.rounds,
            )
        transaction.set_rollback(True)

    page_median, baseline_median, bare_median = (statistics.median(s) for s in (page, baseline, bare))
    print(f"items in the questionnaire: {item_count}; rounds: {args.rounds}")
    print(f"data-entry page (full request):        median {page_median:6.1f} ms  (min {min(page):.1f}, max {max(page):.1f})")
    print(f"plain {{{{ form }}}} page (full request):   median {baseline_median:6.1f} ms  (min {min(baseline):.1f}, max {max(baseline):.1f})")
    print(f"plain {{{{ form }}}} render only:           median {bare_median:6.1f} ms")
    ratio = page_median / baseline_median
    print(f"ratio page / plain page: {ratio:.2f}x  (target <= 3x; median target < 60 ms)")
    print(f"load average during the run: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    ok = ratio <= 3 and page_median < 60
    print("RESULT:", "within target" if ok else "OUTSIDE target")


if __name__ == "__main__":
    main()
