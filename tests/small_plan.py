"""A small project file (20 parcels, two rules, no constraint layer) for fast runs in tests."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from geo_renewal.io import write_layer

#: A street name that a spreadsheet would read as a formula (OWASP CSV injection).
FORMULA_STREET = '=HYPERLINK("http://x","点击查看")'

RULES = """
[[rules]]
id = "old"
category = "retain_upgrade"
when = "build_year <= 1985"
reason_zh = "老旧小区"
reason_en = "Old housing"
"""


def write_small_plan(folder: Path, parcels: gpd.GeoDataFrame, **outputs: str) -> Path:
    """Write parcels.gpkg, rules.toml and plan.toml into `folder`; return the plan's path."""
    parcels = parcels.copy()
    parcels.loc[parcels.index[:3], "street"] = FORMULA_STREET
    write_layer(parcels, folder / "parcels.gpkg", layer="parcels")
    (folder / "rules.toml").write_text(RULES, encoding="utf-8")
    extra = "".join(f"{k} = {v}\n" for k, v in outputs.items())
    plan = f"""
[project]
name = "小片区"
as_of = 2026-11-20

[layers.parcels]
path = "parcels.gpkg"
layer = "parcels"

[rules]
set = "rules.toml"

[stats]
by = ["street"]

[outputs]
tiles = "none"
offline = false
{extra}"""
    path = folder / "plan.toml"
    path.write_text(plan, encoding="utf-8")
    return path
