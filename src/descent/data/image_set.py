"""`ImageSet`: labelled pictures held as uint8, float batches made on demand, honest splits.

Pictures stay uint8 (N, C, H, W): a quarter of float32's memory. `floats(rows)` turns the
rows asked for into float32 in [0, 1] (x / 255), which is all the scaling a picture
network needs here. `split` keeps exact duplicates together: two copies of one picture,
one in training and one in test, would let a network score by remembering rather than
by generalising.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from descent.data.pixels import SCALE, PixelArray
from descent.data.splits import split_indices
from descent.errors import DataError


@dataclass(eq=False)
class ImageSet:
    """Pictures and their classes.

    Attributes:
        images: uint8 (N, C, H, W), C = 1 (gray) or 3 (RGB).
        labels: int64 (N,), indices into `classes`.
        classes: class names, in label order.
        files: where each picture came from (paths relative to `source`).
        source: the folder (or data set) they were read from.
        skipped: one line per bad file or folder that was skipped (skip_bad=True).

    >>> s = ImageSet(np.zeros((2, 1, 3, 3), np.uint8), np.array([0, 1]), ["a", "b"],
    ...              ["a/1.png", "b/1.png"])
    >>> len(s), s.shape, s.floats([1]).dtype
    (2, (1, 3, 3), dtype('float32'))
    """

    images: np.ndarray
    labels: np.ndarray
    classes: list[str]
    files: list[str]
    source: str = "images"
    skipped: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8 or self.images.ndim != 4:
            raise ValueError(f"images must be uint8 (N, C, H, W), got {self.images.dtype} "
                             f"{self.images.shape}")
        if self.labels.shape != (len(self.images),) or len(self.files) != len(self.images):
            raise ValueError(f"{len(self.images)} images need as many labels and files, got "
                             f"{self.labels.shape[0]} and {len(self.files)}")
        if len(self.labels) and not 0 <= self.labels.min() <= self.labels.max() < len(
                self.classes):
            raise ValueError(f"labels must index the {len(self.classes)} classes")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H, W) of every picture."""
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def floats(self, rows: Sequence[int] | np.ndarray | None = None,
               dtype: type = np.float32) -> np.ndarray:
        """Pictures `rows` (default: all) as floats in [0, 1], shape (n, C, H, W)."""
        chosen = self.images if rows is None else self.images[np.asarray(rows)]
        return chosen.astype(dtype) * dtype(SCALE)

    def pixels(self, rows: Sequence[int] | np.ndarray | None = None) -> PixelArray:
        """Pictures `rows` (default: all) kept uint8, as a PixelArray whose batches are the
        floats `floats(rows)` would give: what `fit` trains from without a float copy.

        >>> s = ImageSet(np.full((2, 1, 1, 1), 255, np.uint8), np.array([0, 1]), ["a", "b"],
        ...              ["a/1.png", "b/1.png"])
        >>> s.pixels([1]).take([0]).tolist() == s.floats([1]).tolist()
        True
        """
        chosen = self.images if rows is None else self.images[np.asarray(rows)]
        return PixelArray(chosen, SCALE, np.float32)

    def take(self, rows: Sequence[int] | np.ndarray) -> ImageSet:
        """The pictures `rows`, as a new ImageSet with the same classes.

        >>> s = ImageSet(np.zeros((3, 1, 2, 2), np.uint8), np.array([0, 1, 1]), ["a", "b"],
        ...              ["x", "y", "z"])
        >>> s.take([2, 0]).files
        ['z', 'x']
        """
        rows = np.asarray(rows, dtype=np.int64)
        return ImageSet(self.images[rows], self.labels[rows], list(self.classes),
                        [self.files[i] for i in rows], self.source, list(self.skipped))

    def counts(self) -> dict[str, int]:
        """Pictures per class.

        >>> ImageSet(np.zeros((3, 1, 1, 1), np.uint8), np.array([0, 1, 1]), ["a", "b"],
        ...          ["x", "y", "z"]).counts()
        {'a': 1, 'b': 2}
        """
        n = np.bincount(self.labels, minlength=len(self.classes))
        return {c: int(k) for c, k in zip(self.classes, n, strict=True)}

    def duplicate_groups(self) -> np.ndarray:
        """int64 (N,): one group number per distinct picture; exact copies share it.

        >>> s = ImageSet(np.array([[[[1]]], [[[2]]], [[[1]]]], np.uint8), np.array([0, 0, 0]),
        ...              ["a"], ["x", "y", "z"])
        >>> s.duplicate_groups().tolist()
        [0, 1, 0]
        """
        seen: dict[bytes, int] = {}
        groups = np.empty(len(self), dtype=np.int64)
        for i, picture in enumerate(self.images):
            digest = hashlib.sha256(np.ascontiguousarray(picture).tobytes()).digest()
            groups[i] = seen.setdefault(digest, len(seen))
        return groups

    def split(self, fractions: Sequence[float] = (0.8, 0.2), *,
              seed: int | np.random.Generator | None = 0) -> tuple[np.ndarray, ...]:
        """Row indices of parts with the given fractions (e.g. train, validation, test).

        Stratified by class, and exact duplicates always land in the same part: the
        distinct pictures are split, then each brings its copies along. A picture filed
        under two different classes is a DataError naming both files (its label would be
        a coin toss).

        >>> pics = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1)
        >>> pics[9] = pics[0]  # a copy of the first picture
        >>> s = ImageSet(pics, np.array([0] * 5 + [1] * 4 + [0]), ["a", "b"],
        ...              [str(i) for i in range(10)])
        >>> train, test = s.split((0.8, 0.2), seed=0)
        >>> (0 in train) == (9 in train), len(train) + len(test)
        (True, 10)
        """
        groups = self.duplicate_groups()
        n_groups = int(groups.max()) + 1 if len(groups) else 0
        group_label = np.full(n_groups, -1, dtype=np.int64)
        first = np.full(n_groups, -1, dtype=np.int64)
        for i, (g, y) in enumerate(zip(groups, self.labels, strict=True)):
            if group_label[g] == -1:
                group_label[g], first[g] = y, i
            elif group_label[g] != y:
                raise DataError(
                    f"{self.source}: {self.files[first[g]]} and {self.files[i]} are the same "
                    f"picture filed under two classes ({self.classes[group_label[g]]}, "
                    f"{self.classes[y]}); remove one")
        parts = split_indices(n_groups, fractions, seed=seed, stratify=group_label)
        return tuple(np.flatnonzero(np.isin(groups, part)) for part in parts)
