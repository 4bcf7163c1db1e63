"""Compiling an edition's indicator trees into portable SQL over a summary of the answers.

The answers (millions of rows) are summarised in two tables that each run keeps up to date
(Zulip's summary tables, in spirit):

    CountedReturn   one row per approved return: its cell (province from the registry,
                    ownership and hospital level from its own answers), its version, and
                    one bit per per-return condition such as count(eq_pet_ct+eq_pet_mr>0)
    CellItemTotal   per cell and item: SUM(int_value) and the number of yes answers

A run deletes the CountedReturn rows whose return is no longer approved or changed
(version, province), inserts the approved returns not counted yet, and sums again the
answers of only the cells that lost or gained a return. The figures statement then reads
the two small tables::

    ret_cells      CountedReturn grouped into cells: N and the count of each condition bit
    group_returns  N and the condition counts of every group: the national total, then
                   GROUP BY province, ownership and hospital level over the cells (UNION ALL)
    group_items    CellItemTotal grouped the same way, still long (one row per group, item)
    group_wide     pivoted to one column per item
    figures        every indicator evaluated once per group over those columns

then joins the previous edition's figures for ``growth(...)``. Percentages use
``NULLIF(denominator, 0)``, so a zero denominator gives NULL rather than an error; every
quotient is rounded to 8 decimals in the database so both engines give the same digits.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from reporting.indicators import (
    Binary,
    ChoiceIn,
    Compare,
    Count,
    Growth,
    IsYes,
    ItemValue,
    Logical,
    Negative,
    Not,
    Number,
    Population,
    ReturnCount,
    Sum,
    indicator_uses_population,
)

BREAKDOWN_ITEMS = ("ownership", "hospital_level")
# The breakdowns that have a population (per-capita figures exist only for them).
POPULATION_BREAKDOWNS = ("national", "province")
_SAFE_LITERAL = re.compile(r"^[A-Za-z0-9_]+$")


class IndicatorCompileError(ValueError):
    pass


@dataclass(frozen=True)
class ItemInfo:
    id: int
    type: str
    part_of: str = ""


MAX_CONDITIONS = 62  # one bit each in CountedReturn.conditions (a signed 64-bit integer)
RUN_PLACEHOLDER = object()
ITEM_GROUPS_PLACEHOLDER = object()
FIGURE_GROUPS_PLACEHOLDER = object()


@dataclass
class CompiledAggregation:
    """The SQL of one edition's aggregation, in three parts:

    - keeping the summary up to date: CountedReturn (one row per approved return: its cell
      and its per-return condition bits), CellItemTotal (sums and yes answers per cell and
      item) and GroupItemTotal (the same per group). Stale rows (return no longer approved,
      or its version or province changed) are deleted, uncounted approved returns inserted,
      and every cell that lost or gained a return summed again from its returns' answers,
      its old totals taken out of its groups and the new ones put in;
    - ``figures()``: every indicator of every group (or of some groups) from the summary;
    - ``key``: a digest of the summary SQL; when it changes, the summary is rebuilt.
    """

    edition_id: int = 0
    key: str = ""
    counted_delete_all: tuple = ()
    totals_delete_all: tuple = ()
    stale_cells: tuple = ()
    stale_delete: tuple = ()
    counted_insert_sql: str = ""
    counted_insert_params: list = field(default_factory=list)
    counted_insert_all_sql: str = ""  # every approved return, into an empty CountedReturn
    counted_insert_all_params: list = field(default_factory=list)
    totals_columns: str = ""
    run_cells: str = ""
    totals_insert_sql: str = ""  # {cells}: "" for every cell, or a filter from rows_filter()
    totals_cells_delete_sql: str = ""
    groups_delete_all: tuple = ()
    groups_add_sql: str = ""  # {sign}: "" or "-"; {cells}: as in totals_insert
    groups_prune: tuple = ()
    figures_sql: str = ""  # {item_groups}, {figure_groups}: see figures()
    figures_params: list = field(default_factory=list)
    group_column: str = '"group"'
    # column name in the figures → indicator key (growth columns come in pairs: value, previous)
    value_columns: dict[str, str] = field(default_factory=dict)
    growth_columns: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Indicators over the group's population: no value for ownership or hospital level.
    population_keys: frozenset[str] = frozenset()

    def figures(self, groups: list[tuple[str, str]] | None = None) -> tuple[str, list]:
        """The figures statement for `groups` ((breakdown, group) pairs; None: every group)."""
        item_filter, item_params = rows_filter(["breakdown", self.group_column], groups)
        figure_filter, figure_params = rows_filter(["breakdown", "grp"], groups)
        params = []
        for param in self.figures_params:
            if param is ITEM_GROUPS_PLACEHOLDER:
                params += item_params
            elif param is FIGURE_GROUPS_PLACEHOLDER:
                params += figure_params
            else:
                params.append(param)
        return self.figures_sql.format(item_groups=item_filter, figure_groups=figure_filter), params

    def counted_insert(self, run: int, *, every_return: bool = False) -> tuple[str, list]:
        sql, params = ((self.counted_insert_all_sql, self.counted_insert_all_params) if every_return
                       else (self.counted_insert_sql, self.counted_insert_params))
        return sql, [run if p is RUN_PLACEHOLDER else p for p in params]

    def totals_insert(self, cells: list[tuple[str, str, str]] | None) -> tuple[str, list]:
        """Sum the answers of the counted returns of `cells` (None: of every cell)."""
        where, params = self._cells_filter(cells, "c.")
        return self.totals_insert_sql.format(cells=where), [self.edition_id, *params]

    def totals_select(self) -> tuple[str, list]:
        """The rows totals_insert(None) inserts, as a SELECT: PostgreSQL runs a SELECT over
        every answer with parallel workers, an INSERT ... SELECT in one process."""
        sql, params = self.totals_insert(None)
        return sql[sql.index(" SELECT ") + 1:], params

    def groups_add(self, cells: list[tuple[str, str, str]] | None, *, subtract: bool = False) -> tuple[str, list]:
        """Add (or subtract) the cell totals of `cells` (None: every cell) to the group totals."""
        where, params = self._cells_filter(cells, "")
        branches = self.groups_add_sql.count("{cells}")
        return (self.groups_add_sql.format(sign="-" if subtract else "", cells=where),
                [self.edition_id] + [self.edition_id, *params] * branches)

    def totals_delete(self, cells: list[tuple[str, str, str]]) -> tuple[str, list]:
        where, params = self._cells_filter(cells, "")
        return self.totals_cells_delete_sql.format(cells=where), [self.edition_id, *params]

    @staticmethod
    def _cells_filter(cells, alias: str) -> tuple[str, list]:
        # Column by column, so the unique index (edition, province, ownership, level, item)
        # finds a cell's rows; there are at most a few hundred cells.
        return rows_filter([f"{alias}province", f"{alias}ownership", f"{alias}hospital_level"], cells)


def _answer_value(info: ItemInfo) -> tuple[str, str]:
    """An answer's value inside per-return conditions, and the value of no answer (unanswered
    counts as 0, as in the rules)."""
    return {
        "choice": ("a.text_value", "''"),
        "boolean": ("CASE WHEN a.bool_value THEN 1 ELSE 0 END", "0"),
    }.get(info.type, ("a.int_value", "0"))


def rows_filter(columns: list[str], rows: list[tuple] | None) -> tuple[str, list]:
    """" AND ((a = %s AND b = %s) OR ...)" matching any of `rows` (None: every row; an empty
    list: none), and its parameters."""
    if rows is None:
        return "", []
    if not rows:
        return " AND 1 = 0", []
    match = "(" + " AND ".join(f"{column} = %s" for column in columns) + ")"
    return " AND (" + " OR ".join([match] * len(rows)) + ")", [value for row in rows for value in row]


def _literal(value: str) -> str:
    # Choice codes are inlined (the same literal appears in several UNION branches);
    # definition files may only use plain codes, so nothing can break out of the quotes.
    if not _SAFE_LITERAL.match(value):
        raise IndicatorCompileError(f"choice code '{value}' may only contain letters, digits and _")
    return f"'{value}'"


class _Compiler:
    def __init__(self, items: dict[str, ItemInfo]):
        self.items = items
        self.pivot: dict[str, str] = {}  # item code → ret column
        self.conditions: dict[str, str] = {}  # condition SQL → ret_cells column
        self.linear_sums: dict[int, str] = {}  # item id → cells column (sum of int_value)
        self.linear_yes: dict[int, str] = {}  # item id → cells column (yes answers)
        self.uses_population = False

    def item(self, code: str, kind: str | None = None) -> ItemInfo:
        info = self.items.get(code)
        if info is None:
            raise IndicatorCompileError(f"unknown item '{code}'")
        if kind and info.type != kind:
            raise IndicatorCompileError(f"'{code}' is a {info.type} item, not {kind}")
        return info

    def group_members(self, group: str) -> list[str]:
        members = [code for code, info in self.items.items() if info.part_of == group]
        if not members:
            raise IndicatorCompileError(f"part_of group '{group}' has no items")
        return members

    def pivot_column(self, code: str) -> str:
        info = self.item(code)
        if code not in self.pivot:
            self.pivot[code] = f"v_{info.id}"
        return self.pivot[code]

    # group level (one row per group, every count and sum already a column) ------------
    def aggregate(self, node) -> str:
        match node:
            case Number(value=value):
                return str(value)
            case ReturnCount():
                return "n_returns"
            case Population():
                self.uses_population = True
                return "population"
            case Sum(codes=codes, group=group):
                codes = self.group_members(group) if group else list(codes)
                parts = []
                for code in codes:
                    info = self.item(code, "integer")
                    parts.append(self.linear_sums.setdefault(info.id, f"s_{info.id}"))
                return "(" + " + ".join(parts) + ")"
            case Count(condition=IsYes(code=code)):
                info = self.item(code, "boolean")
                return self.linear_yes.setdefault(info.id, f"y_{info.id}")
            case Count(condition=condition):
                sql = self.condition(condition)
                return self.conditions.setdefault(sql, f"c_{len(self.conditions) + 1}")
            case Binary(op="/", left=left, right=right):
                return f"(({self.aggregate(left)}) * 1.0 / NULLIF({self.aggregate(right)}, 0))"
            case Binary(op=op, left=left, right=right):
                return f"({self.aggregate(left)} {op} {self.aggregate(right)})"
            case Negative(operand=operand):
                return f"(-{self.aggregate(operand)})"
        raise IndicatorCompileError(f"cannot use {type(node).__name__} here")

    # return level (inside count) ------------------------------------------------------
    def condition(self, node) -> str:
        match node:
            case IsYes(code=code):
                self.item(code, "boolean")
                return f"{self.pivot_column(code)} = 1"
            case ChoiceIn(code=code, values=values):
                self.item(code, "choice")
                listed = ", ".join(_literal(v) for v in values)
                return f"{self.pivot_column(code)} IN ({listed})"
            case Compare(op=op, left=left, right=right):
                sql_op = "=" if op == "==" else ("<>" if op == "!=" else op)
                return f"({self.per_return(left)} {sql_op} {self.per_return(right)})"
            case Logical(op=op, left=left, right=right):
                return f"({self.condition(left)} {op.upper()} {self.condition(right)})"
            case Not(operand=operand):
                return f"(NOT {self.condition(operand)})"
        raise IndicatorCompileError(f"cannot use {type(node).__name__} as a condition")

    def per_return(self, node) -> str:
        match node:
            case Number(value=value):
                return str(value)
            case ItemValue(code=code):
                self.item(code, "integer")
                return self.pivot_column(code)
            case Sum(codes=codes, group=group):
                codes = self.group_members(group) if group else list(codes)
                for code in codes:
                    self.item(code, "integer")
                return "(" + " + ".join(self.pivot_column(c) for c in codes) + ")"
            case Binary(op="/", left=left, right=right):
                return f"({self.per_return(left)} * 1.0 / NULLIF({self.per_return(right)}, 0))"
            case Binary(op=op, left=left, right=right):
                return f"({self.per_return(left)} {op} {self.per_return(right)})"
            case Negative(operand=operand):
                return f"(-{self.per_return(operand)})"
        raise IndicatorCompileError(f"cannot use {type(node).__name__} inside count(...)")


def _has_division(node) -> bool:
    match node:
        case Binary(op=op, left=left, right=right):
            return op == "/" or _has_division(left) or _has_division(right)
        case Negative(operand=operand):
            return _has_division(operand)
    return False


def aggregation_compile(
    *,
    indicators: list[tuple[str, object]],
    items: dict[str, ItemInfo],
    edition_id: int,
    approved_status: str,
    previous_source: str | None,
    previous_edition_id: int | None,
    quote_name,
    population: dict[str, int] | None = None,
) -> CompiledAggregation:
    """The SQL computing every indicator for every group of one edition (CompiledAggregation).

    ``indicators``: (key, parsed tree) in report order. ``previous_source``: "figures"
    (the previous edition's FigureValue rows), "published" (its PublishedFigure rows, national
    only) or None (no previous edition: growth indicators are left out). ``population``:
    residents by province code (the census), for definitions that use ``population``.
    """
    compiler = _Compiler(items)
    value_exprs: list[tuple[str, str]] = []  # (column, SQL over cells)
    growth: list[tuple[str, str]] = []  # (indicator key, base key)
    keys = {key for key, _ in indicators}
    for position, (key, tree) in enumerate(indicators, start=1):
        if isinstance(tree, Growth):
            if tree.key not in keys or isinstance(dict(indicators)[tree.key], Growth):
                raise IndicatorCompileError(f"{key}: growth needs a non-growth indicator, not '{tree.key}'")
            growth.append((key, tree.key))
            continue
        sql = compiler.aggregate(tree)
        if _has_division(tree):
            sql = f"ROUND({sql}, 8)"
        value_exprs.append((f"k_{position}", sql))

    if len(compiler.conditions) > MAX_CONDITIONS:
        raise IndicatorCompileError(
            f"{len(compiler.conditions)} different count(...) conditions; at most {MAX_CONDITIONS} are supported"
        )
    if compiler.uses_population and not population:
        raise IndicatorCompileError("definitions use population, but no census covers the edition")
    for code in BREAKDOWN_ITEMS:
        if code in items:
            compiler.pivot_column(code)
    return _AggregationBuilder(
        compiler=compiler, items=items, indicators=indicators, value_exprs=value_exprs, growth=growth,
        edition_id=edition_id, approved_status=approved_status, previous_source=previous_source,
        previous_edition_id=previous_edition_id, quote_name=quote_name,
        population=population if compiler.uses_population else None,
        population_keys=frozenset(key for key, tree in indicators if indicator_uses_population(tree)),
    ).build()


class _AggregationBuilder:
    """Writes the SQL of CompiledAggregation (see its docstring) from a filled _Compiler."""

    def __init__(self, *, compiler, items, indicators, value_exprs, growth, edition_id, approved_status,
                 previous_source, previous_edition_id, quote_name, population=None, population_keys=frozenset()):
        self.population, self.population_keys = population, population_keys
        self.compiler, self.items, self.indicators = compiler, items, indicators
        self.value_exprs, self.growth = value_exprs, growth
        self.edition_id, self.approved_status = edition_id, approved_status
        self.previous_source, self.previous_edition_id = previous_source, previous_edition_id
        q = self.q = quote_name
        self.answer, self.returns = q("reporting_answer"), q("reporting_surveyreturn")
        self.institution = q("institutions_institution")
        self.counted, self.totals = q("reporting_countedreturn"), q("reporting_cellitemtotal")
        self.dims = {code: compiler.pivot.get(code, "''") for code in BREAKDOWN_ITEMS}

    def build(self) -> CompiledAggregation:
        compiled = CompiledAggregation()
        compiled.counted_delete_all = (f"DELETE FROM {self.counted} WHERE edition_id = %s", [self.edition_id])
        compiled.totals_delete_all = (f"DELETE FROM {self.totals} WHERE edition_id = %s", [self.edition_id])
        stale = (
            f" FROM {self.counted} c WHERE c.edition_id = %s AND NOT EXISTS (SELECT 1 FROM {self.returns} r"
            f" JOIN {self.institution} i ON i.id = r.institution_id WHERE r.id = c.return_id"
            " AND r.edition_id = %s AND r.status = %s AND r.version = c.version AND i.province_id = c.province)"
        )
        stale_params = [self.edition_id, self.edition_id, self.approved_status]
        compiled.stale_cells = (f"SELECT DISTINCT c.province, c.ownership, c.hospital_level{stale}", stale_params)
        compiled.stale_delete = (
            f"DELETE FROM {self.counted} WHERE edition_id = %s AND return_id IN (SELECT c.return_id{stale})",
            [self.edition_id, *stale_params],
        )
        compiled.counted_insert_sql, compiled.counted_insert_params = self.counted_insert()
        compiled.counted_insert_all_sql, compiled.counted_insert_all_params = self.counted_insert_all()
        compiled.run_cells = (
            f"SELECT DISTINCT province, ownership, hospital_level FROM {self.counted} WHERE edition_id = %s AND run = %s"
        )
        compiled.totals_columns = "edition_id, province, ownership, hospital_level, item_id, total, yes"
        compiled.totals_insert_sql = (
            f"INSERT INTO {self.totals} ({compiled.totals_columns})"
            " SELECT c.edition_id, c.province, c.ownership, c.hospital_level, a.item_id, COALESCE(SUM(a.int_value), 0),"
            " SUM(CASE WHEN a.bool_value THEN 1 ELSE 0 END)"
            f" FROM {self.counted} c JOIN {self.answer} a ON a.survey_return_id = c.return_id"
            " WHERE c.edition_id = %s{cells}"
            " GROUP BY c.edition_id, c.province, c.ownership, c.hospital_level, a.item_id"
            # Sparse: more than half the (cell, item) pairs sum to nothing, and a missing row
            # reads as 0 in the figures.
            " HAVING COALESCE(SUM(a.int_value), 0) <> 0 OR SUM(CASE WHEN a.bool_value THEN 1 ELSE 0 END) <> 0"
        )
        compiled.totals_cells_delete_sql = f"DELETE FROM {self.totals} WHERE edition_id = %s{{cells}}"
        groups, group_col = self.q("reporting_groupitemtotal"), self.q("group")
        compiled.groups_delete_all = (f"DELETE FROM {groups} WHERE edition_id = %s", [self.edition_id])
        compiled.groups_prune = (f"DELETE FROM {groups} WHERE edition_id = %s AND total = 0 AND yes = 0",
                                 [self.edition_id])
        sources = [("'national'", "'national'", "")] + [("'province'", "province", "")] + [
            (f"'{code}'", code, f" AND {code} <> ''") for code in BREAKDOWN_ITEMS if self.dims[code] != "''"
        ]
        compiled.groups_add_sql = (
            f"INSERT INTO {groups} (edition_id, breakdown, {group_col}, item_id, total, yes)"
            " SELECT %s, breakdown, grp, item_id, {sign}SUM(total), {sign}SUM(yes) FROM ("
            + " UNION ALL ".join(
                f"SELECT {breakdown} AS breakdown, {grp} AS grp, item_id, total, yes FROM {self.totals}"
                f" WHERE edition_id = %s{{cells}}{extra}"
                for breakdown, grp, extra in sources
            )
            # "WHERE true": SQLite needs a WHERE before an upsert's ON CONFLICT.
            + f") cell_rows WHERE true GROUP BY breakdown, grp, item_id"
            f" ON CONFLICT (edition_id, breakdown, {group_col}, item_id) DO UPDATE SET"
            f" total = {groups}.total + excluded.total, yes = {groups}.yes + excluded.yes"
        )
        compiled.edition_id = self.edition_id
        compiled.population_keys = self.population_keys
        self.figures(compiled)
        compiled.key = hashlib.sha256(
            "\n".join([compiled.counted_insert_sql, compiled.counted_insert_all_sql, compiled.totals_insert_sql]).encode()
        ).hexdigest()
        return compiled

    def counted_insert(self) -> tuple[str, list]:
        """INSERT the approved returns not counted yet, with their cell and condition bits.

        The few items those need (ownership, hospital level, the items inside count(...)
        conditions) are read per return through the (return, item) unique index: a handful of
        lookups for the one return an approval changes, and no plan for the optimiser to get
        wrong (a rebuild, where every return is new, uses counted_insert_all).
        """
        compiler, items = self.compiler, self.items
        lookups = []
        for code, column in compiler.pivot.items():
            info = items[code]
            value, default = _answer_value(info)
            lookups.append(
                f"COALESCE((SELECT {value} FROM {self.answer} a WHERE a.survey_return_id = r.id"
                f" AND a.item_id = {info.id}), {default}) AS {column}"
            )
        sql = (
            f"INSERT INTO {self.counted} (edition_id, return_id, version, province, ownership, hospital_level,"
            " run, conditions)"
            f" SELECT %s, return_id, version, province, {self.dims['ownership']}, {self.dims['hospital_level']},"
            f" %s, {self.condition_bits()}"
            " FROM (SELECT r.id AS return_id, r.version AS version, i.province_id AS province"
            + "".join(f", {lookup}" for lookup in lookups)
            + f" FROM {self.returns} r JOIN {self.institution} i ON i.id = r.institution_id"
            f" WHERE r.edition_id = %s AND r.status = %s AND NOT EXISTS (SELECT 1 FROM {self.counted} c"
            " WHERE c.edition_id = %s AND c.return_id = r.id)) ret"
        )
        return sql, [self.edition_id, RUN_PLACEHOLDER, self.edition_id, self.approved_status, self.edition_id]

    def counted_insert_all(self) -> tuple[str, list]:
        """INSERT every approved return (after a rebuild emptied CountedReturn): the items
        its cell and conditions need are pivoted in one pass over those items' answers,
        cheaper than looking them up return by return when every return is new."""
        compiler, items = self.compiler, self.items
        pivot_sql, columns = [], []
        for code, column in compiler.pivot.items():
            info = items[code]
            value, default = _answer_value(info)
            # One answer per (return, item), so MAX picks it.
            pivot_sql.append(f"MAX(CASE WHEN a.item_id = {info.id} THEN {value} END) AS {column}")
            columns.append(f"COALESCE(p.{column}, {default}) AS {column}")
        pivot = ""
        if pivot_sql:
            pivot_ids = ", ".join(str(items[c].id) for c in compiler.pivot)
            pivot = (
                " LEFT JOIN (SELECT a.survey_return_id" + "".join(f", {p}" for p in pivot_sql)
                + f" FROM {self.answer} a WHERE a.item_id IN ({pivot_ids}) GROUP BY a.survey_return_id) p"
                " ON p.survey_return_id = r.id"
            )
        sql = (
            f"INSERT INTO {self.counted} (edition_id, return_id, version, province, ownership, hospital_level,"
            " run, conditions)"
            f" SELECT %s, return_id, version, province, {self.dims['ownership']}, {self.dims['hospital_level']},"
            f" %s, {self.condition_bits()}"
            " FROM (SELECT r.id AS return_id, r.version AS version, i.province_id AS province"
            + "".join(f", {c}" for c in columns)
            + f" FROM {self.returns} r JOIN {self.institution} i ON i.id = r.institution_id{pivot}"
            " WHERE r.edition_id = %s AND r.status = %s) ret"
        )
        return sql, [self.edition_id, RUN_PLACEHOLDER, self.edition_id, self.approved_status]

    def condition_bits(self) -> str:
        return " + ".join(
            f"(CASE WHEN {condition} THEN {1 << bit} ELSE 0 END)"
            for bit, condition in enumerate(self.compiler.conditions)
        ) or "0"

    def figures(self, compiled: CompiledAggregation) -> None:
        """The statement computing every figure of every group from the summary tables."""
        compiler, q = self.compiler, self.q
        params: list = [self.edition_id]
        ctes = [
            "ret_cells AS (SELECT province, ownership, hospital_level, COUNT(*) AS n"
            + "".join(f", SUM((conditions >> {bit}) & 1) AS {col}" for bit, col in enumerate(compiler.conditions.values()))
            + f" FROM {self.counted} WHERE edition_id = %s GROUP BY province, ownership, hospital_level)",
        ]

        def group_branches(select: str, source: str, extra_group: str = "") -> list[str]:
            """National, then GROUP BY province, ownership and hospital level over the cells."""
            then = f", {extra_group}" if extra_group else ""
            branches = [
                f"SELECT 'national' AS breakdown, 'national' AS grp{select} FROM {source}"
                + (f" GROUP BY {extra_group}" if extra_group else ""),
                f"SELECT 'province' AS breakdown, province AS grp{select} FROM {source} GROUP BY province{then}",
            ]
            for code in BREAKDOWN_ITEMS:
                if self.dims[code] != "''":
                    branches.append(
                        f"SELECT '{code}' AS breakdown, {code} AS grp{select} FROM {source}"
                        f" WHERE {code} <> '' GROUP BY {code}{then}"
                    )
            return branches

        ctes.append(
            "group_returns AS ("
            + " UNION ALL ".join(group_branches(
                ", SUM(n) AS n_returns" + "".join(f", SUM({col}) AS {col}" for col in compiler.conditions.values()),
                "ret_cells",
            ))
            + ")"
        )
        wide_columns = [(col, item_id, "total") for item_id, col in compiler.linear_sums.items()]
        wide_columns += [(col, item_id, "yes") for item_id, col in compiler.linear_yes.items()]
        if wide_columns:
            ids = ", ".join(str(i) for i in sorted({item_id for _, item_id, _ in wide_columns}))
            ctes.append(
                "group_items AS (SELECT breakdown, " + q("group") + " AS grp, item_id, total, yes"
                f" FROM {q('reporting_groupitemtotal')} WHERE edition_id = %s AND item_id IN ({ids}){{item_groups}})"
            )
            params.append(self.edition_id)
            params.append(ITEM_GROUPS_PLACEHOLDER)
            # Pivoted to one column per item: a FILTER per column over a few thousand rows.
            ctes.append(
                "group_wide AS (SELECT breakdown, grp, "
                + ", ".join(f"SUM({kind}) FILTER (WHERE item_id = {item_id}) AS {col}"
                            for col, item_id, kind in wide_columns)
                + " FROM group_items GROUP BY breakdown, grp)"
            )
            ctes.append(
                "groups AS (SELECT gr.*, "
                + ", ".join(f"COALESCE(gw.{col}, 0) AS {col}" for col, _, _ in wide_columns)
                + " FROM group_returns gr LEFT JOIN group_wide gw ON gw.breakdown = gr.breakdown AND gw.grp = gr.grp)"
            )
        else:
            ctes.append("groups AS (SELECT * FROM group_returns)")
        source = "groups"
        if self.population:
            # The census as a literal table (31 rows); the nation is the sum of the divisions.
            rows = ", ".join(f"({_literal(code)}, {int(residents)})" for code, residents in sorted(self.population.items()))
            ctes.append(f"census (code, residents) AS (VALUES {rows})")
            ctes.append(
                "groups_population AS (SELECT g.*, CASE WHEN g.breakdown = 'national'"
                f" THEN {sum(self.population.values())} WHEN g.breakdown = 'province' THEN census.residents END"
                " AS population FROM groups g LEFT JOIN census ON g.breakdown = 'province' AND census.code = g.grp)"
            )
            source = "groups_population"
        breakdown_order = "CASE breakdown WHEN 'national' THEN 0 WHEN 'province' THEN 1 WHEN 'ownership' THEN 2 ELSE 3 END"
        ctes.append(
            f"figures AS (SELECT breakdown, grp, {breakdown_order} AS breakdown_order, n_returns"
            + "".join(f", {sql} AS {col}" for col, sql in self.value_exprs)
            + f" FROM {source} WHERE n_returns > 0{{figure_groups}})"
        )
        params.append(FIGURE_GROUPS_PLACEHOLDER)
        compiled.value_columns = {col: self.indicators[int(col[2:]) - 1][0] for col, _ in self.value_exprs}
        outer_columns = ["f.*"]
        joins = []
        if self.growth and self.previous_source:
            # The previous edition's values of the growth bases, one row per group.
            bases = list(dict.fromkeys(base for _, base in self.growth))
            keys = ", ".join(_literal(base) for base in bases)
            if self.previous_source == "figures":
                previous_rows = (
                    f"SELECT breakdown, {q('group')} AS grp, {q('key')} AS key_, value"
                    f" FROM {q('reporting_figurevalue')} WHERE edition_id = %s AND {q('key')} IN ({keys})"
                )
            else:
                previous_rows = (
                    f"SELECT 'national' AS breakdown, 'national' AS grp, {q('key')} AS key_, value"
                    f" FROM {q('reporting_publishedfigure')} WHERE edition_id = %s AND {q('key')} IN ({keys})"
                )
            params.append(self.previous_edition_id)
            ctes.append(
                "previous AS (SELECT breakdown, grp, "
                + ", ".join(f"MAX(CASE WHEN key_ = {_literal(base)} THEN value END) AS pv_{number}"
                            for number, base in enumerate(bases, start=1))
                + f" FROM ({previous_rows}) previous_rows GROUP BY breakdown, grp)"
            )
            joins.append(" LEFT JOIN previous p ON p.breakdown = f.breakdown AND p.grp = f.grp")
            base_columns = {key: col for col, key in compiled.value_columns.items()}
            for number, (key, base) in enumerate(self.growth, start=1):
                previous = f"p.pv_{bases.index(base) + 1}"
                outer_columns.append(f"{previous} AS gp_{number}")
                outer_columns.append(
                    f"ROUND(100.0 * (f.{base_columns[base]} - {previous}) / NULLIF({previous}, 0), 8) AS g_{number}"
                )
                compiled.growth_columns[f"g_{number}"] = (key, f"gp_{number}")
        compiled.figures_sql = (
            "WITH " + ", ".join(ctes) + " SELECT " + ", ".join(outer_columns) + " FROM figures f" + "".join(joins)
            + " ORDER BY f.breakdown_order, f.grp"
        )
        compiled.figures_params = params
        compiled.group_column = q("group")
