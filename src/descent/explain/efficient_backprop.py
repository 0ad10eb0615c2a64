"""LeCun, Bottou, Orr & Müller, "Efficient BackProp" (1998), measured rather than cited.

`efficient_backprop` trains one network several times: once with all five of the paper's
recommendations, and once without each of them (everything else the same), and returns the
training cost (on all rows, at the end of each epoch) of every run, as the median over a
few seeds:

- standardized inputs (§4.3): each input column shifted to mean 0 and scaled to variance 1;
  without it the columns keep their own units (a lot size in square feet next to a count
  of bedrooms);
- shuffling (§4.2): the rows in a new random order every epoch; without it they come in
  the file's order, here sorted by the target, as exported tables often are;
- LeCun initialization (§4.6): weights drawn from N(0, 1/fan_in); without it from N(0, 1);
- the scaled tanh 1.7159·tanh(2x/3) (§4.4), symmetric about 0; without it the logistic
  sigmoid, whose outputs are all positive;
- momentum (§4.7, μ = 0.9); without it plain SGD at the same rate.

The target is standardized in every run (so the costs compare) and nothing else differs:
same layers, rate, batch size, epochs and seeds. A run that diverges keeps the costs it
had and is counted in `diverged`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from descent.data import Standardizer
from descent.errors import DivergenceError
from descent.nn import MLP
from descent.optim import SGD, Momentum

RECOMMENDATIONS = ("standardized inputs", "shuffling", "LeCun initialization", "scaled tanh",
                   "momentum")


@dataclass(frozen=True)
class Ablation:
    """One recipe's training cost per epoch: `costs` (seeds, epochs), nan after a divergence;
    `median` (epochs,) over the seeds; `diverged` how many seeds diverged."""

    name: str
    costs: np.ndarray
    diverged: int

    @property
    def median(self) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.nanmedian(np.where(np.isfinite(self.costs), self.costs, np.nan), axis=0) \
                if np.isfinite(self.costs).any() else np.full(self.costs.shape[1], np.nan)


def _run(X: np.ndarray, y: np.ndarray, without: str | None, hidden: tuple[int, ...],
         epochs: int, lr: float, batch_size: int, seed: int) -> np.ndarray:
    from descent.train import fit

    if without != "standardized inputs":
        X = Standardizer().fit(X).transform(X)
    activation = "sigmoid" if without == "scaled tanh" else "scaled_tanh"
    net = MLP([X.shape[1], *hidden, 1], activation=activation, init="lecun", seed=seed,
              dtype=np.float64)
    if without == "LeCun initialization":
        rng = np.random.default_rng(seed)
        for p in net.parameters():
            if p.data.ndim == 2:
                p.data[...] = rng.normal(0.0, 1.0, p.data.shape)
    params = net.parameters()
    optimizer = SGD(params, lr=lr) if without == "momentum" else Momentum(params, lr=lr)
    costs = np.full(epochs, np.nan)
    from descent.nn import get_loss
    from descent.train import Callback, evaluate

    cost = get_loss("quadratic")

    class Record(Callback):  # the cost on all rows at the end of each epoch, same for every run
        def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
            costs[epoch] = evaluate(net, X, y, cost, ())["loss"]

    try:
        fit(net, X, y, loss="quadratic", optimizer=optimizer, epochs=epochs,
            batch_size=batch_size, shuffle=without != "shuffling", seed=seed, verbose=False,
            callbacks=[Record()])
    except DivergenceError:
        pass
    return costs


def efficient_backprop(
    X: Any, y: Any, *, hidden: tuple[int, ...] = (16, 16), epochs: int = 30,
    lr: float = 0.01, batch_size: int = 16, seeds: tuple[int, ...] = (0, 1, 2),
) -> list[Ablation]:
    """Train with all recommendations, then without each one; the quadratic cost per epoch.

    Shapes: X (N, d) raw inputs (not standardized: that is one of the recommendations), y
    (N,) a regression target. Rows are sorted by y first (see the module docstring). Returns
    [all five, without standardized inputs, without shuffling, ...], each an `Ablation`.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal([50.0, 3.0], [20.0, 1.0], size=(64, 2)); y = X @ [0.1, 1.0]
    >>> runs = efficient_backprop(X, y, hidden=(4,), epochs=3, seeds=(0,))
    >>> [r.name for r in runs][:2], runs[0].costs.shape
    (['all five', 'without standardized inputs'], (1, 3))
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    order = np.argsort(y, kind="stable")
    X, y = X[order], (y[order] - y.mean()) / (y.std() or 1.0)
    runs = []
    for without in (None, *RECOMMENDATIONS):
        costs = np.array([_run(X, y, without, hidden, epochs, lr, batch_size, s)
                          for s in seeds])
        diverged = int(np.sum(~np.isfinite(costs[:, -1])))
        runs.append(Ablation("all five" if without is None else f"without {without}", costs,
                             diverged))
    return runs


def ablation_table(runs: list[Ablation], early: int = 5) -> str:
    """One line per run: cost after `early` epochs and at the end (medians), and how many
    times the full recipe's final cost that is.

    >>> a = Ablation("all five", np.array([[1.0, 0.5, 0.2]]), 0)
    >>> b = Ablation("without momentum", np.array([[1.0, 0.9, 0.8]]), 0)
    >>> print(ablation_table([a, b], early=2))
    recipe                          cost after 2 epochs  after 3  × the full recipe
    all five                                      0.500    0.200               1.0
    without momentum                              0.900    0.800               4.0
    """
    best = runs[0].median[-1]
    epochs = runs[0].costs.shape[1]
    if not 1 <= early <= epochs:
        raise ValueError(f"early must be an epoch 1..{epochs}, got {early}")
    lines = [f"{'recipe':<30}  cost after {early} epochs  after {epochs}  × the full recipe"]
    for r in runs:
        m = r.median
        tail = f"{m[-1] / best:>16.1f}" if np.isfinite(m[-1]) else f"{'diverged':>16}"
        note = f"  ({r.diverged} of {len(r.costs)} seeds diverged)" if r.diverged else ""
        lines.append(f"{r.name:<30}  {m[early - 1]:>19.3f}  {m[-1]:>7.3f}  {tail}{note}")
    return "\n".join(lines)


def plot_ablation(runs: list[Ablation], path: str | os.PathLike[str] | None = None,
                  title: str = "Efficient BackProp, measured") -> Any:
    """The median training cost per epoch of each run, on a log scale; returns the Figure.

    >>> a = Ablation("all five", np.array([[1.0, 0.5, 0.2]]), 0)
    >>> fig = plot_ablation([a, Ablation("without momentum", np.array([[1.0, 0.9, 0.8]]), 0)])
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['all five', 'without momentum']
    """
    from descent.explain.training_plots import _figure, _finish

    fig = _figure(7.2, 4.6)
    ax = fig.add_subplot()
    styles = ["-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1))]
    for k, r in enumerate(runs):
        m = r.median
        epochs = np.arange(1, len(m) + 1)
        label = r.name + (f" ({r.diverged} of {len(r.costs)} diverged)" if r.diverged else "")
        ax.plot(epochs, m, color="k" if k == 0 else f"C{k - 1}", lw=2.6 if k == 0 else 1.6,
                ls=styles[k % len(styles)], label=label)
    ax.set_yscale("log")
    from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("epoch")
    ax.set_ylabel("training cost 1/(2N) Σ (ŷ − y)², standardized y")
    seeds = len(runs[0].costs)
    ax.set_title(f"{title}: median of {seeds} seeds", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3,
              frameon=False)
    return _finish(fig, path)
