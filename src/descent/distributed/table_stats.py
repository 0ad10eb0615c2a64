"""Column statistics of a big CSV table, one block at a time, merged into the same encoder
and scalers `descent train` fits in memory.

The columns are read as `descent train` reads a table in memory: every cell as text, then
the schema (`descent.data.schema`, inferred from the first block) types them: numbers
written "26,000", dates, canonical categories, identifiers and free text left out.

A block's summary (`summarize_block`) holds, for its training rows only: the count, mean,
sum of squared deviations, min and max of every numeric column's present values (and of a
regression target), the value counts of every text column, the number of missing cells of
each column, the counts of the numbers' top key bits (for exact medians, medians.py), and
the class counts of a classification target. Summaries add (`merge`, Chan's parallel
update of the moments), so blocks can be summarized on any worker in any order. From the
merged summary:
  - the encoder is `TableEncoder.fit` itself, run on a small table holding every value the
    training rows hold (what it learns depends only on which values occur, and on which
    columns have gaps: those get a missing indicator), with the fills set to the training
    rows' median (a further pass, `median_scan`) or mean, and the most frequent text;
  - the scalers are `Standardizer`s holding the merged mean and standard deviation of each
    encoded feature with its gaps filled (one-hot, yes/no and indicator features from the
    counts).

Each block's rows are split into train / validation / test parts by `split_rows` with the
block's own seed, so any process can tell a row's part from the block alone.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from descent.data import Standardizer, Table, TableEncoder
from descent.data.cells import yes_no_value
from descent.data.columns import build_table
from descent.data.csv_blocks import CsvBlock, read_csv_block
from descent.data.csv_reader import read_csv_header
from descent.data.hints import hint
from descent.data.schema import Schema, infer_schema
from descent.data.table import CATEGORICAL, NUMERIC
from descent.data.typed_block import read_typed_block
from descent.distributed.medians import scan_block, top_counts
from descent.errors import DataError
from descent.tabular.table_training import split_rows

# Text columns with more distinct values than this are refused by the encoder anyway.
MAX_COUNTED = 1000


@dataclass
class Moments:
    """n, mean, M2 = Σ(x - mean)², min, max and the first value of a column's numbers."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    low: float = np.inf
    high: float = -np.inf
    first: float = np.nan

    @classmethod
    def of(cls, x: np.ndarray) -> Moments:
        if len(x) == 0:
            return cls()
        mean = float(np.mean(x))
        return cls(len(x), mean, float(np.sum((x - mean) ** 2)), float(x.min()),
                   float(x.max()), float(x[0]))

    def __add__(self, other: Moments) -> Moments:
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        n = self.n + other.n
        delta = other.mean - self.mean
        return Moments(n, self.mean + delta * other.n / n,
                       self.m2 + other.m2 + delta * delta * self.n * other.n / n,
                       min(self.low, other.low), max(self.high, other.high), self.first)

    def mean_scale(self) -> tuple[float, float]:
        """Standardizer's (mean, scale): a constant column gets its value and scale 1."""
        if self.low == self.high:
            return self.first, 1.0
        return self.mean, float(np.sqrt(self.m2 / self.n))


@dataclass
class Summary:
    """What the statistics pass learns from some blocks (see the module doc)."""

    rows: dict[str, int] = field(default_factory=lambda: {"train": 0, "validation": 0,
                                                          "test": 0})
    kinds: dict[str, str] = field(default_factory=dict)
    numbers: dict[str, Moments] = field(default_factory=dict)
    counts: dict[str, Counter] = field(default_factory=dict)
    target: Moments | Counter | None = None
    labels: Counter = field(default_factory=Counter)  # every row's target value (classes)
    gaps: Counter = field(default_factory=Counter)  # missing cells per feature column
    tops: dict[str, Counter] = field(default_factory=dict)  # for medians (medians.py)

    def __add__(self, other: Summary) -> Summary:
        out = Summary({k: self.rows[k] + other.rows[k] for k in self.rows},
                      {**other.kinds, **self.kinds})
        for name in set(self.numbers) | set(other.numbers):
            out.numbers[name] = self.numbers.get(name, Moments()) + other.numbers.get(
                name, Moments())
        for name in set(self.counts) | set(other.counts):
            out.counts[name] = self.counts.get(name, Counter()) + other.counts.get(name,
                                                                                   Counter())
        if isinstance(self.target, Moments) or isinstance(other.target, Moments):
            out.target = (self.target or Moments()) + (other.target or Moments())
        else:
            out.target = (self.target or Counter()) + (other.target or Counter())
        out.labels = self.labels + other.labels
        out.gaps = self.gaps + other.gaps
        for name in set(self.tops) | set(other.tops):
            out.tops[name] = self.tops.get(name, Counter()) + other.tops.get(name, Counter())
        return out


@dataclass(frozen=True)
class TableSpec:
    """How to read and split the blocks: fixed before the statistics pass."""

    target: str
    task: str
    features: list[str] | None
    kinds: dict[str, str]
    val_fraction: float
    test_fraction: float
    seed: int
    delimiter: str = ","
    schema: Schema | None = None  # None: the cells are typed by `kinds` as they are read
    missing: str = "error"  # or "median", "mean": how gaps in the features are filled
    unknown: str = "ignore"  # the encoder's rule for categories first seen after training

    @property
    def feature_names(self) -> list[str] | None:
        """The typed feature columns (a date makes four), or None: all but the target."""
        return self.schema.feature_columns if self.schema is not None else self.features


def block_seed(spec: TableSpec, index: int) -> int:
    """The seed of block `index`'s split: SeedSequence(seed).spawn(...)[index]'s first word."""
    return int(np.random.SeedSequence(spec.seed, spawn_key=(index,)).generate_state(1)[0])


def read_block(block: CsvBlock, spec: TableSpec) -> Table:
    """The block's rows, typed by the schema (or with the column kinds fixed, as
    `iter_csv_chunks` does, without one); gaps kept when they are filled."""
    if spec.schema is None:
        return read_csv_block(block, delimiter=spec.delimiter, kinds=spec.kinds,
                              missing="error" if spec.missing == "error" else "keep")
    return read_typed_block(block, spec.schema, delimiter=spec.delimiter, kinds=spec.kinds)


def block_parts(table: Table, spec: TableSpec, index: int,
                labels: np.ndarray | None) -> dict[str, np.ndarray]:
    """The block's train / validation / test row indices (`split_rows`, block seed)."""
    if len(table) == 0:
        empty = np.zeros(0, np.int64)
        return {"train": empty, "validation": empty, "test": empty}
    try:
        return split_rows(len(table), spec.val_fraction, spec.test_fraction,
                          block_seed(spec, index), labels, table.source)
    except DataError:  # a block of a few rows (the file's tail): train on them
        empty = np.zeros(0, np.int64)
        return {"train": np.arange(len(table)), "validation": empty, "test": empty}


def target_labels(table: Table, spec: TableSpec) -> np.ndarray | None:
    """Block-local class codes of the target (for stratifying), None for regression."""
    if spec.task != "classification":
        return None
    values = [str(v) for v in table.values[spec.target]]
    _, codes = np.unique(values, return_inverse=True)
    return codes


def summarize_block(block: CsvBlock, spec: TableSpec, index: int) -> Summary:
    """The statistics of one block's training rows (see the module doc)."""
    return summarize_table(read_block(block, spec), spec, index)


def summarize_table(table: Table, spec: TableSpec, index: int) -> Summary:
    """`summarize_block` of block `index` already read (`read_block`)."""
    if spec.target not in table.values:
        raise DataError(f"{table.source}: no target column {spec.target!r}; the columns are "
                        f"{', '.join(map(repr, table.columns))}")
    parts = block_parts(table, spec, index, target_labels(table, spec))
    train = table.take(parts["train"])
    names = spec.feature_names or [c for c in table.columns if c != spec.target]
    out = Summary({k: len(v) for k, v in parts.items()},
                  {n: table.kinds[n] for n in [*names, spec.target] if n in table.kinds})
    for name in names:
        if name not in train.values:
            raise DataError(f"{table.source}: no column {name!r} (--features)")
        gaps = train.missing_mask(name)
        if gaps.any():
            if spec.missing == "error":
                i = int(np.flatnonzero(gaps)[0])
                raise DataError(f"{train.location(i)}, column {name!r}: missing value; fill "
                                "it in, or impute it with "
                                + hint("missing='median'", "--missing median"))
            out.gaps[name] = int(gaps.sum())
        present = train.values[name][~gaps]
        if train.kinds[name] == NUMERIC:
            out.numbers[name] = Moments.of(present)
            if spec.missing == "median":
                out.tops[name] = top_counts(present)
        else:
            out.counts[name] = Counter(present.tolist())
    y = table.values[spec.target]
    if spec.task == "regression":
        if table.kinds[spec.target] != NUMERIC:
            raise DataError(f"{table.source}, target column {spec.target!r}: text in a "
                            "regression target; pass --task classification")
        out.target = Moments.of(train.values[spec.target])
    else:
        out.target = Counter(str(v) for v in train.values[spec.target].tolist())
        out.labels = Counter(y.tolist())
    return out


def summary_table(summary: Summary, spec: TableSpec, source: str) -> Table:
    """A small table in which every column holds exactly the values the training rows
    hold (numbers: their least and greatest), for `TableEncoder.fit`."""
    columns = list(dict.fromkeys([*summary.numbers, *summary.counts, spec.target]))
    values: dict[str, list[str]] = {}
    for name, m in summary.numbers.items():
        values[name] = [repr(m.low), repr(m.high)] if m.n else []
    for name, c in summary.counts.items():
        values[name] = sorted(str(v) for v in c if v is not None)
    for name in [*summary.numbers, *summary.counts]:
        if not values[name]:
            raise DataError(f"{source}, column {name!r}: every value is missing")
        if summary.gaps[name]:
            values[name].append("")  # a gap: the encoder gives the column an indicator
    if spec.task == "regression":
        assert isinstance(summary.target, Moments)
        values[spec.target] = [repr(summary.target.low), repr(summary.target.high)]
    else:
        values[spec.target] = sorted(str(v) for v in summary.labels)
    n = max(2, *(len(v) for v in values.values()))
    rows = [[values[c][i % len(values[c])] for c in columns] for i in range(n)]
    kinds = {c: summary.kinds.get(c, NUMERIC) for c in columns}
    return build_table(columns, rows, np.arange(n), path=source, kinds=kinds, missing="keep")


def _most_frequent(counts: Counter) -> Any:
    """The most frequent value, ties to the smallest (as `descent.data.missing`)."""
    top = max(counts.values())
    return min(v for v, c in counts.items() if c == top)


def _fill(summary: Summary, spec: TableSpec, name: str, encoding: str,
          medians: dict[str, float]) -> float | str | None:
    """The value `TableEncoder.fit` learns for a column's gaps from the training rows."""
    if spec.missing == "error":
        return None
    if encoding == "numeric":
        return medians[name] if spec.missing == "median" else summary.numbers[name].mean
    top = _most_frequent(summary.counts[name])
    return yes_no_value(str(top)) if encoding == "binary" else top


def _share(k: int, n: int) -> tuple[float, float]:
    """(mean, scale) of a 0/1 feature with k ones in n rows, as `Standardizer.fit`."""
    if k in (0, n):
        return (1.0 if k == n else 0.0), 1.0
    p = k / n
    return float(p), float(np.sqrt(p * (1 - p)))


def fit_preprocessing(summary: Summary, spec: TableSpec, source: str,
                      medians: dict[str, float] | None = None) -> tuple[
        TableEncoder, Standardizer, Standardizer | None]:
    """(encoder, x scaler, y scaler or None) from the merged summary of every block (and,
    filling gaps with medians, the medians of the numeric features from `median_scan`)."""
    from dataclasses import replace

    if summary.rows["train"] < 2:
        raise DataError(f"{source}: {summary.rows['train']} training rows; training needs "
                        "at least 2")
    features = spec.feature_names or [c for c in summary.kinds if c != spec.target]
    encoder = TableEncoder(target=spec.target, features=features, task=spec.task,
                           missing=spec.missing, unknown=spec.unknown,
                           indicators=spec.missing != "error")
    encoder.fit(summary_table(summary, spec, source))
    # The encoder learned its fills from the small table; put in the training rows' own.
    encoder.columns_ = [replace(c, fill=_fill(summary, spec, c.name, c.encoding, medians or {}))
                        for c in encoder.columns_ or []]
    mean, scale = [], []
    n = summary.rows["train"]
    for column in encoder.columns_:
        k = summary.gaps[column.name]  # the cells that take the fill
        if column.encoding == "numeric":
            m = summary.numbers[column.name]
            if k:
                fill = float(column.fill)  # type: ignore[arg-type]
                m = m + Moments(k, fill, 0.0, fill, fill, fill)
            mean_scale = [m.mean_scale()]
        else:
            counts = summary.counts[column.name]
            if column.encoding == "binary":
                ones = [sum(c for v, c in counts.items() if yes_no_value(str(v)) == 1.0)
                        + (k if column.fill == 1.0 else 0)]
            else:
                ones = [counts.get(category, 0) + (k if category == column.fill else 0)
                        for category in column.categories]
            mean_scale = [_share(j, n) for j in ones]
        if column.indicator:
            mean_scale.append(_share(k, n))
        for m_, s_ in mean_scale:
            mean.append(m_)
            scale.append(s_)
    x_scaler = Standardizer.from_dict({"format": "descent.Standardizer", "version": 1,
                                       "mean": mean, "scale": scale, "vector": False})
    y_scaler = None
    if spec.task == "regression":
        assert isinstance(summary.target, Moments)
        m, s = summary.target.mean_scale()
        y_scaler = Standardizer.from_dict({"format": "descent.Standardizer", "version": 1,
                                           "mean": [m], "scale": [s], "vector": True})
    return encoder, x_scaler, y_scaler


def first_block_spec(blocks: list[CsvBlock], target: str, task: str,
                     features: list[str] | None, val_fraction: float, test_fraction: float,
                     seed: int, delimiter: str = ",", *, kinds: dict[str, str] | None = None,
                     missing: str = "error", unknown: str = "ignore") -> TableSpec:
    """The schema (every column's kind, `infer_schema` with the user's `kinds`) and the
    task from the first block, every cell read as text: every later block is read with
    them. `missing`: "error", "median" or "mean" for the gaps of the features."""
    from descent.data import TargetEncoder

    if missing not in ("error", "median", "mean"):
        raise ValueError(f"missing must be 'error', 'median' or 'mean' for a table read "
                         f"block by block, got {missing!r}")
    header = read_csv_header(blocks[0].path, delimiter=delimiter)
    as_text = dict.fromkeys(header, CATEGORICAL)
    first = read_csv_block(blocks[0], delimiter=delimiter, kinds=as_text, missing="keep")
    if target not in first.values:
        from difflib import get_close_matches

        close = get_close_matches(target, first.columns, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise DataError(f"{first.source}: no target column {target!r}; the columns are "
                        f"{', '.join(map(repr, first.columns))}{hint}")
    schema = infer_schema(first, target, kinds=kinds, features=features)
    if not schema.feature_columns:
        raise DataError(f"{first.source}: no input column is left to learn from (the schema "
                        "left out every column but the target)")
    task = str(TargetEncoder(target, task).fit(schema.apply(first)).task_)
    return TableSpec(target, task, features, as_text, val_fraction, test_fraction,
                     0 if seed is None else int(seed), delimiter, schema, missing, unknown)


def median_scan(block: CsvBlock, spec: TableSpec, index: int,
                plan: list[tuple[str, int, int, bool]]) -> list[Counter]:
    """One block's part of a pass of `MedianFinder` (medians.py) over its training rows."""
    return median_scan_table(read_block(block, spec), spec, index, plan)


def median_scan_table(table: Table, spec: TableSpec, index: int,
                      plan: list[tuple[str, int, int, bool]]) -> list[Counter]:
    """`median_scan` of block `index` already read (`read_block`)."""
    train = table.take(block_parts(table, spec, index, target_labels(table, spec))["train"])
    return scan_block({name: train.values[name] for name in {p[0] for p in plan}}, plan)


def encode_block(table: Table, rows: np.ndarray, encoder: TableEncoder,
                 x_scaler: Standardizer, y_scaler: Standardizer | None,
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X standardized (n, d), y for the network (standardized, or class indices), y in the
    target's units or as class indices) for the given rows of a block."""
    part = table.take(rows)
    X = x_scaler.transform(encoder.transform(part, unknown="ignore"))
    y = encoder.transform_target(part)
    y_net = y if y_scaler is None else y_scaler.transform(y)
    return np.ascontiguousarray(X), y_net, y


def as_dicts(encoder: TableEncoder, x_scaler: Standardizer,
             y_scaler: Standardizer | None) -> dict[str, Any]:
    """The preprocessing as JSON-safe dicts, to ship to workers (no pickled objects)."""
    return {"encoder": encoder.to_dict(), "x_scaler": x_scaler.to_dict(),
            "y_scaler": None if y_scaler is None else y_scaler.to_dict()}


def from_dicts(d: dict[str, Any]) -> tuple[TableEncoder, Standardizer, Standardizer | None]:
    return (TableEncoder.from_dict(d["encoder"]), Standardizer.from_dict(d["x_scaler"]),
            None if d["y_scaler"] is None else Standardizer.from_dict(d["y_scaler"]))
