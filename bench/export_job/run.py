"""An edition's returns exported as a background job: time and peak memory, against the
streamed export of the same rows measured in the same run.

    .venv/bin/python bench/export_job/run.py [--returns 20000] [--formats csv,xlsx]

Uses its own PostgreSQL database (surveysite_bench_export_job on BENCH_SERVER_URL, default
postgres://postgres@127.0.0.1:5432; created, migrated and filled on first use: `--returns`
institutions, each with a return answering every item of the 2024 edition). Each measurement
runs in a fresh child process so its peak resident memory (ru_maxrss) is its own:

- job:      ``returns_export_job_run`` end to end: the rows written to a temporary file, then
            copied into the survey_files storage (PostgreSQL, 1 MiB chunks) with the job marked done;
- baseline: the streamed export of the same rows (``returns_export_csv_chunks`` consumed /
            ``returns_export_xlsx_file``), what the download link does today.

Memory should not grow with the number of returns (rows are read 1,000 returns at a time and
the file is copied a chunk at a time); the job's extra time is the copy into the database.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
SERVER = os.environ.get("BENCH_SERVER_URL", "postgres://postgres@127.0.0.1:5432")
DATABASE = "surveysite_bench_export_job"
os.environ["DATABASE_URL"] = f"{SERVER}/{DATABASE}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "surveysite.settings.test")
CODE_PREFIX = "EXPJOB"


def _django():
    import django

    django.setup()  # the test settings, on DATABASE_URL: the bench's own database


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(count: int) -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            admin.execute(f'CREATE DATABASE "{DATABASE}"')
    _django()
    from django.core.management import call_command
    from django.db import connection, transaction

    from institutions.models import Institution
    from reporting.models import Answer, Edition, Item, SurveyReturn

    call_command("migrate", verbosity=0)
    call_command("setup_survey", verbosity=0, stdout=open(os.devnull, "w"))
    edition = Edition.objects.get(year=2024)
    have = SurveyReturn.objects.filter(edition=edition, institution__code__startswith=CODE_PREFIX).count()
    if have >= count:
        return
    print(f"filling {DATABASE}: {count - have:,} more returns …", file=sys.stderr, flush=True)
    rng = random.Random(2024)
    items = list(Item.objects.filter(edition=edition).values_list("id", "type", "choices"))
    with transaction.atomic():
        institutions = Institution.objects.bulk_create([
            Institution(code=f"{CODE_PREFIX}{n:06d}", name=f"导出基准医院{n}", province_id="11", city="北京",
                        ownership="public", hospital_level="tertiary_a")
            for n in range(have, count)
        ], batch_size=5000)
        returns = SurveyReturn.objects.bulk_create(
            [SurveyReturn(edition=edition, institution=i, status="approved") for i in institutions], batch_size=5000
        )
        with connection.cursor() as cursor, cursor.cursor.copy(
            f'COPY "{Answer._meta.db_table}" (survey_return_id, item_id, int_value, bool_value, text_value) FROM STDIN'
        ) as copy:
            for survey_return in returns:
                for item_id, kind, choices in items:
                    if kind == "integer":
                        copy.write_row((survey_return.pk, item_id, rng.randint(0, 5000), None, None))
                    elif kind == "boolean":
                        copy.write_row((survey_return.pk, item_id, None, rng.random() < 0.5, None))
                    elif kind == "choice" and choices:
                        copy.write_row((survey_return.pk, item_id, None, None, rng.choice(choices)["code"]))
                    else:
                        copy.write_row((survey_return.pk, item_id, None, None, "备注，含逗号"))


def child(mode: str) -> None:
    _django()
    idle = _peak_mb()
    from django.contrib.auth import get_user_model

    from institutions.models import Membership, Role
    from jobs.models import BackgroundJob
    from reporting.models import Edition
    from reporting.services.export_jobs import returns_export_job_run
    from reporting.services.exports import returns_export_csv_chunks, returns_export_xlsx_file

    edition = Edition.objects.get(year=2024)
    started = time.perf_counter()
    if mode == "baseline-csv":
        size = sum(len(chunk.encode()) for chunk in returns_export_csv_chunks(edition=edition))
    elif mode == "baseline-xlsx":
        handle = returns_export_xlsx_file(edition=edition)
        size = handle.seek(0, 2)
        handle.close()
    else:
        fmt = mode.removeprefix("job-")
        admin, created = get_user_model().objects.get_or_create(username="bench-export-admin")
        if created:
            Membership.objects.create(user=admin, role=Role.ADMIN)
        from jobs.services import job_create

        job = job_create(kind="returns_export", owner=admin, step="export",
                         parameters={"edition_id": edition.pk, "year": 2024, "format": fmt, "statuses": None},
                         file_label=f"returns-2024.{fmt}")
        returns_export_job_run(job_id=job.pk)
        job = BackgroundJob.objects.get(pk=job.pk)
        assert job.state == "done", job.state
        size = job.file_size
        from jobs.storage import survey_files

        survey_files().delete(job.file_name)
        job.delete()
    print(json.dumps({"seconds": time.perf_counter() - started, "peak_mb": _peak_mb(), "idle_mb": idle,
                      "bytes": size}))


def _run(mode: str, *extra: str) -> dict | None:
    result = subprocess.run([sys.executable, __file__, "--child", mode, *extra], capture_output=True, text=True,
                            timeout=3600, cwd=ROOT)
    if result.returncode:
        raise SystemExit(f"{mode} failed:\n{result.stdout}\n{result.stderr[-3000:]}")
    last = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    return json.loads(last) if last.startswith("{") else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--returns", type=int, default=20_000)
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child == "prepare":
        prepare(args.returns)
        return
    if args.child:
        child(args.child)
        return
    # Everything heavy runs in children: on Linux a child's ru_maxrss starts at its parent's
    # size at the fork, so this process stays small (no Django) to keep the peaks their own.
    _run("prepare", "--returns", str(args.returns))
    print(f"{args.returns:,} returns x 123 items; load average before: {os.getloadavg()[0]:.1f}")
    print(f"{'measure':<16}{'MB out':>8}{'seconds':>9}{'peak MB':>9}{'idle MB':>9}{'vs baseline':>13}")
    for fmt in args.formats.split(","):
        baseline = _run(f"baseline-{fmt}")
        job = _run(f"job-{fmt}")
        for name, measure in ((f"baseline-{fmt}", baseline), (f"job-{fmt}", job)):
            ratio = measure["seconds"] / baseline["seconds"]
            print(f"{name:<16}{measure['bytes'] / 1e6:>8.1f}{measure['seconds']:>9.1f}{measure['peak_mb']:>9.0f}"
                  f"{measure['idle_mb']:>9.0f}{ratio:>12.2f}x", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
