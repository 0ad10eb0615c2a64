"""Inside a convolutional network: feature maps, filters, Grad-CAM, and the chain rule for
one convolution weight.

The network is read as the chain of layers it runs (a `Sequential`, nested ones too, such
as `ds.nn.ConvNet`), so it can be cut after any layer: the part before gives that layer's
output, which becomes a fresh leaf for the part after, and the engine's backward then
gives the gradient at the cut.

- `feature_maps`: what each convolution block outputs for one picture.
- `grad_cam` (Selvaraju et al. 2017): the last convolution block's feature maps A_k
  weighted by α_k, the mean of ∂score_c/∂A_k over positions; ReLU(Σ_k α_k A_k) is a coarse
  map of where the evidence for class c is, scaled up to the picture.
- `conv_weight_chain`: one weight w[o, c, i, j] of a convolution is used at every position
  (p, q) of its output, so ∂C/∂w = Σ_n Σ_(p,q) δ[n, o, p, q] · x[n, c, p·s + i·d, q·s + j·d]:
  the sum, over positions, of the delta at that position times the input pixel that the
  weight multiplied there (x the padded input, s the stride, d the dilation). Computed
  term by term beside the engine's gradient of the same weight.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from descent.autodiff import Tensor, no_grad, value_and_grad
from descent.explain.attributions import _batch, _targets
from descent.explain.deltas import engine_gradients, float64_copy
from descent.nn import Activation, Conv2d, Module, Sequential, get_loss


def layer_chain(model: Module) -> list[tuple[str, Module]]:
    """The layers `model` runs, in order, with their parameter-name prefixes.

    Nested Sequentials are opened; a wrapper with a `.network` (`Augmented`) is looked
    through. Raises ValueError for a model that is not a plain chain of layers.

    >>> import descent as ds
    >>> [name for name, _ in layer_chain(ds.nn.ConvNet((1, 8, 8), 2, seed=0))][:3]
    ['0', '1', '2']
    """
    def leaves(m: Module, prefix: str) -> Iterator[tuple[str, Module]]:
        inner = getattr(m, "network", None)
        if isinstance(inner, Module) and not isinstance(m, Sequential):
            yield from leaves(inner, prefix)
        elif isinstance(m, Sequential):
            for name, child in m._modules.items():
                yield from leaves(child, f"{prefix}.{name}" if prefix else name)
        else:
            yield prefix, m

    chain = list(leaves(model, ""))
    if not any(isinstance(m, Conv2d) for _, m in chain):
        raise ValueError("the network has no Conv2d layer; Grad-CAM, feature maps and the "
                         "convolution chain rule need a convolutional network")
    return chain


def _run(layers: list[tuple[str, Module]], x: np.ndarray) -> np.ndarray:
    with no_grad():
        t = Tensor(x)
        for _, layer in layers:
            t = layer(t)
    return t.data


def _block_ends(chain: list[tuple[str, Module]]) -> list[int]:
    """Index of each convolution block's output: the Conv2d, or the activation right after
    it (the rectified maps, as Grad-CAM uses them)."""
    ends = []
    for k, (_, layer) in enumerate(chain):
        if isinstance(layer, Conv2d):
            nxt = chain[k + 1][1] if k + 1 < len(chain) else None
            ends.append(k + 1 if isinstance(nxt, Activation) else k)
    return ends


def _eval(model: Module) -> Any:
    class Restore:
        def __enter__(self) -> None:
            self.was = model.training
            model.eval()

        def __exit__(self, *exc: Any) -> None:
            model.train(self.was)

    return Restore()


def feature_maps(model: Module, x: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(layer name, maps (K, h, w)) after each convolution block, for one picture (C, H, W).

    >>> import descent as ds
    >>> maps = feature_maps(ds.nn.ConvNet((1, 8, 8), 2, seed=0), np.zeros((1, 8, 8)))
    >>> [m.shape for _, m in maps]
    [(6, 8, 8), (16, 4, 4)]
    """
    batch, _ = _batch(x)
    chain = layer_chain(model)
    dtype = model.parameters()[0].dtype
    out, t, start = [], batch[:1].astype(dtype), 0
    with _eval(model):
        for end in _block_ends(chain):
            t = _run(chain[start:end + 1], t)
            out.append((chain[end][0] if isinstance(chain[end][1], Conv2d)
                        else chain[end - 1][0], t[0]))
            start = end + 1
    return out


def first_filters(model: Module) -> np.ndarray:
    """The first convolution's weights (out_channels, in_channels, kh, kw), a copy.

    >>> import descent as ds
    >>> first_filters(ds.nn.ConvNet((1, 8, 8), 2, seed=0)).shape
    (6, 1, 5, 5)
    """
    for _, layer in layer_chain(model):
        if isinstance(layer, Conv2d):
            return layer.weight.data.copy()
    raise AssertionError("unreachable: layer_chain checks for a Conv2d")


def upsample(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of maps (..., h, w) to (..., H, W) (Pillow, float32 pictures).

    >>> upsample(np.ones((2, 2)), (4, 4)).shape
    (4, 4)
    """
    from PIL import Image

    lead = maps.shape[:-2]
    flat = np.asarray(maps, dtype=np.float32).reshape(-1, *maps.shape[-2:])
    out = np.stack([np.asarray(Image.fromarray(m, mode="F").resize(
        (size[1], size[0]), Image.Resampling.BILINEAR)) for m in flat])
    return out.reshape(*lead, *size).astype(np.float64)


@dataclass
class GradCam:
    """Grad-CAM of pictures: `heatmap` (N, H, W) at picture size, `cam` (N, h, w) at the
    layer's size, `weights` α (N, K), the `layer` used and each picture's `target`."""

    heatmap: np.ndarray
    cam: np.ndarray
    weights: np.ndarray
    layer: str
    target: np.ndarray


def grad_cam(model: Module, x: np.ndarray, target: int | np.ndarray | None = None) -> GradCam:
    """Grad-CAM at the last convolution block (after its ReLU) for pictures x.

    x (C, H, W) or (N, C, H, W); `target` a class per picture (None: the predicted one).

    >>> import descent as ds
    >>> g = grad_cam(ds.nn.ConvNet((1, 8, 8), 2, seed=0), np.ones((1, 8, 8)), target=1)
    >>> g.heatmap.shape, g.cam.shape, g.layer
    ((1, 8, 8), (1, 4, 4), '4')
    """
    batch, _ = _batch(x)
    chain = layer_chain(model)
    end = _block_ends(chain)[-1]
    dtype = model.parameters()[0].dtype
    target_ = _targets(model, batch, target)
    with _eval(model):
        A = _run(chain[:end + 1], batch.astype(dtype))

        def score(a: Tensor) -> Tensor:
            t = a
            for _, layer in chain[end + 1:]:
                t = layer(t)
            return (t * np.eye(t.shape[1], dtype=t.data.dtype)[target_]).sum()

        _, dA = value_and_grad(score)(A)
    alpha = np.asarray(dA, np.float64).mean(axis=(2, 3))  # (N, K)
    cam = np.maximum((alpha[:, :, None, None] * A).sum(axis=1), 0.0)
    return GradCam(upsample(cam, batch.shape[2:]), cam, alpha, chain[end][0], target_)


@dataclass
class ConvWeightChain:
    """∂C/∂w for one convolution weight, term by term; see `conv_weight_chain`.

    `delta` (P, Q) and `patch` (P, Q) are δ[o] at every output position and the input
    pixel the weight multiplied there, for the first picture; `terms` their product;
    `total` the sum over positions (and pictures), `engine` the engine's gradient.
    """

    parameter: str
    index: tuple[int, int, int, int]
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]
    dilation: tuple[int, int]
    delta: np.ndarray
    patch: np.ndarray
    terms: np.ndarray
    total: float
    engine: float
    cost: float
    n_examples: int
    notes: list[str] = field(default_factory=list)

    @property
    def abs_error(self) -> float:
        """|total − engine|: how far the hand-summed chain is from the engine's gradient."""
        return abs(self.total - self.engine)


def _padding(conv: Conv2d) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) zero padding of a Conv2d, as PyTorch applies it."""
    if conv.padding == "valid":
        return (0, 0, 0, 0)
    if conv.padding == "same":
        pads = []
        for k, d in zip(conv.kernel_size, conv.dilation, strict=True):
            total = d * (k - 1)
            pads += [total // 2, total - total // 2]
        return tuple(pads)  # type: ignore[return-value]
    ph, pw = conv.padding
    return (ph, ph, pw, pw)


def conv_weight_chain(model: Module, x: np.ndarray, y: np.ndarray | int,
                      index: tuple[int, int, int, int] = (0, 0, 0, 0), *,
                      layer: int = 1, loss: str = "cross_entropy") -> ConvWeightChain:
    """The chain rule for weight w[o, c, i, j] of the `layer`-th Conv2d (1: the first).

    x (C, H, W) or (N, C, H, W) pictures as the network reads them, y their class indices.
    δ = ∂C/∂z is the engine's gradient at the convolution's output z (before its
    activation), the cost C the network's `loss`; everything in float64 on a copy of
    the weights.

    >>> import descent as ds
    >>> net = ds.nn.ConvNet((1, 8, 8), 2, seed=0)
    >>> ch = conv_weight_chain(net, np.random.default_rng(0).random((1, 8, 8)), 1, (2, 0, 1, 3))
    >>> ch.delta.shape, bool(ch.abs_error < 1e-12)
    ((8, 8), True)
    """
    batch, _ = _batch(x)
    batch = batch.astype(np.float64)
    labels = np.broadcast_to(np.asarray(y, dtype=np.int64), (len(batch),))
    twin = float64_copy(model)
    twin.eval()
    chain = layer_chain(twin)
    convs = [k for k, (_, m) in enumerate(chain) if isinstance(m, Conv2d)]
    if not 1 <= layer <= len(convs):
        raise ValueError(f"layer must be 1..{len(convs)} (the network has {len(convs)} "
                         f"convolution layers), got {layer}")
    k = convs[layer - 1]
    name, conv = chain[k]
    o, c, i, j = (int(v) for v in index)
    shape = conv.weight.shape
    if len(index) != 4 or not all(0 <= v < n for v, n in zip((o, c, i, j), shape, strict=True)):
        raise ValueError(f"index {tuple(index)} does not fit {name}.weight of shape "
                         f"{tuple(shape)} (out, in, kh, kw)")
    loss_fn = get_loss(loss)
    a_in = _run(chain[:k], batch)
    with no_grad():
        z = conv(Tensor(a_in)).data

    def cost(z_leaf: Tensor) -> Tensor:
        t = z_leaf
        for _, rest in chain[k + 1:]:
            t = rest(t)
        return loss_fn(t, labels)

    C, delta = value_and_grad(cost)(z)
    delta = np.asarray(delta, dtype=np.float64)
    top, bottom, left, right = _padding(conv)
    padded = np.pad(a_in, ((0, 0), (0, 0), (top, bottom), (left, right)))
    (s_h, s_w), (d_h, d_w) = conv.stride, conv.dilation
    P, Q = delta.shape[2:]
    rows = i * d_h + s_h * np.arange(P)
    cols = j * d_w + s_w * np.arange(Q)
    patch = padded[:, c][:, rows][:, :, cols]  # (N, P, Q): the pixel w met at each (p, q)
    terms = delta[:, o] * patch
    _, grads = engine_gradients(twin, batch, labels, loss_fn)
    engine = float(grads[f"{name}.weight"][o, c, i, j])
    source = "the picture" if layer == 1 else f"the output of the layer before {name}"
    notes = [
        f"z = conv(x, w) + b: the weight w[{o},{c},{i},{j}] multiplies, at every output "
        f"position (p, q), the input pixel x[{c}, {s_h}p + {i * d_h}, {s_w}q + {j * d_w}] of "
        f"{source} (zero-padded by {top},{bottom},{left},{right}).",
        "δ[p, q] = ∂C/∂z[o, p, q] comes back from the cost through the layers above, as "
        "for a dense layer; the sum over positions is what makes the weight shared.",
    ]
    if len(batch) > 1:
        notes.append(f"C averages over N = {len(batch)} pictures, so the sum also runs "
                     "over the pictures.")
    return ConvWeightChain(
        parameter=f"{name}.weight", index=(o, c, i, j), stride=(s_h, s_w),
        padding=(top, bottom, left, right), dilation=(d_h, d_w), delta=delta[0, o],
        patch=patch[0], terms=terms[0], total=float(terms.sum()), engine=engine,
        cost=float(C), n_examples=len(batch), notes=notes)


def conv_chain_text(chain: ConvWeightChain, show: int = 6) -> str:
    """The chain rule for one convolution weight as plain text: the largest terms, the sum,
    the engine's value and their difference.

    >>> import descent as ds
    >>> net = ds.nn.ConvNet((1, 8, 8), 2, seed=0)
    >>> print(conv_chain_text(conv_weight_chain(net, np.ones((1, 8, 8)), 0)).splitlines()[0])
    ∂C/∂w for 0.weight[0,0,0,0]: the sum over 64 positions of δ[p,q] · x[patch]
    """
    o, c, i, j = chain.index
    P, Q = chain.terms.shape
    label = f"{chain.parameter}[{o},{c},{i},{j}]"
    lines = [f"∂C/∂w for {label}: the sum over {P * Q} positions of δ[p,q] · x[patch]",
             *(f"  {note}" for note in chain.notes),
             f"  {'position':>10}  {'δ[p,q] = ∂C/∂z':>16}  {'x at the weight':>16}  "
             f"{'δ · x':>14}"]
    order = np.argsort(-np.abs(chain.terms), axis=None, kind="stable")[:show]
    for flat in order:
        p, q = np.unravel_index(flat, chain.terms.shape)
        lines.append(f"  {f'({p},{q})':>10}  {chain.delta[p, q]:>16.6g}  "
                     f"{chain.patch[p, q]:>16.6g}  {chain.terms[p, q]:>14.6g}")
    zero = int(np.count_nonzero(chain.terms == 0))
    lines.append(f"  ... the {P * Q - min(show, P * Q)} other positions ({zero} of all of "
                 "them contribute exactly 0: a zero pixel or a ReLU that was off)")
    lines.append(f"  sum over positions: {chain.total:.12g}")
    lines.append(f"  engine's ∂C/∂w:     {chain.engine:.12g}   (difference {chain.abs_error:.2g})")
    return "\n".join(lines)
