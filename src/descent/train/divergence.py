"""The divergence guard of `fit`: when has training blown up, and what is kept when it has.

A loss that turns inf or NaN has clearly diverged. A finite one can be just as lost: with a
learning rate of 1e10, Adam's steps are bounded by the rate, so the weights grow to 1e10
and beyond while the loss stays finite (1e20, 1e157 ...) and would be saved as a model.
The guard calls training diverged when

- a batch loss is inf or NaN, or a weight is no longer finite; or
- a batch loss exceeds `FACTOR` (10⁶) times the reference: the larger of the first batch's
  loss and the loss of the best constant prediction (the targets' mean for regression
  losses, equal class scores for classification losses); or
- the epoch loss has risen `RISING` (5) epochs in a row and ends above `RISE_FACTOR` (1000)
  times the reference: it is growing without bound, only more slowly.

The reference includes the constant prediction so that a model that starts (or resumes)
near a perfect fit may still move around: its loss must become a million times worse than
predicting the mean before the guard speaks. Noisy but sound training never comes near
either bound (tests/train/test_divergence.py trains real problems with every optimizer
at rates from small to the largest that still converge, and checks no alarm is raised).

On divergence the model keeps the last good weights, those at the end of the last epoch
that passed (or the starting weights), and `DivergenceError` names the epoch and batch.
"""

from __future__ import annotations

import math

import numpy as np

from descent.autodiff import Tensor, no_grad
from descent.errors import DivergenceError
from descent.nn import Loss, Module

FACTOR = 1e6
RISING = 5
RISE_FACTOR = 1e3
BASELINE_ROWS = 4096  # the constant prediction's loss is estimated on this many rows at most

_REGRESSION = {"mse", "quadratic", "mae", "huber"}


def constant_prediction_loss(loss: Loss, y: np.ndarray, n_outputs: int) -> float | None:
    """The loss of the best simple constant prediction on targets y, or None when the loss
    is one descent does not know (a user's function).

    Regression losses: every row predicted as the targets' mean. Classification losses:
    equal scores for every class (logits 0, probability 1/2).

    >>> import numpy as np
    >>> from descent.nn import get_loss
    >>> round(constant_prediction_loss(get_loss("cross_entropy"), np.array([0, 1, 2]), 3), 4)
    1.0986
    """
    y = y[:BASELINE_ROWS]
    if not len(y):
        return None
    name = loss.name
    if name in _REGRESSION:
        target = np.asarray(y, np.float64)
        pred = np.broadcast_to(target.mean(axis=0), target.shape).reshape(len(target), -1)
    elif name in ("cross_entropy", "binary_cross_entropy_with_logits"):
        pred = np.zeros((len(y), n_outputs))
    elif name == "binary_cross_entropy":
        pred = np.full((len(y), n_outputs), 0.5)
    else:
        return None
    try:
        with no_grad():
            value = float(loss(Tensor(pred), y).data)
    except (ValueError, TypeError):  # targets that do not fit this guess: no baseline
        return None
    return value if math.isfinite(value) else None


class DivergenceGuard:
    """Watches the losses of one `fit` call and keeps the last good weights.

    `batch(value, epoch, b)` after every step, `epoch_end(loss, epoch)` after every
    epoch (once the weights are back in the model), and `restore()` when training stops
    with a DivergenceError.
    """

    def __init__(self, model: Module, baseline: float | None, lr: float,
                 keep_copy: bool = True) -> None:
        self.model = model
        self.baseline = baseline
        self.lr = lr
        self.reference: float | None = None
        self.good_epoch: int | None = None  # None: the starting weights
        # keep_copy=False: the caller trains a copy of the weights (the compiled plan
        # holds its own for a whole epoch) and puts it into the model only after
        # `epoch_end` passed it, so the model itself holds the last good weights.
        self.good = [p.data.copy() for p in model.parameters()] if keep_copy else None
        self.epoch_losses: list[float] = []

    def _fail(self, where: str, what: str) -> DivergenceError:
        kept = ("its starting weights" if self.good_epoch is None
                else f"the weights of the end of epoch {self.good_epoch + 1}")
        return DivergenceError(f"training diverged in {where}: {what}; try a smaller learning "
                               f"rate (it was {self.lr:g}); the model keeps {kept}")

    def batch(self, value: float, epoch: int, b: int, lr: float) -> None:
        """Raise DivergenceError if the loss of batch b (0-based) of `epoch` has blown up."""
        self.lr = lr
        where = f"epoch {epoch + 1}, batch {b + 1}"
        if not math.isfinite(value):
            raise self._fail(where, f"the loss is {value}")
        if self.reference is None:
            self.reference = max(value, self.baseline or 0.0)
        if self.reference > 0 and value > FACTOR * self.reference:
            raise self._fail(where, f"the loss is {value:.3g}, more than {FACTOR:g} times "
                                    f"{self._reference_text()}")

    def epoch_end(self, loss: float, epoch: int, batches: int,
                  weights: list[tuple[str, np.ndarray]] | None = None) -> None:
        """Check the weights (the model's, or `weights`: (name, array) pairs of the copy
        being trained) and the run of epoch losses; then keep these weights as good."""
        named = weights if weights is not None else [
            (name, p.data) for name, p in self.model.named_parameters()]
        for name, data in named:
            # min and max are finite exactly when every entry is: no mask as large as w
            if data.size and not (np.isfinite(data.min()) and np.isfinite(data.max())):
                raise self._fail(f"epoch {epoch + 1}", f"weight {name} is no longer finite")
        self.epoch_losses.append(loss)
        recent = self.epoch_losses[-(RISING + 1):]
        if (len(recent) == RISING + 1 and self.reference and loss > RISE_FACTOR * self.reference
                and all(b > a for a, b in zip(recent, recent[1:], strict=False))):
            raise self._fail(f"epoch {epoch + 1}, batch {batches}",
                             f"the loss has risen {RISING} epochs in a row to {loss:.3g}, more "
                             f"than {RISE_FACTOR:g} times {self._reference_text()}")
        if self.good is not None:
            for kept, p in zip(self.good, self.model.parameters(), strict=True):
                np.copyto(kept, p.data)
        self.good_epoch = epoch

    def _reference_text(self) -> str:
        if self.baseline is not None and self.reference == self.baseline:
            return f"the loss of a constant prediction ({self.reference:.3g})"
        return f"the loss it started from ({self.reference:.3g})"

    def restore(self) -> None:
        """Put the last good weights back into the model (with keep_copy=False they are
        there already)."""
        if self.good is None:
            return
        for kept, p in zip(self.good, self.model.parameters(), strict=True):
            np.copyto(p.data, kept)
