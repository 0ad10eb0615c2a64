"""The playground's data: the toy sets, the embedded Windsor house prices, an uploaded CSV.

Each becomes a `PlayData`: raw inputs X (N, d) in the columns' own units, a target y, the
task, the names, which one or two inputs the page draws, and a seeded train/validation
split. Uploaded CSV text goes through descent's own CSV reader and table encoder, so its
error messages are the ones `descent train` prints (naming line and column).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np

from descent.data import (
    TableEncoder,
    load_windsor,
    make_circle,
    make_moons,
    make_spiral,
    make_xor,
    read_csv,
    split_indices,
)
from descent.playground.formula_view import ViewError

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
MAX_FEATURES = 32
TOY_SETS = ("circle", "xor", "spiral", "moons")
DATASETS = (*TOY_SETS, "windsor", "pictures", "two-node", "csv")


@dataclass
class PlayData:
    """A data set ready to train on and to draw.

    X (N, d) float64 inputs in their own units; y (N,) float64 (0/1 for two classes);
    `draw` lists the indices (1 or 2) of the inputs on the drawn plane; `train` and `val`
    are row indices.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    task: str
    features: list[str]
    target: str
    classes: list[str] | None
    draw: list[int]
    train: np.ndarray
    val: np.ndarray
    image_shape: tuple[int, int] | None = None  # pictures: X holds the pixels, row-major


def _split(n: int, seed: int, val_fraction: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    if n < 5:  # XOR, the two-node example: every point trains; validation is the same points
        rows = np.arange(n)
        return rows, rows
    train, val = split_indices(n, (1 - val_fraction, val_fraction), seed=seed)
    return np.sort(train), np.sort(val)


def toy(name: str, noise: float = 0.05, n: int = 300, seed: int = 0) -> PlayData:
    """circle, xor, spiral or moons, as two-class data with inputs x1, x2.

    >>> d = toy("circle")
    >>> d.X.shape, d.task, d.classes, len(d.train) + len(d.val)
    ((300, 2), 'classification', ['outside', 'inside'], 300)
    """
    if not (np.isfinite(noise) and 0 <= noise <= 0.5):
        raise ViewError(f"noise must be between 0 and 0.5, got {noise!r}", "noise")
    if name == "circle":
        X, y = make_circle(n, noise, seed)
        classes = ["outside", "inside"]
    elif name == "spiral":
        X, y = make_spiral(n, noise, seed)
        classes = ["spiral A", "spiral B"]
    elif name == "moons":
        X, y = make_moons(n, noise * 2, seed)
        classes = ["upper moon", "lower moon"]
    elif name == "xor":
        X, y = make_xor()
        X = 2 * X - 1  # corners at ±1, centred like the other sets
        classes = ["x1 = x2", "x1 ≠ x2"]
    else:
        raise ViewError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}",
                        "dataset")
    train, val = _split(len(X), seed)
    return PlayData(name, X.astype(np.float64), y.astype(np.float64), "classification",
                    ["x1", "x2"], "class", classes, [0, 1], train, val)


def pictures(seed: int = 0) -> PlayData:
    """The shipped cats and dogs: 2000 gray 28×28 silhouettes, pixels in [0, 1] as 784 inputs.

    Split 80/20 by `ImageSet.split`, which keeps exact duplicates on one side.

    >>> d = pictures()
    >>> d.X.shape, d.classes, d.image_shape, len(d.train) + len(d.val)
    ((2000, 784), ['cat', 'dog'], (28, 28), 2000)
    """
    from descent.data import load_cats_dogs

    pets = load_cats_dogs()
    train, val = pets.split((0.8, 0.2), seed=seed)
    _, height, width = pets.shape
    X = pets.floats(dtype=np.float64).reshape(len(pets), height * width)
    return PlayData("pictures", X, pets.labels.astype(np.float64), "classification",
                    [f"pixel {r},{c}" for r in range(height) for c in range(width)], "animal",
                    list(pets.classes), [], np.sort(train), np.sort(val), (height, width))


def two_node_example(x: float = 1.5, y: float = 1.0) -> PlayData:
    """The seeds' single example for the two-node network: one input x, target y."""
    X = np.array([[x]], dtype=np.float64)
    return PlayData("two-node", X, np.array([y]), "regression", ["x"], "y", None, [0],
                    np.array([0]), np.array([0]))


def from_table(table: Any, target: str, inputs: list[str] | None, draw: list[str] | None,
               name: str, seed: int = 0) -> PlayData:
    """A `descent.data.Table` with a chosen target, inputs (None: all others) and 1-2 drawn.

    >>> d = from_table(load_windsor(), "price", ["lotsize", "bedrooms"], ["lotsize"], "windsor")
    >>> d.X.shape, d.task, d.draw
    ((546, 2), 'regression', [0])
    """
    if target not in table.columns:
        raise ViewError(f"no column {target!r} to predict; the columns are "
                        f"{', '.join(table.columns)}", "target")
    inputs = [c for c in table.columns if c != target] if not inputs else list(inputs)
    unknown = [c for c in inputs if c not in table.columns]
    if unknown:
        raise ViewError(f"no column {unknown[0]!r}; the columns are {', '.join(table.columns)}",
                        "inputs")
    if target in inputs:
        raise ViewError(f"{target!r} is the target; it cannot also be an input", "inputs")
    if len(table) > MAX_ROWS:
        raise ViewError(f"{len(table)} rows is more than the playground trains on live "
                        f"({MAX_ROWS}); use `descent train` for larger files", "csv")
    encoder = TableEncoder(target=target, features=inputs, missing="mean", max_categories=20)
    X, y = encoder.fit_transform(table)
    assert y is not None
    features = list(encoder.feature_names_)
    if len(features) > MAX_FEATURES:
        raise ViewError(f"the inputs make {len(features)} features (categories count once "
                        f"each); the playground draws at most {MAX_FEATURES}: choose fewer "
                        f"inputs", "inputs")
    task = encoder.task_ or "regression"
    classes = None
    if task == "classification":
        classes = [str(c) for c in encoder.classes_ or []]
        if len(classes) != 2:
            raise ViewError(f"{target!r} has {len(classes)} classes; the playground draws "
                            f"two-class problems and regression (use `descent train` for "
                            f"more classes)", "target")
    draw = list(draw or [])
    if not draw:
        draw = [c for c in inputs if encoder_numeric(encoder, c)][:2] or inputs[:1]
    if not 1 <= len(draw) <= 2:
        raise ViewError(f"draw one or two inputs, got {len(draw)}", "draw")
    draw_index = []
    for column in draw:
        if column not in features:
            raise ViewError(f"{column!r} cannot be drawn: choose a numeric input column "
                            f"({', '.join(f for f in features if '=' not in f)})", "draw")
        draw_index.append(features.index(column))
    train, val = _split(len(X), seed)
    return PlayData(name, np.asarray(X, np.float64), np.asarray(y, np.float64), task, features,
                    target, classes, draw_index, train, val)


def encoder_numeric(encoder: TableEncoder, column: str) -> bool:
    """Whether `column` became one numeric feature of its own name (so it can be an axis)."""
    return column in encoder.feature_names_


def windsor(inputs: list[str] | None = None, draw: list[str] | None = None) -> PlayData:
    """The embedded Windsor house prices: price from lot size and bedrooms by default."""
    return from_table(load_windsor(), "price", inputs or ["lotsize", "bedrooms"],
                      draw or ["lotsize"], "windsor")


def read_upload(filename: str, text: str) -> Any:
    """Read uploaded CSV text with descent's reader; errors name the upload, not a temp file.

    >>> read_upload("houses.csv", "size,price\\n50,100\\n70\\n")
    Traceback (most recent call last):
    ...
    descent.playground.formula_view.ViewError: houses.csv, line 3: 1 field(s), \
but the header (line 1) has 2
    """
    size = len(text.encode("utf-8"))
    if size > MAX_UPLOAD_BYTES:
        raise ViewError(f"{filename}: {size / 1e6:.1f} MB is more than the playground takes "
                        f"({MAX_UPLOAD_BYTES // (1024 * 1024)} MB); use `descent train`", "csv")
    shown = os.path.basename(str(filename)) or "upload.csv"
    with tempfile.TemporaryDirectory(prefix="descent-playground-") as folder:
        path = os.path.join(folder, "upload.csv")
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        try:
            table = read_csv(path, missing="keep")
        except ValueError as error:  # DataError is a ValueError
            raise ViewError(str(error).replace(path, shown), "csv") from None
    return dataclasses.replace(table, path=shown)
