"""The tile-grid map of the 31 provincial divisions: one equal square per division, placed
roughly where it lies (no boundary data), coloured by quantile class. Drawn on the server as
SVG (templates/reporting/report/_map.html), so it prints and goes into the PDF.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

# code → (column, row, short Chinese name, ISO 3166-2:CN letters)
TILES: dict[str, tuple[int, int, str, str]] = {
    "23": (7, 0, "黑龙江", "HL"),
    "65": (1, 1, "新疆", "XJ"), "15": (4, 1, "内蒙古", "NM"), "11": (5, 1, "北京", "BJ"),
    "21": (6, 1, "辽宁", "LN"), "22": (7, 1, "吉林", "JL"),
    "62": (2, 2, "甘肃", "GS"), "64": (3, 2, "宁夏", "NX"), "14": (4, 2, "山西", "SX"),
    "13": (5, 2, "河北", "HE"), "12": (6, 2, "天津", "TJ"),
    "54": (1, 3, "西藏", "XZ"), "63": (2, 3, "青海", "QH"), "61": (3, 3, "陕西", "SN"),
    "41": (4, 3, "河南", "HA"), "37": (5, 3, "山东", "SD"),
    "51": (2, 4, "四川", "SC"), "50": (3, 4, "重庆", "CQ"), "42": (4, 4, "湖北", "HB"),
    "34": (5, 4, "安徽", "AH"), "32": (6, 4, "江苏", "JS"), "31": (7, 4, "上海", "SH"),
    "53": (2, 5, "云南", "YN"), "52": (3, 5, "贵州", "GZ"), "43": (4, 5, "湖南", "HN"),
    "36": (5, 5, "江西", "JX"), "33": (6, 5, "浙江", "ZJ"),
    "45": (3, 6, "广西", "GX"), "44": (4, 6, "广东", "GD"), "35": (5, 6, "福建", "FJ"),
    "46": (3, 7, "海南", "HI"),
}
TILE, GAP = 56, 4
# Viridis, light to dark: sequential, ordered in lightness, readable with every common colour
# vision deficiency; the dark classes take white text.
PALETTE = ["#fde725", "#5ec962", "#21918c", "#3b528b", "#440154"]
DARK_FROM = 2
NO_DATA = "#e9ecef"


def quantile_breaks(values: list[Decimal], classes: int = len(PALETTE)) -> list[Decimal]:
    """The lower bounds of classes 2..k: the value at each k-th of the sorted values. Equal
    values always share a class, so fewer distinct values give fewer classes."""
    ordered = sorted(values)
    if not ordered:
        return []
    breaks = []
    for i in range(1, classes):
        bound = ordered[(i * len(ordered)) // classes]
        if bound > ordered[0] and bound not in breaks:
            breaks.append(bound)
    return breaks


def _range_text(low: str, high: str) -> str:
    return low if low == high else f"{low} – {high}"


def value_class(value: Decimal, breaks: list[Decimal]) -> int:
    """0 for the lowest class; a value equal to a bound starts that bound's class."""
    return sum(1 for bound in breaks if value >= bound)


@dataclass
class Tile:
    code: str
    name: str  # full name, in the table and the tooltip
    label: str  # on the tile
    value: Decimal | None
    text: str
    klass: int | None
    x: int
    y: int
    fill: str
    ink: str


@dataclass
class TileMap:
    key: str
    title: str
    description: str
    tiles: list[Tile] = field(default_factory=list)
    legend: list[dict] = field(default_factory=list)  # fill, text
    width: int = 8 * (TILE + GAP)
    height: int = 8 * (TILE + GAP) + 4


def tile_map_build(*, key: str, title: str, values: dict[str, Decimal | None], names: dict[str, str],
                   zh: bool, text_of, describe) -> TileMap:
    """The map of `values` (province code → value). `text_of(value)` prints a value;
    `describe(classes, missing)` writes the SVG's description."""
    present = [v for v in values.values() if v is not None]
    breaks = quantile_breaks(present)
    result = TileMap(key=key, title=title, description="")
    for code, (column, row, short_zh, letters) in TILES.items():
        value = values.get(code)
        klass = None if value is None else value_class(value, breaks)
        result.tiles.append(Tile(
            code=code, name=names.get(code, code), label=short_zh if zh else letters, value=value,
            text=text_of(value), klass=klass, x=column * (TILE + GAP), y=row * (TILE + GAP),
            fill=NO_DATA if klass is None else PALETTE[klass],
            ink="#fff" if klass is not None and klass >= DARK_FROM else "#212529",
        ))
    bounds = [min(present, default=None), *breaks]
    for klass, low in enumerate(bounds):
        if low is None:
            break
        members = [v for v in present if value_class(v, breaks) == klass]
        result.legend.append({"fill": PALETTE[klass], "ink": "#fff" if klass >= DARK_FROM else "#212529",
                              "text": _range_text(text_of(min(members)), text_of(max(members)))})
    result.description = describe(len(result.legend), sum(1 for v in values.values() if v is None)
                                  + len(set(TILES) - set(values)))
    return result
