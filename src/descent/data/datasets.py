"""Small data sets that need no download: one shipped CSV, one from scikit-learn, two made up.

- `load_windsor()`: 546 house sales in Windsor, Ontario (1987), 11 features, price target
  (shipped as descent/datasets/windsor_housing.csv; see the README beside it).
- `load_cats_dogs()`: 2,000 28x28 silhouettes of cats and dogs, as an ImageSet (shipped as
  descent/datasets/cats_dogs.npz, MIT; see the README beside it).
- `load_digits()`: 1797 8x8 images of handwritten digits, from scikit-learn's bundled copy.
- `make_xor()`: the four XOR points, the classic problem one linear layer cannot solve.
- `make_moons()`: two interleaved half circles, for decision-boundary plots.
"""

from __future__ import annotations

import importlib.resources
import math
from typing import Any

import numpy as np

from descent.data.csv_reader import read_csv
from descent.data.encoding import TableEncoder
from descent.data.image_set import ImageSet
from descent.data.table import Table
from descent.errors import DataError

WINDSOR_TARGET = "price"


def load_windsor() -> Table:
    """The Windsor house-price table: 546 rows, `price` and 11 feature columns.

    Yes/no columns (driveway, recroom, ...) are text here; `load_windsor_xy` gives numbers.

    >>> t = load_windsor()
    >>> len(t), t.columns[0]
    (546, 'price')
    """
    resource = importlib.resources.files("descent") / "datasets" / "windsor_housing.csv"
    with importlib.resources.as_file(resource) as path:
        return read_csv(path)


def load_windsor_xy(dtype: Any = np.float64) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(X, y, feature_names) of the Windsor data: X (546, 11) with yes/no as 1/0, y (546,) prices.

    >>> X, y, names = load_windsor_xy()
    >>> X.shape, y.shape, names[4]
    ((546, 11), (546,), 'driveway')
    """
    encoder = TableEncoder(target=WINDSOR_TARGET, task="regression")
    X, y = encoder.fit_transform(load_windsor())
    assert y is not None
    return X.astype(dtype), y.astype(dtype), encoder.feature_names_


CATS_DOGS_CLASSES = ["cat", "dog"]


def load_cats_dogs() -> ImageSet:
    """The shipped cats and dogs: 2,000 gray 28x28 silhouettes (white on black), 1,000 each.

    images uint8 (2000, 1, 28, 28), labels 0 = cat, 1 = dog; `files` are the original
    names. Split with `ImageSet.split`, which keeps the 11 exact duplicates together.

    >>> pets = load_cats_dogs()
    >>> pets.images.shape, pets.classes, pets.counts()
    ((2000, 1, 28, 28), ['cat', 'dog'], {'cat': 1000, 'dog': 1000})
    """
    resource = importlib.resources.files("descent") / "datasets" / "cats_dogs.npz"
    with resource.open("rb") as f, np.load(f, allow_pickle=False) as data:
        images, labels, files = data["images"], data["labels"], data["files"]
    if (images.dtype != np.uint8 or images.shape[1:] != (28, 28) or labels.shape
            != (len(images),) or files.shape != (len(images),) or labels.max() > 1):
        raise DataError("descent/datasets/cats_dogs.npz is damaged; reinstall descent")
    return ImageSet(images[:, None], labels.astype(np.int64), list(CATS_DOGS_CLASSES),
                    [str(f) for f in files], source="cats_dogs (shipped with descent)")


def load_digits(dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """(X, y): 1797 handwritten digits as X (1797, 64) pixel values 0..16, y (1797,) in 0..9.

    Needs scikit-learn (its bundled copy; nothing is downloaded). Divide X by 16 to get
    values in [0, 1].

    >>> X, y = load_digits()
    >>> X.shape, int(y.max())
    ((1797, 64), 9)
    """
    try:
        from sklearn.datasets import load_digits as sklearn_load_digits
    except ImportError:
        raise ImportError(
            "load_digits needs scikit-learn, which is not installed; install it with "
            "pip install 'descent[sklearn]'"
        ) from None
    bunch = sklearn_load_digits()
    return np.asarray(bunch.data, dtype=dtype), np.asarray(bunch.target, dtype=np.int64)


def make_xor(dtype: Any = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """(X, y): the XOR truth table, X (4, 2) of 0/1 inputs, y (4,) = x1 XOR x2.

    >>> X, y = make_xor()
    >>> X.tolist(), y.tolist()
    ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0])
    """
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=dtype)
    y = np.array([0, 1, 1, 0], dtype=np.int64)
    return X, y


def make_moons(
    n: int = 200, noise: float = 0.1, seed: int | np.random.Generator | None = 0,
    dtype: Any = np.float64,
) -> tuple[np.ndarray, np.ndarray]:
    """(X, y): n points on two interleaved half circles, X (n, 2), y (n,) in {0, 1}.

    Class 0 lies on the upper half of the unit circle, (cos t, sin t); class 1 on a lower
    half circle shifted right and down, (1 - cos t, 0.5 - sin t), t evenly spaced in [0, pi].
    Gaussian noise of standard deviation `noise` is added to both coordinates. Class 0 gets
    n // 2 points, class 1 the rest; the rows are in that order.

    >>> X, y = make_moons(10, noise=0.0)
    >>> X.shape, y.tolist().count(1)
    ((10, 2), 5)
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    if isinstance(noise, bool) or not isinstance(noise, int | float | np.floating):
        raise TypeError(f"noise must be a number, got {noise!r}")
    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise}")
    n_upper = n // 2
    n_lower = n - n_upper
    t_upper = np.linspace(0.0, np.pi, n_upper)
    t_lower = np.linspace(0.0, np.pi, n_lower)
    upper = np.column_stack([np.cos(t_upper), np.sin(t_upper)])
    lower = np.column_stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)])
    X = np.concatenate([upper, lower])
    if noise > 0:
        X = X + np.random.default_rng(seed).normal(scale=noise, size=X.shape)
    y = np.concatenate([np.zeros(n_upper, np.int64), np.ones(n_lower, np.int64)])
    return X.astype(dtype), y
