"""
Global settings of geo_renewal, read at call time.

Change a setting by assigning to the module attribute, e.g.
``geo_renewal.settings.working_crs = "EPSG:4548"``. Every function that uses a setting
reads it when called, so a change applies to the next call.

Attributes
----------
working_crs : str | int | None
    Projected CRS for metric work (areas, buffers, distances). None picks the
    CGCS2000 3-degree Gauss–Krüger zone (EPSG:4534–4554) by longitude inside China and
    UTM elsewhere. See `geo_renewal.crs.working_crs`.
lang : str
    Language of meeting outputs (map legends, tooltips, table headers): ``"zh"`` or ``"en"``.
floor_area_per_household : float
    m² of floor area per household, used only where a layer has no household counts
    (DOMAIN.md §3: 100 m²). Estimated values are flagged.
persons_per_household : float
    Persons per household where a layer has no population (DOMAIN.md §3: 3.2).
nearby_dist : float
    Metres within which a resettlement site counts as "nearby" for the
    就地就近安置率 (DOMAIN.md §2; no national figure exists).
use_arrow : bool
    Read and write vector files through Arrow where pyogrio supports it (faster).
map_simplify_tolerance : float
    Metres, topology-preserving simplification of polygons drawn on maps.
map_coordinate_precision : int
    Decimal places of longitude/latitude written into map HTML (6 ≈ 0.1 m).
map_feature_warning : int
    Number of map features above which `renewal_map` warns and suggests lighter output.
map_overview_min_parcels : int
    Parcels from which `renewal_map` draws a grid overview (dominant class per cell) when
    zoomed out and the parcels, decoded chunk by chunk, only when zoomed in (a whole city);
    below it the map draws every parcel at every zoom. ``renewal_map(overview=)`` overrides.
landuse_crosswalk : str | None
    An edited copy of ``geo_renewal/codes/crosswalk.csv`` (land-use codes -> classes); None
    uses the bundled one. See `geo_renewal.landuse_codes.crosswalk`.
stated_area_tolerance : float
    Relative difference between a stated official area (TBMJ, ZDMJ) and the computed area
    above which `validate_layer` reports the feature (0.01 = 1 %).
tile_package_warning_mb : float
    Size in MB of the tiles a self-contained map inlines from a local tile package
    (MBTiles, PMTiles) above which `renewal_map` warns.
n_jobs : int | None
    Threads for the GEOS-heavy steps (spatial rule functions, zone statistics, validation),
    the one thread setting of the toolkit; a function's ``n_jobs=`` overrides it for one
    call. None uses the machine's cores (at most 4); each step uses threads only when its
    data is large enough to pay. Results do not depend on it.
"""

from __future__ import annotations

working_crs: str | int | None = None
lang: str = "zh"
floor_area_per_household: float = 100.0
persons_per_household: float = 3.2
nearby_dist: float = 1500.0
use_arrow: bool = True
map_simplify_tolerance: float = 0.5
map_coordinate_precision: int = 6
map_feature_warning: int = 50_000
map_overview_min_parcels: int = 100_000
landuse_crosswalk: str | None = None
stated_area_tolerance: float = 0.01
tile_package_warning_mb: float = 50.0
n_jobs: int | None = None
