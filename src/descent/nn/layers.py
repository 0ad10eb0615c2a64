"""Layers: `Linear`, `Sequential`, and `MLP` for the common case."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from descent.autodiff import Tensor
from descent.nn.activations import Activation, activation_name
from descent.nn.init import DEFAULT_FOR_ACTIVATION, get_initializer
from descent.nn.module import Module, Parameter

Seed = int | np.random.Generator | None


def _rng(seed: Seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


class Linear(Module):
    """z = x @ weight + bias, with weight of shape (in_features, out_features).

    The weight is stored input-major so that the forward pass is `x @ w` with no
    transpose; a row of x is one example (batch-first), as in the seeds' N examples.

    Shapes: x (N, in_features) -> z (N, out_features).

    >>> import descent as ds
    >>> layer = ds.nn.Linear(3, 2, seed=0)
    >>> layer(ds.tensor([[1.0, 2.0, 3.0]])).shape
    (1, 2)
    """

    def __init__(self, in_features: int, out_features: int, *, bias: bool = True,
                 init: str = "lecun", seed: Seed = None, dtype: Any = np.float32) -> None:
        super().__init__()
        self.in_features = _positive_int(in_features, "in_features")
        self.out_features = _positive_int(out_features, "out_features")
        self.init = init
        self.dtype = np.dtype(dtype)
        get_initializer(init)  # fail now, not at reset time
        self.weight = Parameter(np.zeros((self.in_features, self.out_features), self.dtype))
        self.bias = Parameter(np.zeros(self.out_features, self.dtype)) if bias else None
        self.reset_parameters(seed)

    def reset_parameters(self, seed: Seed = None) -> None:
        """Draw fresh weights with the layer's initializer; biases start at 0."""
        w = get_initializer(self.init)(self.in_features, self.out_features, _rng(seed), self.dtype)
        self.weight.data[...] = w
        if self.bias is not None:
            self.bias.data[...] = 0

    def forward(self, x: Tensor) -> Tensor:
        z = x @ self.weight
        return z + self.bias if self.bias is not None else z

    def config(self) -> dict[str, Any]:
        return {"type": "Linear", "in_features": self.in_features,
                "out_features": self.out_features, "bias": self.bias is not None,
                "init": self.init, "dtype": self.dtype.name}

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Sequential(Module):
    """Layers applied in order; layer i is registered under the name "i".

    >>> import descent as ds
    >>> net = ds.nn.Sequential(ds.nn.Linear(2, 4, seed=0), ds.nn.Tanh(), ds.nn.Linear(4, 1, seed=1))
    >>> net(ds.tensor([[0.5, -0.5]])).shape
    (1, 1)
    """

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: item {i} is {type(layer).__name__}, not a Module")
            setattr(self, str(i), layer)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __len__(self) -> int:
        return len(self._modules)

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def forward(self, x: Tensor) -> Tensor:
        for layer in self._modules.values():
            x = layer(x)
        return x

    def config(self) -> dict[str, Any]:
        return {"type": "Sequential", "layers": [layer.config() for layer in self]}


class MLP(Sequential):
    """A multilayer perceptron: Linear, activation, ..., Linear, output activation.

    `sizes` lists the widths from input to output, e.g. [13, 64, 64, 1]. The initializer
    of each layer follows the activation after it (LeCun for tanh, He for ReLU, ...)
    unless `init` names one. `output_activation=None` gives a linear output (regression,
    or logits for the cross-entropy losses).

    >>> import descent as ds
    >>> net = ds.nn.MLP([2, 2, 1], activation="sigmoid", output_activation="sigmoid", seed=0)
    >>> net(ds.tensor([[0.0, 1.0]])).shape
    (1, 1)
    """

    def __init__(self, sizes: Sequence[int], activation: str = "tanh",
                 output_activation: str | None = None, *, init: str | None = None,
                 seed: Seed = None, dtype: Any = np.float32) -> None:
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"MLP sizes needs at least input and output widths, got {sizes}")
        for s in sizes:
            _positive_int(s, "every MLP size")
        hidden, out = activation_name(activation), activation_name(output_activation)
        rng = _rng(seed)
        layers: list[Module] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            act = hidden if i < len(sizes) - 2 else out
            layer_init = init or DEFAULT_FOR_ACTIVATION[act]
            layers.append(Linear(n_in, n_out, init=layer_init, seed=rng, dtype=dtype))
            if act != "identity":
                layers.append(Activation(act))
        super().__init__(*layers)
        self.sizes, self.activation, self.output_activation = sizes, hidden, out
        self.init = init

    def config(self) -> dict[str, Any]:
        return {"type": "MLP", "sizes": self.sizes, "activation": self.activation,
                "output_activation": self.output_activation, "init": self.init,
                "dtype": self[0].dtype.name}


def _dtype(name: Any) -> np.dtype:
    if name not in ("float32", "float64"):
        raise ValueError(f"layer dtype must be float32 or float64, got {name!r}")
    return np.dtype(name)
