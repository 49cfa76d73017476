"""A Chinese run warns in Chinese: no English word in a UserWarning of `run_plan` (issue 14)."""

from __future__ import annotations

import dataclasses
import re
import warnings

import pytest

from geo_renewal.datasets import get_path
from geo_renewal.plan import load_plan
from geo_renewal.workflow import run_plan

pytestmark = pytest.mark.slow

#: An English word: 4 or more ASCII letters (units m, km, ha and ids such as ZA are shorter).
WORD = re.compile(r"(?<![A-Za-z])[A-Za-z]{4,}(?![A-Za-z])")
#: File names and paths may stay as written.
PATH = re.compile(r"\S*[/\\]\S*|\S+\.(?:gpkg|toml|xlsx|csv|tif|html|shp|geojson)\b")


def _english_words(text: str) -> list[str]:
    return WORD.findall(PATH.sub("", text))


def test_english_words_are_found_outside_paths():
    assert _english_words("15 demand units below 50% (see plan.rates)") == [
        "demand",
        "units",
        "below",
        "plan",
        "rates",
    ]
    assert _english_words("读取 data/sample_district.gpkg：1500 m，3 km，2 ha") == []


def test_a_chinese_run_warns_in_chinese(tmp_path):
    plan = dataclasses.replace(load_plan(get_path("sample_plan")), lang="zh")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_plan(plan, out_dir=tmp_path / "out")
    user = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert user, "the sample plan resettles fewer than 50 % nearby on purpose: one warning"
    assert any("建科〔2021〕63号" in m and "不足 50%" in m for m in user), user
    english = {m: _english_words(m) for m in user if _english_words(m)}
    assert english == {}, english
