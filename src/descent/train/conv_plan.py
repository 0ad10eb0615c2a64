"""A compiled training step for small convolutional networks (LeNet and its kin).

The engine runs a convolution as patches x weights through generic primitives: the
patches of every layer are copied twice (into the graph, then transposed into rows), the
max-pool gradient is a full-size mask, and every op allocates. For a network whose shape
never changes, `compile_conv_step` reads the model once and replays the same forward and
backward pass as a fixed plan of NumPy calls into buffers allocated once per batch size:

    convolution  z = W cols + b          cols: the input's patches, one column per position
                 ∂C/∂W = δ colsᵀ,  ∂C/∂b = Σ δ,  ∂C/∂x = col2im(Wᵀ δ)
    max-pool     m = max of each window; its gradient goes to the window's maximum
                 (ties share it equally, as in the engine)
    dense        z = a W + b,  ∂C/∂W = aᵀ δ,  δ_prev = δ Wᵀ ⊙ f'(a)

What makes it fast (measured with bench/lenet.py and bench/lenet_levers.py;
docs/lenet-benchmark.md has the numbers):

- the channel-major working layout (C, N, H, W): a convolution's product W (O, C·k·k) times
  cols (C·k·k, N·OH·OW) lands directly in that layout, with no transpose, and each row of
  cols is a copy of whole picture rows (long contiguous runs, not k-element snippets);
- no input gradient for the first convolution (nothing upstream needs it);
- the first convolution's zero padding lives in cols itself: the border entries of cols
  are zero once and for all, and each step copies only the picture's own pixels;
- max-pooling of non-overlapping windows by k·k elementwise maxima of strided views, and
  its gradient by k·k comparisons with the maximum (no k·k-times larger mask);
- the patches of a convolution that does not run wide copied in two stages (each kernel
  column's slab once, then whole output rows per kernel row), and its col2im the same
  way backwards: k copies of short rows and k·k of long runs instead of k·k short ones;
- the wide path's patches of a few pictures in one copy from a strided view;
- every buffer allocated once per batch size, every product written with `out=`;
- the batch in fixed parts, run at once on the cores that are free at each step.

Covered: a Sequential that starts with Conv2d and holds Conv2d (any stride, padding,
dilation), BatchNorm2d, relu / leaky_relu / tanh / sigmoid / identity activations,
MaxPool2d and AvgPool2d with windows that do not overlap (stride = kernel, no padding),
Flatten, Dropout and Linear, with any loss and optimizer (the loss of the (N, classes)
output runs through the engine: a handful of small ops). Anything else (overlapping or
padded pools, GlobalAvgPool, Conv1d, BatchNorm1d, mixed dtypes) gives None and `fit` uses
the engine.
tests/train/test_conv_plan.py proves the step equal to the engine on random networks.
"""

from __future__ import annotations

import os
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from descent.autodiff import Tensor
from descent.nn import (
    Activation,
    AvgPool2d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    Linear,
    Loss,
    MaxPool2d,
    Module,
    Sequential,
)
from descent.optim import Optimizer
from descent.train.plan import BlasThreads

ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid", "identity")
# Bytes of cols per chunk of pictures: small enough to stay in a core's L2 cache. Measured
# (bench/lenet.py's first layer, 2 MiB L2): 4 pictures (370 KB) run its product and weight
# gradient in half the time of the whole batch at once (cols then streams from memory).
CHUNK_BYTES = 384 * 1024
MAX_WIDE_WASTE = 1.2
# Pictures per chunk when predicting.
PREDICT_ROWS = 256
# The batch is cut into PARTS parts (each of at least LANE_MIN_ROWS pictures) that can run
# on the cores at once.
PARTS = 2
LANE_MIN_ROWS = 8
LEAKY_SLOPE = 0.01  # the slope of Activation("leaky_relu"), descent.nn.activations


def _activate(name: str, z: np.ndarray) -> None:
    """a = f(z), in place (z is a contiguous buffer of the plan)."""
    if name == "relu":
        np.maximum(z, 0, out=z)
    elif name == "leaky_relu":
        np.multiply(z, np.where(z > 0, 1, LEAKY_SLOPE).astype(z.dtype), out=z)
    elif name == "tanh":
        np.tanh(z, out=z)
    elif name == "sigmoid":
        # the engine's stable form: e = exp(-|z|); z >= 0: 1/(1+e), else e/(1+e)
        e = np.exp(-np.abs(z))
        np.divide(np.where(z >= 0, 1, e), 1 + e, out=z)


def _derivative(name: str, g: np.ndarray, a: np.ndarray) -> np.ndarray:
    """g ⊙ f'(z), written from the output a = f(z) (relu'(0) = 0, as in the engine)."""
    if name == "relu":
        return g * (a > 0)
    if name == "leaky_relu":
        return g * np.where(a > 0, 1, LEAKY_SLOPE).astype(g.dtype)
    if name == "tanh":
        return g * (1 - a * a)
    if name == "sigmoid":
        return g * (a * (1 - a))
    return g


class _Conv:
    """Conv2d (+ its activation) in the channel-major layout (C, N, H, W).

    Stride 1 (the usual case) runs "wide": the input is copied once into a zero-padded,
    flat buffer (C, N, Hp·Wp + slack), where the window at kernel offset (i, j) of a whole
    picture is ONE contiguous run of OH·Wp values starting at i·Wp + j. So each row of
    cols is a copy of long runs, and the product gives outputs for all Wp columns of each
    output row, of which the first OW are the convolution (the rest are ignored, and their
    gradient is kept at zero). A stride above 1 copies each offset's strided slab instead.
    A row of ones in cols and the bias as a column of the weights put the bias inside the
    product, and ∂C/∂b inside ∂C/∂W's product.
    """

    # Switches for bench/lenet_levers.py, which measures what each lever is worth.
    wide_rows = True       # stride 1 as long runs (else slabs, as for strides above 1)
    skip_first_input_gradient = True

    def __init__(self, layer: Conv2d, shape: tuple[int, int, int], first: bool) -> None:
        self.layer, self.act = layer, "identity"
        self.first = first and self.skip_first_input_gradient
        c, h, w = shape
        kh, kw = layer.kernel_size
        sh, sw = layer.stride
        dh, dw = layer.dilation
        if layer.padding == "valid":
            pads = ((0, 0), (0, 0))
        elif layer.padding == "same":
            pads = tuple((t // 2, t - t // 2) for t in (dh * (kh - 1), dw * (kw - 1)))
        else:
            pads = tuple((p, p) for p in layer.padding)
        self.pads, self.in_shape = pads, shape
        self.hp, self.wp = h + sum(pads[0]), w + sum(pads[1])
        oh = (self.hp - dh * (kh - 1) - 1) // sh + 1
        ow = (self.wp - dw * (kw - 1) - 1) // sw + 1
        if oh < 1 or ow < 1:
            raise ValueError("the picture is smaller than the kernel")
        self.out_shape = (layer.out_channels, oh, ow)
        # Wide rows compute Wp columns per output row for OW real ones: worth it only while
        # that waste is small (measured with bench/lenet_levers.py).
        self.wide = (sh, sw) == (1, 1) and self.wide_rows and self.wp <= MAX_WIDE_WASTE * ow
        self.ckk = c * kh * kw
        if self.wide:
            self.width = self.wp  # computed columns per output row (ow of them are real)
            self.slack = dw * (kw - 1)
            self.offsets = [i * dh * self.wp + j * dw for i in range(kh) for j in range(kw)]
        else:
            self.width = ow
            # For each kernel row i and column j, the output rows (cols) whose input lies
            # inside the picture and the input rows (cols) they read: the rest of cols is
            # padding, zero for good.
            self.row_spans = [(i, s) for i in range(kh)
                              if (s := self._span(i * dh, sh, oh, pads[0][0], h)) is not None]
            self.col_spans = [(j, s) for j in range(kw)
                              if (s := self._span(j * dw, sw, ow, pads[1][0], w)) is not None]
        self.buffers: dict[int, dict[str, np.ndarray]] = {}

    @staticmethod
    def _span(offset: int, stride: int, n_out: int, pad: int, n_in: int) -> Any:
        """(first out, last out + 1, first in, last in + 1) of the outputs o for which
        o*stride + offset - pad is inside [0, n_in), or None when no output is."""
        start = 0
        while start < n_out and start * stride + offset - pad < 0:
            start += 1
        stop = n_out
        while stop > start and (stop - 1) * stride + offset - pad >= n_in:
            stop -= 1
        if start >= stop:
            return None
        first_in = start * stride + offset - pad
        return start, stop, first_in, first_in + (stop - start - 1) * stride + 1

    def _buffers(self, m: int, dtype: np.dtype) -> dict[str, np.ndarray]:
        b = self.buffers.get(m)
        if b is None:
            c, h, w = self.in_shape
            o, oh, ow = self.out_shape
            n = m * oh * self.width
            run = oh * self.width  # columns of one picture
            # The wide path works through the batch a few pictures at a time, so that
            # cols (made again in the backward pass: a cheap copy) stays in the cache.
            chunk = min(m, max(1, CHUNK_BYTES // ((self.ckk + 1) * run * dtype.itemsize))) \
                if self.wide else m
            b = {"cols": np.zeros((self.ckk + 1, chunk * run), dtype),  # zero padding, kept
                 "w": np.empty((o, self.ckk + 1), dtype),
                 "z": np.empty((o, n), dtype),
                 "g": np.zeros((o, n), dtype),  # the ignored columns' gradient stays 0
                 "chunk": chunk}
            b["cols"][-1] = 1  # the bias row
            b["z_valid"] = b["z"].reshape(o, m, oh, self.width)[..., :ow]
            b["g_valid"] = b["g"].reshape(o, m, oh, self.width)[..., :ow]
            (pt, _), (pl, _) = self.pads
            if self.wide:
                size = self.hp * self.wp + self.slack
                b["xs"] = np.zeros((c, m, size), dtype)
                b["x_inner"] = b["xs"][:, :, :self.hp * self.wp].reshape(
                    c, m, self.hp, self.wp)[:, :, pt:pt + h, pl:pl + w]
            if not self.first:
                b["dcols"] = np.empty((self.ckk, chunk * run), dtype)
                if self.wide:
                    b["dxs"] = np.zeros((c, m, size), dtype)
                    b["dx"] = b["dxs"][:, :, :self.hp * self.wp].reshape(
                        c, m, self.hp, self.wp)[:, :, pt:pt + h, pl:pl + w]
                else:
                    b["dx"] = np.zeros((c, m, h, w), dtype)
            if not self.wide:
                # the input's columns read by each kernel column j, as whole picture rows
                # (columns outside the picture stay zero): the two-stage im2col and col2im
                b["xj"] = np.zeros((len(self.col_spans), c, m, h, ow), dtype)
                if not self.first:
                    b["dxj"] = np.empty((c, m, h, ow), dtype)
            self.buffers[m] = b
        return b

    def delta_buffer(self, m: int, dtype: np.dtype) -> np.ndarray:
        """Where the next op may write ∂C/∂a directly (this layer's activation is identity)."""
        return self._buffers(m, dtype)["g_valid"]

    def forward(self, x: np.ndarray, m: int) -> np.ndarray:
        """x (C, m, H, W) -> a (O, m, OH, OW) (a view of a wider buffer)."""
        b = self._buffers(m, x.dtype)
        o = self.out_shape[0]
        self.b, self.m = b, m
        w = b["w"]
        w[:, :-1] = self.layer.weight.data.reshape(o, -1)
        w[:, -1] = 0 if self.layer.bias is None else self.layer.bias.data
        if self.wide:
            b["x_inner"][...] = x
            for _, cols, z in self._chunks(b, m, "z"):
                np.matmul(w, cols, out=z)
        else:
            self._slab_cols(x, b["cols"], m)
            np.matmul(w, b["cols"], out=b["z"])
        _activate(self.act, b["z"])
        return b["z_valid"]

    def _chunks(self, b: dict[str, np.ndarray], m: int, name: str) -> Any:
        """For each chunk of pictures: (first picture, its cols, its columns of b[name]),
        cols filled from the padded input: row (c, i, j) of a picture is the run of
        OH·Wp values of channel c starting at offset i·d·Wp + j·d."""
        c, (kh, kw), (dh, dw) = self.in_shape[0], self.layer.kernel_size, self.layer.dilation
        run, chunk, xs = self.out_shape[1] * self.width, b["chunk"], b["xs"]
        step = xs.itemsize
        for start in range(0, m, chunk):
            n = min(chunk, m - start)
            cols = b["cols"][:, :n * run]
            # All kh·kw runs of all n pictures in ONE copy: the run of offset (i, j) starts
            # i·d·Wp + j·d values in, so the runs are a strided (read-only) view of xs.
            # (One call instead of kh·kw: fewer calls, less time holding the GIL.)
            runs = np.lib.stride_tricks.as_strided(
                xs[:, start:], shape=(c, kh, kw, n, run),
                strides=(xs.strides[0], dh * self.wp * step, dw * step, xs.strides[1], step),
                writeable=False)
            np.copyto(cols[:-1].reshape(c, kh, kw, n, run), runs)
            yield start, cols, b[name][:, start * run:(start + n) * run]

    def _slab_cols(self, x: np.ndarray, cols: np.ndarray, m: int) -> None:
        """cols from each kernel offset's (strided) slab of the picture, in two stages:
        first the columns kernel column j reads, as (C, m, H, OW) pictures xj[j] (short
        runs, once per j), then each offset's rows of xj[j] (runs of whole output rows,
        contiguous for stride 1): far fewer short copies than one per offset."""
        c, (kh, kw), (sh, sw) = self.in_shape[0], self.layer.kernel_size, self.layer.stride
        _, oh, ow = self.out_shape
        rows, xj = cols[:-1].reshape(c, kh, kw, m, oh, ow), self.b["xj"]
        for n, (_, (c0, c1, j0, j1)) in enumerate(self.col_spans):
            xj[n][..., c0:c1] = x[..., j0:j1:sw]
        for i, (r0, r1, i0, i1) in self.row_spans:
            for n, (j, _) in enumerate(self.col_spans):
                rows[:, i, j, :, r0:r1] = xj[n][:, :, i0:i1:sh]

    def backward(self, delta: np.ndarray) -> np.ndarray | None:
        """delta = ∂C/∂a (O, m, OH, OW) -> ∂C/∂x (C, m, H, W), or None for the first layer."""
        b, m, layer = self.b, self.m, self.layer
        if delta is not b["g_valid"]:  # else the next op wrote it there, f' included
            b["g_valid"][...] = _derivative(self.act, delta, b["z_valid"])
        g = b["g"]
        c = self.in_shape[0]
        o, oh, ow = self.out_shape
        kh, kw = layer.kernel_size
        w_t = np.ascontiguousarray(b["w"][:, :-1].T)
        if self.wide:
            # [∂C/∂W | ∂C/∂b]ᵀ = Σ over chunks of cols gᵀ (OpenBLAS runs this orientation
            # faster than g colsᵀ); ∂C/∂x chunk by chunk: col2im of Wᵀ g
            grad_t = np.zeros((self.ckk + 1, o), g.dtype)
            run = oh * self.width
            if not self.first:
                dxs = b["dxs"]
                dxs[...] = 0
            for start, cols, g_chunk in self._chunks(b, m, "g"):
                grad_t += cols @ g_chunk.T
                if self.first:
                    continue
                n = g_chunk.shape[1] // run
                dcols = b["dcols"][:, :n * run]
                np.matmul(w_t, g_chunk, out=dcols)
                rows = dcols.reshape(c, kh * kw, n, run)
                for k, off in enumerate(self.offsets):
                    dxs[:, start:start + n, off:off + run] += rows[:, k]
        else:
            grad_t = b["cols"] @ g.T
        # the step sums these over the lanes and hands them to the parameters
        self.grads = (np.ascontiguousarray(grad_t[:-1].T).reshape(layer.weight.shape),
                      grad_t[-1].copy())
        if self.first:
            return None
        if self.wide:
            return b["dx"]
        np.matmul(w_t, g, out=b["dcols"])
        sh, sw = layer.stride
        rows = b["dcols"].reshape(c, kh, kw, m, oh, ow)
        dx, t = b["dx"], b["dxj"]
        dx[...] = 0
        # col2im in the two stages of _slab_cols, backwards: for each kernel column j the
        # sum over kernel rows, as whole output rows, into t; then t's columns into the
        # picture's. Columns of t outside the picture collect gradients of padding and
        # are never read.
        for j, (c0, c1, j0, j1) in self.col_spans:
            t[...] = 0
            for i, (r0, r1, i0, i1) in self.row_spans:
                t[:, :, i0:i1:sh] += rows[:, i, j, :, r0:r1]
            dx[..., j0:j1:sw] += t[..., c0:c1]
        return dx


class _Pool:
    """MaxPool2d / AvgPool2d with non-overlapping windows (stride = kernel, no padding).

    After a convolution with ReLU, max-pooling runs first and the ReLU after it, on a
    quarter of the values: max(relu(z)) = relu(max(z)), and the gradient reaches a
    window's maximum only where that maximum is positive. The gradient is then written
    straight into the convolution's own gradient buffer.
    """

    fuse = True  # relu after max-pool, gradient into the convolution's buffer (a switch
    # for bench/lenet_levers.py)

    def __init__(self, layer: MaxPool2d | AvgPool2d, shape: tuple[int, int, int],
                 prev: Any) -> None:
        c, h, w = shape
        self.k = layer.kernel_size
        self.kind = "max" if isinstance(layer, MaxPool2d) else "avg"
        self.in_shape = shape
        self.out_shape = (c, h // self.k[0], w // self.k[1])
        if self.out_shape[1] < 1 or self.out_shape[2] < 1:
            raise ValueError("the picture is smaller than the pooling window")
        self.relu = False
        self.target = None
        if isinstance(prev, _Conv) and self.fuse:
            if prev.act == "relu" and self.kind == "max":
                prev.act, self.relu = "identity", True
            if prev.act == "identity":
                self.target = prev
        self.buffers: dict[int, dict[str, np.ndarray]] = {}

    def _views(self, x: np.ndarray) -> list[np.ndarray]:
        """The k·k strided views of x, one per position inside the window."""
        (kh, kw), (_, ph, pw) = self.k, self.out_shape
        return [x[:, :, u:ph * kh:kh, v:pw * kw:kw] for u in range(kh) for v in range(kw)]

    def forward(self, x: np.ndarray, m: int) -> np.ndarray:
        b = self.buffers.get(m)
        if b is None:
            c, h, w = self.in_shape
            shape = (c, m, *self.out_shape[1:])
            dx = self.target.delta_buffer(m, x.dtype) if self.target is not None \
                else np.zeros((c, m, h, w), x.dtype)  # entries outside every window stay 0
            b = self.buffers[m] = {"pre": np.empty(shape, x.dtype), "dx": dx,
                                   "out": np.empty(shape, x.dtype) if self.relu else None}
            if self.kind == "max":  # the backward pass's scratch: which view holds the max
                k = self.k[0] * self.k[1]
                b["hits"] = np.empty((k, *shape), bool)
                b["count"] = np.empty(shape, np.uint8 if k < 256 else np.int32)
                b["share"] = np.empty(shape, x.dtype)
        self.x, self.b = x, b
        pre, views = b["pre"], self._views(x)
        if len(views) == 1:
            np.copyto(pre, views[0])
        elif self.kind == "max":
            np.maximum(views[0], views[1], out=pre)
            for v in views[2:]:
                np.maximum(pre, v, out=pre)
        else:
            np.add(views[0], views[1], out=pre)
            for v in views[2:]:
                pre += v
            pre *= pre.dtype.type(1.0 / len(views))
        if self.relu:
            return np.maximum(pre, 0, out=b["out"])
        return pre

    def backward(self, delta: np.ndarray) -> np.ndarray:
        dx = self.b["dx"]
        targets = self._views(dx)
        if self.kind == "avg":
            share = delta * delta.dtype.type(1.0 / len(targets))
            for t in targets:
                t[...] = share
            return dx
        b = self.b
        pre, hits, count, share = b["pre"], b["hits"], b["count"], b["share"]
        if self.relu:  # the gradient reaches only maxima that the ReLU let through
            np.greater(pre, 0, out=hits[0])
            np.multiply(delta, hits[0], out=share)
        else:
            np.copyto(share, delta)
        for h, v in zip(hits, self._views(self.x), strict=True):
            np.equal(v, pre, out=h)
        np.add(hits[0], hits[1], out=count, dtype=count.dtype) if len(hits) > 1 \
            else np.copyto(count, hits[0])
        for h in hits[2:]:
            count += h
        if count.max() > 1:  # ties share the gradient equally, as the engine's max does
            share /= count
        for t, h in zip(targets, hits, strict=True):
            np.multiply(share, h, out=t)
        return dx


class _BatchNorm:
    """BatchNorm2d in training mode (+ its activation), per channel over (m, H, W).

    x̂ = (x - μ)/sqrt(σ² + eps), y = γ x̂ + β, with the batch's mean μ and biased variance
    σ²; the running statistics move as in the engine (momentum, unbiased variance).
    Backward, with n = m·H·W values per channel and g = ∂C/∂y:
        ∂C/∂γ = Σ g x̂,   ∂C/∂β = Σ g,   ∂C/∂x = γ/(n·sqrt(σ² + eps)) (n g - Σ g - x̂ Σ g x̂)
    """

    def __init__(self, layer: BatchNorm2d, shape: tuple[int, ...]) -> None:
        if len(shape) != 3 or shape[0] != layer.num_features:
            raise ValueError("BatchNorm2d does not fit the picture")
        self.layer, self.act = layer, "identity"
        self.in_shape = self.out_shape = shape

    def forward(self, x: np.ndarray, m: int) -> np.ndarray:
        layer, axes = self.layer, (1, 2, 3)
        if not layer.training:  # prediction: the running statistics, as the engine's eval
            shape = (-1, 1, 1, 1)
            y = (x - layer.running_mean.reshape(shape)) \
                * (1.0 / np.sqrt(layer.running_var + layer.eps)).reshape(shape)
            if layer.weight is not None:
                y = y * layer.weight.data.reshape(shape) + layer.bias.data.reshape(shape)
            y = np.ascontiguousarray(y, dtype=x.dtype)
            _activate(self.act, y)
            return y
        n = x.size // layer.num_features
        if n < 2:
            raise ValueError(f"BatchNorm2d in training needs more than one value per "
                             f"channel (got {x.shape[1:]} per channel)")
        mean = x.mean(axis=axes, keepdims=True)
        centred = x - mean
        var = (centred * centred).mean(axis=axes, keepdims=True)
        self.inv_std = 1.0 / np.sqrt(var + x.dtype.type(layer.eps))
        self.x_hat = centred * self.inv_std
        mom = layer.momentum
        layer.running_mean[...] = (1 - mom) * layer.running_mean + mom * mean.reshape(-1)
        layer.running_var[...] = ((1 - mom) * layer.running_var
                                  + mom * var.reshape(-1) * (n / (n - 1)))
        if layer.weight is None:
            y = self.x_hat.copy()  # the activation runs in place; x̂ is kept for backward
        else:
            y = self.x_hat * layer.weight.data[:, None, None, None] \
                + layer.bias.data[:, None, None, None]
        _activate(self.act, y)
        self.a = y
        return y

    def backward(self, delta: np.ndarray) -> np.ndarray:
        layer, axes = self.layer, (1, 2, 3)
        g = _derivative(self.act, delta, self.a)
        g_sum = g.sum(axis=axes, keepdims=True)
        gx_sum = (g * self.x_hat).sum(axis=axes, keepdims=True)
        gamma = 1 if layer.weight is None else layer.weight.data[:, None, None, None]
        if layer.weight is not None:
            self.grads = (gx_sum.reshape(-1), g_sum.reshape(-1))
        n = g[0].size
        return (gamma * self.inv_std / n) * (n * g - g_sum - self.x_hat * gx_sum)


class _Flatten:
    """(C, m, H, W) channel-major -> (m, C·H·W) in PyTorch's (C, H, W) order."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.in_shape = shape
        self.out_shape = (int(np.prod(shape)),)

    def forward(self, x: np.ndarray, m: int) -> np.ndarray:
        return np.ascontiguousarray(x.transpose(1, 0, 2, 3)).reshape(m, -1)

    def backward(self, delta: np.ndarray) -> np.ndarray:
        c, h, w = self.in_shape
        return delta.reshape(-1, c, h, w).transpose(1, 0, 2, 3)


class _Dropout:
    """The engine's Dropout, drawing the same masks from the layer's own generator."""

    def __init__(self, layer: Dropout, shape: tuple[int, ...]) -> None:
        self.layer, self.in_shape, self.out_shape = layer, shape, shape

    def forward(self, x: np.ndarray, m: int) -> np.ndarray:
        p = self.layer.p
        if p == 0.0 or not self.layer.training:
            self.scale = None
            return x
        if p == 1.0:
            self.scale = np.zeros(x.shape, x.dtype)
        else:  # drawn in the engine's (N, C, ...) order, then put in the plan's layout
            keep = self.layer.rng.random((m, *self.in_shape)) >= p
            scale = (keep / (1.0 - p)).astype(x.dtype)
            self.scale = scale.transpose(1, 0, 2, 3) if x.ndim == 4 else scale
        return x * self.scale

    def backward(self, delta: np.ndarray) -> np.ndarray:
        return delta if self.scale is None else delta * self.scale


class _Dense:
    """Linear (+ its activation) on (m, features) rows."""

    def __init__(self, layer: Linear, shape: tuple[int, ...]) -> None:
        if shape != (layer.in_features,):
            raise ValueError("the flattened picture does not fit the dense layer")
        self.layer, self.act = layer, "identity"
        self.in_shape, self.out_shape = shape, (layer.out_features,)

    def forward(self, x: np.ndarray, m: int) -> np.ndarray:
        self.x = x
        z = x @ self.layer.weight.data
        if self.layer.bias is not None:
            z += self.layer.bias.data
        _activate(self.act, z)
        self.a = z
        return z

    def backward(self, delta: np.ndarray) -> np.ndarray:
        g = _derivative(self.act, delta, self.a)
        layer = self.layer
        layer.weight.grad = self.x.T @ g
        if layer.bias is not None:
            layer.bias.grad = g.sum(axis=0)
        return g @ layer.weight.data.T


class _Plan:
    """The ops for one picture shape: the body (convolutions and pools, up to Flatten) once
    per lane, and the head (Flatten and what follows) once."""

    def __init__(self, build: Any) -> None:
        ops = build()
        self.k = next(i for i, op in enumerate(ops) if isinstance(op, _Flatten))
        self.build, self.bodies, self.head = build, [ops[:self.k]], ops[self.k:]
        # a Dropout before Flatten draws one mask for the whole batch, and BatchNorm takes
        # the statistics of the whole batch: one part only
        self.one_lane = any(isinstance(op, _Dropout | _BatchNorm) for op in ops[:self.k])

    def body(self, lane: int) -> list[Any]:
        while len(self.bodies) <= lane:
            self.bodies.append(self.build()[:self.k])
        return self.bodies[lane]


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _running_elsewhere() -> int | None:
    """Threads of the whole machine that are running or ready to run right now, besides
    this one (the kernel's count in /proc/loadavg), or None where there is no such file.

    Sampled at every step: the 1-minute load average lags a minute behind, so a machine
    that has just gone quiet (or the other contenders of a benchmark, which raise it by
    themselves) kept the step on one core long after the other was free."""
    try:
        with open("/proc/loadavg", "rb") as f:
            running = int(f.read().split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):
        return None
    return max(0, running - 1)


class CompiledConvStep:
    """One training step of a small CNN (forward, backward, optimizer step) as a NumPy plan.

    Called like fit's engine step: `step(xb, yb, wb)` with xb (N, C, H, W) returns the
    batch's loss and has updated the weights. `covers(X)` says whether X's pictures fit
    the network (else fit uses the engine). `hold()` / `release()` exist for fit's sake:
    this plan updates the model's own parameters, so there is nothing to copy.

    The convolutional body runs on `parts` parts of the batch (each of at least
    LANE_MIN_ROWS pictures), whose gradients are summed. The parts run at once on as
    many cores as are free at the start of the step (no other thread running or ready to
    run on them, by the kernel's count; NumPy releases the GIL in its loops and
    products); on a busy machine one after the other, since a step then waits for its
    slowest thread. Either way each product runs on one
    BLAS thread: many small products on 2 BLAS threads wait for each other at every one
    (and spin on a busy machine). The parts depend only on the batch size, never on the
    load, so the arithmetic and its rounding are the same on every run (a resumed fit
    stays bit-identical).
    """

    def __init__(self, model: Sequential, loss: Loss, optimizer: Optimizer,
                 parts: int = PARTS, threads: int | None = None) -> None:
        self.model, self.loss, self.optimizer = model, loss, optimizer
        self.dtype = model.parameters()[0].dtype
        self.plans: dict[tuple[int, ...], _Plan | None] = {}
        self.parts = max(1, parts)
        self.threads = threads  # None: the cores, when they are free
        self.pool: ThreadPoolExecutor | None = None
        self.blas = BlasThreads()
        self.one_blas_thread = True  # a switch for bench/lenet_levers.py

    def _plan(self, shape: tuple[int, ...]) -> _Plan | None:
        if shape not in self.plans:
            step = weakref.ref(self)  # (no cycle: the buffers go with the step)
            try:
                self.plans[shape] = _Plan(lambda: step()._build(shape))
            except ValueError:
                self.plans[shape] = None
        return self.plans[shape]

    def _build(self, shape: tuple[int, ...]) -> list[Any]:
        ops: list[Any] = []
        for layer in self.model:
            if isinstance(layer, Activation):
                if not ops or not isinstance(ops[-1], _Conv | _Dense | _BatchNorm) \
                        or ops[-1].act != "identity":
                    raise ValueError("an activation the plan cannot fuse")
                ops[-1].act = layer.name
                continue
            if isinstance(layer, Conv2d):
                if len(shape) != 3 or shape[0] != layer.in_channels:
                    raise ValueError("channels do not match")
                op: Any = _Conv(layer, shape, first=not ops)
            elif isinstance(layer, MaxPool2d | AvgPool2d):
                op = _Pool(layer, shape, ops[-1] if ops else None)
            elif isinstance(layer, Flatten):
                op = _Flatten(shape)
            elif isinstance(layer, Dropout):
                op = _Dropout(layer, shape)
            elif isinstance(layer, BatchNorm2d):
                op = _BatchNorm(layer, shape)
            elif isinstance(layer, Linear):
                op = _Dense(layer, shape)
            else:
                raise ValueError("a layer the plan does not cover")
            ops.append(op)
            shape = op.out_shape
        if len(shape) != 1:
            raise ValueError("the network's output is not one row per example")
        return ops

    def covers(self, X: np.ndarray) -> bool:
        """Whether the plan runs batches shaped like X (N, C, H, W) of the model's dtype."""
        return X.ndim == 4 and X.dtype == self.dtype and self._plan(X.shape[1:]) is not None

    def hold(self) -> None:
        """Nothing to do: the plan trains the model's parameters in place."""

    def release(self) -> None:
        """Nothing to do (see `hold`)."""

    def _workers(self, parts: int) -> int:
        if self.threads is not None:
            return max(1, min(self.threads, parts))
        cores = _cores()
        others = _running_elsewhere()
        if others is None:  # no /proc (not Linux): the 1-minute load average
            try:
                busy = os.getloadavg()[0] >= cores - 0.5
            except (AttributeError, OSError):  # no load average (Windows): assume busy
                busy = True
            return 1 if busy else min(cores, parts)
        return max(1, min(parts, cores - others))

    def _run(self, jobs: list[Any], workers: int) -> list[Any]:
        """Run the callables: the first on this thread, the others on `workers - 1` more."""
        if workers == 1:
            return [job() for job in jobs]
        if self.pool is None or self.pool._max_workers < workers - 1:
            self.pool = ThreadPoolExecutor(workers - 1, thread_name_prefix="descent-part")
        futures = [self.pool.submit(job) for job in jobs[1:]]
        first = jobs[0]()
        return [first, *(f.result() for f in futures)]

    def __call__(self, xb: np.ndarray, yb: np.ndarray, wb: np.ndarray | None = None) -> float:
        plan = self._plan(xb.shape[1:])
        if plan is None:
            raise ValueError(f"the compiled step does not cover pictures of shape {xb.shape}")
        m = len(xb)
        lanes = 1 if plan.one_lane else max(1, min(self.parts, m // LANE_MIN_ROWS))
        bounds = [m * i // lanes for i in range(lanes + 1)]
        parts = list(zip(bounds[:-1], bounds[1:], strict=True))
        workers = self._workers(lanes)
        x = xb.transpose(1, 0, 2, 3)  # (C, m, H, W): a view; the first layer copies it
        if self.one_blas_thread:
            self.blas.use(1)
        try:
            def forward(lane: int) -> Any:
                lo, hi = parts[lane]
                a = x[:, lo:hi]
                for op in plan.body(lane):
                    a = op.forward(a, hi - lo)
                return a

            outs = self._run([lambda i=i: forward(i) for i in range(lanes)], workers)
            flatten, head = plan.head[0], plan.head[1:]
            a = np.concatenate([flatten.forward(o, hi - lo)
                                for o, (lo, hi) in zip(outs, parts, strict=True)])
            for op in head:
                a = op.forward(a, m)
            out = Tensor(a, requires_grad=True)
            C = self.loss(out, yb, wb)  # the engine's loss on the (m, classes) output
            C.backward()
            delta = out.grad
            self.optimizer.zero_grad()
            for op in reversed(head):
                delta = op.backward(delta)
            delta = flatten.backward(delta)  # (C, m, H, W)

            def backward(lane: int) -> None:
                lo, hi = parts[lane]
                d = delta[:, lo:hi]
                for op in reversed(plan.body(lane)):
                    d = op.backward(d)
                    if d is None:
                        break

            self._run([lambda i=i: backward(i) for i in range(lanes)], workers)
        finally:
            self.blas.restore()
        for k, op in enumerate(plan.body(0)):  # the parts' gradients, summed
            if isinstance(op, _Conv | _BatchNorm) and op.layer.weight is not None:
                grads = [plan.body(i)[k].grads for i in range(lanes)]
                for n, p in enumerate((op.layer.weight, op.layer.bias)):
                    if p is not None:
                        p.grad = grads[0][n] if lanes == 1 else sum(g[n] for g in grads)
        self.optimizer.step()
        return float(C.data)


class CompiledConvForward:
    """The plan's forward pass alone, for prediction: `forward(X)` with X (N, C, H, W)
    gives the model's (N, outputs) in chunks of PREDICT_ROWS pictures, no graph, in the
    mode the model is in (predict_array puts it in evaluation mode)."""

    def __init__(self, model: Sequential) -> None:
        self.step = CompiledConvStep(model, None, None)  # type: ignore[arg-type]

    def covers(self, X: np.ndarray) -> bool:
        return self.step.covers(X)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        plan = self.step._plan(X.shape[1:])
        if plan is None:
            raise ValueError(f"the compiled forward does not cover pictures of shape {X.shape}")
        outs = []
        self.step.blas.use(1)
        try:
            for start in range(0, len(X), PREDICT_ROWS):
                xb = X[start:start + PREDICT_ROWS]
                a, m = xb.transpose(1, 0, 2, 3), len(xb)
                for op in plan.body(0) + plan.head:
                    a = op.forward(a, m)
                outs.append(np.array(a))  # the last op may hand back a reused buffer
        finally:
            self.step.blas.restore()
        return np.concatenate(outs)


def compile_conv_forward(model: Module) -> CompiledConvForward | None:
    """A chunked forward pass for `model` if the plan covers it (see compile_conv_step)."""
    if compile_conv_step(model, None, None) is None:  # type: ignore[arg-type]
        return None
    return CompiledConvForward(model)  # type: ignore[arg-type]


def compile_conv_step(model: Module, loss: Loss, optimizer: Optimizer) -> CompiledConvStep | None:
    """A compiled step for `model` if it is a Sequential the plan covers (see the module's
    docstring), else None. Whether a batch's picture size fits is decided by `covers`."""
    if not isinstance(model, Sequential) or not len(model) or not isinstance(model[0], Conv2d):
        return None
    params = model.parameters()
    if not params or any(p.dtype != params[0].dtype for p in params):
        return None
    allowed = (Conv2d, BatchNorm2d, MaxPool2d, AvgPool2d, Flatten, Dropout, Linear, Activation)
    for layer in model:
        if not isinstance(layer, allowed):
            return None
        if isinstance(layer, Activation) and layer.name not in ACTIVATIONS:
            return None
        if isinstance(layer, MaxPool2d | AvgPool2d) and (
                layer.stride != layer.kernel_size or any(layer.padding)):
            return None
    return CompiledConvStep(model, loss, optimizer)
