"""
Optional dependencies: one place that imports them and names the extra to install.

Every import of an optional package goes through `import_optional`, so a missing package
is always the same one-sentence `ImportError` naming the ``pip install`` line.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["EXTRAS", "import_optional"]

#: Top-level package -> the extra of geo_renewal that installs it.
EXTRAS: dict[str, str] = {
    "rasterio": "raster",
    "folium": "maps",
    "branca": "maps",
    "xyzservices": "maps",
    "offlinefolium": "maps",
    "scipy": "solver",
    "dask": "dask",
    "dask_geopandas": "dask",
    "distributed": "dask",
    "matplotlib": "print",
    "pptx": "print",
    "numpy_financial": "finance",
}


def import_optional(name: str, *, purpose: str) -> ModuleType:
    """
    Import an optional module, or raise an `ImportError` that names the extra to install.

    Parameters
    ----------
    name
        Module to import, e.g. ``"scipy.optimize"`` or ``"rasterio.features"``.
    purpose
        What needs it, for the message (``"raster statistics"``).

    Returns
    -------
    module
        The imported module.

    Raises
    ------
    ImportError
        If the module is not installed; the message gives the ``pip install`` line.

    Examples
    --------
    >>> import_optional("json", purpose="a doctest").__name__
    'json'
    >>> import_optional("no_such_package_xyz", purpose="a doctest")
    Traceback (most recent call last):
    ...
    ImportError: a doctest needs no_such_package_xyz: pip install no_such_package_xyz
    """
    try:
        return importlib.import_module(name)
    except ImportError as e:
        top = name.split(".")[0]
        extra = EXTRAS.get(top)
        install = f'"geo_renewal[{extra}]"' if extra else top
        msg = f"{purpose} needs {top}: pip install {install}"
        raise ImportError(msg) from e
