"""Standardizers fitted with sample weights (a weight of k counts a row k times)."""

from __future__ import annotations

import numpy as np

from descent.data import Standardizer
from descent.tabular.recipe import target_range


def fit_standardizer(X: np.ndarray, sample_weight: np.ndarray | None = None) -> Standardizer:
    """A fitted `Standardizer` for X (n, d) or (n,), weighting row i by sample_weight[i].

    Without weights this is `Standardizer().fit(X)`. With weights, mean = Σ w x / Σ w and
    variance = Σ w (x - mean)² / Σ w, so integer weights act exactly like repeated rows. A
    column constant on the rows of positive weight gets scale 1, as in `Standardizer`.

    >>> s = fit_standardizer(np.array([[0.0], [2.0]]), np.array([1.0, 3.0]))
    >>> s.mean_.tolist(), round(float(s.scale_[0]), 6)
    ([1.5], 0.866025)
    """
    if sample_weight is None:
        return Standardizer().fit(X)
    x = np.asarray(X, dtype=np.float64)
    vector = x.ndim == 1
    columns = x.reshape(-1, 1) if vector else x
    w = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    keep = w > 0
    columns, w = columns[keep], w[keep]
    mean = (w @ columns) / w.sum()
    scale = np.sqrt((w @ (columns - mean) ** 2) / w.sum())
    constant = columns.max(axis=0) == columns.min(axis=0)
    mean[constant] = columns[0, constant]
    scale[constant] = 1.0
    return Standardizer.from_dict({
        "format": "descent.Standardizer", "version": 1, "mean": mean.tolist(),
        "scale": scale.tolist(), "vector": vector,
    })


def fit_target_scaler(y: np.ndarray, output_activation: str | None = None,
                      sample_weight: np.ndarray | None = None) -> Standardizer:
    """The target's scaler for a regression network ending in `output_activation`.

    identity: standardized (`fit_standardizer`). sigmoid and tanh: the training targets'
    range [min, max] mapped onto `target_range` (inside the activation's range, so every
    training target is reachable); relu: divided by the root mean square, not centred, so
    that y ≥ 0 stays ≥ 0. A `Standardizer` either way: (y - mean_) / scale_.

    >>> s = fit_target_scaler(np.array([10.0, 20.0, 30.0]), "sigmoid")
    >>> s.transform(np.array([10.0, 30.0])).round(6).tolist()
    [0.1, 0.9]
    """
    bounds = target_range(output_activation)
    if bounds is None:
        return fit_standardizer(y, sample_weight)
    values = np.asarray(y, dtype=np.float64)
    vector = values.ndim == 1
    columns = values.reshape(-1, 1) if vector else values
    if sample_weight is not None:
        columns = columns[np.asarray(sample_weight).reshape(-1) > 0]
    lo, hi = bounds
    if np.isinf(hi):  # relu: scale only
        mean = np.zeros(columns.shape[1])
        scale = np.sqrt(np.mean(columns**2, axis=0))
    else:
        y_min, y_max = columns.min(axis=0), columns.max(axis=0)
        scale = (y_max - y_min) / (hi - lo)
        mean = y_min - lo * scale
    scale = np.where(scale > 0, scale, 1.0)
    return Standardizer.from_dict({
        "format": "descent.Standardizer", "version": 1, "mean": mean.tolist(),
        "scale": scale.tolist(), "vector": vector,
    })
