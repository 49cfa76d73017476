"""
Sample data: a realistic, fictional renewal district near Jinan, and where its files are.

The sample district (样例片区) is made by a deterministic generator (see
`geo_renewal.datasets._generate` for the layout and the documented distributions) and
shipped as files in ``data/``:
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geo_renewal._compat import import_optional
from geo_renewal._errors import InputError

if TYPE_CHECKING:
    import os

    from geo_renewal.datasets._generate import SampleDistrict

__all__ = [
    "AS_OF",
    "FILES",
    "LAYERS",
    "SHAPEFILE_COLUMNS",
    "SampleDistrict",
    "available",
    "generate_sample_district",
    "get_path",
    "write_sample_data",
]

logger = logging.getLogger(__name__)

#: Dataset name -> file path relative to the data folder.
FILES: dict[str, str] = {
    "sample_district": "sample_district.gpkg",
    "flood_depth": "flood_depth.tif",
    "sample_ledger": "sample_ledger.xlsx",
    "sample_shp": "sample_shp/sample_parcels.shp",
    "sample_plan": "sample_plan.toml",
    "weekly": "weekly",  # four weekly snapshots: data/weekly/<date>/*.xlsx (datasets._weekly)
    # datasets/_survey.py: the office's own data (三调 DLTB, 不动产 ZRZ) and an offline base map
    "sample_survey": "sample_survey.gpkg",
    "sample_tiles": "sample_tiles.mbtiles",
    "sample_fund": "sample_fund.toml",
}

#: Canonical parcel column -> Chinese field name of the survey-office Shapefile (≤ 10 bytes
#: in GBK). Values are written as Chinese labels (砖木结构, 居住用地, C级, 是/否).
SHAPEFILE_COLUMNS: dict[str, str] = {
    "parcel_id": "地块编号",
    "name": "名称",
    "land_use": "用地性质",
    "planned_use": "规划用途",
    "build_year": "建成年代",
    "floors": "层数",
    "structure": "结构",
    "danger_grade": "危房等级",
    "households": "户数",
    "population": "人口",
    "floor_area": "建筑面积",
    "street": "街道",
    "community": "社区",
    "listed": "文保单位",
    "illegal": "违法建筑",
}

#: Layers of ``sample_district.gpkg``, in the order they are written.
LAYERS: tuple[str, ...] = (
    "districts",
    "parcels",
    "buildings",
    "projects",
    "units",
    "river",
    "eco_belt",
    "heritage_core",
    "heritage_control",
    "view_corridor",
    "price_bands",
    "plots",
    "viewpoints",
    "landmarks",
)

_PACKAGE_DATA = Path(__file__).parent / "data"
_SOURCE_DATA = Path(__file__).resolve().parents[2] / "data"


def available() -> list[str]:
    """
    Return the names `get_path` accepts.

    Returns
    -------
    names
        Dataset names, e.g. ``["sample_district", "flood_depth", ...]``.

    Examples
    --------
    >>> available()
    ['sample_district', 'flood_depth', 'sample_ledger', 'sample_shp', 'sample_plan', 'weekly',
     'sample_survey', 'sample_tiles', 'sample_fund']
    """
    return list(FILES)


def get_path(name: str) -> Path:
    """
    Return the path of a bundled sample file.

    Parameters
    ----------
    name
        ``"sample_district"`` (GeoPackage with all layers), ``"flood_depth"`` (GeoTIFF),
        ``"sample_ledger"`` (XLSX ledger) or ``"sample_shp"`` (GBK Shapefile of parcels).

    Returns
    -------
    path
        The file, from the installed package's data folder or the source tree's ``data/``.

    Raises
    ------
    InputError
        If `name` is unknown (the valid names are listed) or the file is missing (with the
        command that writes it).

    Examples
    --------
    >>> get_path("sample_district").name
    'sample_district.gpkg'
    >>> get_path("nope")
    Traceback (most recent call last):
    ...
    geo_renewal._errors.InputError: unknown dataset 'nope'; available: ...
    """
    if name not in FILES:
        msg = f"unknown dataset {name!r}; available: {', '.join(FILES)}."
        raise InputError(msg)
    for folder in (_PACKAGE_DATA, _SOURCE_DATA):
        path = folder / FILES[name]
        if path.exists():
            return path
    msg = (
        f"the sample file {FILES[name]!r} is missing from {_PACKAGE_DATA} and {_SOURCE_DATA}; "
        f"write it with `geo-renewal sample-data --out data/`."
    )
    raise InputError(msg)


def write_sample_data(
    out_dir: str | os.PathLike[str], *, district: SampleDistrict | None = None
) -> dict[str, Path]:
    """
    Generate the sample district and write all its files into `out_dir`.

    Writes ``sample_district.gpkg`` (all layers), ``flood_depth.tif``,
    ``sample_ledger.xlsx`` and ``sample_shp/sample_parcels.shp`` (GBK, Chinese field names,
    no ``.cpg``). Every file is written atomically (temporary file, then rename).

    Parameters
    ----------
    out_dir
        Target folder; created if missing. Existing sample files are replaced.
    district
        A district from `generate_sample_district` to write; generated (default seed) if
        None.

    Returns
    -------
    paths
        Dataset name -> path written.

    Raises
    ------
    ImportError
        If rasterio (extra ``raster``) is not installed.

    Examples
    --------
    >>> import tempfile
    >>> paths = write_sample_data(tempfile.mkdtemp())  # doctest: +SKIP
    >>> sorted(paths)  # doctest: +SKIP
    ['flood_depth', 'sample_district', 'sample_ledger', 'sample_plan', 'sample_shp', 'weekly']
    """
    import shutil

    from geo_renewal.datasets._generate import generate_sample_district
    from geo_renewal.io import atomic_write

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if district is None:
        district = generate_sample_district()
    paths = {name: out / rel for name, rel in FILES.items()}
    _write_gpkg(district, paths["sample_district"])
    _write_tif(district, paths["flood_depth"])
    _write_ledger(district, paths["sample_ledger"])
    from geo_renewal.datasets._weekly import write_weekly

    write_weekly(district, paths["weekly"])  # its own rng: the other files do not change
    _write_shapefile(district, paths["sample_shp"])
    _write_survey(district, paths["sample_survey"], paths["sample_tiles"])
    with atomic_write(paths["sample_plan"]) as tmp:
        shutil.copyfile(Path(__file__).with_name("sample_plan.toml"), tmp)
    with atomic_write(paths["sample_fund"]) as tmp:  # issue 16: its credit lines, subsidies
        shutil.copyfile(Path(__file__).with_name("sample_fund.toml"), tmp)
    logger.info("wrote the sample district to %s", out)
    return paths


def _write_survey(district: SampleDistrict, gpkg: Path, mbtiles: Path) -> None:
    """Write ``sample_survey.gpkg`` (dltb, zrz) and ``sample_tiles.mbtiles`` (datasets/_survey.py)."""
    from geo_renewal._tilepackage import write_mbtiles
    from geo_renewal.datasets import _survey
    from geo_renewal.io import atomic_write, write_layer

    with atomic_write(gpkg) as tmp:
        for name, layer in _survey.survey_layers(district).items():
            write_layer(layer, tmp, layer=name)
    with atomic_write(mbtiles) as tmp:
        write_mbtiles(
            tmp,
            _survey.sample_tiles(district),
            name="样例片区底图",
            attribution="geo_renewal 样例片区（虚构数据）",
            bounds=tuple(district.layers["parcels"].to_crs(4326).total_bounds),
        )


def _write_gpkg(district: SampleDistrict, path: Path) -> None:
    from geo_renewal.io import atomic_write, write_layer

    with atomic_write(path) as tmp:
        for name in LAYERS:
            write_layer(district.layers[name], tmp, layer=name)


def _write_tif(district: SampleDistrict, path: Path) -> None:
    rasterio = import_optional("rasterio", purpose="writing the flood-depth GeoTIFF")
    from rasterio.transform import Affine

    from geo_renewal.io import atomic_write

    depth = district.flood_depth
    profile = {
        "driver": "GTiff",
        "height": depth.shape[0],
        "width": depth.shape[1],
        "count": 1,
        "dtype": "float32",
        "crs": district.crs,
        "transform": Affine(*district.flood_transform),
        "nodata": district.nodata,
        "compress": "deflate",
        "predictor": 3,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
    }
    with atomic_write(path) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(depth, 1)
        dst.set_band_description(1, "flood depth (m)")
        dst.update_tags(units="m", source="geo_renewal sample district (synthetic)")


def _write_ledger(district: SampleDistrict, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from geo_renewal._cellsafe import set_cell
    from geo_renewal.io import atomic_write

    ledger = district.ledger
    wb = Workbook()
    ws = wb.active
    ws.title = "台账"
    for j, col in enumerate(ledger.columns, start=1):
        set_cell(ws, 1, j, col)
    for i, row in enumerate(ledger.itertuples(index=False), start=2):
        for j, v in enumerate(row, start=1):
            if v is not None:
                set_cell(ws, i, j, v)  # text stays text (geo_renewal._cellsafe)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for j, col in enumerate(ledger.columns, start=1):
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = max(10, 2 * len(str(col)) + 2)
        if "日期" in col:
            for cell in ws[letter][1:]:
                cell.number_format = "yyyy-mm-dd"
    ws.column_dimensions["B"].width = 34
    ws.freeze_panes = "C2"
    with atomic_write(path) as tmp:
        wb.save(tmp)


def _survey_frame(district: SampleDistrict) -> Any:
    """Return the parcels as a survey office delivers them: Chinese headers and values."""
    from geo_renewal import schema

    parcels = district.layers["parcels"]
    zh = parcels[list(SHAPEFILE_COLUMNS)].copy()
    zh["land_use"] = zh["land_use"].map(lambda v: schema.LAND_USES[v][0], na_action="ignore")
    zh["planned_use"] = zh["planned_use"].map(lambda v: schema.LAND_USES[v][0], na_action="ignore")
    zh["structure"] = zh["structure"].map(lambda v: schema.STRUCTURES[v][0], na_action="ignore")
    zh["danger_grade"] = zh["danger_grade"].map(lambda v: f"{v}级", na_action="ignore")
    for c in ("listed", "illegal"):
        zh[c] = zh[c].map({True: "是", False: "否"}).astype("string")
    zh = zh.rename(columns=SHAPEFILE_COLUMNS)
    return zh.set_geometry(parcels.geometry)


def _write_shapefile(district: SampleDistrict, path: Path) -> None:
    """Write the GBK Shapefile set (no .cpg), then move it over the old set file by file."""
    import shutil
    import tempfile

    import pyogrio

    path.parent.mkdir(parents=True, exist_ok=True)
    tmpdir = Path(tempfile.mkdtemp(prefix=f".{path.stem}.tmp-", dir=path.parent))
    try:
        tmp = tmpdir / path.name
        # RESIZE shrinks the DBF text fields to their longest value (254 bytes otherwise).
        pyogrio.write_dataframe(
            _survey_frame(district), tmp, encoding="GBK", layer_options={"RESIZE": "YES"}
        )
        tmp.with_suffix(".cpg").unlink(missing_ok=True)  # survey offices rarely ship one
        path.with_suffix(".cpg").unlink(missing_ok=True)
        for f in sorted(tmpdir.iterdir()):
            f.replace(path.parent / f.name)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def __getattr__(name: str) -> object:
    # The generator imports geopandas; load it only when asked for.
    if name in ("generate_sample_district", "SampleDistrict", "SEED", "AS_OF", "CRS"):
        from geo_renewal.datasets import _generate

        return getattr(_generate, name)
    msg = f"module 'geo_renewal.datasets' has no attribute {name!r}"
    raise AttributeError(msg)
