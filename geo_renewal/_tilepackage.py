"""
Local tile packages (MBTiles, PMTiles) read for a self-contained offline map.

`read_package` reads the raster tiles of a package (MBTiles through ``sqlite3``, PMTiles
through the ``pmtiles`` package, extra ``basemaps``); `package_layer_class` builds the folium
layer that draws them from ``data:`` URIs embedded in the page, so the map makes no request.
"""

from __future__ import annotations

import base64
import math
import sqlite3
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geo_renewal import settings
from geo_renewal._errors import InputError

__all__ = [
    "PACKAGE_SUFFIXES",
    "TilePackage",
    "package_layer_class",
    "read_package",
    "write_mbtiles",
]

#: File suffixes of the tile packages a map can inline.
PACKAGE_SUFFIXES = (".mbtiles", ".pmtiles")
_MIME = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}
#: A transparent 1×1 GIF: what a tile missing from the package shows (never a request).
EMPTY_TILE = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"


@dataclass
class TilePackage:
    """
    The raster tiles of a package, keyed ``"z/x/y"`` (XYZ rows, as Leaflet asks).

    Attributes
    ----------
    path
        The file.
    mime
        ``image/png``, ``image/jpeg`` or ``image/webp``.
    tiles
        ``"z/x/y"`` -> the tile's bytes.
    min_zoom, max_zoom
        The zooms present.
    name, attribution
        From the package's metadata (text, not HTML), or empty.
    bounds
        ``(west, south, east, north)`` in degrees, or None.
    """

    path: Path
    mime: str
    tiles: dict[str, bytes] = field(default_factory=dict)
    min_zoom: int = 0
    max_zoom: int = 0
    name: str = ""
    attribution: str = ""
    bounds: tuple[float, float, float, float] | None = None

    def tile_bounds(self) -> list[list[float]]:
        """
        Return ``[[south, west], [north, east]]`` of the tiles at the highest zoom (degrees).

        Examples
        --------
        >>> TilePackage(Path("x"), "image/png", {"1/1/0": b""}, max_zoom=1).tile_bounds()
        [[0.0, 0.0], [85.051129, 180.0]]
        """
        keys = [tuple(int(v) for v in k.split("/")) for k in self.tiles]
        z = max(k[0] for k in keys)
        xs = [k[1] for k in keys if k[0] == z]
        ys = [k[2] for k in keys if k[0] == z]
        n = 2**z

        def lat(y: int) -> float:
            return round(math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n)))), 6)

        west, east = min(xs) / n * 360 - 180, (max(xs) + 1) / n * 360 - 180
        return [[lat(max(ys) + 1), round(west, 6)], [lat(min(ys)), round(east, 6)]]

    @property
    def nbytes(self) -> int:
        """Bytes of the tiles once inlined (base64)."""
        return sum(4 * math.ceil(len(b) / 3) for b in self.tiles.values())


def read_package(
    path: str | Path, *, max_zoom: int | None = None, min_zoom: int | None = None
) -> TilePackage:
    """
    Read the raster tiles of an MBTiles or PMTiles file.

    Parameters
    ----------
    path
        ``.mbtiles`` (SQLite, TMS rows) or ``.pmtiles`` (needs the ``pmtiles`` package).
    max_zoom, min_zoom
        Read only the zooms in this range (a smaller page).

    Returns
    -------
    package
        A `TilePackage`.

    Raises
    ------
    InputError
        If the file is missing or not a tile package, holds vector tiles, or no tile.

    Warns
    -----
    UserWarning
        When the tiles exceed ``settings.tile_package_warning_mb`` once inlined.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from geo_renewal._tilepackage import read_package
    >>> p = Path(tempfile.mkdtemp()) / "x.mbtiles"
    >>> read_package(p)
    Traceback (most recent call last):
    ...
    geo_renewal._errors.InputError: the tile package `...x.mbtiles` does not exist; check the path.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        msg = f"the tile package `{path}` does not exist; check the path."
        raise InputError(msg)
    suffix = path.suffix.lower()
    if suffix not in PACKAGE_SUFFIXES:
        msg = f"`{path}` is not a tile package; give an .mbtiles or .pmtiles file."
        raise InputError(msg)
    lo = -1 if min_zoom is None else int(min_zoom)
    hi = 99 if max_zoom is None else int(max_zoom)
    pkg = _read_mbtiles(path, lo, hi) if suffix == ".mbtiles" else _read_pmtiles(path, lo, hi)
    if not pkg.tiles:
        msg = (
            f"the tile package `{path}` holds no tile"
            + (f" between zoom {min_zoom} and {max_zoom}" if max_zoom or min_zoom else "")
            + "; check the file or the zoom range."
        )
        raise InputError(msg)
    zooms = [int(k.split("/", 1)[0]) for k in pkg.tiles]
    pkg.min_zoom, pkg.max_zoom = min(zooms), max(zooms)
    _warn_if_big(pkg)
    return pkg


def write_mbtiles(
    path: str | Path,
    tiles: dict[str, bytes],
    *,
    fmt: str = "png",
    name: str = "",
    attribution: str = "",
    bounds: tuple[float, float, float, float] | None = None,
) -> Path:
    r"""
    Write raster tiles keyed ``"z/x/y"`` (XYZ rows) as an MBTiles 1.3 file.

    Examples
    --------
    >>> import tempfile
    >>> p = write_mbtiles(Path(tempfile.mkdtemp()) / "t.mbtiles", {"0/0/0": b"\x89PNG..."})
    >>> read_package(p).tiles
    {'0/0/0': b'\x89PNG...'}
    """
    path = Path(path)
    if path.exists():
        path.unlink()
    con = sqlite3.connect(path)
    try:
        con.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        con.execute(
            "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, "
            "tile_data BLOB)"
        )
        zooms = [int(k.split("/")[0]) for k in tiles] or [0]
        meta = {
            "name": name or path.stem,
            "format": fmt,
            "type": "baselayer",
            "version": "1.3",
            "minzoom": str(min(zooms)),
            "maxzoom": str(max(zooms)),
            "attribution": attribution,
        }
        if bounds is not None:
            meta["bounds"] = ",".join(f"{v:.6f}" for v in bounds)
        con.executemany("INSERT INTO metadata VALUES (?, ?)", list(meta.items()))
        rows = []
        for key, data in tiles.items():
            z, x, y = (int(v) for v in key.split("/"))
            rows.append((z, x, (1 << z) - 1 - y, sqlite3.Binary(data)))
        con.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)", rows)
        con.commit()
    finally:
        con.close()
    return path


def _warn_if_big(pkg: TilePackage) -> None:
    limit = float(settings.tile_package_warning_mb)
    size = pkg.nbytes / 1e6
    if size > limit:
        warnings.warn(
            f"the tile package `{pkg.path}` adds {size:.1f} MB of tiles to the map (more than "
            f"settings.tile_package_warning_mb = {limit:g} MB): the page will be slow to open; "
            f"cut the package to the district or pass a lower `max_zoom` (now {pkg.max_zoom}).",
            UserWarning,
            stacklevel=3,
        )


def _read_mbtiles(path: Path, lo: int, hi: int) -> TilePackage:
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as e:  # pragma: no cover - a file that exists opens
        raise _not_a_package(path, e) from e
    try:
        meta = dict(con.execute("SELECT name, value FROM metadata").fetchall())
        fmt = str(meta.get("format", "png")).lower()
        if fmt in ("pbf", "mvt"):
            raise _vector_tiles(path)
        rows = con.execute(
            "SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles "
            "WHERE zoom_level BETWEEN ? AND ?",
            (lo, hi),
        ).fetchall()
    except sqlite3.DatabaseError as e:
        raise _not_a_package(path, e) from e
    finally:
        con.close()
    tiles = {f"{z}/{x}/{(1 << z) - 1 - y}": bytes(data) for z, x, y, data in rows}
    return TilePackage(
        path,
        _mime(path, fmt, tiles),
        tiles,
        name=str(meta.get("name", "")),
        attribution=str(meta.get("attribution", "")),
        bounds=_bounds(meta.get("bounds")),
    )


def _read_pmtiles(path: Path, lo: int, hi: int) -> TilePackage:
    from geo_renewal._compat import import_optional

    reader = import_optional("pmtiles.reader", purpose="PMTiles base maps")
    with path.open("rb") as f:
        try:
            get = reader.MmapSource(f)
            r = reader.Reader(get)
            header = r.header()
            meta = r.metadata()
        except Exception as e:  # the package raises its own exception types
            raise _not_a_package(path, e) from e
        kind = int(getattr(header["tile_type"], "value", header["tile_type"]))
        if kind == 1:
            raise _vector_tiles(path)
        tiles = {
            f"{z}/{x}/{y}": bytes(data)
            for (z, x, y), data in reader.all_tiles(get)
            if lo <= z <= hi
        }
    fmt = {2: "png", 3: "jpg", 4: "webp"}.get(kind, "png")
    e7 = 1e7
    bounds = tuple(
        header[k] / e7 for k in ("min_lon_e7", "min_lat_e7", "max_lon_e7", "max_lat_e7")
    )
    return TilePackage(
        path,
        _MIME[fmt],
        tiles,
        name=str(meta.get("name", "")) if isinstance(meta, dict) else "",
        attribution=str(meta.get("attribution", "")) if isinstance(meta, dict) else "",
        bounds=bounds if any(bounds) else None,  # type: ignore[arg-type,unused-ignore]
    )


def _mime(path: Path, fmt: str, tiles: dict[str, bytes]) -> str:
    if fmt in _MIME:
        return _MIME[fmt]
    first = next(iter(tiles.values()), b"")
    if first.startswith(b"\x89PNG"):
        return "image/png"
    if first.startswith(b"\xff\xd8"):
        return "image/jpeg"
    msg = f"the tile package `{path}` declares format {fmt!r}; give PNG, JPEG or WebP tiles."
    raise InputError(msg)


def _bounds(text: Any) -> tuple[float, float, float, float] | None:
    try:
        w, s, e, n = (float(v) for v in str(text).split(","))
    except ValueError:
        return None
    return w, s, e, n


def _not_a_package(path: Path, e: BaseException) -> InputError:
    return InputError(
        f"cannot read the tile package `{path}` ({type(e).__name__}: {e}); "
        "give an MBTiles (SQLite) or PMTiles v3 file."
    )


def _vector_tiles(path: Path) -> InputError:
    return InputError(
        f"the tile package `{path}` holds vector tiles; a base map needs raster tiles "
        "(PNG, JPEG or WebP): export the package as raster tiles."
    )


def package_layer_class() -> type:
    """
    Return the folium layer class drawing a `TilePackage` from the page itself.

    The tiles are one JSON object in a ``<script type="application/json">`` element;
    ``getTileUrl`` returns their ``data:`` URI, or a transparent tile outside the package.
    """
    from branca import element
    from folium import map as folium_map

    from geo_renewal._html import script_json

    base_element: Any = element.Element
    base_layer: Any = folium_map.Layer

    class Raw(base_element):  # type: ignore[misc]
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

        def render(self, **kwargs: Any) -> str:
            return self.text

    class PackageTileLayer(base_layer):  # type: ignore[misc]
        """A base layer whose tiles are inlined ``data:`` URIs (no request)."""

        def __init__(self, package: TilePackage, *, name: str, options: dict[str, Any]) -> None:
            super().__init__(name=name, overlay=False, control=True, show=True)
            self._name = "GeoRenewalTilePackage"
            self.package = package
            self.options_json = script_json(options)

        def render(self, **kwargs: Any) -> None:
            figure = self.get_root()
            var = self.get_name()
            pkg = self.package
            table = {k: base64.b64encode(v).decode("ascii") for k, v in pkg.tiles.items()}
            data = (
                f'<script type="application/json" id="{var}_tiles">{script_json(table)}</script>'
            )
            figure.html.add_child(Raw(data), name=f"{var}_tiles")
            prefix = script_json(f"data:{pkg.mime};base64,")
            figure.script.add_child(
                Raw(
                    f'var {var}_t = JSON.parse(document.getElementById("{var}_tiles").textContent);'
                    f"var {var} = new (L.TileLayer.extend({{getTileUrl: function (c) {{"
                    f'var t = {var}_t[c.z + "/" + c.x + "/" + c.y];'
                    f"return t ? {prefix} + t : {script_json(EMPTY_TILE)};}}}}))"
                    f'("", {self.options_json});'
                    f"{var}.addTo({self._parent.get_name()});",
                ),
                name=var,
            )

    return PackageTileLayer
