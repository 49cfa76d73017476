"""
Deprecated: `geo_renewal.scale` was split into `geo_renewal.geoparquet` and `geo_renewal.partitioned`.

The names still resolve here with a `FutureWarning`; import them from their new modules
(or from `geo_renewal`). This module will be removed in geo_renewal 0.3.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

_MOVED = {
    "ROWS_PER_PARTITION": "geoparquet",
    "auto_partitions": "geoparquet",
    "is_partitioned": "geoparquet",
    "partition_layer": "geoparquet",
    "dask_client": "partitioned",
}


def __getattr__(name: str) -> Any:
    module = _MOVED.get(name)
    if module is None:
        msg = f"module 'geo_renewal.scale' has no attribute {name!r}"
        raise AttributeError(msg)
    msg = f"geo_renewal.scale.{name} moved to geo_renewal.{module}.{name}; geo_renewal.scale goes away in 0.3."
    warnings.warn(msg, FutureWarning, stacklevel=2)
    return getattr(importlib.import_module(f"geo_renewal.{module}"), name)
