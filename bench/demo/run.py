#!/usr/bin/env python
"""Benchmark: `manage.py load_demo`, first run and again, on the database `make run` uses.

    .venv/bin/python bench/demo/run.py [--postgres] [--repeat 1]

Creates its own database (a temporary SQLite file, as `make run`; with --postgres the database
``surveysite_bench_demo`` on the server of BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/surveysite_bench_demo, dropped afterwards) and times, in the
same run:

- ``2024 edition``: the 1,237 approved returns written in bulk (``demo_dataset_load``), the
  baseline: one INSERT per few thousand rows, one audit event per return;
- ``2024 figures``: ``edition_figures_compute`` (the answer summary rebuilt, every figure);
- ``open edition``: the 2026 edition's returns written through the return services
  (``open_edition_load``): per return, every value audited, the rules checked on submission,
  each status change audited — the ratio to the baseline is per return;
- ``load_demo again``: the whole command on the loaded database (it writes nothing).

Prints the load average before and after: on the shared 2-core build machine other jobs slow
every number alike, and the ratios are what to compare.
Targets: the first load_demo under 60 s, a second one under 10 s (on SQLite).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of a SQLite file")
    return parser.parse_args()


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> int:
    args = parse_args()
    scratch = tempfile.TemporaryDirectory()
    if args.postgres:
        from bench.common import database_create, database_drop

        url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/surveysite_bench_demo")
        database_create(url)
    else:
        url = f"sqlite:///{scratch.name}/demo.sqlite3"
    from bench.common import django_start

    django_start(url)
    import logging

    logging.getLogger("reporting").setLevel(logging.WARNING)
    from django.core.management import call_command
    from django.db import connection

    from reporting.demo.generator import SEED, demo_dataset
    from reporting.demo.load import demo_dataset_load
    from reporting.demo.open_edition import open_edition_load
    from reporting.models import Edition
    from reporting.services.aggregation import edition_figures_compute

    print(f"database: {connection.vendor}; load average before: {load_average()}")
    try:
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        call_command("setup_survey", stdout=io.StringIO())
        setup = time.perf_counter() - started

        started = time.perf_counter()
        dataset = demo_dataset(SEED)
        generate = time.perf_counter() - started

        started = time.perf_counter()
        bulk = demo_dataset_load(dataset=dataset)
        bulk_seconds = time.perf_counter() - started

        started = time.perf_counter()
        edition_figures_compute(edition_id=Edition.objects.get(year=2024).pk)
        figures = time.perf_counter() - started

        started = time.perf_counter()
        opened = open_edition_load(dataset=dataset)
        open_seconds = time.perf_counter() - started

        started = time.perf_counter()
        call_command("load_demo", stdout=io.StringIO())
        again = time.perf_counter() - started
    finally:
        connection.close()
        if args.postgres:
            database_drop(url)
        scratch.cleanup()

    first = setup + generate + bulk_seconds + figures + open_seconds
    per_bulk = bulk_seconds / bulk.returns_created
    per_service = open_seconds / opened.returns_created
    print(f"  setup_survey                     : {setup:7.2f} s")
    print(f"  generator (1,237 institutions)   : {generate:7.2f} s")
    print(f"  2024 edition, bulk (baseline)    : {bulk_seconds:7.2f} s  {bulk.returns_created} returns,"
          f" {per_bulk * 1000:6.1f} ms per return")
    print(f"  2024 figures                     : {figures:7.2f} s")
    print(f"  open edition, through services   : {open_seconds:7.2f} s  {opened.returns_created} returns,"
          f" {per_service * 1000:6.1f} ms per return, {per_service / per_bulk:5.1f}x the baseline")
    print(f"  first load_demo (sum of the above): {first:7.2f} s   target < 60 s")
    print(f"  load_demo again (writes nothing) : {again:7.2f} s   target < 10 s")
    print(f"load average after: {load_average()}")
    return 0 if first < 60 and again < 10 else 1


if __name__ == "__main__":
    sys.exit(main())
