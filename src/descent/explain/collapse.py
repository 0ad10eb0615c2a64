"""Why activations must be nonlinear: a stack of linear layers is one linear layer.

With z = x @ W + b (this library's row-vector convention, one example per row):

    (x W_1 + b_1) W_2 + b_2 = x (W_1 W_2) + (b_1 W_2 + b_2)

so L layers collapse to W = W_1 W_2 ... W_L and b = (...((b_1 W_2 + b_2) W_3 + b_3)...) W_L
+ b_L. In column-vector notation (y = W x, as the seed texts write it) the same product
reads W_o W_i: the output layer's matrix on the left, W_o(W_i x) = (W_o W_i) x.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from descent.autodiff import Tensor, no_grad
from descent.explain.deltas import dense_layers
from descent.nn import MLP, Module


def collapse_linear(model: Module) -> tuple[np.ndarray, np.ndarray]:
    """The single layer (W, b) that computes exactly what a stack of linear layers does.

    Shapes: W (in_features, out_features), b (out_features,), float64; the model gives
    x @ W + b for any x. Raises ValueError naming the first layer with a nonlinear
    activation (only "identity" is allowed).

    >>> import numpy as np, descent as ds
    >>> net = ds.nn.MLP([3, 5, 2], activation="identity", seed=0)
    >>> W, b = collapse_linear(net)
    >>> W.shape, b.shape
    ((3, 2), (2,))
    """
    layers = dense_layers(model)
    for layer in layers:
        if layer.activation != "identity":
            raise ValueError(
                f"cannot collapse: Linear layer {layer.number} ({layer.weight_name}) is followed "
                f"by the nonlinear activation {layer.activation!r}; only a stack of linear "
                "layers is a single linear map")
    first = layers[0].linear
    W = np.eye(first.in_features)
    b = np.zeros(first.in_features)
    for layer in layers:
        W_l = np.asarray(layer.linear.weight.data, dtype=np.float64)
        b_l = (np.zeros(layer.linear.out_features) if layer.linear.bias is None
               else np.asarray(layer.linear.bias.data, dtype=np.float64))
        W, b = W @ W_l, b @ W_l + b_l  # feed the collapsed layer so far through layer l
    return W, b


def best_linear_fit(X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The least-squares single linear layer Y ≈ X W + b, and its RMS residual.

    Shapes: X (N, d), Y (N, k) -> W (d, k), b (k,), rms float.

    >>> import numpy as np
    >>> X = np.arange(8.0).reshape(4, 2); W, b, rms = best_linear_fit(X, X @ [[1.0], [2.0]] + 3)
    >>> rms < 1e-12
    True
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64).reshape(len(X), -1)
    design = np.hstack([X, np.ones((len(X), 1))])  # the column of ones carries b
    coef, *_ = np.linalg.lstsq(design, Y, rcond=None)
    residual = design @ coef - Y
    return coef[:-1], coef[-1], float(np.sqrt(np.mean(residual**2)))


@dataclass
class CollapseDemo:
    """The outcome of `linear_collapse_demo` (numbers as floats, see `to_dict`)."""

    n_examples: int
    sizes: list[int]
    linear_max_abs_diff: float  # stacked linear net vs its collapsed (W, b)
    linear_fit_rms: float  # best single linear layer fitted to the linear net: ~0
    nonlinear_fit_rms: float  # best single linear layer fitted to the tanh net: not ~0
    nonlinear_output_std: float  # RMS about each output's mean: the scale for the residual

    @property
    def nonlinear_relative_residual(self) -> float:
        """RMS residual of the best linear fit, as a fraction of the tanh net's output spread."""
        return self.nonlinear_fit_rms / self.nonlinear_output_std

    def to_dict(self) -> dict[str, Any]:
        return {"n_examples": self.n_examples, "sizes": list(self.sizes),
                "linear_max_abs_diff": self.linear_max_abs_diff,
                "linear_fit_rms": self.linear_fit_rms,
                "nonlinear_fit_rms": self.nonlinear_fit_rms,
                "nonlinear_output_std": self.nonlinear_output_std,
                "nonlinear_relative_residual": self.nonlinear_relative_residual}

    def __str__(self) -> str:
        arrows = " → ".join(map(str, self.sizes))
        return "\n".join([
            f"Linear stack {arrows} (no activation) vs its collapsed single layer x W + b:",
            f"  largest difference in {self.n_examples} predictions: "
            f"{self.linear_max_abs_diff:.1e} (rounding only)",
            f"  best single linear layer fitted to it: RMS residual {self.linear_fit_rms:.1e}",
            f"Same sizes with tanh between the layers: best single linear layer leaves an RMS "
            f"residual of {self.nonlinear_fit_rms:.3g} ({self.nonlinear_relative_residual:.0%} "
            "of the outputs' spread): no single linear layer can do what it does.",
        ])


def _predict(model: Module, X: np.ndarray) -> np.ndarray:
    with no_grad():
        return model(Tensor(X)).data


def linear_collapse_demo(seed: int = 0, n_examples: int = 500,
                         sizes: tuple[int, ...] = (3, 16, 16, 2)) -> CollapseDemo:
    """Show a linear stack equal to one layer, and a tanh network that no layer can match.

    Builds two float64 MLPs with the same `sizes` and random weights (seeded): one with no
    activation, one with tanh. Inputs X (n_examples, sizes[0]) are standard normal, scaled
    by 2 so the tanh units leave their near-linear middle.

    >>> demo = linear_collapse_demo(seed=0)
    >>> demo.linear_max_abs_diff < 1e-12, demo.nonlinear_relative_residual > 0.1
    (True, True)
    """
    rng = np.random.default_rng(seed)
    X = 2.0 * rng.standard_normal((n_examples, sizes[0]))
    linear = MLP(list(sizes), activation="identity", seed=rng, dtype=np.float64)
    W, b = collapse_linear(linear)
    Y_linear = _predict(linear, X)
    *_, linear_rms = best_linear_fit(X, Y_linear)

    nonlinear = MLP(list(sizes), activation="tanh", init="glorot", seed=rng, dtype=np.float64)
    for layer in dense_layers(nonlinear):  # larger weights: more of each unit's range is curved
        layer.linear.weight.data *= 2.0
    Y_nonlinear = _predict(nonlinear, X)
    *_, nonlinear_rms = best_linear_fit(X, Y_nonlinear)
    return CollapseDemo(
        n_examples=n_examples, sizes=list(sizes),
        linear_max_abs_diff=float(np.max(np.abs(Y_linear - (X @ W + b)))),
        linear_fit_rms=linear_rms, nonlinear_fit_rms=nonlinear_rms,
        # what predicting each output's mean would leave: the scale the residual is judged by
        nonlinear_output_std=float(np.sqrt(np.mean((Y_nonlinear - Y_nonlinear.mean(0))**2))),
    )
