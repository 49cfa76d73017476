"""
The view-corridor part of a project run: its project-file section, step, sheet and report.

The ``[corridors]`` section of a project file, the workflow step (heights, corridors, river
zones, checks, skylines, 3D view and files), its workbook sheet and its report section. See docs/guide/corridors.md.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geo_renewal._errors import InputError
from geo_renewal._html import escape
from geo_renewal.text import say

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "CorridorRun",
    "CorridorSpec",
    "corridor_report",
    "corridor_slide",
    "corridor_tables",
    "corridors_section",
    "run_corridors",
]

#: Keys of the ``[corridors]`` section.
SECTION_KEYS = {
    "viewpoints",
    "landmarks",
    "plots",
    "width",
    "angle",
    "band",
    "clearance",
    "river_zones",
    "bank_offset",
    "dem",
    "span",
    "step",
    "storey_heights",
    "res",
}
#: Output name -> file name of the step's files.
CORRIDOR_FILES = {
    "corridors": "corridors.gpkg",
    "permitted_height": "permitted_height.tif",
    "skyline": "skyline.png",
    "view3d": "view3d.html",
}


@dataclass(frozen=True)
class CorridorSpec:
    """The checked ``[corridors]`` section (see `corridors_section` for the keys)."""

    viewpoints: tuple[Path, str | None]
    landmarks: tuple[Path, str | None]
    plots: tuple[Path, str | None] | None = None
    width: float | None = None
    angle: float | None = None
    band: float | None = None
    clearance: float = 0.0
    river_zones: bool | Path = False
    bank_offset: float = 0.0
    dem: Path | None = None
    span: float = 120.0
    step: float = 0.1
    storey_heights: Path | None = None
    res: float = 5.0


def _refuse(path: Path, key: str, problem: str, fix: str) -> InputError:
    return InputError(f"{path}: `corridors.{key}` {problem}; {fix}")


def _file(base: Path, value: Any, path: Path, key: str) -> Path:
    if not isinstance(value, str) or not value:
        raise _refuse(path, key, f"must be a file path, got {value!r}", "write it as a string")
    p = Path(value) if Path(value).is_absolute() else base / value
    if not p.exists():
        raise _refuse(path, key, f"names {p}, which does not exist", "fix the path")
    return p.resolve()


def _layer(base: Path, value: Any, path: Path, key: str) -> tuple[Path, str | None]:
    if isinstance(value, str):
        return _file(base, value, path, key), None
    if not isinstance(value, dict) or set(value) - {"path", "layer"} or "path" not in value:
        raise _refuse(
            path,
            key,
            "must be a table with path (and layer)",
            'write e.g. `viewpoints = { path = "views.gpkg", layer = "viewpoints" }`',
        )
    layer = value.get("layer")
    if layer is not None and not isinstance(layer, str):
        raise _refuse(path, f"{key}.layer", f"must be a string, got {layer!r}", "quote it")
    return _file(base, value["path"], path, f"{key}.path"), layer


def _num(section: dict[str, Any], key: str, path: Path, lo: float, hi: float, default: Any) -> Any:
    if key not in section:
        return default
    v = section[key]
    if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi:
        raise _refuse(
            path, key, f"must be a number from {lo:g} to {hi:g}, got {v!r}", "fix the value"
        )
    return float(v)


def corridors_section(section: Any, base: Path, path: Path) -> CorridorSpec | None:
    """
    Check the ``[corridors]`` section of a project file; None when there is none.

    Keys: ``viewpoints`` and ``landmarks`` (required; a path or ``{path, layer}``),
    ``plots`` (planned plots), ``width`` (m) or ``angle`` (°), ``band`` and ``clearance``
    (m), ``river_zones`` (true, or a zones TOML), ``bank_offset`` (m), ``dem`` (GeoTIFF),
    ``span`` and ``step`` of the skyline (°), ``storey_heights`` (TOML), ``res`` (m, of
    the permitted-height raster).

    Parameters
    ----------
    section
        The parsed section, or None.
    base
        The folder relative paths start from.
    path
        The project file, for messages.

    Returns
    -------
    spec
        The checked section.

    Raises
    ------
    InputError
        Naming the first wrong key and its fix.

    Examples
    --------
    >>> from pathlib import Path
    >>> from geo_renewal.datasets import get_path
    >>> data = get_path("sample_district")
    >>> spec = corridors_section({"viewpoints": {"path": str(data), "layer": "viewpoints"},
    ...                           "landmarks": {"path": str(data), "layer": "landmarks"},
    ...                           "width": 150}, Path("."), Path("plan.toml"))
    >>> spec.width, spec.span
    (150.0, 120.0)
    """
    if section is None:
        return None
    if not isinstance(section, dict):
        msg = f"{path}: `corridors` must be a table; write it as [corridors]"
        raise InputError(msg)
    unknown = sorted(set(section) - SECTION_KEYS)
    if unknown:
        from geo_renewal._checks import did_you_mean

        hint = did_you_mean(unknown[0], sorted(SECTION_KEYS))
        raise _refuse(
            path,
            unknown[0],
            "is not a key",
            f"{hint}valid keys: {', '.join(sorted(SECTION_KEYS))}",
        )
    for key in ("viewpoints", "landmarks"):
        if key not in section:
            raise _refuse(
                path,
                key,
                "is missing",
                f'add e.g. `{key} = {{ path = "views.gpkg", layer = "{key}" }}`',
            )
    if "width" in section and "angle" in section:
        raise _refuse(path, "angle", "is given with width", "keep one of them")
    zones = section.get("river_zones", False)
    if not isinstance(zones, bool):
        zones = _file(base, zones, path, "river_zones")
    return CorridorSpec(
        viewpoints=_layer(base, section["viewpoints"], path, "viewpoints"),
        landmarks=_layer(base, section["landmarks"], path, "landmarks"),
        plots=_layer(base, section["plots"], path, "plots") if "plots" in section else None,
        width=_num(section, "width", path, 1, 10_000, None if "angle" in section else 150.0),
        angle=_num(section, "angle", path, 0.01, 170, None),
        band=_num(section, "band", path, 0, 10_000, None),
        clearance=_num(section, "clearance", path, 0, 1_000, 0.0),
        river_zones=zones,
        bank_offset=_num(section, "bank_offset", path, 0, 5_000, 0.0),
        dem=_file(base, section["dem"], path, "dem") if "dem" in section else None,
        span=_num(section, "span", path, 1, 360, 120.0),
        step=_num(section, "step", path, 0.01, 10, 0.1),
        storey_heights=(
            _file(base, section["storey_heights"], path, "storey_heights")
            if "storey_heights" in section
            else None
        ),
        res=_num(section, "res", path, 0.5, 100, 5.0),
    )


@dataclass
class CorridorRun:
    """
    What the corridor step produced.

    Attributes
    ----------
    surfaces
        Corridors and river zones.
    checks
        One row per building or plot and surface it stands in (``layer`` = ``buildings`` /
        ``plots``), with the permitted height and the excess.
    skylines
        Viewpoint name -> {"current": profile, "planned": profile}.
    chart_png
        The skyline chart (PNG bytes) for the report.
    n_unknown
        Buildings in a surface whose height is unknown.
    placeholders
        Bundled default parameters the step used (river zones, storey heights).
    """

    surfaces: Any
    checks: pd.DataFrame
    skylines: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)
    chart_png: bytes = b""
    n_unknown: int = 0
    placeholders: tuple[str, ...] = ()

    def caveat(self, lang: str) -> str:
        """Return the sentence on placeholder parameters ("" if none)."""
        if not self.placeholders:
            return ""
        parts = [say(f"corridors.placeholder.{p}", lang) for p in self.placeholders]
        which = say("resettlement.id_separator", lang).join(parts)
        return say("corridors.placeholder", lang, which=which)

    def summary(self) -> dict[str, Any]:
        """Return the key figures: corridors, zones, buildings in them, above, worst excess."""
        kinds = self.surfaces["kind"]
        b = self.checks[self.checks["layer"] == "buildings"]
        worst = b.groupby("row")["excess_m"].max()
        return {
            "n_corridors": int((kinds == "corridor").sum()),
            "n_zones": int((kinds == "zone").sum()),
            "n_in": int(worst.size),
            "n_over": int((worst > 0).sum()),
            "max_excess": float(worst.max()) if (worst > 0).any() else 0.0,
            **self._plot_summary(),
        }

    def _plot_summary(self) -> dict[str, Any]:
        """Planned plots in the corridors and zones, those above, their worst excess."""
        p = self.checks[self.checks["layer"] == "plots"]
        worst = p.groupby("row")["excess_m"].max()
        return {
            "n_plots_in": int(worst.size),
            "n_plots_over": int((worst > 0).sum()),
            "max_plot_excess": float(worst.max()) if (worst > 0).any() else 0.0,
        }


def run_corridors(result: Any, out: Path) -> None:
    """
    Run the corridor step of a project: checks, skylines, the 3D view and their files.

    Sets ``result.corridors`` (a `CorridorRun`) and adds the files to ``result.files``;
    does nothing without a ``[corridors]`` section.

    Parameters
    ----------
    result
        The `geo_renewal.workflow.RunResult` so far (layers read and validated).
    out
        The (staging) folder to write into.
    """
    spec = getattr(result.plan, "corridors", None)
    if spec is None:
        return
    buildings = result.layers.get("buildings")
    if buildings is None:
        msg = f"{result.plan.path}: [corridors] needs the buildings layer; add [layers.buildings]."
        raise InputError(msg)
    state = _compute(spec, buildings, result.constraints.get("river"))
    state.run.chart_png = _write_files(spec, state, buildings, out, result)
    result.corridors = state.run


@dataclass
class _State:
    run: CorridorRun
    viewpoints: Any
    landmarks: Any
    heights: pd.DataFrame
    plots: Any = None
    plot_heights: pd.DataFrame | None = None
    chart_png: bytes = b""


def _read(spec_layer: tuple[Path, str | None]) -> gpd.GeoDataFrame:
    from geo_renewal.io import read_layer

    return read_layer(spec_layer[0], layer=spec_layer[1])


def _compute(spec: CorridorSpec, buildings: gpd.GeoDataFrame, river: Any) -> _State:
    from geo_renewal.corridors import (
        all_surfaces,
        corridors_from_points,
        height_checks,
        river_height_zones,
    )
    from geo_renewal.heights import building_heights, plot_heights

    vps, lms = _read(spec.viewpoints), _read(spec.landmarks)
    params = spec.storey_heights
    placeholders = [] if params else ["storey_heights"]
    h = building_heights(buildings, params=params, dem=spec.dem)
    surfaces = corridors_from_points(
        vps,
        lms,
        width=spec.width,
        angle=spec.angle,
        band=spec.band,
        clearance=spec.clearance,
        dem=spec.dem,
    )
    if spec.river_zones is not False:
        if river is None:
            msg = "[corridors] river_zones needs the river layer; add [constraints.river]."
            raise InputError(msg)
        zone_file = None if spec.river_zones is True else spec.river_zones
        placeholders += ["river_zones"] if zone_file is None else []
        zones = river_height_zones(river, params=zone_file, bank_offset=spec.bank_offset)
        surfaces = all_surfaces(surfaces, zones)
    ids = "building_id" if "building_id" in buildings.columns else None
    checks = [
        height_checks(
            buildings, surfaces, heights=h.height_m, ground=h.ground_m, id_col=ids
        ).assign(layer="buildings")
    ]
    plots = ph = None
    if spec.plots is not None:
        plots = _read(spec.plots)
        ph = plot_heights(plots, params=params)
        pid = "plot_id" if "plot_id" in plots.columns else None
        checks.append(
            height_checks(plots, surfaces, heights=ph.height_m, id_col=pid).assign(layer="plots")
        )
    table = pd.concat(checks, ignore_index=True)
    unknown = table[(table["layer"] == "buildings") & table["excess_m"].isna()]["row"].nunique()
    run = CorridorRun(
        surfaces=surfaces, checks=table, n_unknown=int(unknown), placeholders=tuple(placeholders)
    )
    return _State(run, vps, lms, h, plots, ph)


def _excess(checks: pd.DataFrame, layer: str, index: pd.Index, surfaces: Any = None) -> pd.Series:
    part = checks[checks["layer"] == layer]
    if surfaces is not None:
        part = part[part["surface"].isin(list(surfaces))]
    return part.groupby("row")["excess_m"].max().reindex(index).fillna(-np.inf)


def _skylines(
    spec: CorridorSpec, state: _State, buildings: gpd.GeoDataFrame, lang: str
) -> list[dict[str, Any]]:
    """One chart panel per viewpoint: current and planned skylines, breaches of its corridors."""
    from geo_renewal.skyline import planned_massing

    massing = None
    if state.plots is not None and state.plot_heights is not None:
        massing = planned_massing(
            buildings,
            state.plots,
            building_heights=state.heights.height_m,
            plot_heights=state.plot_heights.height_m,
        )
    names = (
        state.viewpoints["name"].astype(str).tolist()
        if "name" in state.viewpoints
        else [f"V{i + 1}" for i in range(len(state.viewpoints))]
    )
    return [_panel(spec, state, buildings, massing, i, name, lang) for i, name in enumerate(names)]


def _panel(
    spec: CorridorSpec,
    state: _State,
    buildings: gpd.GeoDataFrame,
    massing: Any,
    i: int,
    name: str,
    lang: str,
) -> dict[str, Any]:
    from geo_renewal.skyline import corridor_bearings, landmark_angles, skyline_profile

    run = state.run
    vp = state.viewpoints.iloc[[i]]
    corridors = run.surfaces[run.surfaces["kind"] == "corridor"]
    mine = corridors[corridors["viewpoint"] == name]
    band = (
        state.landmarks["band"].to_numpy(dtype=float)
        if spec.band is None and "band" in state.landmarks
        else (spec.band or 0.0)
    )
    angles = landmark_angles(state.landmarks, vp, band=band)
    centre = float(np.degrees(np.angle(np.exp(1j * np.radians(angles["azimuth"])).mean()))) % 360.0
    azimuths = (centre - spec.span / 2, centre + spec.span / 2)
    now = _excess(run.checks, "buildings", buildings.index, mine["surface"])
    profiles = {
        say("skyline.current", lang): skyline_profile(
            buildings,
            vp,
            azimuths=azimuths,
            step=spec.step,
            heights=state.heights.height_m,
            ground=state.heights.ground_m,
            excess=now,
        )
    }
    if massing is not None:
        is_plot = (massing["source"] == "plot").to_numpy()
        plot_ex = _excess(run.checks, "plots", state.plots.index, mine["surface"])
        ex = np.where(
            is_plot,
            plot_ex.reindex(massing["row"].where(is_plot)).to_numpy(),
            now.reindex(massing["row"].where(~is_plot)).to_numpy(),
        )
        profiles[say("skyline.planned", lang)] = skyline_profile(
            massing, vp, azimuths=azimuths, step=spec.step, heights=massing.height_m, excess=ex
        )
    run.skylines[name] = dict(zip(("current", "planned"), profiles.values(), strict=False))
    return {
        "profiles": profiles,
        "title": say("skyline.title", lang, viewpoint=name),
        "landmarks": angles.assign(azimuth=_unwrap_values(angles["azimuth"].to_numpy(), centre)),
        "corridors": _unwrap(corridor_bearings(mine, vp), centre),
    }


def _unwrap_values(az: np.ndarray, centre: float) -> np.ndarray:
    return centre + (np.asarray(az, dtype=float) - centre + 180.0) % 360.0 - 180.0


def _unwrap(spans: pd.DataFrame, centre: float) -> pd.DataFrame:
    return spans.assign(
        azimuth_from=_unwrap_values(spans["azimuth_from"].to_numpy(), centre),
        azimuth_to=_unwrap_values(spans["azimuth_to"].to_numpy(), centre),
    )


def _write_files(
    spec: CorridorSpec, state: _State, buildings: gpd.GeoDataFrame, out: Path, result: Any
) -> bytes:
    from geo_renewal.io import atomic_write, write_layer
    from geo_renewal.skyline import skyline_panels
    from geo_renewal.surfaces import surface_contours, surface_raster
    from geo_renewal.view3d import view3d_html

    lang = result.plan.lang
    run = state.run
    path = out / CORRIDOR_FILES["corridors"]
    with atomic_write(path) as tmp:
        write_layer(run.surfaces, tmp, layer="surfaces")
        write_layer(surface_contours(run.surfaces, step=10.0, dem=spec.dem), tmp, layer="contours")
        write_layer(
            _checks_layer(run.checks, buildings, "buildings"), tmp, layer="building_checks"
        )
        if state.plots is not None:
            write_layer(_checks_layer(run.checks, state.plots, "plots"), tmp, layer="plot_checks")
    result.files["corridors"] = path
    result.files["permitted_height"] = surface_raster(
        run.surfaces, out / CORRIDOR_FILES["permitted_height"], res=spec.res, dem=spec.dem
    )
    skyline_panels(
        _skylines(spec, state, buildings, lang),
        path=out / CORRIDOR_FILES["skyline"],
        lang=lang,
        note=run.caveat(lang) or None,
    )
    result.files["skyline"] = out / CORRIDOR_FILES["skyline"]
    inside = np.isin(
        buildings.index, run.checks.loc[run.checks["layer"] == "buildings", "row"].unique()
    )
    near = _near(buildings, run.surfaces, inside)
    result.files["view3d"] = view3d_html(
        buildings[near],
        out / CORRIDOR_FILES["view3d"],
        heights=state.heights.height_m[near],
        excess=_excess(run.checks, "buildings", buildings.index)[near],
        surfaces=run.surfaces[run.surfaces["kind"] == "corridor"],
        landmarks=state.landmarks,
        viewpoints=state.viewpoints,
        id_col="building_id" if "building_id" in buildings else None,
        lang=lang,
        note=run.caveat(lang) or None,
    )
    return result.files["skyline"].read_bytes()


def _near(buildings: gpd.GeoDataFrame, surfaces: Any, inside: np.ndarray) -> np.ndarray:
    """Select the buildings in a surface or within 300 m of a corridor (the 3D view's context)."""
    import shapely

    corridors = surfaces[surfaces["kind"] == "corridor"]
    if not len(corridors):
        return inside
    area = shapely.buffer(shapely.union_all(np.asarray(corridors.geometry.array)), 300.0)
    geoms = np.asarray(buildings.to_crs(surfaces.crs).geometry.array)
    return inside | shapely.intersects(area, geoms)


def _checks_layer(checks: pd.DataFrame, layer: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    import geopandas as gpd

    part = checks[checks["layer"] == name].drop(columns="layer")
    geoms = layer.geometry.loc[part["row"]].to_numpy()
    return gpd.GeoDataFrame(part.reset_index(drop=True), geometry=list(geoms), crs=layer.crs)


def corridor_tables(result: Any) -> dict[str, pd.DataFrame]:
    """
    Return the workbook sheet of the corridor checks (empty without a ``[corridors]`` run).

    Parameters
    ----------
    result
        A `geo_renewal.workflow.RunResult`.

    Returns
    -------
    tables
        Sheet name -> the checks, worst excess first.
    """
    run = getattr(result, "corridors", None)
    if run is None:
        return {}
    return {say("corridors.sheet", result.plan.lang): _sheet(run.checks)}


def _sheet(checks: pd.DataFrame) -> pd.DataFrame:
    """Return the checks as a meeting table: unknown heights first, then the worst, in cm."""
    table = checks.rename(columns={"layer": "feature", "kind": "surface_kind"})
    table = table[
        ["feature", "id", "surface", "surface_kind", "height_m", "permitted_m", "excess_m"]
    ]
    table = table.sort_values("excess_m", ascending=False, na_position="first", ignore_index=True)
    return table.round({"height_m": 2, "permitted_m": 2, "excess_m": 2})


def corridor_slide(prs: Any, result: Any, lang: str, new_slide: Any) -> None:
    """
    Add the skyline chart (current and planned, per viewpoint) to a meeting deck.

    Parameters
    ----------
    prs
        The python-pptx presentation (16:9).
    result
        A `geo_renewal.workflow.RunResult`; nothing is added without a corridor run.
    lang
        ``"zh"`` or ``"en"``.
    new_slide
        ``new_slide(prs, title)`` -> a slide with its title (the deck's own layout).
    """
    import io

    from pptx.util import Emu

    run = getattr(result, "corridors", None)
    if run is None or not run.chart_png:
        return
    from PIL import Image

    with Image.open(io.BytesIO(run.chart_png)) as im:
        aspect = im.width / im.height
    slide = new_slide(prs, say("corridors.section", lang))
    top, bottom = 1_250_000, 150_000
    h = min(prs.slide_height - top - bottom, int((prs.slide_width - 914_400) / aspect))
    w = int(h * aspect)
    slide.shapes.add_picture(
        io.BytesIO(run.chart_png),
        Emu((prs.slide_width - w) // 2),
        Emu(top),
        width=Emu(w),
        height=Emu(h),
    )


def corridor_report(result: Any, lang: str) -> str:
    """
    Return the report section: the figures, the breaches and the skyline chart ("" if none).

    Parameters
    ----------
    result
        A `geo_renewal.workflow.RunResult`.
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    html
        One ``<section>``.
    """
    from geo_renewal.tables import format_table

    run = getattr(result, "corridors", None)
    if run is None:
        return ""
    s = run.summary()
    parts = [f"<p>{escape(say('corridors.summary', lang, **s))}</p>"]
    if s["n_plots_in"]:
        parts.append(f"<p>{escape(say('corridors.summary_plots', lang, **s))}</p>")
    if run.n_unknown:
        parts.append(
            f'<p class="bad">{escape(say("corridors.unknown", lang, n=run.n_unknown))}</p>'
        )
    if run.caveat(lang):
        parts.append(f'<p class="bad">{escape(run.caveat(lang))}</p>')
    over = run.checks[run.checks["excess_m"] > 0].sort_values("excess_m", ascending=False).head(15)
    if len(over):
        parts.append(f"<h3>{escape(say('corridors.worst', lang, n=len(over)))}</h3>")
        parts.append(
            format_table(
                _sheet(over).drop(columns="surface_kind"), lang=lang, style="html", index=False
            )
        )
    if run.chart_png:
        data = base64.b64encode(run.chart_png).decode("ascii")
        parts.append(
            f'<img alt="skyline" style="max-width:100%" src="data:image/png;base64,{data}">'
        )
    return f"<section><h2>{escape(say('corridors.section', lang))}</h2>{''.join(parts)}</section>"
