"""`descent train`: a CSV table in, a trained model file and honest scores out."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

import descent
from descent.cli.boundary import user_errors
from descent.cli.memory import release_large_frees
from descent.cli.options import (
    CLI_NAMES,
    ClassWeight,
    Missing,
    OutputActivation,
    Task,
    Unknown,
    check_fractions,
    given,
    parse_delimiter,
    parse_names,
    parse_widths,
    refuse_picture_options,
)
from descent.cli.outputs import check_outputs
from descent.cli.plots import PLOT_FILES
from descent.cli.scores_table import evaluation_table, per_class_table, schema_table, scores_table
from descent.cli.train_big import (
    big_mode,
    fold_cluster,
    refuse_in_memory_options,
    train_big,
)
from descent.data import Table, load_windsor, read_csv_header
from descent.data.csv_reader import sniff_delimiter
from descent.data.datasets import WINDSOR_TARGET
from descent.data.hints import command_line
from descent.data.schema import Schema, infer_schema
from descent.data.typed_csv import TypedCsv, read_typed_csv
from descent.tabular import recipe as defaults
from descent.tabular.recipe import Recipe
from descent.tabular.table_training import TrainResult, check_target, train_table
from descent.tabular.training import recipe_summary
from descent.train import History

DEFAULT_OUT = Path("model.safetensors")
EMBEDDED = "embedded:windsor_housing.csv"
#: Files with at most this many rows are evaluated by 5-fold cross-validation by default.
CV_ROWS = 5000

EPILOG = """Examples:

  descent train

  descent train houses.csv --target price --hidden 32,16 --plots plots/

  descent train iris.csv --target species --out iris.safetensors

  descent train export.csv --target churned --categorical zip --exclude notes --cv 10

  descent train big.csv --target price --cluster local:4

  descent train --images --plots plots/          # the shipped cats and dogs

  descent train pets/ --out pets.safetensors      # pets/cat/*.png, pets/dog/*.png, ...

With no CSV it trains on the embedded Windsor house-price data (546 houses, target price). \
Each column is read once and printed: numbers (also "26,000", "$1,200", "12%"), \
categories (also codes such as zip "02139"), yes/no, dates (year, month, weekday, days), \
and identifiers or free text, which are left out. Missing cells are filled with the \
training rows' median or most frequent value, with a missing-indicator feature. The \
network is scored by cross-validation (files up to 5,000 rows) or on a held-out test part, \
next to a linear model and a baseline, then refit on every row for the epochs validation \
chose; the reading, encoding and scalers are stored in the model file, so `descent \
predict` needs only the model and a CSV.

Given a folder (one sub-folder of pictures per class) or --images, it trains the default \
convolutional network (LeNet-5 style) on the pictures instead, with random flips, shifts \
and small turns of the training pictures (--no-augment: none); options left at their \
defaults then take the picture recipe's values: --epochs 40, --lr 0.001, --weight-decay \
0.0001, --batch-size 64, --patience 8, --val-fraction 0.1.
"""


def _describe(recipe: Recipe, n_in: int, n_out: int, n_rows: int) -> str:
    widths = " → ".join(f"{w} {recipe.activation}" for w in recipe.hidden)
    k = recipe.members(n_rows)
    out = n_out if recipe.output_activation in (None, "identity") else \
        f"{n_out} {recipe.output_activation}"
    layers = f"{n_in} → {widths} → {out}" if widths else f"{n_in} → {out} (linear)"
    stop = (f", early stopping (patience {recipe.patience})" if recipe.early_stopping else "")
    mean = f"the mean of {k} networks " if k > 1 else "network "
    return (f"{mean}{layers}; {recipe.optimizer} lr {recipe.lr:g}, weight decay "
            f"{recipe.weight_decay:g}, batch {recipe.batch(n_rows)}, up to {recipe.epochs} "
            f"epochs{stop}; loss {recipe.loss}")


def best_epoch(result: TrainResult) -> int | None:
    """The evaluated fit's best epoch, 1-based: the number the output, the model file and
    the estimators' `best_epoch_` all use."""
    h = result.evaluated_history
    return None if h is None or h.best_epoch is None else h.best_epoch + 1


def _stopped(result: TrainResult) -> str:
    h = result.evaluated_history or result.history
    ran = f"{len(h)} epoch{'s' if len(h) != 1 else ''}"
    if h.interrupted:
        return f"interrupted after {ran}"
    folds = result.evaluation.method if result.evaluation is not None and \
        result.evaluation.method.endswith("validation") else None
    best = best_epoch(result)
    if folds is not None:
        line = (f"{folds}: the folds' best epochs give a training length of "
                f"{result.chosen_epochs} epochs ({result.seconds:.1f} s in all)")
    elif best is not None:
        line = (f"trained {ran}; kept the weights of epoch {best}, the lowest validation "
                f"loss ({result.seconds:.1f} s)")
    else:
        line = f"trained {ran} ({result.seconds:.1f} s)"
    return line


def _saved_what(result: TrainResult, n_rows: int) -> str:
    if result.refit_epochs is not None:
        return (f"the saved model was refit on all {n_rows} labelled rows for "
                f"{result.refit_epochs} epochs, the training length chosen on validation "
                "(--no-refit keeps the evaluated model)")
    n_train = len(result.splits["train"])
    return f"the saved model is the evaluated one, trained on {n_train} rows"


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
    delimiter: Annotated[str | None, typer.Option(
        "--delimiter", show_default=False,
        help="Field separator: ',', ';', 'tab', '|' \\[default: judged from the header "
             "line]")] = None,
    categorical: Annotated[str | None, typer.Option(
        "--categorical", help="Columns to read as categories, comma separated.")] = None,
    numeric: Annotated[str | None, typer.Option(
        "--numeric", help="Columns to read as numbers, comma separated.")] = None,
    date: Annotated[str | None, typer.Option(
        "--date", help="Columns to read as dates, comma separated.")] = None,
    exclude: Annotated[str | None, typer.Option(
        "--exclude", help="Columns to leave out, comma separated.")] = None,
    hidden: Annotated[str | None, typer.Option(
        "--hidden", show_default=False,
        help="Hidden layer widths, e.g. 32,16, or none \\[default: 64]")] = None,
    activation: Annotated[str | None, typer.Option(
        "--activation", show_default=False,
        help="tanh, relu, sigmoid, leaky_relu, scaled_tanh, identity \\[default: tanh for "
             "regression, relu for classification]")] = None,
    output_activation: Annotated[OutputActivation, typer.Option(
        "--output-activation",
        help="The output layer's activation (regression): identity, or sigmoid / tanh / relu "
             "with the target scaled into its range.")] = OutputActivation.identity,
    ensemble: Annotated[int | None, typer.Option(
        "--ensemble", show_default=False,
        help="Networks trained from different seeds and averaged (merged into one), 1 to "
             "100 \\[default: 5 up to 10,000 rows, else 1]")] = None,
    loss: Annotated[str | None, typer.Option(
        "--loss", help="mse, quadratic, mae, huber (regression); cross_entropy "
                       "(classification).")] = None,
    optimizer: Annotated[str, typer.Option(
        "--optimizer", help="adamw, adam, sgd, momentum, nesterov, rmsprop.")
    ] = defaults.DEFAULT_OPTIMIZER,
    lr: Annotated[float, typer.Option("--lr", help="Learning rate.")] = defaults.DEFAULT_LR,
    weight_decay: Annotated[float | None, typer.Option(
        "--weight-decay", show_default=False,
        help="Weight decay (decoupled for adamw) \\[default: 0.5 or 0.05, whichever gives "
             "the lower validation loss]")] = defaults.DEFAULT_WEIGHT_DECAY,
    epochs: Annotated[int, typer.Option(
        "--epochs", help="Most passes over the training rows.")] = defaults.DEFAULT_EPOCHS,
    batch_size: Annotated[int | None, typer.Option(
        "--batch-size", show_default=False,
        help="Rows per gradient step. \\[default: 32; on tables of 19,200 rows and more "
             "doubled, up to 256, while an epoch keeps 300 steps]")
    ] = defaults.DEFAULT_BATCH_SIZE,
    patience: Annotated[int, typer.Option(
        "--patience", help="Epochs without validation improvement before stopping.")
    ] = defaults.DEFAULT_PATIENCE,
    tol: Annotated[float, typer.Option(
        "--tol", help="The smallest validation-loss improvement that counts.")
    ] = defaults.DEFAULT_TOL,
    cv: Annotated[int | None, typer.Option(
        "--cv", show_default=False,
        help="K-fold cross-validation with K folds; 0: one training/validation/test split "
             "\\[default: 5 for files up to 5,000 rows, else 0]")] = None,
    refit: Annotated[bool, typer.Option(
        "--refit/--no-refit",
        help="Save a model refit on every row for the epochs validation chose, or keep the "
             "evaluated model.")] = True,
    class_weight: Annotated[ClassWeight, typer.Option(
        "--class-weight", help="balanced: every class weighs the same in the loss "
                               "(imbalanced classes).")] = ClassWeight.none,
    val_fraction: Annotated[float, typer.Option(
        "--val-fraction", help="Share of the training rows held out for early stopping "
                               "(0: none).")] = 0.2,
    test_fraction: Annotated[float, typer.Option(
        "--test-fraction", help="Share of rows held out for the final score without --cv "
                                "(0: none).")] = 0.2,
    seed: Annotated[int, typer.Option(
        "--seed", min=0, help="Seed for the split, the initial weights and the shuffling.")] = 0,
    missing: Annotated[Missing, typer.Option(
        "--missing", help="Missing cells: filled with the training rows' median (text: most "
                          "frequent value) plus a missing-indicator feature, or mean, "
                          "most_frequent, or an error.")] = Missing.median,
    unknown: Annotated[Unknown, typer.Option(
        "--unknown", help="A category first seen in held-out rows: ignore (the unseen "
                          "encoding, counted) or error.")] = Unknown.ignore,
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Where to save the model.")] = DEFAULT_OUT,
    plots: Annotated[Path | None, typer.Option(
        "--plots", help="Folder for PNG plots: loss curves, predicted vs actual or confusion "
                        "matrix.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the final table.")] = False,
    cluster: Annotated[str | None, typer.Option(
        "--cluster", help="Train on Dask: local:4 (4 worker processes here) or a scheduler "
                          "address such as tcp://host:8786; with --cv the folds run there "
                          "at once.", show_default=False)] = None,
    stream: Annotated[bool | None, typer.Option(
        "--stream/--no-stream", show_default=False,
        help="Read the CSV block by block instead of whole \\[default: when the file would "
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

    Reads every column (printed as a table), evaluates the network by cross-validation or
    on a held-out test part next to a linear model (ridge or logistic regression) and a
    baseline that learns nothing (the mean, or the majority class), then saves a model
    refit on every row.
    """
    console = Console(soft_wrap=True, highlight=False)  # whole lines in logs and pipes
    locals_ = dict(locals())  # the options as given, for the checks of --stream/--cluster
    with user_errors(), command_line():
        if images or (csv is not None and csv.is_dir()):
            # Imported here: a CSV run does not need the picture code.
            from descent.cli.train_images import train_pictures

            train_pictures(ctx, csv, dict(locals()))
            return
        refuse_picture_options(ctx)
        start = time.perf_counter()
        check_fractions(val_fraction, test_fraction, "rows")
        if cv is not None and (cv == 1 or cv < 0):
            raise ValueError(f"--cv takes a number of folds >= 2, or 0 for one split; got {cv}")
        # Every output checked now, not after training: never onto an input, never lost.
        check_outputs({"--out": out}, [csv], {"--plots": (plots, PLOT_FILES)})
        kinds = _kinds(categorical=categorical, numeric=numeric, date=date, exclude=exclude)
        if big_mode(csv, stream, cluster, missing.value, plots, cv):
            assert csv is not None
            refuse_in_memory_options(
                lambda name: locals_[name] if given(ctx, name) else None,
                "--cluster" if cluster else "--stream" if stream else
                f"streaming ({csv} is too big to read into memory)")
            sep = parse_delimiter(delimiter) or sniff_delimiter(csv)
            _train_big(console, csv, target, features, task, hidden, activation, loss,
                       optimizer, lr, weight_decay, epochs, batch_size, val_fraction,
                       test_fraction, patience, tol, seed, cluster, out, quiet, start,
                       dict(delimiter=sep, kinds=kinds, missing=missing.value,
                            unknown=unknown.value))
            return
        release_large_frees()  # a column's or a block's arrays go back when freed
        table, source, target, schema, read = _load(csv, target, parse_delimiter(delimiter),
                                                    kinds, parse_names(features))
        folds = (5 if len(table) <= CV_ROWS else 0) if cv is None else cv
        recipe = Recipe(
            hidden=parse_widths(hidden), activation=activation, loss=loss, optimizer=optimizer,
            lr=lr, weight_decay=weight_decay, epochs=epochs, batch_size=batch_size,
            # --val-fraction 0: no validation part, so no early stopping (train_table holds
            # out the rows itself; the recipe's fraction is then unused)
            early_stopping=val_fraction > 0,
            validation_fraction=val_fraction if val_fraction > 0 else 0.2,
            patience=patience, tol=tol, output_activation=output_activation.value,
            ensemble=ensemble, names=CLI_NAMES,
        )
        if not quiet:
            console.print(f"descent train: {source}, {len(table)} rows → [bold]{target}[/]")
            console.print(schema_table(schema, f"the columns of {source}"))
            if sys.stdout.isatty():
                console.print("[dim]Ctrl-C stops after the current batch and keeps the model[/]")
        if read is not None:  # what train_table checks on a text table, in the same order
            check_target(read.header, source, target)
            read.check()
        try:
            with fold_cluster(cluster if folds >= 2 else None) as fold_map:
                result = train_table(
                    table, target, features=parse_names(features), task=task.value,
                    recipe=recipe, val_fraction=val_fraction, test_fraction=test_fraction,
                    seed=seed, missing=missing.value, unknown=unknown.value, kinds=kinds,
                    cv=folds, refit=refit,
                    class_weight=None if class_weight is ClassWeight.none else "balanced",
                    schema=schema, verbose=not quiet, fold_map=fold_map,
                    applied=read is not None,
                )
        except KeyboardInterrupt as stop:  # Ctrl-C before a model was made: say what is kept
            raise KeyboardInterrupt(_kept(str(stop) or "interrupted: nothing saved", out)
                                    ) from None
        model = result.model
        _refuse_untrained(result.history, out)
        if not quiet:
            console.print(_stopped(result))
            console.print(_describe(result.recipe, model.encoder.n_features_,
                                    model.network.sizes[-1], len(table)))
        if result.scores:
            baseline = ("the mean of the training targets" if model.task == "regression"
                        else "the majority class, with the training class shares")
            console.print(scores_table(result.scores, f"{target} ({model.task}): the "
                                       f"evaluated model, a linear model, and a baseline that "
                                       f"predicts {baseline}"))
        if result.evaluation is not None:
            console.print(evaluation_table(result.evaluation, f"{target} ({model.task}), "
                                           f"{result.evaluation.method}"))
            if result.evaluation.per_class is not None:
                console.print(per_class_table(result.evaluation))
        for note in result.notes:
            console.print(f"note: {note}")
        console.print(_saved_what(result, len(table)))
        model.save(out, extra={
            "descent_version": descent.__version__,
            # The file's name only: a model file must never point descent at a path.
            "data": EMBEDDED if csv is None else csv.name,
            "rows": {k: len(v) for k, v in result.splits.items()}, "seed": seed,
            "recipe": recipe_summary(result.recipe),
            "epochs_run": len(result.history),
            "best_epoch": best_epoch(result),  # 1-based, as printed
            "refit_epochs": result.refit_epochs, "cv": folds,
            "scores": {s.split: s.model for s in result.scores},
            "evaluation": None if result.evaluation is None else {
                "method": result.evaluation.method,
                **{m: {k: list(v) for k, v in result.evaluation.summary(m).items()}
                   for m in ("network", "linear", "baseline")}},
        })
        console.print(f"saved the model to {out}  (use it: descent predict {out} data.csv)")
        if plots is not None:
            from descent.cli.plots import write_training_plots

            files = write_training_plots(result, plots)
            console.print(f"plots in {plots}: {', '.join(Path(f).name for f in files)}")
        if not quiet:
            console.print(f"done in {time.perf_counter() - start:.1f} s")
        _say_interrupted(result.history, out)


def _kept(message: str, out: Path) -> str:
    return f"{message}; {out} is unchanged" if out.exists() else message


def _refuse_untrained(history: History, out: Path) -> None:
    """Ctrl-C before one full epoch: an untrained model must not replace a trained one."""
    if history.interrupted and len(history) == 0:
        raise KeyboardInterrupt(_kept("interrupted before the first epoch finished: nothing "
                                      "saved", out))


def _say_interrupted(history: History, out: Path) -> None:
    """After saving what an interrupted run learned: exit 130, saying so (boundary.py)."""
    if history.interrupted:
        raise KeyboardInterrupt(f"interrupted after {len(history)} epoch(s); saved the model "
                                f"to {out}")


def _train_big(console: Console, csv: Path, target: str | None, features: str | None,
               task: Task, hidden: str | None, activation: str | None, loss: str | None,
               optimizer: str, lr: float, weight_decay: float | None, epochs: int,
               batch_size: int | None, val_fraction: float, test_fraction: float,
               patience: int,
               tol: float, seed: int, cluster: str | None, out: Path, quiet: bool,
               start: float, reading: dict[str, Any]) -> None:
    recipe = Recipe(hidden=parse_widths(hidden), activation=activation, loss=loss,
                    optimizer=optimizer, lr=lr,
                    weight_decay=defaults.WEIGHT_DECAYS[0] if weight_decay is None
                    else weight_decay, epochs=epochs,
                    batch_size=batch_size, early_stopping=val_fraction > 0,
                    validation_fraction=val_fraction if val_fraction > 0 else 0.2,
                    patience=patience, tol=tol, ensemble=1, names=CLI_NAMES)
    trained = "on a Dask cluster" if cluster else "streaming"
    result = train_big(console, csv, target, parse_names(features), task.value, recipe,
                       val_fraction, test_fraction, seed, cluster, quiet, **reading,
                       out=out, save_extra={"descent_version": descent.__version__,
                                            "data": csv.name, "seed": seed,
                                            "trained": trained})
    model = result.model
    _refuse_untrained(result.history, out)
    if not quiet:
        console.print(_describe(result.recipe, model.encoder.n_features_,
                                model.network.sizes[-1], 0))
    best = result.history.best_epoch
    model.save(out, extra={
        "descent_version": descent.__version__, "data": csv.name,
        "rows": result.rows, "seed": seed, "recipe": recipe_summary(result.recipe),
        "epochs_run": len(result.history),
        "best_epoch": None if best is None else best + 1,  # 1-based, as printed
        "scores": {s.split: s.model for s in result.scores},
        "trained": trained,
    })
    console.print(f"saved the model to {out}  (use it: descent predict {out} data.csv)")
    if not quiet:
        console.print(f"done in {time.perf_counter() - start:.1f} s")
    _say_interrupted(result.history, out)


def _kinds(**options: str | None) -> dict[str, str]:
    """column -> schema kind from --categorical / --numeric / --date / --exclude."""
    kind_of = {"categorical": "category", "numeric": "number", "date": "date",
               "exclude": "identifier"}
    kinds: dict[str, str] = {}
    for option, text in options.items():
        for name in parse_names(text, f"--{option}") or []:
            if name in kinds:
                raise ValueError(f"column {name!r} is named by two of --categorical, "
                                 "--numeric, --date and --exclude")
            kinds[name] = kind_of[option]
    return kinds


def _load(csv: Path | None, target: str | None, delimiter: str | None,
          kinds: dict[str, str], features: list[str] | None
          ) -> tuple[Table, str, str, Schema, TypedCsv | None]:
    """The table, how to name its source, the target, the schema, and for a CSV file the
    typed read (its header and the cells that do not fit their kind).

    A CSV file is read once (a pipe or /dev/stdin can be read only once) and typed one
    column at a time (`read_typed_csv`): the table is `schema.apply`'s output and the file
    is never held as text. The embedded data is read as text and typed by `train_table`.
    """
    if csv is None:
        if delimiter is not None:
            raise ValueError("--delimiter applies to a CSV file; leave it out for the "
                             "embedded data")
        table, target = load_windsor(), target or WINDSOR_TARGET
        schema = infer_schema(table, target, kinds=kinds, features=features)
        return table, "embedded Windsor house prices", target, schema, None
    sep = sniff_delimiter(csv) if delimiter is None else delimiter
    if target is None:
        header = read_csv_header(csv, delimiter=sep)
        raise ValueError(f"--target is required with a CSV file: name the column to predict "
                         f"(the columns of {csv} are {', '.join(header)})")
    read = read_typed_csv(csv, target, delimiter=sep, kinds=kinds, features=features)
    return read.table, str(csv), target, read.schema, read
