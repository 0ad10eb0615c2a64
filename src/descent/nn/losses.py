"""Losses (costs): how wrong the predictions ŷ are, as one number C to minimize.

Each loss computes a per-example loss l_i and averages it over the N examples of the
batch (a weighted average Σ s_i l_i / Σ s_i when sample weights s are given). All are
composed from engine primitives, so ∂C/∂ŷ comes from the engine, never written here.

The two quadratic costs in the seed texts are both here, named for what they are:
- `QuadraticCost`: C = 1/(2N) Σ_i ||ŷ_i - y_i||², so ∂C/∂ŷ_i = (ŷ_i - y_i)/N (the 1/2
  cancels the 2 of the square);
- `MeanSquaredError`: C = 1/N Σ_i mean_k (ŷ_ik - y_ik)², so ∂C/∂ŷ = 2(ŷ - y)/(N k).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from descent import autodiff as ad
from descent.autodiff import Tensor


def _as_tensor(x: Any, dtype: np.dtype) -> Tensor:
    if isinstance(x, Tensor):
        return x
    return Tensor(np.asarray(x, dtype=dtype))


class Loss:
    """Base class: `loss(y_pred, y_true, sample_weight=None)` -> scalar Tensor."""

    name = "loss"

    def per_example(self, y_pred: Tensor, y_true: Tensor) -> Tensor:
        raise NotImplementedError

    def _align(self, y_pred: Tensor, y_true: Any) -> Tensor:
        y = _as_tensor(y_true, y_pred.dtype)
        if y.shape != y_pred.shape:
            if y.size != y_pred.size:
                raise ValueError(
                    f"{self.name}: targets of shape {y.shape} do not match predictions of "
                    f"shape {y_pred.shape}"
                )
            y = y.reshape(y_pred.shape)  # (N,) targets for (N, 1) outputs, never broadcast
        return y

    def __call__(self, y_pred: Tensor, y_true: Any, sample_weight: Any = None) -> Tensor:
        l = self.per_example(y_pred, self._align(y_pred, y_true))
        if sample_weight is None:
            return l.mean()
        s = np.asarray(sample_weight, dtype=y_pred.dtype).reshape(-1)
        if s.shape != l.shape:
            raise ValueError(f"{self.name}: sample_weight has {s.size} entries for {l.size} "
                             f"examples")
        return (l * s).sum() / float(s.sum())

    def config(self) -> dict[str, Any]:
        return {"name": self.name}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _per_row(x: Tensor, reduce: str = "mean") -> Tensor:
    """Reduce the output axes of an (N, ...) tensor, keeping one value per example."""
    if x.ndim <= 1:
        return x
    axes = tuple(range(1, x.ndim))
    return x.sum(axis=axes) if reduce == "sum" else x.mean(axis=axes)


class QuadraticCost(Loss):
    """C = 1/(2N) Σ_i ||ŷ_i - y_i||², the seeds' cost; ∂C/∂ŷ = (ŷ - y)/N.

    >>> import descent as ds
    >>> y_hat = ds.tensor([0.8, 0.2], requires_grad=True)
    >>> C = ds.nn.QuadraticCost()(y_hat, [1.0, 0.0])
    >>> C.backward(); y_hat.grad.round(3).tolist()
    [-0.1, 0.1]
    """

    name = "quadratic"

    def per_example(self, y_pred: Tensor, y_true: Tensor) -> Tensor:
        r = y_pred - y_true
        return 0.5 * _per_row(r * r, "sum")


class MeanSquaredError(Loss):
    """C = 1/N Σ_i mean over outputs of (ŷ - y)² (PyTorch's and Keras' MSE)."""

    name = "mse"

    def per_example(self, y_pred: Tensor, y_true: Tensor) -> Tensor:
        r = y_pred - y_true
        return _per_row(r * r)


class MeanAbsoluteError(Loss):
    """C = 1/N Σ_i mean over outputs of |ŷ - y|."""

    name = "mae"

    def per_example(self, y_pred: Tensor, y_true: Tensor) -> Tensor:
        return _per_row(ad.abs(y_pred - y_true))


class Huber(Loss):
    """½r² where |r| <= delta, else delta(|r| - ½delta): quadratic near 0, linear far out."""

    name = "huber"

    def __init__(self, delta: float = 1.0) -> None:
        if not np.isfinite(delta) or delta <= 0:
            raise ValueError(f"Huber delta must be a positive number, got {delta!r}")
        self.delta = float(delta)

    def per_example(self, y_pred: Tensor, y_true: Tensor) -> Tensor:
        r = y_pred - y_true
        size = ad.abs(r)
        inner = 0.5 * r * r
        outer = self.delta * (size - 0.5 * self.delta)
        return _per_row(ad.where(size.data <= self.delta, inner, outer))

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "delta": self.delta}


class BinaryCrossEntropy(Loss):
    """-(y log p + (1-y) log(1-p)) from probabilities p in [0, 1].

    log p is floored at -100 (as PyTorch does) so p = 0 or 1 gives a finite loss. Prefer
    `BinaryCrossEntropyWithLogits`, which is exact for any logit.
    """

    name = "binary_cross_entropy"

    def per_example(self, y_pred: Tensor, y_true: Tensor) -> Tensor:
        with np.errstate(divide="ignore"):
            log_p = ad.maximum(ad.log(y_pred), -100.0)
            log_q = ad.maximum(ad.log(1.0 - y_pred), -100.0)
        return _per_row(-(y_true * log_p + (1.0 - y_true) * log_q))


class BinaryCrossEntropyWithLogits(Loss):
    """Binary cross-entropy from logits z, with p = σ(z), stable for any z:
    max(z, 0) - z y + log(1 + e^{-|z|}).

    max(z, 0) is written (z + |z|)/2 (the same value, exactly): the loss is smooth at
    z = 0 but max and |z| each have a kink there, and only this way do their
    derivatives add up to the true one, σ(0) - y = 1/2 - y (relu'(0) = 0 gave -y, a
    wrong gradient whenever a logit is exactly 0, e.g. behind a dead ReLU layer with
    zero biases)."""

    name = "binary_cross_entropy_with_logits"

    def per_example(self, y_pred: Tensor, y_true: Tensor) -> Tensor:
        z = y_pred
        abs_z = ad.abs(z)
        return _per_row((z + abs_z) * 0.5 - z * y_true + ad.log(1.0 + ad.exp(-abs_z)))


class CrossEntropy(Loss):
    """Categorical cross-entropy from logits z of shape (N, K): -log softmax(z)[y].

    Targets are class indices (N,) or probability rows (N, K) such as one-hot vectors.
    Built on log_softmax, so logits of +/-1000 are fine; its gradient is (p - onehot)/N.
    """

    name = "cross_entropy"

    def _align(self, y_pred: Tensor, y_true: Any) -> Tensor:
        y = y_true.data if isinstance(y_true, Tensor) else np.asarray(y_true)
        if y_pred.ndim != 2:
            raise ValueError(f"cross_entropy needs logits of shape (N, K), got {y_pred.shape}")
        n, k = y_pred.shape
        if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1 and k > 1):
            labels = y.reshape(-1)
            if labels.shape[0] != n:
                raise ValueError(f"cross_entropy: {labels.shape[0]} labels for {n} examples")
            if labels.dtype.kind == "f" and not np.all(labels == np.round(labels)):
                raise ValueError("cross_entropy: class labels must be whole numbers")
            labels = labels.astype(np.int64)
            if labels.size and (labels.min() < 0 or labels.max() >= k):
                raise ValueError(f"cross_entropy: labels must lie in 0..{k - 1}, got "
                                 f"{labels.min()}..{labels.max()}")
            onehot = np.zeros((n, k), dtype=y_pred.dtype)
            onehot[np.arange(n), labels] = 1
            return Tensor(onehot)
        return super()._align(y_pred, y)

    def per_example(self, y_pred: Tensor, y_true: Tensor) -> Tensor:
        return -(y_true * ad.log_softmax(y_pred, axis=-1)).sum(axis=-1)


LOSSES: dict[str, type[Loss]] = {
    "quadratic": QuadraticCost,
    "mse": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "huber": Huber,
    "binary_cross_entropy": BinaryCrossEntropy,
    "binary_cross_entropy_with_logits": BinaryCrossEntropyWithLogits,
    "cross_entropy": CrossEntropy,
}

_ALIASES = {
    "quadratic_cost": "quadratic", "half_mse": "quadratic",
    "mean_squared_error": "mse", "squared_error": "mse", "l2": "mse",
    "mean_absolute_error": "mae", "l1": "mae",
    "bce": "binary_cross_entropy", "log_loss": "binary_cross_entropy",
    "bce_with_logits": "binary_cross_entropy_with_logits",
    "bce_logits": "binary_cross_entropy_with_logits",
    "categorical_cross_entropy": "cross_entropy", "softmax_cross_entropy": "cross_entropy",
    "ce": "cross_entropy",
}


def get_loss(loss: str | Loss | Any) -> Loss:
    """A loss object from a name ("mse", "cross_entropy", ...) or an existing Loss.

    >>> import descent as ds
    >>> ds.nn.get_loss("quadratic")
    QuadraticCost()
    """
    if isinstance(loss, Loss):
        return loss
    if callable(loss) and not isinstance(loss, str):
        return _Callable(loss)
    if not isinstance(loss, str):
        raise TypeError(f"loss must be a name or a Loss, got {type(loss).__name__}")
    key = loss.strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of: {', '.join(LOSSES)}")
    return LOSSES[key]()


class _Callable(Loss):
    """A user's function f(y_pred, y_true) -> scalar Tensor, used as a loss."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self.name = getattr(fn, "__name__", "custom")

    def __call__(self, y_pred: Tensor, y_true: Any, sample_weight: Any = None) -> Tensor:
        if sample_weight is not None:
            raise ValueError(f"the custom loss {self.name} does not take sample weights")
        return self.fn(y_pred, self._align(y_pred, y_true))
