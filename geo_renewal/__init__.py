"""
geo_renewal: urban-renewal spatial planning for district renewal offices.

Load parcel, building and district layers, classify parcels into demolition, retention and
resettlement zones with explainable rules, count land, floor area, households and persons
per zone, street and project, plan resettlement, track projects, and draw meeting maps.

The public API is imported lazily: ``import geo_renewal`` is fast, and a name is loaded
from its module on first use (see `_API` for which module owns which name).
"""

from __future__ import annotations

import importlib
from typing import Any

from geo_renewal import settings
from geo_renewal._errors import CRSError, GeoRenewalError, InputError, RuleError, SchemaError

__version__ = "0.1.0"

#: Public name -> module that owns it. Each module adds its names here.
_API: dict[str, str] = {
    # crs.py
    "area": "crs",
    "working_crs": "crs",
    "to_working": "crs",
    "wgs84_to_gcj02": "crs",
    "gcj02_to_wgs84": "crs",
    "wgs84_to_bd09": "crs",
    "bd09_to_wgs84": "crs",
    "gcj02_to_bd09": "crs",
    "bd09_to_gcj02": "crs",
    "check_coordinates": "crs",
    "swap_xy": "crs",
    # schema.py
    "CATEGORIES": "schema",
    "label": "schema",
    # io.py
    "read_layer": "io",
    "read_named_layer": "io",
    "write_layer": "io",
    "atomic_write": "io",
    # validate.py
    "validate_layer": "validate",
    "ValidationReport": "validate",
    # datasets
    "datasets": "datasets",
    # stats.py
    "zone_stats": "stats",
    "policy_checks": "policy",
    "unit_policy": "policy",
    # units.py: renewal units (更新单元) and the 63号文 checks on them
    "check_units": "units",
    "unit_checks": "units",
    "nearby_reason": "units",
    "convert_area": "stats",
    "ConservationError": "stats",
    # tables.py
    "write_table": "tables",
    "write_tables": "tables",
    "format_table": "tables",
    "findings_table": "tables",
    "caveat_sheet": "tables",
    # ledger.py
    "Ledger": "ledger",
    "read_ledger": "ledger",
    # progress.py
    "project_progress": "progress",
    "progress_summary": "progress",
    "compare_ledgers": "progress",
    "ProgressMeeting": "progress",
    "progress_meeting": "progress",
    "write_progress_meeting": "progress",
    # schedule.py
    "backward_schedule": "schedule",
    "compare_schedule": "schedule",
    # the weekly cycle: store.py, tasks.py, supervision.py, assessment.py, households.py
    "LedgerStore": "store",
    "read_tasks": "tasks",
    "task_schedule": "tasks",
    "critical_path": "tasks",
    "critical_path_table": "tasks",
    "ledger_tasks": "tasks",
    "supervise_tasks": "supervision",
    "supervision_summary": "supervision",
    "supervision_sheets": "supervision",
    "read_decisions": "supervision",
    "decision_status": "supervision",
    "assess_performance": "assessment",
    "load_assessment_params": "assessment",
    "read_households": "households",
    "signing_curve": "households",
    "signing_forecast": "households",
    "clearance_list": "households",
    "reconcile_households": "households",
    "WeeklyMeeting": "weekly",
    "weekly_meeting": "weekly",
    "write_weekly_meeting": "weekly",
    "playback_map": "_mapplayback",
    "import_weeks": "_weekly_run",
    # fund.py / fund_params.py
    "FundParams": "fund_params",
    "FundBalance": "fund",
    "load_fund_params": "fund_params",
    "placeholder_keys": "fund_params",
    "placeholder_caveat": "fund_params",
    "fund_balance": "fund",
    "fund_balance_from_files": "fund",
    "fund_tables": "fund",
    "plots_from_projects": "fund",
    "write_fund_tables": "fund",
    # issue 16: compensation.py / supply.py / cashflow.py / _money_report.py
    "FundOptions": "fund_params",
    "CompensationScheme": "compensation",
    "Compensation": "compensation",
    "load_compensation_scheme": "compensation",
    "compensation_by_building": "compensation",
    "check_plots": "supply",
    "read_plots": "supply",
    "overdue_plots": "supply",
    "supply_plan": "supply",
    "CashFlow": "cashflow",
    "cash_flow": "cashflow",
    "cashflow_chart": "_money_report",
    "tornado_chart": "_money_report",
    # rules.py / classify.py / spatial.py / raster.py
    "load_rules": "rules",
    "parse_rules": "rules",
    "classes_with_role": "_roles",
    "in_role": "_roles",
    "RuleSet": "rules",
    "classify_parcels": "classify",
    "aggregate_buildings": "classify",
    "zone_labels": "classify",
    "zone_names": "classify",
    "zones_from_parcels": "classify",
    "share_in": "spatial",
    "intersects": "spatial",
    "distance_to": "spatial",
    "zonal_stats": "raster",
    # geoparquet.py / partitioned.py (province-scale runs on dask-geopandas)
    "partition_layer": "geoparquet",
    "is_partitioned": "geoparquet",
    "dask_client": "partitioned",
    "write_with_stats": "stats",
    # maps.py / tiles.py
    "renewal_map": "maps",
    "save_map": "maps",
    "tile_names": "tiles",
    # printmap.py / atlas.py / deck.py / _report_pdf.py (printed maps, atlases, deck, report PDF)
    "print_map": "printmap",
    "print_atlas": "atlas",
    "meeting_deck": "deck",
    "report_pdf": "_report_pdf",
    "tile_source": "tiles",
    "register_basemap": "tiles",
    # resettlement.py / demand.py / sites.py (the solver, allocation.py, is not re-exported here)
    "ResettlementPlan": "resettlement",
    "plan_resettlement": "resettlement",
    "resettlement_demand": "demand",
    "split_households": "demand",
    "whole_counts": "demand",
    "candidate_sites": "sites",
    "site_capacity": "sites",
    "site_suitability": "sites",
    # scenarios.py / _comparison.py (方案比选)
    "compare_scenarios": "scenarios",
    "write_comparison": "scenarios",
    "Comparison": "_comparison",
    # heights.py / corridors.py / surfaces.py / skyline.py (view corridors, issue 20)
    "building_heights": "heights",
    "plot_heights": "heights",
    "corridors_from_points": "corridors",
    "river_height_zones": "corridors",
    "height_checks": "corridors",
    "surface_layer": "corridors",
    "surface_raster": "surfaces",
    "surface_contours": "surfaces",
    "skyline_profile": "skyline",
    "skyline_chart": "skyline",
    # landuse_codes.py: 三调 / 用地用海 / GB 50137 codes and the crosswalk (issue 19)
    "code_tables": "landuse_codes",
    "crosswalk": "landuse_codes",
    "land_use_of": "landuse_codes",
}

__all__ = [
    "CRSError",
    "GeoRenewalError",
    "InputError",
    "RuleError",
    "SchemaError",
    "__version__",
    "settings",
    *_API,
]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        msg = f"module 'geo_renewal' has no attribute {name!r}"
        raise AttributeError(msg)
    mod = importlib.import_module(f"geo_renewal.{module}")
    value = mod if name == module else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
