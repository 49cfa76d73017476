"""
The value codes of coded columns and the cell values that mean them (re-exported by `schema`).

Land uses, building structures and the sale-plot statuses with their zh/en labels; the
survey spellings of a code per column (`VALUE_ALIASES`: 砖混 → ``brick_concrete``); the cell
values read as yes or no. Users extend the mappings in place (`geo_renewal.schema` holds the
same objects). The details are in the user guide, docs/guide/reading.md.
"""

from __future__ import annotations

#: Current / planned land-use codes and their labels.
LAND_USES: dict[str, tuple[str, str]] = {
    "residential": ("居住用地", "Residential"),
    "commercial": ("商业服务业用地", "Commercial"),
    "industrial": ("工业用地", "Industrial"),
    "public": ("公共管理与公共服务用地", "Public services"),
    "green": ("绿地与广场用地", "Green space"),
    "vacant": ("空闲地", "Vacant"),
    "road": ("道路用地", "Road"),
    "water": ("水域", "Water"),
    "other": ("其他用地", "Other"),
    # 农村宅基地 (三调 0702, 用地用海 0703): the homesteads 村集体宅基地收回 is about
    "rural_homestead": ("农村宅基地", "Rural homestead"),
}

#: Building structure codes and their labels.
STRUCTURES: dict[str, tuple[str, str]] = {
    "simple": ("简易结构", "Simple / temporary"),
    "brick_wood": ("砖木结构", "Brick-wood"),
    "brick_concrete": ("砖混结构", "Brick-concrete"),
    "frame": ("框架结构", "Reinforced-concrete frame"),
    "shear_wall": ("剪力墙结构", "Shear wall"),
    "steel": ("钢结构", "Steel"),
    "other": ("其他结构", "Other"),
}

#: supply.py: the supply pipeline of a sale plot (出让地块), in order: code -> (zh, en,
#: map colour). A plot's dates are the columns ``<code>_planned`` and ``<code>_actual``.
PLOT_STATUSES: dict[str, tuple[str, str, str]] = {
    "reserved": ("收储", "Land reserved", "#fee08b"),
    "approval": ("组卷报批", "Land approval", "#fdae61"),
    "cleared": ("净地", "Cleared land", "#f46d43"),
    "announced": ("挂牌公告", "Listed for sale", "#3288bd"),
    "sold": ("成交", "Sold", "#1a9850"),
}


#: Yes/no columns, and the cell values (lower-cased, stripped) read as yes or as no.
BOOL_COLUMNS: tuple[str, ...] = ("listed", "illegal")
TRUE_VALUES: frozenset[str] = frozenset(
    {"true", "t", "yes", "y", "1", "1.0", "是", "有", "√", "违建", "违法", "违法建筑"}
)
FALSE_VALUES: frozenset[str] = frozenset({"false", "f", "no", "n", "0", "0.0", "否", "无", "×"})

#: Cell values (as written in surveys) that mean a canonical code, per column.
VALUE_ALIASES: dict[str, dict[str, str]] = {
    "project_type": {
        "征收": "demolish",
        "拆迁": "demolish",
        "征收拆迁类": "demolish",
        "拆除重建": "demolish",
        "提升": "retain_upgrade",
        "改造提升": "retain_upgrade",
        "保留提升类": "retain_upgrade",
        "老旧小区改造": "retain_upgrade",
        "综合整治": "retain_upgrade",
        # the 深圳 classes (rules/shenzhen.toml) as a ledger writes them
        "拆除重建类": "demolish",
        "综合整治类": "retain_upgrade",
    },
    "land_use": {
        **{v[0]: k for k, v in LAND_USES.items()},
        "居住": "residential",
        "住宅": "residential",
        "住宅用地": "residential",
        "二类居住用地": "residential",
        "一类居住用地": "residential",
        "城镇住宅用地": "residential",
        "商业": "commercial",
        "商业用地": "commercial",
        "商服用地": "commercial",
        "工业": "industrial",
        "工矿用地": "industrial",
        "公共服务": "public",
        "公共管理与公共服务": "public",
        "公园绿地": "green",
        "绿地": "green",
        "空地": "vacant",
        "空闲地": "vacant",
        "闲置地": "vacant",
        "道路": "road",
        "水域": "water",
        "宅基地": "rural_homestead",
    },
    "structure": {
        **{v[0]: k for k, v in STRUCTURES.items()},
        # 不动产 房屋结构 (FWJG) names
        "钢和钢筋混凝土结构": "frame",
        "钢筋混凝土结构": "frame",
        "混合结构": "brick_concrete",
        "其它结构": "other",
        "简易": "simple",
        "砖木": "brick_wood",
        "砖混": "brick_concrete",
        "框架": "frame",
        "钢混": "frame",
        "钢筋混凝土": "frame",
        "剪力墙": "shear_wall",
        "框剪": "shear_wall",
        "钢": "steel",
    },
    "danger_grade": {
        "a": "A",
        "b": "B",
        "c": "C",
        "d": "D",
        "A级": "A",
        "B级": "B",
        "C级": "C",
        "D级": "D",
    },
}

VALUE_ALIASES["status"] = {
    **{v[0]: k for k, v in PLOT_STATUSES.items()},
    "储备": "reserved",
    "已收储": "reserved",
    "报批": "approval",
    "已净地": "cleared",
    "挂牌": "announced",
    "公告": "announced",
    "已挂牌": "announced",
    "已成交": "sold",
    "已出让": "sold",
    "出让": "sold",
}
