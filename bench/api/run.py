#!/usr/bin/env python
"""Benchmark: the web API against the same reads straight from the ORM, on PostgreSQL.

    .venv/bin/python bench/api/run.py [--returns 1237 20000] [--repeat 7] [--keep]

Creates (and afterwards drops, unless --keep) its own database ``surveysite_bench_api`` on the
server of BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/surveysite_bench_api),
loads the demo (1,237 approved 2024 returns, figures computed) and clones it in SQL up to each
size. Then, warm, median of --repeat runs, in the same run:

- ``figures``: GET /api/v1/editions/2024/figures?live=true (every figure of the edition,
  national and every breakdown) through the whole stack (token, rate limit, ETag, rendering),
  against the ORM reading the same FigureValue rows: repeated (the body of an unchanged version
  comes from the cache), the first pull of a version (cache emptied before each run: read,
  validated, written), and the same GET answered 304 with the ETag of the last pull;
- ``page of 1,000 returns``: GET /api/v1/returns?edition=2024&limit=1000 (a page in the middle,
  reached by its cursor), with every answer, against the ORM reading the same 1,000 returns
  (values) and their answers.

- ``export job``: an edition's returns exported as a background job, CSV and XLSX, at
  --export-returns (100,000; 0 skips it): ``bench/export_job/run.py`` in its own database
  (kept between runs; the first fills it, a few minutes), each measure in a child process for
  its own peak memory, against the ORM reading the same returns and answers.

Prints the numbers, the ratio to the ORM baseline and the load average (a shared machine).
Targets: figures under 100 ms; a page of 1,000 returns under 1 s; the export job of 100,000
returns to CSV under 60 s and to XLSX under 5 minutes, each under 300 MB.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench" / "aggregate"))

from bench.common import database_create, database_drop, django_start, load_average, timed  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--returns", type=int, nargs="+", default=[1237, 20000])
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per measurement (median)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--export-returns", type=int, default=100_000,
                        help="returns of the export job measured (0: not measured)")
    parser.add_argument("--export-formats", default="csv,xlsx")
    return parser.parse_args()


def export_job_bench():
    """bench/export_job/run.py as a module (its file name is the aggregate bench's too)."""
    spec = importlib.util.spec_from_file_location("export_job_run", ROOT / "bench" / "export_job" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure(*, client, edition, returns: int, repeat: int) -> dict[str, float]:
    """Time the API and the ORM baseline on the edition as it is now."""
    from django.core.cache import cache

    from reporting.models import Answer, FigureValue, SurveyReturn

    figures_url = "/api/v1/editions/2024/figures?live=true"

    def api_figures():
        response = client.get(figures_url)
        assert response.status_code == 200, response.content[:300]
        return response

    def orm_figures():
        return list(FigureValue.objects.filter(edition=edition).values_list("breakdown", "group", "key", "value"))

    etag = api_figures()["ETag"]

    def api_figures_304():
        assert client.get(figures_url, HTTP_IF_NONE_MATCH=etag).status_code == 304

    # A page in the middle of the edition, reached by following the cursors.
    page_url = "/api/v1/returns?edition=2024&limit=1000"
    middle = returns // 2000
    for _page in range(middle):
        page_url = client.get(page_url, HTTP_IF_NONE_MATCH="x").json()["next"].replace("http://127.0.0.1", "")
    page_ids = [item["id"] for item in client.get(page_url).json()["items"]]

    def api_page():
        response = client.get(page_url)
        assert response.status_code == 200
        return response

    def orm_page():
        rows = list(SurveyReturn.objects.filter(pk__in=page_ids).order_by("updated_at", "id").values(
            "id", "institution__code", "institution__name", "status", "version", "updated_at"))
        answers = list(Answer.objects.filter(survey_return_id__in=page_ids).values_list(
            "survey_return_id", "item_id", "int_value", "bool_value", "text_value"))
        return rows, answers

    page_answers = sum(len(item["answers"]) for item in api_page().json()["items"])
    figure_rows = len(api_figures().json()["items"])
    measured = {
        "figures (API)": timed(api_figures, repeat),
        "figures, first pull of a version (API)": timed(api_figures, repeat, before=cache.clear),
        "figures (ORM)": timed(orm_figures, repeat),
        "figures, 304 (API)": timed(api_figures_304, repeat),
        "page of 1,000 returns (API)": timed(api_page, repeat),
        "page of 1,000 returns (ORM)": timed(orm_page, repeat),
    }
    size_bytes = len(api_page().content)
    print(f"  figures of the edition ({figure_rows:,} rows)")
    print(f"    API                : {measured['figures (API)'] * 1000:8.1f} ms"
          f"  {measured['figures (API)'] / measured['figures (ORM)']:5.1f}x the ORM")
    print(f"    ORM baseline       : {measured['figures (ORM)'] * 1000:8.1f} ms")
    cold = measured["figures, first pull of a version (API)"]
    print(f"    API, first pull    : {cold * 1000:8.1f} ms  {cold / measured['figures (ORM)']:5.1f}x the ORM"
          "  (body not yet in the cache: computed, validated, written)")
    print(f"    API, 304 unchanged : {measured['figures, 304 (API)'] * 1000:8.1f} ms")
    print(f"  page {middle + 1} of 1,000 returns ({page_answers:,} answers, {size_bytes / 1e6:.1f} MB of JSON)")
    print(f"    API                : {measured['page of 1,000 returns (API)'] * 1000:8.1f} ms"
          f"  {measured['page of 1,000 returns (API)'] / measured['page of 1,000 returns (ORM)']:5.1f}x the ORM")
    print(f"    ORM baseline       : {measured['page of 1,000 returns (ORM)'] * 1000:8.1f} ms")
    print(f"  {load_average()}")
    return measured


def main() -> int:
    from run import clone_returns  # bench/aggregate/run.py

    args = parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/surveysite_bench_api")
    database_create(url)
    django_start(url)
    import datetime as dt
    import logging

    logging.getLogger("reporting").setLevel(logging.WARNING)
    logging.getLogger("django.request").setLevel(logging.ERROR)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from api.services.tokens import api_token_create
    from reporting.models import Answer, Edition, SurveyReturn
    from reporting.services.aggregation import edition_figures_compute
    from tests.factories import society_admin

    settings.API_RATE_LIMIT = 10**9  # the benchmark is one client hammering: measure, do not throttle
    results = []
    try:
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        call_command("load_demo", verbosity=0, stdout=open(os.devnull, "w"))
        print(f"set-up (migrate, setup_survey, load_demo): {time.perf_counter() - started:.1f} s")
        edition = Edition.objects.get(year=2024)
        admin = society_admin(username="bench-admin")
        _token, secret = api_token_create(user=admin, name="bench", scope="read",
                                          expires_at=timezone.now() + dt.timedelta(days=1), actor=admin)
        client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {secret}")

        for size in sorted(args.returns):
            started = time.perf_counter()
            clone_returns(edition.pk, size)
            edition_figures_compute(edition_id=edition.pk)
            returns = SurveyReturn.objects.filter(edition=edition).count()
            answers = Answer.objects.filter(survey_return__edition=edition).count()
            print(f"\n{returns:,} returns, {answers:,} answers (built in {time.perf_counter() - started:.1f} s);"
                  f" {load_average()}")

            measured = measure(client=client, edition=edition, returns=returns, repeat=args.repeat)
            results.append((returns, measured))
    finally:
        connection.close()
        if not args.keep:
            database_drop(url)

    export_job = export_job_bench()
    exported = {}
    if args.export_returns:
        print(f"\nexport job (bench/export_job/run.py --returns {args.export_returns})")
        exported = export_job.measure(args.export_returns, args.export_formats.split(","))

    print("\n  returns   figures (target <100 ms)   page of 1,000 (target <1 s)")
    ok = True
    for returns, measured in results:
        figures, page = measured["figures (API)"], measured["page of 1,000 returns (API)"]
        met = figures < 0.1 and page < 1.0
        ok &= met
        print(f"{returns:>9,}   {figures * 1000:8.1f} ms              {page * 1000:8.1f} ms   {'met' if met else 'MISSED'}")
    for name, figures, met in export_job.targets_met(exported):
        ok &= met or args.export_returns < 100_000
        print(f"  {name} of {args.export_returns:,} returns: {figures}  {'met' if met else 'MISSED'}")
    print(f"  {load_average()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
