"""Pooling and reshaping layers: `MaxPool1d/2d`, `AvgPool1d/2d`, `GlobalAvgPool`, `Flatten`.

None has parameters; each is one call of the functions in `descent.autodiff.convolution`
(or one reduction), so their derivatives are the engine's.
"""

from __future__ import annotations

from typing import Any

from descent.autodiff import Tensor, avg_pool1d, avg_pool2d, max_pool1d, max_pool2d
from descent.nn.conv import _tuple
from descent.nn.module import Module

_POOLS = {("max", 1): max_pool1d, ("max", 2): max_pool2d, ("avg", 1): avg_pool1d,
          ("avg", 2): avg_pool2d}


class _Pool(Module):
    kind, d = "", 0

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        name = type(self).__name__
        self.kernel_size = _tuple(kernel_size, self.d, f"{name} kernel_size", 1)
        self.stride = self.kernel_size if stride is None else _tuple(
            stride, self.d, f"{name} stride", 1)
        self.padding = _tuple(padding, self.d, f"{name} padding", 0)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size, strict=True)):
            raise ValueError(f"{name} padding {padding!r} is more than half the kernel "
                             f"{kernel_size!r}")

    def forward(self, x: Tensor) -> Tensor:
        pool = _POOLS[self.kind, self.d]
        return pool(x, self.kernel_size, self.stride, self.padding)

    def config(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "kernel_size": list(self.kernel_size),
                "stride": list(self.stride), "padding": list(self.padding)}

    def extra_repr(self) -> str:
        k = self.kernel_size[0] if self.d == 1 else self.kernel_size
        text = f"kernel_size={k}"
        if self.stride != self.kernel_size:
            text += f", stride={self.stride}"
        return text + (f", padding={self.padding}" if any(self.padding) else "")


class MaxPool1d(_Pool):
    """The max of each window: (N, C, L) -> (N, C, L_out); stride defaults to the kernel.

    >>> import descent as ds, numpy as np
    >>> ds.nn.MaxPool1d(2)(ds.tensor(np.zeros((1, 3, 8)))).shape
    (1, 3, 4)
    """

    kind, d = "max", 1


class MaxPool2d(_Pool):
    """The max of each window: (N, C, H, W) -> (N, C, H_out, W_out).

    >>> import descent as ds, numpy as np
    >>> ds.nn.MaxPool2d(2)(ds.tensor(np.zeros((1, 3, 28, 28)))).shape
    (1, 3, 14, 14)
    """

    kind, d = "max", 2


class AvgPool1d(_Pool):
    """The mean of each window: (N, C, L) -> (N, C, L_out).

    >>> import descent as ds, numpy as np
    >>> ds.nn.AvgPool1d(3, stride=1)(ds.tensor(np.zeros((1, 3, 8)))).shape
    (1, 3, 6)
    """

    kind, d = "avg", 1


class AvgPool2d(_Pool):
    """The mean of each window: (N, C, H, W) -> (N, C, H_out, W_out).

    >>> import descent as ds, numpy as np
    >>> ds.nn.AvgPool2d(2)(ds.tensor(np.zeros((1, 3, 7, 7)))).shape
    (1, 3, 3, 3)
    """

    kind, d = "avg", 2


class GlobalAvgPool(Module):
    """The mean of each channel over all its positions: (N, C, ...) -> (N, C).

    >>> import descent as ds, numpy as np
    >>> ds.nn.GlobalAvgPool()(ds.tensor(np.ones((2, 5, 4, 4)))).shape
    (2, 5)
    """

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 3:
            raise ValueError(f"GlobalAvgPool needs an input of shape (N, C, ...), got {x.shape}")
        return x.mean(axis=tuple(range(2, x.ndim)))

    def config(self) -> dict[str, Any]:
        return {"type": "GlobalAvgPool"}


class Flatten(Module):
    """Each example's values in one row: (N, d1, d2, ...) -> (N, d1*d2*...).

    >>> import descent as ds, numpy as np
    >>> ds.nn.Flatten()(ds.tensor(np.ones((2, 16, 5, 5)))).shape
    (2, 400)
    """

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], -1)

    def config(self) -> dict[str, Any]:
        return {"type": "Flatten"}
