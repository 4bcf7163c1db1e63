"""Compiling an edition's indicator trees into ONE portable SQL query.

The query has the shape (every step a CTE, all of it plain SQL that PostgreSQL and SQLite
both run)::

    ret        one row per approved return: province (registry), ownership and hospital
               level (the return's own answers), and the few items used inside per-return
               conditions such as count(eq_pet_ct+eq_pet_mr>0), pivoted with MAX/SUM(CASE)
    ret_cells  returns grouped into cells (province, ownership, hospital level):
               N and one SUM(CASE WHEN condition THEN 1 ELSE 0 END) per condition
    group_returns  N and the condition counts of every group: the national total, then
               GROUP BY province, ownership and hospital level over the cells (UNION ALL)
    item_cells the long answer table grouped by cell and item: SUM(int_value) and the
               number of yes answers (the bulk of the work: one pass over the answers)
    group_items    item_cells grouped the same way as group_returns, still long
    group_wide the groups' totals pivoted to one column per item (a few thousand rows in)
    figures    every indicator evaluated once per group over those columns

then joins the previous edition's figures for ``growth(...)``. Percentages use
``NULLIF(denominator, 0)``, so a zero denominator gives NULL rather than an error; every
quotient is rounded to 8 decimals in the database so both engines give the same digits.
"""

from __future__ import annotations

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
    ReturnCount,
    Sum,
)

BREAKDOWN_ITEMS = ("ownership", "hospital_level")
_SAFE_LITERAL = re.compile(r"^[A-Za-z0-9_]+$")


class IndicatorCompileError(ValueError):
    pass


@dataclass(frozen=True)
class ItemInfo:
    id: int
    type: str
    part_of: str = ""


@dataclass
class CompiledQuery:
    sql: str
    params: list
    # column name in the result → indicator key (growth columns come in pairs: value, previous)
    value_columns: dict[str, str] = field(default_factory=dict)
    growth_columns: dict[str, tuple[str, str]] = field(default_factory=dict)


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


def figures_query_compile(
    *,
    indicators: list[tuple[str, object]],
    items: dict[str, ItemInfo],
    edition_id: int,
    approved_status: str,
    previous_source: str | None,
    previous_edition_id: int | None,
    quote_name,
) -> CompiledQuery:
    """The one query computing every indicator for every group of one edition.

    ``indicators``: (key, parsed tree) in report order. ``previous_source``: "figures"
    (the previous edition's FigureValue rows), "published" (its PublishedFigure rows, national
    only) or None (no previous edition: growth indicators are left out).
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

    q = quote_name
    answer, ret_table, institution = q("reporting_answer"), q("reporting_surveyreturn"), q("institutions_institution")
    params: list = []

    # pivot: per return, the few items used inside per-return conditions and the breakdown
    # answers (ownership, hospital level), read in one pass over those items' answers.
    for code in BREAKDOWN_ITEMS:
        if code in items:
            compiler.pivot_column(code)
    pivot_sql, ret_columns = [], []
    for code, column in compiler.pivot.items():
        info = items[code]
        if info.type == "choice":
            pivot_sql.append(f"MAX(CASE WHEN a.item_id = {info.id} THEN a.text_value END) AS {column}")
            ret_columns.append(f"COALESCE(p.{column}, '') AS {column}" if code in BREAKDOWN_ITEMS else f"p.{column}")
        elif info.type == "boolean":
            pivot_sql.append(f"MAX(CASE WHEN a.item_id = {info.id} AND a.bool_value THEN 1 ELSE 0 END) AS {column}")
            ret_columns.append(f"COALESCE(p.{column}, 0) AS {column}")
        else:
            # Unanswered counts as 0 inside comparisons, as in the rules.
            pivot_sql.append(f"SUM(CASE WHEN a.item_id = {info.id} THEN a.int_value ELSE 0 END) AS {column}")
            ret_columns.append(f"COALESCE(p.{column}, 0) AS {column}")
    dims = {code: (compiler.pivot[code] if code in compiler.pivot else "''") for code in BREAKDOWN_ITEMS}
    pivot_ids = ", ".join(str(items[c].id) for c in compiler.pivot)
    own_col, level_col = dims["ownership"], dims["hospital_level"]
    cell_order = ", ".join(["province"] + [c for c in (own_col, level_col) if c != "''"])
    ctes = [
        # One row per approved return. "+ 0" keeps PostgreSQL off the item index: these items
        # sit on every page of the table, so one sequential pass beats scattered reads.
        "ret0 AS (SELECT r.id AS return_id, i.province_id AS province"
        + "".join(f", {c}" for c in ret_columns)
        + f" FROM {ret_table} r JOIN {institution} i ON i.id = r.institution_id"
        + (
            " LEFT JOIN (SELECT a.survey_return_id" + "".join(f", {p}" for p in pivot_sql)
            + f" FROM {answer} a WHERE a.item_id + 0 IN ({pivot_ids}) GROUP BY a.survey_return_id) p"
            " ON p.survey_return_id = r.id"
            if pivot_sql else ""
        )
        + " WHERE r.edition_id = %s AND r.status = %s)",
        # A cell is one (province, ownership, hospital level), numbered by DENSE_RANK: the big
        # pass below then groups answers by two integers, in a small hash table.
        "ret AS (SELECT return_id, province, "
        + f"{own_col} AS ownership, {level_col} AS hospital_level, "
        + f"DENSE_RANK() OVER (ORDER BY {cell_order}) AS cell"
        + "".join(f", CASE WHEN {cond} THEN 1 ELSE 0 END AS {col}" for cond, col in compiler.conditions.items())
        + " FROM ret0)",
        "ret_cells AS (SELECT cell, MAX(province) AS province, MAX(ownership) AS ownership,"
        " MAX(hospital_level) AS hospital_level, COUNT(*) AS n"
        + "".join(f", SUM({col}) AS {col}" for col in compiler.conditions.values())
        + " FROM ret GROUP BY cell)",
    ]
    params += [edition_id, approved_status]

    # The groups: national, then one per province, ownership and hospital level. Each
    # grouping is a GROUP BY over the cells (a few hundred rows), so the answers are read
    # once however many breakdowns there are.
    def group_branches(select: str, source: str, cell_alias: str, extra_group: str = "") -> list[str]:
        branches = [
            f"SELECT 'national' AS breakdown, 'national' AS grp{select} FROM {source}"
            + (f" GROUP BY {extra_group}" if extra_group else ""),
            f"SELECT 'province' AS breakdown, {cell_alias}.province AS grp{select} FROM {source}"
            f" GROUP BY {cell_alias}.province" + (f", {extra_group}" if extra_group else ""),
        ]
        for code in BREAKDOWN_ITEMS:
            if dims[code] != "''":
                branches.append(
                    f"SELECT '{code}' AS breakdown, {cell_alias}.{code} AS grp{select} FROM {source}"
                    f" WHERE {cell_alias}.{code} <> '' GROUP BY {cell_alias}.{code}"
                    + (f", {extra_group}" if extra_group else "")
                )
        return branches

    ctes.append(
        "group_returns AS ("
        + " UNION ALL ".join(group_branches(
            ", SUM(rc.n) AS n_returns" + "".join(f", SUM(rc.{col}) AS {col}" for col in compiler.conditions.values()),
            "ret_cells rc", "rc",
        ))
        + ")"
    )
    wide_columns = [(col, item_id, "total") for item_id, col in compiler.linear_sums.items()]
    wide_columns += [(col, item_id, "yes") for item_id, col in compiler.linear_yes.items()]
    if wide_columns:
        # The one pass over every answer: sums and yes-counts per cell and item. No item
        # filter (unneeded items are dropped below): an IN list skews PostgreSQL's row
        # estimate so it hashes the 10 million answers instead of the 100,000 returns; "+ 0"
        # keeps it from probing the answer index once per return.
        ctes.append(
            "item_cells AS (SELECT ret.cell AS cell, a.item_id AS item_id, SUM(a.int_value) AS total,"
            " SUM(CASE WHEN a.bool_value THEN 1 ELSE 0 END) AS yes"
            f" FROM {answer} a JOIN ret ON ret.return_id = a.survey_return_id + 0"
            " GROUP BY ret.cell, a.item_id)"
        )
        # Still one row per item: the groups' totals, long.
        ctes.append(
            "group_items AS ("
            + " UNION ALL ".join(group_branches(
                ", ic.item_id AS item_id, SUM(ic.total) AS total, SUM(ic.yes) AS yes",
                "item_cells ic JOIN ret_cells rc ON rc.cell = ic.cell", "rc", "ic.item_id",
            ))
            + ")"
        )
        # Pivoted to one column per item: a FILTER per column over a few thousand rows.
        ctes.append(
            "group_wide AS (SELECT breakdown, grp, "
            + ", ".join(f"SUM({kind}) FILTER (WHERE item_id = {item_id}) AS {col}" for col, item_id, kind in wide_columns)
            + " FROM group_items GROUP BY breakdown, grp)"
        )
        ctes.append(
            "groups AS (SELECT gr.*, "
            + ", ".join(f"COALESCE(gw.{col}, 0) AS {col}" for col, _, _ in wide_columns)
            + " FROM group_returns gr LEFT JOIN group_wide gw ON gw.breakdown = gr.breakdown AND gw.grp = gr.grp)"
        )
    else:
        ctes.append("groups AS (SELECT * FROM group_returns)")
    breakdown_order = "CASE breakdown WHEN 'national' THEN 0 WHEN 'province' THEN 1 WHEN 'ownership' THEN 2 ELSE 3 END"

    ctes.append(
        f"figures AS (SELECT breakdown, grp, {breakdown_order} AS breakdown_order, n_returns"
        + "".join(f", {sql} AS {col}" for col, sql in value_exprs)
        + " FROM groups)"
    )

    compiled = CompiledQuery(sql="", params=params)
    compiled.value_columns = {col: indicators[int(col[2:]) - 1][0] for col, _ in value_exprs}
    outer_columns = ["f.*"]
    joins = []
    if growth and previous_source:
        group_col = q("group")
        if previous_source == "figures":
            ctes.append(
                f"previous AS (SELECT breakdown, {group_col} AS grp, {q('key')} AS key_, value"
                f" FROM {q('reporting_figurevalue')} WHERE edition_id = %s)"
            )
        else:
            ctes.append(
                f"previous AS (SELECT 'national' AS breakdown, 'national' AS grp, {q('key')} AS key_, value"
                f" FROM {q('reporting_publishedfigure')} WHERE edition_id = %s)"
            )
        params.append(previous_edition_id)
        base_columns = {key: col for col, key in compiled.value_columns.items()}
        for number, (key, base) in enumerate(growth, start=1):
            alias = f"p{number}"
            base_col = f"f.{base_columns[base]}"
            joins.append(
                f" LEFT JOIN previous {alias} ON {alias}.breakdown = f.breakdown"
                f" AND {alias}.grp = f.grp AND {alias}.key_ = {_literal(base)}"
            )
            outer_columns.append(f"{alias}.value AS gp_{number}")
            outer_columns.append(
                f"ROUND(100.0 * ({base_col} - {alias}.value) / NULLIF({alias}.value, 0), 8) AS g_{number}"
            )
            compiled.growth_columns[f"g_{number}"] = (key, f"gp_{number}")
    compiled.sql = (
        "WITH " + ", ".join(ctes) + " SELECT " + ", ".join(outer_columns) + " FROM figures f" + "".join(joins)
        + " ORDER BY f.breakdown_order, f.grp"
    )
    return compiled
