"""`descent train FOLDER` and `descent train --images`: pictures in, a picture model out.

`descent train` hands over here when its argument is a folder (one sub-folder of pictures
per class) or when --images asks for the shipped cats and dogs. The options the two kinds
of data share (--epochs, --lr, --batch-size, --patience, the fractions, --seed, --out,
--plots, --quiet) mean the same; those left at their defaults take the picture recipe's
values (`descent.pictures.training.PICTURE_RECIPE`), and the table-only options are refused.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

import descent
from descent.cli.options import CLI_NAMES, check_fractions, given, refuse_picture_options
from descent.cli.scores_table import number, scores_table
from descent.data import load_cats_dogs, read_image_folder
from descent.data.image_set import ImageSet
from descent.pictures.training import (
    DEFAULT_AUGMENTATION,
    PICTURE_RECIPE,
    ImageTrainResult,
    recipe_summary,
    train_images,
)

EMBEDDED_PICTURES = "embedded:cats_dogs"
PICTURE_DEFAULTS = {"epochs": PICTURE_RECIPE.epochs, "lr": PICTURE_RECIPE.lr,
                    "batch_size": PICTURE_RECIPE.batch_size,
                    "patience": PICTURE_RECIPE.patience,
                    "weight_decay": PICTURE_RECIPE.weight_decay,
                    "optimizer": PICTURE_RECIPE.optimizer, "val_fraction": 0.1}
TABLE_ONLY = {name: "--" + name.replace("_", "-") for name in (
    "target", "features", "task", "delimiter", "categorical", "numeric", "date", "exclude",
    "hidden", "activation", "output_activation", "ensemble", "loss", "cv", "refit",
    "class_weight", "missing", "unknown", "cluster", "stream")}
PLOT_FILES = ("loss.png", "confusion.png", "misclassified.png", "filters.png")


def parse_size(text: str | None) -> tuple[int, int] | None:
    """'28' -> (28, 28); '32x48' -> (32, 48) (height x width); None stays None.

    >>> parse_size("28"), parse_size("32x48"), parse_size(None)
    ((28, 28), (32, 48), None)
    """
    if text is None:
        return None
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) in (1, 2) and all(p.strip().isdigit() for p in parts):
        sides = [int(p) for p in parts]
        if all(1 <= s <= 1024 for s in sides):
            return (sides[0], sides[-1])
    raise ValueError(f"--size takes one side or HEIGHTxWIDTH in pixels (1 to 1024), such as "
                     f"28 or 32x48; got {text!r}")


def _load(folder: Path | None, size: str | None, skip_bad: bool) -> tuple[ImageSet, str]:
    if folder is None:
        pets = load_cats_dogs()
        wanted = parse_size(size)
        if wanted is not None and wanted != (28, 28):
            raise ValueError("--size applies to a folder of images; the shipped cats and dogs "
                             "are 28x28")
        return pets, "the shipped cats and dogs"
    return (read_image_folder(folder, size=parse_size(size), skip_bad=skip_bad,
                              skip_hint="--skip-bad"), str(folder))


def describe_network(network: Any) -> str:
    """The layers of a picture network in one line, e.g. 'conv 1→6 5x5, relu, max-pool 2, ...'."""
    parts = []
    for layer in network:
        kind = type(layer).__name__
        if kind == "Conv2d":
            kh, kw = layer.kernel_size
            parts.append(f"conv {layer.in_channels}→{layer.out_channels} {kh}x{kw}")
        elif kind == "MaxPool2d":
            parts.append(f"max-pool {layer.kernel_size[0]}")
        elif kind == "Linear":
            parts.append(f"dense {layer.in_features}→{layer.out_features}")
        elif kind == "Activation":
            parts.append(layer.name)
        elif kind == "Dropout":
            parts.append(f"dropout {layer.p:g}")
        elif kind != "Flatten":
            parts.append(kind)
    return ", ".join(parts)


def class_table(result: ImageTrainResult) -> Table:
    """Per-class precision and recall on the scored part, and its confusion matrix."""
    classes = result.model.classes
    counts = result.confusion
    table = Table(title=f"{result.scored_part} pictures by class: rows are the true class, "
                        "columns what the network said", title_justify="left")
    table.add_column("class")
    table.add_column("pictures", justify="right")
    table.add_column("precision", justify="right")
    table.add_column("recall", justify="right")
    wide = len(classes) <= 12  # beyond that the matrix does not fit a terminal
    if wide:
        for name in classes:
            table.add_column(f"→ {name}", justify="right", style="dim")
    for k, name in enumerate(classes):
        shown = [number(v) if v == v else "–" for v in (result.precision[k], result.recall[k])]
        cells = [str(int(v)) for v in counts[k]] if wide else []
        table.add_row(name, str(int(counts[k].sum())), *shown, *cells)
    return table


def _stopped(result: ImageTrainResult) -> str:
    h = result.history
    ran = f"{len(h)} epoch{'s' if len(h) != 1 else ''} in {result.seconds:.1f} s"
    if h.interrupted:
        return f"interrupted after {ran}"
    if h.best_epoch is not None:
        return (f"trained {ran}; kept the weights of epoch {h.best_epoch + 1}, the lowest "
                "validation loss")
    return f"trained {ran}"


def train_pictures(ctx: Any, folder: Path | None, options: dict[str, Any]) -> None:
    """The body of `descent train` for pictures (inside the command's error boundary)."""
    console = Console(soft_wrap=True, highlight=False)
    start = time.perf_counter()
    for name, flag in TABLE_ONLY.items():
        if given(ctx, name):
            raise ValueError(f"{flag} applies to a CSV table, not to pictures (the classes "
                             "are the sub-folder names)")
    if folder is not None and options["images"]:
        raise ValueError(f"--images trains on the shipped cats and dogs; leave it out to train "
                         f"on {folder}")
    value = {k: (options[k] if given(ctx, k) else PICTURE_DEFAULTS[k]) for k in PICTURE_DEFAULTS}
    val_fraction, test_fraction = value["val_fraction"], options["test_fraction"]
    check_fractions(val_fraction, test_fraction, "pictures")
    out, plots, quiet = options["out"], options["plots"], options["quiet"]
    check_outputs(out, plots, folder)
    images, source = _load(folder, options["size"], options["skip_bad"])
    recipe = replace(PICTURE_RECIPE, optimizer=value["optimizer"], lr=value["lr"],
                     weight_decay=value["weight_decay"], epochs=value["epochs"],
                     batch_size=value["batch_size"], patience=value["patience"],
                     tol=options["tol"], early_stopping=val_fraction > 0, names=CLI_NAMES)
    augmentation = DEFAULT_AUGMENTATION if options["augment"] else None
    if not quiet:
        C, H, W = images.shape
        shares = ", ".join(f"{k} {v}" for k, v in images.counts().items())
        console.print(f"descent train: {source}, {len(images)} pictures ({shares}), "
                      f"{'gray' if C == 1 else 'colour'} {H}x{W}")
        for line in images.skipped:
            console.print(f"skipped: {line}")
        if sys.stdout.isatty():
            console.print("[dim]Ctrl-C stops after the current batch and keeps the model[/]")
    result = train_images(images, recipe=recipe, augmentation=augmentation,
                          val_fraction=val_fraction, test_fraction=test_fraction,
                          seed=options["seed"], verbose=not quiet)
    if result.history.interrupted and len(result.history) == 0:
        kept = f"; {out} is unchanged" if out.exists() else ""
        raise KeyboardInterrupt(f"interrupted before the first epoch finished: nothing "
                                f"saved{kept}")
    model = result.model
    if not quiet:
        console.print(_stopped(result))
        aug = ("off" if augmentation is None else
               f"flips, shifts up to {augmentation.shift} px, turns up to "
               f"{augmentation.rotate:g}°")
        console.print(f"network {describe_network(model.network)}; {recipe.optimizer} lr "
                      f"{recipe.lr:g}, weight decay {recipe.weight_decay:g}, batch "
                      f"{recipe.batch_size}; augmentation {aug}")
        for note in result.notes:
            console.print(f"note: {note}")
    console.print(scores_table(result.scores, "class (classification): the network, and a "
                               "baseline that predicts the majority class"))
    console.print(class_table(result))
    model.save(out, extra={
        "descent_version": descent.__version__,
        # The folder's name only: a model file must never point descent at a path.
        "data": EMBEDDED_PICTURES if folder is None else folder.resolve().name,
        "pictures": {k: len(v) for k, v in result.splits.items()}, "seed": options["seed"],
        "recipe": recipe_summary(result), "epochs_run": len(result.history),
        "best_epoch": result.history.best_epoch,
        "scores": {s.split: s.model for s in result.scores},
    })
    console.print(f"saved the model to {out}  (use it: descent predict {out} PICTURE_OR_FOLDER)")
    if plots is not None:
        from descent.cli.picture_plots import write_picture_plots

        files = write_picture_plots(result, images, plots)
        console.print(f"plots in {plots}: {', '.join(Path(f).name for f in files)}")
    if not quiet:
        console.print(f"done in {time.perf_counter() - start:.1f} s")
    if result.history.interrupted:
        raise KeyboardInterrupt(f"interrupted after {len(result.history)} epoch(s); saved "
                                f"the model to {out}")


def check_outputs(out: Path, plots: Path | None, folder: Path | None) -> None:
    """Every output checked before training: the model file's folder exists, and nothing
    is written inside the picture folder (it would be read as data next time)."""
    from descent.cli.outputs import check_outputs as check

    check({"--out": out}, [], {"--plots": (plots, PLOT_FILES)})
    if folder is not None:
        root = folder.resolve()
        for flag, path in (("--out", out), ("--plots", plots)):
            if path is not None and root in (path.resolve(), *path.resolve().parents):
                raise ValueError(f"{flag} {path} is inside the picture folder {folder}; write "
                                 "it elsewhere (it would be read as data next time)")


__all__ = ["refuse_picture_options", "train_pictures"]
