"""Train an `ImageModel` on an `ImageSet`: split, augment, train, score. What `descent train
FOLDER` runs.

The pictures are split once into training, validation (early stopping) and test (the
honest final score) parts, stratified by class, with exact duplicate pictures kept in one
part (`ImageSet.split`). The network is the default `ConvNet` sized from the pictures
unless one is given. Training sees each picture randomly flipped, shifted and turned
(`Augmentation`, seeded); validation and test pictures are never changed. The scores are
those of `descent.tabular.report` (accuracy and log loss next to the majority class),
plus the test part's confusion matrix and per-class precision and recall.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from descent.data.augment import Augmentation
from descent.data.image_set import ImageSet
from descent.errors import DataError
from descent.nn import ConvNet, Module
from descent.pictures.model import ImageModel
from descent.tabular.recipe import Recipe
from descent.tabular.report import SplitScores, score_split
from descent.tabular.training import train_network
from descent.train import History
from descent.train.metrics import confusion_matrix, precision_recall

# The picture recipe: Adam at 1e-3 in batches of 64 with light weight decay, at most 40
# epochs, stopping after 8 without a better validation loss. Chosen on the shipped cats and
# dogs (see docs/pictures.md for the measurements).
PICTURE_RECIPE = Recipe(hidden=(), activation="relu", loss="cross_entropy", optimizer="adamw",
                        lr=1e-3, weight_decay=1e-4, epochs=40, batch_size=64, patience=8)
DEFAULT_AUGMENTATION = Augmentation(flip=True, shift=2, rotate=10.0)


@dataclass
class ImageTrainResult:
    """What `train_images` returns.

    `model`: the trained ImageModel; `history`: per-epoch losses; `splits`: picture indices
    of "train", "validation", "test" into the ImageSet (empty for a part not asked for);
    `scores`: one SplitScores per non-empty part; `confusion`: the test part's counts
    (true class by row, predicted by column; the validation or training part when there is
    no test part), with `precision` and `recall` per class; `probabilities`: that part's
    (n, K) predicted probabilities; `recipe`, `augmentation` and `seconds` of training.
    """

    model: ImageModel
    history: History
    splits: dict[str, np.ndarray]
    scores: list[SplitScores]
    confusion: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    scored_part: str
    probabilities: np.ndarray
    recipe: Recipe
    augmentation: Augmentation | None
    seconds: float
    notes: list[str] = field(default_factory=list)


def image_splits(images: ImageSet, val_fraction: float, test_fraction: float,
                 seed: int | None) -> dict[str, np.ndarray]:
    """Indices of the "train", "validation" and "test" parts (a part with fraction 0 is empty).

    >>> from descent.data import load_cats_dogs
    >>> parts = image_splits(load_cats_dogs(), 0.1, 0.2, seed=0)
    >>> {k: len(v) for k, v in parts.items()}
    {'train': 1397, 'validation': 202, 'test': 401}
    """
    for name, f in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not (isinstance(f, int | float) and 0 <= f < 1):
            raise ValueError(f"{name} must be a number in [0, 1), got {f!r}")
    if val_fraction + test_fraction >= 1:
        raise ValueError(f"val_fraction + test_fraction must be below 1 to leave training "
                         f"pictures, got {val_fraction} + {test_fraction}")
    names = ["train"] + [k for k, f in (("validation", val_fraction), ("test", test_fraction))
                         if f > 0]
    fractions = [1 - val_fraction - test_fraction] + [f for f in (val_fraction, test_fraction)
                                                      if f > 0]
    empty = np.zeros(0, np.int64)
    if len(names) == 1:
        return {"train": np.arange(len(images)), "validation": empty, "test": empty}
    try:
        parts = dict(zip(names, images.split(fractions, seed=seed), strict=True))
    except ValueError as error:
        if "empty part" not in str(error) and "gives an empty" not in str(error):
            raise
        raise DataError(f"{images.source}: {len(images)} pictures are too few for a "
                        f"{val_fraction:g} validation and {test_fraction:g} test split; add "
                        "pictures or change the fractions") from None
    counts = np.bincount(images.labels[parts["train"]], minlength=len(images.classes))
    if counts.min() == 0:
        lacking = images.classes[int(np.argmin(counts))]
        raise DataError(f"{images.source}: class {lacking} has too few pictures to put one "
                        "in the training part; add pictures of it")
    return {"train": parts["train"], "validation": parts.get("validation", empty),
            "test": parts.get("test", empty)}


# The default network of `descent train` for pictures: LeNet-5's plan (convolution blocks
# with ReLU and 2x2 max-pooling, then dense layers) with 3x3 kernels, 16 and 32 channels,
# one dense layer of 128 and dropout 0.25 before it. On the shipped cats and dogs it
# beat LeNet-5's own sizes (6/16 5x5, 120/84: 0.965 median test accuracy over 3 seeds)
# at about twice the arithmetic; see docs/pictures.md for the measurements.
DEFAULT_NETWORK = {"channels": (16, 32), "kernel_size": 3, "hidden": (128,), "dropout": 0.25}


def default_network(images: ImageSet, seed: int | np.random.Generator | None = 0) -> Module:
    """The default picture network for these pictures: a LeNet-style `ConvNet` sized from
    them, with `DEFAULT_NETWORK`'s widths.

    >>> from descent.data import load_cats_dogs
    >>> [type(layer).__name__ for layer in default_network(load_cats_dogs())][:4]
    ['Conv2d', 'Activation', 'MaxPool2d', 'Conv2d']
    """
    return ConvNet(images.shape, len(images.classes), seed=seed, **DEFAULT_NETWORK)


def train_images(
    images: ImageSet,
    *,
    network: Module | None = None,
    recipe: Recipe | None = None,
    augmentation: Augmentation | None = DEFAULT_AUGMENTATION,
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
    seed: int | None = 0,
    verbose: bool | int = True,
) -> ImageTrainResult:
    """Train a picture classifier on `images`; see the module doc.

    Args:
        images: the labelled pictures (`read_image_folder`, `load_cats_dogs`).
        network: a Module from pictures (n, C, H, W) in [0, 1] to K logits (None: the
            default ConvNet, `default_network`).
        recipe: optimizer settings (None: PICTURE_RECIPE); its loss must be cross_entropy.
        augmentation: random changes of the training pictures (None: none).
        val_fraction, test_fraction: shares of the pictures held out for early stopping
            and for the final score (0 leaves a part out).
        seed: makes the split, the initial weights, the shuffling and the augmentation
            repeatable.
        verbose: show training progress.

    >>> from descent.data import load_cats_dogs
    >>> from dataclasses import replace
    >>> pets = load_cats_dogs().take(np.r_[0:40, 1000:1040])
    >>> r = train_images(pets, recipe=replace(PICTURE_RECIPE, epochs=2), verbose=False)
    >>> [s.split for s in r.scores], int(r.confusion.sum()) == len(r.splits["test"])
    (['train', 'validation', 'test'], True)
    """
    recipe = (recipe or PICTURE_RECIPE).checked("classification")
    parts = image_splits(images, val_fraction, test_fraction, seed)
    init_seed, fit_seed = np.random.SeedSequence(seed).spawn(2)
    if network is None:
        network = default_network(images, np.random.default_rng(init_seed))
    K = len(images.classes)
    # uint8 pictures, made floats a batch at a time (no float copy of the whole set)
    X = {k: images.pixels(v) for k, v in parts.items() if len(v)}
    y = {k: images.labels[v] for k, v in parts.items() if len(v)}
    start = time.perf_counter()
    trained = train_network(
        X["train"], y["train"], recipe, task="classification", n_outputs=K,
        validation_data=(X["validation"], y["validation"]) if "validation" in X else None,
        seed=int(fit_seed.generate_state(1)[0]), verbose=verbose, model=network,
        augment=augmentation)
    seconds = time.perf_counter() - start
    network.eval()
    result = ImageModel(network, list(images.classes), images.shape[1:], images.shape[0])
    scores, proba = [], {}
    for name in ("train", "validation", "test"):
        if name in X:
            proba[name] = result.probabilities(images.images[parts[name]])
            scores.append(score_split(name, "classification", y[name], y["train"],
                                      proba[name], K))
    scored = next(p for p in ("test", "validation", "train") if p in X)
    counts = confusion_matrix(y[scored], proba[scored].argmax(axis=1), K)
    precision, recall = precision_recall(counts)
    notes = []
    if images.skipped:
        notes.append(f"skipped {len(images.skipped)} bad file(s) or folder(s)")
    return ImageTrainResult(result, trained.history, parts, scores, counts, precision, recall,
                            scored, proba[scored], recipe, augmentation, seconds, notes)


def recipe_summary(result: ImageTrainResult) -> dict[str, Any]:
    """How the model was trained, as JSON-safe data for the model file."""
    r = result.recipe
    return {"optimizer": r.optimizer, "lr": r.lr, "weight_decay": r.weight_decay,
            "epochs": r.epochs, "batch_size": r.batch_size, "patience": r.patience,
            "augmentation": None if result.augmentation is None
            else result.augmentation.to_dict()}


__all__ = ["DEFAULT_AUGMENTATION", "PICTURE_RECIPE", "ImageTrainResult", "default_network",
           "image_splits", "recipe_summary", "train_images"]
