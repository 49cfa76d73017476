"""
The safe expression language of rules: parse against a whitelist, evaluate vectorised.

Expressions are parsed with `ast`, checked against a whitelist and evaluated by this
module's own interpreter as numpy/pandas operations; nothing reaches `eval`/`exec`. The
functions an expression may call are the registry `geo_renewal._rulefuncs.RULE_FUNCTIONS`.

The details are in the user guide, docs/guide/classification.md.
"""

from __future__ import annotations

import ast
import logging
import operator
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

# The modules that declare rule functions: importing them fills the registry.
from geo_renewal import corridors as _corridors  # noqa: F401
from geo_renewal import raster as _raster  # noqa: F401
from geo_renewal import spatial as _spatial  # noqa: F401
from geo_renewal._checks import did_you_mean
from geo_renewal._errors import RuleError
from geo_renewal._rulefuncs import RULE_FUNCTIONS, RuleFunction

__all__ = [
    "FUNCTIONS",
    "SPECIAL_NAMES",
    "cheap_part",
    "check_columns",
    "evaluate_expression",
    "parse_expression",
    "spatial_keys",
]

logger = logging.getLogger(__name__)

#: Input kind -> the command-line option that gives it.
_CLI_OPTION = {"layer": "constraint", "raster": "raster"}

# isnull() is evaluated by the interpreter itself (`_call_value`): no compute.
RULE_FUNCTIONS.add(
    RuleFunction(
        "isnull", ("column",), "bool", "True where the column (or `area`, `floor_area`) is null"
    )
)

# startswith(column, "07") is evaluated by the interpreter itself too; `col.startswith("07")`
# is read as the same call (`_methods_as_calls`). It never runs Python's own method.
RULE_FUNCTIONS.add(
    RuleFunction(
        "startswith",
        ("column", "text"),
        "bool",
        'True where the column\'s text starts with the text, e.g. startswith(dlbm, "07")',
    )
)
#: Functions the interpreter evaluates itself (no compute, no cache key).
_OWN_FUNCTIONS = ("isnull", "startswith")
#: Methods written ``column.method(args)`` that mean ``method(column, args)``.
_METHODS = ("startswith",)


class _FunctionsView(Mapping[str, tuple[tuple[str, ...], str]]):
    """Name -> (argument kinds, result kind), a read-only view of the registry."""

    def __getitem__(self, name: str) -> tuple[tuple[str, ...], str]:
        f = RULE_FUNCTIONS[name]
        return f.args, f.result

    def __iter__(self) -> Iterator[str]:
        return iter(RULE_FUNCTIONS)

    def __len__(self) -> int:
        return len(RULE_FUNCTIONS)


#: Functions an expression may call: name -> (argument kinds, result kind).
#: Argument kinds: "layer" / "raster" (a name given as text), "number", "column".
FUNCTIONS: Mapping[str, tuple[tuple[str, ...], str]] = _FunctionsView()


#: Names computed by the engine rather than read from a column.
SPECIAL_NAMES: dict[str, str] = {
    "area": "parcel area in m², measured in the working CRS",
    "floor_area": "the floor_area column; where missing or null, footprint_area × floors",
}


_BOOL_NAMES = {"true": True, "false": False}


_MAX_EXPR_CHARS = 2000


_MAX_DEPTH = 40


_CMP_OPS: dict[type, Any] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


_BIN_OPS: dict[type, Any] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
}


#: Friendly names of refused syntax, with a hint where one helps.
_REFUSED: dict[type, str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscript",
    ast.Slice: "slice",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehension",
    ast.SetComp: "comprehension",
    ast.DictComp: "comprehension",
    ast.GeneratorExp: "comprehension",
    ast.JoinedStr: "f-string",
    ast.FormattedValue: "f-string",
    ast.IfExp: "conditional expression (x if c else y)",
    ast.NamedExpr: "assignment expression (:=)",
    ast.Dict: "dict literal",
    ast.Set: "set literal",
    ast.Starred: "starred expression",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Pow: "power operator ** ",
    ast.Mod: "operator %",
    ast.FloorDiv: "operator //",
    ast.MatMult: "operator @",
    ast.BitAnd: "operator & (write `and`)",
    ast.BitOr: "operator | (write `or`)",
    ast.BitXor: "operator ^",
    ast.LShift: "operator <<",
    ast.RShift: "operator >>",
    ast.Invert: "operator ~ (write `not`)",
    ast.Is: "operator `is` (write == or isnull(col))",
    ast.IsNot: "operator `is not` (write != or `not isnull(col)`)",
}


_ALLOWED_SUMMARY = (
    "expressions may use column names, numbers, 'text', comparisons (== != < <= > >=), "
    "and/or/not, `x in [...]`, + - * /, and the functions "
    + ", ".join(f"{f}()" for f in FUNCTIONS)
)


def _normalize(expr: str) -> str:
    """Join a multi-line expression (a TOML multi-line string) into one line."""
    return " ".join(part.strip() for part in expr.splitlines() if part.strip())


def _position(expr: str, node: ast.AST) -> str:
    """Line/column (1-based, in characters) of `node` within `expr`."""
    lineno = getattr(node, "lineno", 1)
    col = getattr(node, "col_offset", 0)
    lines = expr.splitlines() or [""]
    line = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
    char_col = len(line.encode("utf-8")[:col].decode("utf-8", errors="ignore")) + 1
    return f"line {lineno}, column {char_col}" if len(lines) > 1 else f"column {char_col}"


def _piece(expr: str, node: ast.AST) -> str:
    seg = None
    try:
        seg = ast.get_source_segment(expr, node)
    except (TypeError, ValueError, IndexError):  # pragma: no cover - defensive
        seg = None
    if not seg:
        seg = type(node).__name__
    seg = " ".join(seg.split())
    return seg if len(seg) <= 60 else seg[:57] + "..."


class _RefusedError(Exception):
    def __init__(self, node: ast.AST, what: str) -> None:
        super().__init__(what)
        self.node = node
        self.what = what


def parse_expression(
    expr: str, *, rule_id: str = "<expression>", params: Mapping[str, Any] | None = None
) -> ast.Expression:
    """
    Parse a rule expression and check it against the whitelist.

    Parameters
    ----------
    expr
        The expression, e.g. ``'danger_grade in ["C", "D"] and not listed'``.
    rule_id
        Named in error messages.
    params
        Named constants of the rule set (their names are not columns).

    Returns
    -------
    tree
        The checked `ast.Expression`; evaluate it with `evaluate_expression`.

    Raises
    ------
    RuleError
        Naming the rule, the offending piece and its column (1-based, in characters).

    Examples
    --------
    >>> parse_expression("floors >= 7 and area > 1000").body.__class__.__name__
    'BoolOp'
    >>> parse_expression("__import__('os')", rule_id="r1")
    Traceback (most recent call last):
    ...
    geo_renewal._errors.RuleError: rule 'r1': dunder name `__import__` at column 1 is not allowed; ...
    """
    params = params or {}
    head = f"rule {rule_id!r}"
    if not isinstance(expr, str):
        msg = f"{head}: the expression must be text, got {type(expr).__name__}"
        raise RuleError(msg)
    if len(expr) > _MAX_EXPR_CHARS:
        msg = f"{head}: the expression is {len(expr)} characters long; the limit is {_MAX_EXPR_CHARS}; split it into several rules."
        raise RuleError(msg)
    try:
        tree = ast.parse(_normalize(expr), mode="eval")
    except SyntaxError as e:
        col = e.offset or 0
        line = f"line {e.lineno}, " if e.lineno and e.lineno > 1 else ""
        msg = (
            f"{head}: cannot parse {_normalize(expr)!r} ({e.msg}) at {line}column {col}; "
            "write e.g. `floors >= 7 and land_use == 'residential'` (== to compare, quotes around text)."
        )
        raise RuleError(msg) from None
    except (ValueError, RecursionError, MemoryError, OverflowError) as e:
        msg = f"{head}: cannot parse the expression ({type(e).__name__}: {e}); simplify it."
        raise RuleError(msg) from None
    src = _normalize(expr)
    tree = _methods_as_calls(tree)
    try:
        kind = _check(tree.body, params, 0)
        if kind in ("number", "text", "list"):
            raise _RefusedError(
                tree.body,
                f"a {kind} where a condition is needed (compare it, e.g. `... > 0`)",
            )
    except _RefusedError as r:
        msg = (
            f"{head}: {r.what} `{_piece(src, r.node)}` at {_position(src, r.node)} "
            f"is not allowed; {_ALLOWED_SUMMARY}."
        )
        raise RuleError(msg) from None
    return tree


def _methods_as_calls(tree: ast.Expression) -> ast.Expression:
    """Rewrite ``name.startswith(...)`` as ``startswith(name, ...)`` (only for `_METHODS`)."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _METHODS
            and isinstance(node.func.value, ast.Name)
        ):
            column = node.func.value
            node.func = ast.copy_location(ast.Name(node.func.attr, ast.Load()), node.func)
            node.args = [column, *node.args]
    return tree


def _const_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    return "other"


def _check(node: ast.AST, params: Mapping[str, Any], depth: int) -> str:
    """Check `node`; return its kind: bool, number, text, list, or value (a column)."""
    if depth > _MAX_DEPTH:
        raise _RefusedError(node, f"nesting deeper than {_MAX_DEPTH} levels")
    d = depth + 1
    if type(node) in _REFUSED:
        raise _RefusedError(node, _REFUSED[type(node)])
    if isinstance(node, ast.Constant):
        kind = _const_kind(node.value)
        if kind == "other":
            raise _RefusedError(node, f"constant of type {type(node.value).__name__}")
        return kind
    if isinstance(node, ast.Name):
        if node.id.startswith("__") or node.id.endswith("__"):
            raise _RefusedError(node, "dunder name")
        if not isinstance(node.ctx, ast.Load):  # pragma: no cover - eval mode only loads
            raise _RefusedError(node, "assignment")
        if node.id in FUNCTIONS:
            raise _RefusedError(node, 'function used without calling it, e.g. share_in("layer"):')
        if node.id.lower() in _BOOL_NAMES:
            return "bool"
        if node.id in params:
            return _const_kind(params[node.id])
        if node.id in SPECIAL_NAMES:
            return "number"
        return "value"
    if isinstance(node, ast.BoolOp):
        for v in node.values:
            k = _check(v, params, d)
            if k in ("number", "text", "list"):
                raise _RefusedError(v, f"a {k} where a condition is needed")
        return "bool"
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.Not):
            k = _check(node.operand, params, d)
            if k in ("number", "text", "list"):
                raise _RefusedError(node.operand, f"a {k} where a condition is needed")
            return "bool"
        if isinstance(node.op, ast.USub | ast.UAdd):
            k = _check(node.operand, params, d)
            if k not in ("number", "value"):
                raise _RefusedError(node, f"sign applied to a {k}")
            return "number"
        raise _RefusedError(node, _REFUSED.get(type(node.op), type(node.op).__name__))
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BIN_OPS:
            raise _RefusedError(
                node, _REFUSED.get(type(node.op), f"operator {type(node.op).__name__}")
            )
        for side in (node.left, node.right):
            k = _check(side, params, d)
            if k not in ("number", "value"):
                raise _RefusedError(side, f"arithmetic on a {k}")
        return "number"
    if isinstance(node, ast.Compare):
        left = node.left
        lk = _check(left, params, d)
        if lk == "list":
            raise _RefusedError(left, "list outside `in [...]`")
        for op, right in zip(node.ops, node.comparators, strict=True):
            if type(op) in _REFUSED:
                raise _RefusedError(node, _REFUSED[type(op)])
            if isinstance(op, ast.In | ast.NotIn):
                if not isinstance(right, ast.List | ast.Tuple):
                    raise _RefusedError(right, "`in` without a [list] of constants")
                for elt in right.elts:
                    _check_constant(elt, params, d)
            else:
                rk = _check(right, params, d)
                if rk == "list":
                    raise _RefusedError(right, "list outside `in [...]`")
        return "bool"
    if isinstance(node, ast.List | ast.Tuple):
        for elt in node.elts:
            _check_constant(elt, params, d)
        return "list"
    if isinstance(node, ast.Call):
        return _check_call(node, params)
    raise _RefusedError(node, f"{type(node).__name__} syntax")


def _check_constant(node: ast.AST, params: Mapping[str, Any], depth: int) -> None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    if isinstance(node, ast.Constant) and _const_kind(node.value) != "other":
        return
    if isinstance(node, ast.Name) and (node.id in params or node.id.lower() in _BOOL_NAMES):
        return
    if type(node) in _REFUSED:
        raise _RefusedError(node, _REFUSED[type(node)])
    raise _RefusedError(node, "non-constant inside an `in` list")


def _check_call(node: ast.Call, params: Mapping[str, Any]) -> str:
    if not isinstance(node.func, ast.Name):
        what = _REFUSED.get(type(node.func), "call of a computed value")
        raise _RefusedError(node.func, f"call through {what}")
    fname = node.func.id
    if fname.startswith("__") or fname.endswith("__"):
        raise _RefusedError(node.func, "dunder name")
    if fname not in FUNCTIONS:
        hint = did_you_mean(fname, FUNCTIONS).rstrip()
        hint = f" ({hint})" if hint else ""
        raise _RefusedError(node.func, f"call to unknown function{hint}")
    if node.keywords:
        raise _RefusedError(node.keywords[0].value, "keyword argument")
    kinds, result = FUNCTIONS[fname]
    if len(node.args) != len(kinds):
        raise _RefusedError(
            node, f"{fname}() with {len(node.args)} arguments (it takes {len(kinds)})"
        )
    for arg, kind in zip(node.args, kinds, strict=True):
        if type(arg) in _REFUSED:
            raise _RefusedError(arg, _REFUSED[type(arg)])
        value = _constant_value(arg, params)
        if kind == "column":
            if isinstance(arg, ast.Name) and not (
                arg.id.startswith("__") or arg.id in params or arg.id in FUNCTIONS
            ):
                continue
            if isinstance(value, str) and not value.startswith("__"):
                continue
            raise _RefusedError(arg, f"argument of {fname}() that is not a column name")
        if kind in ("layer", "raster") and not (isinstance(value, str) and value):
            raise _RefusedError(arg, f"{fname}() argument that is not a {kind} name in quotes")
        if kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise _RefusedError(arg, f"{fname}() argument that is not a number")
        if kind == "text" and not isinstance(value, str):
            raise _RefusedError(arg, f"{fname}() argument that is not a text in quotes")
    return result


def _constant_value(node: ast.AST, params: Mapping[str, Any]) -> Any:
    """Value of a constant argument (number, text, param, negated number), else None."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        sign, node = -1, node.operand
    if isinstance(node, ast.Constant):
        value = node.value
    elif isinstance(node, ast.Name) and node.id in params:
        value = params[node.id]
    else:
        return None
    if sign == -1:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return -value
    return value


def _walk_calls(tree: ast.AST | None) -> Iterable[ast.Call]:
    if tree is None:
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


def _names(tree: ast.AST | None, params: Mapping[str, Any]) -> list[tuple[str, ast.AST]]:
    """Column names an expression reads (with their node), excluding params and specials."""
    out: list[tuple[str, ast.AST]] = []
    if tree is None:
        return out
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.func.id in _OWN_FUNCTIONS:  # type: ignore[attr-defined]
            arg = node.args[0]
            name = arg.id if isinstance(arg, ast.Name) else _constant_value(arg, params)
            if name not in SPECIAL_NAMES:
                out.append((name, arg))
        elif isinstance(node, ast.Name) and _is_column_name(node, params):
            out.append((node.id, node))
    # isnull(name): the bare Name is also walked; keep one entry per node
    return list({id(n): (s, n) for s, n in out}.values())


def _is_column_name(node: ast.Name, params: Mapping[str, Any]) -> bool:
    return (
        node.id not in params
        and node.id not in SPECIAL_NAMES
        and node.id not in FUNCTIONS
        and node.id.lower() not in _BOOL_NAMES
    )


def spatial_keys(tree: ast.AST | None, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """
    Keys of the spatial/raster values an expression needs, as `evaluate_expression` asks.

    ``("share_in", layer)``, ``("intersects", layer)``, ``("distance_to", layer, cap)``
    (cap is None for exact distances everywhere, or a number: exact up to `cap` metres,
    +inf beyond, enough for comparisons with constants ≤ cap), ``("raster_mean", name)``,
    ``("raster_max", name)``, ``("raster_share_above", name, value)``.
    """
    keys: dict[tuple[Any, ...], None] = {}
    if tree is None:
        return []
    caps = _distance_caps(tree, params)
    for call in _walk_calls(tree):
        fname = call.func.id  # type: ignore[attr-defined]
        if fname in _OWN_FUNCTIONS:
            continue
        args = tuple(_constant_value(a, params) for a in call.args)
        if fname == "distance_to":
            keys.setdefault((fname, args[0], caps.get(id(call))), None)
        elif fname == "raster_share_above":
            keys.setdefault((fname, args[0], float(args[1])), None)
        else:
            keys.setdefault((fname, *args), None)
    return list(keys)


def _distance_caps(tree: ast.AST, params: Mapping[str, Any]) -> dict[int, float]:
    """For distance_to() calls compared only with constants: id(call) -> the largest one."""
    caps: dict[int, float] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        if any(isinstance(op, ast.In | ast.NotIn) for op in node.ops):
            continue
        calls = [
            o
            for o in operands
            if isinstance(o, ast.Call) and o.func.id == "distance_to"  # type: ignore[attr-defined]
        ]
        consts = [_constant_value(o, params) for o in operands if o not in calls]
        if len(calls) != 1 or not consts:
            continue
        if all(isinstance(c, int | float) and not isinstance(c, bool) for c in consts):
            caps[id(calls[0])] = max(0.0, float(max(consts)))
    return caps


@dataclass
class _Context:
    frame: pd.DataFrame  # positional (RangeIndex) columns
    n: int
    params: Mapping[str, Any]
    values: Mapping[tuple[Any, ...], np.ndarray]
    special: Mapping[str, np.ndarray]
    rule_id: str
    expr: str
    caps: dict[int, float] = field(default_factory=dict)


def evaluate_expression(
    expr: str | ast.Expression,
    frame: pd.DataFrame,
    *,
    values: Mapping[tuple[Any, ...], np.ndarray] | None = None,
    special: Mapping[str, np.ndarray] | None = None,
    params: Mapping[str, Any] | None = None,
    rule_id: str = "<expression>",
    source: str | None = None,
) -> np.ndarray:
    """
    Evaluate a rule expression over every row of `frame`, vectorised.

    Parameters
    ----------
    expr
        Expression text, or a tree from `parse_expression`.
    frame
        The columns the expression may read (any index; results are positional).
    values
        Precomputed spatial/raster values keyed as returned by `spatial_keys`
        (`geo_renewal.classify.classify_parcels` provides them).
    special
        Arrays for the computed names ``area`` and ``floor_area``.
    params
        Named constants.
    rule_id
        Named in error messages.
    source
        Expression text for messages, when `expr` is a tree.

    Returns
    -------
    mask
        Boolean numpy array, one value per row; nulls handled as the user guide says (docs/guide/classification.md).

    Raises
    ------
    RuleError
        For refused syntax, unknown columns (listing those that exist and the closest
        match), missing spatial values, or columns of the wrong type.

    Examples
    --------
    >>> df = pd.DataFrame({"floors": [2, 9, None], "use": ["a", "b", "a"]})
    >>> evaluate_expression("floors >= 7 or use in ['a']", df).tolist()
    [True, True, True]
    >>> evaluate_expression("floors != 9", df).tolist()
    [True, False, False]
    """
    params = params or {}
    if isinstance(expr, str):
        source = _normalize(expr)
        tree = parse_expression(expr, rule_id=rule_id, params=params)
    else:
        tree, source = expr, source or ast.unparse(expr)
    check_columns(tree, frame.columns, params=params, rule_id=rule_id, source=source)
    ctx = _Context(
        frame=frame.reset_index(drop=True)
        if not isinstance(frame.index, pd.RangeIndex)
        or frame.index.start != 0
        or frame.index.step != 1
        else frame,
        n=len(frame),
        params=params,
        values=values or {},
        special=special or {},
        rule_id=rule_id,
        expr=source,
        caps=_distance_caps(tree, params),
    )
    with np.errstate(all="ignore"):
        try:
            result = _eval(tree.body, ctx)
            return _to_mask(result, ctx, tree.body)
        except RuleError:
            raise
        except (TypeError, ValueError, OverflowError, ArithmeticError) as e:
            msg = (
                f"rule {rule_id!r}: cannot evaluate `{source}` ({type(e).__name__}: {e}); "
                "check that numbers are compared with numbers and text with 'text'."
            )
            raise RuleError(msg) from None


def check_columns(
    tree: ast.Expression,
    columns: Iterable[str],
    *,
    params: Mapping[str, Any] | None = None,
    rule_id: str = "<expression>",
    source: str = "",
) -> None:
    """
    Raise `RuleError` for the first column the expression reads that `columns` lacks.

    The message lists the existing columns and the closest match.
    """
    cols = [str(c) for c in columns if c != "geometry"]
    for name, node in _names(tree, params or {}):
        if name not in cols:
            hint = did_you_mean(name, cols + list(SPECIAL_NAMES)).rstrip()
            hint = f"; {hint}" if hint else ""
            msg = (
                f"rule {rule_id!r}: unknown column `{name}` at {_position(source, node)} of "
                f"`{source}`; the parcels have columns {cols} (and the computed "
                f"{list(SPECIAL_NAMES)}){hint}"
            )
            raise RuleError(msg)


def _eval(node: ast.AST, ctx: _Context) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return _name_value(node, ctx)
    if isinstance(node, ast.BoolOp):
        masks = [_to_mask(_eval(v, ctx), ctx, v) for v in node.values]
        func = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        return func.reduce(masks)
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.Not):
            return ~_to_mask(_eval(node.operand, ctx), ctx, node.operand)
        value = _as_number(_eval(node.operand, ctx), ctx, node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        left = _as_number(_eval(node.left, ctx), ctx, node.left)
        right = _as_number(_eval(node.right, ctx), ctx, node.right)
        return _BIN_OPS[type(node.op)](left, right)
    if isinstance(node, ast.Compare):
        return _compare(node, ctx)
    if isinstance(node, ast.Call):
        return _call_value(node, ctx)
    msg = f"rule {ctx.rule_id!r}: cannot evaluate `{_piece(ctx.expr, node)}`"
    raise RuleError(msg)  # pragma: no cover - the checker refuses everything else


def _name_value(node: ast.Name, ctx: _Context) -> Any:
    name = node.id
    if name.lower() in _BOOL_NAMES:
        return _BOOL_NAMES[name.lower()]
    if name in ctx.params:
        return ctx.params[name]
    if name in SPECIAL_NAMES:
        if name in ctx.special:
            return ctx.special[name]
        if name == "floor_area" and name in ctx.frame.columns:
            return ctx.frame[name]
        msg = (
            f"rule {ctx.rule_id!r}: `{name}` ({SPECIAL_NAMES[name]}) is not available here; "
            "use classify_parcels, which computes it from the geometry and columns."
        )
        raise RuleError(msg)
    return ctx.frame[name]


def _null_mask(value: Any, n: int) -> np.ndarray | bool:
    if isinstance(value, pd.Series):
        return value.isna().to_numpy(dtype=bool)
    if isinstance(value, np.ndarray):
        return np.isnan(value) if value.dtype.kind == "f" else False
    return bool(isinstance(value, float) and np.isnan(value))


def _compare(node: ast.Compare, ctx: _Context) -> np.ndarray:
    left = _eval(node.left, ctx)
    result: np.ndarray | None = None
    for op, right_node in zip(node.ops, node.comparators, strict=True):
        if isinstance(op, ast.In | ast.NotIn):
            items = [_literal(e, ctx) for e in right_node.elts]  # type: ignore[attr-defined]
            right = None
            if isinstance(left, pd.Series | np.ndarray):
                mask = pd.Series(left).isin(items).to_numpy(dtype=bool)
            else:
                mask = np.full(ctx.n, left in items)
            if isinstance(op, ast.NotIn):
                mask = ~mask
        else:
            right = _eval(right_node, ctx)
            mask = _to_plain_bool(_CMP_OPS[type(op)](left, right), ctx)
        nulls = _null_mask(left, ctx.n)
        if right is not None:
            nulls = nulls | _null_mask(right, ctx.n)
        mask = mask & ~np.asarray(nulls, dtype=bool)
        result = mask if result is None else result & mask
        left = right
    return result  # type: ignore[return-value]


def _literal(node: ast.AST, ctx: _Context) -> Any:
    if isinstance(node, ast.Name) and node.id.lower() in _BOOL_NAMES and node.id not in ctx.params:
        return _BOOL_NAMES[node.id.lower()]
    return _constant_value(node, ctx.params)


def _to_plain_bool(value: Any, ctx: _Context) -> np.ndarray:
    if isinstance(value, pd.Series):
        if value.dtype == object or str(value.dtype) == "boolean":
            return value.fillna(False).to_numpy(dtype=bool)
        return value.to_numpy(dtype=bool, na_value=False)
    if isinstance(value, np.ndarray):
        return value.astype(bool, copy=False)
    return np.full(ctx.n, bool(value))


def _to_mask(value: Any, ctx: _Context, node: ast.AST) -> np.ndarray:
    """Truth value of a condition, a boolean column, or a number (non-zero, not null)."""
    if isinstance(value, bool | np.bool_):
        return np.full(ctx.n, bool(value))
    if isinstance(value, np.ndarray):
        if value.dtype == bool:
            return value
        if value.dtype.kind in "iuf":
            return (value != 0) & ~np.isnan(value.astype(float))
    if isinstance(value, pd.Series):
        dtype = value.dtype
        if pd.api.types.is_bool_dtype(dtype):
            return value.fillna(False).to_numpy(dtype=bool)
        if pd.api.types.is_numeric_dtype(dtype):
            num = value.to_numpy(dtype=float, na_value=np.nan)
            return (num != 0) & ~np.isnan(num)
        if pd.api.types.is_object_dtype(dtype):
            non_null = value.dropna()
            if non_null.map(lambda v: isinstance(v, bool | np.bool_)).all():
                return value.map(lambda v: v is True or v is np.True_).to_numpy(dtype=bool)
        sample = value.dropna().unique()[:3].tolist()
        msg = (
            f"rule {ctx.rule_id!r}: `{_piece(ctx.expr, node)}` at {_position(ctx.expr, node)} "
            f"holds {dtype} values such as {sample}, not true/false; compare it, "
            f"e.g. `{_piece(ctx.expr, node)} == {sample[0]!r}`"
            if sample
            else f"rule {ctx.rule_id!r}: `{_piece(ctx.expr, node)}` holds no true/false values"
        )
        raise RuleError(msg)
    msg = f"rule {ctx.rule_id!r}: `{_piece(ctx.expr, node)}` is not a condition (true/false)"
    raise RuleError(msg)


def _as_number(value: Any, ctx: _Context, node: ast.AST) -> Any:
    if isinstance(value, bool | np.bool_):
        return np.float64(value)
    if isinstance(value, int | float):
        return np.float64(value)
    if isinstance(value, np.ndarray):
        return value.astype(float, copy=False)
    if isinstance(value, pd.Series):
        if pd.api.types.is_numeric_dtype(value.dtype) or pd.api.types.is_bool_dtype(value.dtype):
            return value.to_numpy(dtype=float, na_value=np.nan)
        sample = value.dropna().unique()[:3].tolist()
        msg = (
            f"rule {ctx.rule_id!r}: column `{_piece(ctx.expr, node)}` holds {value.dtype} "
            f"values such as {sample}; arithmetic needs numbers (convert the column first)"
        )
        raise RuleError(msg)
    msg = f"rule {ctx.rule_id!r}: `{_piece(ctx.expr, node)}` is not a number"
    raise RuleError(msg)


def _call_value(node: ast.Call, ctx: _Context) -> Any:
    fname = node.func.id  # type: ignore[attr-defined]
    if fname == "isnull":
        arg = node.args[0]
        col = arg.id if isinstance(arg, ast.Name) else _constant_value(arg, ctx.params)
        if col in ctx.special:
            return np.isnan(np.asarray(ctx.special[col], dtype=float))
        return ctx.frame[col].isna().to_numpy(dtype=bool)
    if fname == "startswith":
        return _startswith(node, ctx)
    args = tuple(_constant_value(a, ctx.params) for a in node.args)
    if fname == "distance_to":
        key: tuple[Any, ...] = (fname, args[0], ctx.caps.get(id(node)))
        if key not in ctx.values and (fname, args[0], None) in ctx.values:
            key = (fname, args[0], None)
    elif fname == "raster_share_above":
        key = (fname, args[0], float(args[1]))
    else:
        key = (fname, *args)
    if key not in ctx.values:
        kind = FUNCTIONS[fname][0][0]
        msg = (
            f"rule {ctx.rule_id!r}: {fname}({args[0]!r}) needs the {kind} {args[0]!r}, which "
            f"was not given; pass {kind}s={{{args[0]!r}: ...}} to classify_parcels "
            f"(CLI: --{_CLI_OPTION[kind]} {args[0]}=PATH)"
        )
        raise RuleError(msg)
    return ctx.values[key]


def _startswith(node: ast.Call, ctx: _Context) -> np.ndarray:
    """Where the column's text (numbers as written, without ``.0``) starts with the prefix."""
    arg = node.args[0]
    col = arg.id if isinstance(arg, ast.Name) else _constant_value(arg, ctx.params)
    prefix = str(_constant_value(node.args[1], ctx.params))
    values = ctx.frame[col].to_numpy(dtype=object)
    return np.fromiter(
        (not pd.isna(v) and str(v).removesuffix(".0").startswith(prefix) for v in values),
        dtype=bool,
        count=len(values),
    )


def _is_cheap(node: ast.AST) -> bool:
    """Tell whether `node` reads no spatial or raster value (only columns, params, area)."""
    return not any(
        isinstance(n, ast.Call) and RULE_FUNCTIONS[n.func.id].compute is not None  # type: ignore[attr-defined]
        for n in ast.walk(node)
    )


def cheap_part(tree: ast.Expression | None) -> ast.Expression | None:
    """
    Return the conjuncts of a checked expression that read only columns, or None.

    For ``a and b and share_in("x") < 0.01`` the cheap part is ``a and b``: where it is
    False, the expression is False whatever the spatial value, so the value need not be
    computed there. None when the expression has no spatial part, or no cheap conjunct.

    Parameters
    ----------
    tree
        A tree from `parse_expression`.

    Returns
    -------
    cheap
        An expression tree of the cheap conjuncts, or None.

    Examples
    --------
    >>> tree = parse_expression("floors <= 3 and share_in('river') > 0.5")
    >>> ast.unparse(cheap_part(tree))
    'floors <= 3'
    >>> cheap_part(parse_expression("floors <= 3")) is None
    True
    """
    if tree is None:
        return None
    body = tree.body
    parts = (
        body.values if isinstance(body, ast.BoolOp) and isinstance(body.op, ast.And) else [body]
    )
    cheap = [p for p in parts if _is_cheap(p)]
    if not cheap or len(cheap) == len(parts):
        return None
    return ast.Expression(cheap[0] if len(cheap) == 1 else ast.BoolOp(ast.And(), cheap))
