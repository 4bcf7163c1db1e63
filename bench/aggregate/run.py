#!/usr/bin/env python
"""Benchmark: the aggregation job against one hand-written SQL query, on PostgreSQL.

    .venv/bin/python bench/aggregate/run.py [--returns 1237 100000] [--repeat 3]

Creates (and afterwards drops, unless --keep) its own database ``surveysite_bench`` on the
server of BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/surveysite_bench), so
nobody's data is touched. For each size it times, in the same run and on the same table:

- ``hand-written``: one GROUP BY query computing the national sums (count, sum of integers,
  number of yes answers) of every item over the approved returns;
- ``after one approval``: ``edition_figures_compute`` as the Celery task runs it after a
  return is approved or reopened (a random one, reopened and then approved again in turn):
  the answer summary is updated for its cell, then all 163 indicators and growth for the
  groups it belongs to (national, its province, ownership and hospital level), and the
  FigureValue rows that changed;
- ``full rebuild``: ``rebuild=True`` (``manage.py aggregate --rebuild``, and what a first
  run or a changed definition does): every answer summed again, every group's figures.

Sizes above 1,237 are the demo dataset cloned in SQL (institutions BENCH000001…).
Targets: aggregation at most 2x the hand-written query; 100,000 returns under 10 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common import database_create, database_drop, django_start, load_average, timed  # noqa: E402

HAND_WRITTEN = """
SELECT a.item_id, COUNT(*) AS answers, SUM(a.int_value) AS total,
       SUM(CASE WHEN a.bool_value THEN 1 ELSE 0 END) AS yes
FROM reporting_answer a
JOIN reporting_surveyreturn r ON r.id = a.survey_return_id
WHERE r.edition_id = %s AND r.status = 'approved'
GROUP BY a.item_id
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--returns", type=int, nargs="+", default=[1237, 100000])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per measurement (median)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    return parser.parse_args()


def clone_returns(edition_id: int, total: int) -> None:
    """Grow the approved returns to `total` by cloning the demo returns, all in SQL."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM reporting_surveyreturn WHERE edition_id = %s", [edition_id])
        have = cursor.fetchone()[0]
        extra = total - have
        if extra <= 0:
            cursor.execute("ANALYZE")  # as autovacuum would have done after loading the demo
            return
        cursor.execute(
            """
            INSERT INTO institutions_institution
                (code, name, name_en, province_id, city, ownership, hospital_level, contact_email,
                 active, is_synthetic, created_at, updated_at)
            SELECT 'BENCH' || lpad(g::text, 6, '0'), '基准测试医院' || g || '（示例）', '', d.province_id,
                   d.city, d.ownership, d.hospital_level, '', true, true, now(), now()
            FROM generate_series(%s, %s) AS g
            JOIN institutions_institution d
              ON d.code = 'DEMO' || lpad((((g - 1) %% 1237) + 1)::text, 4, '0')
            """,
            [have - 1236, have - 1236 + extra - 1],
        )
        cursor.execute(
            """
            INSERT INTO reporting_surveyreturn
                (edition_id, institution_id, status, version, created_at, updated_at, approved_at)
            SELECT %s, i.id, 'approved', 1, now(), now(), now()
            FROM institutions_institution i
            WHERE i.code LIKE 'BENCH%%'
              AND NOT EXISTS (SELECT 1 FROM reporting_surveyreturn r
                              WHERE r.institution_id = i.id AND r.edition_id = %s)
            """,
            [edition_id, edition_id],
        )
        cursor.execute(
            """
            INSERT INTO reporting_answer (survey_return_id, item_id, int_value, bool_value, text_value)
            SELECT br.id, a.item_id, a.int_value, a.bool_value, a.text_value
            FROM reporting_surveyreturn br
            JOIN institutions_institution bi ON bi.id = br.institution_id AND bi.code LIKE 'BENCH%%'
            JOIN institutions_institution di
              ON di.code = 'DEMO' || lpad((((substr(bi.code, 6)::int - 1) %% 1237) + 1)::text, 4, '0')
            JOIN reporting_surveyreturn dr ON dr.institution_id = di.id AND dr.edition_id = br.edition_id
            JOIN reporting_answer a ON a.survey_return_id = dr.id
            WHERE br.edition_id = %s
              AND NOT EXISTS (SELECT 1 FROM reporting_answer x WHERE x.survey_return_id = br.id)
            """,
            [edition_id],
        )
        cursor.execute("ANALYZE")


def main() -> int:
    args = parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/surveysite_bench")
    database_create(url)
    django_start(url)
    import logging

    logging.getLogger("reporting").setLevel(logging.WARNING)
    from django.core.management import call_command
    from django.db import connection

    from reporting.models import Answer, Edition, FigureValue, SurveyReturn
    from reporting.services.aggregation import edition_figures_compute

    results = []
    try:
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        call_command("load_demo", verbosity=0, stdout=open(os.devnull, "w"))
        print(f"set-up (migrate, setup_survey, load_demo): {time.perf_counter() - started:.1f} s")
        edition = Edition.objects.get(year=2024)

        def hand_written():
            with connection.cursor() as cursor:
                cursor.execute(HAND_WRITTEN, [edition.pk])
                return cursor.fetchall()

        def after_one_approval():
            return edition_figures_compute(edition_id=edition.pk, only_changed=True)  # as the task does

        toggled = []

        def one_return_changes():
            # What an approval does to the data: a return enters (or, reopened, leaves) the
            # approved set and its version goes up, so N and every figure of its province,
            # ownership and level change. Alternately one random return is reopened and the
            # same one approved again.
            with connection.cursor() as cursor:
                if toggled:
                    cursor.execute(
                        "UPDATE reporting_surveyreturn SET status = 'approved', version = version + 1"
                        " WHERE id = %s", [toggled.pop()],
                    )
                    return
                cursor.execute(
                    "UPDATE reporting_surveyreturn SET status = 'sent_back', version = version + 1 WHERE id = ("
                    " SELECT id FROM reporting_surveyreturn WHERE edition_id = %s AND status = 'approved'"
                    " ORDER BY random() LIMIT 1) RETURNING id",
                    [edition.pk],
                )
                toggled.append(cursor.fetchone()[0])

        def full_rebuild():
            return edition_figures_compute(edition_id=edition.pk, rebuild=True)

        from analysis.selectors import outlier_scores

        def outlier_list():
            # The reviewers' list for the whole edition (an admin's view): every ratio of
            # outliers.csv scored against its peers in the database.
            return outlier_scores(edition=edition)

        for size in sorted(args.returns):
            started = time.perf_counter()
            clone_returns(edition.pk, size)
            returns = SurveyReturn.objects.filter(edition=edition, status="approved").count()
            answers = Answer.objects.filter(survey_return__edition=edition).count()
            print(f"\n{returns:,} approved returns, {answers:,} answers (built in {time.perf_counter() - started:.1f} s)")
            hand = timed(hand_written, args.repeat)
            rebuild = timed(full_rebuild, args.repeat)
            update = timed(after_one_approval, args.repeat, before=one_return_changes)
            if toggled:  # leave every return approved
                one_return_changes()
                after_one_approval()
            outliers = timed(outlier_list, args.repeat)
            figures = FigureValue.objects.filter(edition=edition).count()
            results.append((returns, hand, update, rebuild, outliers))
            print(f"  hand-written national sums        : {hand:8.3f} s  ({len(hand_written())} item rows)")
            print(f"  aggregation after one approval    : {update:8.3f} s  {update / hand:5.2f}x"
                  f"  ({figures:,} FigureValue rows)")
            print(f"  aggregation, full rebuild         : {rebuild:8.3f} s  {rebuild / hand:5.2f}x")
            print(f"  peer outliers of the edition      : {outliers:8.3f} s  {outliers / hand:5.2f}x"
                  f"  ({len(outlier_list())} flagged)")
            print(f"  {load_average()}")
    finally:
        connection.close()
        if not args.keep:
            database_drop(url)

    print("\n  returns  hand-written  after one approval  full rebuild     outliers"
          "   target: <=2x, <10 s at 100,000; outliers <1 s at 1,237, <15 s at 100,000")
    ok = True
    for returns, hand, update, rebuild, outliers in results:
        met = update / hand <= 2 and (returns < 100000 or max(update, rebuild) < 10)
        met &= outliers < (1 if returns <= 1237 else 15)
        ok &= met
        print(f"{returns:>9,}  {hand:10.3f} s  {update:8.3f} s {update / hand:5.2f}x"
              f"  {rebuild:7.3f} s {rebuild / hand:5.2f}x  {outliers:7.3f} s   {'met' if met else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
