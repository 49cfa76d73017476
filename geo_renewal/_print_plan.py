"""
The project file's ``[print]`` section: which printed maps, atlases, deck and report PDF a run writes.

`print_section` checks the section (called by `geo_renewal.plan.load_plan`); `write_prints`
writes what it asks for into the run's staging folder (called by
`geo_renewal.workflow.run_plan`), so the printed outputs are all or nothing with the rest.
See docs/guide/print.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from geo_renewal._errors import InputError

if TYPE_CHECKING:
    from geo_renewal.workflow import RunResult

__all__ = ["PRINT_FILES", "PRINT_KEYS", "print_section", "write_prints"]

#: Keys of a project file's [print] section.
PRINT_KEYS = {"maps", "paper", "landscape", "scale", "atlas", "dpi", "deck", "report_pdf", "grid"}


# --------------------------------------------------------------------------------------


def print_section(section: Any, path: Path) -> dict[str, Any] | None:
    """
    Check a project file's ``[print]`` section; return its settings, or None without one.

    Parameters
    ----------
    section
        The parsed ``[print]`` table (None when the file has none).
    path
        The project file, for messages.

    Returns
    -------
    settings
        ``maps`` (tuple), ``paper``, ``landscape``, ``scale`` (denominator or None), ``atlas``
        (tuple), ``dpi``, ``deck``, ``report_pdf``, ``grid``.

    Raises
    ------
    InputError
        Naming the file, the key and the fix.

    Examples
    --------
    >>> print_section({"maps": ["progress"], "paper": "A1"}, Path("plan.toml"))["paper"]
    'A1'
    """
    from geo_renewal._checks import did_you_mean
    from geo_renewal._print_frame import PAPERS, parse_scale

    if section is None:
        return None

    def refuse(key: str, problem: str, fix: str) -> InputError:
        return InputError(f"{path}: `print.{key}` {problem}; {fix}.")

    for key in section:
        if key not in PRINT_KEYS:
            err = refuse(
                key,
                "is not a key",
                f"{did_you_mean(key, sorted(PRINT_KEYS))}valid keys: {', '.join(sorted(PRINT_KEYS))}",
            )
            raise err
    maps = _names(
        section.get("maps", ["classification"]),
        ("classification", "resettlement", "progress"),
        "maps",
        refuse,
    )
    atlas = _names(section.get("atlas", []), ("street", "project", "unit"), "atlas", refuse)
    paper = str(section.get("paper", "A3")).upper()
    if paper not in PAPERS:
        err = refuse(
            "paper", f"must be one of {', '.join(PAPERS)}, got {section.get('paper')!r}", "fix it"
        )
        raise err
    try:
        scale = parse_scale(section.get("scale"))
    except InputError as e:
        err = refuse("scale", str(e).split("; ")[0].split("` ", 1)[-1], 'write e.g. "1:5000"')
        raise err from e
    out: dict[str, Any] = {"maps": maps, "atlas": atlas, "paper": paper, "scale": scale}
    for key, default in (
        ("landscape", True),
        ("deck", False),
        ("report_pdf", False),
        ("grid", False),
    ):
        value = section.get(key, default)
        if not isinstance(value, bool):
            err = refuse(key, f"must be true or false, got {value!r}", "write e.g. true")
            raise err
        out[key] = value
    dpi = section.get("dpi", 200)
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not 50 <= dpi <= 1200:
        err = refuse(
            "dpi", f"must be a whole number from 50 to 1200, got {dpi!r}", "write e.g. 200"
        )
        raise err
    out["dpi"] = dpi
    return out


def _names(value: Any, options: tuple[str, ...], key: str, refuse: Any) -> tuple[str, ...]:
    from geo_renewal._checks import did_you_mean

    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        err = refuse(
            key, f"must be a list of names, got {value!r}", f"write e.g. [{options[0]!r}]"
        )
        raise err
    for v in items:
        if v not in options:
            err = refuse(
                key, f"names {v!r}", f"{did_you_mean(v, options)}valid: {', '.join(options)}"
            )
            raise err
    return tuple(items)


#: Output name -> file name of what [print] writes (the run's OUTPUT_FILES entries).
PRINT_FILES = {
    "print_classification": "classification.pdf",
    "print_resettlement": "resettlement.pdf",
    "print_progress": "progress.pdf",
    "atlas_street": "atlas_street.pdf",
    "atlas_project": "atlas_project.pdf",
    "atlas_unit": "atlas_unit.pdf",
    "deck": "meeting.pptx",
    "report_pdf": "report.pdf",
}


def write_prints(result: RunResult, out: Path) -> None:
    """
    Write what the plan's ``[print]`` asks for into the (staging) folder `out`.

    Maps a run cannot draw (no ledger: no progress map; nothing demolished: no
    resettlement map) are skipped, like their HTML maps.
    """
    from geo_renewal.printmap import print_map

    spec = getattr(result.plan, "print", None)
    if not spec:
        return
    opts = {
        "paper": spec["paper"],
        "landscape": spec["landscape"],
        "scale": spec["scale"],
        "grid": spec["grid"],
    }
    for kind in spec["maps"]:
        if (kind == "progress" and result.progress is None) or (
            kind == "resettlement" and result.resettlement is None
        ):
            continue
        name = f"print_{kind}"
        written = print_map(result, map=kind, out=out / PRINT_FILES[name], dpi=spec["dpi"], **opts)
        assert isinstance(written, Path)  # a file, since `out` is given
        result.files[name] = written
    if spec["atlas"]:
        from geo_renewal.atlas import print_atlas

        for by in spec["atlas"]:
            name = f"atlas_{by}"
            result.files[name] = print_atlas(result, by=by, out=out / PRINT_FILES[name], **opts)
    if spec["deck"]:
        from geo_renewal.deck import meeting_deck

        result.files["deck"] = meeting_deck(result, out / PRINT_FILES["deck"])
    if spec["report_pdf"] and "report" in result.files:
        from geo_renewal._report_pdf import report_pdf

        result.files["report_pdf"] = report_pdf(
            result.files["report"], out / PRINT_FILES["report_pdf"], paper="A4"
        )
