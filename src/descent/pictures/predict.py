"""Predict for picture files, streaming: a few hundred pictures in memory at a time.

The input is one picture file or a folder (searched recursively, hidden entries skipped,
natural order; files without a picture extension are left alone and counted). The output
is CSV: `file`, `predicted_class`, then one `probability_<class>` column per class in the
model's class order. Probabilities are written with `repr`, the shortest text that reads
back as the same float64.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np

from descent.data.images import _files_of, is_image_file
from descent.errors import DataError
from descent.pictures.model import ImageModel

CHUNK = 256


@dataclass
class PictureFiles:
    """The pictures to predict and what was left aside: `ignored` files without a picture
    extension (in a folder), `skipped` unreadable pictures (filled in while predicting
    with skip_bad)."""

    files: list[Path]
    ignored: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def picture_files(path: str | os.PathLike[str]) -> PictureFiles:
    """The picture files of `path`: itself if a file, else every picture under the folder.

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("b/img10.png", "b/img9.png", "a.txt"):
    ...     (root / name).parent.mkdir(exist_ok=True)
    ...     _ = (root / name).write_bytes(b"")
    >>> found = picture_files(root)
    >>> [p.name for p in found.files], [p.name for p in found.ignored]
    (['img9.png', 'img10.png'], ['a.txt'])
    """
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: no such file or folder")
    if p.is_file():
        if not is_image_file(p):
            raise DataError(f"{p}: not a picture file (descent reads .png, .jpg, .jpeg, .bmp, "
                            ".gif, .webp, .tif, .tiff)")
        return PictureFiles([p])
    every = _files_of(p)
    found = PictureFiles([f for f in every if is_image_file(f)],
                         [f for f in every if not is_image_file(f)])
    if not found.files:
        raise DataError(f"{p}: no picture files in this folder")
    return found


def predict_files(model: ImageModel, found: PictureFiles, *, skip_bad: bool = False,
                  skip_hint: str = "skip_bad=True", chunk: int = CHUNK
                  ) -> Iterator[tuple[Path, np.ndarray]]:
    """(file, class probabilities (K,)) for every picture, `chunk` pictures at a time.

    A bad picture raises DataError naming it, or with `skip_bad` is listed in
    `found.skipped` and left out.
    """
    batch: list[np.ndarray] = []
    names: list[Path] = []

    def flush() -> Iterator[tuple[Path, np.ndarray]]:
        proba = model.probabilities(np.stack(batch))
        yield from zip(names, proba, strict=True)
        batch.clear()
        names.clear()

    for path in found.files:
        try:
            batch.append(model.read(path))
        except DataError as error:
            if not skip_bad:
                raise DataError(f"{error} ({skip_hint} skips such files)") from None
            found.skipped.append(str(error))
            continue
        names.append(path)
        if len(batch) == chunk:
            yield from flush()
    if batch:
        yield from flush()


def write_picture_predictions(model: ImageModel, path: str | os.PathLike[str], out: TextIO,
                              *, skip_bad: bool = False, skip_hint: str = "skip_bad=True"
                              ) -> PictureFiles:
    """Write the CSV of predictions for the pictures at `path` to `out`; returns what was
    predicted, ignored and skipped.

    >>> import io, tempfile, pathlib, descent as ds
    >>> from PIL import Image
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> Image.new("L", (8, 8), 255).save(folder / "white.png")
    >>> m = ImageModel(ds.nn.ConvNet((1, 8, 8), 2, seed=0), ["cat", "dog"], (8, 8), 1)
    >>> text = io.StringIO()
    >>> _ = write_picture_predictions(m, folder, text)
    >>> text.getvalue().splitlines()[0]
    'file,predicted_class,probability_cat,probability_dog'
    """
    found = picture_files(path)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["file", "predicted_class", *(f"probability_{c}" for c in model.classes)])
    for file, proba in predict_files(model, found, skip_bad=skip_bad, skip_hint=skip_hint):
        writer.writerow([str(file), model.classes[int(np.argmax(proba))],
                         *(repr(float(p)) for p in proba)])
    return found
