"""`Dropout`: during training, zero each value with probability p and scale the rest by
1/(1-p) ("inverted" dropout), so that evaluation needs no rescaling and passes x through."""

from __future__ import annotations

from typing import Any

import numpy as np

from descent.autodiff import Tensor
from descent.nn.layers import Seed, _rng
from descent.nn.module import Module


class Dropout(Module):
    """Randomly zero values in training (probability `p`), identity in evaluation.

    The kept values are scaled by 1/(1-p) so each value's expectation is unchanged. The
    gradient flows only through the kept values, with the same scale. `seed` makes the
    masks reproducible.

    >>> import descent as ds, numpy as np
    >>> drop = ds.nn.Dropout(0.5, seed=0)
    >>> sorted(set(drop(ds.tensor(np.ones(1000))).data.tolist()))
    [0.0, 2.0]
    >>> drop.eval()(ds.tensor(np.ones(3))).data.tolist()
    [1.0, 1.0, 1.0]
    """

    def __init__(self, p: float = 0.5, *, seed: Seed = None) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout p must be a probability in [0, 1], got {p!r}")
        self.p = float(p)
        self.rng = _rng(seed)

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        if self.p == 1.0:
            return x * np.zeros(x.shape, x.dtype)
        keep = self.rng.random(x.shape) >= self.p
        return x * (keep / (1.0 - self.p)).astype(x.dtype)

    def config(self) -> dict[str, Any]:
        return {"type": "Dropout", "p": self.p}

    def extra_repr(self) -> str:
        return f"p={self.p}"
