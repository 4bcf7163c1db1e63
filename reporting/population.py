"""The population per-capita figures divide by: census files under
``reporting/definitions/population/`` (``census-<year>.csv`` with one row per provincial
division, ``census-<year>.toml`` naming the source).

An edition uses the latest census taken no later than its data year (the earliest one if
none is); a new census is a new pair of files, not code. The national population is the sum
of the 31 divisions, so that a province's figures and the nation's count the same people.
"""

from __future__ import annotations

import csv
import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

POPULATION_DIR = Path(__file__).resolve().parent / "definitions" / "population"


class CensusError(ValueError):
    pass


@dataclass(frozen=True)
class Census:
    year: int
    source_en: str
    source_zh: str
    by_province: dict[str, int]  # two-digit division code → residents

    @property
    def total(self) -> int:
        return sum(self.by_province.values())


def _census_load(toml_path: Path) -> Census:
    meta = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    csv_path = toml_path.with_suffix(".csv")
    column = meta.get("column", "population")
    by_province = {}
    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            code, value = (row.get("code") or "").strip(), (row.get(column) or "").strip()
            if len(code) != 2 or not code.isdigit() or not value.isdigit() or code in by_province:
                raise CensusError(f"{csv_path.name}, row {line}: expected a new two-digit code and a whole {column}")
            by_province[code] = int(value)
    census = Census(year=int(meta["year"]), source_en=meta["source_en"], source_zh=meta["source_zh"],
                    by_province=by_province)
    if "total" in meta and census.total != int(meta["total"]):
        raise CensusError(f"{csv_path.name}: the divisions add up to {census.total:,}, the toml says {meta['total']:,}")
    return census


@functools.cache
def censuses() -> tuple[Census, ...]:
    """Every census the project ships, oldest first."""
    return tuple(sorted((_census_load(p) for p in POPULATION_DIR.glob("census-*.toml")), key=lambda c: c.year))


def census_for_year(data_year: int) -> Census | None:
    """The census an edition whose data are of `data_year` divides by."""
    available = censuses()
    if not available:
        return None
    earlier = [c for c in available if c.year <= data_year]
    return earlier[-1] if earlier else available[0]
