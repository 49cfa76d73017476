"""
The meeting report as PDF (A4 or A3): ``report.html`` printed by a local Chromium, Chrome or Edge.

The PDF has exactly the content of ``report.html`` because it *is* that page, printed by a
browser in headless mode with the report's own ``@page`` print CSS (the paper size set
here). The browser is found from ``GEO_RENEWAL_BROWSER``, else on ``PATH`` (chromium,
chromium-browser, google-chrome, chrome, msedge, microsoft-edge); without one, the refusal
names the fix. Nothing is fetched from the network. See docs/guide/print.md.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from geo_renewal._errors import InputError

__all__ = ["BROWSERS", "BROWSER_ENV", "find_browser", "report_pdf"]

#: Environment variable naming the browser executable to print with.
BROWSER_ENV = "GEO_RENEWAL_BROWSER"

#: Executable names looked up on PATH, in order.
BROWSERS = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "chrome",
    "msedge",
    "microsoft-edge",
)

_PAPERS = ("A4", "A3")


def find_browser() -> str | None:
    """
    Return the browser executable that prints reports, or None if there is none.

    Returns
    -------
    path
        ``GEO_RENEWAL_BROWSER`` if set, else the first of `BROWSERS` on ``PATH``.

    Examples
    --------
    >>> path = find_browser()
    >>> path is None or isinstance(path, str)
    True
    """
    env = os.environ.get(BROWSER_ENV)
    if env:
        return env
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


def report_pdf(
    report: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    paper: str = "A4",
    landscape: bool = False,
    timeout: float = 120,
) -> Path:
    """
    Print a meeting report (``report.html``) to PDF on A4 or A3 with a local browser.

    Parameters
    ----------
    report
        The ``report.html`` written by `meeting_report` (or `run_plan`).
    out
        The ``.pdf`` to write (atomically).
    paper
        ``"A4"`` or ``"A3"``.
    landscape
        If True, the long side is horizontal.
    timeout
        Seconds the browser may take.

    Returns
    -------
    path
        The PDF written.

    Raises
    ------
    InputError
        If no browser is found (the message says how to name one), the report is missing,
        or the browser fails.

    Examples
    --------
    >>> report_pdf("missing.html", "r.pdf")
    Traceback (most recent call last):
    ...
    geo_renewal._errors.InputError: missing.html does not exist; pass the report.html written by `geo-renewal run` (or meeting_report).
    """
    from geo_renewal._checks import check_choice
    from geo_renewal.io import atomic_write

    src = Path(report)
    if not src.is_file():
        msg = f"{src} does not exist; pass the report.html written by `geo-renewal run` (or meeting_report)."
        raise InputError(msg)
    paper = check_choice(str(paper).upper(), _PAPERS, name="paper")
    browser = find_browser()
    if browser is None:
        msg = (
            "Printing the report to PDF needs Chromium, Chrome or Edge and none was found; "
            f"install one (Debian/Ubuntu: `apt install chromium`) or set {BROWSER_ENV} to its "
            "executable, or open report.html and print it from the browser."
        )
        raise InputError(msg)
    page_css = f"<style>@page{{size:{paper} {'landscape' if landscape else 'portrait'};margin:12mm}}</style>"
    html = src.read_text(encoding="utf-8").replace("</head>", page_css + "</head>", 1)
    with tempfile.TemporaryDirectory(prefix="gr-report-") as tmp:
        page = Path(tmp) / src.name
        page.write_text(html, encoding="utf-8")
        target = Path(tmp) / "report.pdf"
        _print(browser, page, target, Path(tmp), timeout)
        with atomic_write(Path(out)) as final:
            shutil.copyfile(target, final)
    return Path(out)


def _print(browser: str, page: Path, target: Path, profile: Path, timeout: float) -> None:
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        f"--user-data-dir={profile / 'profile'}",
        "--no-pdf-header-footer",
        "--virtual-time-budget=10000",
        f"--print-to-pdf={target}",
        page.as_uri(),
    ]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        msg = f"the browser {browser} could not print the report ({e}); set {BROWSER_ENV} to another browser."
        raise InputError(msg) from e
    if not target.is_file() or target.stat().st_size == 0:
        err = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        msg = f"the browser {browser} did not print the report ({err[0]}); set {BROWSER_ENV} to another browser."
        raise InputError(msg)
