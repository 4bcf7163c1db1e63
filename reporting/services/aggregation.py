"""Aggregation of approved returns into the summary table (FigureValue).

The edition's indicators are compiled into SQL (``reporting.indicators.sql``) that keeps a
summary of the answers up to date (CountedReturn, CellItemTotal, GroupItemTotal: only the
cells whose returns changed are summed again) and evaluates every indicator for the national
total and every province, ownership and hospital level from it. Everything happens in one
transaction, so a recomputation interrupted halfway leaves the previous figures and running
it again gives the same result.
"""

from __future__ import annotations

import hashlib
import logging
from decimal import Decimal

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from reporting.indicators import indicator_parse
from reporting.indicators.sql import (
    POPULATION_BREAKDOWNS,
    CompiledAggregation,
    ItemInfo,
    aggregation_compile,
    rows_filter,
)
from reporting.models import (
    AggregationState,
    CellItemTotal,
    CountedReturn,
    Edition,
    FigureValue,
    Indicator,
    Item,
    ReturnStatus,
    SurveyReturn,
)
from reporting.population import census_for_year

logger = logging.getLogger(__name__)

EIGHT_PLACES = Decimal("0.00000001")
# Above this many changed cells, summing every answer once beats summing the cells one by one.
CELLS_UPDATED_ONE_BY_ONE = 48


def edition_recompute_schedule(*, edition_id: int, every_group: bool = False) -> None:
    """Queue a recomputation of the edition's figures once the current transaction commits:
    of the groups whose returns changed, or of `every_group` (when the previous edition's
    figures, the base of its growth figures, changed).

    Once per edition and transaction: an import approving 1,237 returns queues one job.
    The change stands if the broker cannot take the job (it is logged): the next
    recomputation of the edition counts every return that changed since the last one, and
    `manage.py aggregate` repairs the figures at any time.
    """
    from reporting.tasks.aggregation import edition_recompute_task
    from reporting.tasks.queueing import task_enqueue

    connection = transaction.get_connection()
    for pending in getattr(connection, "run_on_commit", []):
        if getattr(pending[1], "edition_recompute_id", None) == edition_id:
            if every_group:
                pending[1].every_group = True
            return

    def recompute():
        task_enqueue(
            edition_recompute_task, (edition_id,), {"only_changed": not recompute.every_group},
            if_lost=f"The figures of edition id {edition_id} catch up at its next recomputation, "
            "or run `manage.py aggregate`.",
        )

    recompute.edition_recompute_id = edition_id
    recompute.every_group = every_group
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


def _summary_refresh(*, edition: Edition, compiled: CompiledAggregation, using: str, rebuild: bool) -> set | None:
    """Bring CountedReturn, CellItemTotal and GroupItemTotal up to date with the approved
    returns, and return the cells (province, ownership, level) that changed, or None when
    everything was rebuilt.

    Incremental unless `rebuild`, the first run, or a changed definition (key): only the cells
    that lost or gained a return are summed again.
    """
    connection = connections[using]
    key = hashlib.sha256(f"{compiled.key}\n{edition.definition_checksum}".encode()).hexdigest()
    state = AggregationState.objects.using(using).filter(edition=edition).first()
    rebuild = rebuild or state is None or state.key != key
    run = 1 if state is None else state.run + 1
    with connection.cursor() as cursor:
        dirty: set | None = None
        if rebuild:
            cursor.execute(*compiled.counted_delete_all)
            cursor.execute(*compiled.totals_delete_all)
            cursor.execute(*compiled.groups_delete_all)
        else:
            cursor.execute(*compiled.stale_cells)
            dirty = set(cursor.fetchall())
            if dirty:
                cursor.execute(*compiled.stale_delete)
        cursor.execute(*compiled.counted_insert(run, every_return=rebuild))
        if not rebuild and cursor.rowcount:
            cursor.execute(compiled.run_cells, [edition.pk, run])
            dirty |= set(cursor.fetchall())
        if rebuild or len(dirty) > CELLS_UPDATED_ONE_BY_ONE:
            # Every cell (or most: an import approving a thousand returns): sum every answer.
            if not rebuild:
                cursor.execute(*compiled.totals_delete_all)
                cursor.execute(*compiled.groups_delete_all)
            _cell_totals_rebuild(cursor=cursor, compiled=compiled, connection=connection)
            cursor.execute(*compiled.groups_add(None))
        elif dirty:
            # Take the cells' old totals out of their groups, sum the cells again from their
            # returns' answers, put the new totals in.
            cells = sorted(dirty)
            cursor.execute(*compiled.groups_add(cells, subtract=True))
            cursor.execute(*compiled.totals_delete(cells))
            cursor.execute(*compiled.totals_insert(cells))
            cursor.execute(*compiled.groups_add(cells))
            cursor.execute(*compiled.groups_prune)
    logger.info("Edition %s: answer summary %s", edition.year,
                "rebuilt" if rebuild else f"updated in {len(dirty)} cells")
    if not rebuild and not dirty:
        return dirty
    now = timezone.now()
    if state is None:
        AggregationState.objects.using(using).create(edition=edition, key=key, run=run, rebuilt_at=now, updated_at=now)
    else:
        state.key, state.run, state.updated_at = key, run, now
        if rebuild:
            state.rebuilt_at = now
        state.save(using=using)
    return None if rebuild else dirty


def _cell_totals_rebuild(*, cursor, compiled: CompiledAggregation, connection) -> None:
    """Fill the (emptied) CellItemTotal of the edition from every counted return's answers."""
    if connection.vendor != "postgresql":
        cursor.execute(*compiled.totals_insert(None))
        return
    q = connection.ops.quote_name
    # CountedReturn rows written in this transaction have no statistics yet; the join below
    # pairs them with every answer, and a wrong estimate there costs seconds.
    cursor.execute(f"ANALYZE {q(CountedReturn._meta.db_table)}")
    # Summing every answer is the one big read: as a SELECT it gets parallel workers (an
    # INSERT ... SELECT would not); its few thousand rows go in by COPY.
    cursor.execute("SET LOCAL max_parallel_workers_per_gather TO DEFAULT")
    cursor.execute(*compiled.totals_select())
    totals = cursor.fetchall()
    cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
    with cursor.cursor.copy(f"COPY {q(CellItemTotal._meta.db_table)} ({compiled.totals_columns}) FROM STDIN") as copy:
        for row in totals:
            copy.write_row(row)


def _cells_groups(cells) -> list[tuple[str, str]]:
    """The groups whose figures a change in these cells can move: national, and each cell's
    province, ownership and hospital level."""
    groups = {("national", "national")}
    for province, ownership, level in cells:
        groups.add(("province", province))
        if ownership:
            groups.add(("ownership", ownership))
        if level:
            groups.add(("hospital_level", level))
    return sorted(groups)


def edition_figures_rows(*, edition: Edition, using: str = "default", rebuild: bool = False) -> dict:
    """Every indicator of every group, computed by the database: {(breakdown, group, key):
    value}. Brings the edition's answer summary up to date first (incrementally unless
    `rebuild`), in the caller's transaction or its own."""
    return _edition_figures(edition=edition, using=using, rebuild=rebuild, only_changed=False)[0]


def _edition_figures(*, edition: Edition, using: str, rebuild: bool, only_changed: bool) -> tuple[dict, list | None]:
    """(figures, groups): the figures of `groups`, or of every group when groups is None.
    With `only_changed`, only the groups whose returns changed since the last run."""
    indicators = list(
        Indicator.objects.using(using).filter(edition=edition).order_by("position").values_list("key", "definition")
    )
    if not indicators:
        return {}, None
    items = {
        code: ItemInfo(id=pk, type=kind, part_of=part_of)
        for pk, code, kind, part_of in Item.objects.using(using)
        .filter(edition=edition)
        .values_list("pk", "code", "type", "part_of")
    }
    source = previous_figures_source(edition, using=using)
    census = census_for_year(edition.data_year)
    connection = connections[using]
    compiled = aggregation_compile(
        indicators=[(key, indicator_parse(definition)) for key, definition in indicators],
        items=items,
        edition_id=edition.pk,
        approved_status=ReturnStatus.APPROVED,
        previous_source=source,
        previous_edition_id=edition.previous_id,
        quote_name=connection.ops.quote_name,
        population=census.by_province if census else None,
    )
    with transaction.atomic(using=using):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # JIT-compiling the few hundred expressions costs far more than it saves; the
                # rebuild's hash joins and aggregates need more than the default 4 MB; the
                # statements here read thousands of rows, where starting parallel workers
                # costs more than it saves (and INSERT ... SELECT runs in one process anyway).
                # SET LOCAL ends with this transaction.
                cursor.execute(
                    "SET LOCAL jit = off; SET LOCAL work_mem = '64MB'; SET LOCAL max_parallel_workers_per_gather = 0"
                )
        dirty = _summary_refresh(edition=edition, compiled=compiled, using=using, rebuild=rebuild)
        if only_changed and dirty is not None and not dirty:
            return {}, []  # no approved return changed
        groups = _cells_groups(dirty) if only_changed and dirty is not None else None
        with connection.cursor() as cursor:
            cursor.execute(*compiled.figures(groups))
            columns = [c[0] for c in cursor.description]
            rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    figures = {}
    value_columns = list(compiled.value_columns.items())
    growth_columns = list(compiled.growth_columns.items())
    for row in rows:
        breakdown, group = row["breakdown"], str(row["grp"])
        has_population = breakdown in POPULATION_BREAKDOWNS
        for column, key in value_columns:
            if has_population or key not in compiled.population_keys:  # else there is no such figure
                figures[breakdown, group, key] = figure_decimal(row[column])
        for column, (key, previous_column) in growth_columns:
            if row[previous_column] is not None:  # else the previous edition has no figure for the group
                figures[breakdown, group, key] = figure_decimal(row[column])
    return figures, groups


def _figure_values_insert(*, using: str, edition_id: int, rows: list[tuple], computed_at) -> None:
    """Insert the rows with COPY (PostgreSQL) or multi-row INSERTs: building thousands of model
    instances, or one statement per row, costs more than the aggregation itself."""
    connection = connections[using]
    q = connection.ops.quote_name
    table = q(FigureValue._meta.db_table)
    columns = ", ".join(q(c) for c in ("edition_id", "breakdown", "group", "key", "value", "computed_at"))
    when = connection.ops.adapt_datetimefield_value(computed_at)
    decimal = connection.ops.adapt_decimalfield_value
    values = [
        (edition_id, breakdown, group, key, None if value is None else decimal(value, 24, 8), when)
        for (breakdown, group, key), value in rows
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


def edition_figures_compute(*, edition_id: int, using: str = "default", rebuild: bool = False,
                            only_changed: bool = False) -> int:
    """Recompute the edition's figures; returns the number of figures computed.

    `rebuild` sums every answer again instead of only the cells whose returns changed;
    `only_changed` (what the Celery task does after an approval) recomputes only the groups
    those cells belong to — national, their provinces, ownerships and levels — and leaves
    the other groups' figures as they are.

    One transaction, with the edition row locked so two recomputations of the same edition
    (an approval and `manage.py aggregate`) run one after the other. Only figures whose value
    changed are rewritten, so computed_at tells when a value last changed.
    """
    with transaction.atomic(using=using):
        edition = Edition.objects.using(using).select_for_update().get(pk=edition_id)
        figures, groups = _edition_figures(edition=edition, using=using, rebuild=rebuild, only_changed=only_changed)
        if groups == []:
            logger.info("Edition %s: no approved return changed", edition.year)
            return 0
        connection = connections[using]
        q = connection.ops.quote_name
        exact = connection.vendor == "postgresql"  # numeric comes back as Decimal; SQLite's as float
        in_groups, groups_params = rows_filter(["breakdown", q("group")], groups)
        outdated, unchanged = [], set()
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, breakdown, {q('group')}, {q('key')}, value FROM {q(FigureValue._meta.db_table)}"
                f" WHERE edition_id = %s{in_groups}",
                [edition.pk, *groups_params],
            )
            for pk, *figure, value in cursor.fetchall():
                figure = tuple(figure)
                if figure in figures and figures[figure] == (value if exact else figure_decimal(value)):
                    unchanged.add(figure)
                else:
                    outdated.append(pk)
        if groups is None and len(outdated) > len(unchanged):
            FigureValue.objects.using(using).filter(edition=edition).delete()  # mostly new: one statement
            unchanged = set()
        elif outdated:
            FigureValue.objects.using(using).filter(pk__in=outdated).delete()
        changed = [(figure, value) for figure, value in figures.items() if figure not in unchanged]
        _figure_values_insert(using=using, edition_id=edition.pk, rows=changed, computed_at=timezone.now())
        if (changed or outdated) and using == DEFAULT_DB_ALIAS:
            # The next edition's growth figures are computed against these.
            following = Edition.objects.using(using).filter(previous=edition, returns__status=ReturnStatus.APPROVED)
            for following_id in following.values_list("pk", flat=True).distinct():
                edition_recompute_schedule(edition_id=following_id, every_group=True)
    logger.info("Edition %s: %d figures computed, %d rewritten", edition.year, len(figures), len(changed))
    return len(figures)
