"""
Meeting strings (zh/en): the one table of sentences and captions every meeting output reads.

Column, category and code labels are data of `geo_renewal.schema`; this module holds the
texts of maps, the report, workbook sheets, checks and the run summary (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from geo_renewal._checks import LANGS, check_lang, did_you_mean
from geo_renewal.schema import label

__all__ = [
    "MEETING_TEXT",
    "finding_action",
    "finding_sentence",
    "lang_index",
    "pick",
    "say",
    "say_or",
]

#: Meeting texts: namespaced key -> (zh, en); ``str.format`` fields are the same in both.
MEETING_TEXT: dict[str, tuple[str, str]] = {
    # maps: legend, layer names, popups, controls
    "map.legend": ("图例", "Legend"),
    "map.category": ("更新类别", "Renewal class"),
    "map.count": ("地块数", "Parcels"),
    "map.area_ha": ("面积（公顷）", "Area (ha)"),
    "map.total": ("合计", "Total"),
    "map.unclassified": ("未分类", "Unclassified"),
    "map.districts": ("街道界线", "Street boundaries"),
    "map.zones": ("更新片区", "Renewal zones"),
    "map.renewal_units": ("更新单元", "Renewal units"),
    "map.sites": ("安置地块", "Resettlement sites"),
    "map.flows": ("安置流向", "Resettlement flows"),
    "map.projects": ("项目", "Projects"),
    "map.stage": ("项目阶段", "Project stage"),
    "map.overdue": ("逾期项目", "Overdue projects"),
    "map.other_layers": ("其他图层", "Other layers"),
    "map.capacity": ("容量", "Capacity"),
    "map.allocated": ("已安置", "Allocated"),
    "map.units": ("套", "units"),
    "map.hh": ("户", "households"),
    "map.zoom_in": ("放大", "Zoom in"),
    "map.zoom_out": ("缩小", "Zoom out"),
    "map.fullscreen": ("全屏", "Full screen"),
    "map.exit_fullscreen": ("退出全屏", "Exit full screen"),
    "map.yes": ("是", "yes"),
    "map.no": ("否", "no"),
    "map.layers": ("图层", "Layers"),
    # overview of a whole city (geo_renewal._mapoverview)
    "map.overview": ("全域概览（{cell} 米网格）", "Overview ({cell} m grid)"),
    "map.overview.dominant": ("主导类别", "Dominant class"),
    "map.overview.cell": ("{cell} 米网格", "{cell} m grid cell"),
    "map.overview.class": ("{label}（宗 / 公顷）", "{label} (parcels / ha)"),
    "map.overview.note": (
        "共 {n} 宗地块：缩小时按 {cell} 米网格显示各格面积最大的类别（悬停看各类宗数和面积），"
        "放大到 {zoom} 级以上显示地块。",
        "{n} parcels: zoomed out, each {cell} m grid cell shows the class with the largest "
        "area (hover for the parcels and area of each class); parcels appear from zoom {zoom}.",
    ),
    "map.no_decode": (
        "此浏览器无法解压地块数据，放大后地块不会显示；请用 Chrome、Edge 或 Firefox 的新版本打开。",
        "This browser cannot decompress the parcel data, so parcels will not appear when "
        "zoomed in; open the map in a recent Chrome, Edge or Firefox.",
    ),
    "map.demand_units": ("搬迁单元", "Demand units"),
    "map.demand_units_legend": (
        "搬迁单元（填色 = 主要安置去向）",
        "Demand units (colour = main destination site)",
    ),
    "map.flow_width": ("线宽示户数", "width by households"),
    "map.days_behind": ("滞后{n}天", "{n} days behind"),
    "map.needs_network": (
        "注意：{path} 的底图（{tiles}）需要联网；断网时只显示图层，不显示底图。",
        "note: {path} loads its base map ({tiles}) from the internet; offline it shows "
        "the layers without a base map.",
    ),
    "map.needs_network_scripts": (
        "注意：{path} 从网上加载地图脚本（outputs.offline = false），断网时打开为空白页。",
        "note: {path} loads its map scripts from the internet (outputs.offline = false); "
        "offline it opens blank.",
    ),
    "tiles.datum_wgs84": ("坐标系：WGS84（≈CGCS2000）", "Coordinates: WGS84 (≈ CGCS2000)"),
    "tiles.datum_gcj02": (
        "显示坐标已由 WGS84 偏移至 GCJ-02 以匹配高德底图（数据本身未改动）",
        "Overlays shifted from WGS84 to GCJ-02 for display over Gaode tiles (data unchanged)",
    ),
    # _tilesource.py: the datum of an office's own base map ([basemap] datum)
    "tiles.datum_cgcs2000": ("坐标系：CGCS2000（≈WGS84）", "Coordinates: CGCS2000 (≈ WGS84)"),
    "tiles.datum_gcj02_own": (
        "显示坐标已由 WGS84 偏移至 GCJ-02 以匹配底图（数据本身未改动）",
        "Overlays shifted from WGS84 to GCJ-02 to match the base map (data unchanged)",
    ),
    # zone names (classify.zone_names): street · class · number
    "classify.zone_name": ("{street}·{category}·{number}", "{street} · {category} · {number}"),
    "classify.zone_name_no_street": ("{category}·{number}", "{category} · {number}"),
    # rules.py: a rule set's classes without a role (what the class means for the figures)
    "rules.no_role": (
        "规则集 {source} 的分类 {classes} 未声明作用（role），其地块只按该类统计：户数、建筑面积"
        "不计入征收拆迁，不计安置需求和63号文拆除面积（共 {n:,} 个地块、{households:,.0f} 户）。"
        "如该类为拆除类，请在规则集的分类表中为其声明作用“征收拆迁”（可选作用：{roles}）。",
        "The classes {classes} of rule set {source} declare no role: their parcels are counted "
        "under the class only, not as demolished, resettlement demand or 63号文 demolition "
        "({n:,} parcels, {households:,.0f} households). If a class is demolition, add "
        'role = "demolish" to it under [categories] (roles: {roles}).',
    ),
    "rules.no_sites": (
        "规则集 {source} 没有作用为“安置用地”的分类，plan.toml 也未给出安置地块图层："
        "{households:,} 户实物安置需求没有可选安置地块，安置落位为 0。",
        'Rule set {source} has no resettlement-site class (role = "resettlement_site") and '
        "plan.toml gives no sites layer ([layers.sites]): {households:,} households wanting a "
        "flat have no site to go to.",
    ),
    # the one-page report
    "report.subtitle": (
        "城市更新挂图作战 · 会议材料 · 截至 {as_of}",
        "Urban renewal progress meeting · as of {as_of}",
    ),
    "report.key_figures": ("关键指标", "Key figures"),
    "report.hh_move": ("征收拆迁户数", "Households to move"),
    "report.persons_move": ("涉及人口", "Persons concerned"),
    "report.demolish_area": ("拆除建筑面积", "Floor area to demolish"),
    "report.flats": ("安置需求（套）", "Flats needed"),
    "report.capacity": ("安置供给（套）", "Flats available"),
    "report.nearby": ("就地就近安置率", "On-site or nearby rate"),
    "report.overdue": ("滞后项目", "Projects behind"),
    "report.projects": ("项目总数", "Projects"),
    "report.land": ("各类用地面积（公顷）", "Land by class (ha)"),
    "report.households": ("各类户数（户）", "Households by class"),
    "report.map": ("更新分类图", "Renewal classes"),
    "report.policy": ("63号文约束检查（按更新单元）", "MOHURD No. 63 checks (per renewal unit)"),
    "report.policy_ok": (
        "全部单元符合拆除比例、拆建比和就地就近安置率要求。",
        "Every unit keeps the demolition share, rebuild ratio and nearby rate limits.",
    ),
    "report.policy_bad": (
        "不符合的单元及原因见下表“核查结论”“判定理由”两列。",
        "The Verdict and Reason columns below show which units break a limit and why.",
    ),
    "report.stages": ("项目所处阶段", "Projects by stage"),
    "report.behind": ("滞后项目清单", "Projects behind schedule"),
    "report.none_behind": ("无滞后项目。", "No project is behind schedule."),
    "report.streets": ("分街道统计", "By street"),
    "report.sites": ("安置地块", "Resettlement sites"),
    "report.n_households": ("{n:,.0f} 户", "{n:,.0f}"),
    "report.n_persons": ("{n:,.0f} 人", "{n:,.0f}"),
    "report.n_flats": ("{n:,.0f} 套", "{n:,.0f}"),
    "report.n_projects": ("{n} 个", "{n}"),
    "report.wan_m2": ("{n:,.2f} 万㎡", "{n:,.2f} 10k m²"),
    "report.footer": ("由 geo_renewal 生成", "Made with geo_renewal"),
    "report.validation": ("数据检查", "Data checks"),
    "report.validation_ok": ("输入数据无错误。", "The input data has no errors."),
    "report.validation_bad": (
        "输入数据有 {n} 条问题，详见统计表“数据检查”页。",
        "The input data has {n} findings; see the workbook's Validation sheet.",
    ),
    # tables
    "tables.yes": ("是", "Yes"),
    "tables.no": ("否", "No"),
    "tables.metric_of_code": ("{code}·{metric}", "{code}: {metric}"),
    "tables.office": ("制表单位：{office}", "Prepared by: {office}"),
    "tables.as_of": ("截至日期：{as_of}", "As of: {as_of}"),
    "tables.office_as_of": (
        "制表单位：{office}　　截至日期：{as_of}",
        "Prepared by: {office} · As of: {as_of}",
    ),
    # findings files and sheets (tables.findings_table): problem kinds, actions, the sentence
    "findings.kind.missing_crs": ("图层没有坐标系", "layer without CRS"),
    "findings.kind.missing_column": ("缺少必需的列", "required column missing"),
    "findings.kind.invalid_geometry": ("几何图形无效", "invalid geometry"),
    "findings.kind.null_geometry": ("几何图形为空", "empty geometry"),
    "findings.kind.wrong_geometry_type": ("几何类型不符", "wrong geometry type"),
    "findings.kind.missing_id": ("编号为空", "blank id"),
    "findings.kind.exact_duplicate": ("整行重复", "duplicate row"),
    "findings.kind.duplicate_id": ("编号重复", "duplicate id"),
    "findings.kind.non_numeric": ("不是数字", "not a number"),
    "findings.kind.implausible_value": ("数值不合理", "implausible value"),
    "findings.kind.non_boolean": ("不是“是/否”", "not yes/no"),
    "findings.kind.unknown_code": ("无法识别的取值", "unknown code"),
    "findings.kind.overlap": ("与其他图斑重叠", "overlapping features"),
    "findings.kind.outside_districts": ("不在任何街道范围内", "outside every district"),
    "findings.kind.bad_date": ("日期无法识别", "unreadable date"),
    "findings.kind.duplicate_column": ("表头重复", "duplicate header"),
    "findings.kind.duplicate_polygon": ("项目范围重复", "duplicate project polygon"),
    "findings.kind.no_ledger_row": ("项目范围无台账记录", "polygon without ledger row"),
    # the weekly tables' findings (tasks, households, decisions): labels for findings_table
    "findings.kind.dependency_cycle": ("任务依赖成环", "dependency cycle"),
    "findings.kind.behind_cycle": ("依赖于成环的任务", "waits for a task in a cycle"),
    "findings.kind.unknown_dependency": ("前置任务不存在", "unknown dependency"),
    "findings.kind.no_duration": ("任务无工期", "task without duration"),
    "findings.kind.blank_key": ("关键字段为空", "blank key"),
    "findings.kind.duplicate_key": ("关键字段重复", "duplicate key"),
    "findings.kind.closed_without_date": ("已办结但无完成日期", "closed without a date"),
    "findings.kind.unknown_status": ("无法识别的状态", "unknown status"),
    "findings.kind.signed_count_differs": (
        "台账已签约户数与一户一档不一致",
        "ledger's signed count differs from the households",
    ),
    "findings.kind.household_count_differs": (
        "台账户数与一户一档不一致",
        "ledger's household count differs from the households",
    ),
    "findings.kind.households_without_project": (
        "一户一档中的项目不在台账中",
        "households of a project not in the ledger",
    ),
    "findings.kind.no_households": ("项目在一户一档中无记录", "project without households"),
    "findings.kind.other_street_polygons": (
        "其他街道的项目范围（本台账不含）",
        "polygons of streets not in this ledger",
    ),
    "findings.kind.no_polygon": ("台账项目无项目范围", "project without polygon"),
    "findings.kind.plan_after_target": ("计划日期晚于目标日期", "plan after target date"),
    "findings.kind.signed_exceeds_households": (
        "签约户数超过总户数",
        "more signed than households",
    ),
    "findings.kind.stage_not_in_pipeline": ("阶段不属于该类项目", "stage not in the pipeline"),
    "findings.kind.stage_skipped": ("跳过了前序阶段", "stage skipped"),
    "findings.kind.type_mismatch": ("项目类型与范围图层不一致", "project type mismatch"),
    "findings.kind.unknown_stage": ("无法识别的阶段", "unknown stage"),
    "findings.kind.unknown_type": ("无法识别的项目类型", "unknown project type"),
    "findings.kind.blank_id": ("项目编号为空", "blank project id"),
    "findings.kind.encoding_mismatch": ("声明的文字编码与文件内容不符", "encoding mismatch"),
    "findings.kind.bad_coordinates": ("坐标无效或超出范围", "bad coordinates"),
    "findings.kind.implausible_density": ("户数或人数与建筑面积不符", "implausible density"),
    "findings.kind.fractional_count": ("应为整数却有小数", "fractional count"),
    # landuse_codes.py / _survey_fields.py: the office's own codes and stated areas
    "findings.kind.unknown_land_use_code": (
        "无法识别的用地编码（值：原编码 → 最接近的有效编码）",
        "unknown land-use code (value: code → closest valid code)",
    ),
    "findings.kind.code_name_mismatch": (
        "用地编码与名称不一致，已按编码归类（值：编码 ≠ 名称）",
        "land-use code and name disagree; the code is used (value: code ≠ name)",
    ),
    "findings.kind.area_mismatch": (
        "登记面积与图形计算面积不符（值：登记 ≠ 计算，㎡）",
        "stated area differs from the computed area (value: stated ≠ computed, m²)",
    ),
    "findings.kind.id_from_survey": ("缺少编号，已用标识码（BSM）作编号", "id taken from BSM"),
    "findings.action.removed": ("已移除该行", "removed"),
    "findings.action.repaired": ("已自动修复", "repaired"),
    "findings.action.set_missing": ("已置为空值", "set to missing"),
    "findings.action.set_false": ("已置为“否”", "set to no"),
    "findings.action.kept": ("已保留，请核实", "kept"),
    "findings.action.skipped": ("后续检查已跳过", "later checks skipped"),
    "findings.action.none": ("未处理，请核实", "none"),
    "findings.action.reported": ("仅提示，请核实", "reported"),
    "findings.action.read_as": ("已按检测到的编码读取，请核实", "read as detected"),
    "findings.severity.error": ("错误", "error"),
    "findings.severity.warning": ("警告", "warning"),
    "findings.severity.info": ("提示", "info"),
    "findings.with_id": ("编号“{id}”", "id {id!r}"),
    "findings.in_column": ("列“{column}”", "column {column!r}"),
    "findings.with_value": ("值“{value}”", "value {value!r}"),
    "findings.message": ("{kind}（{detail}），{action}。", "{kind} ({detail}): {action}."),
    "findings.message_bare": ("{kind}，{action}。", "{kind}: {action}."),
    "findings.detail_separator": ("，", ", "),
    # cli.py: the prefix of a UserWarning printed after a run (in the plan's language)
    "cli.warning": ("提示：{text}", "Warning: {text}"),
    "cli.wrote": ("已写出 {path}", "Wrote {path}"),
    "cli.reused_run": (
        "复用上次运行的计算结果（输入、规则和参数均未改变）：{path}",
        "reusing the last run's computation (inputs, rules and parameters unchanged): {path}",
    ),
    # `geo-renewal --help`: what each command does, shown first in a Chinese session
    "cli.help.commands": ("命令 Commands", "Commands"),
    "cli.help.classify": ("按规则分类地块，写出分类结果和更新片区", "Classify parcels"),
    "cli.help.compare": ("比选项目文件中的各方案", "Compare scenarios"),
    "cli.help.corridors": ("视廊与滨河限高校核、天际线、三维视图", "View corridors"),
    "cli.help.deck": ("写出会议演示文稿（PPTX）", "Meeting deck"),
    "cli.help.demo": ("用样例片区运行全流程", "Run the sample"),
    "cli.help.fund": ("资金平衡测算（区域平衡）", "Fund balance"),
    "cli.help.ledger": ("项目台账库：导入每周快照、历史、对比、周例会", "Ledger store"),
    "cli.help.map": ("绘制分类地块的交互式会议图（HTML）", "Meeting map"),
    "cli.help.print": ("打印带图框的地图或分幅图（PDF、SVG、PNG）", "Printed map"),
    "cli.help.progress": ("项目进度图（挂图作战）和进度表", "Progress map"),
    "cli.help.resettle": ("安置规划：把征收户分配到安置地块", "Resettlement"),
    "cli.help.rules": ("分类规则集：使用前检查规则文件", "Rule sets"),
    "cli.help.run": ("按项目文件运行全流程：地图、统计表、会议材料", "Run a project file"),
    "cli.help.sample_data": ("写出样例片区数据", "Sample data"),
    "cli.help.stats": ("按街道、类别、片区统计用地、建筑面积、户数和人口", "Statistics"),
    "cli.help.validate": ("检查图层并列出问题", "Validate a layer"),
    # resettlement.py: the UserWarning of units below the 63号文 nearby line
    "resettlement.warn_below_nearby": (
        "{n} 个安置需求单元就地或 {dist:g} 米内安置的实物安置户数不足 {rate:.0%}"
        "（建科〔2021〕63号）：{ids}；总体 {overall:.1%}，现有安置容量下最多可达 {best:.1%}。"
        "详见统计表的“就近安置率”工作表。",
        "{n} demand units resettle fewer than {rate:.0%} of their flat households on site or "
        "within {dist:g} m (建科〔2021〕63号): {ids}; overall {overall:.1%}, best possible "
        '{best:.1%}. See the workbook sheet "Nearby rates" (plan.rates in Python).',
    ),
    "resettlement.id_separator": ("、", ", "),
    # ValidationReport.summary_text (geo-renewal validate)
    "validate.head": (
        "数据检查：{n} 个{kind}，{errors} 个错误、{warnings} 个警告、{infos} 条提示——{status}",
        "Validation of {n} {kind}: {errors} errors, {warnings} warnings, {infos} notes — {status}",
    ),
    "validate.ok": ("通过", "OK"),
    "validate.not_ok": ("未通过", "NOT OK"),
    "validate.kept": ("保留 {kept} 行，移除 {removed} 行", "{kept} rows kept, {removed} removed"),
    "validate.overlaps": ("，{n} 对图斑重叠", ", {n} overlapping pairs"),
    "validate.end": ("。", "."),
    "validate.none": ("未发现问题。", "No problems found."),
    "validate.group": (
        "【{severity}】{kind}：{count}（处理：{actions}）",
        "{severity} {kind} ({count}; action: {actions})",
    ),
    "validate.count": ("{n} 条", "{n} findings"),
    "validate.count_one": ("{n} 条", "{n} finding"),
    "validate.kind.parcels": ("地块", "parcels"),
    "validate.kind.buildings": ("建筑", "buildings"),
    "validate.kind.districts": ("街道", "districts"),
    "validate.kind.projects": ("项目范围", "projects"),
    "validate.kind.sites": ("安置地块", "sites"),
    "validate.kind.constraints": ("管控要素", "constraints"),
    "validate.action_separator": ("；", ", "),
    "validate.layer": ("整个图层", "layer"),
    "validate.row": ("第 {row} 行", "row {row}"),
    "validate.with_id": ("（{id}）", " ({id})"),
    "validate.line": ("  {where}：{message}", "  {where}: {message}"),
    "validate.more": (
        "  ……另有 {n} 条（完整清单用 --findings 写出）",
        "  … and {n} more (see report.to_frame())",
    ),
    # 63号文 checks
    "policy.demolition_share": (
        "拆除比例 {v:.1%} > {lim:.0%}",
        "demolition share {v:.1%} > {lim:.0%}",
    ),
    "policy.rebuild_ratio": ("拆建比 {v:.2f} > {lim:g}", "rebuild ratio {v:.2f} > {lim:g}"),
    "policy.separator": ("；", "; "),
    "policy.demolition_share_ok": (
        "拆除比例 {v:.1%} ≤ {lim:.0%}",
        "demolition share {v:.1%} ≤ {lim:.0%}",
    ),
    "policy.exempt": (
        "（已扣除违法建筑及C/D级危房 {m2:,.0f} ㎡）",
        " (exempt illegal and C/D buildings: {m2:,.0f} m²)",
    ),
    "policy.no_floor_area": (
        "单元内无现状建筑面积，拆除比例未核",
        "no existing floor area in the unit: demolition share not checked",
    ),
    "policy.rebuild_ratio_ok": ("拆建比 {v:.2f} ≤ {lim:g}", "rebuild ratio {v:.2f} ≤ {lim:g}"),
    "policy.rebuild_unknown": (
        "缺少规划建筑面积，拆建比未核",
        "no planned floor area: rebuild ratio not checked",
    ),
    "policy.rebuild_none": ("无拆除，拆建比不适用", "nothing demolished: no rebuild ratio"),
    "policy.nearby_ok": (
        "就地就近安置率 {v:.1%} ≥ {lim:.0%}",
        "nearby rate {v:.1%} ≥ {lim:.0%}",
    ),
    "policy.nearby_bad": (
        "就地就近安置率 {v:.1%} < {lim:.0%}",
        "nearby rate {v:.1%} < {lim:.0%}",
    ),
    "policy.nearby_none": ("无实物安置需求", "no household needs a flat"),
    "policy.nearby_unknown": (
        "未编制安置方案，就地就近安置率未核",
        "no resettlement plan: nearby rate not checked",
    ),
    "policy.verdict_passes": ("符合", "passes"),
    "policy.verdict_fails": ("不符合", "fails"),
    "policy.verdict_incomplete": ("未全部核查", "incomplete"),
    "policy.units_needed": (
        "63号文约束（拆除比例、拆建比、就地就近安置率）须按更新单元核算，需要更新单元图层"
        "（更新单元或项目范围面，含单元名称，可选规划建筑面积或容积率）：在 plan.toml 中加入 "
        "[layers.units]。本次未提供，未做单元核查；更新片区为同类地块聚合，不能代替更新单元。",
        "The MOHURD No. 63 checks (demolition share, rebuild ratio, nearby rate) are made per "
        "renewal unit and need a units layer (更新单元 or project-area polygons with a name and "
        "optionally planned floor area or FAR): add [layers.units] to plan.toml. None was "
        "given, so no unit was checked; renewal zones hold one class each and cannot stand "
        "in for units.",
    ),
    "policy.units_summary": (
        "{n} 个更新单元：{n_pass} 个符合，{n_fail} 个不符合，{n_incomplete} 个未全部核查。",
        "{n} renewal units: {n_pass} pass, {n_fail} fail, {n_incomplete} incomplete.",
    ),
    "policy.sheet": ("63号文核查", "MOHURD No. 63 checks"),
    "caveat.fund_placeholder": (
        "资金平衡测算中 {n} 项参数仍为软件内置的占位值（{keys}），不是本区的征收补偿方案，"
        "结果仅作示意、不能作为决策依据（按这些值 {n_loss}/{n_projects} 个项目收不抵支）。"
        "请在 plan.toml 的 [fund] params 中给出本区参数。",
        "{n} fund-balance parameters are still the bundled placeholders ({keys}), not the "
        "district's compensation scheme: the balance is illustrative only and no basis for a "
        "decision ({n_loss} of {n_projects} projects lose money under them). Give the "
        "district's figures with [fund] params in plan.toml.",
    ),
    "caveat.title": ("使用须知", "Caveats"),
    "caveat.and_more": ("等", " and others"),
    "caveat.sheet": ("使用须知", "Caveats"),
    "caveat.item": ("须知", "Caveat"),
    "units.nearby.head": (
        "就地就近安置率 {rate:.1%}，低于现有安置容量可达的最高值 {best:.1%}（相差 {gap:,} 户）。"
        "原因：安置方案以总安置距离（户·公里）最小为目标，而不是就近（{dist:,.0f} 米内或就地）"
        "安置户数最多",
        "The nearby rate is {rate:.1%}, below the {best:.1%} the site capacities allow "
        "({gap:,} households). Why: the plan minimises the total distance (household·km), "
        "not the number placed on site or within {dist:,.0f} m",
    ),
    "units.nearby.no_site": (
        "{n} 个搬迁单元的 {hh:,} 户在 {dist:,.0f} 米内没有可用安置地块，任何方案都无法就近安置",
        "{hh:,} households of {n} demand units have no usable site within {dist:,.0f} m, so no "
        "plan can place them nearby",
    ),
    "units.nearby.taken": (
        "{n_sites} 处对某些单元属于就近的安置地块，安置了对其并非就近的其他单元 {hh:,} 户"
        "（总距离最小的分配）",
        "{n_sites} sites that are nearby for some demand units house {hh:,} households for whom they "
        "are not nearby (the shortest-total-distance allocation)",
    ),
    "units.nearby.kept_whole": (
        "这些就近地块尚余 {free:,} 套，但搬迁单元整体安置（不拆分）时放不下",
        "those nearby sites keep {free:,} flats free, too few for a demand unit kept whole",
    ),
    "units.nearby.end": (
        "。如需提高，可调整安置方案的目标（就近优先）或增加就近地块容量。",
        ". To raise it, plan for nearby placement first or add capacity near the units.",
    ),
    "policy.note": ("说明", "Note"),
    # site suitability checks
    "sites.size": ("面积", "area"),
    "sites.heritage": ("文保范围", "heritage zone"),
    "sites.ecology": ("生态带", "ecological belt"),
    "sites.flood": ("淹没深度", "flood depth"),
    "sites.distance": ("与管控要素距离", "distance to"),
    "sites.deeper_than": ("深于", "deeper than"),
    "sites.max_depth": ("最深 {top}", "max {top}"),
    "sites.not_checked": (
        "– {label}未检查（缺少{kind} {names}）",
        "– {label} not checked (no {kind} {names})",
    ),
    "sites.kind_layer": ("图层", "layer"),
    "sites.kind_raster": ("栅格", "raster"),
    # resettlement: why demand stays unmet
    "resettlement.unmet.no_sites": ("没有可用的安置地块", "no usable resettlement site"),
    "resettlement.unmet.beyond_max_dist": (
        "所有安置地块均超出最大安置距离",
        "every usable site is beyond max_dist",
    ),
    "resettlement.unmet.own_site_excluded": (
        "距离内仅有本单元内的地块（exclude_on_site 已排除）",
        "the only sites within reach lie inside the unit (excluded by exclude_on_site)",
    ),
    "resettlement.unmet.no_capacity": ("可达安置地块容量不足", "the sites within reach are full"),
    # progress meeting
    "progress.list_separator": ("、", ", "),
    "progress.change.new_project": ("新增项目", "new project"),
    "progress.change.removed": ("已移出台账", "removed from ledger"),
    "progress.change.newly_overdue": ("新增逾期", "newly overdue"),
    "progress.change.overdue_cleared": ("逾期已消除", "no longer overdue"),
    "progress.change.signing": ("签约率 {pts:+.1f} 个百分点", "signing rate {pts:+.1f} pts"),
    "progress.change.separator": ("；", "; "),
    "progress.sheet.progress": ("项目进度", "Progress"),
    "progress.sheet.by_street": ("按街道", "By street"),
    "progress.sheet.by_type": ("按类型", "By type"),
    "progress.sheet.ledger_problems": ("台账问题", "Ledger problems"),
    "progress.sheet.changes": ("变化情况", "Changes"),
    "progress.sheet.schedule": ("倒排工期", "Backward schedule"),
    "progress.severity.error": ("错误", "error"),
    "progress.severity.warning": ("警告", "warning"),
    "progress.map_title": ("项目进度 {as_of}", "Project progress {as_of}"),
    # fund balance workbook
    "fund.land_price": ("土地价格 {change}", "Land price {change}"),
    "fund.sheet.bundles": ("区域平衡", "Bundles"),
    "fund.sheet.projects": ("项目测算", "Projects"),
    "fund.sheet.plots": ("出让地块", "Sale plots"),
    "fund.sheet.sensitivity": ("敏感性分析", "Sensitivity"),
    "fund.sheet.parameters": ("测算参数", "Parameters"),
    # issue 16: compensation per building, land supply, cash flow and financing
    "fund.sheet.compensation_projects": ("征收补偿（按项目）", "Compensation by project"),
    "fund.sheet.compensation_buildings": ("征收补偿（按建筑）", "Compensation by building"),
    "fund.sheet.compensation_scheme": ("补偿方案参数", "Compensation scheme"),
    "fund.sheet.supply_plan": ("年度供地计划", "Land supply plan"),
    "fund.sheet.overdue_plots": ("逾期地块", "Overdue plots"),
    "fund.sheet.cashflow": ("现金流量（按期）", "Cash flow by period"),
    "fund.sheet.financing": ("融资测算", "Financing"),
    "fund.sheet.cashflow_sensitivity": ("现金流敏感性", "Cash-flow sensitivity"),
    "fund.sheet.reconciliation": ("静态与现金流核对", "Static vs cash flow"),
    "supply.not_reserved": ("未收储", "Not reserved yet"),
    "supply.overdue_layer": ("逾期地块（{n} 宗）", "Overdue plots ({n})"),
    "supply.overdue_item": (
        "{plot}：{step}逾期 {days} 天",
        "{plot}: {step} overdue by {days} days",
    ),
    "fund.change.months": ("{n:g} 个月", "{n:g} months"),
    "fund.change.points": ("{n:+.0f} 个百分点", "{n:+.0f} points"),
    "caveat.scheme_placeholder": (
        "征收补偿测算中 {n} 项补偿标准仍为软件内置的占位值（{keys}），不是本区的征收补偿方案，"
        "逐栋补偿额仅作示意。请在补偿方案文件中给出本区的区位价、重置价和装修标准。",
        "{n} compensation prices are still the bundled placeholders ({keys}), not the "
        "district's compensation scheme: the per-building figures are illustrative only. "
        "Give the district's 区位价, replacement and decoration prices in the scheme file.",
    ),
    "cashflow.report.title": ("资金平衡与现金流", "Fund balance and cash flow"),
    "cashflow.report.summary": (
        "全区作为一个整体项目：融资需求峰值 {peak:,.0f} 万元（{when}），项目资本金 {capital:,.0f} 万元，"
        "利息合计 {interest:,.0f} 万元，资金平衡 {balance:,.0f} 万元；{closed} / {n} 个平衡单元实现封闭运行。",
        "The district as one project: peak financing need {peak:,.0f} (10⁴ yuan) in {when}, "
        "capital {capital:,.0f}, total interest {interest:,.0f}, balance {balance:,.0f}; "
        "{closed} of {n} bundles stay closed.",
    ),
    "cashflow.chart.title": (
        "累计净现金流与贷款余额（万元）",
        "Cumulative net flow and loan (10⁴ yuan)",
    ),
    "cashflow.chart.balance": ("累计净现金流（融资前）", "Cumulative net flow (before financing)"),
    "cashflow.chart.loan": ("贷款余额", "Loan balance"),
    "cashflow.chart.net_flow": ("各期净现金流", "Net flow per period"),
    "cashflow.chart.peak": ("融资需求峰值 {peak:,.0f}", "Peak need {peak:,.0f}"),
    "cashflow.tornado.title": (
        "资金平衡敏感性（万元，相对基准）",
        "Balance sensitivity (10⁴ yuan, vs base)",
    ),
    "cashflow.breaks": (
        "{bundle}：{when} {reason}",
        "{bundle}: {reason} in {when}",
    ),
    "cashflow.moved.signing": (
        "{who}的签约、征收补偿和拆除推迟 {sign:g} 个月，供地推迟 {supply}，{revenue}",
        "{who}: signing, compensation and demolition {sign:g} months later, land supply "
        "{supply} later, {revenue}",
    ),
    "cashflow.moved.signing_none": (
        "没有未签约的征收拆迁项目，签约延迟不推迟任何项目",
        "No expropriation project is left to sign: a signing delay moves nothing",
    ),
    "cashflow.moved.range": (
        "{lo:g}–{hi:g} 个月（计划余量吸收其余）",
        "{lo:g}–{hi:g} months (the plan's slack absorbs the rest)",
    ),
    "cashflow.district": ("全区（作为一个整体项目）", "the district as one project"),
    "cashflow.moved.revenue": (
        "土地收入最多推迟 {n:g} 个月",
        "land revenue up to {n:g} months later",
    ),
    "cashflow.moved.revenue_stays": (
        "土地收入不动（地块已成交或已是净地）",
        "land revenue stays (plots sold or already cleared)",
    ),
    "cashflow.moved.count": ("{n} 个项目", "{n} projects"),
    "cashflow.moved.months": ("{n:g} 个月", "{n:g} months"),
    "cashflow.moved.absorbed": (
        "0 个月（计划余量全部吸收）",
        "0 months (absorbed by the plan's slack)",
    ),
    "cashflow.moved.supply": (
        "{who}未成交地块的土地收入推迟 {months:g} 个月（已成交地块不动）",
        "{who}: land revenue of unsold plots {months:g} months later (sold plots stay)",
    ),
    "cashflow.moved.land_price": (
        "土地收入{pct}，时点不变",
        "Land revenue {pct}, dates unchanged",
    ),
    "cashflow.moved.cash_share": (
        "实物安置户数随比例变化（安置房建设、结算和临时安置费随之增减），时点不变",
        "Households taking a flat change with the share (resettlement housing, settlement and "
        "temporary allowance with them), dates unchanged",
    ),
    "cashflow.moved.compensation": (
        "征收补偿（含临时安置费）{pct}，时点不变",
        "Compensation (temporary allowance included) {pct}, dates unchanged",
    ),
    "cashflow.signing_note": (
        "签约延迟 {months}时，{bundles}的资金平衡改善（最多 {gain:,.0f} 万元）。这不是符号错误：延迟不改变"
        "任何一笔收支的总额，只改变利息。借款期间，资金平衡等于各笔收支按贷款利率计到期末的终值之和，"
        "签约延迟推迟了征收补偿和拆除费用，也推迟了供地和土地收入；当推迟的费用终值减少多于推迟的"
        "土地收入终值减少时（被推迟项目的土地收入低于其成本、计划供地留有余量使土地收入推迟较少，"
        "或土地收入到账时已有结余而结余不计息），延迟就省下利息。见“现金流敏感性”表的“推迟了什么”。",
        "A signing delay of {months} improves the balance of {bundles} (by up to {gain:,.0f} "
        "10⁴ yuan). This is not a sign error: a delay changes no line's total, only the "
        "interest. While a bundle borrows, its balance is the sum of its flows carried to the "
        "end at the loan rate; a signing delay moves compensation and demolition later, and land "
        "supply and its revenue too. When the carried value of the costs moved falls by more "
        "than that of the revenue moved (the delayed projects' land revenue is below their "
        "costs, the plan's slack moves the revenue less, or the revenue arrives when the "
        "bundle has a surplus, which earns nothing), the delay saves interest. See the column "
        "'What it moves' of the cash-flow sensitivity.",
    ),
    # run_plan: maps, workbook sheets, the printed summary
    # printed maps, atlas and deck (printmap.py, atlas.py, deck.py)
    "print.legend_other": ("其他图层", "Other layers"),
    "print.km": ("{n} 千米", "{n} km"),
    "print.m": ("{n} 米", "{n} m"),
    "print.flows_legend": ("{flows}（{width}）", "{flows} ({width})"),
    "print.list_sep": ("、", ", "),
    "print.count": ("数量", "Count"),
    "print.households": ("户数", "Households"),
    "print.scale": ("比例尺 1:{n}", "Scale 1:{n}"),
    "print.crs": ("坐标系：{crs}", "Coordinate system: {crs}"),
    "print.office": ("制图单位：{office}", "Mapped by: {office}"),
    "print.date": ("制图日期：{date}", "Map date: {date}"),
    "print.sources": ("数据来源：{sources}", "Data sources: {sources}"),
    "print.as_of": ("截至日期：{as_of}", "Status as of: {as_of}"),
    "print.overdue_left_out": (
        "其中 {n} 个逾期项目的标注无处可放：{ids}（见台账）",
        "of which {n} overdue projects have no room for their label: {ids} (see the ledger)",
    ),
    "print.labels_left_out": (
        "另有 {n} 个标注因图面空间不足未注记",
        "{n} further labels left out for lack of space",
    ),
    "print.not_fit": (
        "注意：按 1:{n} 出图仅显示范围的中心部分，完整范围需 1:{fit}",
        "Note: at 1:{n} only the centre is shown; the whole extent needs 1:{fit}",
    ),
    "print.panel_full": (
        "图幅侧栏内容超出约 {mm} 毫米，已截断；请改用更大图幅或横向（--landscape）",
        "The side panel is {mm} mm too short and was cut; use a larger paper or --landscape",
    ),
    "print.grid_note": ("坐标网格间距 {step} 米", "Grid interval {step} m"),
    "print.overview": ("位置示意", "Location"),
    "print.key_figures": ("主要指标", "Key figures"),
    "print.atlas_page": ("第 {i} / {n} 幅", "Sheet {i} of {n}"),
    "print.atlas.street": ("街道分幅图", "Sheets by street"),
    "print.atlas.project": ("项目分幅图", "Sheets by project"),
    "print.atlas.unit": ("更新单元分幅图", "Sheets by renewal unit"),
    "print.parcels": ("地块", "Parcels"),
    "print.area_ha": ("面积（公顷）", "Area (ha)"),
    "print.demolish_households": ("征收户数", "Households to move"),
    "print.floor_area": ("建筑面积（万㎡）", "Floor area (10,000 m²)"),
    "print.placeholder": (
        "本图所用参数含占位值：{keys}",
        "This sheet uses placeholder parameters: {keys}",
    ),
    "deck.title": ("{name} 工作调度会", "{name}: progress meeting"),
    "deck.subtitle": ("{office}　{as_of}", "{office} · {as_of}"),
    "deck.key_figures": ("主要指标", "Key figures"),
    "deck.figure": ("指标", "Figure"),
    "deck.value": ("数值", "Value"),
    "deck.caveats": ("使用前须知", "Before using these figures"),
    "deck.map.classification": ("更新分类图", "Renewal classes"),
    "deck.map.resettlement": ("安置规划图", "Resettlement plan"),
    "deck.map.progress": ("项目进度图（挂图作战）", "Project progress"),
    "deck.behind": ("滞后项目", "Projects behind schedule"),
    "deck.behind_none": ("截至 {as_of} 无滞后项目。", "No project is behind schedule on {as_of}."),
    "deck.units": ("更新单元 63号文 校核", "Renewal units: 63号文 checks"),
    "deck.sites": ("安置地块", "Resettlement sites"),
    "deck.fund": (
        "资金平衡（静态测算：全部成本单利计息）",
        "Fund balance (static: simple interest on all costs)",
    ),
    # money sheets: the reconciliation's lines, keys of subsidy rows, scheme codes
    "fund.line.compensation": ("征收补偿", "Compensation"),
    "fund.line.comp_temporary": ("临时安置费", "Temporary housing"),
    "fund.line.demolition_cost": ("拆除费用", "Demolition"),
    "fund.line.infrastructure_cost": ("基础设施配套", "Infrastructure"),
    "fund.line.upgrade_cost": ("老旧小区改造", "Upgrades"),
    "fund.line.resettlement_construction": ("安置房建设", "Resettlement housing"),
    "fund.line.land_revenue": ("土地出让收入", "Land revenue"),
    "fund.line.resettlement_settlement": ("安置房结算收入", "Resettlement settlement"),
    "fund.line.other_revenue": ("其他收入", "Other revenue"),
    "fund.line.subsidy_revenue": ("奖补资金与专项债", "Subsidies and bonds"),
    "fund.line.financing_cost": ("融资成本", "Financing cost"),
    "fund.key.date": ("日期", "date"),
    "fund.key.amount": ("金额（元）", "amount (yuan)"),
    "fund.key.kind": ("类型", "kind"),
    "fund.key.repay_date": ("还款日期", "repayment date"),
    "fund.scheme.none": ("无装修", "none"),
    "fund.source_plan_share": (
        "{name}（货币化安置比例取自项目文件的安置设置）",
        "{name} (cash share from the project file's [resettlement])",
    ),
    "deck.fund_cashflow": (
        "资金平衡与融资需求（现金流测算：按未偿贷款计息）",
        "Fund balance and financing need (cash flow: interest on the outstanding loan)",
    ),
    "deck.continued": ("（续 {i}/{n}）", " (continued {i}/{n})"),
    "deck.fig.parcels": ("地块总数", "Parcels"),
    "deck.fig.demolish": ("征收拆迁地块", "Parcels to demolish"),
    "deck.fig.households": ("征收户数", "Households to move"),
    "deck.fig.placed": ("已落实安置户数", "Households placed"),
    "deck.fig.nearby": ("就地就近安置率", "Nearby resettlement rate"),
    "deck.fig.projects": ("项目数 / 逾期", "Projects / overdue"),
    "deck.fig.balance": ("资金平衡（万元）", "Fund balance (10,000 yuan)"),
    "workflow.map.classes": ("{name} · 更新分类", "{name} · renewal classes"),
    "workflow.map.resettlement": ("{name} · 安置规划", "{name} · resettlement"),
    "workflow.map.progress": (
        "{name} · 项目进度（挂图作战） {as_of}",
        "{name} · project progress {as_of}",
    ),
    "workflow.sheet.by_group": ("按{group}统计", "Statistics by {group}"),
    "workflow.sheet.by.street": ("按街道统计", "Statistics by street"),
    "workflow.sheet.by.category": ("按更新类别统计", "Statistics by class"),
    "workflow.sheet.by.zone_id": ("按片区统计", "Statistics by zone"),
    "workflow.sheet.by.project_id": ("按项目统计", "Statistics by project"),
    "workflow.sheet.sites": ("安置地块", "Sites"),
    "workflow.sheet.allocation": ("安置分配", "Allocation"),
    "workflow.sheet.nearby_rates": ("就近安置率", "Nearby rates"),
    "workflow.sheet.unmet": ("未落位需求", "Unmet demand"),
    "workflow.sheet.validation": ("数据检查", "Validation"),
    "workflow.summary.classes": ("地块分类:", "Parcels by class:"),
    "workflow.summary.class_parcels": ("{n:,.0f} 宗地块", "{n:,.0f} parcels"),
    # the progress bar of a run: one name per step of workflow.py (`_step`)
    "workflow.step_unit": ("步", "step"),
    "workflow.step.read": ("读取", "read"),
    "workflow.step.classify": ("分类", "classify"),
    "workflow.step.statistics": ("统计", "statistics"),
    "workflow.step.resettlement": ("安置", "resettlement"),
    "workflow.step.units": ("更新单元", "units"),
    "workflow.step.progress": ("进度", "progress"),
    "workflow.step.weekly": ("周例会", "weekly"),
    "workflow.step.maps": ("地图", "maps"),
    "workflow.step.corridors": ("视廊", "corridors"),
    "workflow.step.workbook": ("统计表", "workbook"),
    "workflow.step.report": ("会议材料", "report"),
    "workflow.step.print": ("打印图", "print"),
    "workflow.step.weekly_files": ("周例会文件", "weekly files"),
    "workflow.summary.class_households": (", {n:,.0f} 户", ", {n:,.0f} households"),
    "workflow.summary.resettlement": (
        "安置: {placed:,.0f} / {flats:,.0f} 户已落位",
        "Resettlement: {placed:,.0f} / {flats:,.0f} flat households placed",
    ),
    "workflow.summary.projects": (
        "项目: {n} 个, {n_over} 个滞后",
        "Projects: {n}, {n_over} overdue",
    ),
    "workflow.summary.files": ("输出文件:", "Files written:"),
    "workflow.summary.out_dir": ("输出文件夹: {folder}", "Outputs written to: {folder}"),
    "workflow.summary.signing": (
        "签约延迟会使部分资金平衡改善（只改变利息，不是符号错误），原因见统计表的“使用须知”工作表。",
        "A signing delay improves some balances (interest only, not a sign error); why: the "
        "workbook's Caveats sheet.",
    ),
    "workflow.file.classification_map": ("更新分类图", "Classification map"),
    "workflow.file.print_classification": ("更新分类图（打印版）", "Classification map (print)"),
    "workflow.file.print_resettlement": ("安置规划图（打印版）", "Resettlement map (print)"),
    "workflow.file.print_progress": ("项目进度图（打印版）", "Progress map (print)"),
    "workflow.file.atlas_street": ("街道分幅图", "Atlas by street"),
    "workflow.file.atlas_project": ("项目分幅图", "Atlas by project"),
    "workflow.file.atlas_unit": ("更新单元分幅图", "Atlas by renewal unit"),
    "workflow.file.deck": ("会议演示文稿", "Meeting deck"),
    "workflow.file.report_pdf": ("会议报告（PDF）", "Meeting report (PDF)"),
    "workflow.file.resettlement_map": ("安置规划图", "Resettlement map"),
    "workflow.file.progress_map": ("项目进度图", "Progress map"),
    "workflow.file.workbook": ("统计表", "Workbook"),
    "workflow.file.report": ("会议材料", "Meeting report"),
    "workflow.file.classified": ("分类结果图层", "Classified layers"),
    "workflow.file.manifest": ("运行清单", "Run manifest"),
    # view corridors and the skyline (geo_renewal.corridors, geo_renewal.skyline)
    "skyline.bearing": ("方位角（°，正北为0）", "Bearing (°, 0 = north)"),
    "skyline.elevation": ("仰角（°）", "Elevation angle (°)"),
    "skyline.breach": ("视廊超高", "corridor breach"),
    "skyline.current": ("现状天际线", "Current skyline"),
    "skyline.planned": ("规划天际线", "Planned skyline"),
    "skyline.title": ("{viewpoint} 望南岸天际线", "Skyline from {viewpoint}"),
    "corridors.section": ("视廊与限高", "View corridors and height limits"),
    "corridors.summary": (
        "{n_corridors} 条视廊、{n_zones} 个滨河限高分区内共 {n_in} 栋建筑，{n_over} 栋超出允许高度（最大超高 {max_excess:.1f} 米）。",
        "{n_in} buildings stand in {n_corridors} view corridors and {n_zones} river height zones; {n_over} exceed the permitted height (at most by {max_excess:.1f} m).",
    ),
    "corridors.summary_plots": (
        "规划地块 {n_plots_in} 个位于视廊或滨河限高分区内，{n_plots_over} 个的允许高度低于控规高度（最大超高 {max_plot_excess:.1f} 米）。",
        "{n_plots_in} planned plots lie in the corridors or river zones; {n_plots_over} have a 控规 height above the permitted one (at most by {max_plot_excess:.1f} m).",
    ),
    "corridors.worst": (
        "超高最多的 {n} 项（建筑与规划地块）",
        "The {n} largest excesses (buildings and planned plots)",
    ),
    "corridors.unknown": (
        "{n} 栋建筑高度未知（无高度、层数或DSM），未能校核。",
        "{n} buildings have no known height (no height, floors or DSM) and could not be checked.",
    ),
    "corridors.placeholder": (
        "视廊校核使用了软件内置的示例参数（{which}），不是本区控规或实测数据，超高结果仅作示意；请在 plan.toml 的 [corridors] 中给出本区参数。",
        "The corridor checks use the bundled example parameters ({which}), not the district's 控规 or survey: the excesses are only indicative; give the district's own in [corridors] of plan.toml.",
    ),
    "corridors.placeholder.river_zones": (
        "滨河限高分区 params/river_height_zones.toml",
        "river height zones params/river_height_zones.toml",
    ),
    "corridors.placeholder.storey_heights": (
        "按层数估算高度的层高 params/heights_default.toml",
        "storey heights for heights from floors params/heights_default.toml",
    ),
    "corridors.sheet": ("视廊限高校核", "Height checks"),
    "corridors.tip_height": ("高度 {h:.1f} 米", "height {h:.1f} m"),
    "corridors.tip_excess": ("超高 {e:+.1f} 米", "excess {e:+.1f} m"),
    "workflow.file.corridors": ("视廊与限高图层", "Corridor layers"),
    "workflow.file.permitted_height": ("允许高度栅格", "Permitted-height raster"),
    "workflow.file.skyline": ("天际线图", "Skyline chart"),
    "workflow.file.view3d": ("三维视图", "3D view"),
    "workflow.file.playback_map": ("进度回放图", "Progress playback map"),
    "workflow.file.store": ("台账库", "Ledger store"),
    "corridors.view3d_title": ("视廊三维视图", "View corridors in 3D"),
    "corridors.view3d_note_summary": (
        "⚠ 示例参数，超高结果仅作示意（点击查看）",
        "⚠ Placeholder parameters: the excess is illustrative (tap to read)",
    ),
    "corridors.view3d_buildings": ("建筑", "Buildings"),
    "corridors.view3d_excess": ("超高建筑", "Buildings above the permitted height"),
    # the weekly cycle (issue 17): store, 督办, 考核, households, playback
    "weekly.sheet.supervision_unit": ("督办单-{unit}", "Supervision {unit}"),
    "weekly.sheet.supervision": ("督办汇总", "Supervision summary"),
    "weekly.sheet.assessment_street": ("考核-街道", "Assessment by street"),
    "weekly.sheet.assessment_unit": ("考核-责任单位", "Assessment by unit"),
    "weekly.sheet.households": ("签约预测", "Signing forecast"),
    "weekly.sheet.clearance": ("清零清单", "Households left"),
    "weekly.sheet.reconcile": ("台账与户档核对", "Ledger vs households"),
    "weekly.sheet.decisions_open": ("例会事项-未办结", "Open decisions"),
    "weekly.sheet.decisions_closed": ("例会事项-已办结", "Decisions closed"),
    "weekly.sheet.critical_path": ("关键路径", "Critical path"),
    "weekly.forecast.complete": ("签约已完成", "signing complete"),
    "weekly.forecast.no_pace": (
        "近{days}天无签约，无法按近期进度预测",
        "no signing in the last {days} days: no forecast at the recent pace",
    ),
    "weekly.forecast.no_latest": (
        "近期有一周无签约，最晚日期无法预测",
        "a recent week had no signing: no latest date",
    ),
    "weekly.caveat.assessment_placeholder": (
        "考核指标权重为程序默认值（占位），不是指挥部的考核办法；请在考核参数文件中设定后再通报。",
        "The assessment weights are the bundled placeholders, not the office's scheme; "
        "set them in an assessment file before the scores are announced.",
    ),
    "weekly.report.supervision": ("督办（红/黄/蓝）", "Supervision (red / yellow / blue)"),
    "weekly.report.supervision_counts": (
        "红色 {red} 项（逾期），黄色 {yellow} 项（滞后于序时进度），蓝色 {blue} 项（{days} 天内到期）。",
        "{red} red (overdue), {yellow} yellow (behind schedule), {blue} blue (due within {days} days).",
    ),
    "weekly.report.decisions": ("例会商定事项", "Meeting decisions"),
    "weekly.report.decisions_counts": (
        "未办结 {n_open} 项（其中逾期 {n_late} 项）；上次例会以来办结 {n_closed} 项。",
        "{n_open} open ({n_late} overdue); {n_closed} closed since the last meeting.",
    ),
    "weekly.report.assessment": ("考核排名", "Assessment ranking"),
    "weekly.summary": (
        "周例会（台账库 {day}，{n} 个项目）：督办红 {red}、黄 {yellow}、蓝 {blue} 项；"
        "未办结事项 {n_open} 项；{n_lost} 个项目按现状保不住目标日期",
        "Weekly meeting (store {day}, {n} projects): {red} red, {yellow} yellow, {blue} blue; "
        "{n_open} open decisions; {n_lost} projects cannot meet their target at the current state",
    ),
    "weekly.report.scope": (
        "以下督办、关键路径、例会事项、考核和一户一档取自台账库 {day} 的快照（{streets}，共 {n} 个项目）。",
        "The supervision, critical paths, decisions, assessment and households below are of the "
        "store's snapshot of {day} ({streets}: {n} projects). ",
    ),
    "weekly.report.critical": ("关键路径与总时差", "Critical path and float"),
    "weekly.report.critical_counts": (
        "{n} 个项目从目标日期倒排工期；其中 {n_lost} 个项目总时差为负，按现状已保不住目标日期。"
        "关键路径上每项任务的最迟开始、最迟完成见工作簿“关键路径”表。",
        "{n} projects scheduled back from their target dates; {n_lost} have a negative float: "
        "at the current state the target is lost. The latest start and finish of every task "
        "on the path are on the workbook's Critical path sheet.",
    ),
    "weekly.caveat.other_day": (
        "督办、考核和一户一档取自台账库 {day} 的快照，不是本次统计日期 {as_of}：台账库里没有 {as_of} 的快照。",
        "Supervision, assessment and households are of the store's snapshot of {day}, not of "
        "the run's day {as_of}: the store has no snapshot of {as_of}.",
    ),
    "weekly.caveat.disagree": (
        "台账库 {day} 的快照与台账文件有 {n} 处不一致（台账文件 / 台账库）：{diffs}。进度图按台账文件，"
        "督办、考核按台账库；核实后以一方为准再开会。",
        "The store's snapshot of {day} differs from the ledger file in {n} figures (file / store): "
        "{diffs}. The progress map is the file's, supervision and assessment the store's; "
        "settle which is right before the meeting.",
    ),
    "weekly.caveat.not_in_file": ("{pid} 不在台账文件中", "{pid} is not in the ledger file"),
    "weekly.caveat.no_target": (
        "项目 {ids} 台账中没有目标日期，无法倒排工期，关键路径表中没有这些项目；请在台账中填写目标日期。",
        "Projects {ids} have no target date in the ledger: no backward schedule, so they "
        "are not on the critical-path sheet; fill in 目标日期.",
    ),
    "weekly.report.households": (
        "签约进度与预测（一户一档）",
        "Signing and forecast (households)",
    ),
    "weekly.map.title": ("{name}项目进度回放", "{name}: progress playback"),
    "weekly.map.week": ("快照日期", "Snapshot"),
    "weekly.map.play": ("播放", "Play"),
    "weekly.map.pause": ("暂停", "Pause"),
    "weekly.map.changed": ("本周阶段变化", "Stage changed this week"),
    "weekly.map.overdue": ("逾期", "Overdue"),
    "weekly.map.signing": ("签约状态", "Signing status"),
    "weekly.map.buildings": ("楼栋签约情况", "Buildings by signing"),
    "weekly.map.supervision": ("督办", "Supervision"),
    # scenario comparison (方案比选): geo_renewal._comparison, _scenario_maps, scenarios
    "compare.title": ("方案比选", "Scenario comparison"),
    "compare.sheet": ("方案比选", "Scenario comparison"),
    "compare.changes_sheet": ("地块类别变化", "Class changes"),
    "compare.lead": (
        "{n} 个方案并列比较，差值以“{base}”为基准；每个方案的数据与单独运行该方案相同。",
        "{n} scenarios side by side; differences are to “{base}”; each scenario's figures "
        "are those of a run of it alone.",
    ),
    "compare.col.indicator": ("指标", "Indicator"),
    "compare.col.unit": ("单位", "Unit"),
    "compare.col.diff": ("{name} 较基准", "{name} vs base"),
    "compare.col.scenario": ("方案", "Scenario"),
    "compare.col.change": ("类别变化", "Class change"),
    "compare.row_of": ("{row}：{sub}", "{row}: {sub}"),
    "compare.caveat_of": ("{names}：{text}", "{names}: {text}"),
    "compare.and": ("、", ", "),
    "compare.points": ("{n} 个百分点", "{n} pp"),
    "compare.count_change_of": (
        "{n}（核查单元 {a} → {b} 个）",
        "{n} (units checked {a} → {b})",
    ),
    "compare.not_computed": ("未计算", "not computed"),
    "compare.absent": ("无此地块", "absent"),
    "compare.row.demolish_households": ("征收拆迁户数", "Households to move"),
    "compare.row.demolish_floor_area": ("拆除建筑面积", "Floor area to demolish"),
    "compare.row.units_compliant": ("符合63号文的更新单元", "Renewal units meeting 63号文"),
    "compare.row.unit_verdict": ("63号文核查", "63号文 check"),
    "compare.row.flats_needed": ("需实物安置户数", "Households needing a flat"),
    "compare.row.flats_supplied": ("可用安置房源", "Resettlement flats available"),
    "compare.row.flats_placed": ("已落实安置户数", "Households placed"),
    "compare.row.flats_unmet": ("未落实安置户数", "Households not placed"),
    "compare.row.nearby_rate": ("就地就近安置率", "On-site-or-nearby rate"),
    "compare.row.fund_balance": ("资金平衡（收入−支出）", "Fund balance (revenue − cost)"),
    "compare.row.peak_financing": ("融资需求峰值", "Peak financing need"),
    "compare.row.overdue_projects": ("进度滞后项目", "Projects behind schedule"),
    "compare.unit.demolish_households": ("户", "households"),
    "compare.unit.demolish_floor_area": ("平方米", "m²"),
    "compare.unit.units_compliant": ("个", "units"),
    "compare.unit.unit_verdict": ("结论", "verdict"),
    "compare.unit.flats_needed": ("户", "households"),
    "compare.unit.flats_supplied": ("套", "flats"),
    "compare.unit.flats_placed": ("户", "households"),
    "compare.unit.flats_unmet": ("户", "households"),
    "compare.unit.nearby_rate": ("百分比（%）", "%"),
    "compare.unit.fund_balance": ("万元", "10k yuan"),
    "compare.unit.peak_financing": ("万元", "10k yuan"),
    "compare.unit.overdue_projects": ("个", "projects"),
    "compare.no_change": (
        "方案“{name}”与“{base}”相比，没有地块改变更新类别。",
        "No parcel changes class between “{base}” and “{name}”.",
    ),
    "compare.changed": (
        "方案“{name}”与“{base}”相比，{n:,} 个地块改变了更新类别：",
        "{n:,} parcels change class between “{base}” and “{name}”:",
    ),
    "compare.no_demolition_class": (
        "方案“{name}”的规则集“{rules}”没有“征收拆迁”类：拆迁户数、拆除面积、安置和63号文核查"
        "均按“征收拆迁”类计算，该方案记为“未计算”，不能与其他方案直接比较。",
        "Scenario “{name}”: rule set “{rules}” has no demolition class (征收拆迁): households "
        "and floor area to demolish, resettlement and the 63号文 checks count that class, so "
        "they are “not computed” for it and cannot be compared with the other scenarios.",
    ),
    "compare.peak_not_computed": (
        "融资需求峰值未计算：资金平衡尚无逐年现金流。",
        "Peak financing need not computed: the fund balance has no year-by-year cash flow yet.",
    ),
    "compare.cash_share_mismatch": (
        "方案“{name}”：资金平衡按资金参数的货币化安置比例 {fund:.0%} 计算，"
        "安置方案按 {plan:.0%}；请在该方案的资金参数中设同一比例。",
        "Scenario “{name}”: the fund balance uses the fund parameters' cash share {fund:.0%}, "
        "the resettlement {plan:.0%}; give the scenario fund parameters with the same share.",
    ),
    "compare.map.change_title": (
        "{name}：方案“{other}”较“{base}”的地块类别变化",
        "{name}: class changes from “{base}” to “{other}”",
    ),
    "compare.map.unchanged": ("类别未变的地块", "Parcels of unchanged class"),
    "compare.map.swipe_title": (
        "{name}：“{left}”（左）与“{right}”（右）",
        "{name}: “{left}” (left) and “{right}” (right)",
    ),
    "compare.map.slider": ("拖动比较两个方案", "Drag to compare the two scenarios"),
    "compare.file.comparison": ("方案比选表", "Comparison workbook"),
    "compare.file.report": ("比选报告", "Comparison report"),
    "compare.file.change_map": ("类别变化图", "Change map"),
    "compare.file.swipe_map": ("卷帘对比图", "Swipe map"),
}


def lang_index(lang: str | None) -> int:
    """
    Return the position of `lang` in a ``(zh, en)`` pair: 0 for Chinese, 1 for English.

    Parameters
    ----------
    lang
        ``"zh"``, ``"en"`` or None (`settings.lang`).

    Returns
    -------
    index
        0 or 1.

    Examples
    --------
    >>> lang_index("en")
    1
    """
    return LANGS.index(check_lang(lang))


def pick(pair: tuple[str, str], lang: str | None) -> str:
    """
    Return the text of `lang` from a ``(zh, en)`` pair of data (a registry's labels).

    Parameters
    ----------
    pair
        The Chinese and the English text.
    lang
        ``"zh"``, ``"en"`` or None (`settings.lang`).

    Returns
    -------
    text
        One of the two.

    Examples
    --------
    >>> pick(("天地图", "Tianditu"), "zh")
    '天地图'
    """
    return pair[lang_index(lang)]


def say(key: str, lang: str | None, **fields: Any) -> str:
    """
    Return the meeting text `key` in `lang`, with `fields` filled in by ``str.format``.

    Parameters
    ----------
    key
        A key of `MEETING_TEXT`, e.g. ``"map.legend"``.
    lang
        ``"zh"``, ``"en"`` or None (`settings.lang`).
    **fields
        Values of the text's ``{fields}``.

    Returns
    -------
    text
        The text.

    Raises
    ------
    KeyError
        If `key` is not in `MEETING_TEXT` (the message names the closest key).
    InputError
        If `lang` is not ``"zh"`` or ``"en"``.

    Examples
    --------
    >>> say("map.legend", "en")
    'Legend'
    >>> say("report.validation_bad", "zh", n=3)
    '输入数据有 3 条问题，详见统计表“数据检查”页。'
    >>> say("map.legnd", "en")
    Traceback (most recent call last):
    ...
    KeyError: 'no meeting text `map.legnd`; did you mean `map.legend`? Add it to geo_renewal.text.MEETING_TEXT.'
    """
    pair = MEETING_TEXT.get(key)
    if pair is None:
        msg = (
            f"no meeting text `{key}`; {did_you_mean(key, MEETING_TEXT)}"
            "Add it to geo_renewal.text.MEETING_TEXT."
        )
        raise KeyError(msg)
    text = pair[lang_index(lang)]
    return text.format(**fields) if fields else text


def say_or(key: str, lang: str | None, fallback: Any) -> Any:
    """
    Return the meeting text `key` in `lang`, or `fallback` when there is no such text.

    Parameters
    ----------
    key
        A key that may be in `MEETING_TEXT`, e.g. ``"findings.kind.overlap"``.
    lang
        ``"zh"``, ``"en"`` or None (`settings.lang`).
    fallback
        What to return for an unknown key (usually the code itself).

    Returns
    -------
    text
        The text or `fallback`.

    Examples
    --------
    >>> say_or("findings.kind.overlap", "zh", "overlap")
    '与其他图斑重叠'
    >>> say_or("findings.kind.new_check", "zh", "new_check")
    'new_check'
    """
    return say(key, lang) if key in MEETING_TEXT else fallback


#: How an action text starts -> its key in `MEETING_TEXT` (``findings.action.*``).
_ACTIONS = (
    ("removed", "removed"),
    ("repaired", "repaired"),
    ("set to missing", "set_missing"),
    ("set to false", "set_false"),
    ("kept", "kept"),
    ("polygon parts kept", "kept"),
    ("overlap and district checks skipped", "skipped"),
    ("none", "none"),
    ("reported", "reported"),
    ("read as", "read_as"),
)


def finding_action(action: Any, lang: str | None) -> Any:
    """
    Return a finding's action (what was done, as the checker wrote it) in `lang`.

    Parameters
    ----------
    action
        The ``action`` of a finding, e.g. ``"removed"`` or ``"set to missing"``.
    lang
        ``"zh"``, ``"en"`` or None (`settings.lang`).

    Returns
    -------
    text
        The labelled action, or `action` itself when it is not a known one.

    Examples
    --------
    >>> finding_action("set to missing", "zh")
    '已置为空值'
    """
    text = str(action).strip().lower() if action is not None else ""
    for start, key in _ACTIONS:
        if text.startswith(start):
            return say(f"findings.action.{key}", lang)
    return action


def finding_sentence(row: Mapping[str, Any], lang: str | None) -> str:
    """
    Return the sentence of one finding: its kind (id, column, value), then the action.

    Parameters
    ----------
    row
        One finding (`geo_renewal._findings.FINDING_COLUMNS`) as a mapping.
    lang
        ``"zh"``, ``"en"`` or None (`settings.lang`).

    Returns
    -------
    sentence
        E.g. ``数值不合理（编号“P1”，列“层数”，值“300”），未处理，请核实。``

    Examples
    --------
    >>> finding_sentence({"problem": "null_geometry", "id": "P2", "action": "removed"}, "zh")
    '几何图形为空（编号“P2”），已移除该行。'
    """
    lang = check_lang(lang)
    kind = say_or(f"findings.kind.{row['problem']}", lang, str(row["problem"]))
    detail = []
    if row.get("id") is not None and not _isna(row["id"]):
        detail.append(say("findings.with_id", lang, id=row["id"]))
    column = row.get("column")
    if column is not None and not _isna(column) and column != "geometry":  # kind says it
        detail.append(say("findings.in_column", lang, column=label(str(row["column"]), lang)))
    if row.get("value") is not None and not _isna(row["value"]):
        detail.append(say("findings.with_value", lang, value=row["value"]))
    action = finding_action(row.get("action"), lang) or ""
    if detail:
        joined = say("findings.detail_separator", lang).join(detail)
        return say("findings.message", lang, kind=kind, detail=joined, action=action)
    return say("findings.message_bare", lang, kind=kind, action=action)


def _isna(value: Any) -> bool:
    """Return True for None, NaN and pandas' missing markers (without importing pandas)."""
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, NaT
    except TypeError:  # pd.NA
        return True
