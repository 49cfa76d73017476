from __future__ import annotations

import ast
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo_renewal import RuleError
from geo_renewal.rules import (
    FUNCTIONS,
    bundled_rule_sets,
    evaluate_expression,
    load_rules,
    parse_expression,
    parse_rules,
    spatial_keys,
)
from geo_renewal.schema import CATEGORIES


def _rule(**kw):
    base = {
        "id": "r1",
        "category": "demolish",
        "when": "floors > 1",
        "reason_zh": "理由",
        "reason_en": "reason",
    }
    base.update(kw)
    return base


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "floors": pd.array([1, 5, None, 9], dtype="Int64"),
            "build_year": [1990.0, np.nan, 2005.0, 1970.0],
            "land_use": ["residential", "vacant", None, "industrial"],
            "listed": [True, False, False, True],
            "flag": pd.array([True, None, False, True], dtype="boolean"),
            "户数": [10, 0, 3, 7],
        }
    )


# ------------------------------------------------------------------ rule files


def test_bundled_sets_load():
    assert {"default", "shenzhen"} <= set(bundled_rule_sets())
    default = load_rules("default")
    assert list(default.categories) == list(CATEGORIES)
    assert default.default == "unchanged"
    assert [r.id for r in default.rules if r.force] == ["heritage_core", "listed_building"]
    assert set(default.layers) == {
        "heritage_core",
        "heritage_control",
        "eco_belt",
        "view_corridor",
        "river",
    }
    assert default.rasters == ["flood_depth"]
    # every category of DOMAIN.md §1 has a rule or is the default
    assert {r.category for r in default.rules} | {default.default} == set(CATEGORIES)


def test_shenzhen_user_categories():
    sz = load_rules("shenzhen")
    assert list(sz.categories)[:2] == ["demolish_rebuild", "comprehensive_renovation"]
    assert sz.categories["demolish_rebuild"].zh == "拆除重建类"
    assert sz.categories["comprehensive_renovation"].zh == "综合整治类"
    assert sz.categories["comprehensive_renovation"].en
    assert sz.categories["retain_protect"] == CATEGORIES["retain_protect"]


def test_load_rules_file_and_language(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        textwrap.dedent(
            """
            language = "en"
            default = "keep"
            [params]
            old = 1990
            [categories]
            keep = { zh = "保持", en = "Keep" }
            [[rules]]
            id = "old"
            category = "retain_upgrade"
            when = "build_year <= old"
            reason_zh = "老"
            reason_en = "Old"
            """
        ),
        encoding="utf-8",
    )
    rs = load_rules(path)
    assert rs.language == "en"
    assert rs.params == {"old": 1990}
    assert list(rs.categories) == ["keep", "retain_upgrade"]
    assert rs.categories["keep"].color.startswith("#")
    assert load_rules(path, lang="zh").language == "zh"
    assert load_rules(rs) is rs


def test_load_rules_missing_and_unknown(tmp_path):
    with pytest.raises(RuleError, match="bundled sets"):
        load_rules("nonexistent_set")
    with pytest.raises(RuleError, match="does not exist"):
        load_rules(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[rules]\nid = 1", encoding="utf-8")
    with pytest.raises(RuleError, match="not valid TOML"):
        load_rules(bad)


def test_parse_rules_reports_every_problem_at_once():
    data = {
        "language": "fr",
        "colour": 1,
        "default": "nothing",
        "categories": {"newcat": {"zh": "新"}},
        "params": {"__x": 1, "area": 2, "ok": [1, 2]},
        "rules": [
            _rule(),
            _rule(),  # duplicate id
            _rule(id="a", category="demolsh"),
            _rule(id="b", reason_en=""),
            _rule(id="c", force="yes"),
            _rule(id="d", when="floors.x"),
            _rule(id="e", forse=True),
            _rule(id="f;g"),
        ],
    }
    with pytest.raises(RuleError) as info:
        parse_rules(data, source="x.toml")
    text = str(info.value)
    for piece in (
        "unknown key 'colour'",
        "language must be 'zh' or 'en'",
        "default category 'nothing'",
        "needs zh and en labels",
        "'__x' is not a valid name",
        "'area' is reserved",
        "param 'ok' must be",
        "duplicate id",
        "did you mean `demolish`",
        "needs reason_en",
        "force must be true or false",
        "attribute access",
        "for 'forse': did you mean `force`?",
        "may not contain ';'",
    ):
        assert piece in text, piece
    assert text.count("\n") >= 13


def test_parse_rules_needs_rules():
    with pytest.raises(RuleError, match="no rules"):
        parse_rules({})


# ------------------------------------------------------------------ refusals


REFUSED = [
    ("floors.real > 1", "attribute access", "floors.real", 1),
    ("land_use[0] == 'a'", "subscript", "land_use[0]", 1),
    ("(lambda: 1)() > 0", "lambda", "lambda: 1", 2),
    ("[x for x in [1]] == 1", "comprehension", "[x for x in [1]]", 1),
    ("{x for x in [1]} == 1", "comprehension", "{x for x in [1]}", 1),
    ("{x: 1 for x in [1]} == 1", "comprehension", "{x: 1 for x in [1]}", 1),
    ("any(x for x in [1])", "call to unknown function", "any", 1),
    ("f'{floors}' == '1'", "f-string", "f'{floors}'", 1),
    ("(1 if floors else 2) > 1", "conditional expression", "1 if floors else 2", 2),
    ("(y := 3) > 1", "assignment expression", "y := 3", 2),
    ("{'a': 1} == 1", "dict literal", "{'a': 1}", 1),
    ("{1, 2} == 1", "set literal", "{1, 2}", 1),
    ("floors ** 2 > 1", "power operator", "floors ** 2", 1),
    ("floors % 2 == 1", "operator %", "floors % 2", 1),
    ("floors // 2 == 1", "operator //", "floors // 2", 1),
    ("listed & illegal", "write `and`", "listed & illegal", 1),
    ("listed | illegal", "write `or`", "listed | illegal", 1),
    ("~listed", "write `not`", "~listed", 1),
    ("floors is None", "operator `is`", "floors is None", 1),
    ("open('x') == 1", "call to unknown function", "open", 1),
    ("__import__('os')", "dunder name", "__import__", 1),
    ("floors > __builtins__", "dunder name", "__builtins__", 10),
    ("share_in(layer='a') > 0", "keyword argument", "'a'", 16),
    ("share_in('a', 'b') > 0", "with 2 arguments", "share_in('a', 'b')", 1),
    ("share_in(land_use) > 0", "not a layer name", "land_use", 10),
    ("raster_share_above('d', 'x') > 0", "not a number", "'x'", 25),
    ("isnull(1)", "not a column name", "1", 8),
    ("floors == [1, 2]", "list outside", "[1, 2]", 11),
    ("floors in 'abc'", "without a [list]", "'abc'", 11),
    ("floors in [1, floors]", "non-constant inside", "floors", 15),
    ("'a' * 3 == 'aaa'", "arithmetic on a text", "'a'", 1),
    ("floors + 1", "a number where a condition", "floors + 1", 1),
    ("floors > 1 and 3", "a number where a condition", "3", 16),
    ("share_in > 1", "without calling it", "share_in", 1),
    ("[*floors] == 1", "starred", "*floors", 2),
    ("b'x' == 1", "constant of type bytes", "b'x'", 1),
    ("None == floors", "constant of type NoneType", "None", 1),
    ("floors.__class__", "attribute access", "floors.__class__", 1),
]


@pytest.mark.parametrize(("expr", "what", "piece", "col"), REFUSED)
def test_refusals_name_rule_piece_and_column(expr, what, piece, col):
    with pytest.raises(RuleError) as info:
        parse_expression(expr, rule_id="my_rule")
    text = str(info.value)
    assert text.startswith("rule 'my_rule': ")
    assert what in text
    assert f"`{piece}`" in text
    assert f"column {col} " in text


def test_refusal_column_counts_characters_not_bytes():
    with pytest.raises(RuleError, match=r"`名称.x` at column 12 "):
        parse_expression("户数 > 1 and 名称.x")


def test_syntax_errors_and_limits():
    with pytest.raises(RuleError, match=r"cannot parse .*== to compare"):
        parse_expression("floors = 3", rule_id="r")
    with pytest.raises(RuleError, match="limit is 2000"):
        parse_expression("floors > 1 and " * 200 + "listed")
    with pytest.raises(RuleError, match="nesting deeper"):
        parse_expression("not " * 60 + "listed")
    with pytest.raises(RuleError, match="cannot parse"):
        parse_expression("floors >\x00 1")


def test_multiline_expression_and_true_false():
    tree = parse_expression("floors > 1\n    and listed == true\n")
    assert isinstance(tree.body, ast.BoolOp)


# ------------------------------------------------------------------ evaluation


def test_nulls_compare_false(frame):
    ev = lambda e: evaluate_expression(e, frame).tolist()  # noqa: E731
    assert ev("floors > 3") == [False, True, False, True]
    assert ev("floors != 5") == [True, False, False, True]  # null is not "!= 5"
    assert ev("not (floors == 5)") == [True, False, True, True]  # `not` inverts
    assert ev("build_year <= 2000") == [True, False, False, True]
    assert ev("land_use not in ['vacant']") == [True, False, False, True]
    assert ev("land_use in ['vacant', 'industrial']") == [False, True, False, True]
    assert ev("isnull(land_use) or isnull(build_year)") == [False, True, True, False]
    assert ev("flag") == [True, False, False, True]
    assert ev("not flag") == [False, True, True, False]


def test_arithmetic_chains_params_and_chinese_columns(frame):
    ev = lambda e, **kw: evaluate_expression(e, frame, **kw).tolist()  # noqa: E731
    assert ev("1 < floors * 2 <= 10") == [True, True, False, False]
    assert ev("-floors < -4") == [False, True, False, True]
    assert ev("户数 / floors >= 1") == [True, False, False, False]
    assert ev("户数 / 0 > 1") == [True, False, True, True]  # inf
    assert ev("floors >= lim", params={"lim": 5}) == [False, True, False, True]
    assert ev("listed == true and 户数 > 5") == [True, False, False, True]
    assert ev("True") == [True] * 4


def test_special_names_and_spatial_values(frame):
    special = {"area": np.array([10.0, 6000.0, np.nan, 5000.0])}
    assert evaluate_expression("area >= 5000", frame, special=special).tolist() == [
        False,
        True,
        False,
        True,
    ]
    key = ("share_in", "eco", None)
    tree = parse_expression("share_in('eco') < 0.5 and distance_to('river') >= 30")
    keys = spatial_keys(tree, {})
    assert keys == [("share_in", "eco"), ("distance_to", "river", 30.0)]
    values = {
        ("share_in", "eco"): np.array([0.0, 0.7, 0.2, np.nan]),
        ("distance_to", "river", 30.0): np.array([np.inf, 10.0, 30.0, 50.0]),
    }
    got = evaluate_expression(tree, frame, values=values, source="x")
    assert got.tolist() == [True, False, True, False]
    assert key not in values
    with pytest.raises(RuleError, match=r"needs the layer 'eco'.*--constraint eco=PATH"):
        evaluate_expression("share_in('eco') > 0", frame)


def test_distance_cap_uses_largest_constant():
    tree = parse_expression("10 < distance_to('r') <= 80 or distance_to('r') * 2 > 5")
    assert spatial_keys(tree, {}) == [("distance_to", "r", 80.0), ("distance_to", "r", None)]


def test_unknown_column_lists_columns_and_closest(frame):
    with pytest.raises(RuleError) as info:
        evaluate_expression("flors > 1", frame, rule_id="r9")
    text = str(info.value)
    assert "rule 'r9': unknown column `flors` at column 1" in text
    assert "'land_use'" in text
    assert "did you mean `floors`?" in text


def test_type_errors_become_rule_errors(frame):
    with pytest.raises(RuleError, match="holds str values such as"):
        evaluate_expression("land_use", frame)
    with pytest.raises(RuleError, match="arithmetic needs numbers"):
        evaluate_expression("land_use + 1 > 2", frame)
    with pytest.raises(RuleError, match="cannot evaluate"):
        evaluate_expression("land_use > 3", frame)


def test_index_is_positional():
    df = pd.DataFrame({"a": [1, 2, 3]}, index=[10, 5, 7])
    assert evaluate_expression("a >= 2", df).tolist() == [False, True, True]


# ------------------------------------------------------------------ fuzzing

_FORBIDDEN_EVENTS = (
    "exec",
    "open",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.remove",
    "os.rename",
    "subprocess.Popen",
    "socket.connect",
    "ctypes.dlopen",
    "builtins.input",
)
_LIBRARY = tuple({sys.prefix, sys.base_prefix, sys.exec_prefix})
_audit = {"on": False, "events": []}


def _is_library_load(event, args):
    """A lazy import by pandas/numpy reads and runs installed module files: allowed."""
    if event == "open":
        return str(args[0]).startswith(_LIBRARY)
    if event == "exec":
        return getattr(args[0], "co_filename", "").startswith(_LIBRARY)
    return False


def _hook(event, args):
    if _audit["on"] and event.startswith(_FORBIDDEN_EVENTS) and not _is_library_load(event, args):
        _audit["events"].append((event, repr(args)[:80]))


sys.addaudithook(_hook)

_NAMES = [
    "floors",
    "land_use",
    "listed",
    "build_year",
    "户数",
    "area",
    "true",
    "open",
    "eval",
    "exec",
    "os",
    "__import__",
    "__class__",
    "__builtins__",
    "share_in",
    "isnull",
    "distance_to",
]
_leaf = st.one_of(
    st.sampled_from(_NAMES).map(lambda n: ast.Name(n, ast.Load())),
    st.one_of(
        st.integers(-(10**6), 10**6),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=4),
        st.booleans(),
        st.none(),
        st.binary(max_size=2),
    ).map(ast.Constant),
)
_BIN = [ast.Add(), ast.Sub(), ast.Mult(), ast.Div(), ast.Pow(), ast.Mod(), ast.BitAnd()]
_CMP = [ast.Eq(), ast.NotEq(), ast.Lt(), ast.GtE(), ast.In(), ast.NotIn(), ast.Is()]
_UN = [ast.Not(), ast.USub(), ast.Invert()]


def _extend(children):
    return st.one_of(
        st.tuples(
            st.sampled_from([ast.And(), ast.Or()]), st.lists(children, min_size=2, max_size=3)
        ).map(lambda t: ast.BoolOp(t[0], t[1])),
        st.tuples(children, st.sampled_from(_BIN), children).map(lambda t: ast.BinOp(*t)),
        st.tuples(st.sampled_from(_UN), children).map(lambda t: ast.UnaryOp(*t)),
        st.tuples(children, st.sampled_from(_CMP), children).map(
            lambda t: ast.Compare(t[0], [t[1]], [t[2]])
        ),
        st.tuples(st.sampled_from(_NAMES + list(FUNCTIONS)), st.lists(children, max_size=2)).map(
            lambda t: ast.Call(ast.Name(t[0], ast.Load()), t[1], [])
        ),
        st.tuples(children, st.sampled_from(["__class__", "system", "read", "real"])).map(
            lambda t: ast.Attribute(t[0], t[1], ast.Load())
        ),
        st.tuples(children, children).map(lambda t: ast.Subscript(t[0], t[1], ast.Load())),
        st.lists(children, max_size=3).map(lambda e: ast.List(e, ast.Load())),
        children.map(lambda c: ast.Lambda(ast.arguments([], [], None, [], [], None, []), c)),
        st.tuples(children, children, children).map(lambda t: ast.IfExp(*t)),
        children.map(
            lambda c: ast.ListComp(
                c,
                [ast.comprehension(ast.Name("i", ast.Store()), ast.List([], ast.Load()), [], 0)],
            )
        ),
        children.map(lambda c: ast.JoinedStr([ast.FormattedValue(c, -1, None)])),
    )


_trees = st.recursive(_leaf, _extend, max_leaves=10)
_fuzz_frame = pd.DataFrame(
    {
        "floors": pd.array([1, None, 7], dtype="Int64"),
        "land_use": ["vacant", "residential", None],
        "listed": [True, False, True],
        "build_year": [1990.0, np.nan, 2010.0],
        "户数": [1, 2, 0],
    }
)
_fuzz_values = {
    ("share_in", "x"): np.array([0.0, 0.5, 1.0]),
    ("distance_to", "x", None): np.array([1.0, 2.0, np.inf]),
}


def _check_safe(text: str) -> None:
    _audit["events"].clear()
    _audit["on"] = True
    try:
        result = evaluate_expression(
            text,
            _fuzz_frame,
            values=_fuzz_values,
            special={"area": np.array([1.0, 2.0, 3.0])},
        )
    except RuleError:
        result = None
    finally:
        _audit["on"] = False
    assert _audit["events"] == [], text
    if result is not None:
        assert isinstance(result, np.ndarray), text
        assert result.dtype == bool, text
        assert result.shape == (3,), text


def test_fuzz_audit_hook_sees_code_execution():
    _audit["events"].clear()
    _audit["on"] = True
    try:
        exec(compile("1 + 1", "<fuzz>", "eval"))  # what a leaky evaluator would do
    finally:
        _audit["on"] = False
    assert [e for e, _ in _audit["events"]] == ["exec"]
    _check_safe("floors > 1 and land_use in ['a'] or not listed")
    _check_safe("户数 / floors + 2 * build_year - 1 >= 3")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=60))
def test_fuzz_random_text(text):
    _check_safe(text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_trees)
def test_fuzz_random_asts(tree):
    try:
        text = ast.unparse(ast.fix_missing_locations(ast.Expression(tree)))
    except Exception:  # some random trees cannot be written back as source
        return
    _check_safe(text)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "floors",
                ">",
                "<=",
                "==",
                "1",
                "'vacant'",
                "and",
                "or",
                "not",
                "(",
                ")",
                "[",
                "]",
                ",",
                "in",
                "land_use",
                "listed",
                "isnull(build_year)",
                "share_in('x')",
                "-",
                "*",
                "/",
                ".",
                "__class__",
                "open",
            ]
        ),
        max_size=12,
    )
)
def test_fuzz_token_soup(tokens):
    _check_safe(" ".join(tokens))


# ------------------------------------------------ params that would hide a column


@pytest.mark.parametrize("name", ["build_year", "households", "street", "danger_grade", "zone_id"])
def test_param_named_like_a_canonical_column_is_refused(name):
    data = {"params": {name: 2000}, "rules": [_rule(when=f"floors > 1 and {name} != 0")]}
    with pytest.raises(RuleError) as info:
        parse_rules(data, source="my_rules.toml")
    msg = str(info.value)
    assert f"param {name!r}" in msg
    assert f"canonical column {name!r}" in msg
    assert "rename the parameter" in msg
    assert "my_rules.toml" in msg


def test_param_named_like_a_column_of_the_parcels_is_refused(grid_parcels):
    from geo_renewal.classify import classify_parcels

    rules = parse_rules(
        {"params": {"容积率": 2.0}, "rules": [_rule(when="容积率 > 1.5")]}, source="far.toml"
    )
    parcels = grid_parcels.assign(容积率=np.linspace(0.5, 3.0, len(grid_parcels)))
    with pytest.raises(RuleError) as info:
        classify_parcels(parcels, rules)
    msg = str(info.value)
    assert "param '容积率'" in msg
    assert "column '容积率' of the parcels" in msg
    assert "rename the parameter" in msg
    assert "far.toml" in msg
    # Without the clash the same rule reads the column, parcel by parcel.
    renamed = parse_rules({"params": {"max_far": 1.5}, "rules": [_rule(when="容积率 > max_far")]})
    out = classify_parcels(parcels, renamed)
    assert (out["category"] == "demolish").sum() == (parcels["容积率"] > 1.5).sum()


def test_bundled_rule_sets_have_no_param_named_like_a_column():
    from geo_renewal.rules import _canonical_columns

    assert {"build_year", "households", "parcel_id", "category"} <= _canonical_columns()
    for name in bundled_rule_sets():
        params = set(load_rules(name).params)
        assert params
        assert not params & _canonical_columns(), name
