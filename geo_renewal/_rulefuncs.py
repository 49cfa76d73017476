"""
The registry of functions a rule expression may call.

Each function is declared once, next to the code that computes it (`geo_renewal.spatial`,
`geo_renewal.raster`), with `rule_function`: its argument kinds, result kind and how it is
computed. The expression language (`geo_renewal.expression`) checks calls against the
registry and the classifier (`geo_renewal._classify_kernel`) computes each value through it,
once per key. Adding a function touches the module that computes it and its tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ARG_KINDS", "RULE_FUNCTIONS", "RuleFunction", "rule_function"]

#: Kinds of argument: a parcel column, a vector layer or raster named in quotes, a number,
#: a text constant (``startswith(land_use_code, "07")``).
ARG_KINDS = ("column", "layer", "raster", "number", "text")


@dataclass(frozen=True)
class RuleFunction:
    """
    A function rule expressions may call.

    Parameters
    ----------
    name
        The name written in expressions.
    args
        The kind of each argument (`ARG_KINDS`); arguments are constants.
    result
        ``"bool"`` or ``"number"``.
    summary
        One line for the documentation and error messages.
    compute
        For a layer function ``compute(index, geoms, key, rows) -> values``: the parcels'
        `geo_renewal.spatial._ParcelIndex`, the layer's geometries in the working CRS, the
        value's key and the positions where the value is needed (None: all). For a
        `batched` function ``compute(geometry, source, keys) -> {key: values}`` for all keys
        of one source at once. None for functions the interpreter evaluates itself.
    batched
        If True, all keys of one source are computed in one call (raster statistics).
    capped
        If True, the key ends with the largest constant the call is compared with (None if
        compared otherwise): values beyond it may be reported as +inf.
    """

    name: str
    args: tuple[str, ...]
    result: str
    summary: str
    compute: Callable[..., Any] | None = None
    batched: bool = False
    capped: bool = False

    @property
    def source(self) -> str | None:
        """The kind of input the first argument names (``"layer"``/``"raster"``), or None."""
        return self.args[0] if self.args and self.args[0] in ("layer", "raster") else None

    def key(self, args: tuple[Any, ...], cap: float | None = None) -> tuple[Any, ...]:
        """
        Return the cache key of a call with constant `args`: one value is computed per key.

        Examples
        --------
        >>> RuleFunction("f", ("raster", "number"), "number", "").key(("flood", 1))
        ('f', 'flood', 1.0)
        """
        parts = [
            float(a) if kind == "number" else a for a, kind in zip(args, self.args, strict=True)
        ]
        return (self.name, *parts, *((cap,) if self.capped else ()))


class _Registry(Mapping[str, RuleFunction]):
    """Name -> `RuleFunction`, filled by `rule_function` as the declaring modules load."""

    def __init__(self) -> None:
        self._functions: dict[str, RuleFunction] = {}

    def __getitem__(self, name: str) -> RuleFunction:
        return self._functions[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._functions)

    def __len__(self) -> int:
        return len(self._functions)

    def add(self, function: RuleFunction) -> None:
        if function.name in self._functions:
            msg = f"rule function {function.name!r} is declared twice"
            raise ValueError(msg)
        bad = [k for k in function.args if k not in ARG_KINDS]
        if bad or function.result not in ("bool", "number"):
            msg = f"rule function {function.name!r}: bad argument kinds {bad} or result kind"
            raise ValueError(msg)
        self._functions[function.name] = function


#: Every function rule expressions may call.
RULE_FUNCTIONS = _Registry()


def rule_function(
    name: str,
    *,
    args: tuple[str, ...],
    result: str,
    summary: str,
    batched: bool = False,
    capped: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """
    Declare the decorated function as the computation of rule function `name`.

    Parameters
    ----------
    name, args, result, summary, batched, capped
        See `RuleFunction`.

    Returns
    -------
    decorator
        Registers the function and returns it unchanged.

    Examples
    --------
    >>> @rule_function("n_vertices", args=("layer",), result="number", summary="a doctest")
    ... def _n_vertices(index, geoms, key, rows):
    ...     return index.areas * 0
    >>> RULE_FUNCTIONS["n_vertices"].args, RULE_FUNCTIONS["n_vertices"].source
    (('layer',), 'layer')
    >>> del RULE_FUNCTIONS._functions["n_vertices"]  # a doctest leaves the registry as it was
    """

    def register(compute: Callable[..., Any]) -> Callable[..., Any]:
        RULE_FUNCTIONS.add(RuleFunction(name, args, result, summary, compute, batched, capped))
        return compute

    return register
