"""`fit` on a Dask cluster: synchronous data-parallel gradient descent, driver and workers.

The driver keeps what is small (the model, the optimizer and its state, the history, the
callbacks); the workers keep the rows, as `n_shards` logical shards (shards.py). Each
round:
  1. the flat weights go out once (one small task that workers fetch from each other);
  2. one task per shard computes the gradient and loss sums of its part of the batch
     (step.py: the compiled MLP step, or the engine);
  3. a fixed tree of tasks adds the parts (`tree_sum`), in an order set by the shard
     numbers only;
  4. the driver divides by the batch size and takes one optimizer step.
That is the large-batch step of one machine (up to the order of additions), and it is the
same bit for bit whatever the number of workers. A worker that dies takes its shards and
its tasks with it; Dask rebuilds them from their sources and runs the round's lost tasks
again, so the round's sums, and the run, come out the same.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np

from descent.distributed.cluster import ClusterError, cluster_gone
from descent.distributed.shards import Shard, batch_rows
from descent.distributed.sources import array_shards, csv_shards, is_csv_source, placement
from descent.distributed.step import (
    Partial,
    add_partials,
    flat_weights,
    mean_gradient,
    part_gradient,
    tree_sum,
)
from descent.errors import DivergenceError
from descent.nn import Loss, Module, get_loss
from descent.optim import Optimizer, get_optimizer
from descent.train import Callback, History, ModelCheckpoint, TrainingRun, evaluate
from descent.train.callbacks import CallbackList
from descent.train.divergence import DivergenceGuard
from descent.train.fit import CtrlC, model_dtype
from descent.train.progress import progress_callback

DEFAULT_SHARDS = 8
FAN_IN = 4


# ---- worker tasks (module-level functions: Dask ships them by name) ----------------------

def _shard_sizes(shard: Shard) -> tuple[int, int]:
    return shard.sizes()


def _shard_gradient(shard: Shard, w: np.ndarray, model: Module, token: str, loss: str,
                    entropy: int, s: int, epoch: int, r: int, rounds: int,
                    shuffle: bool) -> Partial:
    rows = batch_rows(len(shard.X), entropy, s, epoch, r, rounds, shuffle)
    return part_gradient(token, model, loss)(w, shard.X[rows], shard.y[rows])


def _shard_loss(shard: Shard, w: np.ndarray, model: Module, token: str, loss: str,
                part: str) -> tuple[float, int]:
    X, y = (shard.X, shard.y) if part == "train" else (shard.X_val, shard.y_val)
    return part_gradient(token, model, loss).loss_sum(w, X, y)


def _identity(value: Any) -> Any:
    return value


def _add(*parts: Partial) -> Partial:
    return add_partials(parts)


def _add_losses(*parts: tuple[float, int]) -> tuple[float, int]:
    return sum(p[0] for p in parts), sum(p[1] for p in parts)


# ---- the driver -------------------------------------------------------------------------

class _Cluster:
    """The Dask calls of one fit, each turning a lost scheduler into a ClusterError."""

    def __init__(self, client: Any, checkpoints: list[ModelCheckpoint]) -> None:
        self.client, self.checkpoints = client, checkpoints
        self.token = uuid.uuid4().hex[:12]

    def lost(self, error: BaseException, where: str) -> ClusterError:
        kept = [f"{cb.path} (epoch {cb.saved_epochs[-1] + 1})" for cb in self.checkpoints
                if cb.saved_epochs]
        note = (f"; the last checkpoint is kept: {', '.join(kept)}; continue with "
                f"resume=<checkpoint>" if kept else "; no checkpoint was written (pass "
                "callbacks=[ds.train.ModelCheckpoint(path)] to keep one)")
        lost = f"lost the Dask cluster {where} ({type(error).__name__}: {error})"
        return ClusterError(lost + note, lost)

    def call(self, where: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as error:
            # Whatever form the failure takes (a closed comm, a cancelled future, a client
            # whose scheduler handle is gone), a client that is no longer running means the
            # scheduler is lost; anything else is the task's own error.
            if self.gone():
                raise self.lost(error, where) from None
            raise

    def gone(self) -> bool:
        return cluster_gone(self.client)

    def send(self, value: Any, name: str, where: str) -> Any:
        """A future of `value`, sent once to the scheduler as a task that returns it:
        workers fetch it from each other, and if the one holding it dies, the scheduler
        runs the task again (scattered data would be lost with its worker)."""
        return self.call(where, self.client.submit, _identity, value,
                         key=f"descent-{name}-{self.token}")


def fit(
    model: Module,
    X: Any,
    y: Any = None,
    *,
    client: Any = None,
    loss: str | Loss = "mse",
    optimizer: str | Optimizer = "adam",
    lr: float | None = None,
    epochs: int = 10,
    batch_size: int = 1024,
    shuffle: bool = True,
    validation_split: float = 0.0,
    validation_data: tuple[Any, Any] | None = None,
    callbacks: Sequence[Callback] = (),
    seed: int | None = None,
    verbose: bool | int = True,
    resume: str | None = None,
    shards: int = DEFAULT_SHARDS,
    delimiter: str = ",",
) -> History:
    """Train `model` on rows that stay on a Dask cluster; returns the History, as `ds.fit`.

    X, y: Dask arrays (or NumPy arrays, cut into shards and sent out), X (N, n_features)
    and y (N,) or (N, k), or class indices for "cross_entropy"; or a Dask DataFrame X and
    y the target column's name; or a CSV path (or list of paths) of numbers and y the
    target column's name. `client`: a `distributed.Client` (default: the current one).

    Each epoch visits every training row once in rounds of about `batch_size` rows drawn
    from all `shards` shards (see the module doc); each round is one synchronous step of
    the optimizer on the whole batch's mean gradient. `shards` fixes the cut of the rows
    and the random streams: the same seed and shards give the same weights bit for bit on
    1, 2 or 100 workers. Options and callbacks are those of `ds.fit` (EarlyStopping,
    ModelCheckpoint, `resume=`, progress); `validation_split` holds out that share of each
    shard's rows (its own stream), whose loss is logged as "val_loss"; `validation_data`
    (NumPy) is evaluated on the driver. Raises ClusterError when the scheduler is lost,
    naming the last checkpoint, which is kept.

    >>> import numpy as np, dask.array as da, descent as ds
    >>> from descent.distributed import connect, close
    >>> client = connect("local:2", processes=False)
    >>> X = da.from_array(np.random.default_rng(0).normal(size=(400, 3)), chunks=100)
    >>> y = X.sum(axis=1)
    >>> net = ds.nn.MLP([3, 8, 1], seed=0)
    >>> h = ds.distributed.fit(net, X, y, client=client, epochs=5, batch_size=100,
    ...                        lr=0.01, seed=0, verbose=False)
    >>> h["loss"][-1] < h["loss"][0]
    True
    >>> close(client)
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be a whole number >= 0, got {epochs!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive whole number, got {batch_size!r}")
    if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
        raise ValueError(f"shards must be a positive whole number, got {shards!r}")
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
    if client is None:
        from distributed import get_client

        client = get_client()
    loss_fn = get_loss(loss)
    dtype = model_dtype(model)
    if resume is not None:  # the checkpoint's seed gives back the same shard streams
        from descent.train.checkpoint import checkpoint_seed

        seed = checkpoint_seed(resume)
    seed_seq = np.random.SeedSequence(seed)
    entropy = int(seed_seq.entropy)
    opt = optimizer if isinstance(optimizer, Optimizer) else get_optimizer(
        optimizer, model.parameters(), **({} if lr is None else {"lr": lr}))
    if isinstance(optimizer, Optimizer) and lr is not None:
        opt.lr = lr
    history = History()
    run = TrainingRun(model, opt, loss_fn, history, np.random.default_rng(seed_seq), entropy)
    user_callbacks = list(callbacks)
    cluster = _Cluster(client, [cb for cb in user_callbacks if isinstance(cb, ModelCheckpoint)])
    first_epoch = 0
    if resume is not None:
        from descent.train.checkpoint import load_checkpoint

        first_epoch = load_checkpoint(resume, run, user_callbacks)

    options = {"dtype": dtype.name, "loss": loss_fn.name, "entropy": entropy,
               "validation_split": validation_split, "token": cluster.token}
    if hasattr(X, "shard_futures"):  # a source that cuts itself (big_table.TableShards)
        shard_futures = cluster.call("loading the shards", X.shard_futures, client, shards,
                                     options)
    elif is_csv_source(X):
        shard_futures = cluster.call("reading the CSV files", csv_shards, client, X, y, shards,
                                     options, delimiter)
    else:
        shard_futures = cluster.call("cutting the arrays into shards", array_shards, client, X,
                                     y, shards, options)
    sizes = cluster.call("loading the shards", client.gather,
                         [client.submit(_shard_sizes, f, key=f"descent-sizes-{cluster.token}-{s}")
                          for s, f in enumerate(shard_futures)])
    n_train = sum(a for a, _ in sizes)
    n_val = sum(b for _, b in sizes)
    if n_train == 0:
        raise ValueError("no training rows")
    X_val = y_val = None
    if validation_data is not None:
        from descent.data.arrays import as_float_matrix
        from descent.train.fit import fit_target

        X_val = as_float_matrix(validation_data[0], "validation X").astype(dtype, copy=False)
        y_val = fit_target(validation_data[1], loss_fn, dtype, len(X_val))
    rounds = math.ceil(n_train / batch_size)
    # Each shard's tasks run where the shard was put (if that worker is still there): the
    # rows never move, only the weights and the sums do.
    where_shard = [placement(client, s) for s in range(len(shard_futures))]
    template = cluster.send(model, "model", "sending the model")
    display = progress_callback(epochs, rounds, verbose)
    run.callbacks = user_callbacks + ([display] if display else [])
    hooks = CallbackList(run.callbacks, run)
    batch_hooks = any(type(cb).on_batch_begin is not Callback.on_batch_begin
                      or type(cb).on_batch_end is not Callback.on_batch_end
                      for cb in run.callbacks)
    params = model.parameters()

    def round_sums(epoch: int, r: int) -> Partial:
        where = f"in epoch {epoch + 1}, round {r + 1}"
        w = cluster.send(flat_weights(model), f"w-{epoch}-{r}", where)
        parts = [client.submit(_shard_gradient, shard, w, template, cluster.token,
                               loss_fn.name, entropy, s, epoch, r, rounds, shuffle,
                               key=f"descent-grad-{cluster.token}-{epoch}-{r}-{s}",
                               **where_shard[s])
                 for s, shard in enumerate(shard_futures)]
        level = iter(range(10**9))
        total = tree_sum(parts, FAN_IN, lambda xs: client.submit(
            _add, *xs, key=f"descent-add-{cluster.token}-{epoch}-{r}-{next(level)}"))
        return cluster.call(where, total.result)

    def val_loss(epoch: int) -> float:
        where = f"evaluating epoch {epoch + 1}"
        w = cluster.send(flat_weights(model), f"wv-{epoch}", where)
        parts = [client.submit(_shard_loss, shard, w, template, cluster.token, loss_fn.name,
                               "val", key=f"descent-val-{cluster.token}-{epoch}-{s}",
                               **where_shard[s])
                 for s, shard in enumerate(shard_futures)]
        level = iter(range(10**9))
        total = tree_sum(parts, FAN_IN, lambda xs: client.submit(
            _add_losses, *xs, key=f"descent-vadd-{cluster.token}-{epoch}-{next(level)}"))
        c, n = cluster.call(where, total.result)
        return c / n

    # The rows are on the workers: the guard's reference is the first round's loss.
    guard = DivergenceGuard(model, None, opt.lr)
    model.train()
    hooks.on_train_begin({})
    try:
        with CtrlC(run), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for epoch in range(first_epoch, epochs):
                run.epoch = epoch
                hooks.on_epoch_begin(epoch, {})
                total_loss, seen, done = 0.0, 0, 0
                for r in range(rounds):
                    if batch_hooks:
                        hooks.on_batch_begin(r, {})
                    sums = round_sums(epoch, r)
                    g, value = mean_gradient(sums)
                    guard.batch(value, epoch, r, opt.lr)
                    start = 0
                    for p in params:
                        p.grad = g[start:start + p.data.size].reshape(p.data.shape)
                        start += p.data.size
                    opt.step()
                    total_loss += sums[1]
                    seen += sums[2]
                    done += 1
                    if batch_hooks:
                        hooks.on_batch_end(r, {"loss": value})
                    if run.interrupt_requested:
                        break
                if run.interrupt_requested and done < rounds:
                    history.interrupted = True
                    break
                guard.epoch_end(total_loss / max(seen, 1), epoch, rounds)
                logs = {"loss": total_loss / max(seen, 1), "lr": opt.lr}
                if n_val:
                    logs["val_loss"] = val_loss(epoch)
                if X_val is not None:
                    logs.update(evaluate(model, X_val, y_val, loss_fn, (), "val_"))
                history.record(epoch, logs)
                hooks.on_epoch_end(epoch, logs)
                if run.interrupt_requested:
                    history.interrupted = True
                    break
                if run.stop_training:
                    break
    except DivergenceError:
        guard.restore()  # the last good weights, not the ones that blew up
        raise
    hooks.on_train_end(history.last())
    model.eval()
    return history
