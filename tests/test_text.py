"""The meeting strings table: complete in both languages, and the only home of zh/en text."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from geo_renewal._errors import InputError
from geo_renewal.text import MEETING_TEXT, lang_index, pick, say

PACKAGE = Path(__file__).resolve().parents[1] / "geo_renewal"
# CJK ideographs, CJK punctuation (、；) and full-width forms
CJK = re.compile(r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]")
#: Texts that only join two labels (the labels are Chinese, the joiner is not).
JOINERS = {"tables.metric_of_code", "classify.zone_name", "classify.zone_name_no_street"}
# `"…" if zh else "…"`, `0 if lang == "zh" else 1`, over line breaks too
TERNARY = re.compile(r"\bif\s+zh\s+else\b|==\s*[\"']zh[\"']\s+else\b")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.mark.parametrize("key", sorted(MEETING_TEXT))
def test_every_key_has_both_languages(key):
    zh, en = MEETING_TEXT[key]
    assert zh.strip(), key
    assert en.strip(), key
    assert CJK.search(zh) or key in JOINERS, f"{key}: the zh text has no Chinese"
    assert _fields(zh) == _fields(en), key


def test_keys_are_namespaced():
    bad = [k for k in MEETING_TEXT if not re.fullmatch(r"[a-z_]+(\.[a-z_0-9]+)+", k)]
    assert bad == []


def test_say_fills_fields_in_both_languages():
    assert say("report.validation_bad", "en", n=3).startswith("The input data has 3 findings")
    assert say("report.n_households", "zh", n=1234.0) == "1,234 户"
    assert say("report.n_households", "en", n=1234.0) == "1,234"
    assert say("map.legend", "zh") == "图例"


def test_say_refuses_an_unknown_key_and_names_the_closest():
    with pytest.raises(KeyError, match=r"did you mean `map\.legend`"):
        say("map.legnd", "zh")


def test_say_refuses_an_unknown_language():
    with pytest.raises(InputError, match="`lang` must be 'zh' or 'en'; got 'fr'"):
        say("map.legend", "fr")


def test_pick_and_lang_index():
    assert pick(("甲", "A"), "zh") == "甲"
    assert pick(("甲", "A"), "en") == "A"
    assert lang_index("zh") == 0
    with pytest.raises(InputError):
        lang_index("de")


def test_the_scan_finds_a_ternary():
    assert TERNARY.search('x = "是" if zh else "yes"')
    assert TERNARY.search('i = 0 if lang == "zh"\n    else 1')
    assert not TERNARY.search('say("map.legend", lang)')


def test_no_inline_zh_en_ternary_outside_the_table():
    """New meeting strings go to `geo_renewal.text.MEETING_TEXT`, not into inline ternaries."""
    allowed = {PACKAGE / "text.py", PACKAGE / "schema.py"}
    found = [
        f"{p.relative_to(PACKAGE.parent)}:{src[: m.start()].count(chr(10)) + 1}"
        for p in sorted(PACKAGE.rglob("*.py"))
        if p not in allowed
        for src in [p.read_text(encoding="utf-8")]
        for m in TERNARY.finditer(src)
    ]
    assert found == [], f"inline zh/en ternaries (move them to geo_renewal.text): {found}"
