"""Convolution and pooling, composed from the one sliding-window primitive.

`windows(x)` cuts x into its k x k patches (a view, no copy). Then
- a convolution is the patches times the weights: one matrix product (im2col),
- max pooling is the max of each patch, average pooling its mean.
None of them has derivative code: the gradient of the patches (`unwindows`, col2im) and
of the product, max and mean already sit in the primitive table.

Layouts are PyTorch's, so weights move between the two unchanged: inputs (N, C, L) or
(N, C, H, W), weights (out_channels, in_channels, k) or (out_channels, in_channels, kh, kw).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from descent.autodiff.tensor import Tensor, apply

Pair = tuple[int, int]


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _ints(value: Any, d: int, what: str, minimum: int) -> tuple[int, ...]:
    """An int or a tuple of d ints, each >= minimum, as a d-tuple."""
    items = (value,) * d if isinstance(value, int | np.integer) else tuple(value) \
        if isinstance(value, tuple | list) else None
    if items is None or len(items) != d or any(
            isinstance(v, bool) or not isinstance(v, int | np.integer) or v < minimum
            for v in items):
        raise ValueError(f"{what} must be an integer >= {minimum} or a tuple of {d} such "
                         f"integers, got {value!r}")
    return tuple(int(v) for v in items)


def _padding(padding: Any, d: int, kernel: tuple[int, ...], stride: tuple[int, ...],
             dilation: tuple[int, ...]) -> tuple[Pair, ...]:
    """(lo, hi) zero padding per spatial axis from an int, a tuple, "valid" or "same"."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * d
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError("padding='same' needs stride 1 (as in PyTorch), "
                                 f"got stride {stride}")
            # the odd pixel of an even kernel goes after, as PyTorch does
            totals = [r * (k - 1) for k, r in zip(kernel, dilation, strict=True)]
            return tuple((t // 2, t - t // 2) for t in totals)
        raise ValueError(f"padding must be an integer, a tuple, 'valid' or 'same', "
                         f"got {padding!r}")
    return tuple((p, p) for p in _ints(padding, d, "padding", 0))


def _out_size(spatial: tuple[int, ...], kernel: tuple[int, ...], stride: tuple[int, ...],
              dilation: tuple[int, ...], pads: tuple[Pair, ...], where: str) -> tuple[int, ...]:
    out = []
    for n, k, s, r, (lo, hi) in zip(spatial, kernel, stride, dilation, pads, strict=True):
        span = r * (k - 1) + 1
        if n + lo + hi < span:
            raise ValueError(f"{where}: the input ({n} with padding {lo}+{hi}) is smaller than "
                             f"the kernel ({k}, dilation {r} spans {span})")
        out.append((n + lo + hi - span) // s + 1)
    return tuple(out)


def _check_input(x: Tensor, d: int, where: str) -> None:
    layout = "(N, C, L)" if d == 1 else "(N, C, H, W)"
    if x.ndim != d + 2:
        raise ValueError(f"{where} needs an input of shape {layout}, got shape {x.shape}")


def windows(x: Any, kernel_size: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
            fill: float = 0.0) -> Tensor:
    """The sliding k x k patches of x's spatial axes (the `windows` primitive).

    Shapes: x (N, C, *spatial) -> (N, C, *out, *kernel), with out = (n + 2p - r(k-1) - 1)
    // s + 1 per axis. Padding is filled with `fill`.

    >>> import descent as ds, numpy as np
    >>> ds.windows(np.arange(5.0).reshape(1, 1, 5), 3).data[0, 0].tolist()
    [[0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [2.0, 3.0, 4.0]]
    """
    x = _t(x)
    d = x.ndim - 2
    if d < 1:
        raise ValueError(f"windows needs an input of shape (N, C, *spatial), got {x.shape}")
    kernel = _ints(kernel_size, d, "kernel_size", 1)
    strides = _ints(stride, d, "stride", 1)
    dilations = _ints(dilation, d, "dilation", 1)
    pads = _padding(padding, d, kernel, strides, dilations)
    _out_size(x.shape[2:], kernel, strides, dilations, pads, "windows")
    return apply("windows", x, kernel=kernel, stride=strides, dilation=dilations, padding=pads,
                 fill=float(fill))


def _conv(x: Any, w: Any, b: Any, stride: Any, padding: Any, dilation: Any, d: int) -> Tensor:
    where = f"conv{d}d"
    x, w = _t(x), _t(w)
    _check_input(x, d, where)
    if w.ndim != d + 2:
        shape = "(out, in, k)" if d == 1 else "(out, in, kh, kw)"
        raise ValueError(f"{where} needs a weight of shape {shape}, got shape {w.shape}")
    n, c = x.shape[:2]
    o, c_w, *kernel = w.shape
    if c != c_w:
        raise ValueError(f"{where}: the input has {c} channels but the weight expects {c_w} "
                         f"(weight shape {w.shape})")
    if b is not None and _t(b).shape != (o,):
        raise ValueError(f"{where}: the bias must have shape ({o},), got {_t(b).shape}")
    kernel = tuple(kernel)
    strides = _ints(stride, d, "stride", 1)
    dilations = _ints(dilation, d, "dilation", 1)
    pads = _padding(padding, d, kernel, strides, dilations)
    out = _out_size(x.shape[2:], kernel, strides, dilations, pads, where)
    patches = apply("windows", x, kernel=kernel, stride=strides, dilation=dilations,
                    padding=pads)                              # (N, C, *out, *kernel)
    # im2col: one row per output position, one column per (channel, kernel offset)
    rows = patches.transpose(0, *range(2, 2 + d), 1, *range(2 + d, 2 + 2 * d))
    rows = rows.reshape(n * math.prod(out), c * math.prod(kernel))
    z = rows @ w.reshape(o, c * math.prod(kernel)).T          # (N * out, O)
    z = z.reshape(n, *out, o).transpose(0, d + 1, *range(1, d + 1))
    return z if b is None else z + _t(b).reshape(o, *(1,) * d)


def conv1d(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1) -> Tensor:
    """1-D convolution (cross-correlation, as in PyTorch) of x with w, plus b.

    Shapes: x (N, C_in, L), w (C_out, C_in, k), b (C_out,) -> (N, C_out, L_out) with
    L_out = (L + 2*padding - dilation*(k-1) - 1) // stride + 1. `padding` is an int,
    "valid" (0) or "same" (stride 1; output length L).

    >>> import descent as ds, numpy as np
    >>> x = np.array([[[1.0, 2.0, 3.0, 4.0]]])
    >>> ds.conv1d(x, np.array([[[1.0, -1.0]]])).data.tolist()
    [[[-1.0, -1.0, -1.0]]]
    """
    return _conv(x, w, b, stride, padding, dilation, 1)


def conv2d(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1) -> Tensor:
    """2-D convolution (cross-correlation, as in PyTorch) of x with w, plus b.

    Shapes: x (N, C_in, H, W), w (C_out, C_in, kh, kw), b (C_out,) -> (N, C_out, H_out,
    W_out) with H_out = (H + 2*padding - dilation*(kh-1) - 1) // stride + 1 (W alike).
    stride, padding and dilation are an int or an (h, w) pair; padding may also be "valid"
    or "same" (stride 1: the output keeps H and W). The gradient of the weight is the sum
    over output positions of delta times the input patch there.

    >>> import descent as ds, numpy as np
    >>> x = ds.tensor(np.ones((1, 1, 4, 4)), requires_grad=True)
    >>> w = ds.tensor(np.ones((2, 1, 3, 3)), requires_grad=True)
    >>> z = ds.conv2d(x, w, padding=1)
    >>> z.shape, z.data[0, 0, 0, 0], z.data[0, 0, 1, 1]
    ((1, 2, 4, 4), np.float64(4.0), np.float64(9.0))
    >>> z.sum().backward(); w.grad[0, 0].tolist()
    [[9.0, 12.0, 9.0], [12.0, 16.0, 12.0], [9.0, 12.0, 9.0]]
    """
    return _conv(x, w, b, stride, padding, dilation, 2)


def _pool(x: Any, kernel_size: Any, stride: Any, padding: Any, d: int, kind: str) -> Tensor:
    where = f"{kind}_pool{d}d"
    x = _t(x)
    _check_input(x, d, where)
    kernel = _ints(kernel_size, d, "kernel_size", 1)
    strides = kernel if stride is None else _ints(stride, d, "stride", 1)
    pads = tuple((p, p) for p in _ints(padding, d, "padding", 0))
    if any(2 * p > k for (p, _), k in zip(pads, kernel, strict=True)):
        raise ValueError(f"{where}: padding {padding!r} is more than half the kernel "
                         f"{kernel_size!r} (a window could hold only padding)")
    _out_size(x.shape[2:], kernel, strides, (1,) * d, pads, where)
    # max pools pad with -inf (padding never wins), average pools with 0 (counted, as in
    # PyTorch's default count_include_pad=True)
    patches = apply("windows", x, kernel=kernel, stride=strides, dilation=(1,) * d,
                    padding=pads, fill=-np.inf if kind == "max" else 0.0)
    axes = tuple(range(-d, 0))
    return patches.max(axis=axes) if kind == "max" else patches.mean(axis=axes)


def max_pool1d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """The max of each window of `kernel_size` (stride defaults to kernel_size).

    Shapes: (N, C, L) -> (N, C, L_out), L_out = (L + 2*padding - k) // stride + 1. The
    gradient goes to the window's maximum (ties share it equally; PyTorch gives it all to
    the first).

    >>> import descent as ds, numpy as np
    >>> ds.max_pool1d(np.array([[[1.0, 3.0, 2.0, 0.0]]]), 2).data.tolist()
    [[[3.0, 2.0]]]
    """
    return _pool(x, kernel_size, stride, padding, 1, "max")


def max_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """The max of each kh x kw window (stride defaults to kernel_size).

    Shapes: (N, C, H, W) -> (N, C, H_out, W_out), H_out = (H + 2*padding - kh) // stride + 1.

    >>> import descent as ds, numpy as np
    >>> ds.max_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2).data.tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    return _pool(x, kernel_size, stride, padding, 2, "max")


def avg_pool1d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """The mean of each window of `kernel_size` (zero padding counts, as in PyTorch).

    >>> import descent as ds, numpy as np
    >>> ds.avg_pool1d(np.array([[[1.0, 3.0, 2.0, 0.0]]]), 2).data.tolist()
    [[[2.0, 1.0]]]
    """
    return _pool(x, kernel_size, stride, padding, 1, "avg")


def avg_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """The mean of each kh x kw window (zero padding counts, as in PyTorch).

    >>> import descent as ds, numpy as np
    >>> ds.avg_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2).data.tolist()
    [[[[2.5, 4.5], [10.5, 12.5]]]]
    """
    return _pool(x, kernel_size, stride, padding, 2, "avg")
