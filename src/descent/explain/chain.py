"""The chain rule, shown: every factor of ∂C/∂w for one weight or bias, with its number.

For a weight W_l[i, j] (layer l, input unit i, output unit j; z_l = a_{l-1} W_l + b_l) of
a network with L layers, one example's derivative is the product

    ∂C/∂ŷ · ∂ŷ/∂z_L · ∂z_L/∂a_{L-1} · ∂a_{L-1}/∂z_{L-1} · ... · ∂a_l[j]/∂z_l[j] · ∂z_l[j]/∂w

where ∂z_m/∂a_{m-1} = W_mᵀ and the last factor is a_{l-1}[i] (the input x itself for
layer 1: so ∂ŷ/∂w = σ'(z)·x, not σ'(z) alone). With several units per layer the factors
are vectors and matrices, and the matrix products add up all paths from w to ŷ. The cost
averages over N examples, so ∂C/∂w is the sum of N such chains (the 1/N sits inside
∂C/∂ŷ); in delta form, ∂C/∂W_l[i,j] = Σ_n a_{l-1}[n,i] δ_l[n,j].

`chain_rule` returns all of it, with the engine's own gradient beside the product.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from descent.explain.deltas import (
    Deltas,
    DenseLayer,
    activation_vjp,
    backprop_deltas,
    dense_layers,
    engine_gradients,
)
from descent.nn import Loss, Module, get_loss

# f'(z) of each activation, as text; the numbers come from the engine.
ACTIVATION_FORMULAS = {
    "sigmoid": "σ'(z) = σ(z)(1 − σ(z)), σ(z) = 1/(1 + e^(−z))",
    "tanh": "tanh'(z) = 1 − tanh²(z)",
    "scaled_tanh": "f'(z) = 1.7159·(2/3)·(1 − tanh²(2z/3))",
    "relu": "relu'(z) = 1 if z > 0, else 0",
    "leaky_relu": "f'(z) = 1 if z > 0, else 0.01",
    "identity": "f'(z) = 1 (no activation: a = z)",
    "softmax": "∂p/∂z = diag(p) − p pᵀ, p = softmax(z)",
}

# ∂C/∂ŷ of each loss as text (N examples, k outputs); the numbers come from the engine.
LOSS_FORMULAS = {
    "quadratic": "(ŷ − y)/N, for C = 1/(2N) Σ ‖ŷ − y‖²",
    "mse": "2(ŷ − y)/(N·k), for C = 1/(N·k) Σ (ŷ − y)²",
    "mae": "sign(ŷ − y)/(N·k), for C = 1/(N·k) Σ |ŷ − y|",
    "cross_entropy": "(softmax(ŷ) − y)/N, ŷ the logits, y one-hot",
    "binary_cross_entropy_with_logits": "(σ(ŷ) − y)/(N·k), ŷ the logits",
    "binary_cross_entropy": "(ŷ − y)/(ŷ(1 − ŷ)·N·k)",
}

_LAYER_REF = re.compile(r"^([wWbB])(\d+)$")


@dataclass(frozen=True)
class Factor:
    """One factor of the chain, for the chosen example.

    `value` is the factor (a number, a vector for an elementwise derivative, or a matrix);
    `combine` says how it joins the chain so far ("⊙" elementwise, "·" matrix product,
    "×" a plain product); when `unit` is set, only that entry of the chain so far lies on
    the path to the parameter (it feeds output unit `unit` of its layer) and is taken
    before combining. `product` is the chain up to and including this factor: the
    derivative of C with respect to `product_symbol`.
    """

    symbol: str
    formula: str
    value: np.ndarray
    combine: str
    product: np.ndarray
    product_symbol: str
    unit: int | None = None

    @property
    def operation(self) -> str:
        """`combine` as shown in tables, e.g. "[2] ×" for "take entry 2, then multiply"."""
        return f"[{self.unit}] {self.combine}" if self.unit is not None else self.combine

    def to_dict(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "formula": self.formula, "value": _plain(self.value),
                "combine": self.combine, "unit": self.unit, "product": _plain(self.product),
                "product_symbol": self.product_symbol}


@dataclass
class ChainRule:
    """The chain rule for one parameter entry; see `chain_rule`.

    `per_example[n]` (N,) is the product of the factors for example n, `total` their sum,
    `engine` the engine's ∂C/∂w and `delta_form` Σ_n a_{l-1}[n,i] δ_l[n,j] from
    `backprop_deltas`. `factors` are those of example `example`.
    """

    parameter: str
    label: str
    layer: int
    index: tuple[int, ...]
    kind: str
    example: int
    n_examples: int
    loss: str
    cost: float
    factors: list[Factor]
    per_example: np.ndarray
    total: float
    engine: float
    delta_form: float
    delta_formula: str
    notes: list[str] = field(default_factory=list)

    @property
    def abs_error(self) -> float:
        """|total − engine|: how far the hand-built chain is from the engine's gradient."""
        return abs(self.total - self.engine)

    def to_dict(self) -> dict[str, Any]:
        """Plain data: strings, floats and lists of floats (JSON-safe)."""
        return {
            "parameter": self.parameter, "label": self.label, "layer": self.layer,
            "index": list(self.index), "kind": self.kind, "example": self.example,
            "n_examples": self.n_examples, "loss": self.loss, "cost": self.cost,
            "factors": [f.to_dict() for f in self.factors],
            "per_example": self.per_example.tolist(), "total": self.total,
            "engine": self.engine, "delta_form": self.delta_form,
            "delta_formula": self.delta_formula, "abs_error": self.abs_error,
            "notes": list(self.notes),
        }

    def __str__(self) -> str:
        from descent.explain.tables import chain_text

        return chain_text(self)


def _plain(value: Any) -> Any:
    array = np.asarray(value, dtype=np.float64)
    return float(array) if array.ndim == 0 else array.tolist()


def resolve_parameter(model: Module, param: str,
                      index: Any = None) -> tuple[DenseLayer, str, tuple[int, ...]]:
    """Find a parameter entry: (its layer, "weight" or "bias", the index tuple).

    `param` is a parameter name from `model.named_parameters()` ("0.weight", "2.bias") or
    the layer-number form "W2" / "w2" / "b1" (the l-th Linear layer, counted from 1 at the
    input). `index` is (i, j) for a weight (input unit i, output unit j: W has shape
    (in, out) since z = x @ W + b), j or (j,) for a bias; it may be left out when the
    parameter has one entry.

    >>> import descent as ds
    >>> layer, kind, index = resolve_parameter(ds.nn.MLP([2, 3, 1], seed=0), "W2", (1, 0))
    >>> layer.weight_name, kind, index
    ('2.weight', 'weight', (1, 0))
    """
    layers = dense_layers(model)
    found: tuple[DenseLayer, str] | None = None
    ref = _LAYER_REF.match(param.strip())
    if ref:
        number = int(ref.group(2))
        if not 1 <= number <= len(layers):
            raise ValueError(f"{param!r}: the model has Linear layers 1..{len(layers)}")
        kind = "weight" if ref.group(1) in "wW" else "bias"
        found = (layers[number - 1], kind)
        if kind == "bias" and found[0].bias_name is None:
            raise ValueError(f"{param!r}: layer {number} has no bias")
    else:
        for layer in layers:
            if param == layer.weight_name:
                found = (layer, "weight")
            elif param == layer.bias_name:
                found = (layer, "bias")
    if found is None:
        names = [n for layer in layers for n in (layer.weight_name, layer.bias_name) if n]
        raise ValueError(f"no parameter {param!r}; use one of {names} or the form 'W1', 'b1'")
    layer, kind = found
    shape = layer.linear.weight.shape if kind == "weight" else layer.linear.bias.shape
    if index is None:
        if int(np.prod(shape)) != 1:
            raise ValueError(f"{param!r} has shape {shape}: give an index, e.g. "
                             f"{(0,) * len(shape)}")
        index = (0,) * len(shape)
    index = (index,) if isinstance(index, int | np.integer) else tuple(int(i) for i in index)
    if len(index) != len(shape) or any(not 0 <= i < n for i, n in zip(index, shape,
                                                                           strict=False)):
        raise ValueError(f"index {index} does not fit {param!r} of shape {shape}")
    return layer, kind, index


def _label(layer: DenseLayer, kind: str, index: tuple[int, ...]) -> str:
    letter = "W" if kind == "weight" else "b"
    shape = layer.linear.weight.shape if kind == "weight" else layer.linear.bias.shape
    if int(np.prod(shape)) == 1:  # the seeds' w1, w2, b1: one number, no index needed
        return f"{letter.lower()}{layer.number}"
    return f"{letter}{layer.number}[{','.join(map(str, index))}]"


def _jacobian(name: str, z_row: np.ndarray) -> np.ndarray:
    """J[k, j] = ∂a[k]/∂z[j] at one example, one engine VJP per row (g = e_k)."""
    k = z_row.shape[0]
    return activation_vjp(name, np.tile(z_row, (k, 1)), np.eye(k))


def _activation_factor(d: Deltas, m: int, n: int, g: np.ndarray, unit: int | None,
                       last: int) -> Factor:
    """∂a_m/∂z_m for example n, applied to g = ∂C/∂a_m; `unit` keeps only output unit j."""
    layer = d.layers[m]
    num = layer.number
    top = "ŷ" if m == last else f"a{num}"
    # One unit needs no [j]; with several, only unit j of the parameter's layer is on the path.
    wide = layer.linear.out_features > 1
    at = f"[{unit}]" if unit is not None and wide else ""
    if d.f_prime[m] is not None:
        value = d.f_prime[m][n]
        if unit is None:
            symbol, combine, product = f"∂{top}/∂z{num}", "⊙", g * value
        else:
            value = value[unit]
            symbol, combine, product = f"∂{top}{at}/∂z{num}{at}", "×", g[unit] * value
    else:
        J = _jacobian(layer.activation, d.z[m][n])
        if unit is None:
            symbol, value = f"∂{top}/∂z{num}", J
        else:
            symbol, value = f"∂{top}/∂z{num}{at}", J[:, unit]
        combine, product = "·", g @ value
    target = f"δ{num}{at} = ∂C/∂z{num}{at}"
    picked = unit if unit is not None and wide and d.f_prime[m] is not None else None
    return Factor(symbol, ACTIVATION_FORMULAS[layer.activation], np.asarray(value), combine,
                  np.asarray(product), target, picked)


def chain_rule(model: Module, X: Any, y: Any, param: str, index: Any = None,
               loss: str | Loss = "quadratic", example: int = 0) -> ChainRule:
    """Every factor of ∂C/∂(one weight or bias), their product, and the engine's gradient.

    Shapes: X (N, in_features), y (N,) or (N, out_features). `param`/`index` as in
    `resolve_parameter`: "0.weight" with (i, j), or "W1" with (i, j), "b2" with j, ...
    `example` picks the example whose factors are listed (all N enter the total).
    Computed in float64 on a copy of the weights; the model is not changed.

    >>> import descent as ds
    >>> from descent.explain.deltas import two_node_network
    >>> c = chain_rule(two_node_network(), [[1.5]], [1.0], "w1")
    >>> [f.symbol for f in c.factors]
    ['∂C/∂ŷ', '∂ŷ/∂z2', '∂z2/∂a1', '∂a1/∂z1', '∂z1/∂w1']
    >>> abs(c.total - c.engine) < 1e-15
    True
    """
    layer, kind, index = resolve_parameter(model, param, index)
    loss_fn = get_loss(loss)
    d = backprop_deltas(model, X, y, loss_fn)
    N = d.a[0].shape[0]
    if not 0 <= example < N:
        raise ValueError(f"example must be in 0..{N - 1}, got {example}")
    last = len(d.layers) - 1
    l = layer.number - 1  # list position of the parameter's layer
    j = index[-1]  # the output unit the parameter feeds, for weights and biases alike
    label = _label(layer, kind, index)

    g = d.dC_dyhat[example]
    factors = [Factor("∂C/∂ŷ", LOSS_FORMULAS.get(loss_fn.name, "from the engine's backward of C"),
                      g, "", g, "∂C/∂ŷ")]
    for m in range(last, l - 1, -1):
        factor = _activation_factor(d, m, example, g, j if m == l else None, last)
        factors.append(factor)
        g = factor.product
        if m > l:  # z_m = a_{m-1} W_m + b_m is linear in a_{m-1}
            num = d.layers[m].number
            Wt = d.weights[m].T
            g = g @ Wt
            factors.append(Factor(f"∂z{num}/∂a{num - 1}", f"W{num}ᵀ (z{num} = a{num - 1} W{num} "
                                  f"+ b{num})", Wt, "·", g, f"∂C/∂a{num - 1}"))

    num = layer.number
    source = "x" if num == 1 else f"a{num - 1}"
    at = f"[{j}]" if layer.linear.out_features > 1 else ""
    here = f"example {example}"
    if kind == "weight":
        i = index[0]
        a_prev = d.a[l][:, i]
        what = "the input x: layer 1 reads x" if num == 1 else f"the output of layer {num - 1}"
        last_factor = (f"{source}[{i}] ({what})", np.asarray(a_prev[example]))
        per_example = a_prev * d.delta[l][:, j]
        delta_formula = f"∂C/∂{label} = Σ_n {source}[n,{i}] · δ{num}[n,{j}]"
        delta_form = float(d.grad_W[l][index])
    else:
        last_factor = ("1 (the bias is added as is)", np.asarray(1.0))
        per_example = d.delta[l][:, j].copy()
        delta_formula = f"∂C/∂{label} = Σ_n δ{num}[n,{j}]"
        delta_form = float(d.grad_b[l][index])
    formula, value = last_factor
    factors.append(Factor(f"∂z{num}{at}/∂{label}", formula, value, "×", np.asarray(g * value),
                          f"∂C/∂{label}, {here}"))

    name = layer.weight_name if kind == "weight" else layer.bias_name
    _, grads = engine_gradients(model, X, y, loss_fn)
    return ChainRule(
        parameter=str(name), label=label, layer=num, index=index, kind=kind, example=example,
        n_examples=N, loss=loss_fn.name, cost=d.cost, factors=factors,
        per_example=per_example, total=float(per_example.sum()), engine=float(grads[name][index]),
        delta_form=delta_form, delta_formula=delta_formula,
        notes=_notes(d, l, kind, label, N),
    )


def _notes(d: Deltas, l: int, kind: str, label: str, N: int) -> list[str]:
    notes = []
    if kind == "weight" and l == 0:
        f = "σ'(z)" if d.layers[0].activation == "sigmoid" else "f'(z)"
        notes.append(f"The last factor is the input x: z = w·x + b, so ∂z/∂w = x and the "
                     f"chain carries {f}·x, not {f} alone.")
    if any(layer.linear.out_features > 1 for layer in d.layers[l:]):
        notes.append("Some layers on the way have several units: the vectors and matrix "
                     "products (·) add up every path from the parameter to the cost.")
    if N > 1:
        notes.append(f"C averages over N = {N} examples (the 1/N is inside ∂C/∂ŷ), so ∂C/∂"
                     f"{label} is the sum of the N per-example chains.")
    notes.append("Backpropagation evaluates these factors from the cost back toward the "
                 "input, reusing each δ for every weight of its layer.")
    return notes
