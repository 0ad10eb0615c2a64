"""A compiled training step for plain MLPs: backpropagation as a fixed plan of NumPy calls.

The engine builds a graph node per op on every batch; for a network whose shape never
changes that bookkeeping is pure overhead. `compile_step` reads the model once (a stack of
Linear layers, each optionally followed by an activation) and returns a step that replays
the same forward and backward pass as the engine, written as the textbook formulas with
preallocated buffers:

    forward   z_l = a_{l-1} W_l + b_l,     a_l = f_l(z_l)
    output    δ_L = ∂C/∂z_L                (fused: softmax + cross-entropy gives (p - y)/N)
    backward  ∂C/∂W_l = a_{l-1}ᵀ δ_l,  ∂C/∂b_l = Σ_n δ_l,  δ_{l-1} = (δ_l W_lᵀ) ⊙ f'(a_{l-1})

Activation derivatives are taken from the outputs a (tanh: 1 - a², sigmoid: a(1 - a)),
so z need not be kept. Anything else (other layers, losses, sample weights, odd dtypes)
returns None and `fit` uses the engine. tests/train/test_plan.py checks that both give
the same weights after many steps.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from descent.nn import Activation, Linear, Loss, Module, Sequential
from descent.optim import Optimizer

SCALED_TANH_A, SCALED_TANH_B = 1.7159, 2.0 / 3.0


# ---- activations in place, and their derivatives from the output -----------------------------

def _sigmoid_(z: np.ndarray, tmp: np.ndarray) -> None:
    # Stable: e^{-|z|} never overflows; sigmoid = 1/(1+e) for z >= 0, e/(1+e) otherwise.
    np.abs(z, out=tmp)
    np.negative(tmp, out=tmp)
    np.exp(tmp, out=tmp)
    positive = z >= 0
    np.add(tmp, 1, out=z)
    np.divide(np.where(positive, 1, tmp), z, out=z)


def _scaled_tanh_(z: np.ndarray, tmp: np.ndarray) -> None:
    z *= SCALED_TANH_B
    np.tanh(z, out=z)
    z *= SCALED_TANH_A


def _leaky_relu_(z: np.ndarray, tmp: np.ndarray) -> None:
    np.multiply(z, 0.01, out=tmp)
    np.maximum(z, tmp, out=z)  # for slope < 1, max(z, 0.01 z) is leaky_relu


FORWARD: dict[str, Callable[[np.ndarray, np.ndarray], None]] = {
    "tanh": lambda z, tmp: np.tanh(z, out=z),
    "relu": lambda z, tmp: np.maximum(z, 0, out=z),
    "sigmoid": _sigmoid_,
    "scaled_tanh": _scaled_tanh_,
    "leaky_relu": _leaky_relu_,
}


def _times_tanh_prime(delta: np.ndarray, a: np.ndarray, tmp: np.ndarray) -> None:
    np.multiply(a, a, out=tmp)  # f' = 1 - a²
    np.subtract(1, tmp, out=tmp)
    delta *= tmp


def _times_sigmoid_prime(delta: np.ndarray, a: np.ndarray, tmp: np.ndarray) -> None:
    np.subtract(1, a, out=tmp)  # f' = a(1 - a)
    tmp *= a
    delta *= tmp


def _times_relu_prime(delta: np.ndarray, a: np.ndarray, tmp: np.ndarray) -> None:
    delta *= a > 0  # f' = 1 where z > 0, i.e. where a > 0; 0 at 0 as in the engine


def _times_leaky_prime(delta: np.ndarray, a: np.ndarray, tmp: np.ndarray) -> None:
    delta *= np.where(a > 0, 1.0, 0.01).astype(delta.dtype, copy=False)


def _times_scaled_tanh_prime(delta: np.ndarray, a: np.ndarray, tmp: np.ndarray) -> None:
    # f = A tanh(Bz) => f' = A B (1 - tanh²) = B (A - a²/A)
    np.multiply(a, a, out=tmp)
    tmp *= -1.0 / SCALED_TANH_A
    tmp += SCALED_TANH_A
    tmp *= SCALED_TANH_B
    delta *= tmp


TIMES_DERIVATIVE: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], None]] = {
    "tanh": _times_tanh_prime,
    "relu": _times_relu_prime,
    "sigmoid": _times_sigmoid_prime,
    "scaled_tanh": _times_scaled_tanh_prime,
    "leaky_relu": _times_leaky_prime,
}

# Losses the plan fuses with the output layer: name -> which output activations it allows.
LOSSES = {"mse": {"identity"}, "quadratic": {"identity", *FORWARD},
          "cross_entropy": {"identity"}, "binary_cross_entropy_with_logits": {"identity"}}
LOSSES["mse"] |= set(FORWARD)


def _layers(model: Module) -> list[tuple[Linear, str]] | None:
    """[(linear, activation name)] for a plain Linear/Activation stack, else None."""
    if not isinstance(model, Sequential):
        return None
    out: list[tuple[Linear, str]] = []
    for layer in model:
        if isinstance(layer, Linear):
            if layer.bias is None:
                return None
            out.append((layer, "identity"))
        elif isinstance(layer, Activation) and out and out[-1][1] == "identity" \
                and layer.name in FORWARD:
            out[-1] = (out[-1][0], layer.name)
        else:
            return None
    return out or None


class _Buffers:
    """Every array one step needs, for one batch size, allocated once."""

    def __init__(self, layers: list[tuple[Linear, str]], n: int, dtype: np.dtype) -> None:
        self.a = [np.empty((n, lin.out_features), dtype) for lin, _ in layers]
        self.delta = [np.empty((n, lin.out_features), dtype) for lin, _ in layers]
        self.tmp = [np.empty((n, lin.out_features), dtype) for lin, _ in layers]


class CompiledStep:
    """One training step of an MLP as a fixed sequence of NumPy calls into buffers."""

    def __init__(self, layers: list[tuple[Linear, str]], loss: Loss, optimizer: Optimizer,
                 dtype: np.dtype) -> None:
        self.layers, self.loss, self.optimizer, self.dtype = layers, loss, optimizer, dtype
        self.W = [lin.weight for lin, _ in layers]
        self.b = [lin.bias for lin, _ in layers]
        self.gW = [np.zeros_like(w.data) for w in self.W]
        self.gb = [np.zeros_like(b.data) for b in self.b]
        self._buffers: dict[int, _Buffers] = {}

    def covers(self, xb: np.ndarray) -> bool:
        return xb.dtype == self.dtype and xb.ndim == 2 \
            and xb.shape[1] == self.layers[0][0].in_features

    def _buffers_for(self, n: int) -> _Buffers:
        buffers = self._buffers.get(n)
        if buffers is None:
            if len(self._buffers) >= 4:  # odd batch sizes: keep memory bounded
                self._buffers.clear()
            buffers = self._buffers[n] = _Buffers(self.layers, n, self.dtype)
        return buffers

    def forward(self, x: np.ndarray, buf: _Buffers) -> np.ndarray:
        a = x
        for l, (_, act) in enumerate(self.layers):
            z = buf.a[l]
            np.matmul(a, self.W[l].data, out=z)
            z += self.b[l].data
            if act != "identity":
                FORWARD[act](z, buf.tmp[l])  # now holds a_l = f(z_l)
            a = z
        return a

    def output_delta(self, out: np.ndarray, y: np.ndarray, delta: np.ndarray,
                     tmp: np.ndarray) -> float:
        """Fill delta = ∂C/∂z_L and return C, for the loss fused with the output layer."""
        n, k = out.shape
        name, act = self.loss.name, self.layers[-1][1]
        if name in ("mse", "quadratic"):
            np.subtract(out, y.reshape(out.shape), out=delta)  # ŷ - y
            value = float(np.vdot(delta, delta))
            if name == "mse":
                value /= n * k
                delta *= 2.0 / (n * k)
            else:
                value /= 2 * n
                delta *= 1.0 / n
            if act != "identity":
                TIMES_DERIVATIVE[act](delta, out, tmp)
            return value
        if name == "cross_entropy":
            m = out.max(axis=1, keepdims=True)
            np.subtract(out, m, out=delta)  # shifted logits, never overflow
            np.exp(delta, out=tmp)
            s = tmp.sum(axis=1, keepdims=True)
            lse = np.log(s)
            if y.ndim == 1:
                y = y.astype(np.intp, copy=False)
                rows = np.arange(n)
                value = float(lse.sum() - delta[rows, y].sum()) / n
                np.divide(tmp, s, out=delta)  # p = softmax
                delta[rows, y] -= 1  # p - onehot
            else:
                value = float(-(y * (delta - lse)).sum()) / n
                np.divide(tmp, s, out=delta)
                delta -= y
            delta *= 1.0 / n
            return value
        # binary cross-entropy with logits: C = mean(relu(z) - z y + log(1 + e^{-|z|}))
        yy = y.reshape(out.shape)
        np.abs(out, out=tmp)
        np.negative(tmp, out=tmp)
        np.exp(tmp, out=tmp)
        value = float((np.maximum(out, 0) - out * yy + np.log1p(tmp)).sum()) / (n * k)
        np.copyto(delta, out)
        _sigmoid_(delta, tmp)
        delta -= yy
        delta *= 1.0 / (n * k)
        return value

    def __call__(self, x: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> float:
        buf = self._buffers_for(x.shape[0])
        out = self.forward(x, buf)
        L = len(self.layers) - 1
        value = self.output_delta(out, y, buf.delta[L], buf.tmp[L])
        for l in range(L, -1, -1):
            delta = buf.delta[l]
            a_prev = x if l == 0 else buf.a[l - 1]
            np.matmul(a_prev.T, delta, out=self.gW[l])
            np.sum(delta, axis=0, out=self.gb[l])
            if l > 0:
                np.matmul(delta, self.W[l].data.T, out=buf.delta[l - 1])
                act = self.layers[l - 1][1]
                if act != "identity":
                    TIMES_DERIVATIVE[act](buf.delta[l - 1], buf.a[l - 1], buf.tmp[l - 1])
        for p, g in zip(self.W + self.b, self.gW + self.gb, strict=True):
            p.grad = g
        self.optimizer.step()
        return value


def compile_step(model: Module, loss: Loss, optimizer: Optimizer) -> CompiledStep | None:
    """A compiled step for `model` if it is a plain MLP with a fusable loss, else None."""
    layers = _layers(model)
    if layers is None or loss.name not in LOSSES or type(loss).__call__ is not Loss.__call__:
        return None
    if layers[-1][1] not in LOSSES[loss.name]:
        return None
    params = model.parameters()
    dtype = params[0].dtype
    if any(p.dtype != dtype for p in params) or set(map(id, params)) != set(
            map(id, optimizer.params)):
        return None
    return CompiledStep(layers, loss, optimizer, dtype)
