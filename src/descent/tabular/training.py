"""Train one network on standardized arrays: the step shared by the CLI and the estimators.

`train_network` builds (or continues) the recipe's network, picks the stopping rule and
calls `descent.fit`. The callers own the data handling around it: splitting, encoding,
scaling (see `descent.tabular.scaling` and `descent.tabular.table_training`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from descent.nn import Module, get_loss
from descent.optim import Optimizer, get_optimizer
from descent.tabular.ensemble import merge_networks
from descent.tabular.limits import check_network_memory
from descent.tabular.recipe import WEIGHT_DECAYS, Recipe, build_network
from descent.train import Callback, EarlyStopping, History, fit, predict_array
from descent.train.metrics import accuracy, r2
from descent.train.stacked import fit_stacked


@dataclass
class Trained:
    """What `train_network` returns: the network, its optimizer (with its state, so that
    training can continue), the History, and the validation score of each epoch (R² for
    regression, accuracy for classification; empty without validation data). For an
    ensemble, `history` and `validation_scores` are the first member's, and
    `member_histories` holds every member's. `weight_decay` is the decay used (chosen on
    validation data when the recipe left it open)."""

    model: Module
    optimizer: Optimizer
    history: History
    validation_scores: list[float] = field(default_factory=list)
    member_histories: list[History] = field(default_factory=list)
    weight_decay: float | None = None
    #: whether `history.notes` holds the learning notes (a stacked fit adds them only to
    #: the networks whose history is shown: `_noted`)
    noted: bool = True


class ValidationScore(Callback):
    """Score the model on the validation data after every epoch (R² or accuracy).

    R² is unchanged by standardizing the target (the same affine map on y and ŷ), so the
    score on standardized targets equals the score in the target's own units.
    """

    def __init__(self, X_val: np.ndarray, y_val: np.ndarray, task: str) -> None:
        self.X_val, self.y_val, self.task = X_val, y_val, task
        self.scores: list[float] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        out = predict_array(self.run.model, self.X_val)
        if self.task == "classification":
            self.scores.append(accuracy(self.y_val, out.argmax(axis=1)))
        else:
            self.scores.append(r2(self.y_val, out.reshape(self.y_val.shape)))


def make_optimizer(model: Module, recipe: Recipe) -> Optimizer:
    """The recipe's optimizer over `model`'s parameters."""
    decay = WEIGHT_DECAYS[0] if recipe.weight_decay is None else recipe.weight_decay
    return get_optimizer(recipe.optimizer, model.parameters(), lr=recipe.lr,
                         weight_decay=decay)


def train_network(
    X: np.ndarray,
    y: np.ndarray,
    recipe: Recipe,
    *,
    task: str,
    n_outputs: int,
    validation_data: tuple[np.ndarray, ...] | None = None,
    sample_weight: np.ndarray | None = None,
    seed: int | None = None,
    verbose: bool | int = False,
    model: Module | None = None,
    optimizer: Optimizer | None = None,
    epochs: int | None = None,
    stopping: bool = True,
    augment: Any = None,
    members: int | None = None,
    compute_dtype: Any = None,
) -> Trained:
    """Train the recipe's network on standardized X (N, d) and y; returns `Trained`.

    y is (N,) or (N, k) floats for regression, (N,) class indices 0..n_outputs-1 for
    classification. Pass `model` and `optimizer` from an earlier `Trained` to continue
    training (warm start, partial fit); `epochs` overrides the recipe's; `stopping=False`
    runs every epoch (one-pass `partial_fit`); `augment` changes every training batch (see
    `descent.fit`). `recipe` must be `Recipe.checked(task)`.
    A new network is an ensemble of `recipe.members(N)` networks, each trained from its own
    seed with the same data and stopping rule, merged into one MLP that outputs their mean
    (`descent.tabular.ensemble`); a given or continued one trains as the single network it
    is. The networks of one call (the weight-decay candidates, the members) train together
    as one stacked network where `descent.train.stacked` covers the recipe, with the
    results of training each alone (to float rounding). `members` trains only that many
    of them (1: the first, the one the weight decay was chosen with), for a fit whose
    model is not kept, only scored and asked for its training length (`train_table`
    refits the whole ensemble afterwards); the memory check still counts the whole
    ensemble, so a recipe too large for memory stops before any training.
    `compute_dtype` (None: float64, the networks' own) is the float type new networks
    compute in while they train, all of them as one stack (`descent.train.stacked`, a
    single network as a stack of one): float32 about halves their time, and they are
    still float64 networks afterwards. With sample weights, augmentation or a given
    `model` they train by `fit`, in float64.

    >>> import numpy as np
    >>> X = np.linspace(-1, 1, 40).reshape(-1, 1); y = 2 * X[:, 0]
    >>> t = train_network(X, y, Recipe(hidden=(4,), epochs=30).checked("regression"),
    ...                   task="regression", n_outputs=1, seed=0)
    >>> t.history["loss"][-1] < t.history["loss"][0]
    True
    """
    k = recipe.members(len(X))
    if model is None:  # the networks of one call train together: all of them must fit
        choosing = recipe.weight_decay is None and validation_data is not None
        candidates = len(WEIGHT_DECAYS) if choosing else 1
        check_network_memory([X.shape[1], *recipe.hidden, n_outputs],
                             np.dtype(np.float64).itemsize, recipe.names,
                             networks=max(k, candidates),
                             why="ensemble" if k >= candidates else "weight_decay")
    if members is not None:
        k = min(k, members)
    seeds = _member_seeds(seed, k)
    first: Trained | None = None
    many = dict(X=X, y=y, recipe=recipe, task=task, n_outputs=n_outputs,
                validation_data=validation_data, sample_weight=sample_weight, epochs=epochs,
                stopping=stopping, compute_dtype=compute_dtype)
    if model is None and recipe.weight_decay is None:
        if validation_data is None:
            recipe = replace(recipe, weight_decay=WEIGHT_DECAYS[0])
        else:  # one network per candidate decay; the lowest validation loss wins
            tries = _train_many([(seeds[0], decay, verbose) for decay in WEIGHT_DECAYS],
                                lambda i: f"while choosing the weight decay (network {i + 1} "
                                          f"of {len(WEIGHT_DECAYS)})", **many)
            best = int(np.argmin([min(t.history["val_loss"]) for t in tries]))
            recipe = replace(recipe, weight_decay=WEIGHT_DECAYS[best])
            first = _noted(tries[best], X, y, recipe)
            if k == 1:
                return first
    if model is None and k > 1:
        # k networks from k seeds, trained alike, merged into one that outputs their mean
        runs = [] if first is None else [first]
        done = len(runs)
        runs += _train_many([(s, recipe.weight_decay, verbose if i == 0 and not done else False)
                             for i, s in enumerate(seeds[done:])],
                            lambda i: f"while training network {done + i + 1} of {k} of the "
                                      "ensemble", **{**many, "recipe": recipe})
        merged = merge_networks([r.model for r in runs])
        _noted(runs[0], X, y, recipe)
        return Trained(merged, make_optimizer(merged, recipe), runs[0].history,
                       runs[0].validation_scores, [r.history for r in runs],
                       recipe.weight_decay)
    if model is None and compute_dtype is not None and STACKED and sample_weight is None \
            and augment is None:
        # one new network computing in compute_dtype: the stacked fit of one member
        alone = _train_stacked([(seed, recipe.weight_decay, verbose)], X, y, recipe, task,
                               n_outputs, validation_data, epochs, stopping, compute_dtype)
        if alone is not None:
            return _noted(alone[0], X, y, recipe)
    if model is None:
        # The initial weights and the shuffling get separate streams from one seed.
        init_seed, fit_seed = np.random.SeedSequence(seed).spawn(2)
        model = build_network(X.shape[1], n_outputs, recipe, np.random.default_rng(init_seed))
        seed = int(fit_seed.generate_state(1)[0])
    if optimizer is None:
        optimizer = make_optimizer(model, recipe)
    callbacks: list[Callback] = []
    scorer = None
    if validation_data is not None:
        scorer = ValidationScore(validation_data[0], validation_data[1], task)
        callbacks.append(scorer)
    if stopping:
        if validation_data is not None and recipe.early_stopping:
            callbacks.append(EarlyStopping("val_loss", patience=recipe.patience,
                                           min_delta=recipe.tol, restore_best_weights=True))
        else:  # converged: the training loss stopped improving (scikit-learn's MLP rule)
            callbacks.append(EarlyStopping("loss", patience=recipe.patience,
                                           min_delta=recipe.tol, restore_best_weights=False))
    history = fit(model, X, y, loss=recipe.loss or "mse", optimizer=optimizer,
                  epochs=recipe.epochs if epochs is None else epochs,
                  batch_size=recipe.batch(len(X)), shuffle=recipe.shuffle,
                  validation_data=validation_data, callbacks=callbacks,
                  sample_weight=sample_weight, seed=seed, verbose=verbose, augment=augment)
    _add_notes(model, optimizer, history, X, y, recipe)
    return Trained(model, optimizer, history, [] if scorer is None else scorer.scores,
                   [history], recipe.weight_decay)


def _noted(run: Trained, X: np.ndarray, y: np.ndarray, recipe: Recipe) -> Trained:
    """`run` with its learning notes in its History (added now if its fit left them out)."""
    if not run.noted:
        _add_notes(run.model, run.optimizer, run.history, X, y, recipe)
        run.noted = True
    return run


def _add_notes(model: Module, optimizer: Optimizer, history: History, X: np.ndarray,
               y: np.ndarray, recipe: Recipe) -> None:
    """Why it may have learned nothing, where the network shows it (a probe batch: cheap)."""
    # Imported here: `descent predict` imports this module (through descent.tabular) but
    # trains nothing, and descent.explain is a large package.
    from descent.explain.diagnostics import learning_notes

    loss_fn = get_loss(recipe.loss or "mse")
    plain = type(optimizer).__name__ in ("SGD", "Momentum", "Nesterov")
    history.notes.extend(n for n in learning_notes(model, X, y, loss_fn, lr=optimizer.lr,
                                                   plain_steps=plain)
                         if n not in history.notes)


#: Train several networks of one fit as one stacked network (descent.train.stacked) where
#: it covers them; False trains them one after another (the reference the tests compare).
STACKED = True


def _train_many(specs: list[tuple[int | None, float | None, bool | int]],
                where: Callable[[int], str], *, X: np.ndarray, y: np.ndarray, recipe: Recipe,
                task: str, n_outputs: int, validation_data: tuple[np.ndarray, ...] | None,
                sample_weight: np.ndarray | None, epochs: int | None,
                stopping: bool, compute_dtype: Any = None) -> list[Trained]:
    """One single network per (seed, weight decay, verbose) in `specs`, each as
    `train_network` trains it alone: all at once through `descent.train.stacked` where it
    covers them (same results to float rounding; the learning notes are then left for
    `_noted` to add where a History is shown), else one after another. Ctrl-C stops them
    all (KeyboardInterrupt naming `where(i)`)."""
    runs = _train_stacked(specs, X, y, recipe, task, n_outputs, validation_data, epochs,
                          stopping, compute_dtype) \
        if STACKED and len(specs) > 1 and sample_weight is None else None
    if runs is None:
        runs = []
        for i, (seed, decay, verbose) in enumerate(specs):
            runs.append(train_network(
                X, y, replace(recipe, weight_decay=decay, ensemble=1), task=task,
                n_outputs=n_outputs, validation_data=validation_data,
                sample_weight=sample_weight, seed=seed, verbose=verbose, epochs=epochs,
                stopping=stopping))
            _stop_if_interrupted(runs[-1], where(i))
    for i, run in enumerate(runs):
        _stop_if_interrupted(run, where(i))
    return runs


def _train_stacked(specs: list[tuple[int | None, float | None, bool | int]], X: np.ndarray,
                   y: np.ndarray, recipe: Recipe, task: str, n_outputs: int,
                   validation_data: tuple[np.ndarray, ...] | None, epochs: int | None,
                   stopping: bool, compute_dtype: Any = None) -> list[Trained] | None:
    """`_train_many`'s networks trained together, or None where the stacked step does not
    cover them (nothing is trained then)."""
    models, optimizers, fit_seeds = [], [], []
    for seed, decay, _ in specs:
        single = replace(recipe, weight_decay=decay, ensemble=1)
        # as train_network: the initial weights and the shuffling from one seed's streams
        init_seed, fit_seed = np.random.SeedSequence(seed).spawn(2)
        model = build_network(X.shape[1], n_outputs, single, np.random.default_rng(init_seed))
        models.append(model)
        optimizers.append(make_optimizer(model, single))
        fit_seeds.append(int(fit_seed.generate_state(1)[0]))
    monitor, restore = None, False
    if stopping:
        restore = validation_data is not None and recipe.early_stopping
        monitor = "val_loss" if restore else "loss"
    score = None
    if validation_data is not None:
        if len(validation_data) > 2 and validation_data[2] is not None:
            return None
        y_val = validation_data[1]
        if task == "classification":
            def score(out: np.ndarray) -> float:
                return accuracy(y_val, out.argmax(axis=1))
        else:
            def score(out: np.ndarray) -> float:
                return r2(y_val, out.reshape(y_val.shape))
    runs = fit_stacked(models, optimizers, X, y, loss=recipe.loss or "mse",
                       epochs=recipe.epochs if epochs is None else epochs,
                       batch_size=recipe.batch(len(X)), shuffle=recipe.shuffle, seeds=fit_seeds,
                       validation_data=None if validation_data is None
                       else validation_data[:2],
                       monitor=monitor, patience=recipe.patience, min_delta=recipe.tol,
                       restore_best_weights=restore, score=score, verbose=specs[0][2],
                       compute_dtype=compute_dtype)
    if runs is None:
        return None
    # The learning notes (a probe of each network) are added by the caller to the
    # networks whose History it shows: `_noted`.
    return [Trained(model, optimizer, run.history, run.scores if score else [],
                    [run.history], decay, noted=False)
            for (_, decay, _), model, optimizer, run in zip(specs, models, optimizers, runs,
                                                           strict=True)]


def _member_seeds(seed: int | None, k: int) -> list[int | None]:
    """One seed per ensemble member; member 0 keeps `seed`, so k = 1 trains as before."""
    if seed is None:
        return [None] * k
    extra = np.random.SeedSequence(seed).spawn(k - 1)
    return [seed, *(int(s.generate_state(1)[0]) for s in extra)]


def _stop_if_interrupted(run: Trained, where: str) -> None:
    """Ctrl-C stops one `fit`; a training made of several fits must stop with it, not
    carry on with the next one."""
    if run.history.interrupted:
        raise KeyboardInterrupt(f"interrupted {where}: nothing saved")


def validation_split(n: int, fraction: float, rng: np.random.Generator,
                     labels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) row indices, sorted, with round(fraction * n) >= 1 validation rows.

    With `labels`, each class is spread over both parts in proportion (stratified) when every
    class has at least 2 rows; otherwise the split is plain random. Raises ValueError naming
    n_samples when n < 2 (nothing would be left to train on).

    >>> train, val = validation_split(10, 0.2, np.random.default_rng(0))
    >>> len(train), len(val)
    (8, 2)
    """
    if n < 2:
        raise ValueError(f"early stopping holds out a validation part, which needs at least "
                         f"2 samples; got n_samples={n} (set early_stopping=False)")
    n_val = min(max(1, int(round(fraction * n))), n - 1)
    if labels is not None:
        classes, counts = np.unique(labels, return_counts=True)
        if counts.min() >= 2 and len(classes) <= n_val <= n - len(classes):
            val = _stratified(labels, n_val, rng)
            return np.setdiff1d(np.arange(n), val), val
    order = rng.permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def _stratified(labels: np.ndarray, n_val: int, rng: np.random.Generator) -> np.ndarray:
    """n_val rows with every class in proportion (largest remainders), at least one each."""
    classes, codes = np.unique(labels, return_inverse=True)
    counts = np.bincount(codes)
    ideal = counts * n_val / len(labels)
    take = np.maximum(np.floor(ideal).astype(int), 1)
    order = np.argsort(-(ideal - np.floor(ideal)), kind="stable")
    i = 0
    while take.sum() < n_val:  # hand out the rest by largest remainder
        c = order[i % len(order)]
        if take[c] < counts[c] - 1:
            take[c] += 1
        i += 1
    while take.sum() > n_val:  # the minimum of one per class overshot: trim the largest
        c = int(np.argmax(take))
        take[c] -= 1
    picked = [rng.permutation(np.flatnonzero(codes == c))[:take[c]] for c in range(len(classes))]
    return np.sort(np.concatenate(picked))


def recipe_summary(recipe: Recipe) -> dict[str, Any]:
    """The recipe as JSON-safe data, stored in model files so a run can be repeated."""
    return {"hidden": list(recipe.hidden), "activation": recipe.activation,
            "loss": recipe.loss, "optimizer": recipe.optimizer, "lr": recipe.lr,
            "weight_decay": recipe.weight_decay, "epochs": recipe.epochs,
            "batch_size": recipe.batch_size, "early_stopping": recipe.early_stopping,
            "validation_fraction": recipe.validation_fraction, "patience": recipe.patience,
            "tol": recipe.tol, "output_activation": recipe.output_activation,
            "ensemble": recipe.ensemble}
