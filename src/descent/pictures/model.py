"""`ImageModel`: a picture network with what it needs to read new pictures, as one object.

A picture file goes in, is read the way the training pictures were (`read_image`: upright,
RGB over white, resized to the model's size, 1 or 3 channels), scaled to [0, 1], and the
network gives one logit per class; softmax makes them probabilities. `save` writes the
network and this reading recipe (size, channels, class names) into one model file;
`load` reads it back and checks that the pieces fit before returning.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from descent.autodiff import Tensor, no_grad
from descent.data.image_set import SCALE
from descent.data.images import read_image
from descent.data.pixels import PixelArray
from descent.errors import ModelFileError
from descent.io.models import load_model, save
from descent.nn import Module
from descent.train import predict_array

FORMAT = "descent.ImageModel"
VERSION = 1
MAX_CLASSES = 100_000
MAX_SIDE = 1024


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of logits (n, K), computed stably in float64.

    >>> softmax(np.array([[0.0, 0.0], [0.0, np.log(3.0)]])).round(3).tolist()
    [[0.5, 0.5], [0.25, 0.75]]
    """
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


@dataclass
class ImageModel:
    """A trained picture classifier and how it reads pictures.

    Attributes: `network` (logits (n, K) from pictures (n, C, H, W) in [0, 1]), `classes`
    (K names, in output order), `size` (H, W) and `channels` (1 gray, 3 RGB).

    >>> import descent as ds
    >>> m = ImageModel(ds.nn.ConvNet((1, 8, 8), 2, seed=0), ["cat", "dog"], (8, 8), 1)
    >>> m.probabilities(np.zeros((3, 1, 8, 8), np.uint8)).shape
    (3, 2)
    """

    network: Module
    classes: list[str]
    size: tuple[int, int]
    channels: int

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one picture as the network reads it."""
        return (self.channels, *self.size)

    def floats(self, images: np.ndarray) -> np.ndarray:
        """uint8 pictures (n, C, H, W) as the network's floats in [0, 1]."""
        return np.asarray(images, dtype=np.float32) * np.float32(SCALE)

    def logits(self, images: np.ndarray) -> np.ndarray:
        """The network's outputs (n, K) for uint8 pictures (n, C, H, W) (made floats a
        chunk at a time: no float copy of them all)."""
        images = np.asarray(images)
        if images.dtype == np.uint8 and images.ndim == 4:
            return predict_array(self.network, PixelArray(images, SCALE, np.float32))
        return predict_array(self.network, self.floats(images))

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities (n, K) for uint8 pictures (n, C, H, W)."""
        return softmax(self.logits(images))

    def read(self, path: str | os.PathLike[str]) -> np.ndarray:
        """One picture file as this model reads it: uint8 (C, H, W); DataError names a bad file."""
        return read_image(path, self.size, self.channels)

    # ---- files -----------------------------------------------------------------------------
    def preprocessing(self) -> dict[str, Any]:
        """The reading recipe, as JSON-safe data for the model file."""
        return {"format": FORMAT, "version": VERSION, "classes": list(self.classes),
                "size": list(self.size), "channels": self.channels, "scale": SCALE,
                "transparent": "over white"}

    def save(self, path: str | os.PathLike[str], extra: dict[str, Any] | None = None) -> None:
        """Write the model and its reading recipe to `path` (atomic; SaveError on failure)."""
        save(self.network, path, preprocessing=self.preprocessing(), extra=extra)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> tuple[ImageModel, dict[str, Any]]:
        """(model, extra metadata) from a file written by `save`.

        Raises ModelFileError naming the path when the file is not a picture model or its
        parts do not fit (class count against the network's outputs, picture size against
        what the network reads).
        """
        saved = load_model(path)
        source = os.fspath(path)
        pre = saved.preprocessing
        if not isinstance(pre, dict) or pre.get("format") != FORMAT:
            raise ModelFileError(f"{source}: not a picture model (it has no picture size and "
                                 "classes); train one with `descent train FOLDER`")
        if pre.get("version") != VERSION:
            raise ModelFileError(f"{source}: picture model format version "
                                 f"{pre.get('version')!r}; this descent reads {VERSION}")
        classes, size, channels = pre.get("classes"), pre.get("size"), pre.get("channels")
        if (not isinstance(classes, list) or not 2 <= len(classes) <= MAX_CLASSES
                or not all(isinstance(c, str) for c in classes)):
            raise ModelFileError(f"{source}: classes must be a list of 2 or more names")
        if (not isinstance(size, list) or len(size) != 2
                or not all(isinstance(s, int) and 1 <= s <= MAX_SIDE for s in size)):
            raise ModelFileError(f"{source}: size must be [height, width], 1 to {MAX_SIDE}")
        if channels not in (1, 3) or isinstance(channels, bool):
            raise ModelFileError(f"{source}: channels must be 1 or 3, got {channels!r}")
        model = cls(saved.model, list(classes), (size[0], size[1]), channels)
        model._check_consistent(source)
        return model, saved.extra

    def _check_consistent(self, source: str) -> None:
        """One blank picture through the network: its output must be one logit per class."""
        dtype = self.network.parameters()[0].dtype if self.network.parameters() else np.float32
        try:
            with no_grad():
                out = self.network(Tensor(np.zeros((1, *self.input_shape), dtype))).data
        except (ValueError, TypeError, IndexError) as error:
            raise ModelFileError(f"{source}: the network cannot read {self.channels}-channel "
                                 f"{self.size[0]}x{self.size[1]} pictures ({error})") from None
        if out.shape != (1, len(self.classes)):
            raise ModelFileError(f"{source}: the network gives {out.shape[1:]} outputs for "
                                 f"{len(self.classes)} classes")
