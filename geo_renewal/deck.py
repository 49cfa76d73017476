"""
The meeting's PowerPoint deck (16:9, python-pptx): figures, maps, late projects, checks, fund.

Meeting rooms open PowerPoint, not HTML. `meeting_deck` writes, in the run's language: a
title slide, what a reader must know first (placeholder parameters, missing units), the key
figures, each map as a picture (the printed maps of `geo_renewal.printmap`), the projects
behind schedule, the 63号文 checks on the renewal units, the resettlement sites and the fund
balance. Tables are real PowerPoint tables (editable), with the headers and number formats
of the workbook (`geo_renewal.tables`); long tables continue on further slides, no row is
dropped. See docs/guide/print.md.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from geo_renewal._compat import import_optional
from geo_renewal._roles import in_role
from geo_renewal.text import say
from geo_renewal.views import corridor_slide

if TYPE_CHECKING:
    from geo_renewal.workflow import RunResult

__all__ = ["ROWS_PER_SLIDE", "meeting_deck"]

#: Table rows per slide; longer tables continue on the next slide.
ROWS_PER_SLIDE = 12

_RED = (0x8B, 0x1A, 0x1A)
#: Columns of the late-projects table, in order (those present).
_BEHIND_COLUMNS = (
    "project_id",
    "name",
    "street",
    "stage",
    "days_behind",
    "responsible_unit",
    "target_date",
)
_UNIT_COLUMNS = (
    "name",
    "verdict",
    "demolition_share",
    "rebuild_ratio",
    "nearby_rate",
    "violations",
)
_SITE_COLUMNS = (
    "name",
    "capacity_units",
    "allocated_households",
    "remaining_units",
    "utilisation",
    "units_served",
)


def _title(slide: Any, text: str) -> None:
    from pptx.dml.color import RGBColor
    from pptx.util import Pt

    shape = slide.shapes.title
    shape.left, shape.width = 457200, 12192000 - 914400  # the default layout is 4:3 wide
    shape.text = text
    for p in shape.text_frame.paragraphs:
        for r in p.runs:
            r.font.size = Pt(30)
            r.font.bold = True
            r.font.color.rgb = RGBColor(*_RED)  # type: ignore[no-untyped-call]


def _slide(prs: Any, title: str) -> Any:
    slide = prs.slides.add_slide(prs.slide_layouts[5])  # title only
    _title(slide, title)
    return slide


def _table(slide: Any, df: pd.DataFrame, lang: str, *, index: bool = False) -> Any:
    """Add `df` as an editable PowerPoint table (headers and numbers as in the workbook)."""
    from pptx.util import Emu, Pt

    from geo_renewal.tables import _columns

    cols, is_total = _columns(df, lang, index)
    left, top, width = Emu(457200), Emu(1400000), Emu(12192000 - 2 * 457200)
    height = Emu(370000 * (len(df) + 1))
    shape = slide.shapes.add_table(len(df) + 1, len(cols), left, top, width, height)
    table = shape.table
    for j, col in enumerate(cols):
        table.cell(0, j).text = col.header
        for i, text in enumerate(col.texts, start=1):
            table.cell(i, j).text = text
    for i in range(len(df) + 1):
        for j, col in enumerate(cols):
            para = table.cell(i, j).text_frame.paragraphs[0]
            from pptx.enum.text import PP_ALIGN

            if i and col.kind != "text":
                para.alignment = PP_ALIGN.RIGHT
            for run in para.runs:
                run.font.size = Pt(14 if len(cols) <= 6 else 12)
                run.font.bold = i == 0 or bool(is_total[i - 1] if i else False)
    return table


def _table_slides(
    prs: Any, title: str, df: pd.DataFrame, lang: str, *, index: bool = False
) -> int:
    """Add `df` over as many slides as it needs; returns the number of slides."""
    n = max(1, -(-len(df) // ROWS_PER_SLIDE))
    for k in range(n):
        head = title if n == 1 else title + say("deck.continued", lang, i=k + 1, n=n)
        _table(
            _slide(prs, head),
            df.iloc[k * ROWS_PER_SLIDE : (k + 1) * ROWS_PER_SLIDE],
            lang,
            index=index,
        )
    return n


def _key_figures(result: RunResult, lang: str) -> pd.DataFrame:
    rows: list[tuple[str, str]] = []
    cls = result.classified
    if cls is not None:
        dem = cls[in_role(cls, "demolish")]  # 征收拆迁, a rule set's 拆除重建类 …
        rows += [
            (say("deck.fig.parcels", lang), f"{len(cls):,}"),
            (say("deck.fig.demolish", lang), f"{len(dem):,}"),
        ]
        if "households" in dem.columns:
            rows.append(
                (
                    say("deck.fig.households", lang),
                    f"{pd.to_numeric(dem['households']).fillna(0).sum():,.0f}",
                )
            )
    rs = result.resettlement
    if rs is not None:
        s = rs.summary
        rows.append(
            (
                say("deck.fig.placed", lang),
                f"{s.get('allocated_households', 0):,.0f} / {s.get('flat_households', 0):,.0f}",
            )
        )
        rate = s.get("nearby_rate")
        if rate is not None and rate == rate:
            rows.append((say("deck.fig.nearby", lang), f"{rate:.1%}"))
    if result.progress is not None:
        n_over = int(result.progress["overdue"].fillna(False).astype(bool).sum())
        rows.append((say("deck.fig.projects", lang), f"{len(result.progress):,} / {n_over:,}"))
    if result.fund is not None:
        total = result.fund.district_balance / 10_000  # the report's figure (cash flow if run)
        rows.append((say("deck.fig.balance", lang), f"{total:,.0f}"))
    return pd.DataFrame(rows, columns=[say("deck.figure", lang), say("deck.value", lang)])


def _map_slides(prs: Any, result: RunResult, lang: str, tmp: Path) -> int:
    from pptx.util import Emu

    from geo_renewal.printmap import print_map

    kinds = ["classification"]
    if result.resettlement is not None:
        kinds.append("resettlement")
    if result.progress is not None and "geometry" in result.progress.columns:
        kinds.append("progress")
    for kind in kinds:
        png = print_map(
            result,
            map=kind,
            paper="A4",
            landscape=True,
            out=tmp / f"{kind}.png",
            dpi=150,
            lang=lang,
        )
        slide = _slide(prs, say(f"deck.map.{kind}", lang))
        h = Emu(6858000 - 1250000 - 150000)
        w = Emu(int(h * 297 / 210))
        slide.shapes.add_picture(
            str(png), Emu((12192000 - w) // 2), Emu(1250000), width=w, height=h
        )
    return len(kinds)


def _caveats(prs: Any, result: RunResult, lang: str) -> None:
    from pptx.util import Emu, Pt

    caveats = list(result.caveats().values())
    if not caveats:
        return
    slide = _slide(prs, say("deck.caveats", lang))
    box = slide.shapes.add_textbox(Emu(457200), Emu(1400000), Emu(12192000 - 914400), Emu(4800000))
    frame = box.text_frame
    frame.word_wrap = True
    for i, text in enumerate(caveats):
        para = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        para.text = f"• {text}"
        for run in para.runs:
            run.font.size = Pt(16)


def _note(slide: Any, text: str) -> None:
    """Add a red note at the foot of a slide (e.g. placeholder parameters)."""
    from pptx.dml.color import RGBColor
    from pptx.util import Emu, Pt

    box = slide.shapes.add_textbox(
        Emu(457200), Emu(6858000 - 900000), Emu(12192000 - 914400), Emu(800000)
    )
    box.text_frame.word_wrap = True
    box.text_frame.text = f"! {text}"
    for run in box.text_frame.paragraphs[0].runs:
        run.font.size = Pt(12)
        run.font.color.rgb = RGBColor(0xD7, 0x30, 0x1F)  # type: ignore[no-untyped-call]


def _behind(result: RunResult) -> pd.DataFrame | None:
    progress = result.progress
    if progress is None:
        return None
    late = progress[progress["overdue"].fillna(False).astype(bool)]
    if "days_behind" in late.columns:
        late = late.sort_values("days_behind", ascending=False)
    return pd.DataFrame(late[[c for c in _BEHIND_COLUMNS if c in late.columns]]).reset_index(
        drop=True
    )


def meeting_deck(
    result: RunResult,
    out: str | os.PathLike[str],
    *,
    lang: str | None = None,
) -> Path:
    """
    Write the meeting's PowerPoint deck (16:9) of a run, with editable tables.

    Slides: title; what to know first (caveats, e.g. placeholder fund parameters); key
    figures; the classification, resettlement and progress maps as pictures; the projects
    behind schedule; the 63号文 checks per renewal unit; the resettlement sites; the fund
    balance by bundle. A slide whose data the run lacks is left out (no ledger: no progress
    slides); a table longer than `ROWS_PER_SLIDE` continues on further slides.

    Parameters
    ----------
    result
        A `run_plan` or `workflow.compute_plan` result.
    out
        The ``.pptx`` to write (atomically).
    lang
        ``"zh"`` or ``"en"``; default: the run's language.

    Returns
    -------
    path
        The deck written.

    Raises
    ------
    InputError
        If `out` is not a ``.pptx``, or Chinese text cannot be printed for lack of a font.

    Examples
    --------
    >>> from geo_renewal.datasets import get_path
    >>> from geo_renewal.workflow import compute_plan
    >>> deck = meeting_deck(compute_plan(get_path("sample_plan")), "meeting.pptx")  # doctest: +SKIP
    """
    from geo_renewal._checks import check_lang
    from geo_renewal._errors import InputError
    from geo_renewal.io import atomic_write

    pptx = import_optional("pptx", purpose="the meeting deck")
    if Path(out).suffix.lower() != ".pptx":
        msg = f"`out` of a deck must end in .pptx, got {str(out)!r}; name it e.g. meeting.pptx."
        raise InputError(msg)
    lang = check_lang(lang or result.plan.lang)
    prs = pptx.Presentation()
    prs.slide_width, prs.slide_height = 12192000, 6858000  # 16:9, 13.333 × 7.5 in
    _title_slide(prs, result, lang)
    _caveats(prs, result, lang)
    _table_slides(prs, say("deck.key_figures", lang), _key_figures(result, lang), lang)
    with tempfile.TemporaryDirectory(prefix="gr-deck-") as tmp:
        _map_slides(prs, result, lang, Path(tmp))
        _data_slides(prs, result, lang)
        corridor_slide(prs, result, lang, _slide)  # [corridors]: the skyline, now and planned
        with atomic_write(Path(out)) as final:
            prs.save(str(final))
    return Path(out)


def _title_slide(prs: Any, result: RunResult, lang: str) -> None:
    plan = result.plan
    slide = prs.slides.add_slide(prs.slide_layouts[0])
    _title(slide, say("deck.title", lang, name=plan.name))
    office = plan.office or plan.name
    slide.placeholders[1].left, slide.placeholders[1].width = 457200, 12192000 - 914400
    slide.placeholders[1].text = say(
        "deck.subtitle", lang, office=office, as_of=plan.as_of.isoformat()
    )


def _data_slides(prs: Any, result: RunResult, lang: str) -> None:
    behind = _behind(result)
    if behind is not None:
        if len(behind):
            _table_slides(prs, say("deck.behind", lang), behind, lang)
        else:
            slide = _slide(prs, say("deck.behind", lang))
            from pptx.util import Emu

            box = slide.shapes.add_textbox(Emu(457200), Emu(1500000), Emu(11000000), Emu(800000))
            box.text_frame.text = say(
                "deck.behind_none", lang, as_of=result.plan.as_of.isoformat()
            )
    if result.unit_checks is not None:
        checks = result.unit_checks
        _table_slides(
            prs,
            say("deck.units", lang),
            pd.DataFrame(checks[[c for c in _UNIT_COLUMNS if c in checks.columns]]),
            lang,
        )
    if result.resettlement is not None:
        sites = result.resettlement.sites
        table = pd.DataFrame(sites[[c for c in _SITE_COLUMNS if c in sites.columns]]).reset_index(
            drop=True
        )
        _table_slides(prs, say("deck.sites", lang), table, lang)
    if result.fund is not None:
        from geo_renewal.fund import fund_tables

        bundles = next(iter(fund_tables(result.fund, lang=lang).values()))
        note = result.caveats().get("fund")  # placeholder parameters: said on the slide too
        cols = [
            c
            for c in (
                "projects",
                "total_cost_wan",
                "total_revenue_wan",
                "balance_wan",
                "break_even_far",
            )
            if c in bundles.columns
        ]
        n = _table_slides(prs, say("deck.fund", lang), bundles[cols], lang, index=True)
        n += _cashflow_slides(prs, result, lang)
        if note:
            for slide in list(prs.slides)[-n:]:
                _note(slide, note)


#: Cash-flow columns of a bundle shown on the deck, 元 columns converted to 万元.
_CASHFLOW_COLUMNS = (
    "total_cost",
    "total_revenue",
    "balance",
    "peak_need",
    "peak_period",
    "closed",
)


def _cashflow_slides(prs: Any, result: RunResult, lang: str) -> int:
    """Add the cash flow's bundles (the report's balance and peak need); returns the slides."""
    cashflow = result.fund.cashflow if result.fund is not None else None
    if cashflow is None:
        return 0
    table = cashflow.bundles[[c for c in _CASHFLOW_COLUMNS if c in cashflow.bundles]].copy()
    for col in ("total_cost", "total_revenue", "balance", "peak_need"):
        if col in table:
            table[f"{col}_wan"] = table.pop(col).astype(float) / 10_000
    order = ["total_cost_wan", "total_revenue_wan", "balance_wan", "peak_need_wan"]
    table = table[[c for c in order if c in table] + [c for c in table if c not in order]]
    return _table_slides(prs, say("deck.fund_cashflow", lang), table, lang, index=True)
