"""Activation functions in one name-keyed table, as functions and as modules.

Their derivatives come from the engine's primitive table; none is written here again.
Why they must be nonlinear: without them W_o(W_i x) = (W_o W_i) x, and any stack of
layers collapses into one linear layer (see `descent.explain.collapse_linear`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from descent import autodiff as ad
from descent.autodiff import Tensor
from descent.nn.module import Module


def identity(x: Tensor) -> Tensor:
    """f(x) = x (a linear output, for regression)."""
    return x


def scaled_tanh(x: Tensor) -> Tensor:
    """1.7159 tanh(2x/3), Efficient BackProp §4.4: f(±1) = ±1, and the gain is largest there."""
    return 1.7159 * ad.tanh(x * (2.0 / 3.0))


def softmax(x: Tensor) -> Tensor:
    """Softmax over the last axis (class probabilities)."""
    return ad.softmax(x, axis=-1)


ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "sigmoid": ad.sigmoid,
    "tanh": ad.tanh,
    "scaled_tanh": scaled_tanh,
    "relu": ad.relu,
    "leaky_relu": ad.leaky_relu,
    "identity": identity,
    "softmax": softmax,
}

_ALIASES = {"linear": "identity", "none": "identity", "logistic": "sigmoid",
            "lecun_tanh": "scaled_tanh", "leakyrelu": "leaky_relu"}


def activation_name(name: str | None) -> str:
    """Normalise an activation name (None means identity); ValueError lists the valid ones."""
    if name is None:
        return "identity"
    if not isinstance(name, str):
        raise TypeError(f"activation must be a name (str), got {type(name).__name__}")
    key = name.strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {name!r}; choose one of: {', '.join(sorted(ACTIVATIONS))}"
        )
    return key


def get_activation(name: str | None) -> Callable[[Tensor], Tensor]:
    """The activation function called `name`.

    >>> import descent as ds
    >>> float(ds.nn.get_activation("relu")(ds.tensor(-2.0)).data)
    0.0
    """
    return ACTIVATIONS[activation_name(name)]


class Activation(Module):
    """A layer applying the activation `name` elementwise.

    >>> import descent as ds
    >>> ds.nn.Activation("tanh")
    Activation('tanh')
    """

    def __init__(self, name: str | None) -> None:
        super().__init__()
        self.name = activation_name(name)
        self.fn = ACTIVATIONS[self.name]

    def forward(self, x: Tensor) -> Tensor:
        return self.fn(x)

    def config(self) -> dict[str, Any]:
        return {"type": "Activation", "name": self.name}

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"


def Sigmoid() -> Activation:  # noqa: N802 - a layer constructor, named like one
    return Activation("sigmoid")


def Tanh() -> Activation:  # noqa: N802
    return Activation("tanh")


def ScaledTanh() -> Activation:  # noqa: N802
    return Activation("scaled_tanh")


def ReLU() -> Activation:  # noqa: N802
    return Activation("relu")


def LeakyReLU() -> Activation:  # noqa: N802
    return Activation("leaky_relu")


def Identity() -> Activation:  # noqa: N802
    return Activation("identity")


def Softmax() -> Activation:  # noqa: N802
    return Activation("softmax")
