"""A Chinese session reads Chinese: the terminal of `demo --lang zh`, `--help`, and its pages offline.

The demo runs once as a planner runs it (a subprocess, with the progress bar on stderr); its
terminal output must hold no English word outside paths, file names, numbers and the keys of
the project file a caveat names. Every HTML page it writes then opens in headless Chromium
with the network blocked.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from browser import open_pages, pixel_stddev, requires_chromium, static_urls
from click.testing import CliRunner

from geo_renewal.cli import cli

ROOT = Path(__file__).resolve().parents[1]

#: Paths and file names (anything with a slash, or a name with an extension).
_PATH = re.compile(r"\S*[/\\]\S*|[\w\-]+\.(?:html|xlsx|gpkg|tif|png|pdf|pptx|json|toml|csv)\b")
#: Keys of the project file a caveat points to: ``[fund] params``, ``[corridors]``.
_TOML_KEY = re.compile(r"\[[a-z_.]+\](?:\s+[a-z_]+\b)?")
#: ASCII words of four letters or more.
_WORD = re.compile(r"[A-Za-z]{4,}")


def english_words(text: str) -> list[str]:
    """The English words of a terminal text, outside paths, file names and project-file keys."""
    text = _TOML_KEY.sub(" ", _PATH.sub(" ", text.replace("\r", "\n")))
    return _WORD.findall(text)


def test_english_words_skips_paths_keys_and_numbers():
    text = (
        "统计表: /tmp/a b/statistics.xlsx\r读取:  8%|▊  | 1/12 [00:00<00:04, 2.33步/s]\n"
        "请在 plan.toml 的 [fund] params 中给出；见 params/heights_default.toml Wrote"
    )
    assert english_words(text) == ["Wrote"]


@pytest.fixture(scope="module")
def zh_demo(tmp_path_factory):
    """`geo-renewal demo --lang zh` in a subprocess: its folder, stdout and stderr."""
    out = tmp_path_factory.mktemp("zh_demo")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GEO_RENEWAL_LANG": "zh"}
    proc = subprocess.run(
        [sys.executable, "-m", "geo_renewal.cli", "demo", "--lang", "zh", "--out", str(out)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out, proc.stdout, proc.stderr


@pytest.mark.slow
def test_the_chinese_demo_says_everything_in_chinese(zh_demo):
    _, stdout, stderr = zh_demo
    assert "宗地块" in stdout  # the first number of the summary has its unit
    assert "读取" in stderr  # the progress bar names its steps in Chinese
    assert english_words(stdout) == []
    assert english_words(stderr) == []


@pytest.mark.slow
@pytest.mark.browser
@requires_chromium
def test_every_page_of_the_demo_opens_with_the_network_blocked(zh_demo):
    out, _, _ = zh_demo
    pages = sorted(out.glob("*.html"))
    assert {"classification.html", "report.html", "view3d.html"} <= {p.name for p in pages}
    for page in pages:
        html = re.sub(r'srcdoc="[^"]*"', 'srcdoc=""', page.read_text(encoding="utf-8"))
        assert [u for u in static_urls(html) if "://" in u or u.startswith("//")] == [], page
    results = open_pages([(p, (1280, 720), None) for p in pages])
    for page, (res, _) in zip(pages, results, strict=True):
        assert res.errors == [], page.name
        assert res.external_requests == [], (page.name, res.external_requests[:3])
        assert res.failed_requests == [], page.name
        assert pixel_stddev(res.screenshot) > 5, page.name


def test_help_lists_the_commands_in_chinese_in_a_chinese_session():
    zh = CliRunner().invoke(cli, ["--help"], env={"GEO_RENEWAL_LANG": "zh"}, terminal_width=100)
    en = CliRunner().invoke(cli, ["--help"], env={"GEO_RENEWAL_LANG": "en"}, terminal_width=100)
    rows = zh.output.split("Commands:", 1)[1].strip().splitlines()
    assert len(rows) >= 16
    assert all(re.search(r"[\u4e00-\u9fff]", row) for row in rows), rows
    assert "  map          绘制分类地块的交互式会议图（HTML）" in rows
    assert (
        "  map          Draw classified parcels on an interactive HTML meeting map." in en.output
    )
