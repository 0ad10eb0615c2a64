"""Convolution layers: `Conv1d` and `Conv2d`, in PyTorch's layouts.

Weights have PyTorch's shapes, (out_channels, in_channels, k) and (out_channels,
in_channels, kh, kw), so `layer.weight.data[...] = torch_layer.weight.detach().numpy()`
moves a trained filter between the two unchanged.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from descent.autodiff import Tensor, conv1d, conv2d
from descent.nn.init import get_initializer
from descent.nn.layers import Seed, _positive_int, _rng
from descent.nn.module import Module, Parameter


def _tuple(value: Any, d: int, what: str, minimum: int) -> tuple[int, ...]:
    items = tuple(value) if isinstance(value, tuple | list) else (value,) * d
    if len(items) != d:
        raise ValueError(f"{what} must be an integer or a tuple of {d}, got {value!r}")
    for v in items:
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < minimum:
            raise ValueError(f"{what} must be an integer >= {minimum} or a tuple of them, "
                             f"got {value!r}")
    return tuple(int(v) for v in items)


class _ConvNd(Module):
    d: int = 0

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, *, bias: bool = True, init: str = "he",
                 seed: Seed = None, dtype: Any = np.float32) -> None:
        super().__init__()
        name = type(self).__name__
        self.in_channels = _positive_int(in_channels, f"{name} in_channels")
        self.out_channels = _positive_int(out_channels, f"{name} out_channels")
        self.kernel_size = _tuple(kernel_size, self.d, f"{name} kernel_size", 1)
        self.stride = _tuple(stride, self.d, f"{name} stride", 1)
        self.dilation = _tuple(dilation, self.d, f"{name} dilation", 1)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name} padding must be an integer, a tuple, 'same' or "
                                 f"'valid', got {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name} padding='same' needs stride 1, got {stride!r}")
            self.padding: str | tuple[int, ...] = padding
        else:
            self.padding = _tuple(padding, self.d, f"{name} padding", 0)
        self.init = init
        self.dtype = np.dtype(dtype)
        get_initializer(init)  # fail now, not at reset time
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        self.weight = Parameter(np.zeros(shape, self.dtype))
        self.bias = Parameter(np.zeros(self.out_channels, self.dtype)) if bias else None
        self.reset_parameters(seed)

    def reset_parameters(self, seed: Seed = None) -> None:
        """Fresh weights from the initializer with fan_in = in_channels x kernel area (one
        output is a sum over that many inputs); biases start at 0."""
        fan_in = self.in_channels * math.prod(self.kernel_size)
        w = get_initializer(self.init)(fan_in, self.out_channels, _rng(seed), self.dtype)
        self.weight.data[...] = w.T.reshape(self.weight.shape)
        if self.bias is not None:
            self.bias.data[...] = 0

    def config(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "in_channels": self.in_channels,
                "out_channels": self.out_channels, "kernel_size": list(self.kernel_size),
                "stride": list(self.stride),
                "padding": self.padding if isinstance(self.padding, str) else list(self.padding),
                "dilation": list(self.dilation), "bias": self.bias is not None,
                "init": self.init, "dtype": self.dtype.name}

    def extra_repr(self) -> str:
        k = self.kernel_size[0] if self.d == 1 else self.kernel_size
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={k}"
        if any(s != 1 for s in self.stride):
            text += f", stride={self.stride}"
        if self.padding != (0,) * self.d:
            text += f", padding={self.padding!r}"
        if any(r != 1 for r in self.dilation):
            text += f", dilation={self.dilation}"
        return text + ("" if self.bias is not None else ", bias=False")


class Conv1d(_ConvNd):
    """1-D convolution layer: z = conv1d(x, weight, bias).

    Shapes: x (N, in_channels, L) -> z (N, out_channels, L_out); weight (out_channels,
    in_channels, k), bias (out_channels,). See `descent.conv1d` for L_out.

    >>> import descent as ds, numpy as np
    >>> layer = ds.nn.Conv1d(2, 4, 3, padding="same", seed=0)
    >>> layer(ds.tensor(np.zeros((5, 2, 10), np.float32))).shape
    (5, 4, 10)
    """

    d = 1

    def forward(self, x: Tensor) -> Tensor:
        return conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)


class Conv2d(_ConvNd):
    """2-D convolution layer: z = conv2d(x, weight, bias), the layer a picture network uses.

    Shapes: x (N, in_channels, H, W) -> z (N, out_channels, H_out, W_out); weight
    (out_channels, in_channels, kh, kw), bias (out_channels,). `kernel_size`, `stride`,
    `padding` and `dilation` take an int or an (h, w) pair; padding also "same" or "valid".

    >>> import descent as ds, numpy as np
    >>> layer = ds.nn.Conv2d(1, 6, 5, padding=2, seed=0)
    >>> layer(ds.tensor(np.zeros((2, 1, 28, 28), np.float32))).shape
    (2, 6, 28, 28)
    >>> layer.weight.shape
    (6, 1, 5, 5)
    """

    d = 2

    def forward(self, x: Tensor) -> Tensor:
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)
