"""
Sphinx configuration of the geo_renewal documentation.

Build: ``python -m sphinx -W --keep-going -n -b html docs docs/_build/html`` (the test suite
runs the same, see tests/test_docs.py). Everything is local: no intersphinx, no network.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(ROOT))

import geo_renewal  # noqa: E402

project = "geo_renewal"
author = "geo_renewal developers"
copyright = "2026, geo_renewal developers"  # noqa: A001
release = geo_renewal.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "click_reference",
    "soft_refs",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
language = "en"

# Markdown (MyST): ``{ref}`` targets for headings down to level 3, and the syntax the pages use.
myst_enable_extensions = ["colon_fence", "deflist", "dollarmath"]
myst_heading_anchors = 3

# In docstrings a single-backtick name links to its documentation where one exists and is
# shown in italics otherwise (docstrings name private helpers and module paths too).
default_role = "soft"

# API pages: signatures as written, documented members in source order.
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autosummary_generate = False
add_module_names = False

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()  # validation is `numpydoc lint` / pre-commit

# Strict build (-n): every cross-reference must resolve. Offline there is no intersphinx, so
# references to other packages' objects (type hints such as `gpd.GeoDataFrame`, `CRS`,
# `ast.Expression`) cannot resolve; they are shown as text. Anything of geo_renewal that does
# not resolve still fails. How docstring names link: docs/_ext/soft_refs.py.
_THIRD_PARTY = (
    "gpd|geopandas|pd|pandas|np|numpy|npt|shapely|pyproj|folium|branca|dask|dask_geopandas"
    "|distributed|rasterio|scipy|openpyxl|pyarrow|pyogrio|click|dt"
)
_STDLIB = "|".join(sorted(sys.stdlib_module_names))
nitpick_ignore_regex = [
    (r"py:.*", rf"({_THIRD_PARTY}|{_STDLIB})(\..*)?"),
    # Bare names of typing and third-party classes as type hints write them.
    (
        r"py:.*",
        r"(CRS|Path|Any|Callable|Iterable|Iterator|Mapping|Sequence|Literal|Self|Hashable"
        r"|Figure|Axes|Panel)",  # matplotlib figures; printmap.Panel, a Callable alias
    ),
]

html_theme = "alabaster"
html_title = f"geo_renewal {release}"
html_static_path: list[str] = []
html_theme_options = {
    "description": "Urban-renewal spatial planning toolkit",
    # Wide enough for the 100-column --help text of the CLI reference and the code blocks.
    "page_width": "1360px",
    "sidebar_width": "240px",
    "body_max_width": "none",
    "code_font_size": "0.82em",
    "fixed_sidebar": True,
    "show_relbar_bottom": True,
}
html_sidebars = {"**": ["about.html", "navigation.html", "relations.html", "searchbox.html"]}
