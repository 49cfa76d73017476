"""The `geo-renewal` command as a whole: every command has help, an example and a README row."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import geo_renewal
from geo_renewal.cli import cli

README = Path(__file__).resolve().parents[1] / "README.md"


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            found += _commands(cmd, f"{prefix}{name} ")
        else:
            found.append((f"{prefix}{name}", cmd))
    return found


COMMANDS = _commands(cli)


def test_version():
    res = CliRunner().invoke(cli, ["--version"])
    assert res.exit_code == 0
    assert geo_renewal.__version__ in res.output


@pytest.mark.parametrize(("name", "cmd"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_has_help_with_an_example(name, cmd):
    res = CliRunner().invoke(cli, [*name.split(), "-h"])
    assert res.exit_code == 0, res.output
    assert "Example:" in res.output
    assert f"geo-renewal {name}" in res.output


@pytest.mark.parametrize(("name", "cmd"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_is_in_the_readme(name, cmd):
    assert f"`geo-renewal {name}" in README.read_text(encoding="utf-8")


def test_unknown_file_is_a_one_line_error():
    res = CliRunner().invoke(cli, ["validate", "no/such/file.gpkg"])
    assert res.exit_code == 2
    assert "does not exist" in res.output
    assert "Traceback" not in res.output


def test_library_error_becomes_a_click_error(tmp_path):
    bad = tmp_path / "parcels.csv"
    bad.write_text('地块编号,wkt\nP1,"POLYGON((0 0,1 0,1 1,0 0))"\n', encoding="utf-8")
    res = CliRunner().invoke(cli, ["validate", str(bad), "--kind", "parcels"])
    assert res.exit_code == 1
    assert res.output.startswith("Error: ")
    assert "crs" in res.output.lower()
    assert "Traceback" not in res.output


def _example_lines(cmd: click.Command) -> list[str]:
    """The example command lines of a command's docstring, as written in the source."""
    doc = cmd.callback.__doc__ or ""
    block = doc.split("Example:", 1)[1]
    return [
        ln.strip() for ln in block.splitlines() if ln.strip().startswith(("geo-renewal", "--"))
    ]


@pytest.mark.parametrize(("name", "cmd"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_help_example_prints_as_written(name, cmd):
    """Click rewraps paragraphs: an example only survives in a ``\\b`` block."""
    res = CliRunner().invoke(cli, [*name.split(), "-h"], terminal_width=100)
    shown = {ln.strip() for ln in res.output.splitlines()}
    lines = _example_lines(cmd)
    assert lines, f"{name}: no example command line"
    missing = [ln for ln in lines if ln.replace("\\\\", "\\") not in shown]
    assert not missing, f"{name}: these example lines are rewrapped in --help: {missing}"


@pytest.mark.parametrize(
    ("command", "option"),
    [("classify", "--constraint"), ("map", "--constraint"), ("resettle", "--constraint")],
)
def test_one_vocabulary_for_layers(command, option):
    """--layer is the input file's layer everywhere; constraint layers are --constraint."""
    res = CliRunner().invoke(cli, [command, "-h"], terminal_width=100)
    assert "--layer LAYER" in res.output
    assert f"{option} NAME=PATH" in res.output


def test_earlier_spellings_still_work(tmp_path):
    from geo_renewal.datasets import get_path

    out = tmp_path / "c.gpkg"
    path = str(get_path("sample_district"))
    args = ["classify", path, "--parcels-layer", "parcels", "--silent", "--out", str(out)]
    args += ["--layer", f"heritage_core={path}::heritage_core"]
    args += ["--raster", f"flood_depth={get_path('flood_depth')}"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "constraint layers are now --constraint NAME=PATH" in res.output


def test_layer_takes_one_input_layer():
    res = CliRunner().invoke(cli, ["stats", "x.gpkg", "--layer", "a=b.gpkg", "--by", "street"])
    assert res.exit_code == 2
    res = CliRunner().invoke(cli, ["validate", __file__, "--layer", "a=b"])
    assert "not NAME=PATH" in res.output


# ---------------------------------------------------------------- errors of every command

_ERRORS = [
    (
        PermissionError(13, "Permission denied", "/x/统计.xlsx"),
        1,
        "/x/统计.xlsx: permission denied",
    ),
    (
        OSError(28, "No space left on device", "/x/.statistics.tmp-1a2b3c4d.xlsx"),
        1,
        "/x/statistics.xlsx: the disk is full",
    ),
    (FileNotFoundError(2, "No such file or directory", "a.gpkg"), 1, "a.gpkg: no such file"),
    (ImportError('a map needs folium: pip install "geo_renewal[maps]"'), 1, "pip install"),
    (
        ModuleNotFoundError("No module named 'rasterio'", name="rasterio"),
        1,
        "pip install rasterio",
    ),
    (KeyboardInterrupt(), 130, "interrupted (Ctrl-C)"),
    (geo_renewal.InputError("street '东关\x1b[2J' unknown"), 1, "street '东关\\x1b[2J' unknown"),
    (RuntimeError("boom"), 1, "unexpected error (RuntimeError: boom)"),
]


@pytest.mark.parametrize("where", [(), ("rules",)], ids=["command", "subgroup command"])
@pytest.mark.parametrize(
    ("error", "code", "text"), _ERRORS, ids=[type(e[0]).__name__ for e in _ERRORS]
)
def test_every_error_of_a_command_is_one_message(monkeypatch, where, error, code, text):
    def fail():
        raise error

    group = cli.commands["rules"] if where else cli
    monkeypatch.setitem(group.commands, "boom", click.Command("boom", callback=fail))
    res = CliRunner().invoke(cli, [*where, "boom"])
    assert res.exit_code == code
    assert res.output.startswith("Error: ")
    assert text in res.output
    assert "\x1b" not in res.output
    assert "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1
    res = CliRunner().invoke(cli, ["--debug", *where, "boom"])
    if isinstance(error, KeyboardInterrupt):
        assert res.exit_code == 130  # Ctrl-C needs no traceback, even with --debug
    else:
        assert res.exception is error  # --debug: raised as is, so Python prints the traceback


def test_usage_errors_exit_2_and_debug_is_documented():
    res = CliRunner().invoke(cli, ["run", "--no-such-option"])
    assert res.exit_code == 2
    assert "Traceback" not in res.output
    res = CliRunner().invoke(cli, ["--help"])
    assert "--debug" in res.output
    assert "130" in res.output


@pytest.mark.parametrize(
    ("text", "prefix"),
    [
        (
            "15 个安置需求单元就地或 1500 米内安置的实物安置户数不足 50%：东关街道·征收拆迁·05",
            "提示：",
        ),
        (
            "`a.shp`: its .cpg declares the text encoding UTF-8, but 历下街道 reads as GB18030",
            "Warning: ",
        ),
    ],
)
def test_warning_prefix_follows_the_language_of_the_warning(text, prefix):
    from geo_renewal._cli_options import _warning_line

    assert _warning_line(text) == f"{prefix}{text}"
