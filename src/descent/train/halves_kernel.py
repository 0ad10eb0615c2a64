"""The numba kernel behind descent.train.halves: training steps of a big MLP with both
halves of every batch computed at once, on two cores.

Imported only when numba is (descent.train.halves decides). A step is two phases, each a
loop of two parts that numba runs in parallel (`prange`, OpenMP threads where numba has
them) or one after the other on the calling thread:

    phase 1, by rows of the batch: part p takes rows [cut_p, cut_{p+1}) through the
             forward pass, the loss and the backward pass of the deltas
             (z_l = a_{l-1} W_l + b_l, a_l = f(z_l), δ_L = ∂C/∂z_L, δ_{l-1} = δ_l W_lᵀ ⊙ f'),
             each row's work being the same whatever the other rows are;
    phase 2, by rows of each [W_l; b_l]: part p computes its rows of the gradient over
             the whole batch (∂C/∂W_l = a_{l-1}ᵀ δ_l, ∂C/∂b_l = Σ_n δ_l) and applies the
             optimizer's rule to those weights only.

Two joins a step. The gradient of each weight is computed once, by the thread that then
updates it (no second gradient to add, no reduction pass), and the update reads a gradient
still in that core's cache. The parts are fixed by the shapes alone (`halves.cuts`), and
each is the same sequence of calls whichever thread runs it, so the weights of a run are
the same bits with one thread or two. The products are NumPy's own OpenBLAS gemm called
directly (train/gemm.py), on one BLAS thread; the rest are the loops of the small-network
kernel (train/jit_kernel.py), whose conventions (`layout`, activation, loss and rule
codes) this kernel shares.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

from descent.train import gemm
from descent.train.jit_kernel import (
    _FLAGS,
    _activate,
    _gather,
    _output_delta,
    _times_derivative,
    _update,
)

_, _, _WIDE = gemm.functions() or (0, 0, True)
ROW_MAJOR, NO_TRANS, TRANS = gemm.ROW_MAJOR, gemm.NO_TRANS, gemm.TRANS


def _gemm_intrinsic(double: bool) -> object:
    """cblas_?gemm(RowMajor, ta, tb, m, n, k, 1, a, lda, b, ldb, 0, c, ldc) at address fn."""
    @intrinsic
    def call(typingctx, fn, ta, tb, m, n, k, a, lda, b, ldb, c, ldc):  # type: ignore
        def codegen(context, builder, sig, args):  # type: ignore
            i32, i64 = ir.IntType(32), ir.IntType(64)
            size = i64 if _WIDE else i32
            real = ir.DoubleType() if double else ir.FloatType()
            fnty = ir.FunctionType(ir.VoidType(), [i32, i32, i32, size, size, size, real,
                                                   i64, size, i64, size, real, i64, size])
            ptr = builder.inttoptr(args[0], fnty.as_pointer())
            as_size = (lambda v: v) if _WIDE else (lambda v: builder.trunc(v, i32))
            builder.call(ptr, [ir.Constant(i32, ROW_MAJOR), builder.trunc(args[1], i32),
                               builder.trunc(args[2], i32), as_size(args[3]),
                               as_size(args[4]), as_size(args[5]), ir.Constant(real, 1.0),
                               args[6], as_size(args[7]), args[8], as_size(args[9]),
                               ir.Constant(real, 0.0), args[10], as_size(args[11])])
            return context.get_dummy_value()
        sig = types.void(types.int64, types.int64, types.int64, types.int64, types.int64,
                         types.int64, types.int64, types.int64, types.int64, types.int64,
                         types.int64, types.int64)
        return sig, codegen
    return call


_sgemm, _dgemm = _gemm_intrinsic(False), _gemm_intrinsic(True)


@njit(cache=True, nogil=True, inline="always")
def _gemm(fns, single, ta, tb, m, n, k, a, lda, b, ldb, c, ldc):
    """c (m×n, row-major, ldc) = op(a) op(b); a, b, c are addresses."""
    if single:
        _sgemm(fns[0], ta, tb, m, n, k, a, lda, b, ldb, c, ldc)
    else:
        _dgemm(fns[1], ta, tb, m, n, k, a, lda, b, ldb, c, ldc)


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FLAGS)
def _rows_part(X, y_rows, y_labels, rows, r0, r1, m, w, layout, loss, xb, acts, deltas,
               fns):
    """Phase 1 for rows r0..r1-1 of a batch of m (`rows`: the batch's rows of X): gather
    them, forward, the loss's δ_L (divided by m, the whole batch) and every δ_l below it.
    Returns their share of the batch's loss."""
    L = layout.shape[0]
    single = w.itemsize == 4
    size = w.itemsize
    n_in = layout[0, 1]
    h = r1 - r0
    x = xb[:m * n_in].reshape((m, n_in))
    _gather(X, rows, x, r0, r1)
    base = 0
    a_in = x
    for l in range(L):
        off, fan_in, width, code = layout[l, 0], layout[l, 1], layout[l, 2], layout[l, 3]
        z = acts[base:base + m * width].reshape((m, width))
        _gemm(fns, single, NO_TRANS, NO_TRANS, h, width, fan_in,
              a_in.ctypes.data + r0 * fan_in * size, fan_in, w.ctypes.data + off * size,
              width, z.ctypes.data + r0 * width * size, width)
        bias = w[off + fan_in * width:off + fan_in * width + width]
        for r in range(r0, r1):
            for j in range(width):
                z[r, j] += bias[j]
        if l < L - 1 or loss <= 1:  # the other losses take the output's logits
            _activate(z[r0:r1], h, width, code, single)
        a_in = z
        base += m * width
    k = layout[L - 1, 2]
    dbase = base - m * k
    delta = deltas[dbase:dbase + m * k].reshape((m, k))
    value = _output_delta(a_in[r0:r1], delta[r0:r1], h, k, loss, y_rows, y_labels,
                          rows[r0:r1], layout[L - 1, 3] if loss <= 1 else 0, m)
    for l in range(L - 1, 0, -1):
        off, fan_in, width = layout[l, 0], layout[l, 1], layout[l, 2]
        below_base = dbase - m * fan_in
        below = deltas[below_base:below_base + m * fan_in].reshape((m, fan_in))
        # δ_{l-1} = δ_l W_lᵀ, rows r0..r1-1
        _gemm(fns, single, NO_TRANS, TRANS, h, fan_in, width,
              deltas.ctypes.data + (dbase + r0 * width) * size, width,
              w.ctypes.data + off * size, width, below.ctypes.data + r0 * fan_in * size,
              fan_in)
        a_below = acts[below_base:below_base + m * fan_in].reshape((m, fan_in))
        _times_derivative(below[r0:r1], a_below[r0:r1], h, fan_in, layout[l - 1, 3])
        dbase = below_base
    return value


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FLAGS)
def _weights_part(p, m, w, g, layout, cuts, rule, hyper, s1, s2, t, xb, acts, deltas, fns):
    """Phase 2, part p: rows cuts[l, p]..cuts[l, p+1]-1 of every layer's [∂C/∂W; ∂C/∂b]
    over the whole batch of m rows (row fan_in is the bias), and the optimizer's rule on
    those weights."""
    L = layout.shape[0]
    single = w.itemsize == 4
    size = w.itemsize
    base = 0
    for l in range(L):
        base += m * layout[l, 2]
    dbase = base
    for l in range(L - 1, -1, -1):
        off, fan_in, width = layout[l, 0], layout[l, 1], layout[l, 2]
        dbase -= m * width
        c0, c1 = cuts[l, p], cuts[l, p + 1]
        if c1 <= c0:
            continue
        delta = deltas[dbase:dbase + m * width].reshape((m, width))
        if l == 0:
            a_ptr = xb.ctypes.data
        else:
            a_ptr = acts.ctypes.data + (dbase - m * fan_in) * size
        hi = min(c1, fan_in)
        if hi > c0:  # ∂C/∂W rows c0..hi-1 = a[:, c0:hi]ᵀ δ
            _gemm(fns, single, TRANS, NO_TRANS, hi - c0, width, m, a_ptr + c0 * size, fan_in,
                  delta.ctypes.data, width, g.ctypes.data + (off + c0 * width) * size, width)
        if c1 > fan_in:  # ∂C/∂b = Σ_n δ
            gb = g[off + fan_in * width:off + fan_in * width + width]
            for j in range(width):
                gb[j] = 0.0
            for r in range(m):
                for j in range(width):
                    gb[j] += delta[r, j]
        lo, stop = off + c0 * width, off + c1 * width
        _update(w[lo:stop], g[lo:stop], rule, hyper, s1[lo:stop] if s1.shape[0] else s1,
                s2[lo:stop] if s2.shape[0] else s2, t)


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FLAGS, parallel=True)
def train_batches(X, y_rows, y_labels, order, batch_size, first, last, w, g, layout, cuts,
                  min_rows, loss, rule, hyper, s1, s2, t0, xb, acts, deltas, losses, fns):
    """Train on batches first..last-1 of the epoch whose row order is `order`, as
    jit_kernel.train_batches does (same arguments, same scratch), each step in the two
    phases above. `cuts[l]` = (0, c, fan_in + 1): the rows of [W_l; b_l] of each part of
    phase 2; a batch of at least `min_rows` rows is cut in two at (m + 1) // 2 for phase
    1, a smaller one is one part. Stops after the first batch whose loss is not finite
    (its step applied). Returns how many batches it trained."""
    n = order.shape[0]
    parts = np.zeros(2)
    for b in range(first, last):
        start = b * batch_size
        m = min(batch_size, n - start)
        rows = order[start:start + m]
        mid = (m + 1) // 2 if m >= min_rows else m
        for p in prange(2):
            r0 = 0 if p == 0 else mid
            r1 = mid if p == 0 else m
            parts[p] = _rows_part(X, y_rows, y_labels, rows, r0, r1, m, w, layout, loss,
                                  xb, acts, deltas, fns) if r1 > r0 else 0.0
        value = parts[0] + parts[1]
        losses[b] = value
        t = t0 + (b - first) + 1
        for p in prange(2):
            _weights_part(p, m, w, g, layout, cuts, rule, hyper, s1, s2, t, xb, acts,
                          deltas, fns)
        if not np.isfinite(value):
            return b - first + 1
    return last - first

