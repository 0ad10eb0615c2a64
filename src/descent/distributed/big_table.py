"""`descent train` for a CSV larger than memory, on this machine (streaming) or on a Dask
cluster; the model file is a `TabularModel`, the same as a one-machine model's.

Both ways:
  1. cut the file into blocks of whole records (`descent.data.csv_blocks`); infer the
     schema (how each column is read, as `descent train` does in memory) and the task from
     the first block;
  2. a statistics pass: each block's training rows summarized, the summaries merged into
     the encoder and scalers (table_stats.py); on a cluster, one task per block; filling
     gaps with medians (the default, as in memory) takes one more pass to find each
     numeric feature's exact median (medians.py);
  3. training, the recipe's network and optimizer, early stopping on the validation loss:
     - streaming: a second pass encodes each block once into a binary cache in a temporary
       folder (deleted afterwards); every epoch reads the training blocks in a shuffled
       order and the rows of each block shuffled (both seeded), one block in memory at a
       time, and steps with `descent.fit` on it (the compiled step);
     - cluster: the blocks become the shards of `descent.distributed.fit`, encoded on the
       workers, held there; rounds of `batch_size` rows from every shard;
  4. a scoring pass with sums that add (scores.py): train, validation and test scores next
     to the baseline, as `descent train` prints them.

Memory on the driver is bounded by one block (streaming) or by the summaries and the
model (cluster), not by the file.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from descent.data.csv_blocks import DEFAULT_BLOCK_BYTES, CsvBlock, index_csv_blocks
from descent.data.table_cache import TableCache
from descent.distributed.cluster import on_cluster
from descent.distributed.medians import MedianFinder
from descent.distributed.scores import ScoreSums
from descent.distributed.table_stats import (
    Summary,
    TableSpec,
    as_dicts,
    block_parts,
    encode_block,
    first_block_spec,
    fit_preprocessing,
    from_dicts,
    median_scan,
    median_scan_table,
    read_block,
    summarize_block,
    summarize_table,
    target_labels,
)
from descent.nn import get_loss
from descent.tabular.model import TabularModel
from descent.tabular.recipe import Recipe, build_network
from descent.tabular.report import SplitScores
from descent.tabular.training import make_optimizer
from descent.train import Callback, EarlyStopping, History, TrainingRun, fit, predict_array
from descent.train.callbacks import CallbackList
from descent.train.progress import progress_callback

PARTS = ("train", "validation", "test")
# The batch size `--cluster` uses when the recipe's is the small default: a round per 32
# rows would spend its time in messages (docs/distributed.md).
CLUSTER_BATCH_SIZE = 4096


@dataclass
class BigTrainResult:
    """What `train_big_table` returns: as `TrainResult`, with row counts per part."""

    model: TabularModel
    history: History
    rows: dict[str, int]
    scores: list[SplitScores]
    recipe: Recipe
    seconds: float
    notes: list[str] = field(default_factory=list)


def _seed_of(seed: int, *key: int) -> int:
    return int(np.random.SeedSequence(seed, spawn_key=key).generate_state(1)[0])


def _callbacks(recipe: Recipe, with_validation: bool) -> list[Callback]:
    """The stopping rule of `train_network`: validation loss, else training loss."""
    if with_validation and recipe.early_stopping:
        return [EarlyStopping("val_loss", patience=recipe.patience, min_delta=recipe.tol,
                              restore_best_weights=True)]
    return [EarlyStopping("loss", patience=recipe.patience, min_delta=recipe.tol,
                          restore_best_weights=False)]


def train_big_table(
    path: str | os.PathLike,
    target: str,
    *,
    features: list[str] | None = None,
    task: str = "auto",
    recipe: Recipe | None = None,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
    verbose: bool | int = True,
    client: Any = None,
    block_bytes: int | None = None,
    shards: int | None = None,
    delimiter: str = ",",
    kinds: dict[str, str] | None = None,
    missing: str = "median",
    unknown: str = "ignore",
    save_best: Callable[[TabularModel, int], None] | None = None,
) -> BigTrainResult:
    """Train a TabularModel on the CSV at `path` without reading it whole; see the module
    doc. With `client` (a `distributed.Client`) the work runs on that Dask cluster, else
    here, streaming. Options as `descent.tabular.table_training.train_table` (`missing`:
    "median", "mean" or "error"; `kinds` overrides the schema's kinds). `block_bytes`:
    the size of a block (default `DEFAULT_BLOCK_BYTES`, 16 MiB). `save_best(model, epoch)`
    is called at the end of every epoch whose monitored loss (validation, else training)
    is the best so far, so that a run cut short keeps its last good model. Raises
    ClusterError when the cluster is lost, naming the pass or the round.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("x,y\\n" + "".join(f"{i % 7},{i / 7}\\n" for i in range(60)))
    >>> r = train_big_table(p, "y", recipe=Recipe(epochs=2), verbose=False, block_bytes=200)
    >>> r.rows["train"] + r.rows["validation"] + r.rows["test"], r.model.task
    (60, 'regression')
    """
    display = os.fspath(path)
    blocks = index_csv_blocks(display, block_bytes=block_bytes or DEFAULT_BLOCK_BYTES,
                              delimiter=delimiter).blocks
    spec = first_block_spec(blocks, target, task, features, val_fraction, test_fraction,
                            seed, delimiter, kinds=kinds, missing=missing, unknown=unknown)
    # Streaming, the typed blocks of the first pass are kept in a binary file: the later
    # passes read them back instead of parsing the text again.
    typed = TableCache() if client is None else None
    try:
        return _train(blocks, spec, display, recipe, seed, verbose, client, shards, typed,
                      save_best)
    finally:
        if typed is not None:
            typed.close()


def _train(blocks: list[CsvBlock], spec: TableSpec, display: str, recipe: Recipe | None,
           seed: int, verbose: bool | int, client: Any, shards: int | None,
           typed: TableCache | None,
           save_best: Callable[[TabularModel, int], None] | None) -> BigTrainResult:
    summary = Summary()
    if typed is None:
        for part in _each_block(client, summarize_block, blocks, spec, "stats"):
            summary = summary + part  # added in block order: the same every time
    else:
        for i, block in enumerate(blocks):
            table = read_block(block, spec)
            typed.append(table)
            summary = summary + summarize_table(table, spec, i)
    medians = None
    if spec.missing == "median":
        finder = MedianFinder(summary.tops)
        while finder.pending():  # one pass over the file, seldom more (medians.py)
            plan = finder.plan()
            if typed is None:
                for found in _each_block(client, median_scan, blocks, spec, "median", plan):
                    finder.add(found)
            else:
                for i in range(len(blocks)):
                    finder.add(median_scan_table(typed.read(i), spec, i, plan))
            finder.finish()
        medians = finder.medians()
    encoder, x_scaler, y_scaler = fit_preprocessing(summary, spec, display, medians)
    recipe = (recipe or Recipe()).checked(spec.task)
    n_out = 1 if spec.task == "regression" else len(encoder.classes_ or [])
    init_seed, fit_seed = np.random.SeedSequence(seed).spawn(2)
    network = build_network(encoder.n_features_, n_out, recipe, np.random.default_rng(init_seed))
    model = TabularModel(network, encoder, x_scaler, y_scaler, spec.task, recipe.loss or "mse",
                         spec.schema)
    prep = as_dicts(encoder, x_scaler, y_scaler)
    baseline = _baseline(model, summary, spec)
    fit_entropy = int(fit_seed.generate_state(1)[0])
    start = time.perf_counter()
    extra = [] if save_best is None else [_SaveBest(model, save_best)]
    if client is None:
        assert typed is not None
        history, scores, notes = _stream(model, blocks, spec, prep, recipe, fit_entropy,
                                         verbose, baseline, extra, typed)
    else:
        history, scores, notes = _on_cluster(model, blocks, spec, prep, recipe, fit_entropy,
                                             verbose, client, shards, baseline, extra)
    seconds = time.perf_counter() - start
    return BigTrainResult(model, history, dict(summary.rows), scores, recipe, seconds, notes)


def _each_block(client: Any, f: Any, blocks: list[CsvBlock], spec: TableSpec, name: str,
                *extra: Any) -> Any:
    """f(block, spec, index, *extra) for every block, in block order: here one at a time,
    or as tasks on the cluster."""
    if client is None:
        for i, block in enumerate(blocks):
            yield f(block, spec, i, *extra)
        return
    n = len(blocks)
    where = {"stats": "in the statistics pass", "median": "in the median pass"}.get(name, name)
    futures = on_cluster(client, where, client.map, f, blocks, [spec] * n, range(n),
                         *[[e] * n for e in extra],
                         key=[f"descent-{name}-{os.getpid()}-{time.time_ns()}-{i}"
                              for i in range(n)])
    yield from on_cluster(client, where, client.gather, futures)


class _SaveBest(Callback):
    """Hands the model to `save` at the end of every epoch whose monitored loss (the
    validation loss, else the training loss) is the lowest so far."""

    def __init__(self, model: TabularModel, save: Callable[[TabularModel, int], None]) -> None:
        self.model, self.save = model, save
        self.best = math.inf

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        value = logs.get("val_loss", logs.get("loss", math.nan))
        if value < self.best:
            self.best = value
            self.save(self.model, epoch)


# ---- one machine, streaming ---------------------------------------------------------------

class _BlockCache:
    """Encoded blocks in binary files, one pair (X, y) per part; one block in memory at a
    time. The files have no name (O_TMPFILE, or unlinked as soon as made): the system frees
    them when the process ends, however it ends, so even a killed run leaves nothing behind
    in the temporary folder (the cache of a large file is as large as the file)."""

    def __init__(self, n_features: int, y_dtype: np.dtype) -> None:
        self.d, self.y_dtype = n_features, np.dtype(y_dtype)
        self.files = {p: (tempfile.TemporaryFile("w+b", prefix="descent-stream-"),
                          tempfile.TemporaryFile("w+b", prefix="descent-stream-"))
                      for p in PARTS}
        self.index: dict[str, list[tuple[int, int]]] = {p: [] for p in PARTS}  # (row, n)
        self.rows = dict.fromkeys(PARTS, 0)

    def write(self, part: str, X: np.ndarray, y: np.ndarray) -> None:
        if not len(X):
            return
        fx, fy = self.files[part]
        fx.write(np.ascontiguousarray(X, np.float64).tobytes())
        fy.write(np.ascontiguousarray(y, self.y_dtype).tobytes())
        self.index[part].append((self.rows[part], len(X)))
        self.rows[part] += len(X)

    def read(self, part: str, i: int) -> tuple[np.ndarray, np.ndarray]:
        row, n = self.index[part][i]
        fx, fy = self.files[part]
        fx.seek(row * self.d * 8)
        X = np.frombuffer(fx.read(n * self.d * 8), np.float64).reshape(n, self.d).copy()
        fy.seek(row * self.y_dtype.itemsize)
        y = np.frombuffer(fy.read(n * self.y_dtype.itemsize), self.y_dtype).copy()
        return X, y

    def close(self) -> None:
        for fx, fy in self.files.values():
            fx.close()
            fy.close()


def _stream(model: TabularModel, blocks: list[CsvBlock], spec: TableSpec,
            prep: dict[str, Any], recipe: Recipe, entropy: int, verbose: bool | int,
            baseline: Any, extra: list[Callback], typed: TableCache) -> tuple[
                History, list[SplitScores], list[str]]:
    encoder, x_scaler, y_scaler = from_dicts(prep)
    classification = spec.task == "classification"
    cache = _BlockCache(encoder.n_features_, np.int64 if classification else np.float64)
    try:
        for i in range(len(blocks)):  # encode every block once
            table = typed.read(i)
            parts = block_parts(table, spec, i, target_labels(table, spec))
            for part in PARTS:
                if len(parts[part]):
                    X, _, y = encode_block(table, parts[part], encoder, x_scaler, y_scaler)
                    cache.write(part, X, y)
            del table
        typed.close()  # the typed blocks are not needed again: their disk space goes
        history = _stream_epochs(model, cache, recipe, entropy, verbose, extra)
        scores = _stream_scores(model, cache, baseline)
    finally:
        cache.close()
    many = f"{len(blocks)} blocks" if len(blocks) != 1 else "1 block"
    return history, scores, [f"trained streaming: {many} of the file, one in memory at a time"]


def _network_target(model: TabularModel, y: np.ndarray) -> np.ndarray:
    return y if model.y_scaler is None else model.y_scaler.transform(y)


def _stream_epochs(model: TabularModel, cache: _BlockCache, recipe: Recipe, entropy: int,
                   verbose: bool | int, extra: list[Callback]) -> History:
    net, loss = model.network, get_loss(recipe.loss or "mse")
    opt = make_optimizer(net, recipe)
    history = History()
    run = TrainingRun(net, opt, loss, history, np.random.default_rng(entropy), entropy)
    n_val = len(cache.index["validation"])
    batch_size = recipe.batch(sum(n for _, n in cache.index["train"]))
    batches = sum(math.ceil(n / batch_size) for _, n in cache.index["train"])
    display = progress_callback(recipe.epochs, batches, verbose)
    run.callbacks = _callbacks(recipe, n_val > 0) + extra + ([display] if display else [])
    hooks = CallbackList(run.callbacks, run)
    hooks.on_train_begin({})
    for epoch in range(recipe.epochs):
        run.epoch = epoch
        hooks.on_epoch_begin(epoch, {})
        order = np.random.default_rng([entropy, epoch]).permutation(len(cache.index["train"]))
        total, seen = 0.0, 0
        for i in order:
            X, y = cache.read("train", int(i))
            h = fit(net, X, _network_target(model, y), loss=loss, optimizer=opt, epochs=1,
                    batch_size=batch_size, shuffle=recipe.shuffle,
                    seed=_seed_of(entropy, epoch, int(i)), verbose=False)
            total += h["loss"][0] * len(X)
            seen += len(X)
        logs = {"loss": total / max(seen, 1), "lr": opt.lr}
        if n_val:
            c = 0.0
            for i in range(n_val):
                X, y = cache.read("validation", i)
                from descent.train import evaluate

                c += evaluate(net, X, _network_target(model, y), loss, ())["loss"] * len(X)
            logs["val_loss"] = c / cache.rows["validation"]
        history.record(epoch, logs)
        hooks.on_epoch_end(epoch, logs)
        if run.stop_training:
            break
    hooks.on_train_end(history.last())
    net.eval()
    return history


def _stream_scores(model: TabularModel, cache: _BlockCache, baseline: Any) -> list[
        SplitScores]:
    scores = []
    for part in PARTS:
        if not cache.index[part]:
            continue
        sums = ScoreSums(model.task)
        for i in range(len(cache.index[part])):
            X, y = cache.read(part, i)
            sums.add(y, _predictions(model, X), baseline)
        scores.append(sums.scores(part))
    return scores


def _predictions(model: TabularModel, X: np.ndarray) -> np.ndarray:
    p = model.predict_outputs(predict_array(model.network, X))
    return p.values if model.task == "regression" else p.probabilities


def _baseline(model: TabularModel, summary: Summary, spec: TableSpec) -> Any:
    """What the baseline predicts: the training targets' mean (regression; the y scaler's
    mean), or the training class shares, from the statistics pass's class counts."""
    if model.task == "regression":
        assert model.y_scaler is not None
        return float(model.y_scaler.mean_[0])
    from descent.data.columns import build_table

    counts = dict(summary.target or {})
    labels = build_table([spec.target], [[str(v)] for v in counts], np.arange(len(counts)),
                         path=None, kinds={spec.target: summary.kinds[spec.target]})
    index = model.encoder.transform_target(labels)
    shares = np.zeros(len(model.classes or []))
    np.add.at(shares, index, list(counts.values()))
    return shares / shares.sum()


# ---- on a Dask cluster --------------------------------------------------------------------

class TableShards:
    """The blocks of a CSV as the shards of `descent.distributed.fit`: each shard's task
    reads its blocks, encodes and scales them with the fitted preprocessing (sent as JSON
    data, not pickled objects), and keeps the training and validation rows."""

    def __init__(self, blocks: list[CsvBlock], spec: TableSpec, prep: dict[str, Any]) -> None:
        self.blocks, self.spec, self.prep = blocks, spec, prep

    def shard_futures(self, client: Any, n_shards: int, options: dict[str, Any]) -> list[Any]:
        from descent.distributed.sources import placement

        groups = np.array_split(np.arange(len(self.blocks)), min(n_shards, len(self.blocks)))
        return [client.submit(_table_shard, [(int(i), self.blocks[i]) for i in g], self.spec,
                              self.prep, options["dtype"],
                              key=f"descent-shard-{options['token']}-{s}",
                              **placement(client, s))
                for s, g in enumerate(groups)]


def _table_shard(blocks: list[tuple[int, CsvBlock]], spec: TableSpec, prep: dict[str, Any],
                 dtype: str) -> Any:
    from descent.distributed.shards import Shard

    encoder, x_scaler, y_scaler = from_dicts(prep)
    parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"train": [], "validation": []}
    for i, block in blocks:
        table = read_block(block, spec)
        rows = block_parts(table, spec, i, target_labels(table, spec))
        for part in parts:
            if len(rows[part]):
                X, y_net, _ = encode_block(table, rows[part], encoder, x_scaler, y_scaler)
                parts[part].append((X.astype(dtype), y_net))

    def stack(part: str) -> tuple[np.ndarray, np.ndarray]:
        if not parts[part]:
            y_dtype = np.float64 if y_scaler is not None else np.int64
            return np.zeros((0, encoder.n_features_), dtype), np.zeros(0, y_dtype)
        return (np.ascontiguousarray(np.concatenate([x for x, _ in parts[part]])),
                np.concatenate([y for _, y in parts[part]]))

    return Shard(*stack("train"), *stack("validation"))


def _block_scores(block: CsvBlock, index: int, spec: TableSpec, prep: dict[str, Any],
                  model: TabularModel, baseline: Any) -> dict[str, ScoreSums]:
    """Score sums of one block's train, validation and test rows."""
    table = read_block(block, spec)
    rows = block_parts(table, spec, index, target_labels(table, spec))
    out = {}
    for part in PARTS:
        out[part] = sums = ScoreSums(model.task)
        if len(rows[part]):
            X, _, y = encode_block(table, rows[part], model.encoder, model.x_scaler,
                                   model.y_scaler)
            sums.add(y, _predictions(model, X), baseline)
    return out


def _on_cluster(model: TabularModel, blocks: list[CsvBlock], spec: TableSpec,
                prep: dict[str, Any], recipe: Recipe, entropy: int, verbose: bool | int,
                client: Any, shards: int | None, baseline: Any,
                extra: list[Callback]) -> tuple[History, list[SplitScores], list[str]]:
    from descent.distributed.fit import DEFAULT_SHARDS
    from descent.distributed.fit import fit as distributed_fit

    notes = []
    batch_size = recipe.batch_size
    if batch_size == Recipe().batch_size:
        batch_size = CLUSTER_BATCH_SIZE
        notes.append(f"on the cluster each round takes a batch of {batch_size} rows (pass "
                     "--batch-size to choose)")
    workers = len(on_cluster(client, "before training", client.scheduler_info)["workers"])
    n_shards = shards or max(DEFAULT_SHARDS, workers)
    net = model.network
    history = distributed_fit(
        net, TableShards(blocks, spec, prep), client=client, loss=recipe.loss or "mse",
        optimizer=make_optimizer(net, recipe), epochs=recipe.epochs, batch_size=batch_size,
        callbacks=_callbacks(recipe, spec.val_fraction > 0) + extra, seed=entropy,
        verbose=verbose,
        shards=n_shards)
    # Score every block on the workers; the sums come back and add up in block order.
    where = "in the scoring pass, after training"
    n = len(blocks)
    futures = on_cluster(client, where, client.map, _block_scores, blocks, range(n),
                         [spec] * n, [prep] * n, [model] * n, [baseline] * n,
                         key=[f"descent-score-{os.getpid()}-{time.time_ns()}-{i}"
                              for i in range(n)])
    results = on_cluster(client, where, client.gather, futures)
    notes.append(f"trained on the cluster: {n_shards} shards over {workers} workers")
    scores = []
    for part in PARTS:
        total = ScoreSums(model.task)
        for block_sums in results:  # in block order: the same sums every time
            total = total + block_sums[part]
        if total.n:
            scores.append(total.scores(part))
    return history, scores, notes
