"""Peer outliers: the robust modified z-score of each return's ratios within its peer group,
computed in the database.

For one ratio (analysis.definitions) and the returns a reviewer looks at (submitted, reviewed
or approved), each return's value x is compared with its peers (same hospital level, or same
level and province)::

    score = 0.6745 * (x - median) / MAD              (Iglewicz and Hoaglin, 1993)
    MAD   = median(|x - median|) over the peer group

flagged when |score| > the ratio's threshold (3.5). When more than half the peers share one
value, MAD is 0: the score then uses the mean absolute deviation, (x - median) / (1.253314 *
MeanAD) (1.253314·MeanAD estimates the standard deviation as 1.4826·MAD does); when every
peer has the same value, nobody is unusual and there is no score. A peer group with fewer
than ``min_peers`` values is too small to score. Returns whose denominator is 0 (no PET/CT:
no examinations per PET/CT) have no value.

PostgreSQL computes the medians with ``percentile_cont(0.5)``; SQLite, which has none, gets
the peers' values from the same SQL and the medians are taken here.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from django.db import connection

from analysis.definitions import OutlierRatio, edition_outlier_ratios
from reporting.models import Edition, Item, ReturnStatus

SCORED_STATUSES = (ReturnStatus.SUBMITTED, ReturnStatus.REVIEWED, ReturnStatus.APPROVED)
CONSISTENCY = 0.6745  # the 0.75 quantile of the standard normal: MAD/0.6745 estimates sigma
MEAN_AD_FACTOR = 1.253314  # sqrt(pi/2): MeanAD * 1.253314 estimates sigma


@dataclass
class OutlierScore:
    return_id: int
    key: str
    province: str
    hospital_level: str
    value: float
    median: float
    peers: int
    score: float | None
    flagged: bool


def modified_z_scores(values: list[float], *, min_peers: int) -> list[float | None]:
    """The scores of one peer group's values, by the rules above (the SQLite path, and the
    reference the database is tested against)."""
    if len(values) < min_peers:
        return [None] * len(values)
    median = statistics.median(values)
    deviations = [abs(v - median) for v in values]
    mad = statistics.median(deviations)
    if mad > 0:
        return [CONSISTENCY * (v - median) / mad for v in values]
    mean_ad = sum(deviations) / len(deviations)
    if mean_ad > 0:
        return [(v - median) / (MEAN_AD_FACTOR * mean_ad) for v in values]
    return [None] * len(values)


def _ratios_sql(ratios: list[OutlierRatio], items: dict[str, tuple[int, str]]) -> str:
    """SELECT key_, return_id, province, hospital_level, peer_province, value: every ratio of
    every scored return with a value, from one pass over the returns' answers (the items any
    ratio needs), whatever the number of ratios. Parameters: the edition, then the statuses."""
    def ids(terms):
        found = []
        for term in terms:
            if term.startswith("part_of="):
                group = term.removeprefix("part_of=")
                found += [pk for pk, part_of in items.values() if part_of == group]
            elif term in items:
                found.append(items[term][0])
        return found

    def total(found):
        listed = ", ".join(str(i) for i in found) or "NULL"
        return f"SUM(CASE WHEN a.item_id IN ({listed}) THEN a.int_value ELSE 0 END)"

    level_id = items["hospital_level"][0]
    every, columns, branches = {level_id}, [], []
    for number, ratio in enumerate(ratios, start=1):
        numerator, denominator = ids(ratio.numerator), ids(ratio.denominator)
        every.update(numerator + denominator)
        columns.append(f"{total(numerator)} AS n_{number}")
        if denominator:
            columns.append(f"{total(denominator)} AS d_{number}")
        value, having = ((f"n_{number} * 1.0 / d_{number}", f"d_{number} > 0") if denominator
                         else (f"n_{number} * 1.0", "1 = 1"))
        peer_province = "province" if "province" in ratio.peers else "''"
        branches.append(
            f"SELECT {_literal(ratio.key)} AS key_, return_id, province, hospital_level,"
            f" {peer_province} AS peer_province, {value} AS value FROM per_return"
            f" WHERE {having} AND hospital_level <> ''"
        )
    statuses = ", ".join(["%s"] * len(SCORED_STATUSES))
    per_return = (
        "SELECT r.id AS return_id, i.province_id AS province,"
        f" COALESCE(MAX(CASE WHEN a.item_id = {level_id} THEN a.text_value END), '') AS hospital_level, "
        + ", ".join(columns)
        + " FROM reporting_surveyreturn r JOIN institutions_institution i ON i.id = r.institution_id"
        " JOIN reporting_answer a ON a.survey_return_id = r.id"
        f" AND a.item_id IN ({', '.join(str(i) for i in sorted(every))})"
        f" WHERE r.edition_id = %s AND r.status IN ({statuses})"
        " GROUP BY r.id, i.province_id"
    )
    return f"WITH per_return AS ({per_return}) " + " UNION ALL ".join(branches)


def _literal(key: str) -> str:
    # Keys come from the definition file; only plain codes are inlined.
    if not key.replace("_", "").isalnum():
        raise ValueError(f"outliers.csv: key '{key}' may only contain letters, digits and _")
    return f"'{key}'"


def _scores_postgresql(ratios: list[OutlierRatio], ratios_sql: str, params: list) -> list[tuple]:
    min_peers = " ".join(f"WHEN {_literal(r.key)} THEN {int(r.min_peers)}" for r in ratios)
    sql = (
        f"WITH ratios AS (SELECT * FROM ({ratios_sql}) every_ratio),"
        " stats AS (SELECT key_, hospital_level, peer_province, COUNT(*) AS n,"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS median"
        " FROM ratios GROUP BY key_, hospital_level, peer_province),"
        " spread AS (SELECT r.key_, r.hospital_level, r.peer_province,"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY ABS(r.value - s.median)) AS mad,"
        " AVG(ABS(r.value - s.median)) AS mean_ad"
        " FROM ratios r JOIN stats s ON s.key_ = r.key_ AND s.hospital_level = r.hospital_level"
        " AND s.peer_province = r.peer_province GROUP BY r.key_, r.hospital_level, r.peer_province)"
        " SELECT r.key_, r.return_id, r.province, r.hospital_level, r.value::float8, s.median, s.n,"
        f" CASE WHEN s.n < (CASE r.key_ {min_peers} END) THEN NULL"
        f" WHEN p.mad > 0 THEN {CONSISTENCY} * (r.value - s.median) / p.mad"
        f" WHEN p.mean_ad > 0 THEN (r.value - s.median) / ({MEAN_AD_FACTOR} * p.mean_ad) END AS score"
        " FROM ratios r JOIN stats s ON s.key_ = r.key_ AND s.hospital_level = r.hospital_level"
        " AND s.peer_province = r.peer_province"
        " JOIN spread p ON p.key_ = r.key_ AND p.hospital_level = r.hospital_level AND p.peer_province = r.peer_province"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _scores_portable(ratios: list[OutlierRatio], ratios_sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(ratios_sql, params)
        rows = cursor.fetchall()
    min_peers = {ratio.key: ratio.min_peers for ratio in ratios}
    groups: dict[tuple, list] = {}
    for row in rows:
        groups.setdefault((row[0], row[3], row[4]), []).append(row)
    result = []
    for (key, _level, _peer_province), members in groups.items():
        values = [float(m[5]) for m in members]
        scores = modified_z_scores(values, min_peers=min_peers[key])
        median = statistics.median(values)
        for member, value, score in zip(members, values, scores, strict=True):
            result.append((key, member[1], member[2], member[3], value, median, len(members), score))
    return result


def outlier_scores(*, edition: Edition, flagged_only: bool = True, province: str | None = None,
                   keys: list[str] | None = None) -> list[OutlierScore]:
    """Every scored value of the edition's returns (or only the flagged ones), most unusual
    first. Peers are always all the edition's returns; `province` only narrows the result.
    One statement for every ratio."""
    items = {code: (pk, part_of) for pk, code, part_of in
             Item.objects.filter(edition=edition).values_list("pk", "code", "part_of")}
    ratios = [r for r in edition_outlier_ratios(edition) if not keys or r.key in keys]
    if "hospital_level" not in items or not ratios:
        return []
    thresholds = {ratio.key: float(ratio.threshold) for ratio in ratios}
    sql = _ratios_sql(ratios, items)
    compute = _scores_postgresql if connection.vendor == "postgresql" else _scores_portable
    found = []
    for key, return_id, return_province, level, value, median, peers, score in compute(
        ratios, sql, [edition.pk, *SCORED_STATUSES]
    ):
        flagged = score is not None and abs(score) > thresholds[key]
        if (flagged or not flagged_only) and (province is None or return_province == province):
            found.append(OutlierScore(
                return_id=return_id, key=key, province=return_province, hospital_level=level,
                value=float(value), median=float(median), peers=peers,
                score=None if score is None else float(score), flagged=flagged,
            ))
    found.sort(key=lambda s: (-(abs(s.score) if s.score is not None else -1), s.return_id, s.key))
    return found


def outlier_questions_exist():
    """An expression for annotating returns: has a reviewer an open "follow up" question on it?"""
    from django.db.models import Exists, OuterRef

    from analysis.models import OutlierMark, OutlierMarkStatus

    return Exists(OutlierMark.objects.filter(survey_return=OuterRef("pk"), status=OutlierMarkStatus.FOLLOW_UP))


def outlier_questions(survey_return, *, zh: bool) -> dict[str, list[str]]:
    """The reviewers' open "follow up" questions on a return, by the item they are shown next
    to: the ratio's first numerator item (for part_of=GROUP, the group's first item)."""
    from analysis.models import OutlierMark, OutlierMarkStatus

    marks = list(OutlierMark.objects.filter(survey_return=survey_return, status=OutlierMarkStatus.FOLLOW_UP))
    if not marks:
        return {}
    ratios = {ratio.key: ratio for ratio in edition_outlier_ratios(survey_return.edition)}
    groups = {}
    wanted = {ratios[m.key].numerator[0].removeprefix("part_of=") for m in marks
              if m.key in ratios and ratios[m.key].numerator[0].startswith("part_of=")}
    if wanted:
        for code, part_of in (Item.objects.filter(edition_id=survey_return.edition_id, part_of__in=wanted)
                              .order_by("position").values_list("code", "part_of")):
            groups.setdefault(part_of, code)
    questions: dict[str, list[str]] = {}
    for mark in marks:
        ratio = ratios.get(mark.key)
        if ratio is None:
            continue
        first = ratio.numerator[0]
        code = groups.get(first.removeprefix("part_of=")) if first.startswith("part_of=") else first
        if code:
            questions.setdefault(code, []).append(f"{ratio.label_zh if zh else ratio.label_en}: {mark.note}")
    return questions


def return_outlier_flags(survey_return, *, zh: bool) -> tuple[list[dict], dict[str, list[dict]]]:
    """The flagged values of one return for its review page: (every flag with its mark, {item
    code: flags}) — each flag shown next to its ratio's first numerator item, as the
    reporter's questions are. Scores the return's peers, i.e. the whole edition's returns."""
    from analysis.models import OutlierMark

    edition = survey_return.edition
    flags = [s for s in outlier_scores(edition=edition, province=survey_return.institution.province_id)
             if s.return_id == survey_return.pk]
    if not flags:
        return [], {}
    ratios = {ratio.key: ratio for ratio in edition_outlier_ratios(edition)}
    marks = {m.key: m for m in OutlierMark.objects.filter(survey_return=survey_return)}
    groups: dict[str, str] = {}
    for code, part_of in (Item.objects.filter(edition=edition).exclude(part_of="")
                          .order_by("position").values_list("code", "part_of")):
        groups.setdefault(part_of, code)
    listed, by_item = [], {}
    for flag in flags:
        ratio = ratios[flag.key]
        first = ratio.numerator[0]
        code = groups.get(first.removeprefix("part_of=")) if first.startswith("part_of=") else first
        entry = {"flag": flag, "label": ratio.label_zh if zh else ratio.label_en, "mark": marks.get(flag.key)}
        listed.append(entry)
        if code:
            by_item.setdefault(code, []).append(entry)
    return listed, by_item
