"""Every command against every kind of bad file: one sentence naming the file (issue 13, item 13).

Each command (and each of its file options) is run on a missing file, an empty file, a file
of random bytes with the right extension and a folder with the file's name. Each must end in
one message naming the file, with exit code 1 (2 where click refuses the path itself, a
usage error), no "unexpected error" and no traceback.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from geo_renewal.cli import cli
from geo_renewal.datasets import get_path

#: (case id, file extension, argv with ``{bad}`` for the bad file, ``{district}`` for the
#: sample GeoPackage, ``{ledger}`` for the sample ledger, ``{out}`` for an output folder)
COMMANDS = [
    ("stats", ".gpkg", ["stats", "{bad}", "--by", "street"]),
    ("stats--zones", ".gpkg", ["stats", "{district}", "--layer", "parcels", "--zones", "{bad}"]),
    (
        "stats--units",
        ".gpkg",
        ["stats", "{district}", "--layer", "parcels", "--units", "{bad}"],
    ),
    ("map", ".gpkg", ["map", "{bad}", "--out", "{out}/m.html"]),
    (
        "map--districts",
        ".gpkg",
        [
            "map",
            "{district}",
            "--layer",
            "parcels",
            "--districts",
            "{bad}",
            "--out",
            "{out}/m.html",
        ],
    ),
    (
        "map--constraint",
        ".gpkg",
        [
            "map",
            "{district}",
            "--layer",
            "parcels",
            "--constraint",
            "heritage_core={bad}",
            "--out",
            "{out}/m.html",
        ],
    ),
    ("resettle", ".gpkg", ["resettle", "{bad}", "--out", "{out}/r.gpkg"]),
    (
        "resettle--sites",
        ".gpkg",
        [
            "resettle",
            "{district}",
            "--layer",
            "parcels",
            "--sites",
            "{bad}",
            "--out",
            "{out}/r.gpkg",
        ],
    ),
    (
        "progress-csv",
        ".csv",
        ["progress", "{bad}", "--projects", "{district}", "--out", "{out}/p.html"],
    ),
    (
        "progress-xlsx",
        ".xlsx",
        ["progress", "{bad}", "--projects", "{district}", "--out", "{out}/p.html"],
    ),
    (
        "progress--projects",
        ".gpkg",
        ["progress", "{ledger}", "--projects", "{bad}", "--out", "{out}/p.html"],
    ),
    (
        "progress--previous",
        ".xlsx",
        [
            "progress",
            "{ledger}",
            "--projects",
            "{district}",
            "--previous",
            "{bad}",
            "--out",
            "{out}/p.html",
        ],
    ),
    ("fund", ".gpkg", ["fund", "{bad}", "--out", "{out}/f.xlsx"]),
    ("fund-ledger-only", ".csv", ["fund", "{bad}", "--out", "{out}/f.xlsx"]),
    (
        "fund--ledger",
        ".csv",
        [
            "fund",
            "{district}",
            "--layer",
            "projects",
            "--ledger",
            "{bad}",
            "--out",
            "{out}/f.xlsx",
        ],
    ),
    (
        "fund--params",
        ".toml",
        [
            "fund",
            "{district}",
            "--layer",
            "projects",
            "--ledger",
            "{ledger}",
            "--params",
            "{bad}",
            "--out",
            "{out}/f.xlsx",
        ],
    ),
    (
        "fund--plots",
        ".csv",
        [
            "fund",
            "{district}",
            "--layer",
            "projects",
            "--ledger",
            "{ledger}",
            "--plots",
            "{bad}",
            "--out",
            "{out}/f.xlsx",
        ],
    ),
    ("validate-gpkg", ".gpkg", ["validate", "{bad}"]),
    ("validate-shp", ".shp", ["validate", "{bad}"]),
    ("validate-csv", ".csv", ["validate", "{bad}"]),
    (
        "validate--districts",
        ".gpkg",
        ["validate", "{district}", "--layer", "parcels", "--districts", "{bad}"],
    ),
    ("run", ".toml", ["run", "{bad}", "--out", "{out}/run", "--silent"]),
    ("classify", ".gpkg", ["classify", "{bad}", "--out", "{out}/c.gpkg", "--silent"]),
    (
        "classify--constraint",
        ".gpkg",
        [
            "classify",
            "{district}",
            "--layer",
            "parcels",
            "--constraint",
            "heritage_core={bad}",
            "--out",
            "{out}/c.gpkg",
            "--silent",
        ],
    ),
    (
        "classify--raster",
        ".tif",
        [
            "classify",
            "{district}",
            "--layer",
            "parcels",
            "--raster",
            "flood_depth={bad}",
            "--out",
            "{out}/c.gpkg",
            "--silent",
        ],
    ),
    (
        "classify--buildings",
        ".gpkg",
        [
            "classify",
            "{district}",
            "--layer",
            "parcels",
            "--buildings",
            "{bad}",
            "--out",
            "{out}/c.gpkg",
            "--silent",
        ],
    ),
    ("rules-check", ".toml", ["rules", "check", "{bad}"]),
    ("rules-check--parcels", ".gpkg", ["rules", "check", "default", "--parcels", "{bad}"]),
]

BAD = ["missing", "empty", "random", "folder"]

#: Every command × bad input; a CSV also as a header without rows (an export cut short).
CASES = [
    pytest.param(command, ext, argv, bad, id=f"{command}-{bad}")
    for command, ext, argv in COMMANDS
    for bad in (*BAD, *(["header-only"] if ext == ".csv" else []))
]


def _make_bad(folder: Path, kind: str, ext: str) -> Path:
    """Write the bad input `kind` (missing, empty, random bytes, folder) named ``bad<ext>``."""
    path = folder / f"bad{ext}"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "random":
        path.write_bytes(random.Random(13).randbytes(4096))
    elif kind == "folder":
        path.mkdir()
    elif kind == "header-only":
        path.write_text("project_id,households,plot_area\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("command", "ext", "argv", "bad"), CASES)
def test_bad_file_is_one_sentence(tmp_path, command, ext, argv, bad):
    path = _make_bad(tmp_path, bad, ext)
    (tmp_path / "out").mkdir()
    values = {
        "bad": str(path),
        "district": str(get_path("sample_district")),
        "ledger": str(get_path("sample_ledger")),
        "out": str(tmp_path / "out"),
    }
    args = [a.format(**values) for a in argv]
    result = CliRunner().invoke(cli, args)
    text = result.output
    assert isinstance(result.exception, SystemExit), (command, bad, result.exception, text)
    assert result.exit_code in (1, 2), (command, bad, result.exit_code, text)
    assert "unexpected error" not in text, text
    assert "Traceback" not in text, text
    error = text[text.index("Error:") :] if "Error:" in text else ""
    assert "bad" + ext in error.splitlines()[0] if error else False, text
    # a usage error (2) only where click refuses the path itself: missing, or a folder
    if result.exit_code == 2:
        assert bad in ("missing", "folder"), text


@pytest.fixture
def lying_cpg(tmp_path):
    """The GBK sample Shapefile with a ``.cpg`` that says UTF-8 (read as GB18030, warned)."""
    src = get_path("sample_shp")
    for part in src.parent.glob(src.stem + ".*"):
        shutil.copy(part, tmp_path / part.name)
    (tmp_path / f"{src.stem}.cpg").write_text("UTF-8", encoding="ascii")
    return tmp_path / src.name


@pytest.mark.parametrize(
    "argv",
    [
        ["validate", "{shp}"],
        ["rules", "check", "default", "--parcels", "{shp}"],
        ["stats", "{shp}", "--by", "street"],
    ],
    ids=["validate", "rules-check", "stats"],
)
def test_read_warning_is_one_planner_line(lying_cpg, argv):
    result = CliRunner().invoke(cli, [a.format(shp=lying_cpg) for a in argv])
    lines = [x for x in result.output.splitlines() if x.startswith("Warning: ")]
    assert lines == [x for x in lines if x.startswith(f"Warning: `{lying_cpg}`")], lines
    assert sum(".cpg declares the text encoding UTF-8" in x for x in lines) == 1, lines
    assert "UserWarning" not in result.output
    assert ".py:" not in result.output
