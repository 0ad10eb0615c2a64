"""Weight initializers (Efficient BackProp §4.6, Glorot & Bengio 2010, He et al. 2015).

Each takes `(fan_in, fan_out, rng, dtype)` and returns a `(fan_in, fan_out)` array.
The aim of all three: keep the variance of each layer's z near that of its input, so
signals neither die nor blow up on the way forward and deltas likewise on the way back.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Initializer = Callable[[int, int, np.random.Generator, np.dtype], np.ndarray]


def lecun_normal(fan_in: int, fan_out: int, rng: np.random.Generator, dtype=np.float32):
    """N(0, σ²) with σ = fan_in^-1/2: for tanh-like units with standardized inputs."""
    return (rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(dtype)


def glorot_uniform(fan_in: int, fan_out: int, rng: np.random.Generator, dtype=np.float32):
    """U(-r, r) with r = sqrt(6 / (fan_in + fan_out)): balances forward and backward variance."""
    r = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-r, r, (fan_in, fan_out)).astype(dtype)


def he_normal(fan_in: int, fan_out: int, rng: np.random.Generator, dtype=np.float32):
    """N(0, 2/fan_in): ReLU zeroes half its inputs, so it needs twice LeCun's variance."""
    return (rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)).astype(dtype)


INITIALIZERS: dict[str, Initializer] = {
    "lecun": lecun_normal,
    "glorot": glorot_uniform,
    "he": he_normal,
}

# The default follows the activation that consumes the layer's output.
DEFAULT_FOR_ACTIVATION = {
    "tanh": "lecun", "scaled_tanh": "lecun", "identity": "lecun", "softmax": "lecun",
    "sigmoid": "glorot",
    "relu": "he", "leaky_relu": "he",
}


def get_initializer(name: str) -> Initializer:
    """The initializer called `name` ("lecun", "glorot" or "he")."""
    key = str(name).lower()
    if key not in INITIALIZERS:
        raise ValueError(f"unknown init {name!r}; choose one of: {', '.join(INITIALIZERS)}")
    return INITIALIZERS[key]
