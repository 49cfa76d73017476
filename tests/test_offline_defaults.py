"""Every HTML output the toolkit writes by default opens without network (a must-hold rule).

The library's own defaults are checked twice: statically (no URL a page would fetch, every
public function's ``tiles`` / ``offline`` default is an offline one) and in headless Chromium
with every http(s) request aborted and recorded (no request, no error, features drawn).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from browser import open_pages, pixel_stddev, requires_chromium, static_urls

import geopandas as gpd
import shapely

import geo_renewal
from geo_renewal import tiles as tiles_mod
from geo_renewal.datasets import get_path
from geo_renewal.maps import renewal_map, save_map
from geo_renewal.progress import progress_meeting, write_progress_meeting
from geo_renewal.tiles import offline_tiles, tile_source
from geo_renewal.view3d import view3d_html

#: Values of ``tiles=`` that make no request to a tile server.
_OFFLINE_TILES = (None, "none")


def _parcels() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"parcel_id": ["P1", "P2"], "category": ["demolish", "unchanged"]},
        geometry=[
            shapely.box(500000, 4063000, 500100, 4063100),
            shapely.box(500110, 4063000, 500200, 4063100),
        ],
        crs="EPSG:4548",
    )


def _public_functions():
    """Every public function of every geo_renewal module (private modules skipped)."""
    for info in pkgutil.walk_packages(geo_renewal.__path__, "geo_renewal."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        module = importlib.import_module(info.name)
        for name, func in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(func):
                continue
            if func.__module__ == module.__name__:
                yield f"{module.__name__}.{name}", func


def test_every_public_tiles_and_offline_default_is_offline():
    checked = []
    for qualname, func in _public_functions():
        params = inspect.signature(func).parameters
        if "tiles" in params and params["tiles"].default is not inspect.Parameter.empty:
            assert params["tiles"].default in _OFFLINE_TILES, qualname
            checked.append(qualname)
        if "offline" in params and params["offline"].default is not inspect.Parameter.empty:
            assert params["offline"].default is True, qualname
            checked.append(qualname)
    assert "geo_renewal.maps.renewal_map" in checked
    assert "geo_renewal.maps.save_map" in checked
    assert "geo_renewal.progress.write_progress_meeting" in checked


def test_the_default_map_makes_no_request(tmp_path):
    page = save_map(renewal_map(_parcels()), tmp_path / "m.html").read_text(encoding="utf-8")
    assert static_urls(page) == []
    assert "L.tileLayer(" not in page  # no base map asked for: none drawn
    assert "cdn.jsdelivr" not in page  # Leaflet inlined


def test_online_tiles_and_scripts_stay_an_explicit_choice(tmp_path):
    m = renewal_map(_parcels(), tiles="osm")
    page = save_map(m, tmp_path / "m.html", offline=False).read_text(encoding="utf-8")
    urls = static_urls(page)
    assert any("openstreetmap" in u for u in urls)
    assert any("cdn.jsdelivr.net/npm/leaflet" in u for u in urls)


@pytest.fixture
def local_basemap(monkeypatch):
    """The sample's MBTiles package registered as the office's base map (then forgotten)."""
    source = tile_source({"name": "区影像", "package": str(get_path("sample_tiles"))})
    monkeypatch.setitem(tiles_mod.BASEMAPS, "区影像", source)
    return "区影像"


def test_a_registered_local_package_is_the_default_base_map(tmp_path, local_basemap):
    assert offline_tiles() == local_basemap
    page = save_map(renewal_map(_parcels()), tmp_path / "m.html").read_text(encoding="utf-8")
    assert static_urls(page) == []
    assert "data:image/png;base64," in page  # the package's tiles are inlined


def test_an_online_registered_base_map_is_never_the_default(monkeypatch):
    online = tile_source({"name": "区政务网", "url": "http://10.1.1.1/{z}/{x}/{y}.png"})
    monkeypatch.setitem(tiles_mod.BASEMAPS, "区政务网", online)
    assert offline_tiles() == "none"


# ------------------------------------------------------------------ in the browser


def _layers_drawn(page):
    """Features per data layer and how many the canvas drew (maps_runtime's registry)."""
    return page.evaluate(
        "() => (window.geoRenewal ? geoRenewal.layers.map(e => [e.count, e.path._nf]) : [])"
    )


def _default_outputs(folder: Path, local_basemap: str) -> dict[str, Path]:
    """Every public HTML writer called with its defaults only."""
    out = {"map": save_map(renewal_map(_parcels()), folder / "map.html")}
    out["map_local_basemap"] = save_map(
        renewal_map(_parcels(), tiles=local_basemap), folder / "basemap.html"
    )
    meeting = progress_meeting(
        get_path("sample_ledger"),
        as_of="2026-11-20",
        projects=get_path("sample_district"),
        projects_layer="projects",
    )
    out["progress"] = write_progress_meeting(meeting, folder / "progress.html")[0]
    b = _parcels().iloc[:1]
    out["view3d"] = view3d_html(b, folder / "v.html", heights=[30.0])
    return out


@pytest.mark.browser
@requires_chromium
def test_every_default_html_output_opens_with_the_network_blocked(tmp_path, local_basemap):
    files = _default_outputs(tmp_path, local_basemap)
    for name, path in files.items():
        urls = static_urls(path.read_text(encoding="utf-8"))  # (deck.gl's bundle has `${t}`)
        assert [u for u in urls if "://" in u or u.startswith("//")] == [], name
    results = open_pages([(p, (1280, 720), _layers_drawn) for p in files.values()])
    for (name, path), (res, layers) in zip(files.items(), results, strict=True):
        assert res.errors == [], name
        assert res.external_requests == [], (name, res.external_requests[:3])
        assert res.failed_requests == [], name
        assert pixel_stddev(res.screenshot) > 5, name
        if path.name != "v.html":  # the 3D view has its own test (tests/test_view3d.py)
            assert layers, name
            assert all(n > 0 and drawn > 0 for n, drawn in layers), (name, layers)
