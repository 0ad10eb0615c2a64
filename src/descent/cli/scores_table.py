"""The tables `descent train` prints: the columns as read, and the scores of the network
next to a linear model's and a baseline's."""

from __future__ import annotations

from rich.table import Table

from descent.data.schema import Schema
from descent.tabular.report import SplitScores
from descent.tabular.table_training import Evaluation

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
        if s.linear is not None:
            table.add_row("  linear model", "", *(number(s.linear[m]) for m in metrics),
                          style="dim")
        table.add_row("  baseline", "", *(number(s.baseline[m]) for m in metrics),
                      style="dim", end_section=True)
    return table


def schema_table(schema: Schema, title: str) -> Table:
    """One row per column: its kind, how it is encoded, missing cells, an example, a note.

    >>> from descent.data.schema import infer_column, Schema
    >>> schema_table(Schema([infer_column("zip", ["02139", "10001"])]), "t").row_count
    1
    """
    table = Table(title=title, title_justify="left")
    for name, justify in (("column", "left"), ("kind", "left"), ("encoding", "left"),
                          ("missing", "right"), ("example", "left"), ("note", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for c in schema.columns:
        kind = "target" if c.name == schema.target else c.kind
        encoding = f"{c.kind}" if c.name == schema.target else c.encoding()
        note = c.note + (" (as asked)" if c.forced and "as asked" not in c.note else "")
        table.add_row(c.name, kind, encoding, str(c.missing) if c.missing else "",
                      c.example[:24], note, style=None if c.used else "dim")
    return table


def evaluation_table(evaluation: Evaluation, title: str) -> Table:
    """Rows network / linear model / baseline; each metric as mean ± spread over folds.

    >>> e = Evaluation("2-fold cross-validation", [
    ...     {m: {"R²": v} for m, v in (("network", 0.8), ("linear", 0.7), ("baseline", 0.0))},
    ...     {m: {"R²": v} for m, v in (("network", 0.9), ("linear", 0.7), ("baseline", 0.0))}])
    >>> evaluation_table(e, "t").row_count
    3
    """
    folds = len(evaluation.folds)
    metrics = list(evaluation.folds[0]["network"])
    table = Table(title=title + (" (mean ± standard deviation over the folds)" if folds > 1
                                 else ""), title_justify="left")
    table.add_column("model")
    for m in metrics:
        table.add_column(m, justify="right")
    names = {"network": "network", "linear": "linear model (ridge)" if "R²" in metrics
             else "linear model (logistic regression)", "baseline": "baseline"}
    for key, label in names.items():
        summary = evaluation.summary(key)
        cells = [number(mean) + (f" ± {number(spread)}" if folds > 1 else "")
                 for mean, spread in (summary[m] for m in metrics)]
        table.add_row(label, *cells, style="dim" if key == "baseline" else None)
    return table


def per_class_table(evaluation: Evaluation) -> Table:
    """The network's precision, recall and F1 per class, over every evaluated row."""
    table = Table(title=f"per class, the network on {evaluation.method}", title_justify="left")
    for name in ("class", "precision", "recall", "F1", "rows"):
        table.add_column(name, justify="left" if name == "class" else "right")
    for label, c in zip(evaluation.classes or [], evaluation.per_class or [], strict=True):
        table.add_row(str(label), number(c["precision"]), number(c["recall"]),
                      number(c["F1"]), str(int(c["support"])))
    return table
