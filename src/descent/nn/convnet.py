"""`ConvNet`: the default small convolutional network for pictures, LeNet-5 style.

Blocks of [convolution, (batch norm), ReLU, 2x2 max-pool], then Flatten, (Dropout) and
dense ReLU layers down to one logit per class. With the defaults on 28 x 28 grayscale
pictures this is LeNet-5's shape: conv 1->6 5x5, pool, conv 6->16 5x5, pool, dense 120, 84.
The convolutions keep the picture's size (padding k//2) and a block pools only while the
picture is at least 2 pixels on each side, so any picture size works (8 x 8 digits too).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from descent.nn.layers import Seed, Sequential, _positive_int, _rng

# Limits on what an architecture may ask for: a model file from a stranger must not make
# us build a 10^9-channel layer or a 10^6-pixel kernel. Real picture networks are far below.
MAX_CHANNELS = 65536
MAX_WINDOW = 1024      # kernel size, stride, padding and dilation, per axis
MAX_SIDE = 16384       # a picture's height or width
MAX_FEATURES = 2**26   # units of one layer


def convnet_layers(input_shape: Sequence[int], classes: int, *,
                   channels: Sequence[int] = (6, 16), kernel_size: int = 5,
                   hidden: Sequence[int] = (120, 84), batch_norm: bool = False,
                   dropout: float = 0.0, dtype: str = "float32") -> list[dict[str, Any]]:
    """The layer configs of a ConvNet: what it is made of, computed without building it.

    >>> [c["type"] for c in convnet_layers((1, 28, 28), 10)][:4]
    ['Conv2d', 'Activation', 'MaxPool2d', 'Conv2d']
    """
    shape = list(input_shape) if isinstance(input_shape, list | tuple) else None
    if shape is None or len(shape) != 3:
        raise ValueError(f"ConvNet input_shape must be (channels, height, width), "
                         f"got {input_shape!r}")
    c, h, w = (_positive_int(v, "ConvNet input_shape") for v in shape)
    if c > MAX_CHANNELS or h > MAX_SIDE or w > MAX_SIDE:
        raise ValueError(f"ConvNet input_shape {tuple(shape)} is too large (at most "
                         f"{MAX_CHANNELS} channels and {MAX_SIDE} pixels a side)")
    classes = _positive_int(classes, "ConvNet classes")
    k = _positive_int(kernel_size, "ConvNet kernel_size")
    if k > MAX_WINDOW:
        raise ValueError(f"ConvNet kernel_size {k} is larger than {MAX_WINDOW}")
    if not isinstance(channels, list | tuple) or not isinstance(hidden, list | tuple):
        raise ValueError("ConvNet channels and hidden must be lists of integers")
    if isinstance(dropout, bool) or not isinstance(dropout, int | float) \
            or not 0.0 <= dropout < 1.0:
        raise ValueError(f"ConvNet dropout must be in [0, 1), got {dropout!r}")
    layers: list[dict[str, Any]] = []
    for n in channels:
        n = _positive_int(n, "every ConvNet channel count")
        if n > MAX_CHANNELS:
            raise ValueError(f"ConvNet channel count {n} is larger than {MAX_CHANNELS}")
        layers.append({"type": "Conv2d", "in_channels": c, "out_channels": n,
                       "kernel_size": [k, k], "padding": [k // 2, k // 2],
                       "stride": [1, 1], "dilation": [1, 1], "bias": not batch_norm,
                       "init": "he", "dtype": dtype})
        h, w = h + 2 * (k // 2) - k + 1, w + 2 * (k // 2) - k + 1  # even k shrinks by one
        if batch_norm:
            layers.append({"type": "BatchNorm2d", "num_features": n, "dtype": dtype})
        layers.append({"type": "Activation", "name": "relu"})
        if h >= 2 and w >= 2:
            layers.append({"type": "MaxPool2d", "kernel_size": [2, 2]})
            h, w = h // 2, w // 2
        c = n
    layers.append({"type": "Flatten"})
    if dropout:
        layers.append({"type": "Dropout", "p": float(dropout)})
    width = c * h * w
    for n in hidden:
        n = _positive_int(n, "every ConvNet hidden width")
        if n > MAX_FEATURES or width > MAX_FEATURES:
            raise ValueError(f"ConvNet dense layer {width}->{n} is larger than {MAX_FEATURES}")
        layers.append({"type": "Linear", "in_features": width, "out_features": n,
                       "init": "he", "dtype": dtype})
        layers.append({"type": "Activation", "name": "relu"})
        width = n
    if width > MAX_FEATURES:
        raise ValueError(f"ConvNet output layer {width}->{classes} is too large")
    layers.append({"type": "Linear", "in_features": width, "out_features": classes,
                   "init": "lecun", "dtype": dtype})
    return layers


class ConvNet(Sequential):
    """A small convolutional classifier sized from the picture: a good default.

    `input_shape` is (channels, height, width) of one picture; the output is one logit per
    class (train it with loss="cross_entropy"). `channels` gives the convolution widths
    (one block each), `kernel_size` their square kernel, `hidden` the dense widths after
    flattening; `batch_norm` adds BatchNorm2d after each convolution and `dropout` a
    Dropout before the dense layers.

    Shapes: x (N, C, H, W) -> logits (N, classes).

    >>> import descent as ds, numpy as np
    >>> net = ds.nn.ConvNet((1, 28, 28), classes=10, seed=0)
    >>> net(ds.tensor(np.zeros((2, 1, 28, 28), np.float32))).shape
    (2, 10)
    >>> [type(layer).__name__ for layer in net][:6]
    ['Conv2d', 'Activation', 'MaxPool2d', 'Conv2d', 'Activation', 'MaxPool2d']
    """

    def __init__(self, input_shape: Sequence[int], classes: int, *,
                 channels: Sequence[int] = (6, 16), kernel_size: int = 5,
                 hidden: Sequence[int] = (120, 84), batch_norm: bool = False,
                 dropout: float = 0.0, seed: Seed = None, dtype: Any = np.float32) -> None:
        from descent.nn.config import from_config

        dtype_name = np.dtype(dtype).name
        if dtype_name not in ("float32", "float64"):
            raise ValueError(f"ConvNet dtype must be float32 or float64, got {dtype!r}")
        configs = convnet_layers(input_shape, classes, channels=channels,
                                 kernel_size=kernel_size, hidden=hidden,
                                 batch_norm=batch_norm, dropout=dropout, dtype=dtype_name)
        rng = _rng(seed)
        layers = [from_config(c) for c in configs]
        for layer in layers:  # draw every weight from the one seeded stream, in order
            if hasattr(layer, "reset_parameters"):
                layer.reset_parameters(rng)
            if hasattr(layer, "rng"):
                layer.rng = np.random.default_rng(rng.integers(2**63))
        super().__init__(*layers)
        self.input_shape = tuple(int(v) for v in input_shape)
        self.classes = int(classes)
        self.channels, self.hidden = [int(c) for c in channels], [int(n) for n in hidden]
        self.kernel_size, self.batch_norm = int(kernel_size), bool(batch_norm)
        self.dropout, self.dtype_name = float(dropout), dtype_name

    def config(self) -> dict[str, Any]:
        return {"type": "ConvNet", "input_shape": list(self.input_shape),
                "classes": self.classes, "channels": self.channels,
                "kernel_size": self.kernel_size, "hidden": self.hidden,
                "batch_norm": self.batch_norm, "dropout": self.dropout,
                "dtype": self.dtype_name}
