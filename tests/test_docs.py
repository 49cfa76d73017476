"""The documentation: it builds strictly, and what the code says about it is true."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

import geo_renewal
from geo_renewal.cli import cli

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PACKAGE = ROOT / "geo_renewal"

#: `DOMAIN.md §3`, `docs/domain.md §3.2`: a citation of the domain page.
CITATION = re.compile(r"(?:DOMAIN|domain)\.md[`'\"]?\s*§\s*(\d+(?:\.\d+)*)")
#: A bare `§3` (TOML rule and parameter files cite the domain page in their header).
BARE = re.compile(r"§\s*(\d+(?:\.\d+)*)")
#: A heading of docs/domain.md that carries a section number: `## §3 …` or `## 3. …`.
HEADING = re.compile(r"^#{1,6}\s+§?\s*(\d+(?:\.\d+)*)\.?\s")


def _domain_sections() -> set[str]:
    text = (DOCS / "domain.md").read_text(encoding="utf-8")
    return {m.group(1) for line in text.splitlines() if (m := HEADING.match(line))}


def _citations() -> list[tuple[str, int, str]]:
    found = []
    for path in sorted([*PACKAGE.rglob("*.py"), *PACKAGE.rglob("*.toml")]):
        text = path.read_text(encoding="utf-8")
        pattern = BARE if path.suffix == ".toml" and CITATION.search(text) else CITATION
        for lineno, line in enumerate(text.splitlines(), start=1):
            for m in pattern.finditer(line):
                found.append((str(path.relative_to(ROOT)), lineno, m.group(1)))
    return found


def test_domain_page_has_the_numbered_sections():
    assert {"1", "2", "3", "4", "5"} <= _domain_sections()


def test_every_domain_citation_names_a_section_that_exists():
    citations = _citations()
    assert len(citations) >= 30, "the code cites the domain page; did the pattern break?"
    sections = _domain_sections()
    broken = [f"{path}:{lineno}: §{n}" for path, lineno, n in citations if n not in sections]
    assert not broken, f"no heading of docs/domain.md has these numbers: {broken}"


def _documented_names() -> set[str]:
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    targets = re.findall(r"^\.\. auto\w+:: (\S+)", text, flags=re.MULTILINE)
    return {t.removeprefix("geo_renewal.") for t in targets}


def test_every_public_name_is_in_the_api_reference():
    public = set(geo_renewal.__all__) - {"__version__"}
    missing = sorted(public - _documented_names())
    assert not missing, f"add these names of geo_renewal.__all__ to docs/api.md: {missing}"


def test_cli_reference_renders_each_commands_help_exactly():
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        from click_reference import WIDTH, help_text, iter_commands
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    commands = list(iter_commands(cli, "geo-renewal"))
    assert {"geo-renewal", "geo-renewal classify", "geo-renewal rules check"} <= {
        path for path, _ in commands
    }
    runner = CliRunner()
    for path, ctx in commands:
        args = [*path.split()[1:], "--help"]
        result = runner.invoke(cli, args, prog_name="geo-renewal", terminal_width=WIDTH)
        assert result.exit_code == 0, path
        assert help_text(ctx) == result.output, path


def test_version_has_one_source():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    source = ROOT / project["tool"]["hatch"]["version"]["path"]
    # hatchling's default pattern for a `path` version source
    found = re.search(
        r"^__version__\s*=\s*['\"](?P<version>[^'\"]+)['\"]",
        source.read_text(encoding="utf-8"),
        flags=re.MULTILINE,
    )
    assert found is not None
    assert found["version"] == geo_renewal.__version__
    result = CliRunner().invoke(cli, ["--version"], prog_name="geo-renewal")
    assert result.output.strip() == f"geo-renewal, version {geo_renewal.__version__}"


@pytest.mark.slow
@pytest.mark.docs
def test_docs_build_without_warnings(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_parser")
    pytest.importorskip("numpydoc")
    out = tmp_path / "html"
    # -W: warnings are errors; -n: every cross-reference must resolve; -E: no cached state.
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-E", "-q"]
    cmd += ["-b", "html", "-d", str(tmp_path / "doctrees"), str(DOCS), str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr[-5000:]
    for page in ("index", "architecture", "domain", "api", "cli", "internals", "guide/index"):
        assert (out / f"{page}.html").exists(), page
    cli_page = (out / "cli.html").read_text(encoding="utf-8")
    assert "geo-renewal classify" in cli_page
    assert "Usage: geo-renewal classify [OPTIONS] PARCELS" in cli_page


def test_the_maps_guide_names_every_tile_provider():
    from geo_renewal.tiles import tile_names

    text = (DOCS / "guide" / "maps.md").read_text(encoding="utf-8")
    missing = [t for t in tile_names() if f'"{t}"' not in text]
    assert not missing, f"docs/guide/maps.md does not describe the tile providers {missing}"
