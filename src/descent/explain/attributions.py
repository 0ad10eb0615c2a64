"""Which pixels does a decision rest on? Gradients of a class score with respect to pixels.

All of it is the engine's backward pass run one step further than training runs it: past
the first layer's weights, down to the picture itself.

- `input_gradient`: ∂score_c/∂x, the raw gradient of class c's logit at every pixel.
- `saliency` (Simonyan et al. 2014): |∂score_c/∂x|, the largest over colour channels:
  how much a small change of each pixel would move the score.
- `smoothgrad` (Smilkov et al. 2017): the gradient averaged over noisy copies of the
  picture, which removes much of the speckle a single gradient has.
- `integrated_gradients` (Sundararajan et al. 2017): (x − x') ⊙ the gradient averaged
  along the straight path from a baseline x' (black) to x. Unlike a gradient these
  attributions add up: their sum is F(x) − F(x') (completeness), up to the error of the
  path integral's quadrature, which `IntegratedGradients.gap` reports.

Pictures are (C, H, W) or (N, C, H, W) floats as the network reads them; `target` is a class
index per picture (None: the class the network predicts). The score is the logit, the
network's output before softmax, as in the papers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from descent.autodiff import Tensor, no_grad, value_and_grad
from descent.nn import Module

PATH_CHUNK = 256  # pictures per forward/backward pass along the integration path


def _batch(x: np.ndarray) -> tuple[np.ndarray, bool]:
    a = np.asarray(x)
    if a.ndim == 3:
        return a[None], True
    if a.ndim != 4:
        raise ValueError(f"pictures must be (C, H, W) or (N, C, H, W), got shape {a.shape}")
    return a, False


def _dtype(model: Module) -> np.dtype:
    params = model.parameters()
    return params[0].dtype if params else np.dtype(np.float64)


def logits(model: Module, x: np.ndarray) -> np.ndarray:
    """The network's outputs (N, K) for pictures (N, C, H, W), in eval mode, no graph."""
    batch, _ = _batch(x)
    was = model.training
    model.eval()
    try:
        with no_grad():
            return model(Tensor(batch.astype(_dtype(model)))).data
    finally:
        model.train(was)


def _targets(model: Module, batch: np.ndarray, target: int | np.ndarray | None) -> np.ndarray:
    if target is None:
        return logits(model, batch).argmax(axis=1)
    t = np.broadcast_to(np.asarray(target, dtype=np.int64), (len(batch),))
    return np.array(t)


def class_scores_and_gradient(model: Module, x: np.ndarray, target: np.ndarray
                              ) -> tuple[np.ndarray, np.ndarray]:
    """(scores (N,), ∂score/∂x (N, C, H, W)): each picture's logit of its target class.

    Pictures do not interact in eval mode, so one backward of the summed scores gives
    every picture's own gradient.
    """
    was = model.training
    model.eval()
    per_picture = []
    try:

        def scored(batch: Tensor) -> Tensor:
            out = model(batch)
            mask = np.eye(out.shape[1], dtype=out.data.dtype)[target]
            per_picture.append((out.data * mask).sum(axis=1))
            return (out * mask).sum()

        _, g = value_and_grad(scored)(x.astype(_dtype(model)))
    finally:
        model.train(was)
    return per_picture[0].astype(np.float64), np.asarray(g, dtype=np.float64)


def input_gradient(model: Module, x: np.ndarray, target: int | np.ndarray | None = None
                   ) -> np.ndarray:
    """∂score_c/∂x: the gradient of class `target`'s logit at every pixel, shaped like x.

    >>> import descent as ds
    >>> net = ds.nn.Sequential(ds.nn.Flatten(), ds.nn.Linear(4, 2, seed=0))
    >>> g = input_gradient(net, np.zeros((1, 2, 2)), target=1)
    >>> np.allclose(g.ravel(), net[1].weight.data[:, 1])   # a linear score's gradient is w
    True
    """
    batch, single = _batch(x)
    _, g = class_scores_and_gradient(model, batch, _targets(model, batch, target))
    return g[0] if single else g


def saliency(model: Module, x: np.ndarray, target: int | np.ndarray | None = None
             ) -> np.ndarray:
    """|∂score_c/∂x|, the largest over channels: (H, W) for one picture, (N, H, W) for many.

    >>> import descent as ds
    >>> net = ds.nn.Sequential(ds.nn.Flatten(), ds.nn.Linear(4, 2, seed=0))
    >>> saliency(net, np.zeros((1, 2, 2)), target=0).shape
    (2, 2)
    """
    return np.abs(input_gradient(model, x, target)).max(axis=-3)


def smoothgrad(model: Module, x: np.ndarray, target: int | np.ndarray | None = None, *,
               samples: int = 25, noise: float = 0.15,
               seed: int | np.random.Generator | None = 0) -> np.ndarray:
    """SmoothGrad: |mean over noisy copies of ∂score_c/∂x|, largest over channels.

    `noise` is the noise's standard deviation as a share of the picture's value range
    (0.15 as the paper suggests); the target class is fixed from the clean picture.
    Returns (H, W) for one picture, (N, H, W) for many.

    >>> import descent as ds
    >>> net = ds.nn.Sequential(ds.nn.Flatten(), ds.nn.Linear(4, 2, seed=0))
    >>> x = np.zeros((1, 2, 2))
    >>> np.allclose(smoothgrad(net, x, 0, samples=3), saliency(net, x, 0))  # linear: same
    True
    """
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be a whole number >= 1, got {samples!r}")
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a number >= 0, got {noise!r}")
    batch, single = _batch(x)
    target_ = _targets(model, batch, target)
    rng = np.random.default_rng(seed)
    span = (batch.max(axis=(1, 2, 3), keepdims=True) - batch.min(axis=(1, 2, 3), keepdims=True))
    total = np.zeros(batch.shape, dtype=np.float64)
    for _ in range(samples):
        noisy = batch + rng.normal(size=batch.shape) * noise * span
        total += class_scores_and_gradient(model, noisy, target_)[1]
    result = np.abs(total / samples).max(axis=1)
    return result[0] if single else result


@dataclass
class IntegratedGradients:
    """Integrated-gradients attributions of one or more pictures.

    `attributions` is shaped like the pictures; `score` F(x) and `baseline_score` F(x')
    are the target class's logits (N,); `total` (N,) is the sum of each picture's
    attributions. Completeness says total = score − baseline_score; `gap` is how far the
    quadrature with `steps` points is from that.
    """

    attributions: np.ndarray
    target: np.ndarray
    score: np.ndarray
    baseline_score: np.ndarray
    total: np.ndarray
    steps: int

    @property
    def difference(self) -> np.ndarray:
        """F(x) − F(baseline), per picture."""
        return self.score - self.baseline_score

    @property
    def gap(self) -> np.ndarray:
        """|total − (F(x) − F(baseline))|, per picture: the completeness check."""
        return np.abs(self.total - self.difference)

    def completeness(self, index: int = 0) -> str:
        """The completeness check for one picture, as a sentence."""
        diff, total, gap = self.difference[index], self.total[index], self.gap[index]
        share = gap / abs(diff) if diff else float("inf")
        return (f"integrated gradients: the attributions sum to {total:.6g}; F(x) − "
                f"F(baseline) = {self.score[index]:.6g} − {self.baseline_score[index]:.6g} = "
                f"{diff:.6g}; they differ by {gap:.3g} ({share:.3%} of the difference, "
                f"{self.steps} steps)")


def integrated_gradients(model: Module, x: np.ndarray, target: int | np.ndarray | None = None,
                         *, baseline: np.ndarray | float = 0.0, steps: int = 256
                         ) -> IntegratedGradients:
    """Integrated gradients from `baseline` (default: a black picture) to x.

    attribution = (x − x') ⊙ ∫₀¹ ∂F/∂x(x' + α(x − x')) dα, the integral by the trapezoid
    rule over `steps` equal intervals; F is the target class's logit.

    >>> import descent as ds
    >>> net = ds.nn.Sequential(ds.nn.Flatten(), ds.nn.Linear(4, 2, seed=0, dtype=np.float64))
    >>> ig = integrated_gradients(net, np.ones((1, 2, 2)), target=0)
    >>> bool(ig.gap[0] < 1e-9)   # a linear score: the attributions add up exactly
    True
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a whole number >= 1, got {steps!r}")
    batch, single = _batch(x)
    batch = batch.astype(np.float64)
    base = np.broadcast_to(np.asarray(baseline, dtype=np.float64), batch.shape)
    target_ = _targets(model, batch, target)
    alphas = np.linspace(0.0, 1.0, steps + 1)
    weights = np.full(steps + 1, 1.0 / steps)
    weights[[0, -1]] /= 2  # the trapezoid rule
    # Every point of every picture's path in one batch (pictures do not interact in eval
    # mode), cut into chunks so that memory stays bounded by PATH_CHUNK pictures.
    n = len(batch)
    mean_grad = np.zeros(batch.shape)
    scores = np.zeros((steps + 1, n))
    per_chunk = max(1, PATH_CHUNK // n)
    for start in range(0, steps + 1, per_chunk):
        a = alphas[start:start + per_chunk]
        points = base[None] + a[:, None, None, None, None] * (batch - base)[None]
        s, g = class_scores_and_gradient(model, points.reshape(-1, *batch.shape[1:]),
                                         np.tile(target_, len(a)))
        scores[start:start + len(a)] = s.reshape(len(a), n)
        mean_grad += np.tensordot(weights[start:start + len(a)], g.reshape(len(a), *batch.shape),
                                  axes=1)
    attributions = (batch - base) * mean_grad
    total = attributions.reshape(len(batch), -1).sum(axis=1)
    result = IntegratedGradients(attributions[0] if single else attributions, target_,
                                 scores[-1], scores[0], total, steps)
    return result
