"""Rule sets whose classes are not the built-in codes: roles make them count (拆除重建类)."""

from __future__ import annotations

import warnings
from importlib.resources import files

import numpy as np
import pandas as pd
import pytest

import geo_renewal
from geo_renewal._errors import RuleError
from geo_renewal._roles import (
    CLASSES_ATTR,
    class_labels,
    class_roles,
    classes_with_role,
    in_role,
    role_caveat,
)
from geo_renewal.demand import resettlement_demand
from geo_renewal.maps import renewal_map
from geo_renewal.rules import load_rules, parse_rules
from geo_renewal.stats import TOTAL_ROW, zone_stats
from geo_renewal.units import unit_checks

RULE = {"id": "a", "category": "x", "when": "illegal", "reason_zh": "甲", "reason_en": "A"}


def _renamed_default(tmp_path, role: str | None = "demolish"):
    """The default rule set with `demolish` renamed `expro` (征收类), declared with `role`."""
    text = (files("geo_renewal") / "rules" / "default.toml").read_text(encoding="utf-8")
    text = text.replace('category = "demolish"', 'category = "expro"')
    assert 'category = "expro"' in text
    role_part = f', role = "{role}"' if role else ""
    text += (
        f'\n[categories]\nexpro = {{ zh = "征收类", en = "Expropriation", '
        f'color = "#aa0000"{role_part} }}\n'
    )
    path = tmp_path / "renamed.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _classify(parcels, rules, layers, flood):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return geo_renewal.classify_parcels(
            parcels, rules, layers=layers, rasters={"flood_depth": flood}
        )


@pytest.fixture(scope="module")
def renamed(sample_parcels, sample_layers, sample_flood, tmp_path_factory):
    path = _renamed_default(tmp_path_factory.mktemp("renamed"))
    return _classify(sample_parcels, path, sample_layers, sample_flood)


@pytest.fixture(scope="module")
def shenzhen(sample_parcels, sample_layers, sample_flood):
    return _classify(sample_parcels, "shenzhen", sample_layers, sample_flood)


# ----------------------------------------------------------------------------- loading


def test_roles_of_the_bundled_sets():
    sz = load_rules("shenzhen")
    assert class_roles(sz) == {
        "demolish_rebuild": "demolish",
        "comprehensive_renovation": "retain_upgrade",
        "retain_protect": "retain_protect",
        "unchanged": "unchanged",
    }
    default = load_rules("default")
    assert all(code == role for code, role in class_roles(default).items())
    assert classes_with_role(sz, "demolish") == ["demolish_rebuild"]
    assert classes_with_role(default, "resettlement_site") == ["resettlement_site"]
    assert "role demolish" in sz.summary()


def test_unknown_role_names_file_category_roles_and_the_closest():
    data = {"categories": {"x": {"zh": "甲", "en": "A", "role": "demolsh"}}, "rules": [RULE]}
    with pytest.raises(RuleError) as e:
        parse_rules(data, source="mine.toml")
    msg = str(e.value)
    assert "'mine.toml'" in msg
    assert "category 'x'" in msg
    assert "'demolsh'" in msg
    assert "'retain_upgrade'" in msg
    assert "'resettlement_site'" in msg
    assert "did you mean `demolish`?" in msg


def test_a_built_in_code_keeps_its_role():
    data = {"categories": {"retain_protect": {"role": "demolish"}}, "rules": [RULE]}
    data["rules"] = [{**RULE, "category": "retain_protect"}]
    with pytest.raises(RuleError, match="'retain_protect' is built in and has the role"):
        parse_rules(data)
    same = {"categories": {"retain_protect": {"role": "retain_protect"}}, "rules": data["rules"]}
    assert class_roles(parse_rules(same))["retain_protect"] == "retain_protect"


def test_unknown_role_asked_of_the_helper():
    with pytest.raises(RuleError, match="did you mean `demolish`"):
        classes_with_role(None, "demolsh")


def test_a_class_without_role_has_none():
    data = {"categories": {"x": {"zh": "甲", "en": "A"}}, "rules": [RULE]}
    rules = parse_rules(data)
    assert class_roles(rules)["x"] is None
    assert classes_with_role(rules, "demolish") == []


# ------------------------------------------------------------- the figures, by role


def _hand_demolished(classified, codes):
    """Households and floor area of the parcels in `codes`, added up by hand."""
    rows = classified[classified["category"].astype(str).isin(codes)]
    return (
        float(pd.to_numeric(rows["households"]).fillna(0).sum()),
        float(pd.to_numeric(rows["floor_area"]).fillna(0).sum()),
        len(rows),
    )


def test_classified_frame_carries_its_classes(renamed, sample_classified):
    assert renamed.attrs[CLASSES_ATTR]["expro"] == {
        "zh": "征收类",
        "en": "Expropriation",
        "color": "#aa0000",
        "role": "demolish",
    }
    # the same parcels, only the code differs
    same = renamed["category"].astype(str).replace("expro", "demolish")
    assert (same == sample_classified["category"].astype(str)).all()
    assert classes_with_role(renamed, "demolish") == ["expro"]
    assert class_labels(renamed)["expro"] == "征收类"
    zones = geo_renewal.zones_from_parcels(renamed)
    assert zones.attrs[CLASSES_ATTR] == renamed.attrs[CLASSES_ATTR]


@pytest.mark.parametrize("by", ["street", "category"])
def test_renamed_demolish_gives_the_same_statistics(renamed, sample_classified, by):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        got = zone_stats(renamed, by=by)
        want = zone_stats(sample_classified, by=by)
    cols = [
        "demolish_households",
        "demolish_population",
        "demolish_floor_area_m2",
        "exempt_floor_area_m2",
        "protect_area_m2",
        "resettlement_area_m2",
    ]
    if by == "category":
        got = got.rename(index={"expro": "demolish"})
    np.testing.assert_allclose(
        got.loc[want.index, cols].to_numpy(float), want[cols].to_numpy(float)
    )
    households, floor, _ = _hand_demolished(sample_classified, ["demolish"])
    assert got.loc[TOTAL_ROW, "demolish_households"] == pytest.approx(households)
    assert got.loc[TOTAL_ROW, "demolish_floor_area_m2"] == pytest.approx(floor)
    assert households > 1000  # the sample district demolishes thousands of households


def test_renamed_demolish_gives_the_same_demand(renamed, sample_classified):
    got = resettlement_demand(renamed, cash_share=0.3)
    want = resettlement_demand(sample_classified, cash_share=0.3)
    assert got["households"].sum() == want["households"].sum() > 0
    assert got["flat_households"].sum() == want["flat_households"].sum()
    assert len(got) == len(want)
    households, _, _ = _hand_demolished(sample_classified, ["demolish"])
    assert got["households"].sum() == pytest.approx(households)


def test_renamed_demolish_gives_the_same_63_checks(renamed, sample_classified, sample_path):
    units = geo_renewal.read_layer(sample_path, layer="units")
    buildings = geo_renewal.read_layer(sample_path, layer="buildings")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        got = unit_checks(renamed, units, buildings=buildings)
        want = unit_checks(sample_classified, units, buildings=buildings)
    cols = ["demolish_floor_area_m2", "exempt_floor_area_m2", "demolition_share", "verdict"]
    pd.testing.assert_frame_equal(got[cols], want[cols])
    assert (got["demolish_floor_area_m2"] > 0).any()
    assert want["class_mix"].str.contains("征收拆迁").any()
    assert got["class_mix"].str.contains("征收类").any()  # its own name, not `expro`
    assert not got["class_mix"].str.contains("expro").any()


def test_shenzhen_counts_demolition_by_its_role(shenzhen):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        table = zone_stats(shenzhen, by="street")
    households, floor, n = _hand_demolished(shenzhen, ["demolish_rebuild"])
    assert n > 100
    assert table.loc[TOTAL_ROW, "demolish_households"] == pytest.approx(households)
    assert table.loc[TOTAL_ROW, "demolish_floor_area_m2"] == pytest.approx(floor)
    demand = resettlement_demand(shenzhen, cash_share=0.3)
    assert demand["households"].sum() == pytest.approx(households)
    assert demand["flat_households"].sum() == round(households * 0.7)


def test_in_role_of_a_frame_read_back_without_its_classes(shenzhen):
    bare = pd.DataFrame({"category": shenzhen["category"].astype(str)})  # no attrs
    assert not in_role(bare, "demolish").any()  # an unknown code has no role ...
    assert role_caveat(bare.assign(households=1), "en").startswith(  # ... and says so
        "The classes demolish_rebuild, comprehensive_renovation of rule set - declare no role"
    )
    with_rules = in_role(bare, "demolish", classes=load_rules("shenzhen"))
    assert with_rules.sum() == (shenzhen["category"] == "demolish_rebuild").sum()


# ---------------------------------------------------------------- a class without a role


def test_a_class_without_role_is_said_once(renamed, sample_classified, tmp_path):
    path = _renamed_default(tmp_path, role=None)
    bare = renamed.copy()
    bare.attrs[CLASSES_ATTR] = {**bare.attrs[CLASSES_ATTR]}
    bare.attrs[CLASSES_ATTR]["expro"] = {**bare.attrs[CLASSES_ATTR]["expro"], "role": None}
    assert class_roles(load_rules(path))["expro"] is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        table = zone_stats(bare, by="category")
    assert table.loc[TOTAL_ROW, "demolish_households"] == 0  # counted under its class only
    households, _, n = _hand_demolished(sample_classified, ["demolish"])
    assert table.loc["expro", "households"] == pytest.approx(households)
    zh = role_caveat(bare, "zh", source="renamed")
    assert "征收类" in zh
    assert "expro" not in zh
    assert f"{n:,} 个地块、{households:,.0f} 户" in zh
    en = role_caveat(bare, "en", source="renamed")
    assert 'role = "demolish"' in en
    assert role_caveat(renamed, "zh") == ""


# ----------------------------------------------------------------------------- labels


def test_maps_name_the_rule_sets_classes(shenzhen, tmp_path):
    zones = geo_renewal.zones_from_parcels(shenzhen)
    m = renewal_map(shenzhen, zones=zones, tiles="none", lang="zh")
    html = m.get_root().render()
    assert "拆除重建类" in html
    assert "综合整治类" in html
    assert "demolish_rebuild" not in html  # nowhere: legend, layer names, zones
    n = int((shenzhen["category"] == "demolish_rebuild").sum())
    assert html.count(f"拆除重建类 ({n:,})") == 1  # one layer per class, not one per source
    assert f"{len(shenzhen):,}</td>" in html.replace("\\u003c/td\\u003e", "</td>")
    assert "#d7301f" in html  # the rule set's colour, not the fallback palette's
    m_en = renewal_map(shenzhen, tiles="none", lang="en").get_root().render()
    assert "Demolition \\u0026amp; redevelopment (" in m_en  # the layer name, escaped


def test_zone_names_use_the_rule_sets_names(shenzhen):
    names = geo_renewal.zones_from_parcels(shenzhen, lang="zh")["zone_name"]
    assert names.str.contains("拆除重建类").any()
    assert not names.str.contains("demolish_rebuild").any()


# ------------------------------------------------------------- homesteads are housing


def _homesteads():
    """Four homestead parcels (宅基地): safe and old, planned housing / commerce, dangerous."""
    import geopandas as gpd
    from shapely import box

    return gpd.GeoDataFrame(
        {
            "parcel_id": ["H1", "H2", "H3", "H4"],
            "land_use": ["rural_homestead"] * 4,
            "planned_use": ["residential", "commercial", "residential", "residential"],
            "build_year": [1990, 1990, 1990, 2010],
            "danger_grade": ["B", "B", "D", "A"],
            "structure": ["brick_concrete"] * 4,
            "illegal": [False] * 4,
            "listed": [False] * 4,
            "households": [3, 4, 5, 6],
        },
        geometry=[box(500000 + 100 * i, 4060000, 500090 + 100 * i, 4060090) for i in range(4)],
        crs="EPSG:4548",
    )


def _rules_without_layers(name: str):
    """The bundled set `name` without its rules that read layers or rasters."""
    import tomllib

    text = (files("geo_renewal") / "rules" / f"{name}.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    data["rules"] = [r for r in data["rules"] if "(" not in r["when"].split("not (")[0]]
    return parse_rules(data)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("default", ["retain_upgrade", "demolish", "demolish", "unchanged"]),
        (
            "shenzhen",
            ["comprehensive_renovation", "demolish_rebuild", "demolish_rebuild", "unchanged"],
        ),
    ],
)
def test_a_homestead_planned_as_housing_is_no_use_conflict(name, expected):
    rules = _rules_without_layers(name)
    assert not rules.layers
    assert not rules.rasters
    out = geo_renewal.classify_parcels(_homesteads(), rules)
    assert out["category"].astype(str).tolist() == expected
    # H2 (planned commercial) and H3 (grade D) are demolished: their 4 + 5 households move
    demand = resettlement_demand(out, by="parcel_id", cash_share=0.0)
    assert demand["households"].sum() == 9
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert zone_stats(out, by="land_use").loc[TOTAL_ROW, "demolish_households"] == 9


def test_homestead_floor_area_is_residential_in_the_compensation():
    from geo_renewal.compensation import load_compensation_scheme

    assert "rural_homestead" in load_compensation_scheme().residential_uses


# ---------------------------------------------------------------------------- files


@pytest.mark.parametrize("ext", [".gpkg", ".parquet"])
def test_classes_survive_the_classified_file(shenzhen, tmp_path, ext):
    path = geo_renewal.write_layer(shenzhen.iloc[:300], tmp_path / f"classified{ext}")
    back = geo_renewal.read_layer(path)
    assert back.attrs[CLASSES_ATTR] == shenzhen.attrs[CLASSES_ATTR]
    assert classes_with_role(back, "demolish") == ["demolish_rebuild"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # missing counts of the sample
        table = zone_stats(back, by="street")
    households, _, _ = _hand_demolished(shenzhen.iloc[:300], ["demolish_rebuild"])
    assert table.loc[TOTAL_ROW, "demolish_households"] == pytest.approx(households)


def test_a_foreign_layer_with_unknown_classes_is_warned(shenzhen, tmp_path):
    bare = shenzhen.iloc[:50].copy()
    bare.attrs = {}
    with pytest.warns(
        UserWarning, match=r"holds classes \['demolish_rebuild'.*not built-in codes"
    ):
        zone_stats(bare, by="street")
    with pytest.warns(UserWarning, match="counted under their own names only"):
        resettlement_demand(bare)


def test_the_atlas_page_counts_and_names_the_rule_sets_classes(shenzhen):
    import shapely

    from geo_renewal._print_layers import scene_from
    from geo_renewal.atlas import _characters, _key_figures
    from geo_renewal.text import say

    scene = scene_from(shenzhen, lang="zh")
    parcels = scene.get("classified")
    everything = shapely.box(*parcels.total_bounds).buffer(10)
    lines = _key_figures(scene, everything)
    n = int((shenzhen["category"] == "demolish_rebuild").sum())
    assert any(line.startswith(f"  拆除重建类: {n:,}") for line in lines)
    households, _, _ = _hand_demolished(shenzhen, ["demolish_rebuild"])
    assert f"{say('print.demolish_households', 'zh')}: {households:,.0f}" in lines
    assert set("拆除重建类综合整治类") <= _characters(scene, parcels.iloc[:0].assign(page_name=[]))


def test_a_shenzhen_ledger_writes_its_classes_as_project_types():
    from geo_renewal.schema import VALUE_ALIASES

    assert VALUE_ALIASES["project_type"]["拆除重建类"] == "demolish"
    assert VALUE_ALIASES["project_type"]["综合整治类"] == "retain_upgrade"


def test_a_list_of_codes_is_labelled_in_the_workbook():
    from geo_renewal.schema import value_label

    assert value_label("param_value", "residential, rural_homestead") == "居住用地、农村宅基地"
    assert value_label("param_value", "residential, rural_homestead", "en") == (
        "Residential, Rural homestead"
    )
    assert value_label("param_value", "a, b") == "a, b"  # not codes: as written


def test_classes_are_drawn_once_in_the_rule_sets_order(shenzhen):
    from geo_renewal import _mapdata as md

    order = md.category_order(shenzhen["category"])
    assert order == ["demolish_rebuild", "comprehensive_renovation", "retain_protect", "unchanged"]
    bare = shenzhen["category"].astype(str)
    bare.attrs = {}
    assert md.category_order(bare) == [  # without its rule set: built-in codes first, as before
        "retain_protect",
        "unchanged",
        "comprehensive_renovation",
        "demolish_rebuild",
    ]
