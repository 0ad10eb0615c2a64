"""What the shards are made from: Dask arrays, a Dask DataFrame, NumPy arrays or CSV files.

Each source becomes `n_shards` Dask futures of `Shard`s, built by tasks from the source
itself, never from data that lives only on the driver's side of one worker: when a worker
dies, Dask rebuilds its shards by running the same tasks on a surviving worker.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from descent.distributed.shards import Shard, make_shard
from descent.errors import DataError

Path = str | os.PathLike


def is_csv_source(X: Any) -> bool:
    """A path, or a list of paths, to CSV files."""
    if isinstance(X, str | os.PathLike):
        return True
    return isinstance(X, list | tuple) and bool(X) and all(
        isinstance(p, str | os.PathLike) for p in X)


def _dask_arrays(X: Any, y: Any) -> tuple[Any, Any]:
    """(X, y) as Dask arrays with known row counts, from arrays, a DataFrame or NumPy."""
    import dask.array as da
    import dask.dataframe as dd

    if isinstance(X, dd.DataFrame):
        if isinstance(y, str):
            if y not in X.columns:
                raise DataError(f"no target column {y!r} in the DataFrame; its columns are "
                                f"{', '.join(map(repr, X.columns))}")
            target = X[y]
            X = X.drop(columns=[y])
        elif isinstance(y, dd.Series):
            target = y
        else:
            raise TypeError("with a Dask DataFrame, y must be the target column's name or a "
                            "Dask Series")
        for column, dtype in X.dtypes.items():
            if np.dtype(dtype).kind not in "biuf":
                raise DataError(f"DataFrame column {str(column)!r} has dtype {dtype}, not "
                                "numbers; encode text columns first (or train from the CSV "
                                "with `descent train --cluster`)")
        return X.to_dask_array(lengths=True), target.to_dask_array(lengths=True)
    if not isinstance(X, da.Array):
        X = da.from_array(np.asarray(X))
    if not isinstance(y, da.Array):
        y = da.from_array(np.asarray(y))
    if any(np.isnan(c) for c in X.shape + y.shape):
        raise DataError("X or y has unknown chunk sizes; call .compute_chunk_sizes() first")
    if X.ndim != 2:
        raise DataError(f"X must be 2-D (n, n_features), got shape {X.shape}")
    if X.shape[0] != y.shape[0]:
        raise DataError(f"X has {X.shape[0]} rows but y has {y.shape[0]}; they must match")
    return X, y


def array_shards(client: Any, X: Any, y: Any, n_shards: int, options: dict[str, Any]) -> list[
        Any]:
    """Futures of `n_shards` Shards of near-equal row counts from array-like X, y."""
    X, y = _dask_arrays(X, y)
    n = X.shape[0]
    if n < n_shards:
        raise DataError(f"{n} rows are fewer than the {n_shards} shards; pass shards={n} or "
                        "fewer")
    bounds = np.linspace(0, n, n_shards + 1).astype(int)
    futures = []
    for s, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        where = placement(client, s)
        fx, fy = client.compute([X[lo:hi], y[lo:hi]], **where)
        futures.append(client.submit(_shard, fx, fy, s, f"rows {lo}-{hi - 1}", options,
                                     key=f"descent-shard-{options['token']}-{s}", **where))
    return futures


def placement(client: Any, s: int) -> dict[str, Any]:
    """Spread the shards over the workers round robin, as a preference only: a shard
    whose worker is gone is rebuilt wherever the scheduler likes."""
    workers = sorted(client.scheduler_info()["workers"])
    if not workers:
        return {}
    return {"workers": [workers[s % len(workers)]], "allow_other_workers": True}


def _shard(X: Any, y: Any, s: int, where: str, options: dict[str, Any]) -> Shard:
    opts = {k: v for k, v in options.items() if k != "token"}
    return make_shard(X, y, shard=s, where=where, **opts)


def csv_shards(client: Any, paths: Path | Sequence[Path], target: str, n_shards: int,
               options: dict[str, Any], delimiter: str = ",") -> list[Any]:
    """Futures of Shards read from CSV files of numbers, `target` the column to predict.

    The files are cut into blocks of whole records (`descent.data.csv_blocks`), and the
    blocks into `n_shards` runs of neighbours; each shard's task reads its blocks itself.
    """
    from descent.data.csv_blocks import index_csv_blocks

    if not isinstance(target, str):
        raise TypeError("with CSV files, y must be the name of the target column")
    files = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    blocks = [b for p in files for b in index_csv_blocks(p, delimiter=delimiter).blocks]
    if len(blocks) < n_shards:  # small files: cut finer
        size = max(1, sum(b.stop - b.start for b in blocks) // (4 * n_shards))
        blocks = [b for p in files
                  for b in index_csv_blocks(p, block_bytes=size, delimiter=delimiter).blocks]
    if len(blocks) < n_shards:
        raise DataError(f"{', '.join(map(str, files))}: too few rows for {n_shards} shards; "
                        f"pass shards={max(1, len(blocks))}")
    groups = np.array_split(np.arange(len(blocks)), n_shards)
    return [client.submit(_csv_shard, [blocks[i] for i in g], target, s, delimiter, options,
                          key=f"descent-shard-{options['token']}-{s}", **placement(client, s))
            for s, g in enumerate(groups)]


def _csv_shard(blocks: list[Any], target: str, s: int, delimiter: str,
               options: dict[str, Any]) -> Shard:
    from descent.data.csv_blocks import read_csv_block

    tables = [read_csv_block(b, delimiter=delimiter) for b in blocks]
    X_parts, y_parts = [], []
    for t in tables:
        if target not in t.values:
            raise DataError(f"{t.source}: no target column {target!r}; the columns are "
                            f"{', '.join(map(repr, t.columns))}")
        names = [c for c in t.columns if c != target]
        text = [c for c in names if t.kinds[c] != "numeric"]
        if text:
            raise DataError(f"{t.source}, column {text[0]!r}: text, not numbers; "
                            "ds.distributed.fit reads CSV files of numbers (`descent train "
                            "--cluster` encodes text columns)")
        X_parts.append(np.column_stack([t.values[c] for c in names]))
        y_parts.append(t.values[target])
    where = f"{blocks[0].path}, lines {blocks[0].first_line}-"
    return _shard(np.concatenate(X_parts), np.concatenate(y_parts), s, where, options)
