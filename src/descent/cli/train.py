"""`descent train`: a CSV table in, a trained model file and honest scores out."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

import descent
from descent.cli.boundary import user_errors
from descent.cli.options import CLI_NAMES, Missing, Task, parse_names, parse_widths
from descent.cli.scores_table import scores_table
from descent.cli.train_big import big_mode, train_big
from descent.data import Table, load_windsor, read_csv
from descent.data.datasets import WINDSOR_TARGET
from descent.tabular import recipe as defaults
from descent.tabular.recipe import Recipe
from descent.tabular.table_training import TrainResult, train_table
from descent.tabular.training import recipe_summary

DEFAULT_OUT = Path("model.safetensors")
EMBEDDED = "embedded:windsor_housing.csv"

EPILOG = """Examples:

  descent train

  descent train houses.csv --target price --hidden 32,16 --plots plots/

  descent train iris.csv --target species --out iris.safetensors

  descent train big.csv --target price --cluster local:4

  descent train --images --plots plots/          # the shipped cats and dogs

  descent train pets/ --out pets.safetensors      # pets/cat/*.png, pets/dog/*.png, ...

With no CSV it trains on the embedded Windsor house-price data (546 houses, target price). \
Text columns are encoded (yes/no as 1/0, other text one-hot) and the encoding is stored in \
the model file with the scalers, so `descent predict` needs only the model and a CSV.

Given a folder (one sub-folder of pictures per class) or --images, it trains the default \
convolutional network (LeNet-5 style) on the pictures instead, with random flips, shifts \
and small turns of the training pictures (--no-augment: none); options left at their \
defaults then take the picture recipe's values: --epochs 40, --lr 0.001, --weight-decay \
0.0001, --batch-size 64, --patience 8, --val-fraction 0.1.
"""


def _describe(recipe: Recipe, n_in: int, n_out: int) -> str:
    widths = " → ".join(f"{w} {recipe.activation}" for w in recipe.hidden)
    layers = f"{n_in} → {widths} → {n_out}" if widths else f"{n_in} → {n_out} (linear)"
    stop = (f", early stopping (patience {recipe.patience})" if recipe.early_stopping else "")
    return (f"network {layers}; {recipe.optimizer} lr {recipe.lr:g}, weight decay "
            f"{recipe.weight_decay:g}, batch {recipe.batch_size}, up to {recipe.epochs} "
            f"epochs{stop}; loss {recipe.loss}")


def _stopped(result: TrainResult) -> str:
    h = result.history
    ran = f"{len(h)} epoch{'s' if len(h) != 1 else ''} in {result.seconds:.1f} s"
    if h.interrupted:
        return f"interrupted after {ran}"
    if h.best_epoch is not None:
        return (f"trained {ran}; kept the weights of epoch {h.best_epoch + 1}, the lowest "
                "validation loss")
    return f"trained {ran}"


def train(
    ctx: typer.Context,
    csv: Annotated[Path | None, typer.Argument(
        metavar="[CSV_OR_FOLDER]",
        help="CSV file with a header line, or a folder of pictures with one sub-folder per "
             "class; leave out to use the embedded Windsor house prices.",
        show_default=False)] = None,
    target: Annotated[str | None, typer.Option(
        "--target", "-t",
        help="The column to predict (default for the embedded data: price).")] = None,
    features: Annotated[str | None, typer.Option(
        "--features", help="Input columns, comma separated (default: every other "
                           "column).")] = None,
    task: Annotated[Task, typer.Option(
        "--task", help="auto decides by the target's values: text or a few whole numbers "
                       "mean classification.")] = Task.auto,
    hidden: Annotated[str | None, typer.Option(
        "--hidden", show_default=False,
        help="Hidden layer widths, e.g. 32,16, or none [default: 64 for regression, 128 for "
             "classification]")] = None,
    activation: Annotated[str | None, typer.Option(
        "--activation", show_default=False,
        help="tanh, relu, sigmoid, leaky_relu, scaled_tanh, identity [default: tanh for "
             "regression, relu for classification]")] = None,
    loss: Annotated[str | None, typer.Option(
        "--loss", help="mse, quadratic, mae, huber (regression); cross_entropy "
                       "(classification).")] = None,
    optimizer: Annotated[str, typer.Option(
        "--optimizer", help="adamw, adam, sgd, momentum, nesterov, rmsprop.")
    ] = defaults.DEFAULT_OPTIMIZER,
    lr: Annotated[float, typer.Option("--lr", help="Learning rate.")] = defaults.DEFAULT_LR,
    weight_decay: Annotated[float, typer.Option(
        "--weight-decay", help="Weight decay (decoupled for adamw).")
    ] = defaults.DEFAULT_WEIGHT_DECAY,
    epochs: Annotated[int, typer.Option(
        "--epochs", help="Most passes over the training rows.")] = defaults.DEFAULT_EPOCHS,
    batch_size: Annotated[int, typer.Option(
        "--batch-size", help="Rows per gradient step.")] = defaults.DEFAULT_BATCH_SIZE,
    patience: Annotated[int, typer.Option(
        "--patience", help="Epochs without validation improvement before stopping.")
    ] = defaults.DEFAULT_PATIENCE,
    val_fraction: Annotated[float, typer.Option(
        "--val-fraction", help="Share of rows held out for early stopping (0: none).")] = 0.2,
    test_fraction: Annotated[float, typer.Option(
        "--test-fraction", help="Share of rows held out for the final score (0: none).")
    ] = 0.2,
    seed: Annotated[int, typer.Option(
        "--seed", min=0, help="Seed for the split, the initial weights and the shuffling.")] = 0,
    missing: Annotated[Missing, typer.Option(
        "--missing", help="Missing cells: an error, or filled with a value learned from the "
                          "training rows.")] = Missing.error,
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Where to save the model.")] = DEFAULT_OUT,
    plots: Annotated[Path | None, typer.Option(
        "--plots", help="Folder for PNG plots: loss curves, predicted vs actual or confusion "
                        "matrix.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the final table.")] = False,
    cluster: Annotated[str | None, typer.Option(
        "--cluster", help="Train on Dask: local:4 (4 worker processes here) or a scheduler "
                          "address such as tcp://host:8786.", show_default=False)] = None,
    stream: Annotated[bool | None, typer.Option(
        "--stream/--no-stream", show_default=False,
        help="Read the CSV block by block instead of whole [default: when the file would "
             "not fit in memory]")] = None,
    images: Annotated[bool, typer.Option(
        "--images", help="Train on the shipped pictures of cats and dogs (2,000, 28x28).")
    ] = False,
    size: Annotated[str | None, typer.Option(
        "--size", show_default=False,
        help="Pictures: resize to this many pixels, 28 or HEIGHTxWIDTH (default: the most "
             "common size, at most 64 a side).")] = None,
    skip_bad: Annotated[bool, typer.Option(
        "--skip-bad", help="Pictures: skip unreadable or non-picture files (and count them) "
                           "instead of stopping.")] = False,
    augment: Annotated[bool, typer.Option(
        "--augment/--no-augment", help="Pictures: random flips, shifts and turns of the "
                                       "training pictures.")] = True,
) -> None:
    """Train a network on a CSV table (or a folder of pictures) and save it with its
    preprocessing.

    Splits the rows into training, validation (early stopping) and test parts, fits the
    encoder and scalers on the training rows only, trains, and prints R², MAE and RMSE
    (regression) or accuracy and log loss (classification) for every part next to a
    baseline that learns nothing (the mean, or the majority class).
    """
    console = Console(soft_wrap=True, highlight=False)  # whole lines in logs and pipes
    with user_errors():
        from descent.cli.train_images import refuse_picture_options, train_pictures

        if images or (csv is not None and csv.is_dir()):
            train_pictures(ctx, csv, dict(locals()))
            return
        refuse_picture_options(ctx)
        start = time.perf_counter()
        if not 0 <= val_fraction < 1:
            raise ValueError(f"--val-fraction must be in [0, 1), got {val_fraction}")
        if not 0 <= test_fraction < 1:
            raise ValueError(f"--test-fraction must be in [0, 1), got {test_fraction}")
        if val_fraction + test_fraction >= 1:
            raise ValueError(f"--val-fraction + --test-fraction must be below 1 to leave "
                             f"training rows, got {val_fraction} + {test_fraction}")
        if not out.parent.is_dir():  # say so now, not after training
            raise ValueError(f"--out {out}: the folder {out.parent} does not exist")
        if big_mode(csv, stream, cluster, missing.value, plots):
            assert csv is not None
            _train_big(console, csv, target, features, task, hidden, activation, loss,
                       optimizer, lr, weight_decay, epochs, batch_size, val_fraction,
                       test_fraction, patience, seed, cluster, out, quiet, start)
            return
        table, source, target = _load(csv, target, missing)
        recipe = Recipe(
            hidden=parse_widths(hidden), activation=activation, loss=loss, optimizer=optimizer,
            lr=lr, weight_decay=weight_decay, epochs=epochs, batch_size=batch_size,
            # --val-fraction 0: no validation part, so no early stopping (train_table holds
            # out the rows itself; the recipe's fraction is then unused)
            early_stopping=val_fraction > 0,
            validation_fraction=val_fraction if val_fraction > 0 else 0.2,
            patience=patience, names=CLI_NAMES,
        )
        if not quiet:
            console.print(f"descent train: {source}, {len(table)} rows → [bold]{target}[/]")
            if sys.stdout.isatty():
                console.print("[dim]Ctrl-C stops after the current batch and keeps the model[/]")
        result = train_table(
            table, target, features=parse_names(features), task=task.value, recipe=recipe,
            val_fraction=val_fraction, test_fraction=test_fraction, seed=seed,
            missing=missing.value, verbose=not quiet,
        )
        model = result.model
        sizes = {k: len(v) for k, v in result.splits.items()}
        if not quiet:
            console.print(_stopped(result))
            console.print(_describe(result.recipe, model.encoder.n_features_,
                                    model.network.sizes[-1]))
            for note in result.notes:
                console.print(f"note: {note}")
        baseline = ("the mean of the training targets" if model.task == "regression"
                    else "the majority class, with the training class shares")
        console.print(scores_table(result.scores, f"{target} ({model.task}): the model, and "
                                   f"a baseline that predicts {baseline}"))
        model.save(out, extra={
            "descent_version": descent.__version__,
            "data": EMBEDDED if csv is None else str(csv.resolve()),
            "rows": sizes, "seed": seed, "recipe": recipe_summary(result.recipe),
            "epochs_run": len(result.history), "best_epoch": result.history.best_epoch,
            "scores": {s.split: s.model for s in result.scores},
        })
        console.print(f"saved the model to {out}  (use it: descent predict {out} data.csv)")
        if plots is not None:
            from descent.cli.plots import write_training_plots

            files = write_training_plots(result, plots)
            console.print(f"plots in {plots}: {', '.join(Path(f).name for f in files)}")
        if not quiet:
            console.print(f"done in {time.perf_counter() - start:.1f} s")


def _train_big(console: Console, csv: Path, target: str | None, features: str | None,
               task: Task, hidden: str | None, activation: str | None, loss: str | None,
               optimizer: str, lr: float, weight_decay: float, epochs: int, batch_size: int,
               val_fraction: float, test_fraction: float, patience: int, seed: int,
               cluster: str | None, out: Path, quiet: bool, start: float) -> None:
    recipe = Recipe(hidden=parse_widths(hidden), activation=activation, loss=loss,
                    optimizer=optimizer, lr=lr, weight_decay=weight_decay, epochs=epochs,
                    batch_size=batch_size, early_stopping=val_fraction > 0,
                    validation_fraction=val_fraction if val_fraction > 0 else 0.2,
                    patience=patience, names=CLI_NAMES)
    result = train_big(console, csv, target, parse_names(features), task.value, recipe,
                       val_fraction, test_fraction, seed, cluster, quiet)
    model = result.model
    if not quiet:
        console.print(_describe(result.recipe, model.encoder.n_features_,
                                model.network.sizes[-1]))
    model.save(out, extra={
        "descent_version": descent.__version__, "data": str(csv.resolve()),
        "rows": result.rows, "seed": seed, "recipe": recipe_summary(result.recipe),
        "epochs_run": len(result.history), "best_epoch": result.history.best_epoch,
        "scores": {s.split: s.model for s in result.scores},
        "trained": "on a Dask cluster" if cluster else "streaming",
    })
    console.print(f"saved the model to {out}  (use it: descent predict {out} data.csv)")
    if not quiet:
        console.print(f"done in {time.perf_counter() - start:.1f} s")


def _load(csv: Path | None, target: str | None, missing: Missing) -> tuple[Table, str, str]:
    """The table, how to name its source, and the target column."""
    if csv is None:
        if missing is not Missing.error:
            raise ValueError("--missing applies to a CSV file; the embedded data has no gaps")
        return load_windsor(), "embedded Windsor house prices", target or WINDSOR_TARGET
    table = read_csv(csv, missing="error" if missing is Missing.error else "keep")
    if target is None:
        raise ValueError(f"--target is required with a CSV file: name the column to predict "
                         f"(the columns of {csv} are {', '.join(table.columns)})")
    return table, str(csv), target

