"""The numba kernel behind descent.train.jit: many training steps of a small MLP in one call.

Imported only when numba is (descent.train.jit decides); nothing else in descent imports
it. The kernel is the NumPy plan (train/plan.py) written as loops, step for step:

    forward   z_l = a_{l-1} W_l + b_l,  a_l = f_l(z_l)
    output    δ_L = ∂C/∂z_L  (the loss fused with the output layer, as in the plan)
    backward  ∂C/∂W_l = a_{l-1}ᵀ δ_l,  ∂C/∂b_l = Σ_n δ_l,  δ_{l-1} = (δ_l W_lᵀ) ⊙ f'(a_{l-1})
    update    the optimizer's rule over the flat weights (SGD with momentum, Nesterov and
              weight decay; Adam and AdamW), exactly the formulas of descent.optim

Everything is in flat arrays (numba compiles one function for any depth): the weights
`w` hold each layer's W (in, out) row-major followed by its b, end to end, as the plan
keeps them, and `layout[l] = (offset of W_l in w, in, out, activation code)`. The loops
are ordered so that the innermost runs along a contiguous row (the compiler vectorises
it); the sums therefore add in another order than BLAS does, which is why this path is
proven equal to the plan to float rounding (tests/train/test_jit.py), not bit for bit.

Activation codes: 0 identity, 1 tanh, 2 relu, 3 sigmoid, 4 scaled tanh, 5 leaky relu.
Loss codes: 0 mean squared error, 1 quadratic (½ Σ/N), 2 softmax cross-entropy with integer
labels, 3 softmax cross-entropy with target rows, 4 binary cross-entropy with logits.
Rule codes: 0 SGD (hyper: lr, momentum, nesterov, weight decay), 1 Adam and 2 AdamW
(hyper: lr, beta1, beta2, eps, weight decay).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

SCALED_TANH_A, SCALED_TANH_B = 1.7159, 2.0 / 3.0

# Reassociation lets the compiler vectorise the sums of δ Wᵀ; no "nnan"/"ninf": the
# kernel must see a non-finite loss to stop at it.
_FLAGS = {"reassoc", "contract", "nsz", "arcp"}


_F = np.float32
# Eigen's (and so XLA's) float32 tanh: a 13/6 rational function on [-c, c], a few ulp.
_C, _TINY = _F(7.99881172180175781), _F(0.0004)
_P = tuple(_F(v) for v in (-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11,
                           5.12229709037114e-08, 1.48572235717979e-05, 6.37261928875436e-04,
                           4.89352455891786e-03))
_Q = tuple(_F(v) for v in (1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03,
                           4.89352518554385e-03))


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FLAGS, inline="always")
def _tanh32(v):
    """tanh of a float32 as float32 arithmetic only: unlike libm's tanhf a loop of these
    vectorises, and tanh was half of a small network's step."""
    x = min(max(v, -_C), _C)
    x2 = x * x
    p = x2 * _P[0] + _P[1]
    p = p * x2 + _P[2]
    p = p * x2 + _P[3]
    p = p * x2 + _P[4]
    p = p * x2 + _P[5]
    p = p * x2 + _P[6]
    q = x2 * _Q[0] + _Q[1]
    q = q * x2 + _Q[2]
    q = q * x2 + _Q[3]
    return v if abs(v) < _TINY else x * p / q


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FLAGS, inline="always")
def _gather(X, rows, x, r0, r1):
    """x[r] = X[rows[r]] for r in [r0, r1): a batch's rows, gathered into a contiguous block
    (whatever X's layout), one part of it at a time in the two-core kernel."""
    for r in range(r0, r1):
        src = rows[r]
        for i in range(X.shape[1]):
            x[r, i] = X[src, i]


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FLAGS)
def _activate(z, m, width, code, single):
    """z[:m, :width] = f(z) in place; `single`: float32, where tanh is the rational
    function above (float64 keeps libm's). One loop per case, so that each vectorises."""
    if code == 1 or code == 4:
        inner = 1.0 if code == 1 else SCALED_TANH_B
        outer = 1.0 if code == 1 else SCALED_TANH_A
        if single:
            a, b = _F(inner), _F(outer)
            for r in range(m):
                for j in range(width):
                    z[r, j] = b * _tanh32(_F(a * z[r, j]))
        else:
            for r in range(m):
                for j in range(width):
                    z[r, j] = outer * math.tanh(inner * z[r, j])
    elif code == 2:
        for r in range(m):
            for j in range(width):
                z[r, j] = max(z[r, j], 0.0)
    elif code == 3:
        for r in range(m):
            for j in range(width):
                v = z[r, j]
                e = math.exp(-abs(v))  # never overflows
                z[r, j] = 1.0 / (1.0 + e) if v >= 0 else e / (1.0 + e)
    elif code == 5:
        for r in range(m):
            for j in range(width):
                v = z[r, j]
                z[r, j] = v if v > 0.01 * v else 0.01 * v


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FLAGS)
def _times_derivative(delta, a, m, width, code):
    """delta *= f'(z), with f' written from the output a = f(z), as the plan does. One
    loop per activation, so that each vectorises."""
    if code == 1:
        for r in range(m):
            for j in range(width):
                delta[r, j] *= 1.0 - a[r, j] * a[r, j]
    elif code == 2:
        for r in range(m):
            for j in range(width):
                delta[r, j] = delta[r, j] if a[r, j] > 0 else 0.0
    elif code == 3:
        for r in range(m):
            for j in range(width):
                delta[r, j] *= a[r, j] * (1.0 - a[r, j])
    elif code == 4:
        for r in range(m):
            for j in range(width):
                delta[r, j] *= SCALED_TANH_B * (SCALED_TANH_A - a[r, j] * a[r, j] / SCALED_TANH_A)
    elif code == 5:
        for r in range(m):
            for j in range(width):
                delta[r, j] *= 1.0 if a[r, j] > 0 else 0.01


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FLAGS)
def _output_delta(out, delta, m, k, loss, y_rows, y_labels, rows, out_act, n):
    """Fill delta[:m] = ∂C/∂z_L for m rows of a batch of n and return their share of C
    (the sum of their terms over n: the whole batch's mean when m = n). The halves of a
    batch (train/halves_kernel.py) divide by the whole batch's n, as the plan does."""
    value = 0.0
    if loss <= 1:  # (ŷ - y)²: mean over every entry (mse) or ½ Σ / N (quadratic)
        scale = 2.0 / (n * k) if loss == 0 else 1.0 / n
        for r in range(m):
            for j in range(k):
                d = out[r, j] - y_rows[rows[r], j]
                value += d * d
                delta[r, j] = d * scale
        value = value / (n * k) if loss == 0 else value / (2 * n)
        _times_derivative(delta, out, m, k, out_act)
        return value
    if loss <= 3:  # softmax cross-entropy: δ = (p - y) / N
        for r in range(m):
            top = out[r, 0]
            for j in range(1, k):
                top = max(top, out[r, j])
            s = 0.0
            for j in range(k):
                e = math.exp(out[r, j] - top)
                delta[r, j] = e
                s += e
            log_s = math.log(s)
            for j in range(k):
                delta[r, j] = delta[r, j] / s
            if loss == 2:
                t = y_labels[rows[r]]
                value += log_s - (out[r, t] - top)
                delta[r, t] -= 1.0
            else:
                for j in range(k):
                    t = y_rows[rows[r], j]
                    value -= t * (out[r, j] - top - log_s)
                    delta[r, j] -= t
            for j in range(k):
                delta[r, j] = delta[r, j] / n
        return value / n
    # binary cross-entropy with logits: mean(relu(z) - z y + log(1 + e^{-|z|}))
    for r in range(m):
        for j in range(k):
            z = out[r, j]
            t = y_rows[rows[r], j]
            e = math.exp(-abs(z))
            value += max(z, 0.0) - z * t + math.log1p(e)
            p = 1.0 / (1.0 + e) if z >= 0 else e / (1.0 + e)
            delta[r, j] = (p - t) / (n * k)
    return value / (n * k)


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FLAGS)
def _update(w, g, rule, hyper, s1, s2, t):
    """One step of the rule over the flat weights; t counts this update (from 1)."""
    n = w.shape[0]
    if rule == 0:
        lr, mu, nesterov, wd = hyper[0], hyper[1], hyper[2], hyper[3]
        if mu == 0 and wd == 0:  # plain SGD, the common case: one vectorised pass
            rate = np.empty(1, w.dtype)  # lr in the weights' dtype, as NumPy casts it
            rate[0] = lr
            r = rate[0]
            for i in range(n):
                w[i] -= r * g[i]
            return
        for i in range(n):
            gi = g[i]
            if wd != 0:
                gi = gi + wd * w[i]
            if mu != 0:
                s1[i] = mu * s1[i] + gi
                gi = gi + mu * s1[i] if nesterov != 0 else s1[i]
            w[i] -= lr * gi
        return
    lr, b1, b2, eps, wd = hyper[0], hyper[1], hyper[2], hyper[3], hyper[4]
    bc1 = 1.0 - b1 ** t
    root_bc2 = math.sqrt(1.0 - b2 ** t)
    step = lr / bc1
    for i in range(n):
        gi = g[i]
        if wd != 0:
            if rule == 2:
                w[i] *= 1.0 - lr * wd  # AdamW: decay the weight, outside the scaling
            else:
                gi = gi + wd * w[i]
        s1[i] = b1 * s1[i] + (1.0 - b1) * gi
        s2[i] = b2 * s2[i] + (1.0 - b2) * gi * gi
        w[i] -= step * (s1[i] / (math.sqrt(s2[i]) / root_bc2 + eps))


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FLAGS)
def train_batches(X, y_rows, y_labels, order, batch_size, first, last, w, g, layout, loss,
                  rule, hyper, s1, s2, t0, xb, acts, deltas, losses):
    """Train on batches first..last-1 of the epoch whose row order is `order`.

    X (N, in) C-ordered (fit's input checks make it so); y_rows (N, k) float targets,
    or y_labels (N,) integer classes for loss 2 (the other is a dummy); xb, acts and
    deltas: flat scratch, at least batch_size·in and batch_size·Σ widths long. losses[b]
    gets batch b's loss. Stops after the first batch whose loss is not finite (its step
    applied, as the plan's fit loop does). Returns how many batches it trained. The
    products go to BLAS (numba's np.dot calls it without NumPy's per-call cost); the
    rest are loops.
    """
    n = order.shape[0]
    L = layout.shape[0]
    single = w.itemsize == 4
    n_in = layout[0, 1]
    for b in range(first, last):
        start = b * batch_size
        m = min(batch_size, n - start)
        rows = order[start:start + m]
        x = xb[:m * n_in].reshape((m, n_in))
        _gather(X, rows, x, 0, m)
        # forward: a_{l-1} -> z_l -> a_l, each layer's a in its own slice of `acts`
        base = 0
        a_in = x
        for l in range(L):
            off, fan_in, width, code = layout[l, 0], layout[l, 1], layout[l, 2], layout[l, 3]
            W = w[off:off + fan_in * width].reshape((fan_in, width))
            bias = w[off + fan_in * width:off + fan_in * width + width]
            z = acts[base:base + m * width].reshape((m, width))
            np.dot(a_in, W, z)
            for r in range(m):
                for j in range(width):
                    z[r, j] += bias[j]
            if l < L - 1 or loss <= 1:  # the other losses take the output's logits
                _activate(z, m, width, code, single)
            a_in = z
            base += m * width
        # output delta, fused with the loss
        k = layout[L - 1, 2]
        dbase = base - m * k  # each layer's δ at the offset of its a
        delta = deltas[dbase:dbase + m * k].reshape((m, k))
        value = _output_delta(a_in, delta, m, k, loss, y_rows, y_labels, rows,
                              layout[L - 1, 3] if loss <= 1 else 0, m)
        losses[b] = value
        # backward: gradients of layer l, then δ of the layer below (old weights)
        for l in range(L - 1, -1, -1):
            off, fan_in, width = layout[l, 0], layout[l, 1], layout[l, 2]
            W = w[off:off + fan_in * width].reshape((fan_in, width))
            gW = g[off:off + fan_in * width].reshape((fan_in, width))
            gb = g[off + fan_in * width:off + fan_in * width + width]
            delta = deltas[dbase:dbase + m * width].reshape((m, width))
            below_base = dbase - m * fan_in
            if l == 0:
                np.dot(x.T, delta, gW)
            else:
                a_below = acts[below_base:below_base + m * fan_in].reshape((m, fan_in))
                np.dot(a_below.T, delta, gW)
            for j in range(width):
                gb[j] = 0.0
            for r in range(m):
                for j in range(width):
                    gb[j] += delta[r, j]
            if l > 0:
                below = deltas[below_base:below_base + m * fan_in].reshape((m, fan_in))
                np.dot(delta, W.T, below)
                _times_derivative(below, a_below, m, fan_in, layout[l - 1, 3])
            dbase = below_base
        _update(w, g, rule, hyper, s1, s2, t0 + (b - first) + 1)
        if not math.isfinite(value):
            return b - first + 1
    return last - first


def warm(dtype: np.dtype) -> None:
    """Compile (or load from numba's cache) the kernel for this dtype: one tiny call."""
    X = np.zeros((2, 1), dtype)
    w = np.zeros(2, dtype)
    layout = np.array([[0, 1, 1, 0]], np.int64)
    train_batches(X, np.zeros((2, 1), dtype), np.zeros(2, np.int64), np.arange(2), 2, 0, 1,
                  w, np.zeros_like(w), layout, 0, 0, np.zeros(5), np.zeros_like(w),
                  np.zeros_like(w), 0, np.zeros(2, dtype), np.zeros(2, dtype), np.zeros(2, dtype),
                  np.zeros(1, np.float64))
