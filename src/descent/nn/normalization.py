"""Batch normalization: `BatchNorm1d` and `BatchNorm2d`, with PyTorch's conventions.

In training each channel is normalized by its batch mean and (biased) variance, then
scaled by `weight` (gamma) and shifted by `bias` (beta); the running mean and the
unbiased running variance move toward the batch's by `momentum`. In evaluation the
running statistics are used instead, so a prediction does not depend on its batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from descent.autodiff import Tensor, no_grad
from descent.nn.layers import _positive_int
from descent.nn.module import Module, Parameter


class _BatchNorm(Module):
    shapes: tuple[int, ...] = ()  # the input ranks the layer accepts

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, *,
                 affine: bool = True, dtype: Any = np.float32) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_features = _positive_int(num_features, f"{name} num_features")
        if not isinstance(eps, int | float) or isinstance(eps, bool) or not eps > 0:
            raise ValueError(f"{name} eps must be a positive number, got {eps!r}")
        if not isinstance(momentum, int | float) or isinstance(momentum, bool) \
                or not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{name} momentum must be in [0, 1], got {momentum!r}")
        self.eps, self.momentum, self.dtype = float(eps), float(momentum), np.dtype(dtype)
        c = self.num_features
        self.weight = Parameter(np.ones(c, self.dtype)) if affine else None
        self.bias = Parameter(np.zeros(c, self.dtype)) if affine else None
        self.register_buffer("running_mean", np.zeros(c, self.dtype))
        self.register_buffer("running_var", np.ones(c, self.dtype))

    def forward(self, x: Tensor) -> Tensor:
        name = type(self).__name__
        if x.ndim not in self.shapes or x.shape[1] != self.num_features:
            layouts = " or ".join(("(N, C)", "(N, C, L)", "(N, C, H, W)")[r - 2]
                                  for r in self.shapes)
            raise ValueError(f"{name}({self.num_features}) needs an input of shape {layouts} "
                             f"with C = {self.num_features}, got {x.shape}")
        axes = (0, *range(2, x.ndim))  # every axis but the channel
        shape = (1, self.num_features) + (1,) * (x.ndim - 2)
        if self.training:
            count = x.size // self.num_features
            if count < 2:
                raise ValueError(f"{name} in training needs more than one value per channel "
                                 f"(got input shape {x.shape}); use eval() for one example")
            mean = x.mean(axis=axes, keepdims=True)
            centred = x - mean
            var = (centred * centred).mean(axis=axes, keepdims=True)
            x_hat = centred / (var + self.eps) ** 0.5
            with no_grad():  # the running statistics are bookkeeping, not part of the graph
                m = self.momentum
                self.running_mean[...] = (1 - m) * self.running_mean + m * mean.data.reshape(-1)
                unbiased = var.data.reshape(-1) * (count / (count - 1))
                self.running_var[...] = (1 - m) * self.running_var + m * unbiased
        else:
            mean = self.running_mean.reshape(shape)
            x_hat = (x - mean) * (1.0 / np.sqrt(self.running_var + self.eps)).reshape(shape)
        if self.weight is None:
            return x_hat
        return x_hat * self.weight.reshape(shape) + self.bias.reshape(shape)

    def config(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "num_features": self.num_features,
                "eps": self.eps, "momentum": self.momentum, "affine": self.weight is not None,
                "dtype": self.dtype.name}

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm1d(_BatchNorm):
    """Batch normalization over (N, C) or (N, C, L) inputs, per channel C.

    >>> import descent as ds, numpy as np
    >>> bn = ds.nn.BatchNorm1d(3)
    >>> z = bn(ds.tensor(np.random.default_rng(0).normal(5, 2, (64, 3))))
    >>> bool(abs(z.data.mean()) < 1e-6), bn.running_mean.round(1).tolist()
    (True, [0.5, 0.5, 0.5])
    """

    shapes = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) inputs, per channel C (over N, H and W).

    >>> import descent as ds, numpy as np
    >>> ds.nn.BatchNorm2d(6)(ds.tensor(np.ones((2, 6, 4, 4), np.float32))).shape
    (2, 6, 4, 4)
    """

    shapes = (4,)
