"""The planners' notebooks: stored without outputs, bilingual, and each runs top to bottom.

Every notebook in ``notebooks/`` is executed in a fresh ``python3`` kernel (ipykernel of this
interpreter) with nbclient; its outputs go to ``tmp_path`` through the
``GEO_RENEWAL_NOTEBOOK_OUT`` environment variable, which the notebooks read.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
NAMES = [p.stem for p in NOTEBOOKS]

#: Files each notebook must leave in its output folder (beside anything else it writes).
EXPECTED_OUTPUTS = {
    "01_quickstart": ["classification.html"],
    "02_statistics": ["stats_by_street.xlsx", "stats_by_street.csv", "statistics.xlsx"],
    "03_resettlement": ["resettlement.html", "resettlement.xlsx"],
    "04_progress_meeting": ["progress.html", "progress_meeting.xlsx"],
    "05_own_data": [
        "survey_renamed.shp",
        "gaode_export.geojson",
        "survey_findings.xlsx",
        "dltb_findings.xlsx",
        "offline_basemap.html",
    ],
    "06_weekly_meeting": ["renewal.gpkg", "weekly.xlsx", "weekly.html", "playback.html"],
    "07_scenarios": ["comparison.xlsx", "report.html", "change_shenzhen.html", "swipe.html"],
    "08_view_corridors": ["permitted_height.tif", "skyline.png", "view3d.html"],
}

_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"\b[A-Za-z]{3,}\b")


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def test_every_notebook_is_listed():
    assert sorted(EXPECTED_OUTPUTS) == NAMES
    index = (NOTEBOOK_DIR / "README.md").read_text(encoding="utf-8")
    for name in NAMES:
        assert f"{name}.ipynb" in index


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_stored_without_outputs(path):
    nb = _read(path)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    for cell in code:
        assert cell.outputs == [], f"cell {cell.id} of {path.name} has stored outputs"
        assert cell.execution_count is None, f"cell {cell.id} of {path.name} has a count"


def _cjk_share(text: str) -> float:
    letters = [ch for ch in text if ch.isalpha()]
    return sum(bool(_CJK.match(ch)) for ch in letters) / max(len(letters), 1)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_markdown_is_chinese_then_english(path):
    cells = [c for c in _read(path).cells if c.cell_type == "markdown"]
    assert cells
    for cell in cells:
        paragraphs = [p for p in re.split(r"\n\s*\n", cell.source) if p.strip()]
        first, last = paragraphs[0], paragraphs[-1]
        where = f"markdown cell {cell.id} of {path.name}"
        assert _CJK.search(first), f"{where}: the first paragraph is not Chinese"
        assert _LATIN_WORD.search(re.sub(r"`[^`]*`", "", last)), f"{where}: no English at the end"
        assert _cjk_share(first) >= _cjk_share(last), f"{where}: Chinese first, then English"


@pytest.fixture(scope="module")
def jupyter_path(tmp_path_factory):
    """A folder holding a "python3" kernelspec that runs this very interpreter.

    A user-level "python3" kernelspec (``~/.local/share/jupyter/kernels``) would otherwise
    take precedence over the venv's and might start another Python without geo_renewal.
    ``JUPYTER_PATH`` puts this one first.
    """
    from ipykernel.kernelspec import write_kernel_spec

    root = tmp_path_factory.mktemp("jupyter")
    write_kernel_spec(root / "kernels" / "python3")
    return str(root)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_notebook_runs(path, tmp_path, monkeypatch, jupyter_path):
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient

    monkeypatch.setenv("GEO_RENEWAL_NOTEBOOK_OUT", str(tmp_path))
    monkeypatch.setenv("JUPYTER_PATH", jupyter_path)
    spec = KernelSpecManager().get_kernel_spec("python3")
    assert spec.argv[0] == sys.executable
    nb = _read(path)
    # The client owns (starts and shuts down) its kernel, so no socket outlives the test.
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=600,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()

    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert not errors, errors
    ran = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in ran)
    # Nothing lands next to the notebooks: every file goes to the redirected folder.
    out = tmp_path / path.stem
    for name in EXPECTED_OUTPUTS[path.stem]:
        assert (out / name).is_file(), f"{path.stem} did not write {name}"
        assert (out / name).stat().st_size > 0
    stderr = "".join(
        o.get("text", "") for c in ran for o in c.outputs if o.get("name") == "stderr"
    )
    assert "Traceback" not in stderr
    assert "TqdmWarning" not in stderr  # ipywidgets (dev extra) gives tqdm.auto its widget
