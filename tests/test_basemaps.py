"""The office's own base maps: URL templates, WMTS, tile packages, [basemap], --tiles."""

from __future__ import annotations

import re
import threading
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from browser import open_in_chromium, pixel_stddev, requires_chromium
from click.testing import CliRunner

import geopandas as gpd
import shapely

from geo_renewal import _wmts, settings
from geo_renewal._errors import InputError
from geo_renewal._tilepackage import read_package, write_mbtiles
from geo_renewal._tilesource import tile_source
from geo_renewal.datasets._survey import png_tile
from geo_renewal.maps import renewal_map, save_map
from geo_renewal.tiles import (
    BASEMAPS,
    check_tiles,
    needs_network,
    register_basemap,
    tile_layers,
)

TILE = png_tile(
    np.tile(np.arange(256, dtype=np.uint8) % 2, (256, 1)), [(200, 30, 30), (30, 30, 200)]
)
TEMPLATE = "https://tiles.zw.example/xyz/{z}/{x}/{y}.png"


@pytest.fixture(autouse=True)
def _no_registered_basemaps():
    saved = dict(BASEMAPS)
    yield
    BASEMAPS.clear()
    BASEMAPS.update(saved)


@pytest.fixture
def parcels() -> gpd.GeoDataFrame:
    """Two parcels near Jinan (EPSG:4548)."""
    return gpd.GeoDataFrame(
        {"parcel_id": ["P1", "P2"], "category": ["demolish", "unchanged"]},
        geometry=[
            shapely.box(497_000, 4_062_000, 497_300, 4_062_300),
            shapely.box(497_320, 4_062_000, 497_600, 4_062_300),
        ],
        crs="EPSG:4548",
    )


def _capabilities(host: str, *, geographic: bool = False, rest: bool = False) -> bytes:
    """A WMTS capabilities document: one layer ``img``, one matrix set ``w`` or ``c``."""
    if geographic:  # 天地图-style ``c``: identifiers 1…18, level 1 is 2 × 1 tiles
        tms, crs = "c", "urn:ogc:def:crs:EPSG::4490"
        matrices = [(str(z), 2**z, 2 ** (z - 1)) for z in range(1, 19)]
    else:
        tms, crs = "w", "urn:ogc:def:crs:EPSG::3857"
        matrices = [(f"EPSG:3857:{z}", 2**z, 2**z) for z in range(19)]
    rows = "".join(
        f"<TileMatrix><ows:Identifier>{i}</ows:Identifier><ScaleDenominator>1</ScaleDenominator>"
        f"<TopLeftCorner>0 0</TopLeftCorner><TileWidth>256</TileWidth><TileHeight>256</TileHeight>"
        f"<MatrixWidth>{w}</MatrixWidth><MatrixHeight>{h}</MatrixHeight></TileMatrix>"
        for i, w, h in matrices
    )
    resource = (
        f'<ResourceURL format="image/png" resourceType="tile" template="{host}/wmts/rest/img/'
        '{Style}/{TileMatrixSet}/{TileMatrix}/{TileRow}/{TileCol}.png"/>'
        if rest
        else ""
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Capabilities xmlns="http://www.opengis.net/wmts/1.0" xmlns:ows="http://www.opengis.net/ows/1.1"
  xmlns:xlink="http://www.w3.org/1999/xlink" version="1.0.0">
 <ows:OperationsMetadata><ows:Operation name="GetTile"><ows:DCP><ows:HTTP>
  <ows:Get xlink:href="{host}/wmts/kvp?"/></ows:HTTP></ows:DCP></ows:Operation>
 </ows:OperationsMetadata>
 <Contents>
  <Layer><ows:Title>影像</ows:Title><ows:Identifier>img</ows:Identifier>
   <Style isDefault="true"><ows:Identifier>default</ows:Identifier></Style>
   <Format>image/png</Format><TileMatrixSetLink><TileMatrixSet>{tms}</TileMatrixSet>
   </TileMatrixSetLink>{resource}</Layer>
  <TileMatrixSet><ows:Identifier>{tms}</ows:Identifier><ows:SupportedCRS>{crs}</ows:SupportedCRS>
   {rows}</TileMatrixSet>
 </Contents>
</Capabilities>""".encode()


class _TileServer:
    """A tile and WMTS server on 127.0.0.1 that records every path asked for."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.paths.append(self.path)
                if self.path.startswith("/wmts/capabilities"):
                    geographic = "c" in parse_qs(urlsplit(self.path).query).get("set", [""])
                    body, kind = _capabilities(server.url, geographic=geographic), "text/xml"
                else:
                    body, kind = TILE, "image/png"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def tiles(self) -> list[str]:
        return [p for p in self.paths if not p.startswith("/wmts/capabilities")]


@pytest.fixture
def server():
    s = _TileServer()
    s.thread.start()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()
    s.thread.join(timeout=10)


def _package(tmp_path: Path, zooms=(14, 15, 16)) -> Path:
    """An MBTiles package over the test parcels (every tile the same two-colour PNG)."""
    from geo_renewal.datasets._survey import _tile_xy

    tiles = {}
    for z in zooms:
        x0, y0 = _tile_xy(116.95, 36.70, z)
        x1, y1 = _tile_xy(116.98, 36.68, z)
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                tiles[f"{z}/{x}/{y}"] = TILE
    return write_mbtiles(tmp_path / "影像.mbtiles", tiles, name="区影像", attribution="区测绘院")


# ------------------------------------------------------------------- sources and checks


def test_templates_and_packages_are_base_maps(tmp_path):
    assert check_tiles(TEMPLATE) == TEMPLATE
    assert check_tiles(TEMPLATE + "#gcj02") == TEMPLATE + "#gcj02"
    assert check_tiles("img.mbtiles") == "img.mbtiles"
    assert needs_network(TEMPLATE)
    assert not needs_network("img.pmtiles")
    with pytest.raises(InputError, match=r"did you mean `osm`\?.*XYZ URL template"):
        check_tiles("osn")
    with pytest.raises(InputError, match=r"must be one of \['wgs84', 'cgcs2000', 'gcj02'\]"):
        check_tiles(TEMPLATE + "#bd09")


@pytest.mark.parametrize(
    ("suffix", "gcj02"), [("", False), ("#cgcs2000", False), ("#gcj02", True)]
)
def test_the_datum_decides_the_shift(suffix, gcj02):
    layers, shifted = tile_layers(TEMPLATE + suffix, "zh")
    assert shifted is gcj02
    (layer,) = layers
    assert layer["tiles"] == TEMPLATE
    note = {
        "": "坐标系：WGS84",
        "#cgcs2000": "坐标系：CGCS2000",
        "#gcj02": "偏移至 GCJ-02 以匹配底图",
    }
    assert layer["attr"].startswith("tiles.zw.example | ")
    assert note[suffix] in layer["attr"]


def test_tile_source_checks_every_key(tmp_path):
    with pytest.raises(InputError, match=r"unknown key 'urls'; did you mean `url`\?"):
        tile_source({"urls": TEMPLATE})
    with pytest.raises(
        InputError, match="needs one of `url`, `capabilities` or `package`, not url and package"
    ):
        tile_source({"url": TEMPLATE, "package": "x.mbtiles"})
    with pytest.raises(InputError, match=r"`url` must hold \{z\}"):
        tile_source({"url": "http://10.0.0.1/tiles"})
    with pytest.raises(InputError, match=r"`package` .*does not exist"):
        tile_source({"package": "missing.mbtiles"}, base=tmp_path)
    with pytest.raises(InputError, match=r"`datum` must be one of .*did you mean `gcj02`"):
        tile_source({"url": TEMPLATE, "datum": "gcj-02"})
    with pytest.raises(InputError, match="`max_zoom` must be a whole number"):
        tile_source({"url": TEMPLATE, "max_zoom": "18"})
    with pytest.raises(InputError, match="is a built-in base map"):
        register_basemap(tile_source({"name": "osm", "url": TEMPLATE}))


def test_keyed_template_reads_its_key_variable(monkeypatch):
    src = tile_source({"name": "zw", "url": TEMPLATE + "?tk={key}", "key_env": "ZW_KEY"})
    register_basemap(src)
    monkeypatch.delenv("ZW_KEY", raising=False)
    with pytest.raises(InputError, match="set ZW_KEY"):
        tile_layers("zw", "zh")
    monkeypatch.setenv("ZW_KEY", "k3y-0001")
    assert tile_layers("zw", "zh")[0][0]["tiles"].endswith("?tk=k3y-0001")
    monkeypatch.setenv("ZW_KEY", "bad key'")
    with pytest.raises(InputError, match="letters, digits"):
        tile_layers("zw", "zh")


# -------------------------------------------------------------------------------- WMTS


def test_wmts_capabilities_mercator_kvp():
    layer = _wmts.resolve(_capabilities("http://h"), layer="img", matrix_set="w")
    assert not layer.geographic
    assert layer.zoom_offset == 0
    assert (layer.min_zoom, layer.max_zoom) == (0, 18)
    assert layer.url == (
        "http://h/wmts/kvp?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=img&STYLE=default"
        "&TILEMATRIXSET=w&FORMAT=image%2Fpng&TILEMATRIX=EPSG:3857:{z}&TILEROW={y}&TILECOL={x}"
    )


def test_wmts_capabilities_geographic_rest():
    layer = _wmts.resolve(
        _capabilities("http://h", geographic=True, rest=True), layer=None, matrix_set=None
    )
    assert layer.geographic
    assert layer.datum == "cgcs2000"
    assert layer.zoom_offset == 1  # TILEMATRIX 1 is Leaflet's zoom 0 on a 2 × 1 grid
    assert layer.url == "http://h/wmts/rest/img/default/c/{z}/{y}/{x}.png"


def test_wmts_refusals():
    xml = _capabilities("http://h")
    with pytest.raises(InputError, match=r"has no layer 'vec'; it has \['img'\]"):
        _wmts.resolve(xml, layer="vec", matrix_set=None)
    with pytest.raises(InputError, match=r"has no matrix_set 'c'; it has \['w'\]"):
        _wmts.resolve(xml, layer="img", matrix_set="c")
    projected = xml.replace(b"EPSG::3857", b"EPSG::4548")
    with pytest.raises(InputError, match="is in urn:ogc:def:crs:epsg::4548"):
        _wmts.resolve(projected, layer="img", matrix_set="w")
    with pytest.raises(InputError, match="not XML"):
        _wmts.resolve(b"<html>", layer=None, matrix_set=None)
    with pytest.raises(InputError, match="cannot fetch the WMTS capabilities"):
        _wmts.fetch_capabilities("http://127.0.0.1:9/wmts", timeout=2)


# ------------------------------------------------------------------------------ packages


def test_mbtiles_round_trip_flips_rows(tmp_path):
    path = write_mbtiles(tmp_path / "t.mbtiles", {"3/2/1": b"\x89PNGa", "4/5/6": b"\x89PNGb"})
    import sqlite3

    con = sqlite3.connect(path)
    assert sorted(con.execute("SELECT zoom_level, tile_column, tile_row FROM tiles")) == [
        (3, 2, 6),  # TMS row: 2³ − 1 − 1
        (4, 5, 9),
    ]
    con.close()
    pkg = read_package(path)
    assert pkg.tiles == {"3/2/1": b"\x89PNGa", "4/5/6": b"\x89PNGb"}
    assert (pkg.min_zoom, pkg.max_zoom, pkg.mime) == (3, 4, "image/png")
    assert read_package(path, max_zoom=3).tiles == {"3/2/1": b"\x89PNGa"}


def test_pmtiles_round_trip(tmp_path):
    from pmtiles.tile import Compression, TileType, zxy_to_tileid
    from pmtiles.writer import Writer

    path = tmp_path / "t.pmtiles"
    with path.open("wb") as f:
        w = Writer(f)
        for z, x, y in [(14, 13_500, 6_300), (14, 13_501, 6_300)]:
            w.write_tile(zxy_to_tileid(z, x, y), TILE)
        w.finalize(
            {
                "tile_type": TileType.PNG,
                "tile_compression": Compression.NONE,
                "min_zoom": 14,
                "max_zoom": 14,
                "min_lon_e7": int(116.6 * 1e7),
                "min_lat_e7": int(36.6 * 1e7),
                "max_lon_e7": int(116.7 * 1e7),
                "max_lat_e7": int(36.7 * 1e7),
                "center_zoom": 14,
                "center_lon_e7": int(116.65 * 1e7),
                "center_lat_e7": int(36.65 * 1e7),
            },
            {"name": "区影像", "attribution": "区测绘院"},
        )
    pkg = read_package(path)
    assert sorted(pkg.tiles) == ["14/13500/6300", "14/13501/6300"]
    assert pkg.tiles["14/13500/6300"] == TILE
    assert (pkg.name, pkg.attribution) == ("区影像", "区测绘院")
    assert pkg.bounds == pytest.approx((116.6, 36.6, 116.7, 36.7))


def test_package_refusals_and_size_warning(tmp_path, monkeypatch):
    vector = write_mbtiles(tmp_path / "v.mbtiles", {"0/0/0": b"x"}, fmt="pbf")
    with pytest.raises(InputError, match="holds vector tiles"):
        read_package(vector)
    (tmp_path / "bad.mbtiles").write_bytes(b"not sqlite at all, just text" * 10)
    with pytest.raises(InputError, match="cannot read the tile package"):
        read_package(tmp_path / "bad.mbtiles")
    with pytest.raises(InputError, match="holds no tile between zoom 1 and 2"):
        read_package(_package(tmp_path), min_zoom=1, max_zoom=2)
    monkeypatch.setattr(settings, "tile_package_warning_mb", 0.001)
    with pytest.warns(UserWarning, match=r"adds \d+\.\d MB of tiles .*tile_package_warning_mb"):
        read_package(_package(tmp_path))


# ---------------------------------------------------------------- project file and CLI


def _plan(tmp_path: Path, extra: str) -> Path:
    from geo_renewal.datasets import get_path

    path = tmp_path / "plan.toml"
    path.write_text(
        f'[project]\nname = "t"\n[layers.parcels]\npath = "{get_path("sample_district").as_posix()}"\n'
        f'layer = "parcels"\n{extra}',
        "utf-8",
    )
    return path


def test_plan_basemap_sections(tmp_path):
    from geo_renewal.plan import load_plan

    _package(tmp_path)
    plan = load_plan(
        _plan(tmp_path, f'[basemap]\nname = "区影像"\nurl = "{TEMPLATE}"\ndatum = "cgcs2000"\n')
    )
    assert plan.tiles == "区影像"
    assert BASEMAPS["区影像"].datum == "cgcs2000"
    plan = load_plan(
        _plan(tmp_path, '[outputs]\ntiles = { name = "pkg", package = "影像.mbtiles" }\n')
    )
    assert plan.tiles == "pkg"
    assert BASEMAPS["pkg"].package == str(tmp_path / "影像.mbtiles")
    plan = load_plan(_plan(tmp_path, '[outputs]\ntiles = "影像.mbtiles"\n'))
    assert plan.tiles == str(tmp_path / "影像.mbtiles")
    plan = load_plan(_plan(tmp_path, f'[outputs]\ntiles = "{TEMPLATE}#gcj02"\n'))
    assert plan.tiles == TEMPLATE + "#gcj02"
    with pytest.raises(InputError, match=r"plan\.toml: \[basemap\] has unknown key 'datam'"):
        load_plan(_plan(tmp_path, f'[basemap]\nurl = "{TEMPLATE}"\ndatam = "gcj02"\n'))
    with pytest.raises(InputError, match=r"plan\.toml: `outputs.tiles` must be one of"):
        load_plan(_plan(tmp_path, '[outputs]\ntiles = "gaod"\n'))


def test_cli_map_with_a_template_and_a_package(tmp_path, parcels):
    from geo_renewal.cli import cli
    from geo_renewal.io import write_layer

    write_layer(parcels, tmp_path / "c.gpkg")
    pkg = _package(tmp_path)
    runner = CliRunner()
    out = tmp_path / "t.html"
    res = runner.invoke(
        cli, ["map", str(tmp_path / "c.gpkg"), "--tiles", TEMPLATE, "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "tiles.zw.example/xyz/{z}/{x}/{y}.png" in out.read_text("utf-8")
    out = tmp_path / "p.html"
    res = runner.invoke(
        cli, ["map", str(tmp_path / "c.gpkg"), "--tile-package", str(pkg), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    page = out.read_text("utf-8")
    assert "GeoRenewalTilePackage" not in page  # rendered, not named
    assert "data:image/png;base64," in page
    assert "L.tileLayer(" not in page
    res = runner.invoke(
        cli,
        [
            "map",
            str(tmp_path / "c.gpkg"),
            "--tiles",
            "osm",
            "--tile-package",
            str(pkg),
            "--out",
            str(out),
        ],
    )
    assert res.exit_code != 0
    assert "either --tiles or --tile-package" in res.output
    res = runner.invoke(
        cli, ["map", str(tmp_path / "c.gpkg"), "--tiles", "https://h/{z}/{x}/{y}#bd09"]
    )
    assert res.exit_code != 0
    assert "must be one of ['wgs84', 'cgcs2000', 'gcj02']" in res.output


# ------------------------------------------------------------------------------- browser


def _open(path: Path, **kw):
    return open_in_chromium(
        path,
        block_network=False,
        viewport=(1600, 1000),
        settle_ms=800,
        evaluate={
            "tiles": "Array.from(document.querySelectorAll('img.leaflet-tile-loaded')).length",
            "zoom": "Math.round(Object.values(window).find(v => v instanceof L.Map).getZoom())",
        },
        **kw,
    )


@pytest.mark.browser
@requires_chromium
def test_browser_xyz_template_from_a_local_server(tmp_path, server, parcels):
    url = server.url + "/xyz/{z}/{x}/{y}.png"
    out = save_map(renewal_map(parcels, tiles=url), tmp_path / "xyz.html", offline=True)
    res = _open(out)
    assert not res.errors
    assert res.values["tiles"] > 0
    zoom = res.values["zoom"]
    asked = [p for p in server.tiles() if p.startswith(f"/xyz/{zoom}/")]
    assert asked, server.paths
    assert all(re.fullmatch(rf"/xyz/{zoom}/\d+/\d+\.png", p) for p in asked)
    assert {u.split("/", 3)[2] for u in res.external_requests} == {server.url[7:]}


@pytest.mark.browser
@requires_chromium
@pytest.mark.parametrize("geographic", [False, True])
def test_browser_wmts_capabilities_from_a_local_server(tmp_path, server, parcels, geographic):
    source = tile_source(
        {
            "name": "一张图",
            "capabilities": f"{server.url}/wmts/capabilities?set={'c' if geographic else 'w'}",
            "layer": "img",
            "matrix_set": "c" if geographic else "w",
            "datum": "cgcs2000",
            "attribution": "省国土空间基础信息平台",
        }
    )
    register_basemap(source)
    out = save_map(renewal_map(parcels, tiles="一张图"), tmp_path / "wmts.html", offline=True)
    res = _open(out)
    assert not res.errors
    assert res.values["tiles"] > 0
    zoom = res.values["zoom"]
    tiles = [parse_qs(urlsplit(p).query) for p in server.tiles()]
    assert tiles, server.paths
    want = str(zoom + 1) if geographic else f"EPSG:3857:{zoom}"
    assert {t["TILEMATRIX"][0] for t in tiles} >= {want}
    assert {t["LAYER"][0] for t in tiles} == {"img"}
    assert {t["TILEMATRIXSET"][0] for t in tiles} == {"c" if geographic else "w"}


@pytest.mark.browser
@requires_chromium
def test_browser_mbtiles_package_makes_no_request(tmp_path, parcels):
    pkg = _package(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # small: no size warning
        m = renewal_map(parcels, tiles=str(pkg))
    out = save_map(m, tmp_path / "pkg.html", offline=True)
    res = open_in_chromium(
        out,
        viewport=(1600, 1000),
        settle_ms=800,
        evaluate={
            "tiles": "Array.from(document.querySelectorAll('img.leaflet-tile-loaded'))"
            ".filter(i => i.src.startsWith('data:image/png')).length"
        },
    )
    assert not res.errors
    assert res.external_requests == []
    assert res.values["tiles"] > 0
    assert pixel_stddev(res.screenshot) > 5
