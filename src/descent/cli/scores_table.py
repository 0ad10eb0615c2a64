"""The table `descent train` prints: each part's scores next to the baseline's."""

from __future__ import annotations

from rich.table import Table

from descent.tabular.report import SplitScores

SPLIT_NOTES = {"train": "fitted on", "validation": "early stopping", "test": "held out"}


def number(value: float) -> str:
    """A score for the table: thousands separators for big values, 3-4 digits otherwise.

    >>> number(13096.84), number(0.78184), number(-0.0407)
    ('13,097', '0.782', '-0.041')
    """
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}"


def scores_table(scores: list[SplitScores], title: str) -> Table:
    """One row per part of the data and one for its baseline, one column per metric.

    >>> from descent.tabular.report import score_split
    >>> import numpy as np
    >>> s = score_split("test", "regression", np.array([1.0, 3.0]), np.array([2.0]),
    ...                 np.array([1.0, 3.0]))
    >>> scores_table([s], "demo").row_count
    2
    """
    metrics = list(scores[0].model)
    table = Table(title=title, title_justify="left")
    table.add_column("part")
    table.add_column("rows", justify="right")
    for name in metrics:
        table.add_column(name, justify="right")
    for s in scores:
        table.add_row(f"{s.split} ({SPLIT_NOTES.get(s.split, '')})", str(s.n_rows),
                      *(number(s.model[m]) for m in metrics))
        table.add_row("  baseline", "", *(number(s.baseline[m]) for m in metrics),
                      style="dim", end_section=True)
    return table
