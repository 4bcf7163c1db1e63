"""Aggregation of approved returns into the summary table (FigureValue).

Every indicator of the edition's report definition is compiled into one SQL query
(``reporting.indicators.sql``) that the database evaluates for the national total and for
every province, ownership and hospital level at once. The rows replace the edition's
FigureValue rows in one transaction, so a recomputation interrupted halfway leaves the
previous figures and running it again gives the same result.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import connections, transaction
from django.utils import timezone

from reporting.indicators import indicator_parse
from reporting.indicators.sql import ItemInfo, figures_query_compile
from reporting.models import (
    Edition,
    FigureValue,
    Indicator,
    Item,
    ReturnStatus,
    SurveyReturn,
)

logger = logging.getLogger(__name__)

EIGHT_PLACES = Decimal("0.00000001")


def edition_recompute_schedule(*, edition_id: int) -> None:
    """Queue a recomputation of the edition's figures once the current transaction commits.

    Once per edition and transaction: an import approving 1,237 returns queues one job.
    """
    from reporting.tasks.aggregation import edition_recompute_task

    connection = transaction.get_connection()
    for pending in getattr(connection, "run_on_commit", []):
        if getattr(pending[1], "edition_recompute_id", None) == edition_id:
            return

    def recompute():
        edition_recompute_task.delay(edition_id)

    recompute.edition_recompute_id = edition_id
    transaction.on_commit(recompute)


def figure_decimal(value) -> Decimal | None:
    """A database number as the Decimal stored in FigureValue (8 places, engine-independent)."""
    if value is None:
        return None
    if isinstance(value, float):
        # repr gives the shortest string that round-trips: SQLite's ROUND(x, 8) → '63.62166532'.
        value = Decimal(repr(value))
    elif not isinstance(value, Decimal):
        value = Decimal(value)
    return value.quantize(EIGHT_PLACES)


def previous_figures_source(edition: Edition, *, using: str = "default") -> str | None:
    """Where growth figures find the previous edition's values.

    Its own computed figures when it has approved returns, else the totals it published
    (the 2019 edition is known only by those).
    """
    if edition.previous_id is None:
        return None
    has_returns = (
        SurveyReturn.objects.using(using)
        .filter(edition_id=edition.previous_id, status=ReturnStatus.APPROVED)
        .exists()
    )
    return "figures" if has_returns else "published"


def edition_figures_rows(*, edition: Edition, using: str = "default") -> list[dict]:
    """Every indicator of every group, computed by the database: a list of dicts
    {breakdown, group, key, value, n_returns}. Reads only; 4 queries."""
    indicators = list(Indicator.objects.using(using).filter(edition=edition).order_by("position"))
    if not indicators:
        return []
    items = {
        code: ItemInfo(id=pk, type=kind, part_of=part_of)
        for pk, code, kind, part_of in Item.objects.using(using)
        .filter(edition=edition)
        .values_list("pk", "code", "type", "part_of")
    }
    source = previous_figures_source(edition, using=using)
    connection = connections[using]
    compiled = figures_query_compile(
        indicators=[(i.key, indicator_parse(i.definition)) for i in indicators],
        items=items,
        edition_id=edition.pk,
        approved_status=ReturnStatus.APPROVED,
        previous_source=source,
        previous_edition_id=edition.previous_id,
        quote_name=connection.ops.quote_name,
    )
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One wide analytic query: JIT-compiling its few hundred expressions costs far
            # more than it saves (20 s at 100,000 returns), and hash joins and aggregates
            # need more than the default 4 MB. SET LOCAL ends with this transaction.
            cursor.execute("SET LOCAL jit = off; SET LOCAL work_mem = '64MB'; SET LOCAL enable_mergejoin = off")
        cursor.execute(compiled.sql, compiled.params)
        columns = [c[0] for c in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    figures = []
    for row in rows:
        n_returns = row["n_returns"]
        if not n_returns:
            continue  # no approved returns: no figures (not a page of zeros)
        for column, key in compiled.value_columns.items():
            figures.append(
                {"breakdown": row["breakdown"], "group": str(row["grp"]), "key": key,
                 "value": figure_decimal(row[column]), "n_returns": int(n_returns)}
            )
        for column, (key, previous_column) in compiled.growth_columns.items():
            if row[previous_column] is None:
                continue  # the previous edition has no figure for this group
            figures.append(
                {"breakdown": row["breakdown"], "group": str(row["grp"]), "key": key,
                 "value": figure_decimal(row[column]), "n_returns": int(n_returns)}
            )
    return figures


def _figure_values_insert(*, using: str, edition_id: int, rows: list[dict], computed_at) -> None:
    """Insert the rows with COPY (PostgreSQL) or multi-row INSERTs: building thousands of model
    instances, or one statement per row, costs more than the aggregation itself."""
    connection = connections[using]
    q = connection.ops.quote_name
    table = q(FigureValue._meta.db_table)
    columns = ", ".join(q(c) for c in ("edition_id", "breakdown", "group", "key", "value", "computed_at"))
    when = connection.ops.adapt_datetimefield_value(computed_at)
    decimal = connection.ops.adapt_decimalfield_value
    values = [
        (edition_id, row["breakdown"], row["group"], row["key"],
         None if row["value"] is None else decimal(row["value"], 24, 8), when)
        for row in rows
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY: a few milliseconds for thousands of rows.
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
            return
        # SQLite caps the number of parameters of one statement.
        batch = max(1, min(2000, (connection.features.max_query_params or 12000) // 6))
        for start in range(0, len(values), batch):
            chunk = values[start:start + batch]
            placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {placeholders}",
                [cell for row in chunk for cell in row],
            )


def edition_figures_compute(*, edition_id: int, using: str = "default") -> int:
    """Recompute every figure of the edition; returns the number of FigureValue rows written.

    Delete and insert in one transaction, with the edition row locked so two recomputations
    of the same edition (an approval and `manage.py aggregate`) run one after the other.
    """
    with transaction.atomic(using=using):
        edition = Edition.objects.using(using).select_for_update().get(pk=edition_id)
        rows = edition_figures_rows(edition=edition, using=using)
        now = timezone.now()
        FigureValue.objects.using(using).filter(edition=edition).delete()
        _figure_values_insert(using=using, edition_id=edition.pk, rows=rows, computed_at=now)
    logger.info("Edition %s: %d figures recomputed", edition.year, len(rows))
    return len(rows)
