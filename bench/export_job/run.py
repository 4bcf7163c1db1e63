"""An edition's returns exported as a background job: time and peak memory, against the
ORM reading the same returns and answers, measured in the same run.

    .venv/bin/python bench/export_job/run.py [--returns 100000] [--formats csv,xlsx]

(``bench/api/run.py`` runs it too, at 100,000 returns.) Uses its own PostgreSQL database
(surveysite_bench_export_job on BENCH_SERVER_URL, default postgres://postgres@127.0.0.1:5432;
created, migrated and filled on first use and kept: `--returns` institutions, each with a
return answering every item of the 2024 edition). Each measurement runs in a fresh child
process, so its peak resident memory is its own:

- orm:      the baseline: the ORM reading the rows of the export, as the export did before
            (pages of 1,000 returns by institution code, then their answers, ``values_list``);
- stream:   the streamed download of the file (``returns_export_csv_chunks`` consumed /
            ``returns_export_xlsx_file``);
- job:      ``returns_export_job_run`` end to end: the rows written to a temporary file, then
            copied into the survey_files storage (PostgreSQL, 1 MiB chunks) with the job marked done.

Targets (issue 12), at 100,000 returns: the CSV job under 60 s, the XLSX job under 5 minutes,
each under 300 MB. Memory should not grow with the number of returns (rows are read 1,000
returns at a time and the file is copied a chunk at a time).
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

from bench.common import database_create, load_average, peak_mb  # noqa: E402

SERVER = os.environ.get("BENCH_SERVER_URL", "postgres://postgres@127.0.0.1:5432")
DATABASE_URL = f"{SERVER}/surveysite_bench_export_job"
CODE_PREFIX = "EXPJOB"
TARGETS = {"csv": 60, "xlsx": 300}  # seconds, for the job at 100,000 returns
MEMORY_TARGET_MB = 300


def _django():
    import django

    # The test settings (files in the database storage, no broker), on the bench's own database.
    os.environ["DATABASE_URL"] = DATABASE_URL
    os.environ["DJANGO_SETTINGS_MODULE"] = "surveysite.settings.test"
    django.setup()


def prepare(count: int) -> None:
    database_create(DATABASE_URL, fresh=False)
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
    print(f"filling the benchmark database: {count - have:,} more returns …", file=sys.stderr, flush=True)
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
    with connection.cursor() as cursor:
        # As autovacuum would, before the first measure (or that one alone pays for setting
        # the new rows' hint bits).
        cursor.execute("VACUUM ANALYZE")


def _orm_read(edition) -> int:
    """The export's rows read through the ORM as the export read them before: a page of
    returns, then their answers, a row per answer. Returns the number of answers."""
    from reporting.models import Answer, SurveyReturn

    returns = SurveyReturn.objects.filter(edition=edition).order_by("institution__code")
    last_code, answers = None, 0
    while True:
        page = returns if last_code is None else returns.filter(institution__code__gt=last_code)
        batch = list(page.values_list(
            "id", "institution__code", "institution__name", "institution__province_id", "status", "version"
        )[:1000])
        if not batch:
            return answers
        answers += len(list(Answer.objects.filter(survey_return_id__in=[row[0] for row in batch]).values_list(
            "survey_return_id", "item_id", "int_value", "bool_value", "text_value")))
        last_code = batch[-1][1]


def child(mode: str) -> None:
    _django()
    idle = peak_mb()
    from django.contrib.auth import get_user_model

    from institutions.models import Membership, Role
    from jobs.models import BackgroundJob
    from reporting.models import Edition
    from reporting.services.export_jobs import returns_export_job_run
    from reporting.services.exports import returns_export_csv_chunks, returns_export_xlsx_file

    edition = Edition.objects.get(year=2024)
    started = time.perf_counter()
    size = 0
    if mode == "orm":
        _orm_read(edition)
    elif mode == "stream-csv":
        size = sum(len(chunk.encode()) for chunk in returns_export_csv_chunks(edition=edition))
    elif mode == "stream-xlsx":
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
    print(json.dumps({"seconds": time.perf_counter() - started, "peak_mb": peak_mb(), "idle_mb": idle,
                      "bytes": size}))


def _run(mode: str, *extra: str) -> dict | None:
    result = subprocess.run([sys.executable, __file__, "--child", mode, *extra], capture_output=True, text=True,
                            timeout=3600, cwd=ROOT)
    if result.returncode:
        raise SystemExit(f"{mode} failed:\n{result.stdout}\n{result.stderr[-3000:]}")
    last = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    return json.loads(last) if last.startswith("{") else None


def measure(returns: int, formats: list[str]) -> dict[str, dict]:
    """Fill the database up to `returns`, time each measure in a child; print and return them."""
    _run("prepare", "--returns", str(returns))
    print(f"  export of {returns:,} returns x 123 items; {load_average()}")
    print(f"    {'measure':<12}{'MB out':>8}{'seconds':>9}{'peak MB':>9}{'idle MB':>9}{'vs ORM':>9}  load average (1 min)")
    results = {}
    for mode in ["orm", *(f"{kind}-{fmt}" for fmt in formats for kind in ("stream", "job"))]:
        result = results[mode] = _run(mode)
        ratio = result["seconds"] / results["orm"]["seconds"]
        print(f"    {mode:<12}{result['bytes'] / 1e6:>8.1f}{result['seconds']:>9.1f}{result['peak_mb']:>9.0f}"
              f"{result['idle_mb']:>9.0f}{ratio:>8.2f}x  {os.getloadavg()[0]:.2f}", flush=True)
    print(f"  {load_average()}")
    return results


def targets_met(results: dict[str, dict]) -> list[tuple[str, str, bool]]:
    """(measure, the figure and its target, met) for each job measured."""
    lines = []
    for fmt, seconds in TARGETS.items():
        job = results.get(f"job-{fmt}")
        if job:
            met = job["seconds"] < seconds and job["peak_mb"] < MEMORY_TARGET_MB
            lines.append((f"export job, {fmt.upper()}",
                          f"{job['seconds']:.1f} s (<{seconds} s), {job['peak_mb']:.0f} MB (<{MEMORY_TARGET_MB} MB)", met))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--returns", type=int, default=100_000)
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child == "prepare":
        prepare(args.returns)
        return 0
    if args.child:
        child(args.child)
        return 0
    # Everything heavy runs in children; this process stays small (no Django).
    results = measure(args.returns, args.formats.split(","))
    ok = True
    for name, figures, met in targets_met(results):
        ok &= met or args.returns < 100_000
        print(f"  {name:<18} {figures}  {'met' if met else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
