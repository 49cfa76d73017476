"""The doctest namespace of the package's docstring examples (here so it applies to geo_renewal/)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd

import geo_renewal


@pytest.fixture(autouse=True)
def _doctest_namespace(doctest_namespace):
    doctest_namespace["gr"] = geo_renewal
    doctest_namespace["geo_renewal"] = geo_renewal
    doctest_namespace["gpd"] = gpd
    doctest_namespace["pd"] = pd
    doctest_namespace["np"] = np
