"""Which peer ratios reviewers see: ``outliers.csv`` in the edition's definition folder.

Columns ``key, numerator, denominator, peers, threshold, min_peers, label_en, label_zh``.
``numerator`` and ``denominator`` are item codes joined by ``+``, or ``part_of=GROUP``; an
empty denominator scores the numerator itself. ``peers`` is ``hospital_level`` or
``hospital_level+province``. A return is flagged when |modified z-score| > ``threshold``;
peer groups of fewer than ``min_peers`` returns with a value are not scored.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from decimal import Decimal

from reporting.services.questionnaire import DEFINITIONS_DIR

PEERS = {"hospital_level": ("hospital_level",), "hospital_level+province": ("hospital_level", "province")}
_TERM = re.compile(r"^(?:part_of=)?[A-Za-z_][A-Za-z0-9_]*$")


class OutlierDefinitionError(ValueError):
    pass


@dataclass(frozen=True)
class OutlierRatio:
    key: str
    numerator: tuple[str, ...]  # item codes or part_of=GROUP
    denominator: tuple[str, ...]
    peers: tuple[str, ...]
    threshold: Decimal
    min_peers: int
    label_en: str
    label_zh: str


def _terms(text: str, *, where: str) -> tuple[str, ...]:
    terms = tuple(t.strip() for t in text.split("+") if t.strip())
    for term in terms:
        if not _TERM.match(term):
            raise OutlierDefinitionError(f"{where}: '{term}' is not an item code or part_of=GROUP")
    return terms


def edition_outlier_ratios(edition) -> list[OutlierRatio]:
    """The ratios of an edition: from its own definition folder, or, for an edition loaded
    from another edition's folder (the demo's open edition, version "2024.2+demo"), from that one."""
    ratios = outlier_ratios(edition.year)
    if not ratios and edition.definition_version[:4].isdigit():
        ratios = outlier_ratios(int(edition.definition_version[:4]))
    return ratios


def outlier_ratios(year: int) -> list[OutlierRatio]:
    """The ratios of a definition folder (an empty list when it has no outliers.csv)."""
    path = DEFINITIONS_DIR / str(year) / "outliers.csv"
    if not path.exists():
        return []
    ratios = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            where = f"outliers.csv, row {line}"
            if row["peers"] not in PEERS:
                raise OutlierDefinitionError(f"{where}, column peers: must be one of {', '.join(PEERS)}")
            numerator = _terms(row["numerator"], where=f"{where}, column numerator")
            if not numerator:
                raise OutlierDefinitionError(f"{where}, column numerator: is empty")
            ratios.append(OutlierRatio(
                key=row["key"], numerator=numerator,
                denominator=_terms(row.get("denominator") or "", where=f"{where}, column denominator"),
                peers=PEERS[row["peers"]], threshold=Decimal(row["threshold"]), min_peers=int(row["min_peers"]),
                label_en=row["label_en"], label_zh=row["label_zh"],
            ))
    return ratios
