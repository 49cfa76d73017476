"""
Compensation per building and household (征收补偿测算).

A scheme (`CompensationScheme`, TOML over ``params/compensation_default.toml``) prices each
building: 区位价 by price band or street, 重置成新价 by structure and age, 装修补偿 by grade,
illegal floor area not compensated or at a stated rate; the per-household items and the cash
share are the fund parameters' (`geo_renewal.fund_params`). `compensation_by_building`
returns the buildings, households, projects and streets; `geo_renewal.fund.fund_balance`
takes it instead of one appraised price per project. See ``docs/guide/fund.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo_renewal import schema
from geo_renewal._errors import InputError, SchemaError
from geo_renewal._toml import parse_toml, read_toml
from geo_renewal.fund_params import FundParams, _as_params

__all__ = [
    "COMPENSATION_LINES",
    "Compensation",
    "CompensationScheme",
    "compensation_by_building",
    "load_compensation_scheme",
    "scheme_placeholder_keys",
]

#: The money lines of a building's compensation (元), as the fund balance names them.
COMPENSATION_LINES: tuple[str, ...] = (
    "comp_appraised",
    "comp_moving",
    "comp_temporary",
    "comp_business",
    "comp_incentive",
)
_VALUE_PARTS = ("comp_location", "comp_replacement", "comp_decoration", "comp_illegal")
_STRUCTURES = tuple(schema.STRUCTURES)


@dataclass(frozen=True)
class CompensationScheme:
    """
    A compensation scheme (征收补偿方案); see ``geo_renewal/params/compensation_default.toml``.

    Prices in 元 per m² of floor area. Build it with `load_compensation_scheme`.
    """

    default_price_per_m2: float
    street_prices: Mapping[str, float]
    base_year: int
    min_share: float
    new_price_per_m2: Mapping[str, float]
    life_years: Mapping[str, float]
    default_grade: str
    decoration_per_m2: Mapping[str, float]
    illegal_rate: float
    residential_uses: tuple[str, ...]
    source: str = field(default="(defaults)", compare=False)

    def table(self) -> pd.DataFrame:
        """
        Return the scheme as a table (section, key, value) for a workbook.

        Returns
        -------
        scheme
            One row per price.

        Examples
        --------
        >>> load_compensation_scheme().table().iloc[0].tolist()
        ['location', 'default_price_per_m2', 12000.0]
        """
        rows: list[tuple[str, str, Any]] = [
            ("location", "default_price_per_m2", self.default_price_per_m2),
            *(("location.streets", k, v) for k, v in self.street_prices.items()),
            ("replacement", "base_year", self.base_year),
            ("replacement", "min_share", self.min_share),
            *(("replacement.new_price_per_m2", k, v) for k, v in self.new_price_per_m2.items()),
            *(("replacement.life_years", k, v) for k, v in self.life_years.items()),
            ("decoration", "default_grade", self.default_grade),
            *(("decoration.price_per_m2", k, v) for k, v in self.decoration_per_m2.items()),
            ("illegal", "rate", self.illegal_rate),
            ("business", "residential_uses", ", ".join(self.residential_uses)),
            ("", "source", self.source),
        ]
        return pd.DataFrame(rows, columns=["param_section", "param_name", "param_value"])


def _default_toml() -> dict[str, Any]:
    text = (
        resources.files("geo_renewal")
        .joinpath("params/compensation_default.toml")
        .read_text("utf-8")
    )
    return parse_toml(text, source="bundled:compensation_default", what="compensation scheme")


_KNOWN: dict[str, tuple[str, ...]] = {
    "location": ("default_price_per_m2", "streets"),
    "replacement": ("base_year", "min_share", "new_price_per_m2", "life_years"),
    "decoration": ("default_grade", "price_per_m2"),
    "illegal": ("rate",),
    "business": ("residential_uses",),
}


def _merge(base: dict[str, Any], user: Mapping[str, Any], source: str) -> dict[str, Any]:
    out = {k: dict(v) for k, v in base.items()}
    for sec, values in user.items():
        if sec not in _KNOWN or not isinstance(values, Mapping):
            msg = f"{source}: unknown section [{sec}]; the sections are {list(_KNOWN)}."
            raise InputError(msg)
        for k, v in values.items():
            if k not in _KNOWN[sec]:
                msg = (
                    f"{source}: unknown key {k!r} in [{sec}]; valid keys are {list(_KNOWN[sec])}."
                )
                raise InputError(msg)
            if isinstance(v, Mapping) and isinstance(out[sec].get(k), Mapping):
                out[sec][k] = {**out[sec][k], **v}
            else:
                out[sec][k] = v
    return out


def _price(v: Any, where: str, problems: list[str], *, allow_refuse: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
        problems.append(f"{where} must be a number, got {v!r}")
        return 0.0
    if v < 0 and not (allow_refuse and v == -1):
        problems.append(f"{where} must be ≥ 0 (a price cannot be negative), got {v:g}")
    return float(v)


def _build(sections: Mapping[str, Any], source: str) -> CompensationScheme:
    problems: list[str] = []
    loc, rep = sections["location"], sections["replacement"]
    dec, ill = sections["decoration"], sections["illegal"]
    streets = {
        str(k): _price(v, f"[location.streets] {k}", problems)
        for k, v in dict(loc.get("streets", {})).items()
    }
    new = {
        k: _price(v, f"[replacement.new_price_per_m2] {k}", problems)
        for k, v in dict(rep["new_price_per_m2"]).items()
    }
    life = {
        k: _price(v, f"[replacement.life_years] {k}", problems)
        for k, v in dict(rep["life_years"]).items()
    }
    for name, table in (("new_price_per_m2", new), ("life_years", life)):
        unknown = sorted(set(table) - set(_STRUCTURES))
        if unknown:
            problems.append(
                f"[replacement.{name}] has unknown structures {unknown}; use {list(_STRUCTURES)}"
            )
        missing = [s for s in _STRUCTURES if s not in table]
        if missing:
            problems.append(f"[replacement.{name}] lacks structures {missing}")
    if any(v == 0 for v in life.values()):
        problems.append("[replacement.life_years] must be > 0 years")
    grades = {
        k: _price(v, f"[decoration.price_per_m2] {k}", problems)
        for k, v in dict(dec["price_per_m2"]).items()
    }
    if str(dec["default_grade"]) not in grades:
        problems.append(
            f"[decoration] default_grade {dec['default_grade']!r} is not one of {list(grades)}"
        )
    min_share = _price(rep["min_share"], "[replacement] min_share", problems)
    rate = _price(ill["rate"], "[illegal] rate", problems)
    for name, v in (("[replacement] min_share", min_share), ("[illegal] rate", rate)):
        if v > 1:
            problems.append(f"{name} is a share between 0 and 1, got {v:g}")
    default = _price(
        loc["default_price_per_m2"], "[location] default_price_per_m2", problems, allow_refuse=True
    )
    if problems:
        msg = f"compensation scheme {source} is invalid: " + "; ".join(problems) + "."
        raise InputError(msg)
    return CompensationScheme(
        default_price_per_m2=default,
        street_prices=streets,
        base_year=int(rep["base_year"]),
        min_share=min_share,
        new_price_per_m2=new,
        life_years=life,
        default_grade=str(dec["default_grade"]),
        decoration_per_m2=grades,
        illegal_rate=rate,
        residential_uses=tuple(str(u) for u in sections["business"]["residential_uses"]),
        source=source,
    )


def load_compensation_scheme(
    path: str | Path | None = None, *, overrides: Mapping[str, Any] | None = None
) -> CompensationScheme:
    """
    Load a compensation scheme from TOML over the bundled defaults.

    Parameters
    ----------
    path
        A TOML file with any of the sections of
        ``geo_renewal/params/compensation_default.toml``; None for the defaults alone.
    overrides
        Sections applied last, e.g. ``{"location": {"default_price_per_m2": 15000}}``.

    Returns
    -------
    scheme
        The checked `CompensationScheme`.

    Raises
    ------
    InputError
        For an unknown section or key, a negative price, a share above 1 or a structure
        missing from a table (every problem at once).

    Examples
    --------
    >>> load_compensation_scheme().new_price_per_m2["frame"]
    1800.0
    >>> load_compensation_scheme(overrides={"illegal": {"rate": -0.5}})
    Traceback (most recent call last):
    ...
    geo_renewal._errors.InputError: compensation scheme (defaults) + overrides is invalid: [illegal] rate must be ≥ 0 (a price cannot be negative), got -0.5.
    """
    sections = _default_toml()
    source = "(defaults)"
    if path is not None:
        sections = _merge(sections, read_toml(path, what="compensation scheme"), str(path))
        source = str(path)
    if overrides:
        sections = _merge(sections, overrides, "overrides")
        source = f"{source} + overrides"
    return _build(sections, source)


def _as_scheme(
    scheme: CompensationScheme | str | Path | Mapping[str, Any] | None,
) -> CompensationScheme:
    if scheme is None:
        return load_compensation_scheme()
    if isinstance(scheme, CompensationScheme):
        return scheme
    if isinstance(scheme, str | Path):
        return load_compensation_scheme(scheme)
    return load_compensation_scheme(overrides=scheme)


def scheme_placeholder_keys(scheme: CompensationScheme) -> list[str]:
    """
    Return the scheme's prices still at the bundled placeholder values.

    Parameters
    ----------
    scheme
        The scheme used.

    Returns
    -------
    keys
        ``section.key`` of each price equal to the bundled default.

    Examples
    --------
    >>> "location.default_price_per_m2" in scheme_placeholder_keys(load_compensation_scheme())
    True
    """
    keys = ["param_section", "param_name"]
    default = load_compensation_scheme().table()
    same = scheme.table().merge(default, on=keys, suffixes=("", "_default"))
    same = same[same["param_value"] == same["param_value_default"]]
    skip = ("source", "base_year", "default_grade")
    return [f"{s}.{k}" for s, k in zip(same[keys[0]], same[keys[1]], strict=True) if k not in skip]


@dataclass(frozen=True)
class Compensation:
    """
    The result of `compensation_by_building`; money in 元.

    Attributes
    ----------
    buildings
        One row per input building (aligned on its index): ``building_id``, ``project_id``
        (None outside every 征收 project: not compensated), ``street``, ``band_id``, areas
        (``legal_floor_area``, ``illegal_floor_area``, ``business_floor_area``),
        ``households``, ``cash_households``, ``flat_households``, the prices used
        (``location_price``, ``newness``, ``replacement_price``, ``decoration_grade``,
        ``temporary_months``), the value parts (``comp_location``, ``comp_replacement``,
        ``comp_decoration``, ``comp_illegal``), the fund's lines `COMPENSATION_LINES`,
        ``compensation`` and ``per_household``.
    projects
        One row per project with compensated buildings (and an ``outside`` row of the rest):
        the sums of the buildings.
    streets
        The same sums per street.
    scheme, params
        The scheme and the fund parameters used.
    """

    buildings: pd.DataFrame
    projects: pd.DataFrame
    streets: pd.DataFrame
    scheme: CompensationScheme
    params: FundParams


_SUMS = (
    "n_buildings",
    "floor_area",
    "legal_floor_area",
    "illegal_floor_area",
    "business_floor_area",
    "households",
    "cash_households",
    "flat_households",
    *_VALUE_PARTS,
    *COMPENSATION_LINES,
    "compensation",
)


def compensation_by_building(
    buildings: pd.DataFrame,
    *,
    scheme: CompensationScheme | str | Path | Mapping[str, Any] | None = None,
    params: FundParams | str | Path | Mapping[str, Any] | None = None,
    projects: pd.DataFrame | None = None,
    bands: pd.DataFrame | None = None,
    parcels: pd.DataFrame | None = None,
) -> Compensation:
    """
    Price the compensation of every building, household, project and street (征收补偿测算).

    Parameters
    ----------
    buildings
        One row per building with ``building_id`` and ``floor_area``; used when present:
        ``project_id`` (else the project polygon holding the building's inner point),
        ``structure``, ``build_year``, ``households``, ``illegal`` (its floor area is
        illegal), ``illegal_floor_area`` (the illegal part), ``land_use`` (else its
        parcel's; non-residential floor area counts for 停产停业损失), ``street`` (else its
        parcel's), ``decoration`` (装修等级), ``cash_households`` (households that chose cash,
        from a household survey; else households × cash share, rounded to whole households
        by the largest remainder over the projects, then their buildings:
        `geo_renewal.demand.split_households`).
    scheme
        `CompensationScheme`, a TOML path, overrides, or None for the bundled placeholders.
    params
        Fund parameters (per-household items and the cash share; `load_fund_params`).
    projects
        Projects: ``project_id``, optional ``project_type`` (only 征收拆迁 projects are
        compensated), polygons (to place buildings without ``project_id``), ``cash_share``
        and ``temporary_months`` columns overriding the parameters, ``flat_ready`` (the date
        the resettlement flats are ready) with ``signing_actual`` / ``signing_planned``
        (temporary months = from signing to flat ready).
    bands
        Price bands (区位价分区): polygons with ``band_id`` and ``location_price``; a band
        layer must not overlap itself, and a building outside every band takes its street's
        price or the scheme's default (refused when that is −1).
    parcels
        Parcels with ``parcel_id``, ``street`` and ``land_use``, for buildings that lack them.

    Returns
    -------
    compensation
        A `Compensation`; the project totals equal the sums of the buildings.

    Raises
    ------
    InputError
        Overlapping bands (with the band and building ids), buildings outside every band
        without a price (with their ids), a negative band price, an unknown structure or
        decoration grade.

    Examples
    --------
    >>> b = pd.DataFrame({"building_id": ["B1", "B2"], "project_id": ["P", "P"],
    ...     "floor_area": [100.0, 50.0], "illegal": [False, True], "households": [2, 0],
    ...     "structure": ["frame", "simple"], "build_year": [1994, 1990]})
    >>> c = compensation_by_building(b)
    >>> c.buildings[["newness", "comp_location", "comp_illegal"]].round(2).values.tolist()
    [[0.5, 1200000.0, 0.0], [0.3, 0.0, 0.0]]
    >>> float(c.projects.loc["P", "compensation"]) == float(c.buildings["compensation"].sum())
    True
    """
    s = _as_scheme(scheme)
    p = _as_params(params)
    b = _inputs(buildings, projects, parcels)
    _place(b, s, bands, _points(buildings))
    _value(b, s)
    _household_items(b, p, projects)
    table = _finish(b)
    return Compensation(
        buildings=table,
        projects=_sums(table, "project_id"),
        streets=_sums(table, "street"),
        scheme=s,
        params=p,
    )


def _inputs(
    buildings: pd.DataFrame, projects: pd.DataFrame | None, parcels: pd.DataFrame | None
) -> pd.DataFrame:
    """Return the building inputs: project, street, land use, areas, households."""
    for col in ("building_id", "floor_area"):
        if col not in buildings.columns:
            msg = (
                f"`buildings` has no column {col!r}; its columns are "
                f"{[str(c) for c in buildings.columns]}; read it with kind='buildings'."
            )
            raise SchemaError(msg)
    b = pd.DataFrame(index=buildings.index)
    b["building_id"] = buildings["building_id"].astype(str)
    pid = _project_of(buildings, projects).astype(object)
    b["project_id"] = pd.Series(
        pid.where(pid.notna(), None).to_numpy(dtype=object), index=b.index, dtype=object
    )
    info = _parcel_info(buildings, parcels)
    b["street"] = info["street"]
    b["land_use"] = info["land_use"]
    fa = pd.to_numeric(buildings["floor_area"], errors="coerce").fillna(0.0).astype(float)
    if (fa < 0).any():
        bad = b.loc[fa < 0, "building_id"].tolist()[:10]
        msg = f"`buildings` floor_area is negative for buildings {bad}; give areas ≥ 0 m²."
        raise InputError(msg)
    b["floor_area"] = fa
    illegal = _illegal_area(buildings, fa)
    b["illegal_floor_area"] = illegal
    b["legal_floor_area"] = fa - illegal
    hh = _column(buildings, "households").fillna(0.0)
    b["households"] = hh
    b["_cash_given"] = _column(buildings, "cash_households")
    b["structure"] = (
        buildings["structure"].astype(object).where(buildings["structure"].notna(), "other")
        if "structure" in buildings.columns
        else "other"
    )
    b["build_year"] = _column(buildings, "build_year")
    b["decoration_grade"] = (
        buildings["decoration"].astype(object) if "decoration" in buildings.columns else None
    )
    return b


def _column(df: pd.DataFrame, col: str) -> pd.Series:
    if col not in df.columns:
        return pd.Series(np.nan, index=df.index, dtype=float)
    return pd.to_numeric(df[col], errors="coerce").astype(float)


def _illegal_area(buildings: pd.DataFrame, fa: pd.Series) -> pd.Series:
    if "illegal_floor_area" in buildings.columns:
        part = _column(buildings, "illegal_floor_area").fillna(0.0)
        return part.clip(lower=0.0, upper=fa)
    if "illegal" in buildings.columns:
        flag = buildings["illegal"].fillna(False).astype(bool)
        return fa.where(flag, 0.0)
    return pd.Series(0.0, index=buildings.index)


def _project_of(buildings: pd.DataFrame, projects: pd.DataFrame | None) -> pd.Series:
    """Return the building's 征收 project: its column, else the polygon holding its point."""
    if "project_id" in buildings.columns:
        raw = buildings["project_id"]
        pid = raw.astype(str).astype(object).where(raw.notna(), None)
    elif projects is not None and "geometry" in projects.columns and "geometry" in buildings:
        import geopandas as gpd

        pts = gpd.GeoDataFrame(
            geometry=buildings.geometry.representative_point(), crs=buildings.crs
        )
        poly = gpd.GeoDataFrame(
            {"project_id": projects["project_id"].astype(str).to_numpy()},
            geometry=projects.geometry.to_numpy(),
            crs=projects.crs,
        ).to_crs(buildings.crs)
        hit = gpd.sjoin(pts, poly, how="left", predicate="within")
        hit = hit[~hit.index.duplicated(keep="first")]
        pid = hit["project_id"].reindex(buildings.index).astype(object)
        pid = pid.where(pid.notna(), None)
    else:
        return pd.Series(None, index=buildings.index, dtype=object)
    if projects is not None and "project_type" in projects.columns:
        expro = set(projects.loc[projects["project_type"] == "demolish", "project_id"].astype(str))
        pid = pid.where(pid.isin(expro), None)
    return pid


def _parcel_info(buildings: pd.DataFrame, parcels: pd.DataFrame | None) -> pd.DataFrame:
    out = pd.DataFrame(index=buildings.index)
    for col in ("street", "land_use"):
        own = buildings[col].astype(object) if col in buildings.columns else None
        fill = None
        if parcels is not None and col in parcels.columns and "parcel_id" in buildings.columns:
            lookup = parcels.drop_duplicates("parcel_id").set_index("parcel_id")[col]
            fill = buildings["parcel_id"].map(lookup)
        if own is None:
            own = fill if fill is not None else pd.Series(None, index=buildings.index)
        elif fill is not None:
            own = own.where(own.notna(), fill)
        out[col] = own.astype(object).where(own.notna(), None)
    return out


def _points(buildings: pd.DataFrame) -> Any:
    """Return the buildings' inner points (None without polygons)."""
    if "geometry" in buildings.columns and getattr(buildings, "crs", None) is not None:
        return buildings.geometry.representative_point()
    return None


def _place(b: pd.DataFrame, s: CompensationScheme, bands: pd.DataFrame | None, pts: Any) -> None:
    """Set each building's 区位价: its band, else its street's, else the default."""
    band_id = pd.Series(None, index=b.index, dtype=object)
    price = pd.Series(np.nan, index=b.index, dtype=float)
    if bands is not None:
        band_id, price = _band_prices(b, bands, pts)
    street = b["street"].map(s.street_prices).astype(float)
    price = price.fillna(street)
    if s.default_price_per_m2 >= 0:
        price = price.fillna(s.default_price_per_m2)
    missing = price.isna() & b["project_id"].notna()
    if missing.any():
        ids = b.loc[missing, "building_id"].tolist()
        msg = (
            f"{len(ids)} buildings of 征收 projects are in no price band and their street has no "
            f"区位价: {ids[:10]}{' …' if len(ids) > 10 else ''}; extend the band layer, add "
            f"[location.streets] prices, or set [location] default_price_per_m2."
        )
        raise InputError(msg)
    b["band_id"] = band_id
    b["location_price"] = price.fillna(0.0)


def _band_prices(b: pd.DataFrame, bands: pd.DataFrame, pts: Any) -> tuple[pd.Series, pd.Series]:
    import geopandas as gpd

    from geo_renewal._overlaps import _overlapping_pairs

    for col in ("band_id", "location_price"):
        if col not in bands.columns:
            msg = (
                f"the price bands have no column {col!r} (区位编号 / 区位价); their columns are "
                f"{[str(c) for c in bands.columns]}."
            )
            raise SchemaError(msg)
    prices = pd.to_numeric(bands["location_price"], errors="coerce")
    bad = prices.isna() | (prices < 0)
    if bad.any():
        msg = (
            f"price bands {bands.loc[bad, 'band_id'].astype(str).tolist()} have a missing or "
            f"negative 区位价 {bands.loc[bad, 'location_price'].tolist()}; give prices ≥ 0 元/㎡."
        )
        raise InputError(msg)
    if pts is None:
        msg = "price bands need the buildings' polygons (a `buildings` layer with geometry)."
        raise SchemaError(msg)
    geoms = gpd.GeoSeries(bands.geometry.to_numpy(), crs=bands.crs).to_crs(pts.crs)
    a, c, _, _ = _overlapping_pairs(geoms.to_numpy(), tolerance=1.0, threads=1)
    if len(a):
        _refuse_overlaps(bands, geoms, list(zip(a.tolist(), c.tolist(), strict=True)), pts, b)
    joined = gpd.sjoin(
        gpd.GeoDataFrame(geometry=pts, crs=pts.crs),
        gpd.GeoDataFrame(
            {"band_id": bands["band_id"].astype(str).to_numpy(), "_price": prices.to_numpy()},
            geometry=geoms.to_numpy(),
            crs=pts.crs,
        ),
        how="left",
        predicate="within",
    )
    joined = joined[~joined.index.duplicated(keep="first")]
    return (
        joined["band_id"].reindex(b.index).astype(object),
        joined["_price"].reindex(b.index).astype(float),
    )


def _refuse_overlaps(
    bands: pd.DataFrame, geoms: Any, pairs: list[tuple[int, int]], pts: Any, b: pd.DataFrame
) -> None:
    ids = bands["band_id"].astype(str).to_numpy()
    names = [f"{ids[i]} and {ids[j]}" for i, j in pairs[:5]]
    inside: list[str] = []
    for i, j in pairs[:5]:
        overlap = geoms.iloc[i].intersection(geoms.iloc[j])
        inside += b.loc[pts.within(overlap).to_numpy(), "building_id"].tolist()
    msg = (
        f"the price bands overlap ({'; '.join(names)}), so a building there would have two "
        f"区位价; buildings in the overlap: {inside[:10] or 'none'}; correct the band layer so "
        f"the bands only touch."
    )
    raise InputError(msg)


def _value(b: pd.DataFrame, s: CompensationScheme) -> None:
    """重置成新价, 装修 and the value parts, vectorised over the buildings."""
    codes = pd.Index(_STRUCTURES).get_indexer(b["structure"].astype(object))
    if (codes < 0).any():
        structure = b["structure"].astype(str)
        unknown = sorted(set(structure[codes < 0]))
        msg = (
            f"buildings {b.loc[codes < 0, 'building_id'].tolist()[:10]} have "
            f"structures {unknown} that are not codes of {list(_STRUCTURES)}; read the layer "
            f"with kind='buildings' (结构 labels are mapped) or correct the cells."
        )
        raise InputError(msg)
    age = (s.base_year - b["build_year"]).clip(lower=0)
    life = np.array([s.life_years[k] for k in _STRUCTURES])[codes]
    newness = (1 - age / life).clip(lower=s.min_share, upper=1.0).fillna(s.min_share)
    b["newness"] = newness
    b["replacement_price"] = (
        np.array([s.new_price_per_m2[k] for k in _STRUCTURES])[codes] * newness
    )
    grades = list(s.decoration_per_m2)
    gcodes = pd.Index(grades).get_indexer(b["decoration_grade"].astype(object))
    given = b["decoration_grade"].notna().to_numpy()
    bad = pd.Series((gcodes < 0) & given, index=b.index)
    gcodes = np.where(given, gcodes, grades.index(s.default_grade))
    grade = pd.Series(np.array(grades, dtype=object)[gcodes], index=b.index, dtype=object)
    if bad.any():
        msg = (
            f"buildings {b.loc[bad, 'building_id'].tolist()[:10]} have decoration grades "
            f"{sorted(set(b.loc[bad, 'decoration_grade'].astype(str)))}; use one of {grades}."
        )
        raise InputError(msg)
    b["decoration_grade"] = grade
    on = b["project_id"].notna().astype(float)
    legal = b["legal_floor_area"] * on
    b["comp_location"] = b["location_price"] * legal
    b["comp_replacement"] = b["replacement_price"] * legal
    b["comp_decoration"] = np.array([s.decoration_per_m2[g] for g in grades])[gcodes] * legal
    b["comp_illegal"] = b["location_price"] * s.illegal_rate * b["illegal_floor_area"] * on
    b["comp_appraised"] = b[list(_VALUE_PARTS)].sum(axis=1)
    residential = b["land_use"].isin(s.residential_uses) | b["land_use"].isna()
    b["business_floor_area"] = (b["legal_floor_area"] * on).where(~residential, 0.0)


def _household_items(b: pd.DataFrame, p: FundParams, projects: pd.DataFrame | None) -> None:
    """搬迁费, 临时安置费 (flat households × months), 停产停业损失, 签约奖励, cash or flat."""
    on = b["project_id"].notna().astype(float)
    hh = b["households"] * on
    share = pd.Series(p.cash_share, index=b.index)
    months = pd.Series(p.temporary_months, index=b.index)
    if projects is not None:
        per = _project_rates(projects, p)
        share = b["project_id"].map(per["cash_share"]).fillna(p.cash_share)
        months = b["project_id"].map(per["temporary_months"]).fillna(p.temporary_months)
    from geo_renewal.demand import split_households

    cash = split_households(
        hh.to_numpy(dtype=float),
        share.to_numpy(dtype=float),
        groups=b["project_id"].to_numpy(dtype=object),
        surveyed=b["_cash_given"].where(on > 0).to_numpy(dtype=float),
    )
    b["cash_households"] = (cash * on).astype(float)  # whole households (largest remainder)
    b["flat_households"] = hh - b["cash_households"]
    b["temporary_months"] = months.where(on > 0)
    b["comp_moving"] = p.moving_per_household * hh
    b["comp_temporary"] = p.temporary_per_household_month * months * b["flat_households"]
    b["comp_business"] = p.business_loss_per_m2 * b["business_floor_area"]
    b["comp_incentive"] = p.incentive_per_household * hh


def _project_rates(projects: pd.DataFrame, p: FundParams) -> pd.DataFrame:
    """Per project: the cash share and the months until the flats are ready."""
    ids = projects["project_id"].astype(str)
    out = pd.DataFrame(index=ids.to_numpy())
    share = _column(projects, "cash_share")
    out["cash_share"] = share.fillna(p.cash_share).to_numpy()
    months = _column(projects, "temporary_months")
    if "flat_ready" in projects.columns:
        signing = pd.Series(pd.NaT, index=projects.index, dtype="datetime64[ns]")
        for col in ("signing_planned", "signing_actual"):
            if col in projects.columns:
                d = pd.to_datetime(projects[col], errors="coerce")
                signing = d.where(d.notna(), signing)
        ready = pd.to_datetime(projects["flat_ready"], errors="coerce")
        span = ((ready - signing).dt.days / (365.25 / 12)).clip(lower=0)
        months = months.fillna(span)
    out["temporary_months"] = months.fillna(p.temporary_months).to_numpy()
    return out


def _finish(b: pd.DataFrame) -> pd.DataFrame:
    b = b.drop(columns="_cash_given")
    b["n_buildings"] = 1
    b["compensation"] = b[list(COMPENSATION_LINES)].sum(axis=1)
    b["per_household"] = b["compensation"] / b["households"].where(b["households"] > 0)
    return b


def _sums(table: pd.DataFrame, by: str) -> pd.DataFrame:
    key = table[by].astype(object).where(table[by].notna(), schema.OUTSIDE_ROW)
    sums = table[list(_SUMS)].groupby(key.to_numpy(), sort=True).sum()
    sums.index.name = by
    sums.loc[schema.TOTAL_ROW] = table[list(_SUMS)].sum()
    sums["n_buildings"] = sums["n_buildings"].astype(int)
    return sums
