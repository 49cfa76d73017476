"""
Findings: what is wrong with an input, where, and what was done about it.

One collector and one set of columns serve every check of input (`validate_layer`, the ledger
reader): a finding names the row (the input's index label or the spreadsheet row), the id of
the feature or project, the column as the file spells it, a problem code, a severity, the
action taken, a sentence for the planner and the offending value as text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["FINDING_COLUMNS", "SEVERITIES", "Findings", "concat_findings"]

#: Columns of every findings table, in order.
FINDING_COLUMNS = ["row", "id", "column", "problem", "severity", "action", "message", "value"]
#: Severities, most severe first.
SEVERITIES = ("error", "warning", "info")


def _text(v: object) -> str | None:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return None
    return str(v)


class Findings:
    """
    Accumulate findings, one at a time (`add`) or as vectorised blocks (`rows`).

    Parameters
    ----------
    labels
        Row labels by position, for `rows` (the layer's index values).
    ids
        Ids by position, for `rows` (the layer's id column), or None.
    headers
        Canonical column name -> the header as the file spells it; findings name the
        file's header.

    Examples
    --------
    >>> f = Findings()
    >>> f.add("blank_id", "row 3: the project id is blank; fill it in.", row=3, column="project_id")
    >>> f.frame()[["row", "problem", "severity"]].to_dict("records")
    [{'row': 3, 'problem': 'blank_id', 'severity': 'error'}]
    """

    def __init__(
        self,
        labels: np.ndarray | None = None,
        ids: np.ndarray | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.labels = labels
        self.ids = ids
        self.headers: Mapping[str, str] = dict(headers or {})
        self.blocks: list[pd.DataFrame] = []

    def header(self, col: str) -> str:
        """Return the header of canonical column `col` as the file spells it."""
        return self.headers.get(col, col)

    def add(
        self,
        problem: str,
        message: str,
        *,
        severity: str = "error",
        row: Any = None,
        id: Any = None,  # noqa: A002 - the column is called id
        column: str | None = None,
        action: str = "reported",
        value: Any = None,
    ) -> None:
        """Add one finding; `column` is canonical and is reported as the file's header."""
        self.blocks.append(
            pd.DataFrame(
                {
                    "row": pd.Series([row], dtype=object),
                    "id": pd.Series([_text(id)], dtype=object),
                    "column": pd.Series(
                        [None if column is None else self.header(column)], dtype=object
                    ),
                    "problem": [problem],
                    "severity": [severity],
                    "action": [action],
                    "message": [message],
                    "value": pd.Series([_text(value)], dtype=object),
                }
            )
        )

    def add_many(
        self,
        problem: str,
        messages: Sequence[str],
        *,
        severity: str = "error",
        rows: Sequence[Any] | None = None,
        ids: Sequence[Any] | None = None,
        column: str | None = None,
        action: str = "reported",
        values: Sequence[Any] | None = None,
    ) -> None:
        """
        Add one finding per message, as `add` does, in one block.

        `rows`, `ids` and `values` are aligned with `messages` (None: all missing);
        `column` is canonical and is reported as the file's header.

        Examples
        --------
        >>> f = Findings(headers={"project_id": "项目编号"})
        >>> f.add_many("no_row", ["P1 has no row.", "P2 has no row."], ids=["P1", "P2"],
        ...            column="project_id", severity="warning")
        >>> f.frame()[["id", "column", "severity"]].to_dict("records")
        [{'id': 'P1', 'column': '项目编号', 'severity': 'warning'}, {'id': 'P2', 'column': '项目编号', 'severity': 'warning'}]
        """
        n = len(messages)
        if n == 0:
            return

        def texts(seq: Sequence[Any] | None) -> pd.Series:
            return pd.Series([None] * n if seq is None else [_text(v) for v in seq], dtype=object)

        self.blocks.append(
            pd.DataFrame(
                {
                    "row": pd.Series([None] * n if rows is None else list(rows), dtype=object),
                    "id": texts(ids),
                    "column": pd.Series(
                        [None if column is None else self.header(column)] * n, dtype=object
                    ),
                    "problem": problem,
                    "severity": severity,
                    "action": action,
                    "message": pd.Series(list(messages), dtype=object),
                    "value": texts(values),
                }
            )
        )

    def rows(
        self,
        pos: np.ndarray,
        *,
        column: str | None,
        problem: str,
        severity: str,
        action: str,
        message: str | pd.Series | np.ndarray,
        value: Sequence[object] | np.ndarray | None = None,
    ) -> None:
        """Add one finding per position in `pos` (labels and ids from the constructor)."""
        pos = np.asarray(pos, dtype=np.intp)
        if pos.size == 0:
            return
        n = pos.size
        labels = self.labels if self.labels is not None else np.arange(pos.max() + 1)
        ids = (
            pd.Series(self.ids[pos], dtype=object)
            .where(lambda s: s.notna(), None)
            .map(lambda v: None if v is None else str(v))
            if self.ids is not None
            else [None] * n
        )
        block = pd.DataFrame(
            {
                "row": pd.Series(labels[pos], dtype=object),
                "id": pd.Series(ids, dtype=object),
                "column": pd.Series([column] * n, dtype=object),
                "problem": problem,
                "severity": severity,
                "action": action,
                "message": np.asarray(message, dtype=object)
                if not isinstance(message, str)
                else message,
                "value": pd.Series(
                    [None] * n if value is None else [_text(v) for v in value], dtype=object
                ),
            }
        )
        self.blocks.append(block)

    def layer(
        self, *, column: str | None, problem: str, severity: str, action: str, message: str
    ) -> None:
        """Add one finding about the whole layer (no row)."""
        self.add(problem, message, severity=severity, column=column, action=action)

    def frame(self, *, sort_by_row: bool = False) -> pd.DataFrame:
        """
        Return the findings as a table with `FINDING_COLUMNS`.

        Parameters
        ----------
        sort_by_row
            If True, order by row (stable; layer-wide findings last).

        Returns
        -------
        findings
            One row per finding.
        """
        if not self.blocks:
            return pd.DataFrame({c: pd.Series([], dtype=object) for c in FINDING_COLUMNS})
        out = pd.concat(self.blocks, ignore_index=True)[FINDING_COLUMNS]
        if sort_by_row:
            key = pd.to_numeric(out["row"], errors="coerce").fillna(np.inf)
            out = out.iloc[np.argsort(key.to_numpy(), kind="stable")].reset_index(drop=True)
        return out


def concat_findings(*frames: pd.DataFrame) -> pd.DataFrame:
    """
    Return findings frames as one, in order; an empty frame with the columns when all are empty.

    Parameters
    ----------
    *frames
        Findings frames (`FINDING_COLUMNS`), e.g. a reader's and a `Findings.frame()`.

    Returns
    -------
    findings
        The non-empty frames concatenated with a fresh index.

    Examples
    --------
    >>> list(concat_findings(pd.DataFrame(columns=FINDING_COLUMNS)).columns) == FINDING_COLUMNS
    True
    """
    kept = [f for f in frames if len(f)]
    return pd.concat(kept, ignore_index=True) if kept else pd.DataFrame(columns=FINDING_COLUMNS)
