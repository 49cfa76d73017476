"""
Open HTML files in headless Chromium (Debian's /usr/bin/chromium) and report what happened.

Reusable by every test or benchmark that checks an HTML output (maps, meeting report,
ledger pages)::

    from browser import open_in_chromium, static_urls   # in tests (tests/ is on sys.path)
    from tests.browser import open_in_chromium          # from the repository root

    res = open_in_chromium(path, evaluate={"n": "geoRenewal.layers.length"})
    assert not res.errors and not res.dialogs and not res.external_requests
    assert res.values["n"] == 6
    assert pixel_stddev(res.screenshot) > 5

Every run uses a fresh, throw-away user data directory and Chromium flags that keep it
quiet (no background networking, component updates or sync). By default every http(s)
request is recorded and then aborted, so a page can never reach the network from a test.
"""

from __future__ import annotations

import io
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
]

# The load-and-draw time: window load, then two animation frames (one full render).
_FRAME_JS = (
    "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame("
    "() => r(performance.now()))))"
)


@dataclass
class BrowserResult:
    """What happened while a page loaded in headless Chromium."""

    url: str
    console: list[tuple[str, str]] = field(default_factory=list)  # (type, text)
    page_errors: list[str] = field(default_factory=list)  # uncaught exceptions
    dialogs: list[str] = field(default_factory=list)  # alert/confirm/prompt messages
    requests: list[str] = field(default_factory=list)  # every URL requested
    failed_requests: list[str] = field(default_factory=list)
    screenshot: bytes = b""  # PNG of the viewport
    load_ms: float = float("nan")  # navigation start -> load event + a rendered frame
    values: dict[str, Any] = field(default_factory=dict)  # results of `evaluate`

    @property
    def errors(self) -> list[str]:
        """Console errors and uncaught page exceptions."""
        return [t for k, t in self.console if k == "error"] + self.page_errors

    @property
    def external_requests(self) -> list[str]:
        """Requests other than the page itself and ``data:`` / ``blob:`` / ``about:`` URLs."""
        return [
            u
            for u in self.requests
            if u != self.url and not u.startswith(("data:", "blob:", "about:"))
        ]


def chromium_available() -> bool:
    """Tell whether Debian's Chromium and the playwright package are installed."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return Path(CHROMIUM).exists()


def open_in_chromium(
    path: str | Path,
    *,
    evaluate: dict[str, str] | None = None,
    actions: Any = None,
    viewport: tuple[int, int] = (1280, 800),
    screenshot: bool = True,
    block_network: bool = True,
    timeout_s: float = 180.0,
    settle_ms: int = 0,
) -> BrowserResult:
    """
    Load a local HTML file in headless Chromium and record errors, dialogs and requests.

    Parameters
    ----------
    path
        HTML file to open (as a ``file://`` URL).
    evaluate
        Name -> JavaScript expression evaluated after load; results in ``values``.
    actions
        Optional ``callable(page)`` run after load (e.g. hover, click) before
        `evaluate` and the screenshot.
    viewport
        Window size in CSS pixels.
    screenshot
        Take a PNG screenshot of the viewport.
    block_network
        Abort every http(s) request after recording it (the page stays offline).
    timeout_s
        Navigation timeout.
    settle_ms
        Extra wait after the rendered frame (for animations, tiles).

    Returns
    -------
    result
        A `BrowserResult`.
    """
    from playwright.sync_api import sync_playwright

    url = Path(path).resolve().as_uri()
    result = BrowserResult(url=url)
    profile = tempfile.mkdtemp(prefix="gr-chromium-")
    try:
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": viewport[0], "height": viewport[1]},
                service_workers="block",
            )
            try:
                if block_network:
                    context.route(re.compile(r"^(https?|wss?|ftp)://"), lambda r: r.abort())
                page = context.pages[0] if context.pages else context.new_page()
                page.on("console", lambda m: result.console.append((m.type, m.text)))
                page.on("pageerror", lambda e: result.page_errors.append(str(e)))
                page.on("request", lambda r: result.requests.append(r.url))
                page.on("requestfailed", lambda r: result.failed_requests.append(r.url))

                def on_dialog(d: Any) -> None:
                    result.dialogs.append(f"{d.type}: {d.message}")
                    d.dismiss()

                page.on("dialog", on_dialog)
                page.goto(url, wait_until="load", timeout=timeout_s * 1000)
                result.load_ms = float(page.evaluate(_FRAME_JS))
                if settle_ms:
                    page.wait_for_timeout(settle_ms)
                if actions is not None:
                    actions(page)
                for name, expr in (evaluate or {}).items():
                    result.values[name] = page.evaluate(expr)
                if screenshot:
                    result.screenshot = page.screenshot(type="png")
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return result


def pixel_stddev(png: bytes) -> float:
    """Standard deviation of the grey levels of a PNG (0 for a blank image)."""
    import numpy as np
    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("L")
    return float(np.asarray(img, dtype=float).std())


_SCRIPT_BODY = re.compile(r"(<script\b[^>]*>)(.*?)(</script\s*>)", re.I | re.S)
_TAG_PATTERNS = (
    re.compile(
        r"""<(?:script|img|iframe|source|video|audio|embed|input)\b[^>]*?\bsrc\s*=\s*["']?([^"'\s>]+)""",
        re.I,
    ),
    re.compile(r"""<(?:link|base)\b[^>]*?\bhref\s*=\s*["']?([^"'\s>]+)""", re.I),
    re.compile(r"""<object\b[^>]*?\bdata\s*=\s*["']?([^"'\s>]+)""", re.I),
    re.compile(r"""(?<![\w.$])url\(\s*["']?([^"')]+)["']?\s*\)""", re.I),
    re.compile(r"""@import\s+["']([^"']+)["']""", re.I),
)
_LINK_PATTERN = re.compile(r"""<(?:a|area)\b[^>]*?\bhref\s*=\s*["']?([^"'\s>]+)""", re.I)
_JS_PATTERNS = (
    re.compile(r"""L\.tileLayer(?:\.wms)?\(\s*["']([^"']+)["']"""),
    re.compile(r"""\b(?:fetch|importScripts)\(\s*["']([^"']+)["']"""),
    re.compile(r"""\bnew\s+(?:Worker|EventSource|WebSocket)\(\s*["']([^"']+)["']"""),
)


def static_urls(html: str, *, links: bool = False) -> list[str]:
    """
    List every URL a page would fetch by itself, found without running it.

    Outside scripts: ``src`` of scripts, images, frames and media, ``<link>`` / ``<base>``
    ``href``, ``<object data>``, CSS ``url()`` and ``@import`` (in ``<style>`` and style
    attributes). Inside scripts: Leaflet tile URL templates, ``fetch`` / ``importScripts``
    and worker or socket URLs. URLs that scripts build at run time are only seen by the
    browser's request log (`open_in_chromium`). ``data:`` URIs and fragments are left out,
    and ``<a href>`` targets (followed only on a click) unless `links`.
    """
    scripts: list[str] = []

    def keep_tag(m: re.Match[str]) -> str:
        scripts.append(m.group(2))
        return m.group(1) + m.group(3)

    rest = _SCRIPT_BODY.sub(keep_tag, html)
    found = [m.group(1) for pat in _TAG_PATTERNS for m in pat.finditer(rest)]
    if links:
        found += [m.group(1) for m in _LINK_PATTERN.finditer(rest)]
    found += [m.group(1) for body in scripts for pat in _JS_PATTERNS for m in pat.finditer(body)]
    return [
        u.strip()
        for u in found
        if u.strip() and not u.strip().startswith(("data:", "#", "about:", "javascript:"))
    ]


requires_chromium = pytest.mark.skipif(
    not chromium_available(), reason="needs playwright and /usr/bin/chromium"
)


def open_pages(
    jobs: list[tuple[str | Path, tuple[int, int], Any]],
    *,
    block_network: bool = True,
    timeout_s: float = 180.0,
) -> list[tuple[BrowserResult, Any]]:
    """
    Open several pages in ONE headless Chromium (much faster than a launch per page).

    Parameters
    ----------
    jobs
        ``(path, (width, height), run)`` per page; ``run(page)`` is called after the load
        and a rendered frame and returns what the test needs (JSON-like values).
    block_network, timeout_s
        As for `open_in_chromium`.

    Returns
    -------
    results
        Per job: a `BrowserResult` (errors, requests, a screenshot of the viewport after
        `run`) and what `run` returned.
    """
    from playwright.sync_api import sync_playwright

    out: list[tuple[BrowserResult, Any]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            for path, (w, h), run in jobs:
                url = Path(path).resolve().as_uri()
                result = BrowserResult(url=url)
                context = browser.new_context(
                    viewport={"width": w, "height": h}, service_workers="block"
                )
                try:
                    if block_network:
                        context.route(re.compile(r"^(https?|wss?|ftp)://"), lambda r: r.abort())
                    page = context.new_page()
                    page.on("console", lambda m, res=result: res.console.append((m.type, m.text)))
                    page.on("pageerror", lambda e, res=result: res.page_errors.append(str(e)))
                    page.on("request", lambda r, res=result: res.requests.append(r.url))
                    page.on(
                        "requestfailed", lambda r, res=result: res.failed_requests.append(r.url)
                    )
                    page.goto(url, wait_until="load", timeout=timeout_s * 1000)
                    result.load_ms = float(page.evaluate(_FRAME_JS))
                    value = run(page) if run is not None else None
                    result.screenshot = page.screenshot(type="png")
                finally:
                    context.close()
                out.append((result, value))
        finally:
            browser.close()
    return out
