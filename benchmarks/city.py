"""
A synthetic city like a real one, for the end-to-end benchmark (issue 21).

The parcels are `benchmarks.synth`'s (13-vertex, EPSG:4548); over them, in the city's
extent: 30 zones (a 6 × 5 grid whose shared borders are wiggly curves, 650–1,370 vertices a
zone, not overlapping, covering ~92 % of the city; some are multipart), 120 star-shaped heritage areas, 10 large
sinuous river buffers (their union one polygon of ~14,000 vertices), 40 view-corridor wedges, a 20 m flood-depth GeoTIFF and 50
resettlement sites. Deterministic (its own rng); written once under ``benchmarks/_cache``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import geopandas as gpd
import shapely

from benchmarks.synth import CACHE, CELL, CRS, X0, Y0, cached_city

FLOOD_RES = 20.0


def city_side(n: int) -> float:
    """Side in metres of the square city of `n` parcels."""
    return float(np.ceil(np.sqrt(n)) * CELL)


def _curve(rng: np.random.Generator, length: float, n_pts: int) -> np.ndarray:
    """A wiggle 0 at both ends: a few sines plus a random walk, in metres."""
    t = np.linspace(0.0, 1.0, n_pts)
    amp = length * 0.03
    w = sum(
        amp / k * np.sin(np.pi * k * t + rng.uniform(0, np.pi)) * np.sin(np.pi * t)
        for k in (1, 3, 7, 15)
    )
    walk = np.cumsum(rng.normal(0, length * 0.0015, n_pts))
    walk -= t * walk[-1]
    return w + walk


def wiggly_zones(n: int, *, seed: int = 21) -> gpd.GeoDataFrame:
    """30 zones between wiggly grid lines (shared borders identical), 650–1,370 vertices."""
    rng = np.random.default_rng(seed)
    side = city_side(n)
    nx, ny = 6, 5
    lo, hi = 0.025 * side, 0.975 * side
    gx, gy = np.linspace(lo, hi, nx + 1), np.linspace(lo, hi, ny + 1)
    pts = 1450  # per grid line: each zone side gets 240–290 of them
    ys = np.linspace(lo - 0.01 * side, hi + 0.01 * side, pts)
    xs = np.linspace(lo - 0.01 * side, hi + 0.01 * side, pts)
    vert = [gx[i] + _curve(rng, side, pts) * (0.3 if i in (0, nx) else 1) for i in range(nx + 1)]
    horiz = [gy[j] + _curve(rng, side, pts) * (0.3 if j in (0, ny) else 1) for j in range(ny + 1)]

    def strip(a: np.ndarray, b: np.ndarray) -> shapely.Polygon:  # between x = a(y) and b(y)
        return shapely.Polygon(np.r_[np.c_[a, ys], np.c_[b, ys][::-1]])

    def band(a: np.ndarray, b: np.ndarray) -> shapely.Polygon:
        return shapely.Polygon(np.r_[np.c_[xs, a], np.c_[xs, b][::-1]])

    geoms, ids = [], []
    for j in range(ny):
        for i in range(nx):
            z = shapely.intersection(strip(vert[i], vert[i + 1]), band(horiz[j], horiz[j + 1]))
            geoms.append(_shift(z))
            ids.append(f"Z{j * nx + i:02d}")
    return gpd.GeoDataFrame({"zone_id": ids}, geometry=geoms, crs=CRS)


def _shift(g: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(g, lambda c: c + np.array([X0, Y0]))


def heritage_areas(n: int, *, seed: int = 22, count: int = 120) -> gpd.GeoDataFrame:
    """Star-shaped heritage areas (8–12 points, 60–250 m), scattered over the city."""
    rng = np.random.default_rng(seed)
    side = city_side(n)
    out = []
    for _ in range(count):
        cx, cy = rng.uniform(0.05, 0.95, 2) * side
        k = int(rng.integers(8, 13))
        r_out = rng.uniform(60, 250)
        ang = np.linspace(0, 2 * np.pi, 2 * k, endpoint=False) + rng.uniform(0, np.pi)
        r = np.where(np.arange(2 * k) % 2 == 0, r_out, r_out * rng.uniform(0.35, 0.6))
        out.append(shapely.Polygon(np.c_[X0 + cx + r * np.cos(ang), Y0 + cy + r * np.sin(ang)]))
    return gpd.GeoDataFrame({"name": [f"H{i:03d}" for i in range(count)]}, geometry=out, crs=CRS)


def river_buffers(n: int, *, seed: int = 23, count: int = 10) -> gpd.GeoDataFrame:
    """Large sinuous river buffers (blue-line zones, 40–120 m) crossing the city."""
    rng = np.random.default_rng(seed)
    side = city_side(n)
    out = []
    for k in range(count):
        t = np.linspace(-0.02, 1.02, 600) * side
        base = (k + 0.5) / count * side
        wig = _curve(rng, side, len(t)) * 2 + 0.03 * side * np.sin(t / side * rng.uniform(6, 14))
        xy = np.c_[t, base + wig] if k % 2 == 0 else np.c_[base + wig, t]
        line = shapely.LineString(xy + np.array([X0, Y0]))
        out.append(line.buffer(rng.uniform(40, 120), quad_segs=4))
    return gpd.GeoDataFrame({"river": [f"R{k}" for k in range(count)]}, geometry=out, crs=CRS)


def view_corridors(n: int, *, seed: int = 24, count: int = 40) -> gpd.GeoDataFrame:
    """View-corridor wedges: from a viewpoint, 1–4 km long, 3–8 degrees wide."""
    rng = np.random.default_rng(seed)
    side = city_side(n)
    out = []
    for _ in range(count):
        x, y = rng.uniform(0.05, 0.95, 2) * side
        a, w = rng.uniform(0, 2 * np.pi), np.radians(rng.uniform(3, 8))
        length = min(rng.uniform(1000, 4000), side * 0.5)
        arc = a + np.linspace(-w / 2, w / 2, 8)
        ring = np.r_[[[x, y]], np.c_[x + length * np.cos(arc), y + length * np.sin(arc)]]
        out.append(shapely.Polygon(ring + np.array([X0, Y0])))
    return gpd.GeoDataFrame({"name": [f"V{i:02d}" for i in range(count)]}, geometry=out, crs=CRS)


def resettlement_sites(n: int, *, seed: int = 25, count: int = 50) -> gpd.GeoDataFrame:
    """Resettlement sites as points."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0.03, 0.97, (count, 2)) * city_side(n) + np.array([X0, Y0])
    return gpd.GeoDataFrame(
        {"site_id": [f"S{i:02d}" for i in range(count)]}, geometry=shapely.points(xy), crs=CRS
    )


def flood_raster(n: int, path: Path, *, seed: int = 26) -> Path:
    """A 20 m flood-depth GeoTIFF over the city: depth grows towards a few low basins."""
    import rasterio
    from rasterio.transform import from_origin

    rng = np.random.default_rng(seed)
    side = city_side(n)
    cells = int(np.ceil(side / FLOOD_RES))
    yy, xx = np.mgrid[0:cells, 0:cells] * FLOOD_RES
    depth = np.zeros((cells, cells), dtype=np.float32)
    for _ in range(6):
        cx, cy = rng.uniform(0.1, 0.9, 2) * side
        r = rng.uniform(0.05, 0.15) * side
        depth += np.float32(1.5) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r)).astype(
            np.float32
        )
    depth = depth[::-1]  # row 0 is the north edge
    transform = from_origin(X0, Y0 + cells * FLOOD_RES, FLOOD_RES, FLOOD_RES)
    with rasterio.open(
        path, "w", driver="GTiff", width=cells, height=cells, count=1, dtype="float32",
        crs=CRS, transform=transform, nodata=-9999.0, compress="deflate",
    ) as dst:  # fmt: skip
        dst.write(depth, 1)
    return path


def cached_real_city(n: int) -> dict[str, Path]:
    """Write the city of `n` parcels and its layers once; return their paths by name."""
    folder = CACHE / f"real_city_{n}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"parcels": cached_city(n)}
    for name, make in (
        ("zones", wiggly_zones),
        ("heritage", heritage_areas),
        ("river_buffer", river_buffers),
        ("view_corridor", view_corridors),
        ("sites", resettlement_sites),
    ):
        path = folder / f"{name}.parquet"
        if not path.exists():
            tmp = path.with_suffix(".tmp.parquet")
            make(n).to_parquet(tmp)
            tmp.replace(path)
        paths[name] = path
    flood = folder / "flood_depth.tif"
    if not flood.exists():
        flood_raster(n, folder / "flood_depth.tmp.tif").replace(flood)
    paths["flood_depth"] = flood
    return paths


def partitioned_parcels(paths: dict[str, Path], *, chunk: int = 100_000) -> Path:
    """The parcels of `cached_real_city` as a GeoParquet dataset folder (strips of `chunk`)."""
    import geopandas as gpd

    single = paths["parcels"]
    folder = single.parent / f"{single.stem}_parts"
    done = folder / "DONE"
    if not done.exists():
        folder.mkdir(exist_ok=True)
        city = gpd.read_parquet(single)
        chunk = min(chunk, max(1, -(-len(city) // 8)))  # at least 8 files: 4 per worker
        for k, a in enumerate(range(0, len(city), chunk)):
            city.iloc[a : a + chunk].to_parquet(folder / f"part.{k:05d}.parquet")
        done.write_text("ok", encoding="utf-8")
    return folder
