"""Parsing of option values that typer cannot type by itself, with one-line errors."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

# The recipe's settings as the `descent train` options call them, for error messages.
CLI_NAMES = {
    "hidden": "--hidden", "activation": "--activation", "loss": "--loss",
    "optimizer": "--optimizer", "lr": "--lr", "weight_decay": "--weight-decay",
    "epochs": "--epochs", "batch_size": "--batch-size",
    "validation_fraction": "--val-fraction", "patience": "--patience", "tol": "--tol",
    "output_activation": "--output-activation", "ensemble": "--ensemble",
}

# The `descent train` options that apply to pictures only (refused on a CSV table).
PICTURE_ONLY = {"images": "--images", "size": "--size", "skip_bad": "--skip-bad",
                "augment": "--no-augment"}


def given(ctx: Any, name: str) -> bool:
    """Whether the user typed option `name` (rather than leaving its default)."""
    source = ctx.get_parameter_source(name)
    # typer carries its own copy of click, so compare the source by name, not identity
    return source is not None and source.name == "COMMANDLINE"


def refuse_picture_options(ctx: Any) -> None:
    """A CSV run with a picture-only option: one line naming it."""
    for name, flag in PICTURE_ONLY.items():
        if given(ctx, name):
            raise ValueError(f"{flag} applies to pictures (a folder of images or --images), "
                             "not to a CSV table")


def check_fractions(val_fraction: float, test_fraction: float, what: str) -> None:
    """ValueError naming the options when --val-fraction / --test-fraction leave no `what`
    (rows, pictures) to train on.

    >>> check_fractions(0.2, 0.2, "rows")
    """
    if not 0 <= val_fraction < 1:
        raise ValueError(f"--val-fraction must be in [0, 1), got {val_fraction}")
    if not 0 <= test_fraction < 1:
        raise ValueError(f"--test-fraction must be in [0, 1), got {test_fraction}")
    if val_fraction + test_fraction >= 1:
        raise ValueError(f"--val-fraction + --test-fraction must be below 1 to leave "
                         f"training {what}, got {val_fraction} + {test_fraction}")


class Task(StrEnum):
    auto = "auto"
    regression = "regression"
    classification = "classification"


class Missing(StrEnum):
    error = "error"
    mean = "mean"
    median = "median"
    most_frequent = "most_frequent"


class MissingAtPredict(StrEnum):
    fill = "fill"
    error = "error"


class Unknown(StrEnum):
    error = "error"
    ignore = "ignore"


class ClassWeight(StrEnum):
    none = "none"
    balanced = "balanced"


class OutputActivation(StrEnum):
    identity = "identity"
    sigmoid = "sigmoid"
    tanh = "tanh"
    relu = "relu"


def parse_delimiter(text: str | None) -> str | None:
    """The --delimiter value as one character: ',', ';', '\\t' or 'tab', '|'; None: sniff.

    >>> parse_delimiter("tab") == chr(9), parse_delimiter(";"), parse_delimiter(None)
    (True, ';', None)
    """
    if text is None:
        return None
    named = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
    value = named.get(text.strip().lower(), text)
    if len(value) != 1:
        raise ValueError(f"--delimiter takes one character such as ';' or 'tab'; got {text!r}")
    return value


def parse_widths(text: str | None, option: str = "--hidden") -> tuple[int, ...] | None:
    """'32,16' -> (32, 16); '' or 'none' -> () (no hidden layer: a linear model).

    >>> parse_widths("32,16"), parse_widths("none"), parse_widths(None)
    ((32, 16), (), None)
    """
    if text is None:
        return None
    cleaned = text.strip().lower()
    if cleaned in ("", "none", "0"):
        return ()
    widths = []
    for part in cleaned.split(","):
        part = part.strip()
        if not part.isdigit() or int(part) < 1:
            raise ValueError(f"{option} takes layer widths separated by commas, such as 32,16 "
                             f"(or 'none' for no hidden layer); got {text!r}")
        widths.append(int(part))
    return tuple(widths)


def parse_names(text: str | None, option: str = "--features") -> list[str] | None:
    """'a, b,c' -> ['a', 'b', 'c']; None stays None.

    >>> parse_names("lotsize, bedrooms")
    ['lotsize', 'bedrooms']
    """
    if text is None:
        return None
    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise ValueError(f"{option} takes column names separated by commas, such as "
                         f"lotsize,bedrooms; got {text!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"{option} names a column twice: {text!r}")
    return names
