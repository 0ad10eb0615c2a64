"""Rounding-error bounds for an MLP's forward and backward pass: the tolerances of the
differential tests in test_fastpath_properties.py, derived rather than guessed.

Two correct float implementations of the same formulas (the engine and a fast path) may
sum in other orders and evaluate activations with other formulas, so they agree only to
rounding. How far apart may they be? Standard running error analysis (Higham, "Accuracy
and Stability of Numerical Algorithms", §3.1 and §3.5) bounds each one's distance from
the exact result; twice that bounds their distance from each other. With u the unit
roundoff of the dtype and γ_n = n u / (1 - n u):

- a dot product of length n, computed in any order:  |fl(x·w) - x·w| <= γ_n |x|·|w|;
- an error E in an input of a Lipschitz function f (constant Lip) becomes Lip·E, and
  evaluating f itself adds a few ulps of its result;
- so, layer by layer (elementwise, |·| taken entrywise):
      E_z[l] = E_a[l-1] |W_l| + γ_{n+1} (|a[l-1]| |W_l| + |b_l|)
      E_a[l] = Lip_l E_z[l] + c u (|a[l]| + Lip_l |z[l]|)
  and backward, for δ = ∂C/∂z and the gradients G_W = aᵀδ, G_b = Σ_n δ:
      E_g      = E_δ[l] |W_l|ᵀ + γ_k |δ[l]| |W_l|ᵀ                      (g = δ Wᵀ)
      E_δ[l-1] = E_g |f'| + |g| E_f' + c u |δ[l-1]|
      E_GW     = |a|ᵀ E_δ + E_aᵀ |δ| + γ_{N+1} |a|ᵀ |δ|.

The reference values are computed in float64 from the same weights (exact in float64
when they are float32). Everything is a bound, not an estimate: a difference above it
is a bug (the NumPy in-place bug of bdf774f produced errors of 0.5 where the float32
bound is about 1e-5), never bad luck. The one place two right answers exist is the kink
of relu and leaky relu: a pre-activation within rounding of 0 may land on either side;
`kink_margin` lets a test set such draws aside.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import descent as ds

C_ULPS = 8  # ulps allowed per elementwise operation (libm tanh/exp: <= 2; a few chained)
A, B = 1.7159, 2.0 / 3.0  # scaled tanh: A tanh(B z)
LIPSCHITZ = {"identity": 1.0, "relu": 1.0, "leaky_relu": 1.0, "tanh": 1.0, "sigmoid": 0.25,
             "scaled_tanh": A * B}


def unit_roundoff(dtype: np.dtype) -> float:
    return float(np.finfo(dtype).eps) / 2


def gamma(n: int, u: float) -> float:
    return n * u / (1 - n * u)


def layers(net: ds.nn.Module) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """[(W, b, activation)] of a Sequential of Linear and Activation layers, in float64."""
    out: list[tuple[np.ndarray, np.ndarray, str]] = []
    for layer in net:
        if isinstance(layer, ds.nn.Linear):
            out.append((layer.weight.data.astype(np.float64), layer.bias.data.astype(np.float64),
                        "identity"))
        else:
            W, b, _ = out[-1]
            out[-1] = (W, b, layer.name)
    return out


def _activate(name: str, z: np.ndarray) -> np.ndarray:
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    with ds.no_grad():
        return ds.nn.ACTIVATIONS[name](ds.tensor(z)).data


def _derivative(name: str, a: np.ndarray, Ea: np.ndarray, u: float) -> tuple[np.ndarray,
                                                                             np.ndarray]:
    """f'(z) written from a = f(z), and a bound on its error given a's error Ea."""
    if name == "tanh":
        return 1 - a * a, 2 * np.abs(a) * Ea + C_ULPS * u
    if name == "sigmoid":
        return a * (1 - a), np.abs(1 - 2 * a) * Ea + C_ULPS * u * np.abs(a)
    if name == "scaled_tanh":
        return B * (A - a * a / A), B * (2 * np.abs(a) / A) * Ea + C_ULPS * u * A * B
    if name == "relu":
        return (a > 0).astype(np.float64), np.zeros_like(a)
    if name == "leaky_relu":
        return np.where(a > 0, 1.0, 0.01), np.zeros_like(a)
    return np.ones_like(a), np.zeros_like(a)


@dataclass
class Forward:
    a: list[np.ndarray]  # a[0] = X, a[l] = f(z[l]), float64
    z: list[np.ndarray]
    Ea: list[np.ndarray]  # bounds on |fl(a[l]) - a[l]| for one implementation
    Ez: list[np.ndarray]


@np.errstate(over="ignore", invalid="ignore")
def forward(net: ds.nn.Module, X: np.ndarray, dtype: np.dtype) -> Forward:
    """The float64 forward pass of `net` on X and bounds on a dtype implementation's error."""
    u = unit_roundoff(dtype)
    a = [np.asarray(X, np.float64)]
    z: list[np.ndarray] = [a[0]]
    Ea, Ez = [np.zeros_like(a[0])], [np.zeros_like(a[0])]
    for W, b, act in layers(net):
        zl = a[-1] @ W + b
        Ezl = Ea[-1] @ np.abs(W) + gamma(W.shape[0] + 1, u) * (np.abs(a[-1]) @ np.abs(W)
                                                               + np.abs(b))
        al = _activate(act, zl)
        if act == "softmax":
            # δp_i = p_i (δz_i - Σ_j p_j δz_j): at most 2 p_i max_j |δz_j|; then the
            # rounding of z - max, exp, the row sum and the division.
            shift = np.abs(zl - zl.max(axis=1, keepdims=True)).max(axis=1, keepdims=True)
            Eal = al * (2 * Ezl.max(axis=1, keepdims=True)
                        + u * (2 * shift + zl.shape[1] + C_ULPS))
        else:
            lip = LIPSCHITZ[act]
            Eal = lip * Ezl + (0 if act == "identity" else
                               C_ULPS * u * (np.abs(al) + lip * np.abs(zl)))
        a.append(al)
        z.append(zl)
        Ea.append(Eal)
        Ez.append(Ezl)
    return Forward(a, z, Ea, Ez)


def kink_margin(net: ds.nn.Module, fwd: Forward) -> float:
    """How close (in units of its own error bound) the nearest relu/leaky relu
    pre-activation comes to the kink at 0; inf when there is none. Below 1 the two
    implementations may legitimately take different sides."""
    closest = np.inf
    for l, (_, _, act) in enumerate(layers(net), start=1):
        if act in ("relu", "leaky_relu"):
            bound = 2 * fwd.Ez[l] + np.finfo(np.float64).tiny
            closest = min(closest, float((np.abs(fwd.z[l]) / bound).min()))
    return closest


@dataclass
class Backward:
    loss: float
    E_loss: float
    grads: list[np.ndarray]  # W1, b1, W2, b2, ... (the order of net.parameters())
    E_grads: list[np.ndarray]


@np.errstate(over="ignore", invalid="ignore")
def backward(net: ds.nn.Module, fwd: Forward, y: np.ndarray, loss: str,
             dtype: np.dtype) -> Backward:
    """Loss, gradients and their error bounds for the losses the compiled step fuses."""
    u = unit_roundoff(dtype)
    stack = layers(net)
    out, Eout, zL, EzL = fwd.a[-1], fwd.Ea[-1], fwd.z[-1], fwd.Ez[-1]
    n, k = out.shape
    act_out = stack[-1][2]
    if loss in ("mse", "quadratic"):
        Y = y.reshape(out.shape).astype(np.float64)
        r = out - Y
        Er = Eout + u * np.abs(r)
        scale = 2.0 / (n * k) if loss == "mse" else 1.0 / n
        value = float((r * r).sum()) * (1.0 / (n * k) if loss == "mse" else 0.5 / n)
        E_value = float((2 * np.abs(r) * Er).sum()) * scale / 2 + gamma(n * k + 2, u) * value
        fp, Efp = _derivative(act_out, out, Eout, u)
        delta = scale * r * fp
        # |(r+er)(f+ef) - rf| <= |er||f| + |r||ef| + |er||ef|: the last term rules where
        # both are nearly 0 (a saturated unit's derivative is ~0 exactly, ~ulp computed)
        Edelta = scale * (Er * (np.abs(fp) + Efp) + np.abs(r) * Efp) + C_ULPS * u * np.abs(delta)
    elif loss == "cross_entropy":
        Y = np.zeros_like(zL)
        if y.ndim == 1:
            Y[np.arange(n), y] = 1
        else:
            Y = y.astype(np.float64)
        m = zL.max(axis=1, keepdims=True)
        lse = np.log(np.exp(zL - m).sum(axis=1, keepdims=True)) + m
        p = np.exp(zL - lse)
        value = float(-(Y * (zL - lse)).sum()) / n
        # C is 1-Lipschitz in each row's logits (max norm) times Σ_j Y_j; then rounding.
        shift = np.abs(zL - m).max(axis=1, keepdims=True)
        row_err = 2 * EzL.max(axis=1, keepdims=True)
        Ep = p * (row_err + u * (2 * shift + k + C_ULPS))
        E_value = float((np.abs(Y).sum(axis=1, keepdims=True)
                         * (row_err + u * (np.abs(lse) + shift + k + C_ULPS))).sum()) / n \
            + gamma(n * k + 2, u) * abs(value)
        delta = (p - Y) / n
        Edelta = Ep / n + C_ULPS * u * np.abs(delta)
    elif loss == "binary_cross_entropy_with_logits":
        Y = y.reshape(zL.shape).astype(np.float64)
        terms = np.maximum(zL, 0) - zL * Y + np.log1p(np.exp(-np.abs(zL)))
        value = float(terms.sum()) / (n * k)
        s = 1 / (1 + np.exp(-zL))
        # d terms / dz = σ(z) - y, at most 1 + |y| in size.
        E_value = float(((1 + np.abs(Y)) * EzL + C_ULPS * u * (np.abs(terms) + np.abs(zL)
                                                              * (1 + np.abs(Y)))).sum()) \
            / (n * k) + gamma(n * k + 2, u) * abs(value)
        delta = (s - Y) / (n * k)
        Edelta = (0.25 * EzL + C_ULPS * u) / (n * k) + C_ULPS * u * np.abs(delta)
    else:
        raise ValueError(f"no bound for loss {loss}")

    grads: list[np.ndarray] = []
    E_grads: list[np.ndarray] = []
    for l in range(len(stack), 0, -1):
        W = stack[l - 1][0]
        a, Ea = fwd.a[l - 1], fwd.Ea[l - 1]
        g_rows = a.shape[0] + 1
        GW = a.T @ delta
        EGW = np.abs(a).T @ Edelta + Ea.T @ (np.abs(delta) + Edelta) + gamma(g_rows, u) * (
            np.abs(a).T @ np.abs(delta))
        Gb = delta.sum(axis=0)
        EGb = Edelta.sum(axis=0) + gamma(g_rows, u) * np.abs(delta).sum(axis=0)
        grads[:0] = [GW, Gb]
        E_grads[:0] = [EGW, EGb]
        if l > 1:
            g = delta @ W.T
            Eg = Edelta @ np.abs(W).T + gamma(W.shape[1] + 1, u) * (np.abs(delta)
                                                                     @ np.abs(W).T)
            fp, Efp = _derivative(stack[l - 2][2], fwd.a[l - 1], fwd.Ea[l - 1], u)
            delta = g * fp
            Edelta = Eg * (np.abs(fp) + Efp) + np.abs(g) * Efp + C_ULPS * u * np.abs(delta)
    return Backward(value, E_value, grads, E_grads)


def slack(dtype: np.dtype) -> float:
    """An absolute allowance for subnormal results, whose relative error is unbounded."""
    return 16 * float(np.finfo(dtype).tiny)


def assert_within(got: np.ndarray, want: np.ndarray, bound: np.ndarray | float,
                  dtype: np.dtype, what: str) -> None:
    """|got - want| <= 2·bound (each side within bound of the exact value) + slack."""
    got64, want64 = np.asarray(got, np.float64), np.asarray(want, np.float64)
    diff = np.abs(got64 - want64)
    allowed = np.broadcast_to(2 * np.asarray(bound, np.float64) + slack(dtype), diff.shape)
    bad = ~(diff <= allowed)
    if np.any(bad):
        i = np.unravel_index(int(np.argmax(np.where(bad, diff - allowed, -np.inf))),
                             diff.shape)
        raise AssertionError(
            f"{what}: {int(bad.sum())} of {diff.size} entries differ by more than the "
            f"rounding bound; worst at {i}: fast {got64[i]!r}, engine {want64[i]!r}, "
            f"difference {diff[i]:.3g}, bound {allowed[i]:.3g}")
