"""Printed maps and atlases: page size, text, scale bar, ink, fonts, pages (real PDF round trips)."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest

import geopandas as gpd
from shapely import box

pytest.importorskip("matplotlib")
pypdf = pytest.importorskip("pypdf")

from geo_renewal import _print_fonts  # noqa: E402
from geo_renewal._errors import InputError  # noqa: E402
from geo_renewal._print_frame import (  # noqa: E402
    PAPERS,
    SCALE_BAR_COLOR,
    crs_text,
    fit_scale,
    page_layout,
    parse_scale,
)
from geo_renewal.atlas import print_atlas  # noqa: E402
from geo_renewal.printmap import print_map  # noqa: E402
from geo_renewal.schema import CATEGORIES  # noqa: E402

MM_PER_PT = 25.4 / 72

needs_cjk = pytest.mark.skipif(_print_fonts.cjk_font() is None, reason="no CJK font installed")


@pytest.fixture(scope="module")
def sample_run():
    """The sample plan run in memory (no files), as `geo-renewal print plan.toml` does."""
    from geo_renewal.datasets import get_path
    from geo_renewal.workflow import compute_plan

    with pytest.warns(UserWarning, match="50%"):  # the sample's nearby-rate warning
        return compute_plan(get_path("sample_plan"))


@pytest.fixture(scope="module")
def a3_pdf(sample_run, tmp_path_factory):
    path = tmp_path_factory.mktemp("print") / "classification.pdf"
    print_map(sample_run, map="classification", paper="A3", landscape=True, out=path)
    return path


def _text(path) -> str:
    return "".join(page.extract_text() for page in pypdf.PdfReader(path).pages)


def _bar_length_pt(path) -> float:
    """The x extent (pt) of the path stroked in the scale bar's outline colour."""
    from pypdf.generic import ContentStream

    reader = pypdf.PdfReader(path)
    page = reader.pages[0]
    ops = ContentStream(page.get_contents(), reader).operations
    target = [round(int(SCALE_BAR_COLOR[i : i + 2], 16) / 255, 4) for i in (1, 3, 5)]
    armed, xs = False, []
    for operands, op in ops:
        if op == b"RG":
            armed = [round(float(v), 4) for v in operands] == target
        elif armed and op in (b"m", b"l"):
            xs.append(float(operands[0]))
        elif armed and op in (b"S", b"s", b"B", b"f") and xs:
            return max(xs) - min(xs)
    msg = "no scale bar outline found in the PDF"
    raise AssertionError(msg)


def test_page_size_in_mm_is_the_paper(a3_pdf):
    box_ = pypdf.PdfReader(a3_pdf).pages[0].mediabox
    assert float(box_.width) * MM_PER_PT == pytest.approx(420.0, abs=0.1)
    assert float(box_.height) * MM_PER_PT == pytest.approx(297.0, abs=0.1)


@needs_cjk
def test_text_holds_title_legend_crs_and_scale(a3_pdf, sample_run):
    text = _text(a3_pdf).replace("\n", "")
    assert "样例片区城市更新 · 更新分类" in text
    for cat in CATEGORIES.values():
        assert cat.zh in text
    for legend in ("图例", "合计", "街道界线", "更新单元", "更新片区", "历史文化核心保护范围"):
        assert legend in text
    assert "CGCS2000 / 3° GK CM 117°E" in text
    assert re.search(r"比例尺 1:\d[\d,]*", text)
    assert "制图单位：样例区城市更新工作办公室" in text
    assert "制图日期" in text
    assert "数据来源" in text
    # the legend's counts are the classified parcels' (every row, conserved)
    n_demolish = int((sample_run.classified["category"] == "demolish").sum())
    assert f"{n_demolish:,}" in text
    assert f"{len(sample_run.classified):,}" in text


def test_scale_bar_printed_length_matches_its_label(a3_pdf):
    text = _text(a3_pdf)
    n = int(re.search(r"1:([\d,]+)", text).group(1).replace(",", ""))
    lay = page_layout("A3", landscape=True)
    # the bar is a fifth of the map width rounded down to 1, 2, 5 × 10^k metres
    from geo_renewal._print_frame import _bar_length

    metres = _bar_length(lay.map_box[2] * n / 1000)
    printed_mm = _bar_length_pt(a3_pdf) * MM_PER_PT
    assert printed_mm == pytest.approx(metres * 1000 / n, rel=0.005)


def test_stated_scale_is_used_and_bar_matches(sample_run, tmp_path):
    out = tmp_path / "m.pdf"
    with pytest.warns(UserWarning, match="1:5,000"):  # the district does not fit at 1:5000 on A4
        print_map(sample_run, paper="A4", scale="1:5000", out=out)
    assert "1:5,000" in _text(out)
    from geo_renewal._print_frame import _bar_length

    lay = page_layout("A4")
    metres = _bar_length(lay.map_box[2] * 5000 / 1000)
    assert _bar_length_pt(out) * MM_PER_PT == pytest.approx(metres / 5, rel=0.005)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) missing")
def test_ink_inside_the_frame_and_none_outside_the_margins(a3_pdf, tmp_path):
    from PIL import Image

    dpi = 40
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", "-singlefile", str(a3_pdf), str(tmp_path / "p")],
        check=True,
        capture_output=True,
    )
    img = np.asarray(Image.open(tmp_path / "p.png").convert("L"))
    lay = page_layout("A3", landscape=True)
    px = dpi / 25.4
    m = int(lay.margin * px) - 2  # the frame line is centred on the margin
    outside = np.concatenate(
        [img[:m].ravel(), img[-m:].ravel(), img[:, :m].ravel(), img[:, -m:].ravel()]
    )
    assert outside.min() >= 250, "ink outside the margins"
    x, y, w, h = lay.map_box
    top = img.shape[0] - int((y + h) * px)
    inner = img[top + 3 : top + int(h * px) - 3, int(x * px) + 3 : int((x + w) * px) - 3]
    assert (inner < 200).mean() > 0.2, "the map box is nearly empty"


@needs_cjk
def test_fonts_are_embedded_subsets_and_cjk(a3_pdf):
    reader = pypdf.PdfReader(a3_pdf)
    fonts = []
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            desc = descendants[0].get_object() if descendants else font
            fd = desc["/FontDescriptor"].get_object()
            embedded = any(k in fd for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            fonts.append((str(font["/BaseFont"]), embedded))
    assert fonts
    assert all(embedded for _, embedded in fonts)
    assert all(re.match(r"^/?[A-Z]{6}\+", name) for name, _ in fonts)  # subsets
    assert any("GRSubset" in name for name, _ in fonts), fonts  # the CJK font's TrueType subset
    for font in reader.pages[0]["/Resources"]["/Font"].values():
        font = font.get_object()
        desc = font["/DescendantFonts"][0].get_object()
        data = desc["/FontDescriptor"].get_object()["/FontFile2"].get_object().get_data()
        assert data[:4] == b"\x00\x01\x00\x00"  # real TrueType outlines, not CFF ("OTTO")
    cmaps = [
        f.get_object()["/ToUnicode"].get_object().get_data().decode("latin-1")
        for f in reader.pages[0]["/Resources"]["/Font"].values()
    ]
    codes = [int(h, 16) for cmap in cmaps for h in re.findall(r"<([0-9A-Fa-f]{4})>", cmap)]
    assert any(0x4E00 <= c <= 0x9FFF for c in codes)  # Chinese glyphs are in the fonts


def test_no_cjk_font_refuses_in_one_sentence(sample_run, tmp_path, monkeypatch):
    monkeypatch.setattr(_print_fonts, "cjk_font", lambda: None)
    with pytest.raises(InputError, match=r"fonts-noto-cjk.*GEO_RENEWAL_CJK_FONT"):
        print_map(sample_run, out=tmp_path / "x.pdf")
    assert not (tmp_path / "x.pdf").exists()


@needs_cjk
def test_atlas_has_one_page_per_unit(sample_run, tmp_path):
    out = print_atlas(
        sample_run, by="unit", paper="A4", landscape=True, out=tmp_path / "units.pdf"
    )
    reader = pypdf.PdfReader(out)
    units = sample_run.layers["units"]
    assert len(reader.pages) == len(units)
    for page, name in zip(reader.pages, units["name"], strict=True):
        text = page.extract_text().replace("\n", "")
        assert name in text
        assert "主要指标" in text


def test_atlas_without_its_layer_says_which(tmp_path):
    parcels = gpd.GeoDataFrame(
        {"category": ["demolish"]}, geometry=[box(5e5, 4e6, 5e5 + 90, 4e6 + 60)], crs=4548
    )
    with pytest.raises(InputError, match=r"needs the units layer.*\[layers.units\]"):
        print_atlas(parcels, by="unit", out=tmp_path / "a.pdf", lang="en")


def test_svg_and_png_outputs(sample_run, tmp_path):
    svg = print_map(sample_run, map="progress", paper="A4", out=tmp_path / "p.svg")
    body = svg.read_text(encoding="utf-8")
    assert 'id="scalebar"' in body
    assert "<text" not in body  # glyphs are paths: no font is needed to open it
    png = print_map(sample_run, map="resettlement", paper="A4", out=tmp_path / "r.png", dpi=60)
    from PIL import Image

    with Image.open(png) as im:
        w, h = im.size
    assert abs(w - 210 / 25.4 * 60) <= 1
    assert abs(h - 297 / 25.4 * 60) <= 1


def test_progress_map_states_the_date(sample_run, tmp_path):
    out = print_map(sample_run, map="progress", paper="A3", out=tmp_path / "p.pdf", lang="en")
    text = _text(out)
    assert "Status as of: 2026-11-20" in text
    assert "Overdue projects" in text


def test_bad_options_are_one_sentence(sample_run, tmp_path):
    with pytest.raises(InputError, match=r"`scale` must be a map scale such as 1:5000"):
        print_map(sample_run, scale="1:x", out=tmp_path / "a.pdf")
    with pytest.raises(InputError, match=r"`out` must end in .pdf, .svg or .png"):
        print_map(sample_run, out=tmp_path / "a.docx")
    with pytest.raises(InputError, match=r"did you mean `A3`"):
        print_map(sample_run, paper="A33", out=tmp_path / "a.pdf")
    parcels = gpd.GeoDataFrame(
        {"category": ["demolish"]}, geometry=[box(5e5, 4e6, 5e5 + 90, 4e6 + 60)], crs=4548
    )
    with pytest.raises(InputError, match=r"`map='progress'` has nothing to draw"):
        print_map(parcels, map="progress", out=tmp_path / "a.pdf", lang="en")


def test_fit_scale_is_exact_and_fits():
    n, xlim, ylim, fits = fit_scale((0, 0, 3000, 1000), (300.0, 200.0))
    assert fits
    assert n == 12500
    assert (xlim[1] - xlim[0]) * 1000 / n == pytest.approx(300.0)
    assert (ylim[1] - ylim[0]) * 1000 / n == pytest.approx(200.0)
    assert parse_scale("1：2,000") == 2000
    assert crs_text(4548) == "CGCS2000 / 3° GK CM 117°E (EPSG:4548)"
    assert set(PAPERS) == {"A0", "A1", "A2", "A3", "A4"}


@pytest.mark.parametrize("paper", ["A0", "A1", "A2", "A3", "A4"])
def test_every_paper_size(paper, tmp_path):
    parcels = gpd.GeoDataFrame(
        {"category": ["demolish", "unchanged"]},
        geometry=[box(5e5, 4e6, 5e5 + 90, 4e6 + 60), box(5e5 + 90, 4e6, 5e5 + 180, 4e6 + 60)],
        crs=4548,
    )
    out = print_map(parcels, paper=paper, out=tmp_path / "m.pdf", lang="en")
    mb = pypdf.PdfReader(out).pages[0].mediabox
    w, h = PAPERS[paper]
    assert (float(mb.width) * MM_PER_PT, float(mb.height) * MM_PER_PT) == (
        pytest.approx(w, abs=0.1),
        pytest.approx(h, abs=0.1),
    )


def test_labels_never_collide_and_overdue_projects_win(sample_run):
    """Placed labels do not overlap; an overdue project's label is placed before the others."""
    from matplotlib.text import Text

    from geo_renewal._print_labels import Label, place_labels

    fig = print_map(sample_run, map="progress", paper="A4", lang="en")
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    boxes = [
        t.get_window_extent(renderer)
        for t in ax.texts
        if t.get_zorder() == 30  # the labels (scale bar and arrow texts are below)
    ]
    assert boxes
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b)
    # two candidates at one spot: only the better-ranked (overdue) one is drawn
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    blank = Figure(figsize=(4, 3))
    FigureCanvasAgg(blank)
    ax = blank.add_axes((0, 0, 1, 1))
    left_out = place_labels(
        ax,
        [
            Label((0, 1, 0, 1), 0.5, 0.5, "on time"),
            Label((0, 0, -300, 0), 0.5, 0.5, "overdue 300"),
        ],
        k=1.0,
    )
    new = [t.get_text() for t in ax.texts if isinstance(t, Text)]
    assert left_out == 1
    assert "overdue 300" in new
    assert "on time" not in new


def _blank_axes(size=(4, 3)):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    blank = Figure(figsize=size)
    FigureCanvasAgg(blank)
    return blank.add_axes((0, 0, 1, 1))


def test_a_label_without_room_on_its_anchor_moves_beside_it_or_is_named():
    from geo_renewal._print_labels import Label, place_labels

    ax = _blank_axes()
    two = [
        Label((0, 0, -419, 0), 0.5, 0.5, "GX09\nsigning", {"around": True, "must": True}),
        Label((0, 0, -10, 1), 0.5, 0.5, "GX08\napproval", {"around": True, "must": True}),
    ]
    missed: list[str] = []
    assert place_labels(ax, two, k=1.0, missed=missed) == 0  # GX08 moved next to GX09
    renderer = ax.figure.canvas.get_renderer()
    a, b = (t.get_window_extent(renderer) for t in ax.texts)
    assert not a.overlaps(b)
    assert missed == []
    tiny = _blank_axes((0.3, 0.3))  # no room anywhere: the overdue project is named
    assert place_labels(tiny, two[1:], k=1.0, missed=missed) == 1
    assert missed == ["GX08"]


def test_a_wide_district_on_portrait_paper_prints_larger_with_the_panel_below(
    sample_run, tmp_path
):
    from geo_renewal._print_layers import scene_from
    from geo_renewal.printmap import _bounds

    out = print_map(sample_run, map="progress", paper="A1", out=tmp_path / "a1.pdf")
    scene = scene_from(sample_run, lang="zh")
    box = _bounds(scene, "progress")
    beside = fit_scale(box, page_layout("A1").map_box[2:])[0]
    lay = page_layout("A1")
    full_width = (lay.width - 2 * lay.margin, 0.6 * lay.height)  # at least this map box
    best_below = fit_scale(box, full_width)[0]
    text = _text(out)
    stated = int(re.search(r"1:([\d,]+)", text).group(1).replace(",", ""))
    assert beside == 12500  # the panel beside the map: the district's width sets the scale
    assert best_below <= stated < beside  # the band under the map: printed larger
    # beside the map (a stated scale keeps the layout) the district is as before
    assert "1:12,500" in _text(
        print_map(sample_run, map="progress", paper="A1", scale=12500, out=tmp_path / "b.pdf")
    )


def test_every_overdue_project_is_labelled_or_named_on_a1_portrait(sample_run, tmp_path):
    out = print_map(sample_run, map="progress", paper="A1", out=tmp_path / "a1.pdf")
    text = _text(out)
    progress = sample_run.progress
    overdue = progress.loc[progress["overdue"].fillna(False).astype(bool), "project_id"]
    assert len(overdue) >= 4
    for pid in overdue:
        assert pid in text, pid


@pytest.mark.browser
def test_report_pdf_is_the_report_on_a4(tmp_path):
    from geo_renewal._report_pdf import find_browser, report_pdf

    if find_browser() is None:
        pytest.skip("no Chromium, Chrome or Edge")
    html = tmp_path / "report.html"
    html.write_text(
        "<html><head><title>r</title></head><body><h1>样例片区 会议报告</h1><p>征收拆迁 1,694</p></body></html>",
        encoding="utf-8",
    )
    out = report_pdf(html, tmp_path / "report.pdf", paper="A3")
    reader = pypdf.PdfReader(out)
    mb = reader.pages[0].mediabox
    assert float(mb.width) * MM_PER_PT == pytest.approx(297, abs=1)
    assert float(mb.height) * MM_PER_PT == pytest.approx(420, abs=1)
    text = " ".join(reader.pages[0].extract_text().split())
    assert "征收拆迁 1,694" in text


def test_report_pdf_without_a_browser_names_the_fix(tmp_path, monkeypatch):
    from geo_renewal import _report_pdf as rp

    html = tmp_path / "report.html"
    html.write_text("<html><head></head><body>x</body></html>", encoding="utf-8")
    monkeypatch.delenv(rp.BROWSER_ENV, raising=False)
    monkeypatch.setattr(rp.shutil, "which", lambda name: None)
    with pytest.raises(InputError, match=r"needs Chromium, Chrome or Edge.*GEO_RENEWAL_BROWSER"):
        rp.report_pdf(html, tmp_path / "r.pdf")
    assert not (tmp_path / "r.pdf").exists()


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) missing")
def test_a_grid_prints_nothing_in_the_margins(sample_run, tmp_path):
    from PIL import Image

    out = print_map(
        sample_run, map="progress", paper="A4", landscape=True, grid=True, out=tmp_path / "g.pdf"
    )
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", "-singlefile", str(out), str(tmp_path / "g")],
        check=True,
        capture_output=True,
    )
    img = np.asarray(Image.open(tmp_path / "g.png").convert("L"))
    m = int(page_layout("A4", landscape=True).margin * 40 / 25.4) - 2
    outside = np.concatenate(
        [img[:m].ravel(), img[-m:].ravel(), img[:, :m].ravel(), img[:, -m:].ravel()]
    )
    assert outside.min() >= 250
    assert "4,06" in _text(out)  # grid labels: northings of the sample (CGCS2000 GK, metres)
