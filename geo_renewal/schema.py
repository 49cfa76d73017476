"""
Canonical columns, layer kinds, renewal categories and their zh/en labels.

This module is data: the one place that says what a column is called, which Chinese and
English headers mean it, what values a coded column takes, and how every code is labelled
in meeting outputs. Readers (`read_layer(kind=...)`) rename headers with `column_aliases`;
maps and tables label codes with `label`. Users extend the mappings by adding entries to
`COLUMN_ALIASES` / `VALUE_ALIASES` or by passing ``columns={...}`` to the readers.

The details are in the user guide, docs/guide/reading.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from geo_renewal._value_codes import (
    BOOL_COLUMNS,
    FALSE_VALUES,
    LAND_USES,
    PLOT_STATUSES,
    STRUCTURES,
    TRUE_VALUES,
    VALUE_ALIASES,
)

__all__ = [
    "BOOL_COLUMNS",
    "CATEGORIES",
    "CLASSES_ATTR",
    "COLUMN_ALIASES",
    "COLUMN_LABELS",
    "FALSE_VALUES",
    "KINDS",
    "LAND_USES",
    "MISSING_ROW",
    "MISSING_TEXT",
    "NUMERIC_COLUMNS",
    "OUTSIDE_LABELS",
    "OUTSIDE_ROW",
    "PIPELINES",
    "PLOT_STATUSES",
    "RESERVED_ROWS",
    "ROLES",
    "STAGES",
    "STAGE_ORDER",
    "STRUCTURES",
    "TOTAL_ROW",
    "TRUE_VALUES",
    "UNCLASSIFIED",
    "VALUE_ALIASES",
    "VALUE_LABELS",
    "Category",
    "category_codes",
    "column_aliases",
    "label",
    "value_label",
]


@dataclass(frozen=True)
class Category:
    """
    A renewal category: a code with Chinese and English labels and a map colour.

    Parameters
    ----------
    code
        Machine code used in data and rule files, e.g. ``"demolish"``.
    zh, en
        Labels shown in meeting outputs.
    color
        Fill colour on maps (hex).
    role
        What the class means for the figures, one of `ROLES` (a built-in code is its own
        role); None for a rule set's class that declares none: its parcels are counted
        under the class only (not as demolished, protected or resettlement land).

    Examples
    --------
    >>> CATEGORIES["demolish"].zh, CATEGORIES["demolish"].role
    ('征收拆迁', 'demolish')
    """

    code: str
    zh: str
    en: str
    color: str
    role: str | None = None

    def label(self, lang: str = "zh") -> str:
        """Return the label in `lang` (``"zh"`` or ``"en"``)."""
        return self.zh if lang == "zh" else self.en


#: Index label of a statistics table's total row (合计).
TOTAL_ROW = "total"
#: Index label of the row of parcels (or parts of parcels) outside every zone (区外).
OUTSIDE_ROW = "outside"
#: Index label of the row of parcels whose `by` value is missing (未填写).
MISSING_ROW = "missing"
#: Category key of parcels with a missing category in the cross table (未分类).
UNCLASSIFIED = "unclassified"
#: The reserved row labels of statistics tables.
RESERVED_ROWS = (TOTAL_ROW, OUTSIDE_ROW, MISSING_ROW)


#: The five renewal classes of DOMAIN.md §1, in display order; each is its own role.
CATEGORIES: dict[str, Category] = {
    c.code: c
    for c in (
        Category("demolish", "征收拆迁", "Expropriate & demolish", "#d7301f", "demolish"),
        Category("retain_upgrade", "保留提升", "Retain & upgrade", "#fdae61", "retain_upgrade"),
        Category("retain_protect", "保护保留", "Retain & protect", "#7b3294", "retain_protect"),
        Category(
            "resettlement_site", "安置用地", "Resettlement site", "#1a9641", "resettlement_site"
        ),
        Category("unchanged", "不涉及", "Unchanged", "#bdbdbd", "unchanged"),
    )
}

#: Key of ``attrs`` under which a classified frame (and a table of it) carries its rule set's
#: classes: code -> {zh, en, color, role} (`geo_renewal.rules.class_table`); GeoPackage and
#: GeoParquet files written by `write_layer` keep it.
CLASSES_ATTR = "renewal_classes"

#: What a class can mean for the figures (a rule set's ``role = …``): the built-in codes.
#: ``demolish`` counts households, floor area and resettlement demand; ``retain_protect``
#: and ``resettlement_site`` count land (protected, sites); the others count under the class.
ROLES: tuple[str, ...] = tuple(CATEGORIES)


def category_codes() -> list[str]:
    """
    Return the built-in category codes in display order.

    Returns
    -------
    codes
        ``["demolish", "retain_upgrade", "retain_protect", "resettlement_site", "unchanged"]``.

    Examples
    --------
    >>> category_codes()[0]
    'demolish'
    """
    return list(CATEGORIES)


#: Project stages (DOMAIN.md §4): code -> (zh, en, map colour). Ledgers may define more.
STAGES: dict[str, tuple[str, str, str]] = {
    "not_started": ("未启动", "Not started", "#f0f0f0"),
    "signing": ("签约", "Signing", "#fee08b"),
    "demolition": ("拆除", "Demolition", "#fdae61"),
    "approval": ("组卷报批", "Land approval", "#f46d43"),
    "land_supply": ("供地", "Land supply", "#d53e4f"),
    "construction": ("开工", "Construction", "#3288bd"),
    "design": ("方案", "Design", "#e6f598"),
    "works": ("施工", "Works", "#abdda4"),
    "acceptance": ("竣工验收", "Completion acceptance", "#66c2a5"),
    "done": ("已完成", "Done", "#1a9850"),
}

#: Default stage pipeline per project type (a category code), in order.
PIPELINES: dict[str, tuple[str, ...]] = {
    "demolish": ("signing", "demolition", "approval", "land_supply", "construction"),
    "retain_upgrade": ("design", "works", "acceptance"),
}

#: The order of the work where the pipelines meet (DOMAIN.md §4): 签约 → 拆除 → 组卷报批 →
#: 供地 → 开工 of a 征收拆迁 project; an upgrade's 方案 starts with 签约 (not after 开工),
#: its 施工 and 竣工验收 come after 供地 and 开工 (never 施工 before 供地).
_WORK_ORDER = (
    "signing",
    "design",
    "demolition",
    "approval",
    "land_supply",
    "construction",
    "works",
    "acceptance",
)

#: Every stage of `STAGES` in one reading order, the one order of every legend, chart and
#: table by street: 未启动, the stages of the pipelines in the order of the work (each
#: pipeline's own order kept), then other stages, 已完成 last.
STAGE_ORDER: tuple[str, ...] = tuple(
    dict.fromkeys(
        [
            "not_started",
            *_WORK_ORDER,
            *(s for p in PIPELINES.values() for s in p),
            *(s for s in STAGES if s != "done"),
            "done",
        ]
    )
)

#: Layer kinds understood by `read_layer(kind=...)` and `validate_layer(kind=...)`:
#: required columns, optional columns, and the allowed geometry families.
KINDS: dict[str, dict[str, tuple[str, ...]]] = {
    "parcels": {
        "required": ("parcel_id",),
        "optional": (
            "land_use",
            "planned_use",
            "build_year",
            "floors",
            "structure",
            "danger_grade",
            "households",
            "population",
            "floor_area",
            "footprint_area",
            "street",
            "community",
            "listed",
            "illegal",
            "project_id",
            "name",
        ),
        "geometry": ("Polygon", "MultiPolygon"),
    },
    "buildings": {
        "required": ("building_id",),
        "optional": (
            "parcel_id",
            "build_year",
            "floors",
            "structure",
            "danger_grade",
            "households",
            "population",
            "floor_area",
            "footprint_area",
            "listed",
            "illegal",
            "name",
        ),
        "geometry": ("Polygon", "MultiPolygon"),
    },
    "districts": {
        "required": ("district_id", "name"),
        "optional": ("street",),
        "geometry": ("Polygon", "MultiPolygon"),
    },
    "projects": {
        "required": ("project_id",),
        "optional": ("name", "project_type", "street", "households"),
        "geometry": ("Polygon", "MultiPolygon"),
    },
    "sites": {
        "required": ("site_id",),
        "optional": ("name", "far", "street"),
        "geometry": ("Polygon", "MultiPolygon"),
    },
    "units": {
        "required": (),
        "optional": ("unit_id", "zone_id", "name", "planned_floor_area", "far", "street"),
        "geometry": ("Polygon", "MultiPolygon"),
    },
    "constraints": {
        "required": (),
        "optional": ("name", "constraint_type"),
        "geometry": (
            "Polygon",
            "MultiPolygon",
            "LineString",
            "MultiLineString",
            "Point",
            "MultiPoint",
        ),
    },
    # supply.py: sale plots (出让地块) with their 控规 indicators and supply status; the
    # status dates <status>_planned / <status>_actual of PLOT_STATUSES are optional too.
    "plots": {
        "required": ("plot_id",),
        "optional": (
            "project_id",
            "bundle",
            "name",
            "land_use",
            "plot_area",
            "far",
            "height_limit",
            "density",
            "green_ratio",
            "status",
            "start_price",
            "deal_price",
        ),
        "geometry": ("Polygon", "MultiPolygon"),
    },
    # compensation.py: location-price bands (区位价分区) of a compensation scheme.
    "price_bands": {
        "required": ("band_id", "location_price"),
        "optional": ("name",),
        "geometry": ("Polygon", "MultiPolygon"),
    },
}


# landuse_codes.py / _survey_fields.py: the office's own fields, optional in every polygon kind
for _kind in ("parcels", "buildings", "projects", "sites", "units"):
    KINDS[_kind]["optional"] += (
        "land_use_code",
        "land_use_scheme",
        "land_use_name",
        "dlbm",
        "dlmc",
        "ydyhfldm",
        "ydyhflmc",
        "survey_id",
        "patch_no",
        "owner_name",
        "located_in",
        "stated_area",
    )

#: Numeric canonical columns and their plausible range: (min, max, what is expected);
#: None is unbounded. Readers coerce them to numbers, `validate_layer` checks the range.
NUMERIC_COLUMNS: dict[str, tuple[float | None, float | None, str]] = {
    "build_year": (1800, None, "a year between 1800 and this year"),
    "floors": (1, 200, "1 to 200 storeys"),
    "households": (0, None, "a count ≥ 0"),
    "population": (0, None, "a count ≥ 0"),
    "floor_area": (0, None, "an area ≥ 0 m²"),
    "footprint_area": (0, None, "an area ≥ 0 m²"),
    "far": (0, None, "a floor-area ratio ≥ 0"),
    "planned_floor_area": (0, None, "an area ≥ 0 m²"),
    "plot_area": (0, None, "an area ≥ 0 m²"),
    "height_limit": (0, 1000, "a height limit of 0 to 1,000 m"),
    "density": (0, 1, "a building density between 0 and 1"),
    "green_ratio": (0, 1, "a green ratio between 0 and 1"),
    "start_price": (0, None, "a price ≥ 0 (万元)"),
    "deal_price": (0, None, "a price ≥ 0 (万元)"),
    "location_price": (0, None, "a price ≥ 0 (元/㎡)"),
}

# _survey_fields.py: official areas of 三调 / 不动产 exports (TBMJ, ZDMJ, KCMJ, TBDLMJ)
NUMERIC_COLUMNS.update(
    {
        "stated_area": (0, None, "an area ≥ 0 m²"),
        "deducted_area": (0, None, "an area ≥ 0 m²"),
        "stated_land_area": (0, None, "an area ≥ 0 m²"),
    }
)

#: Header spellings (lower-cased, stripped) that mean a canonical column.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "parcel_id": (
        "地块编号",
        "地块代码",
        "宗地编号",
        "宗地代码",
        "parcel",
        "parcelid",
        "parcel_no",
    ),
    "building_id": ("建筑编号", "楼栋编号", "幢号", "bldg_id", "building", "buildingid"),
    "land_use": ("用地性质", "现状用地性质", "用地类型", "现状用途", "landuse", "use"),
    "planned_use": ("规划用地性质", "规划用途", "planned_landuse", "plan_use"),
    "build_year": (
        "建成年代",
        "建成年份",
        "建造年代",
        "竣工年份",
        "year_built",
        "built_year",
        "year",
    ),
    "floors": ("层数", "建筑层数", "地上层数", "storeys", "stories", "n_floors"),
    "structure": ("结构", "建筑结构", "结构类型", "structure_type"),
    "danger_grade": ("危房等级", "危险等级", "安全等级", "鉴定等级", "danger", "safety_grade"),
    "households": ("户数", "居民户数", "总户数", "hh", "n_households"),
    "population": ("人口", "人数", "常住人口", "persons", "pop"),
    "floor_area": ("建筑面积", "总建筑面积", "gfa", "floorarea", "building_area"),
    "footprint_area": ("基底面积", "占地面积", "footprint"),
    "street": ("街道", "所属街道", "街道办事处", "subdistrict"),
    "community": ("社区", "小区", "小区名称", "所属社区"),
    "listed": ("文保单位", "是否文保", "文物保护", "heritage", "is_listed"),
    "illegal": ("违建", "违法建筑", "是否违建", "is_illegal"),
    "project_id": ("项目编号", "项目代码", "project", "projectid"),
    "project_type": ("项目类型", "类型", "type"),
    "zone_id": ("片区编号", "更新单元编号", "zone"),
    "site_id": ("安置地块编号", "安置区编号", "site"),
    "district_id": ("街道编号", "行政区编号", "district", "districtid"),
    "name": ("名称", "项目名称", "地块名称", "街道名称", "小区名称_", "title"),
    "far": ("容积率", "plot_ratio"),
    "planned_floor_area": ("规划建筑面积", "规划总建筑面积", "规划新建建筑面积", "planned_gfa"),
    "constraint_type": ("约束类型", "管控类型", "kind"),
    # ledger.py: project ledger (台账) columns
    "responsible_unit": ("责任单位", "牵头单位", "责任部门", "主责单位"),
    "responsible_person": ("责任人", "负责人", "项目负责人"),
    "signed_households": ("已签约户数", "签约户数", "已签户数"),
    "demolished_floor_area": ("拆除建筑面积", "拆除面积", "征收建筑面积", "demolished_area"),
    "target_date": ("目标日期", "目标完成日期", "完成时限"),
    "start_date": ("启动日期", "开始日期"),
    "reported_stage": ("当前阶段", "所处阶段", "进度阶段", "current_stage"),
    # supply.py: sale plots (出让地块) and compensation.py: price bands
    "plot_id": ("出让地块编号", "宗地编号", "供地地块编号", "plot"),
    "bundle": ("平衡单元", "平衡片区", "资金平衡单元"),
    "plot_area": ("出让面积", "出让用地面积", "地块面积"),
    "height_limit": ("建筑限高", "限高", "建筑高度控制"),
    "density": ("建筑密度",),
    "green_ratio": ("绿地率",),
    "status": ("供地状态", "出让状态", "地块状态"),
    "start_price": ("起始价", "挂牌起始价", "起拍价"),
    "deal_price": ("成交价", "成交价格", "成交价款"),
    "band_id": ("区位编号", "区位价分区编号", "价格分区编号"),
    "location_price": ("区位价", "区位补偿价", "区位单价"),
    # landuse_codes.py: land-use codes of 三调 (DLBM/DLMC), 用地用海 and 控规 layers
    "dlbm": ("地类编码", "地类代码"),
    "dlmc": ("地类名称",),
    "ydyhfldm": ("用地用海分类代码", "用地用海代码", "ydyhdm"),
    "ydyhflmc": ("用地用海分类名称", "用地用海名称", "ydyhmc"),
    "land_use_code": ("用地代码", "用地分类代码", "用地类别代码", "yddm", "ydlbdm", "ydxzdm"),
    "land_use_name": ("用地名称", "用地分类名称", "用地类别名称", "ydmc", "ydlbmc"),
    # _survey_fields.py: fields of 三调 (DLTB) and 不动产 (ZD, ZRZ) exports
    "survey_id": ("bsm", "标识码"),
    "patch_no": ("tbbh", "图斑编号"),
    "owner_code": ("qsdwdm", "权属单位代码"),
    "owner_name": ("qsdwmc", "权属单位名称"),
    "located_in_code": ("zldwdm", "坐落单位代码"),
    "located_in": ("zldwmc", "坐落单位名称"),
    "ownership": ("qsxz", "权属性质"),
    "stated_area": ("tbmj", "图斑面积", "zdmj", "宗地面积"),
    "deducted_area": ("kcmj", "扣除地类面积"),
    "stated_land_area": ("tbdlmj", "图斑地类面积"),
}
# 不动产 and 三调 spellings of existing columns: 宗地代码 ZDDM, 自然幢号 ZRZH, 建筑面积 JZMJ,
# 总层数 ZCS, 房屋结构 FWJG, 竣工日期 JGRQ, 幢占地面积 ZZDMJ, 图斑地类 in 用地性质 columns.
COLUMN_ALIASES["parcel_id"] += ("zddm",)
COLUMN_ALIASES["building_id"] += ("zrzh", "自然幢号")
COLUMN_ALIASES["floor_area"] += ("jzmj", "scjzmj", "实测建筑面积")
COLUMN_ALIASES["floors"] += ("zcs", "总层数")
COLUMN_ALIASES["structure"] += ("fwjg", "房屋结构")
COLUMN_ALIASES["build_year"] += ("jgrq", "竣工日期", "jcnd")
COLUMN_ALIASES["footprint_area"] += ("zzdmj", "幢占地面积")

for _code, (_zh, _en, _colour) in PLOT_STATUSES.items():  # 收储计划日期 -> reserved_planned
    COLUMN_ALIASES[f"{_code}_planned"] = (f"{_zh}计划日期", f"{_zh}计划时间")
    _more = () if _code in STAGES else (f"{_zh}日期", f"{_zh}时间")  # the ledger's are its own
    COLUMN_ALIASES[f"{_code}_actual"] = (f"{_zh}实际日期", *_more)

#: Labels of output columns in meeting tables, maps and workbooks: code -> (zh, en).
#: Units are part of the label. Statistics, maps and reports add their own entries here.
COLUMN_LABELS: dict[str, tuple[str, str]] = {
    "parcel_id": ("地块编号", "Parcel ID"),
    "building_id": ("建筑编号", "Building ID"),
    "land_use": ("用地性质", "Land use"),
    "planned_use": ("规划用地性质", "Planned use"),
    "build_year": ("建成年代", "Year built"),
    "floors": ("层数", "Floors"),
    "structure": ("结构", "Structure"),
    "danger_grade": ("危房等级", "Danger grade"),
    "households": ("户数（户）", "Households"),
    "population": ("人口（人）", "Persons"),
    "floor_area": ("建筑面积（㎡）", "Floor area (m²)"),
    "footprint_area": ("基底面积（㎡）", "Footprint (m²)"),
    "street": ("街道", "Street"),
    "community": ("社区", "Community"),
    "listed": ("文保单位", "Listed heritage"),
    "illegal": ("违法建筑", "Illegal structure"),
    "project_id": ("项目编号", "Project ID"),
    "project_type": ("项目类型", "Project type"),
    "zone_id": ("片区编号", "Zone ID"),
    "site_id": ("安置地块编号", "Site ID"),
    "district_id": ("街道编号", "District ID"),
    "name": ("名称", "Name"),
    # landuse_codes.py / _survey_fields.py: the office's own codes and survey fields
    "land_use_code": ("用地代码", "Land-use code"),
    "land_use_scheme": ("用地分类标准", "Land-use classification"),
    "land_use_name": ("用地名称", "Land-use name"),
    "planned_use_code": ("规划用地代码", "Planned-use code"),
    "planned_use_scheme": ("规划用地分类标准", "Planned-use classification"),
    "planned_use_name": ("规划用地名称", "Planned-use name"),
    "dlbm": ("地类编码", "Land class code (3rd survey)"),
    "dlmc": ("地类名称", "Land class name (3rd survey)"),
    "ydyhfldm": ("用地用海分类代码", "Land and sea use code"),
    "ydyhflmc": ("用地用海分类名称", "Land and sea use name"),
    "survey_id": ("标识码", "Survey feature ID"),
    "patch_no": ("图斑编号", "Patch number"),
    "owner_code": ("权属单位代码", "Owner code"),
    "owner_name": ("权属单位名称", "Owner"),
    "located_in_code": ("坐落单位代码", "Located-in code"),
    "located_in": ("坐落单位名称", "Located in"),
    "ownership": ("权属性质", "Ownership"),
    "stated_area": ("登记面积（㎡）", "Stated area (m²)"),
    "deducted_area": ("扣除地类面积（㎡）", "Deducted area (m²)"),
    "stated_land_area": ("图斑地类面积（㎡）", "Patch land-class area (m²)"),
    "measured_area": ("计算面积（㎡）", "Measured area (m²)"),
    # ledger.py: ledger and progress columns (stage dates are added below the dict)
    "responsible_unit": ("责任单位", "Responsible unit"),
    "responsible_person": ("责任人", "Responsible person"),
    "signed_households": ("已签约户数（户）", "Signed households"),
    "demolished_floor_area": ("拆除建筑面积（㎡）", "Demolished floor area (m²)"),
    "target_date": ("目标日期", "Target date"),
    "start_date": ("启动日期", "Start date"),
    "reported_stage": ("台账填报阶段", "Stage as reported"),
    "stage": ("当前阶段", "Current stage"),
    "stage_label": ("当前阶段", "Current stage"),
    "stage_index": ("阶段序号", "Stage no."),
    "n_stages": ("阶段总数", "Stages"),
    "stage_planned": ("当前阶段计划日期", "Current stage planned"),
    "days_behind": ("滞后天数（天）", "Days behind plan"),
    "days_ahead": ("提前天数（天）", "Days ahead of plan"),
    "overdue": ("是否逾期", "Overdue"),
    "overdue_stages": ("逾期阶段", "Overdue stages"),
    "n_overdue_stages": ("逾期阶段数", "Overdue stages (count)"),
    "signing_rate": ("签约率", "Signing rate"),
    "days_to_target": ("距目标日期（天）", "Days to target"),
    "as_of": ("统计日期", "As of"),
    "ledger_row": ("台账行号", "Ledger row"),
    "has_polygon": ("有项目范围", "Has polygon"),
    "projects": ("项目数（个）", "Projects"),
    "signing_households": ("应签约户数（户）", "Households to sign"),
    "duration_days": ("工期（天）", "Duration (days)"),
    "latest_start": ("最迟开始日期", "Latest start"),
    "latest_finish": ("最迟完成日期", "Latest finish"),
    "planned": ("计划日期", "Planned"),
    "actual": ("实际日期", "Actual"),
    "slack_days": ("富余天数（天）", "Slack (days)"),
    "plan_too_late": ("计划晚于倒排节点", "Plan later than deadline"),
    "past_latest_finish": ("已过最迟完成日期", "Past latest finish"),
    "old_stage_label": ("上期阶段", "Previous stage"),
    "new_stage_label": ("本期阶段", "Current stage"),
    "stage_steps": ("推进阶段数", "Stages advanced"),
    "old_overdue": ("上期逾期", "Overdue before"),
    "new_overdue": ("本期逾期", "Overdue now"),
    "old_signing_rate": ("上期签约率", "Signing rate before"),
    "new_signing_rate": ("本期签约率", "Signing rate now"),
    "signing_rate_change": ("签约率变化", "Signing rate change"),
    "signed_change": ("新增签约户数（户）", "Newly signed households"),
    "change": ("变化情况", "What changed"),
    "ledger_column": ("台账列", "Ledger column"),
    "finding_row": ("行号", "Row"),
    "finding_id": ("编号", "ID"),
    "finding_column": ("列", "Column"),
    "finding_action": ("处理情况", "Action taken"),
    "finding_value": ("原值", "Value"),
    "finding_layer": ("图层", "Layer"),
    "finding_problem": ("问题类型", "Problem"),
    "finding_severity": ("级别", "Severity"),
    "finding_message": ("问题说明", "Description"),
    # fund.py: fund balance (区域平衡) inputs and rates; money columns are added below
    "bundle": ("平衡单元", "Bundle"),
    "project_ids": ("包含项目", "Projects included"),
    "land_area": ("项目用地面积（㎡）", "Project land area (m²)"),
    "business_floor_area": ("经营性建筑面积（㎡）", "Business floor area (m²)"),
    "resettlement_households": ("实物安置户数（户）", "Households taking a flat"),
    "resettlement_floor_area": ("安置房建筑面积（㎡）", "Resettlement floor area (m²)"),
    "sale_plot_area": ("出让用地面积（㎡）", "Sale plot area (m²)"),
    "sale_floor_area": ("出让计容建筑面积（㎡）", "Sale floor area (m²)"),
    "plot_id": ("出让地块编号", "Sale plot"),
    "plot_source": ("地块来源", "Plot source"),
    "plot_area": ("出让用地面积（㎡）", "Plot area (m²)"),
    "break_even_far": ("盈亏平衡容积率", "Break-even FAR"),
    "project_break_even_far": ("项目盈亏平衡容积率", "Project break-even FAR"),
    "bundle_break_even_far": ("单元盈亏平衡容积率", "Bundle break-even FAR"),
    "land_price_change": ("土地价格变动", "Land price change"),
    "missing_inputs": ("缺少的数据", "Missing inputs"),
    "appraised_value_per_m2": ("评估单价（元/㎡）", "Appraised value (yuan/m²)"),
    "moving_per_household": ("搬迁费（元/户）", "Moving (yuan/household)"),
    "temporary_per_household_month": (
        "临时安置费（元/户·月）",
        "Temporary housing (yuan/household/month)",
    ),
    "temporary_months": ("过渡期（月）", "Temporary months"),
    "business_loss_per_m2": ("停产停业损失（元/㎡）", "Business loss (yuan/m²)"),
    "incentive_per_household": ("签约奖励（元/户）", "Incentive (yuan/household)"),
    "cash_share": ("货币化安置比例", "Cash share"),
    "floor_area_per_household": ("户均安置面积（㎡）", "Flat floor area (m²)"),
    "construction_cost_per_m2": ("安置房建安成本（元/㎡）", "Construction cost (yuan/m²)"),
    "settlement_price_per_m2": ("安置房结算价（元/㎡）", "Settlement price (yuan/m²)"),
    "demolition_per_m2": ("拆除单价（元/㎡）", "Demolition (yuan/m²)"),
    "infrastructure_per_m2": ("基础设施单价（元/㎡用地）", "Infrastructure (yuan/m² land)"),
    "upgrade_per_household": ("改造单价（元/户）", "Upgrade works (yuan/household)"),
    "rate_per_year": ("年融资利率", "Financing rate per year"),
    "years": ("融资年限（年）", "Financing years"),
    "land_price_per_m2": ("楼面地价（元/㎡）", "Land price (yuan/floor m²)"),
    "param_section": ("参数类别", "Section"),
    "param_name": ("参数", "Parameter"),
    "param_value": ("取值", "Value"),
    "category": ("更新类别", "Renewal class"),
    "rule_id": ("规则编号", "Rule"),
    "matched": ("命中规则", "Rules matched"),
    "zone_name": ("片区", "Zone"),
    "unit_name": ("搬迁单元", "Unit"),
    "n_overdue": ("逾期项目数（个）", "Overdue projects"),
    "reason": ("判定理由", "Reason"),
    "class_change": ("类别变化", "Class change"),
    "area": ("用地面积（㎡）", "Land area (m²)"),
    "far": ("容积率", "FAR"),
    # stats.py: zone_stats / policy_checks columns and special rows
    "zone": ("片区", "Zone"),
    "total": ("合计", "Total"),
    "outside": ("范围外", "Outside all zones"),
    "missing": ("未填写", "Not given"),
    "unclassified": ("未分类", "Unclassified"),
    "n_parcels": ("地块数（个）", "Parcels"),
    "n_buildings": ("建筑栋数（栋）", "Buildings"),
    "area_m2": ("用地面积（㎡）", "Land area (m²)"),
    "area_ha": ("用地面积（公顷）", "Land area (ha)"),
    "area_mu": ("用地面积（亩）", "Land area (mu)"),
    "floor_area_m2": ("建筑面积（㎡）", "Floor area (m²)"),
    "floor_area_wan_m2": ("建筑面积（万㎡）", "Floor area (10⁴ m²)"),
    "demolish_floor_area_m2": ("拆除建筑面积（㎡）", "Demolished floor area (m²)"),
    "exempt_floor_area_m2": (
        "豁免拆除建筑面积（㎡）",
        "Exempt demolished floor area (m²)",
    ),
    "demolish_households": ("拆迁户数（户）", "Households to move"),
    "demolish_population": ("拆迁人口（人）", "Persons to move"),
    "protect_area_m2": ("保护保留用地面积（㎡）", "Protected land (m²)"),
    "resettlement_area_m2": ("安置用地面积（㎡）", "Resettlement land (m²)"),
    "planned_floor_area_m2": ("规划新建建筑面积（㎡）", "Planned new floor area (m²)"),
    "demolition_share": ("拆除比例（%）", "Demolition share (%)"),
    "rebuild_ratio": ("拆建比", "Rebuild ratio"),
    "violations": ("超出63号文限值", "Limits broken (MOHURD 2021 No. 63)"),
    # units.py / policy.unit_policy: the 63号文 checks per renewal unit
    "renewal_unit": ("更新单元编号", "Renewal unit"),
    "note": ("说明", "Note"),
    "caveat": ("使用须知", "Caveat"),
    "class_mix": ("用地构成", "Land by class"),
    "verdict": ("核查结论", "Verdict"),
    "meets_demolition_share": ("拆除比例≤20%", "Demolition share ≤ 20 %"),
    # maps.py: resettlement sites and flows in map tooltips
    "capacity_units": ("安置容量（套）", "Capacity (units)"),
    "allocated_households": ("已安置户数（户）", "Allocated households"),
    "utilisation": ("容量利用率", "Utilisation"),
    "unit_id": ("搬迁单元编号", "Unit ID"),
    "dist_m": ("安置距离（米）", "Distance (m)"),
    # resettlement.py: site checks, demand, allocation and 就地就近安置率 per unit
    "capacity_persons": ("安置容量（人）", "Capacity (persons)"),
    "residential_floor_area": ("住宅建筑面积（㎡）", "Residential floor area (m²)"),
    "usable": ("可用", "Usable"),
    "remaining_units": ("剩余容量（套）", "Remaining capacity (units)"),
    "units_served": ("安置单元数（个）", "Units served"),
    "suitable": ("适宜", "Suitable"),
    "checks": ("适宜性判定", "Suitability checks"),
    "ok_size": ("面积达标", "Large enough"),
    "ok_heritage": ("避开文保范围", "Clear of heritage zones"),
    "ok_ecology": ("避开生态带", "Clear of ecological belt"),
    "ok_flood": ("避开易涝区", "Clear of flooding"),
    "ok_distance": ("满足退让距离", "Setbacks kept"),
    "heritage_share": ("文保范围占比", "Share in heritage zones"),
    "ecology_share": ("生态带占比", "Share in ecological belt"),
    "flood_depth_max": ("最大淹没深度（米）", "Max flood depth (m)"),
    "flood_share": ("易涝面积占比", "Flooded share"),
    "estimated_parcels": ("户数估算地块数（个）", "Parcels with estimated households"),
    "cash_households": ("货币补偿户数（户）", "Households taking cash"),
    "flat_households": ("实物安置需求（户）", "Households needing a flat"),
    "allocated": ("已安置（户）", "Placed (households)"),
    "unmet": ("未落实安置（户）", "Not placed (households)"),
    "n_sites": ("安置地块数（个）", "Sites used"),
    "kept_together": ("整体安置", "Kept together"),
    "nearby_households": ("就地就近安置户数（户）", "Placed on site or nearby"),
    "on_site_households": ("就地安置户数（户）", "Placed on site"),
    "nearby_rate": ("就地就近安置率", "On-site-or-nearby rate"),
    "max_nearby_rate": ("可达最高就近安置率", "Best possible nearby rate"),
    "coverage": ("安置容量覆盖倍数", "Capacity ÷ flat demand"),
    "meets_nearby_rule": ("就地就近安置率≥50%", "Rate ≥ 50 %"),
    "meets_rebuild_ratio": ("拆建比≤2", "Rebuild ratio ≤ 2"),
    "sites": ("安置地块", "Sites"),
    "on_site": ("就地安置", "On site"),
    "nearby": ("就近安置", "Nearby"),
    "reason_text": ("原因", "Reason"),
    # the weekly cycle (issue 17): store, tasks, 督办, 考核, households
    "colour": ("督办等级", "Supervision colour"),
    "colour_label": ("督办等级", "Supervision colour"),
    "task": ("任务名称", "Task"),
    "task_id": ("任务编号", "Task id"),
    "planned_start": ("计划开始日期", "Planned start"),
    "planned_finish": ("计划完成日期", "Planned finish"),
    "actual_start": ("实际开始日期", "Actual start"),
    "actual_finish": ("实际完成日期", "Actual finish"),
    "depends_on": ("前置任务", "Depends on"),
    "progress": ("完成进度", "Progress"),
    "progress_share": ("完成进度", "Progress"),
    "days_overdue": ("逾期天数（天）", "Days overdue"),
    "days_left": ("剩余天数（天）", "Days left"),
    "elapsed_share": ("序时进度", "Time elapsed"),
    "behind_points": ("滞后序时进度（百分点）", "Behind schedule (points)"),
    "early_start": ("最早开始", "Early start"),
    "early_finish": ("最早完成", "Early finish"),
    "late_start": ("最迟开始", "Latest start"),
    "late_finish": ("最迟完成", "Latest finish"),
    "float_days": ("总时差（天）", "Total float (days)"),
    "path_step": ("序号", "Step"),
    "critical_path": ("关键路径", "Critical path"),
    "days_before_target": ("早于目标日期（天）", "Days before target"),
    "critical": ("关键路径", "Critical"),
    "plan_slack_days": ("计划富余（天）", "Plan slack (days)"),
    "decision_id": ("事项编号", "Item id"),
    "meeting_date": ("会议日期", "Meeting date"),
    "item": ("商定事项", "Decision"),
    "due_date": ("完成时限", "Due"),
    "closed_date": ("完成日期", "Closed on"),
    "closed": ("已办结", "Closed"),
    "n_red": ("红色（项）", "Red"),
    "n_yellow": ("黄色（项）", "Yellow"),
    "n_blue": ("蓝色（项）", "Blue"),
    "n_supervised": ("督办合计（项）", "Supervised"),
    "max_days_overdue": ("最长逾期（天）", "Longest overdue (days)"),
    "score": ("考核得分", "Score"),
    "rank": ("排名", "Rank"),
    "score_change": ("得分变化", "Score change"),
    "rank_change": ("名次变化（正数为上升）", "Rank change (up > 0)"),
    "on_time_share": ("任务按期完成率", "On-time task share"),
    "signing_share": ("签约完成率（到期项目）", "Signing against plan"),
    "decision_closure_rate": ("例会事项办结率", "Decisions closed"),
    "on_time_share_points": ("按期完成得分", "On-time points"),
    "signing_share_points": ("签约得分", "Signing points"),
    "decision_closure_rate_points": ("办结得分", "Decision points"),
    "days_overdue_points": ("逾期得分", "Overdue points"),
    "household_id": ("户编号", "Household id"),
    "status_date": ("签约日期", "Status date"),
    "compensation": ("补偿方式", "Compensation"),
    "signed": ("已签约（户）", "Signed"),
    "signed_total": ("累计签约（户）", "Signed to date"),
    "signed_share": ("累计签约率", "Signed share"),
    "period_end": ("截至日期", "Week ending"),
    "remaining": ("未签约（户）", "Households left"),
    "pace_per_week": ("近期进度（户/周）", "Recent pace (per week)"),
    "forecast_date": ("预计完成签约", "Forecast completion"),
    "forecast_earliest": ("最早", "Earliest"),
    "forecast_latest": ("最晚", "Latest"),
    "ledger_households": ("台账户数", "Ledger households"),
    "table_households": ("户档户数", "Household table"),
    "ledger_signed": ("台账已签约", "Ledger signed"),
    "table_signed": ("户档已签约", "Table signed"),
    "signed_difference": ("差额（台账−户档）", "Difference (ledger − table)"),
    "n_projects": ("项目数", "Projects"),
    "imported_at": ("导入时间", "Imported at"),
    "files": ("导入文件", "Files"),
    "stage_changed": ("阶段变化", "Stage changed"),
    "valid_from": ("起始快照", "Valid from"),
    "source_row": ("原表行号", "Source row"),
    "source_file": ("来源文件", "Source file"),
}

#: Label of the outside row (`OUTSIDE_ROW`) by what the rows are: outside every project is
#: 项目范围外, not 区外 (outside the district). Other tables use the label of ``outside``.
OUTSIDE_LABELS: dict[str, tuple[str, str]] = {
    "project_id": ("项目范围外", "Outside every project"),
    "renewal_unit": ("更新单元范围外", "Outside every unit"),
    "zone_id": ("片区范围外", "Outside every zone"),
    "zone_name": ("片区范围外", "Outside every zone"),
    "street": ("街道范围外", "Outside every street"),
    "district_id": ("街道范围外", "Outside every street"),
}

#: Text of a missing value where missing means something other than blank: a street whose
#: buildings were not surveyed has no building count (未调查), which is not 0 buildings.
MISSING_TEXT: dict[str, tuple[str, str]] = {
    "n_buildings": ("未调查", "not surveyed"),
}

#: Labels of the codes a column holds, per column: code -> (zh, en). Codes not listed fall
#: back to `label` (so a parameter name is labelled like the column of the same name).
VALUE_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "plot_source": {
        "derived": ("按净出让比例推算", "Derived (net sale share)"),
        "declared": ("已给出（出让地块图层或参数文件）", "Given (plots layer or parameter file)"),
        "given": ("出让地块图层", "Sale-plot layer"),
    },
    "param_section": {
        "compensation": ("征收补偿", "Compensation"),
        "resettlement": ("安置", "Resettlement"),
        "costs": ("建设费用", "Costs"),
        "financing": ("融资", "Financing"),
        "sale_plots": ("出让地块", "Sale plots"),
        "sensitivity": ("敏感性分析", "Sensitivity"),
        "plots": ("声明的出让地块", "Declared sale plots"),
    },
    "param_name": {
        "derive": ("无出让地块时按比例推算", "Derive plots where none are given"),
        "net_share": ("净出让用地比例", "Net sale share of the land"),
        "land_price_changes": ("土地价格变动幅度", "Land price changes"),
        "source": ("参数来源", "Parameter source"),
    },
    "param_value": {
        "(defaults)": ("内置默认参数", "Bundled defaults"),
    },
    "finding_layer": {  # the input layers of a project file, by role
        "parcels": ("地块", "Parcels"),
        "buildings": ("建筑", "Buildings"),
        "districts": ("街道", "Streets"),
        "projects": ("项目范围", "Projects"),
        "sites": ("安置地块", "Sites"),
        "units": ("更新单元", "Renewal units"),
    },
}

# ledger.py: planned / actual date columns of every stage, e.g. "signing_planned" 签约计划日期.
for _code, (_zh, _en, _colour) in STAGES.items():
    COLUMN_LABELS.setdefault(f"{_code}_planned", (f"{_zh}计划日期", f"{_en} planned"))
    COLUMN_LABELS.setdefault(f"{_code}_actual", (f"{_zh}实际日期", f"{_en} actual"))

# supply.py: sale plots (出让地块), their 控规 indicators and supply status dates.
for _code, (_zh, _en, _colour) in PLOT_STATUSES.items():
    COLUMN_LABELS.setdefault(f"{_code}_planned", (f"{_zh}计划日期", f"{_en} planned"))
    COLUMN_LABELS.setdefault(f"{_code}_actual", (f"{_zh}实际日期", f"{_en} actual"))
COLUMN_LABELS.update(
    {
        "height_limit": ("建筑限高（米）", "Height limit (m)"),
        "density": ("建筑密度", "Building density"),
        "green_ratio": ("绿地率", "Green ratio"),
        "status": ("供地状态", "Supply status"),
        "start_price": ("起始价（万元）", "Starting price (10⁴ yuan)"),
        "deal_price": ("成交价（万元）", "Deal price (10⁴ yuan)"),
        "band_id": ("区位编号", "Price band"),
        "location_price": ("区位价（元/㎡）", "Location price (yuan/m²)"),
    }
)
VALUE_LABELS["status"] = {k: (v[0], v[1]) for k, v in PLOT_STATUSES.items()}

# corridors.py / views.py: the height checks of view corridors and river height zones.
COLUMN_LABELS.update(
    {
        "feature": ("对象", "Feature"),
        "surface": ("视廊/限高分区", "Corridor / zone"),
        "surface_kind": ("管控类型", "Control"),
        "height_m": ("高度（米）", "Height (m)"),
        "permitted_m": ("允许高度（米）", "Permitted height (m)"),
        "excess_m": ("超高（米）", "Excess (m)"),
    }
)
VALUE_LABELS["feature"] = {
    "buildings": ("现状建筑", "Building"),
    "plots": ("规划地块", "Planned plot"),
}
VALUE_LABELS["surface_kind"] = {
    "corridor": ("视廊", "View corridor"),
    "zone": ("滨河限高分区", "River height zone"),
}

#: fund.py: money columns of the fund balance, labelled in 元 and, with suffix _wan, in 万元.
FUND_MONEY_LABELS: dict[str, tuple[str, str]] = {
    "comp_appraised": ("房屋价值补偿", "Appraised value compensation"),
    "comp_moving": ("搬迁费", "Moving allowance"),
    "comp_temporary": ("临时安置费", "Temporary housing"),
    "comp_business": ("停产停业损失", "Business loss"),
    "comp_incentive": ("签约奖励", "Incentives"),
    "compensation": ("征收补偿合计", "Compensation"),
    "resettlement_construction": ("安置房建设成本", "Resettlement construction"),
    "demolition_cost": ("拆除费用", "Demolition"),
    "infrastructure_cost": ("基础设施配套费用", "Infrastructure"),
    "upgrade_cost": ("改造提升费用", "Upgrade works"),
    "cost_base": ("融资前成本", "Cost before financing"),
    "financing_cost": ("融资成本", "Financing"),
    "total_cost": ("总成本", "Total cost"),
    "land_revenue": ("土地出让收入", "Land revenue"),
    "resettlement_settlement": ("安置房结算收入", "Resettlement settlement"),
    "other_revenue": ("其他收入", "Other revenue"),
    "subsidy_revenue": ("奖补资金收入", "Subsidies"),
    "total_revenue": ("总收入", "Total revenue"),
    "balance": ("资金平衡（收入−成本）", "Balance (revenue − cost)"),
}
#: cashflow.py / compensation.py: money columns of the cash flow, financing and compensation
#: (元, and with suffix _wan 万元), beside the fund balance's own lines.
CASHFLOW_MONEY_LABELS: dict[str, tuple[str, str]] = {
    "comp_location": ("区位补偿", "Location value"),
    "comp_replacement": ("重置成新补偿", "Replacement value"),
    "comp_decoration": ("装修补偿", "Decoration"),
    "comp_illegal": ("违法建筑补偿", "Illegal floor area"),
    "per_household": ("户均补偿", "Compensation per household"),
    "special_bonds": ("专项债资金", "Special bonds"),
    "bond_repayment": ("专项债偿还", "Bond repayment"),
    "net_flow": ("净现金流", "Net cash flow"),
    "cumulative_net": ("累计净现金流", "Cumulative net cash flow"),
    "equity": ("资本金投入", "Capital paid in"),
    "interest": ("融资利息", "Interest"),
    "loan_balance": ("贷款余额", "Loan balance"),
    "cumulative_balance": ("累计资金余额", "Cumulative balance"),
    "peak_need": ("融资需求峰值", "Peak financing need"),
    "capital_required": ("项目资本金", "Capital required"),
    "total_interest": ("利息合计", "Total interest"),
    "npv": ("净现值", "NPV"),
    "credit_line": ("授信额度", "Credit line"),
    "balance_change": ("资金平衡变化", "Balance change"),
    "peak_need_change": ("融资需求变化", "Peak need change"),
    "interest_change": ("利息变化", "Interest change"),
    "static": ("静态测算", "Static roll-up"),
    "cashflow": ("现金流合计", "Cash flow total"),
    "difference": ("差额", "Difference"),
}
COLUMN_LABELS.update(
    {
        "period": ("期间", "Period"),
        "peak_period": ("融资需求峰值期间", "Peak need in"),
        "irr_rate": ("内部收益率", "IRR"),
        "payback_period": ("回收期（资金回正期间）", "Payback period"),
        "closed": ("封闭运行", "Closed loop"),
        "breaks_in": ("失衡期间", "Breaks in"),
        "break_reason": ("失衡原因", "Why it breaks"),
        "negative_after_months": (
            "供地延迟多少个月转负",
            "Land supply delay turning it negative (months)",
        ),
        "schedule_assumed": ("日期为假定的项目数", "Projects with assumed dates"),
        "factor": ("敏感性因素", "Factor"),
        "change_text": ("变动", "Change"),
        "moved_text": ("推迟了什么", "What it moves"),
        "projects_moved": ("日期推迟的项目数", "Projects whose dates move"),
        "moved_ids": ("日期推迟的项目", "Projects that move"),
        "signing_moved": ("签约推迟（月）", "Signing moved (months)"),
        "supply_moved_min": ("供地推迟最少（月）", "Land supply moved, least (months)"),
        "supply_moved_max": ("供地推迟最多（月）", "Land supply moved, most (months)"),
        "revenue_moved": ("土地收入推迟最多（月）", "Land revenue moved, most (months)"),
        "compensation_basis": ("补偿测算依据", "Compensation basis"),
        "price_basis": ("地价依据", "Price basis"),
        "legal_floor_area": ("合法建筑面积（㎡）", "Legal floor area (m²)"),
        "illegal_floor_area": ("违法建筑面积（㎡）", "Illegal floor area (m²)"),
        "newness": ("成新率", "Newness"),
        "replacement_price": ("重置成新价（元/㎡）", "Replacement price (yuan/m²)"),
        "decoration_grade": ("装修等级", "Decoration grade"),
        "status_index": ("供地阶段序号", "Supply step no."),
        "next_status": ("下一步", "Next step"),
        "next_planned": ("下一步计划日期", "Next step planned"),
        "overdue_status": ("逾期环节", "Overdue step"),
        "sale_date": ("成交（计划）日期", "Sale date (or planned)"),
        "expected_price": ("预计出让价款（万元）", "Expected price (10⁴ yuan)"),
        "expected_price_wan": ("预计出让价款（万元）", "Expected price (10⁴ yuan)"),
        "n_plots": ("地块数（宗）", "Plots"),
        "n_overdue_plots": ("逾期地块数（宗）", "Overdue plots"),
        "year": ("年度", "Year"),
        "line": ("科目", "Line"),
    }
)
VALUE_LABELS.update(
    {
        "factor": {
            "base": ("基准情景", "Base case"),
            "land_price": ("土地价格", "Land price"),
            "supply_delay": ("供地延迟", "Land supply delay"),
            "signing_delay": ("签约延迟", "Signing delay"),
            "cash_share": ("货币化安置比例", "Cash share"),
            "compensation": ("补偿标准", "Compensation level"),
        },
        "break_reason": {
            "credit_line": ("超出授信额度", "Loan above the credit line"),
            "not_repaid": ("期末贷款未还清", "Loan not repaid by the end"),
            "balance_negative": ("收入不足以覆盖成本和利息", "Revenue short of cost and interest"),
        },
        "compensation_basis": {
            "buildings": ("按建筑逐栋测算", "Per building (scheme)"),
            "appraised": ("按评估单价", "Appraised price per m²"),
        },
        "price_basis": {
            "deal": ("成交价", "Deal price"),
            "start": ("起始价", "Starting price"),
            "land_price": ("楼面地价测算", "Land price × floor area"),
        },
        "next_status": VALUE_LABELS["status"],
        "overdue_status": VALUE_LABELS["status"],
    }
)
for _code, (_zh, _en) in {**FUND_MONEY_LABELS, **CASHFLOW_MONEY_LABELS}.items():
    COLUMN_LABELS.setdefault(_code, (f"{_zh}（元）", f"{_en} (yuan)"))
    COLUMN_LABELS.setdefault(f"{_code}_wan", (f"{_zh}（万元）", f"{_en} (10⁴ yuan)"))


def column_aliases() -> dict[str, str]:
    """
    Return the lookup from a normalised header spelling to its canonical column name.

    Canonical names map onto themselves. Keys are lower-cased and stripped; readers
    normalise a header the same way before looking it up.

    Returns
    -------
    lookup
        ``{"地块编号": "parcel_id", "parcel_id": "parcel_id", ...}``.

    Examples
    --------
    >>> column_aliases()["户数"]
    'households'
    """
    lookup: dict[str, str] = {}
    for canonical, spellings in COLUMN_ALIASES.items():
        lookup[canonical] = canonical
        for s in spellings:
            lookup.setdefault(s.strip().lower(), canonical)
    return lookup


def label(code: str, lang: str = "zh") -> str:
    """
    Return the meeting label of a column or category code in `lang`.

    Unknown codes are returned unchanged, so user-defined columns pass through.

    Parameters
    ----------
    code
        A column name (``"households"``), category code (``"demolish"``), land-use or
        structure code.
    lang
        ``"zh"`` (default) or ``"en"``.

    Returns
    -------
    text
        The label, e.g. ``"户数（户）"``.

    Examples
    --------
    >>> label("demolish"), label("demolish", "en")
    ('征收拆迁', 'Expropriate & demolish')
    """
    i = 0 if lang == "zh" else 1
    if code in CATEGORIES:
        return CATEGORIES[code].label(lang)
    for table in (COLUMN_LABELS, LAND_USES, STRUCTURES, STAGES):
        if code in table:
            return table[code][i]
    return code


def value_label(col: str, value: object, lang: str = "zh") -> object:
    """
    Return the meeting label of a code held in column `col` (see `VALUE_LABELS`).

    Values that are not text are returned unchanged; text not listed for `col` is labelled
    with `label` (unknown text passes through).

    Parameters
    ----------
    col
        The column, e.g. ``"plot_source"``.
    value
        A cell of that column.
    lang
        ``"zh"`` (default) or ``"en"``.

    Returns
    -------
    text
        The label, or `value` itself.

    Examples
    --------
    >>> value_label("plot_source", "derived"), value_label("param_name", "far", "en")
    ('按净出让比例推算', 'FAR')
    >>> value_label("param_value", "residential, rural_homestead")  # a list of codes
    '居住用地、农村宅基地'
    """
    if not isinstance(value, str):
        return value
    if ", " in value:  # a parameter listing codes (居住用途: residential, rural_homestead)
        parts = value.split(", ")
        names = [value_label(col, p, lang) for p in parts]
        if all(n != p for n, p in zip(names, parts, strict=True)):
            return ("、" if lang == "zh" else ", ").join(map(str, names))
    pair = VALUE_LABELS.get(col, {}).get(value)
    if pair is not None:
        return pair[0 if lang == "zh" else 1]
    return label(value, lang)
