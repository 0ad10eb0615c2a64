"""`descent train` for tables beyond one machine's memory: `--stream` (here, one block at a
time) or `--cluster local:N | tcp://host:8786` (on Dask). The same scores table and the
same model file as a table trained in memory (descent.distributed.big_table)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console

from descent.cli.scores_table import schema_table, scores_table
from descent.tabular.recipe import Recipe


def big_mode(csv: Path | None, stream: bool | None, cluster: str | None, missing: str,
             plots: Path | None, cv: int | None = None) -> bool:
    """Whether to train out of memory: asked for, or the file is too big to read whole.
    With --cv (2 folds or more) and --cluster, the table is read whole and the folds run
    on the cluster instead. Raises ValueError naming the option that does not fit."""
    if cluster is None and stream is False:
        return False
    if cv is not None and cv >= 2:
        if stream:
            raise ValueError("--cv reads the table into memory; leave out --stream (with "
                             "--cluster the folds run on the cluster)")
        return False
    if csv is None:
        if cluster is not None or stream:
            raise ValueError("--stream and --cluster need a CSV file; the embedded data is "
                             "small")
        return False
    # (descent.tabular.limits, not descent.distributed: every `descent train` asks this,
    # and the distributed package is large)
    from descent.tabular.limits import should_stream

    wanted = cluster is not None or bool(stream) or should_stream(csv)
    if not wanted:
        return False
    how = "--cluster" if cluster is not None else "--stream" if stream else (
        f"{csv} is too big to read into memory, so it is streamed; this")
    if missing == "most_frequent":
        raise ValueError(f"{how} fills gaps with --missing median or mean (most_frequent "
                         "needs every number of a column in memory)"
                         + ("" if cluster or stream else ", or pass --no-stream"))
    if plots is not None:
        raise ValueError(f"{how} does not keep the rows that --plots draws; leave out "
                         "--plots")
    return True


@contextmanager
def fold_cluster(cluster: str | None) -> Iterator[Any]:
    """A `fold_map` for `train_table` that runs every fold as a task on the cluster (None
    without one: the folds run here, one after another); the cluster is closed after."""
    if cluster is None:
        yield None
        return
    from descent.distributed import close, connect

    client = connect(cluster)

    def fold_map(f: Any, plans: list[Any]) -> list[Any]:
        return client.gather(client.map(f, plans, pure=False))

    try:
        yield fold_map
    finally:
        close(client)


#: Options of `descent train` that a table in memory honours and --stream / --cluster do
#: not: (option name, flag, the value that is no change, why).
IN_MEMORY_ONLY = (
    ("output_activation", "--output-activation", "identity",
     "trains a network with an identity output (the target standardized)"),
    ("ensemble", "--ensemble", 1, "trains one network"),
    ("class_weight", "--class-weight", "none", "weighs every row the same"),
    ("refit", "--refit", False, "saves the evaluated model (as --no-refit does)"),
)


def refuse_in_memory_options(given: Any, how: str) -> None:
    """One line naming the first option given on the command line that --stream and
    --cluster would not honour. `given(name)` is the value the user typed, or None when
    the option was left at its default."""
    for name, flag, neutral, why in IN_MEMORY_ONLY:
        value = given(name)
        if value is not None and getattr(value, "value", value) != neutral:
            raise ValueError(f"{how} {why}; {flag} needs the table in memory: leave "
                             f"out {flag}" + ("" if how == "--cluster" else
                                               ", or pass --no-stream"))


def train_big(console: Console, csv: Path, target: str | None, features: list[str] | None,
              task: str, recipe: Recipe, val_fraction: float, test_fraction: float,
              seed: int, cluster: str | None, quiet: bool, *, delimiter: str = ",",
              kinds: dict[str, str] | None = None, missing: str = "median",
              unknown: str = "ignore", out: Path | None = None,
              save_extra: dict[str, Any] | None = None) -> Any:
    """Train, print the schema and the scores table; returns the BigTrainResult.

    With `out`, the model is saved there at the end of every epoch that is the best so
    far (with `save_extra` as its metadata), so that a run cut short, by a lost scheduler
    or a killed process, keeps its last good model; a lost cluster is one ClusterError
    that says what was kept."""
    from descent.distributed import ClusterError, close, connect
    from descent.distributed.big_table import train_big_table
    from descent.distributed.cluster import cluster_gone

    if target is None:
        from descent.data import read_csv_header

        raise ValueError(f"--target is required with a CSV file: name the column to predict "
                         f"(the columns of {csv} are {', '.join(read_csv_header(csv))})")
    saved: list[int] = []

    def save_best(model: Any, epoch: int) -> None:
        assert out is not None
        model.save(out, extra={**(save_extra or {}), "epochs_run": epoch + 1,
                               "checkpoint": f"the best model after epoch {epoch + 1} of a "
                                             "run that had not finished"})
        saved.append(epoch + 1)

    def kept() -> str:
        if saved:
            return (f"; the model of epoch {saved[-1]}, the best so far, is saved in {out} "
                    "(descent predict reads it)")
        return "; nothing was saved" + (f" ({out} is unchanged)" if out is not None
                                        and out.exists() else "")

    client = None if cluster is None else connect(cluster)
    try:
        if not quiet:
            where = f"on the Dask cluster {cluster}" if cluster else "streaming, block by block"
            console.print(f"descent train: {csv} → [bold]{target}[/], {where}")
        result = train_big_table(csv, target, features=features, task=task, recipe=recipe,
                                 val_fraction=val_fraction, test_fraction=test_fraction,
                                 seed=seed, verbose=not quiet, client=client,
                                 delimiter=delimiter, kinds=kinds, missing=missing,
                                 unknown=unknown,
                                 save_best=None if out is None else save_best)
    except ClusterError as error:
        raise ClusterError(error.lost + kept(), error.lost) from None
    except Exception as error:
        if client is None or not cluster_gone(client):
            raise
        lost = f"lost the Dask cluster {cluster} ({type(error).__name__}: {error})"
        raise ClusterError(lost + kept(), lost) from None
    finally:
        if client is not None:
            try:
                close(client)
            except Exception:  # noqa: BLE001 - a client whose scheduler is gone; said above
                pass
    model = result.model
    baseline = ("the mean of the training targets" if model.task == "regression"
                else "the majority class, with the training class shares")
    if not quiet:
        console.print(schema_table(model.schema, f"the columns of {csv} (read from its "
                                   "first block)"))
        for note in result.notes:
            console.print(f"note: {note}")
    console.print(scores_table(result.scores, f"{target} ({model.task}): the model, and "
                               f"a baseline that predicts {baseline}"))
    return result
