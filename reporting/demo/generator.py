"""The national demo dataset, built constructively.

1,237 synthetic institutions whose approved 2024 returns reproduce, when aggregated, every
national figure the society printed for 2023 (rounded to the printed format). Random
sampling would only get close; instead every printed count is assigned to exactly that many
institutions, and every printed total is split over institutions and then over its
categories so that both the institution sums (the personnel and equipment-holder rules)
and the category totals (the printed figures) hold exactly.

Pure Python with a seeded ``random.Random``: the same seed gives the same dataset.
The targets below are the printed figures (see the survey's published-figures file);
percentages are turned into the counts that round to them.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

SEED = 20240131
N_INSTITUTIONS = 1237
CODE_PREFIX = "DEMO"
SYNTHETIC_MARK = "（示例）"

# Institutions per province (roughly the size of each province's health system).
PROVINCE_SHARES = {
    "11": 62, "12": 25, "13": 52, "14": 33, "15": 24, "21": 45, "22": 24, "23": 30, "31": 45,
    "32": 85, "33": 70, "34": 44, "35": 36, "36": 33, "37": 88, "41": 70, "42": 52, "43": 45,
    "44": 85, "45": 36, "46": 10, "50": 28, "51": 65, "52": 25, "53": 30, "54": 4, "61": 36,
    "62": 20, "63": 6, "64": 7, "65": 22,
}
CITIES = {
    "11": ["北京"], "12": ["天津"], "13": ["石家庄", "唐山", "保定", "邯郸"],
    "14": ["太原", "大同", "长治"], "15": ["呼和浩特", "包头", "赤峰"],
    "21": ["沈阳", "大连", "鞍山", "锦州"], "22": ["长春", "吉林", "延边"],
    "23": ["哈尔滨", "齐齐哈尔", "牡丹江"], "31": ["上海"],
    "32": ["南京", "苏州", "无锡", "徐州", "常州", "南通"], "33": ["杭州", "宁波", "温州", "绍兴", "金华"],
    "34": ["合肥", "芜湖", "蚌埠", "安庆"], "35": ["福州", "厦门", "泉州"], "36": ["南昌", "赣州", "九江"],
    "37": ["济南", "青岛", "烟台", "潍坊", "临沂", "济宁"], "41": ["郑州", "洛阳", "新乡", "南阳", "开封"],
    "42": ["武汉", "宜昌", "襄阳", "十堰"], "43": ["长沙", "株洲", "衡阳", "岳阳"],
    "44": ["广州", "深圳", "佛山", "东莞", "汕头", "湛江"], "45": ["南宁", "柳州", "桂林"],
    "46": ["海口", "三亚"], "50": ["重庆"], "51": ["成都", "绵阳", "南充", "泸州"],
    "52": ["贵阳", "遵义"], "53": ["昆明", "大理", "曲靖"], "54": ["拉萨"], "61": ["西安", "宝鸡", "咸阳"],
    "62": ["兰州", "天水"], "63": ["西宁"], "64": ["银川"], "65": ["乌鲁木齐", "喀什", "伊犁"],
}
ORDINALS = "一二三四五六七八九十"
NAME_PATTERNS = {
    ("public", "tertiary_a"): ["{city}市第{n}人民医院", "{city}医科大学附属第{n}医院", "{city}市中心医院",
                               "{city}市肿瘤医院", "{city}大学第{n}医院"],
    ("public", "tertiary_other"): ["{city}市第{n}医院", "{city}市中医院", "{city}市妇幼保健院", "{city}市中西医结合医院"],
    ("public", "secondary"): ["{city}市第{n}区人民医院", "{city}县人民医院", "{city}市第{n}职工医院"],
    ("public", "other"): ["{city}市疾病防治中心第{n}门诊部", "{city}市健康体检中心", "{city}核医学诊疗中心"],
    ("nonpublic", None): ["{city}仁和医院", "{city}康华医院", "{city}博爱医院", "{city}现代医院", "{city}和睦家医院",
                          "{city}安康肿瘤医院", "{city}精准影像诊断中心"],
}
SUGGESTIONS = [
    "加强核医学专业人才培养与继续教育。",
    "建议加快放射性药物审批，保障药物供应。",
    "希望加强基层医院核医学设备配置。",
    "建议将更多核医学项目纳入医保报销。",
    "加强临床科研普及，推动多中心研究。",
]


# --- exact arithmetic helpers ----------------------------------------------------------


def rounds_to(count: int, denominator: int, target: Decimal) -> bool:
    """Whether 100*count/denominator, rounded half-up to target's decimals, is target."""
    if denominator == 0:
        return False
    value = Decimal(100 * count) / Decimal(denominator)
    return value.quantize(target, rounding=ROUND_HALF_UP) == target


def count_window(target: Decimal, denominator: int) -> tuple[int, int]:
    """The range of counts whose percentage of `denominator` rounds to `target`."""
    half = Fraction(1, 2) * Fraction(10) ** target.as_tuple().exponent
    low = math.ceil((Fraction(target) - half) * denominator / 100)
    high = math.ceil((Fraction(target) + half) * denominator / 100) - 1
    low, high = max(low, 0), min(high, denominator)
    if low > high:
        raise ValueError(f"no count of {denominator} rounds to {target}%")
    return low, high


def count_for_pct(target: str | Decimal, denominator: int) -> int:
    """The count nearest target% of denominator that rounds to target."""
    target = Decimal(str(target))
    low, high = count_window(target, denominator)
    ideal = round(Fraction(target) * denominator / 100)
    count = min(max(ideal, low), high)
    assert rounds_to(count, denominator, target)
    return count


def quotas_from_pcts(total: int, targets: dict[str, str], remainder: dict[str, int] | None = None) -> dict[str, int]:
    """Category totals summing to `total` whose shares round to `targets` (percent strings).

    Categories in `remainder` ({key: weight}) share what the targets leave over.
    """
    windows = {key: count_window(Decimal(pct), total) for key, pct in targets.items()}
    counts = {
        key: min(max(round(Fraction(Decimal(pct)) * total / 100), low), high)
        for (key, pct), (low, high) in zip(targets.items(), windows.values(), strict=True)
    }
    left = total - sum(counts.values())
    if remainder:
        if left < 0:
            # Shrink targets within their windows until the remainder fits.
            for key in sorted(counts, key=lambda k: -counts[k]):
                step = min(counts[key] - windows[key][0], -left)
                counts[key] -= step
                left += step
        assert left >= 0, "targets exceed the total"
        counts.update(distribute(left, list(remainder.values()), keys=list(remainder)))
    else:
        for key in sorted(counts, key=lambda k: -counts[k]):
            if left == 0:
                break
            low, high = windows[key]
            step = max(min(left, high - counts[key]), low - counts[key])
            counts[key] += step
            left -= step
        assert left == 0, f"cannot reach {total} within the rounding windows"
    assert sum(counts.values()) == total
    return counts


def distribute(total: int, weights: list[float], *, minimum: int = 0, keys: list | None = None):
    """Split `total` into integers proportional to `weights` (largest remainder), each >= minimum."""
    n = len(weights)
    rest = total - minimum * n
    if rest < 0:
        raise ValueError(f"{total} cannot give {minimum} to each of {n}")
    weight_sum = sum(weights)
    raw = [rest * w / weight_sum for w in weights] if weight_sum else [0.0] * n
    floors = [int(x) for x in raw]
    left = rest - sum(floors)
    for index in sorted(range(n), key=lambda i: (floors[i] - raw[i], i))[:left]:
        floors[index] += 1
    result = [minimum + f for f in floors]
    return dict(zip(keys, result, strict=True)) if keys is not None else result


def split_rows(row_totals: list[int], quotas: dict[str, int]) -> list[dict[str, int]]:
    """A table with the given row sums and column sums, each row roughly proportional."""
    total = sum(row_totals)
    assert total == sum(quotas.values()), (total, sum(quotas.values()))
    keys = list(quotas)
    weights = [quotas[k] for k in keys]
    rows = [distribute(t, weights, keys=keys) if t else dict.fromkeys(keys, 0) for t in row_totals]
    deficit = {k: quotas[k] - sum(r[k] for r in rows) for k in keys}
    while any(deficit.values()):
        short = next(k for k in keys if deficit[k] > 0)
        extra = next(k for k in keys if deficit[k] < 0)
        need = min(deficit[short], -deficit[extra])
        # Move from the rows holding most of the over-allocated category, one unit each.
        for row in sorted(rows, key=lambda r: -r[extra]):
            if need == 0 or row[extra] == 0:
                break
            row[extra] -= 1
            row[short] += 1
            deficit[extra] += 1
            deficit[short] -= 1
            need -= 1
    return rows


# --- the dataset -----------------------------------------------------------------------


@dataclass
class DemoInstitution:
    code: str
    name: str
    province: str
    city: str
    ownership: str
    hospital_level: str
    size: float  # relative workload, for plausible splits
    answers: dict = field(default_factory=dict)


def _pick(rng: random.Random, candidates: list, count: int, weight=lambda inst: 1.0) -> list:
    """`count` candidates, sampled without replacement with probability ∝ weight (stable)."""
    if count > len(candidates):
        raise ValueError(f"need {count} of {len(candidates)} candidates")
    keyed = [(rng.random() ** (1.0 / max(weight(c), 1e-9)), index) for index, c in enumerate(candidates)]
    keyed.sort(reverse=True)
    return [candidates[index] for _, index in keyed[:count]]


def _levels_and_ownership(rng: random.Random) -> list[tuple[str, str]]:
    levels = ["tertiary_a"] * 862 + ["tertiary_other"] * 207 + ["secondary"] * 96 + ["other"] * 72
    nonpublic_per_level = {"tertiary_a": 79, "tertiary_other": 60, "secondary": 30, "other": 40}  # 209
    pairs = []
    for level in ("tertiary_a", "tertiary_other", "secondary", "other"):
        count = levels.count(level)
        owners = ["nonpublic"] * nonpublic_per_level[level] + ["public"] * (count - nonpublic_per_level[level])
        pairs += [(level, owner) for owner in owners]
    rng.shuffle(pairs)
    return pairs


def _names(rng: random.Random, institutions: list[DemoInstitution]) -> None:
    used: set[str] = set()
    for inst in institutions:
        key = ("nonpublic", None) if inst.ownership == "nonpublic" else ("public", inst.hospital_level)
        patterns = NAME_PATTERNS[key]
        start = rng.randrange(len(patterns))
        name = None
        for attempt in range(60):
            pattern = patterns[(start + attempt) % len(patterns)]
            number = attempt // len(patterns) + 1
            ordinal = ORDINALS[number - 1] if number <= 10 else f"十{ORDINALS[number - 11]}"
            if "{n}" not in pattern and attempt >= len(patterns):
                continue
            candidate = pattern.format(city=inst.city, n=ordinal)
            if candidate not in used:
                name = candidate
                break
        if name is None:
            name = f"{inst.city}示例医院{inst.code[-4:]}"
        used.add(name)
        inst.name = name + SYNTHETIC_MARK


def demo_dataset(seed: int = SEED) -> list[DemoInstitution]:
    """The institutions with their answers ({item code: typed value}), before applies_if
    pruning (the loader leaves out items whose applies_if item is no)."""
    rng = random.Random(seed)
    provinces = [code for code, share in PROVINCE_SHARES.items() for _ in range(share)]
    assert len(provinces) == N_INSTITUTIONS, len(provinces)
    pairs = _levels_and_ownership(rng)
    size_of_level = {"tertiary_a": 3.0, "tertiary_other": 1.6, "secondary": 0.8, "other": 0.6}
    institutions = []
    for number, (province, (level, owner)) in enumerate(zip(provinces, pairs, strict=True), start=1):
        city = rng.choice(CITIES[province])
        size = size_of_level[level] * (0.5 + rng.random()) * (0.8 if owner == "nonpublic" else 1.0)
        institutions.append(DemoInstitution(
            code=f"{CODE_PREFIX}{number:04d}", name="", province=province, city=city,
            ownership=owner, hospital_level=level, size=size,
        ))
    _names(rng, institutions)
    by_size = lambda inst: inst.size  # noqa: E731
    for inst in institutions:
        inst.answers.update(ownership=inst.ownership, hospital_level=inst.hospital_level)

    def flag(code: str, chosen: list, among: list | None = None):
        chosen_codes = {i.code for i in chosen}
        for inst in among if among is not None else institutions:
            inst.answers[code] = inst.code in chosen_codes

    def zeros(*codes):
        for inst in institutions:
            for code in codes:
                inst.answers.setdefault(code, 0)

    tertiary = [i for i in institutions if i.hospital_level in ("tertiary_a", "tertiary_other")]
    non_tertiary = [i for i in institutions if i not in tertiary]

    # Administrative affiliation: counts whose shares round to the printed percentages.
    affiliation = quotas_from_pcts(N_INSTITUTIONS, {
        "independent": "73.6", "imaging": "13.3", "petct_center": "4.1", "radiology": "2.9", "other": "6.1",
    })
    pool = sorted(institutions, key=lambda i: -i.size)
    labels = [k for k, c in affiliation.items() for _ in range(c)]
    rng.shuffle(labels)
    for inst, label in zip(pool, labels, strict=True):
        inst.answers["dept_affiliation"] = label

    # Positron imaging: 659 institutions (53.3%), 566 of them tertiary (85.9%).
    n_positron = count_for_pct("53.3", N_INSTITUTIONS)
    n_positron_tertiary = count_for_pct("85.9", n_positron)
    positron = _pick(rng, tertiary, n_positron_tertiary, lambda i: i.size) + _pick(
        rng, non_tertiary, n_positron - n_positron_tertiary, by_size)
    positron.sort(key=lambda i: -i.size)
    mr_only = positron[-9:]  # a few small sites run a PET/MRI only
    pet_ct_sites = positron[:-9]
    pet_ct_units = distribute(721, [i.size ** 2 for i in pet_ct_sites], minimum=1)
    mr_sites = _pick(rng, pet_ct_sites[:300], 51 - len(mr_only), by_size) + mr_only
    for inst in institutions:
        inst.answers["eq_pet_ct"] = 0
        inst.answers["eq_pet_mr"] = 0
    for inst, units in zip(pet_ct_sites, pet_ct_units, strict=True):
        inst.answers["eq_pet_ct"] = units
    for inst in mr_sites:
        inst.answers["eq_pet_mr"] = 1
    flag("svc_pet", positron + _pick(rng, [i for i in institutions if i not in positron], 663 - n_positron))

    # Cyclotrons: 148 units in 140 institutions, all with positron imaging.
    cyclotron_sites = _pick(rng, [i for i in positron if i.hospital_level == "tertiary_a"], 140, by_size)
    cyclotron_units = distribute(148, [1.0] * 8 + [0.0] * 132, minimum=1)
    for inst in institutions:
        inst.answers["eq_cyclotron"] = 0
    for inst, units in zip(sorted(cyclotron_sites, key=lambda i: -i.size), cyclotron_units, strict=True):
        inst.answers["eq_cyclotron"] = units

    # Single-photon imaging: 787 departments, 1,044 units (51 coincidence SPECT/CT in the
    # 49 departments doing coincidence imaging).
    single_photon = _pick(rng, institutions, 787, lambda i: i.size)
    flag("svc_single_photon", single_photon)
    coincidence = _pick(rng, single_photon, 49, by_size)
    flag("svc_coincidence", coincidence)
    coincidence_units = dict(zip([i.code for i in coincidence], distribute(51, [1.0, 1.0] + [0.0] * 47, minimum=1), strict=True))
    slot_minimum = [0 if i.code in coincidence_units else 1 for i in single_photon]
    extra = distribute(993 - sum(slot_minimum), [i.size for i in single_photon])
    slots = [m + e for m, e in zip(slot_minimum, extra, strict=True)]
    sp_types = {"eq_spect_ct": 686, "eq_spect": 277, "eq_cardiac_spect": 14, "eq_gamma_camera": 11,
                "eq_czt_spect": 4, "eq_czt_spect_ct": 1}
    zeros("eq_coincidence_spect_ct", *sp_types)
    for inst, split in zip(single_photon, split_rows(slots, sp_types), strict=True):
        inst.answers.update(split)
        inst.answers["eq_coincidence_spect_ct"] = coincidence_units.get(inst.code, 0)

    # Organ function measurement: 581 departments, 786 units.
    organ = _pick(rng, institutions, 581, lambda i: 1 + i.size)
    flag("svc_organ_function", organ)
    organ_types = {"eq_thyroid_analyzer": 562, "eq_bone_densitometer": 171, "eq_breath_test": 21,
                   "eq_renogram": 11, "eq_multifunction": 10, "eq_function_other": 11}
    zeros(*organ_types)
    organ_units = distribute(786, [i.size for i in organ], minimum=1)
    for inst, split in zip(organ, split_rows(organ_units, organ_types), strict=True):
        inst.answers.update(split)

    # Probe laboratories (55) and small-animal imaging (63 units in 45 of them).
    probe = _pick(rng, [i for i in institutions if i.hospital_level == "tertiary_a"], 55, by_size)
    flag("svc_probe_lab", probe)
    animal_sites = probe[:45]
    animal_types = {"eq_sa_pet_ct": 35, "eq_sa_spect_pet_ct": 6, "eq_sa_spect_ct": 5, "eq_sa_optical": 4,
                    "eq_sa_pet_mr": 3, "eq_sa_other": 10}
    zeros(*animal_types)
    animal_units = distribute(63, [i.size for i in animal_sites], minimum=1)
    for inst, split in zip(animal_sites, split_rows(animal_units, animal_types), strict=True):
        inst.answers.update(split)

    # Equipment holders: every PET and single-photon unit is held by some department.
    holder_keys = {"eq_holder_nm": "71.0", "eq_holder_imaging": "15.5", "eq_holder_petct_center": "7.3",
                   "eq_holder_radiology": "3.2", "eq_holder_other": "3.0"}
    unit_codes = ["eq_pet_ct", "eq_pet_mr", "eq_spect_ct", "eq_spect", "eq_coincidence_spect_ct",
                  "eq_cardiac_spect", "eq_gamma_camera", "eq_czt_spect", "eq_czt_spect_ct"]
    held = [sum(i.answers.get(c, 0) for c in unit_codes) for i in institutions]
    holders = quotas_from_pcts(sum(held), holder_keys)
    for inst, split in zip(institutions, split_rows(held, holders), strict=True):
        inst.answers.update(split)

    # Examinations, only where the modality's units are.
    def examinations(sites, unit_code, total, targets, remainder=None, prefix=""):
        quotas = quotas_from_pcts(total, targets, remainder)
        weights = [i.answers.get(unit_code, 1) * i.size * (0.6 + 0.8 * rng.random()) for i in sites]
        per_site = distribute(total, weights, minimum=1)
        split = split_rows(per_site, quotas)
        zeros(*quotas)
        for inst, values in zip(sites, split, strict=True):
            inst.answers.update(values)

    examinations(pet_ct_sites, "eq_pet_ct", 1381758, {
        "pet_exam_tumor": "93.78", "pet_exam_neuro": "2.36", "pet_exam_ga68": "1.44", "pet_exam_biopsy": "0.83",
        "pet_exam_cardio": "0.59", "pet_exam_c11": "0.23", "pet_exam_bone": "0.22", "pet_exam_other": "0.55"})
    examinations(mr_sites, "eq_pet_mr", 27825, {
        "pmr_exam_tumor": "63.1", "pmr_exam_neuro": "27.9", "pmr_exam_ga68": "5.8", "pmr_exam_c11": "1.6",
        "pmr_exam_cardio": "1.6"}, {"pmr_exam_other": 1})
    examinations(single_photon, "eq_spect_ct", 2716806, {
        "sp_exam_skeletal": "65.6", "sp_exam_endocrine": "14.1", "sp_exam_urinary": "10.3",
        "sp_exam_cardio": "4.6", "sp_exam_digestive": "1.7"},
        {"sp_exam_respiratory": 40, "sp_exam_nervous": 35, "sp_exam_other": 25})
    examinations(coincidence, "eq_coincidence_spect_ct", 9583, {
        "co_exam_tumor": "93.7", "co_exam_bone": "3.4", "co_exam_cardio": "2.3", "co_exam_other": "0.6"})
    animal_cases = {"sa_cases_pet_ct": 67276, "sa_cases_spect_pet_ct": 7924, "sa_cases_optical": 1776,
                    "sa_cases_pet_mr": 1510, "sa_cases_spect_ct": 1397, "sa_cases_pet": 474, "sa_cases_ct": 17,
                    "sa_cases_other": 8037}
    zeros(*animal_cases)
    per_site = distribute(sum(animal_cases.values()), [i.size for i in animal_sites], minimum=1)
    for inst, values in zip(animal_sites, split_rows(per_site, animal_cases), strict=True):
        inst.answers.update(values)

    # Radiopharmaceutical licences and use.
    licence_counts = {"II": 588, "IIIA": 201, "IIIB": 125, "IV": 69, "I": 134, "none": 120}
    ranked = sorted(institutions, key=lambda i: -(i.size + (3 if i in positron else 0) + rng.random()))
    order = ["IV", "IIIA", "IIIB", "II", "I", "none"]
    labels = [label for label in order for _ in range(licence_counts[label])]
    for inst, label in zip(ranked, labels, strict=True):
        inst.answers["licence_class"] = label
    flag("rp_single_photon", single_photon + _pick(rng, [i for i in institutions if i not in single_photon], 825 - 787))
    rp_positron = positron + _pick(rng, [i for i in institutions if i not in positron], 697 - n_positron)
    flag("rp_positron", rp_positron)
    flag("rp_f18", rp_positron)
    cyclotron_first = lambda i: i.size + (4 if i in cyclotron_sites else 0)  # noqa: E731
    flag("rp_ga68", _pick(rng, rp_positron, 44, cyclotron_first))
    flag("rp_c11", _pick(rng, rp_positron, 42, cyclotron_first))
    flag("rp_n13_ammonia", _pick(rng, rp_positron, 28, cyclotron_first))

    # Radiopharmaceutical therapy: 801 perform it; 763 of them say they offer it.
    performs = _pick(rng, institutions, 801, lambda i: 1 + i.size)
    flag("rpt_performs", performs)
    offers = _pick(rng, performs, 763, by_size)
    flag("svc_rpt", offers)
    flag("svc_rpt_outpatient", _pick(rng, offers, 709, by_size))
    wards = _pick(rng, offers, 389, by_size)
    flag("svc_rpt_ward", wards)
    for code, count in (("rpt_i131", 718), ("rpt_bone_tumor", 410), ("rpt_plaster", 216), ("rpt_yunke", 89)):
        flag(code, _pick(rng, performs, count, by_size))
    zeros("rpt_beds")
    for inst, beds in zip(wards, distribute(2993, [i.size for i in wards], minimum=1), strict=True):
        inst.answers["rpt_beds"] = beds
    treatments = quotas_from_pcts(570840, {
        "tx_sr90_y90_applicator": "37.4", "tx_i131_graves": "18.2", "tx_i131_thyroid": "16.5",
        "tx_p32_patch": "12.0", "tx_tc99_mdp": "7.4", "tx_seed_implant": "5.3", "tx_sr89_bone": "1.5"},
        {"tx_other": 1})
    zeros(*treatments)
    per_site = distribute(570840, [i.size * (0.5 + rng.random()) for i in performs], minimum=1)
    for inst, values in zip(performs, split_rows(per_site, treatments), strict=True):
        inst.answers.update(values)

    # In vitro analysis: 339 laboratories.
    in_vitro = _pick(rng, institutions, 339, by_size)
    flag("svc_in_vitro", in_vitro)
    zeros("iv_samples", "iv_tests")
    weights = [i.size * (0.5 + rng.random()) for i in in_vitro]
    for inst, samples, tests in zip(in_vitro, distribute(42556296, weights, minimum=1),
                                    distribute(183323652, weights, minimum=1), strict=True):
        inst.answers["iv_samples"] = samples
        inst.answers["iv_tests"] = tests
    for code, pct in (("iv_internal_qc", "96.2"), ("iv_eqa_national", "75.2"), ("iv_eqa_provincial", "44.5"),
                      ("iv_cnas_auditors", "37.8")):
        flag(code, _pick(rng, in_vitro, count_for_pct(pct, len(in_vitro)), by_size))

    # Personnel: 15,677 people, split three ways (role, title, education) per department.
    staff = distribute(15677, [i.size * (0.6 + 0.8 * rng.random()) for i in institutions], minimum=2)
    staff_split = quotas_from_pcts(15677, {
        "staff_physician": "43.0", "staff_technician": "28.5", "staff_nurse": "22.6", "staff_chemist": "1.9",
        "staff_physicist": "1.1", "staff_researcher": "0.8", "staff_engineer": "0.4", "staff_other": "1.7"})
    title_split = quotas_from_pcts(15677, {
        "title_senior": "23.0", "title_intermediate": "40.1", "title_junior": "35.0", "title_other": "1.9"})
    edu_split = quotas_from_pcts(15677, {
        "edu_postgraduate": "31.9", "edu_undergraduate": "57.6", "edu_college": "10.5"}, {"edu_other": 1})
    for split in (staff_split, title_split, edu_split):
        for inst, values in zip(institutions, split_rows(staff, split), strict=True):
            inst.answers.update(values)

    # Education: supervisors and students in teaching hospitals.
    teaching = _pick(rng, [i for i in institutions if i.hospital_level == "tertiary_a"], 160, by_size)
    zeros("sup_doctoral", "sup_masters", "stu_doctoral", "stu_masters")
    for code, total, sites in (("sup_doctoral", 193, 70), ("sup_masters", 505, 150),
                               ("stu_doctoral", 480, 70), ("stu_masters", 1569, 150)):
        chosen = sorted(teaching, key=lambda i: -i.size)[:sites]
        for inst, value in zip(chosen, distribute(total, [i.size for i in chosen], minimum=1), strict=True):
            inst.answers[code] = value

    # Opinions.
    flag("op_lack_specialists", _pick(rng, institutions, count_for_pct("66", N_INSTITUTIONS)))
    flag("op_regional_economy", _pick(rng, institutions, count_for_pct("59", N_INSTITUTIONS)))
    for inst in _pick(rng, institutions, 240):
        inst.answers["op_suggestions"] = rng.choice(SUGGESTIONS)
    return institutions
