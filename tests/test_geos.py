"""`_geos`: tiles of big polygons, overlap areas by the part near each parcel, the thread setting."""

from __future__ import annotations

import numpy as np
import pytest

import shapely

from geo_renewal import _geos, settings
from geo_renewal._checks import check_threads
from geo_renewal._errors import InputError


def _parcels(n_side: int, cell: float = 10.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    i, j = np.meshgrid(np.arange(n_side), np.arange(n_side))
    cx, cy = i.ravel() * cell, j.ravel() * cell
    ang = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    r = cell * 0.45 * (0.8 + 0.2 * rng.random((len(cx), 12)))
    rings = np.stack([cx[:, None] + r * np.cos(ang), cy[:, None] + r * np.sin(ang)], axis=-1)
    return shapely.polygons(rings)


def _whole_polygon_areas(polys, geoms):
    """Today's figures: every bounding-box pair intersected with the whole polygon."""
    tree = shapely.STRtree(geoms)
    pi, gi = tree.query(polys)
    order = np.lexsort((gi, pi))
    pi, gi = pi[order], gi[order]
    return pi, gi, shapely.area(shapely.intersection(polys[pi], geoms[gi]))


def _wiggly(n_side: int, cell: float = 10.0) -> np.ndarray:
    """Two polygons sharing one wiggly border of 400 vertices, and a sinuous buffer."""
    side = n_side * cell
    t = np.linspace(-cell, side, 400)
    x = side / 2 + 0.1 * side * np.sin(t / side * 11)
    frame = shapely.box(-cell, -cell, side, side)
    left = shapely.Polygon(np.r_[np.c_[x, t], [[-2 * cell, side], [-2 * cell, -cell]]])
    west, east = shapely.intersection(frame, left), shapely.difference(frame, left)
    river = shapely.LineString(np.c_[t, side / 3 + 0.1 * side * np.cos(t / side * 13)])
    return np.array([west, east]), np.array([river.buffer(1.5 * cell, quad_segs=6)])


@pytest.mark.parametrize("which", ["zones", "buffer"])
def test_overlap_areas_equal_whole_polygon_intersections(which):
    geoms = _parcels(60)
    zones, buffer = _wiggly(60)
    polys = zones if which == "zones" else buffer
    assert shapely.get_num_coordinates(polys).min() > _geos._TILE_MIN_VERTICES  # tiled
    p, g, a = _geos.overlap_areas(
        polys, geoms, shapely.area(geoms), shapely.STRtree(geoms), threads=1
    )
    wp, wg, wa = _whole_polygon_areas(polys, geoms)
    # tiles have tighter boxes: the pairs they drop are disjoint (area 0)
    got = dict(zip(zip(p.tolist(), g.tolist(), strict=True), a, strict=True))
    for key, want in zip(zip(wp.tolist(), wg.tolist(), strict=True), wa, strict=True):
        assert got.get(key, 0.0) == pytest.approx(want, rel=1e-9, abs=1e-9)
    # and the inside parcels are their own area exactly, with no overlay
    assert (a == shapely.area(geoms)[g]).sum() > 0.5 * len(a[a > 0])
    assert a.sum() == pytest.approx(wa.sum(), rel=1e-12)


def test_two_zone_straddlers_are_complements_and_conserved():
    geoms = _parcels(40)
    zones, _ = _wiggly(40)
    _p, g, a = _geos.overlap_areas(
        zones, geoms, shapely.area(geoms), shapely.STRtree(geoms), threads=1
    )
    per_parcel = np.bincount(g, weights=a, minlength=len(geoms))
    # the zones cover every parcel: each parcel's pieces add up to the parcel
    np.testing.assert_allclose(per_parcel, shapely.area(geoms), rtol=1e-12)
    assert a.min() >= 0


def test_tiles_partition_the_polygon():
    _, buffer = _wiggly(60)
    tiles, owner = _geos.tile_polygons(buffer)
    assert len(tiles) > 4
    assert (owner == 0).all()
    assert shapely.area(tiles).sum() == pytest.approx(buffer[0].area, rel=1e-12)
    assert shapely.is_valid(tiles).all()
    simple = np.array([shapely.box(0, 0, 1, 1)])
    same, own = _geos.tile_polygons(simple)
    assert same[0] is simple[0]
    assert own.tolist() == [0]


def test_private_prepared_never_prepares_the_callers_geometries():
    geoms = _parcels(3)
    own = _geos.private_prepared(geoms)
    assert shapely.is_prepared(own).all()
    assert not shapely.is_prepared(geoms).any()
    assert shapely.equals_exact(own, geoms, tolerance=0).all()


def test_one_thread_setting(monkeypatch):
    monkeypatch.setattr(settings, "n_jobs", 3)
    assert check_threads(None) == 3
    assert check_threads(1) == 1  # n_jobs= overrides the setting
    assert _geos.thread_count(None, 10, 100) == 1  # small data: one thread
    assert _geos.thread_count(None, 1000, 100) == 3
    monkeypatch.setattr(settings, "n_jobs", 0)
    with pytest.raises(InputError, match=r"`settings.n_jobs` must be a positive number"):
        check_threads(None)
    with pytest.raises(InputError, match=r"`n_jobs` must be a positive number"):
        check_threads(-1)


def test_map_slices_keeps_order():
    parts = _geos.map_slices(100, lambda s: np.arange(s.start, s.stop), threads=2)
    assert np.concatenate(parts).tolist() == list(range(100))
    assert len(_geos.map_slices(0, lambda s: s, threads=2)) == 1
