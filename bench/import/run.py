"""Import speed and peak memory: 1,237 and 20,000 returns x 123 items, from XLSX and CSV,
on PostgreSQL and on the embedded SQLite database.

    .venv/bin/python bench/import/run.py [--sizes 1237,20000] [--formats xlsx,csv] [--engines postgresql,sqlite]
                                         [--repeat 3] [--export]

Uses its own databases, created, migrated and loaded with setup_survey on first use and kept:
surveysite_bench_import on the PostgreSQL server BENCH_SERVER_URL names (default
postgres://postgres@127.0.0.1:5432), and surveysite_bench_import.sqlite3 in the temporary
folder, each with the production settings (as deployed: SQLite with the project's pragmas).
Each measurement runs in a fresh child process so its peak resident memory is its own:

- import:   ``returns_import`` of the whole file (read, parse, check every return against
            the questionnaire's rules, write answers and audit events in one transaction);
- baseline: a plain read of the same file in the same run (openpyxl read-only iteration of
            every cell / csv.reader over the decoded text), the floor any import must pay;
- export (--export): the institution-level CSV and XLSX exports of the returns just imported,
            to show their memory does not grow with the number of returns.

Targets for 1,237 returns: under 10 s and under 300 MB peak; SQLite within 2x of PostgreSQL
(the ratio is printed per file).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench.common import peak_mb  # noqa: E402

SERVER = os.environ.get("BENCH_SERVER_URL", "postgres://postgres@127.0.0.1:5432")
DATABASE = "surveysite_bench_import"
ENGINE_URLS = {
    "postgresql": f"{SERVER}/{DATABASE}",
    "sqlite": f"sqlite:///{Path(tempfile.gettempdir()) / (DATABASE + '.sqlite3')}",
}
# The child's engine; the parent reads files and items from the first engine's database.
os.environ.setdefault("DATABASE_URL", ENGINE_URLS["postgresql"])
os.environ["DJANGO_SETTINGS_MODULE"] = "surveysite.settings.production"
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1")

CODE_PREFIX = "BENCH"


def _database_create(engine: str) -> None:
    if engine != "postgresql":
        return  # SQLite creates its file on first use
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{DATABASE}"')


def _django():
    import django

    django.setup()


def _prepare(max_size: int) -> None:
    """Schema, questionnaire, and max_size institutions (created once, reused)."""
    _django()
    from django.core.management import call_command

    from institutions.models import Institution, Province

    call_command("migrate", verbosity=0)
    call_command("setup_survey", verbosity=0)
    have = Institution.objects.filter(code__startswith=CODE_PREFIX).count()
    if have < max_size:
        provinces = list(Province.objects.values_list("code", flat=True))
        Institution.objects.bulk_create(
            [
                Institution(code=f"{CODE_PREFIX}{n:06d}", name=f"基准测试医院{n}",
                            province_id=provinces[n % len(provinces)], is_synthetic=True)
                for n in range(have, max_size)
            ],
            batch_size=5000,
        )


def _row_values(items, rng) -> dict:
    """All 123 items answered, consistent with every error rule (warnings allowed)."""
    from tests.reporting.entry_support import clean_values

    values = dict(_BASE)
    values["iv_samples"] = rng.randint(0, 50_000)
    values["iv_tests"] = rng.randint(0, 90_000)
    values["pet_exam_tumor"] = rng.randint(0, 15_000)
    values["sp_exam_skeletal"] = rng.randint(0, 20_000)
    values["tx_i131_graves"] = rng.randint(0, 800)
    assert clean_values
    return values


_BASE: dict = {}


def _files(sizes, formats, folder: Path) -> dict:
    _django()
    from django.utils import translation
    from openpyxl import Workbook

    from reporting.models import Edition, ItemType
    from reporting.spreadsheets.layout import edition_items
    from reporting.values import value_display
    from tests.reporting.entry_support import clean_values

    edition = Edition.objects.get(year=2024)
    items = edition_items(edition)
    _BASE.update(clean_values(edition))
    for item in items:
        if item.type == ItemType.TEXT:
            _BASE[item.code] = "基准"
    codes = [item.code for item in items]
    assert len([c for c in codes if c in _BASE]) == len(codes) == 123, len(codes)
    files = {}
    rng = random.Random(2024)
    with translation.override("en"):
        for size in sizes:
            rows = [[f"{CODE_PREFIX}{n:06d}", *(_row_values(items, rng)[code] for code in codes)] for n in range(size)]
            for fmt in formats:
                path = folder / f"returns-{size}.{fmt}"
                if fmt == "csv":
                    import csv

                    with path.open("w", encoding="utf-8-sig", newline="") as handle:
                        writer = csv.writer(handle)
                        writer.writerow(["institution_code", *codes])
                        for row in rows:
                            writer.writerow([row[0], *(value_display(v) for v in row[1:])])
                else:
                    workbook = Workbook(write_only=True)
                    sheet = workbook.create_sheet("returns")
                    sheet.append(["institution_code", *codes])
                    for row in rows:
                        sheet.append([row[0], *(("yes" if v else "no") if isinstance(v, bool) else v for v in row[1:])])
                    workbook.save(path)
                files[(size, fmt)] = path
    return files


def child(mode: str, path: str) -> None:
    """One measurement in this (fresh) process; prints JSON."""
    if mode == "prepare":
        started = time.perf_counter()
        _prepare(int(path))
        print(json.dumps({"seconds": time.perf_counter() - started}))
        return
    content = Path(path).read_bytes()
    if mode == "baseline":
        started = time.perf_counter()
        cells = 0
        if path.endswith(".csv"):
            import csv
            import io

            for row in csv.reader(io.StringIO(content.decode("utf-8-sig"))):
                cells += len(row)
        else:
            import io

            from openpyxl import load_workbook

            workbook = load_workbook(io.BytesIO(content), read_only=True)
            for row in workbook.worksheets[0].iter_rows(values_only=True):
                cells += len(row)
        seconds = time.perf_counter() - started
        print(json.dumps({"seconds": seconds, "peak_mb": peak_mb(), "cells": cells}))
        return
    _django()
    from django.db import connection

    from reporting.models import Edition
    from reporting.services.imports import returns_import

    if mode in ("export-csv", "export-xlsx"):
        from reporting.services.exports import returns_export_csv_chunks, returns_export_xlsx_file

        edition = Edition.objects.get(year=2024)
        idle_mb = peak_mb()
        started = time.perf_counter()
        if mode == "export-csv":
            size = sum(len(chunk.encode()) for chunk in returns_export_csv_chunks(edition=edition))
        else:
            handle = returns_export_xlsx_file(edition=edition)
            size = len(handle.read())
        print(json.dumps({"seconds": time.perf_counter() - started, "peak_mb": peak_mb(), "idle_mb": idle_mb,
                          "bytes": size}))
        return

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("TRUNCATE reporting_answer, reporting_auditevent, reporting_surveyreturn RESTART IDENTITY CASCADE")
        else:
            for table in ("reporting_answer", "reporting_auditevent", "reporting_surveyreturn"):
                cursor.execute(f"DELETE FROM {table}")
    edition = Edition.objects.get(year=2024)
    idle_mb = peak_mb()
    started = time.perf_counter()
    result = returns_import(edition=edition, content=content, filename=Path(path).name, actor=None)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM reporting_answer")
        answers = cursor.fetchone()[0]
    print(json.dumps({
        "seconds": seconds, "peak_mb": peak_mb(), "idle_mb": idle_mb, "returns": result.returns,
        "answers": answers, "values_changed": result.values_changed, "warnings": len(result.warnings),
    }))


def _run_child(mode: str, path, engine: str) -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)], capture_output=True, text=True, check=False,
        env={**os.environ, "DATABASE_URL": ENGINE_URLS[engine]},
    )
    if completed.returncode != 0:
        raise SystemExit(f"{mode} {path} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1237,20000")
    parser.add_argument("--formats", default="xlsx,csv")
    parser.add_argument("--engines", default="postgresql,sqlite", help="databases to import into, in this order")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "FILE"))
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement; the median is shown")
    parser.add_argument("--export", action="store_true", help="also time streamed CSV/XLSX exports of the imported returns")
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    formats = args.formats.split(",")
    engines = args.engines.split(",")
    unknown = set(engines) - set(ENGINE_URLS)
    if unknown:
        parser.error(f"--engines: unknown {', '.join(sorted(unknown))} (postgresql, sqlite)")
    for engine in engines:
        _database_create(engine)
        prepared = _run_child("prepare", max(sizes), engine)
        print(f"{engine}: database ready in {prepared['seconds']:.1f} s")
    os.environ["DATABASE_URL"] = ENGINE_URLS[engines[0]]
    with tempfile.TemporaryDirectory() as folder:
        files = _files(sizes, formats, Path(folder))
        print(f"{'file':<22}{'engine':<12}{'MB':>6}{'import s':>10}{'peak MB':>9}{'baseline s':>12}{'base MB':>9}{'ratio':>7}  answers")
        for (size, _fmt), path in files.items():
            # The median of --repeat runs: a shared machine's load makes single runs noisy.
            baselines = [_run_child("baseline", path, engines[0]) for _ in range(args.repeat)]
            baseline = sorted(baselines, key=lambda m: m["seconds"])[len(baselines) // 2]
            seconds = {}
            for engine in engines:
                measures = [_run_child("import", path, engine) for _ in range(args.repeat)]
                measured = sorted(measures, key=lambda m: m["seconds"])[len(measures) // 2]
                seconds[engine] = measured["seconds"]
                if args.repeat > 1:
                    runs = ", ".join(f"{m['seconds']:.2f}" for m in measures)
                    print(f"{'':<22}{engine} import runs: {runs} s; "
                          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
                assert measured["answers"] == size * 123, measured
                print(
                    f"{path.name:<22}{engine:<12}{path.stat().st_size / 1e6:>6.1f}{measured['seconds']:>10.2f}{measured['peak_mb']:>9.0f}"
                    f"{baseline['seconds']:>12.2f}{baseline['peak_mb']:>9.0f}{measured['seconds'] / baseline['seconds']:>7.1f}"
                    f"  {measured['answers']:,} ({measured['warnings']} warnings)"
                )
                if size == 1237:
                    ok = measured["seconds"] < 10 and measured["peak_mb"] < 300
                    print(f"{'':<22}target for 1,237 (< 10 s, < 300 MB peak): {'met' if ok else 'NOT met'}")
                if args.export and _fmt == formats[-1]:
                    for mode in ("export-csv", "export-xlsx"):
                        exported = _run_child(mode, path, engine)
                        print(f"{'  ' + mode + f' of {size:,}':<22}{engine:<12}{exported['bytes'] / 1e6:>6.1f}{exported['seconds']:>10.2f}"
                              f"{exported['peak_mb']:>9.0f}   (idle process {exported['idle_mb']:.0f} MB)")
            if "sqlite" in seconds and "postgresql" in seconds:
                ratio = seconds["sqlite"] / seconds["postgresql"]
                print(f"{'':<22}SQLite / PostgreSQL: {ratio:.2f}x (target <= 2x: {'met' if ratio <= 2 else 'NOT met'}); "
                      f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
