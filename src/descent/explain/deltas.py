"""Backpropagation written out: the per-layer deltas δ_l = ∂C/∂z_l of any MLP.

For a stack of layers z_l = a_{l-1} W_l + b_l, a_l = f_l(z_l) (a_0 = X, ŷ = a_L):

    output    δ_L = ∂C/∂ŷ ⊙ f_L'(z_L)
    hidden    δ_l = (δ_{l+1} W_{l+1}ᵀ) ⊙ f_l'(z_l)          l = L-1, ..., 1
    gradients ∂C/∂W_l = a_{l-1}ᵀ δ_l,    ∂C/∂b_l = Σ_n δ_l[n]

The error starts at the output and travels back toward the input, one layer at a time;
that direction is why it is called backpropagation. Every derivative used here (∂C/∂ŷ
and each f') is asked of the engine, not written again, and everything is computed in
float64 on a copy of the weights, so the model itself is never touched.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from descent.autodiff import Tensor
from descent.nn import ACTIVATIONS, Activation, Linear, Loss, Module, Sequential, get_loss

# Activations whose Jacobian is diagonal, so f'(z) is a vector and δ = g ⊙ f'(z).
ELEMENTWISE = frozenset(name for name in ACTIVATIONS if name != "softmax")


@dataclass(frozen=True)
class DenseLayer:
    """One Linear layer and the activation after it ("identity" when there is none).

    `number` counts Linear layers from 1 (layer 1 reads the input x); `weight_name` and
    `bias_name` are the model's parameter names ("0.weight", "0.bias"; bias_name is None
    for a layer without bias).
    """

    number: int
    linear: Linear
    activation: str
    weight_name: str
    bias_name: str | None


def _leaves(model: Module, prefix: str) -> Iterator[tuple[str, Module]]:
    """The layers of nested Sequentials in the order they run, with their full names."""
    if isinstance(model, Sequential):
        for name, child in model._modules.items():
            yield from _leaves(child, f"{prefix}.{name}" if prefix else name)
    else:
        yield prefix, model


def dense_layers(model: Module) -> list[DenseLayer]:
    """Read a model as a stack of Linear layers, each optionally followed by an activation.

    Accepts `MLP`, `Sequential` (nested ones too) of Linear and Activation layers, or a lone
    `Linear`. Raises ValueError naming the layer that does not fit that shape.

    >>> import descent as ds
    >>> [(l.number, l.activation, l.weight_name)
    ...  for l in dense_layers(ds.nn.MLP([2, 3, 1], activation="tanh", seed=0))]
    [(1, 'tanh', '0.weight'), (2, 'identity', '2.weight')]
    """
    layers: list[DenseLayer] = []
    for name, module in _leaves(model, ""):
        where = f"layer {name!r} ({module!r})" if name else repr(module)
        if isinstance(module, Linear):
            prefix = f"{name}." if name else ""
            layers.append(DenseLayer(len(layers) + 1, module, "identity", f"{prefix}weight",
                                     f"{prefix}bias" if module.bias is not None else None))
        elif isinstance(module, Activation):
            if not layers:
                raise ValueError(f"{where} comes before any Linear layer; expected a stack of "
                                 "Linear layers each followed by at most one activation")
            if layers[-1].activation != "identity":
                raise ValueError(f"{where} follows another activation; expected at most one "
                                 "activation after each Linear layer")
            last = layers[-1]
            layers[-1] = DenseLayer(last.number, last.linear, module.name, last.weight_name,
                                    last.bias_name)
        else:
            raise ValueError(f"{where} is neither Linear nor Activation; only stacks of those "
                             "can be explained layer by layer")
    if not layers:
        raise ValueError("the model has no Linear layer")
    return layers


def float64_copy(model: Module) -> Module:
    """A deep copy of `model` with every parameter in float64 (the original is untouched)."""
    twin = copy.deepcopy(model)
    for p in twin.parameters():
        p.data = np.ascontiguousarray(p.data, dtype=np.float64)
        p.grad = None
    return twin


def engine_gradients(model: Module, X: Any, y: Any,
                     loss: str | Loss = "quadratic") -> tuple[float, dict[str, np.ndarray]]:
    """The cost C and the engine's ∂C/∂(each parameter), by name, computed in float64.

    Runs `model`'s own forward pass and `backward()` on a float64 copy of its weights.

    >>> import numpy as np, descent as ds
    >>> net = ds.nn.MLP([2, 1], seed=0)
    >>> C, grads = engine_gradients(net, np.ones((3, 2)), np.zeros(3))
    >>> sorted(grads), grads["0.weight"].shape
    (['0.bias', '0.weight'], (2, 1))
    """
    twin = float64_copy(model)
    cost = get_loss(loss)(twin(Tensor(np.asarray(X, dtype=np.float64))),
                          np.asarray(y, dtype=np.float64))
    cost.backward()
    grads = {name: (np.zeros_like(p.data) if p.grad is None else p.grad)
             for name, p in twin.named_parameters()}
    return float(cost.data), grads


def activation_vjp(name: str, z: np.ndarray, g: np.ndarray) -> np.ndarray:
    """gᵀ ∂f(z)/∂z for the activation `name`: the engine's own backward through f.

    Shapes: z and g (N, k) -> (N, k). For softmax this is the full Jacobian product.

    >>> import numpy as np
    >>> activation_vjp("tanh", np.zeros((1, 2)), np.array([[2.0, 3.0]])).tolist()
    [[2.0, 3.0]]
    """
    z_leaf = Tensor(np.asarray(z, dtype=np.float64), requires_grad=True)
    ACTIVATIONS[name](z_leaf).backward(np.asarray(g, dtype=np.float64))
    return z_leaf.grad


def activation_derivative(name: str, z: np.ndarray) -> np.ndarray:
    """f'(z) elementwise for an elementwise activation, from the engine (VJP with g = 1).

    With a diagonal Jacobian, 1ᵀJ is exactly the diagonal f'(z); softmax has no such vector
    (its Jacobian is diag(p) - p pᵀ), so it raises ValueError.

    >>> import numpy as np
    >>> activation_derivative("sigmoid", np.array([0.0])).tolist()
    [0.25]
    """
    if name not in ELEMENTWISE:
        raise ValueError(f"{name} is not elementwise: its derivative is a Jacobian matrix, "
                         "use activation_vjp")
    z = np.asarray(z, dtype=np.float64)
    return activation_vjp(name, z, np.ones_like(z))


def loss_gradient(loss: str | Loss, y_hat: np.ndarray, y: Any) -> tuple[float, np.ndarray]:
    """C and ∂C/∂ŷ (shape of ŷ) from the engine; the 1/N of the average lives in it.

    >>> import numpy as np
    >>> C, g = loss_gradient("quadratic", np.array([[0.8], [0.2]]), [1.0, 0.0])
    >>> round(C, 4), g.round(3).tolist()
    (0.02, [[-0.1], [0.1]])
    """
    y_leaf = Tensor(np.asarray(y_hat, dtype=np.float64), requires_grad=True)
    cost = get_loss(loss)(y_leaf, np.asarray(y, dtype=np.float64))
    cost.backward()
    return float(cost.data), y_leaf.grad


@dataclass
class Deltas:
    """The forward values and backward deltas of one batch, per layer (index 0 = layer 1).

    Shapes for a batch of N examples and layer widths k_0 (inputs), k_1, ..., k_L:
    `a[0]` is X (N, k_0) and `a[l]` (N, k_l) the output of layer l; `z[l-1]`, `delta[l-1]`,
    `f_prime[l-1]` (N, k_l) belong to layer l (f_prime is None for softmax); `grad_W[l-1]`
    (k_{l-1}, k_l) and `grad_b[l-1]` (k_l,) are ∂C/∂W_l and ∂C/∂b_l.
    """

    layers: list[DenseLayer]
    a: list[np.ndarray]
    z: list[np.ndarray]
    f_prime: list[np.ndarray | None]
    delta: list[np.ndarray]
    grad_W: list[np.ndarray]
    grad_b: list[np.ndarray]
    cost: float
    dC_dyhat: np.ndarray
    loss: str
    weights: list[np.ndarray] = field(default_factory=list)

    def gradients(self) -> dict[str, np.ndarray]:
        """∂C/∂(parameter) by the model's parameter names, like `engine_gradients`."""
        out: dict[str, np.ndarray] = {}
        for layer, gW, gb in zip(self.layers, self.grad_W, self.grad_b, strict=True):
            out[layer.weight_name] = gW
            if layer.bias_name is not None:
                out[layer.bias_name] = gb
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain lists of floats, one entry per layer (JSON-safe)."""
        return {
            "loss": self.loss, "cost": self.cost, "dC_dyhat": self.dC_dyhat.tolist(),
            "layers": [
                {"layer": layer.number, "activation": layer.activation,
                 "weight": layer.weight_name, "bias": layer.bias_name,
                 "z": self.z[i].tolist(), "a": self.a[i + 1].tolist(),
                 "f_prime": None if self.f_prime[i] is None else self.f_prime[i].tolist(),
                 "delta": self.delta[i].tolist(), "grad_W": self.grad_W[i].tolist(),
                 "grad_b": self.grad_b[i].tolist()}
                for i, layer in enumerate(self.layers)],
        }


def backprop_deltas(model: Module, X: Any, y: Any, loss: str | Loss = "quadratic") -> Deltas:
    """Forward (keeping every z_l and a_l) and backward (every δ_l) through an MLP, in float64.

    Shapes: X (N, k_0), y (N,) or (N, k_L). See `Deltas` for what comes back.

    >>> import numpy as np, descent as ds
    >>> net = ds.nn.MLP([2, 3, 1], activation="sigmoid", seed=0)
    >>> d = backprop_deltas(net, np.ones((4, 2)), np.zeros(4))
    >>> [x.shape for x in d.delta], [g.shape for g in d.grad_W]
    ([(4, 3), (4, 1)], [(2, 3), (3, 1)])
    """
    layers = dense_layers(model)
    loss_fn = get_loss(loss)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != layers[0].linear.in_features:
        raise ValueError(f"X must have shape (N, {layers[0].linear.in_features}), "
                         f"got {X.shape}")
    W = [np.asarray(layer.linear.weight.data, dtype=np.float64) for layer in layers]
    b = [np.zeros(layer.linear.out_features) if layer.linear.bias is None
         else np.asarray(layer.linear.bias.data, dtype=np.float64) for layer in layers]

    a, z = [X], []
    for l, layer in enumerate(layers):
        z.append(a[-1] @ W[l] + b[l])
        a.append(ACTIVATIONS[layer.activation](Tensor(z[-1])).data)
    f_prime = [activation_derivative(layer.activation, z[l])
               if layer.activation in ELEMENTWISE else None for l, layer in enumerate(layers)]

    cost, dC_dyhat = loss_gradient(loss_fn, a[-1], y)
    delta: list[np.ndarray] = [np.empty(0)] * len(layers)
    g = dC_dyhat  # ∂C/∂a_l, starting at the output a_L = ŷ
    for l in range(len(layers) - 1, -1, -1):
        delta[l] = g * f_prime[l] if f_prime[l] is not None \
            else activation_vjp(layers[l].activation, z[l], g)
        g = delta[l] @ W[l].T  # ∂C/∂a_{l-1}: the error handed to the layer below
    grad_W = [a[l].T @ delta[l] for l in range(len(layers))]
    grad_b = [delta[l].sum(axis=0) for l in range(len(layers))]
    return Deltas(layers, a, z, f_prime, delta, grad_W, grad_b, cost, dC_dyhat,
                  loss_fn.name, W)


# ---- the seeds' two-node network --------------------------------------------------------------

def two_node_network(w1: float = 0.5, b1: float = 0.1, w2: float = -0.8,
                     b2: float = 0.2) -> Sequential:
    """The seeds' network x → w1 → σ → w2 → σ → ŷ as a float64 model.

    z1 = w1·x + b1, a1 = σ(z1), z2 = w2·a1 + b2, ŷ = σ(z2), with σ(z) = 1/(1 + e^{-z}).
    Parameters: "0.weight" = [[w1]], "0.bias" = [b1], "2.weight" = [[w2]], "2.bias" = [b2].

    >>> import descent as ds
    >>> net = two_node_network(w1=0.5, b1=0.1, w2=-0.8, b2=0.2)
    >>> round(float(net(ds.tensor([[1.0]])).data[0, 0]), 6)
    0.421523
    """
    first, second = Linear(1, 1, dtype=np.float64), Linear(1, 1, dtype=np.float64)
    first.weight.data[...] = w1
    first.bias.data[...] = b1
    second.weight.data[...] = w2
    second.bias.data[...] = b2
    return Sequential(first, Activation("sigmoid"), second, Activation("sigmoid"))


@dataclass
class TwoNodeExplanation:
    """Every number of one backpropagation step through the two-node network.

    Arrays have shape (N,) for N examples (N = 1 for a single x). `rows()` lists
    (symbol, formula, value) in the order a learner reads them.
    """

    x: np.ndarray
    y: np.ndarray
    w1: float
    b1: float
    w2: float
    b2: float
    z1: np.ndarray
    a1: np.ndarray
    z2: np.ndarray
    y_hat: np.ndarray
    C: float
    dC_dyhat: np.ndarray
    sigma_prime_z2: np.ndarray
    delta2: np.ndarray
    dC_dw2: float
    dC_db2: float
    sigma_prime_z1: np.ndarray
    delta1: np.ndarray
    dC_dw1: float
    dC_db1: float

    def rows(self) -> list[tuple[str, str, Any]]:
        n = len(self.x)
        s = "Σ_n " if n > 1 else ""
        return [
            ("x", "the input", self.x),
            ("y", "the target", self.y),
            ("z1", "w1·x + b1", self.z1),
            ("a1", "σ(z1) = 1/(1 + e^(−z1))", self.a1),
            ("z2", "w2·a1 + b2", self.z2),
            ("ŷ", "σ(z2)", self.y_hat),
            ("C", f"1/(2N) Σ (ŷ − y)²   (N = {n})", self.C),
            ("∂C/∂ŷ", "(ŷ − y)/N", self.dC_dyhat),
            ("σ'(z2)", "σ(z2)(1 − σ(z2))", self.sigma_prime_z2),
            ("δ2 = ∂C/∂z2", "∂C/∂ŷ · σ'(z2)", self.delta2),
            ("∂C/∂w2", f"{s}δ2 · a1", self.dC_dw2),
            ("∂C/∂b2", f"{s}δ2 · 1", self.dC_db2),
            ("σ'(z1)", "σ(z1)(1 − σ(z1))", self.sigma_prime_z1),
            ("δ1 = ∂C/∂z1", "δ2 · w2 · σ'(z1)   (the error, passed back)", self.delta1),
            ("∂C/∂w1", f"{s}δ1 · x", self.dC_dw1),
            ("∂C/∂b1", f"{s}δ1 · 1", self.dC_db1),
        ]

    def to_dict(self) -> dict[str, Any]:
        """Every number, as floats (N = 1) or lists of floats."""
        def plain(v: Any) -> Any:
            v = np.asarray(v, dtype=np.float64)
            return float(v.reshape(-1)[0]) if v.size == 1 else v.tolist()

        return {f.name: plain(getattr(self, f.name)) for f in self.__dataclass_fields__.values()}


def explain_two_node(x: Any = 1.5, y: Any = 1.0, *, w1: float = 0.5, b1: float = 0.1,
                     w2: float = -0.8, b2: float = 0.2) -> TwoNodeExplanation:
    """Backpropagation through x → w1 → σ → w2 → σ → ŷ with C = 1/(2N) Σ (ŷ − y)², by hand.

    `x`, `y` are numbers or equal-length 1-D arrays (N examples). The deltas come from
    `backprop_deltas` on `two_node_network(...)`, so each number is the general algorithm's:
    δ2 = ∂C/∂ŷ·σ'(z2) and δ1 = δ2·w2·σ'(z1); ∂C/∂w2 = δ2·a1 and ∂C/∂w1 = δ1·x (the x the
    seeds leave out of ∂ŷ/∂w).

    >>> e = explain_two_node(x=1.5, y=1.0)
    >>> round(e.dC_dw1, 6), round(e.dC_dw2, 6)
    (0.035898, -0.099904)
    """
    x = np.atleast_1d(np.asarray(x, dtype=np.float64))
    y = np.atleast_1d(np.asarray(y, dtype=np.float64))
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must be numbers or 1-D arrays of one length, got shapes "
                         f"{x.shape} and {y.shape}")
    d = backprop_deltas(two_node_network(w1, b1, w2, b2), x[:, None], y[:, None], "quadratic")

    def col(arr: np.ndarray) -> np.ndarray:
        return arr[:, 0]  # every layer here has width 1

    return TwoNodeExplanation(
        x=x, y=y, w1=w1, b1=b1, w2=w2, b2=b2,
        z1=col(d.z[0]), a1=col(d.a[1]), z2=col(d.z[1]), y_hat=col(d.a[2]), C=d.cost,
        dC_dyhat=col(d.dC_dyhat), sigma_prime_z2=col(d.f_prime[1]), delta2=col(d.delta[1]),
        dC_dw2=float(d.grad_W[1][0, 0]), dC_db2=float(d.grad_b[1][0]),
        sigma_prime_z1=col(d.f_prime[0]), delta1=col(d.delta[0]),
        dC_dw1=float(d.grad_W[0][0, 0]), dC_db1=float(d.grad_b[0][0]),
    )

