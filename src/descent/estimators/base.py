"""What the regressor and the classifier share: checking, scaling, fitting, predicting.

The subclasses say how targets become numbers for the network (`_encode_targets`) and back
(`predict`); everything else (validation split, standardizers fitted on the training part
only, early stopping, warm start, one-pass `partial_fit`) lives here.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from descent.data import Standardizer
from descent.tabular.recipe import Recipe
from descent.tabular.scaling import fit_standardizer
from descent.tabular.training import Trained, train_network, validation_split
from descent.train import predict_array

# Recipe fields under the names scikit-learn users know, for error messages.
SKLEARN_NAMES = {
    "hidden": "hidden_layer_sizes", "activation": "activation", "loss": "loss",
    "optimizer": "optimizer", "lr": "learning_rate", "weight_decay": "weight_decay",
    "epochs": "epochs", "batch_size": "batch_size",
    "validation_fraction": "validation_fraction", "patience": "n_iter_no_change",
    "tol": "tol",
}


class NeuralNetBase(BaseEstimator):
    """Base class; use `NeuralNetRegressor` or `NeuralNetClassifier`."""

    _task = "regression"

    # ---- hooks for the subclasses ------------------------------------------------------
    def _validate_xy(self, X: Any, y: Any, reset: bool) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _encode_targets(self, y: np.ndarray, first: bool,
                        classes: Any = None) -> np.ndarray:
        """Targets as the network sees them: float (N, k) or class indices (N,)."""
        raise NotImplementedError

    def _n_outputs(self) -> int:
        raise NotImplementedError

    def _standardize_target(self) -> bool:
        return False

    # ---- shared machinery --------------------------------------------------------------
    def _recipe(self) -> Recipe:
        return Recipe(
            hidden=self.hidden_layer_sizes, activation=self.activation, loss=self.loss,
            optimizer=self.optimizer, lr=self.learning_rate, weight_decay=self.weight_decay,
            epochs=self.epochs, batch_size=self.batch_size, shuffle=self.shuffle,
            early_stopping=self.early_stopping, validation_fraction=self.validation_fraction,
            patience=self.n_iter_no_change, tol=self.tol, names=SKLEARN_NAMES,
        ).checked(self._task)

    def _fitted_before(self) -> bool:
        return hasattr(self, "model_")

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> NeuralNetBase:
        """Train on X (n_samples, n_features) and y; returns self.

        With `early_stopping`, a `validation_fraction` share of the rows (stratified for
        the classifier) is held out, and the weights of the epoch with the lowest validation
        loss are kept. The standardizers are fitted on the training part only. With
        `warm_start` and an earlier fit, training continues from the current weights,
        optimizer state and standardizers.
        """
        return self._fit(X, y, sample_weight, incremental=False, classes=None)

    def _fit(self, X: Any, y: Any, sample_weight: Any, incremental: bool,
             classes: Any) -> NeuralNetBase:
        recipe = self._recipe()
        if not isinstance(self.verbose, numbers.Integral | bool):
            raise ValueError(f"verbose must be True, False or an int, got {self.verbose!r}")
        continuing = self._fitted_before() and (incremental or bool(self.warm_start))
        X, y = self._validate_xy(X, y, reset=not continuing)
        weights = _check_sample_weight(sample_weight, len(X))
        if weights is not None:
            # Rows of weight 0 contribute nothing: leave them out (then equal weights are
            # the same as none, and the compiled training step can be used).
            keep = weights > 0
            X, y, weights = X[keep], y[keep], weights[keep]
            if np.all(weights == weights[0]):
                weights = None
        targets = self._encode_targets(y, first=not continuing, classes=classes)

        if not continuing:
            self._random_state = check_random_state(self.random_state)
        seed = int(self._random_state.randint(np.iinfo(np.int32).max))
        rng = np.random.default_rng(seed)
        use_validation = recipe.early_stopping and not incremental
        if use_validation:
            labels = targets if self._task == "classification" else None
            train, val = validation_split(len(X), recipe.validation_fraction, rng, labels)
        else:
            train, val = np.arange(len(X)), None
        w_train = None if weights is None else weights[train]

        if not continuing:
            self.x_scaler_ = _scaler(X[train], w_train, self.standardize_inputs)
            self.y_scaler_ = (_scaler(targets[train], w_train, True)
                              if self._standardize_target() else None)
        Xs = self.x_scaler_.transform(X)
        ys = targets if self.y_scaler_ is None else self.y_scaler_.transform(targets)
        validation = None if val is None else (Xs[val], ys[val])
        trained = train_network(
            Xs[train], ys[train], recipe, task=self._task, n_outputs=self._n_outputs(),
            validation_data=validation, sample_weight=w_train, seed=seed,
            verbose=self.verbose,
            model=self.model_ if continuing else None,
            optimizer=self._optimizer if continuing else None,
            epochs=1 if incremental else None, stopping=not incremental,
        )
        self._record(trained, len(train), continuing, use_validation)
        return self

    def _record(self, trained: Trained, n_train: int, continuing: bool,
                validated: bool) -> None:
        history = trained.history
        losses = list(history["loss"])
        self.model_ = trained.model
        self._optimizer = trained.optimizer
        self.history_ = history
        if continuing:
            self.loss_curve_ = [*self.loss_curve_, *losses]
            self.n_iter_ += len(history)
            self.t_ += n_train * len(history)
        else:
            self.loss_curve_ = losses
            self.n_iter_ = len(history)
            self.t_ = n_train * len(history)
        self.best_loss_ = float(np.nanmin(self.loss_curve_)) if self.loss_curve_ else np.nan
        if validated:
            scores = [float(s) for s in trained.validation_scores]
            self.validation_scores_ = ([*getattr(self, "validation_scores_", [])] if continuing
                                       else []) + scores
            best = history.best_epoch
            self.best_validation_score_ = float(
                scores[best] if best is not None and best < len(scores) else max(scores))
        elif not continuing:
            # Without a validation part there is no validation score: do not keep an old one.
            for name in ("validation_scores_", "best_validation_score_"):
                if name in self.__dict__:
                    delattr(self, name)

    def _outputs(self, X: Any) -> np.ndarray:
        """Raw network outputs (n_samples, n_outputs) for X, after the input scaler."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return predict_array(self.model_, self.x_scaler_.transform(X))


def _check_sample_weight(sample_weight: Any, n: int) -> np.ndarray | None:
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.ndim == 0:  # one number for every row
        w = np.full(n, float(w))
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(f"sample_weight must have shape ({n},), got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("sample_weight must be finite and >= 0")
    if not np.any(w > 0):
        raise ValueError("sample_weight must contain at least one non-zero weight "
                         "(all weights are zero)")
    return w


def _scaler(values: np.ndarray, weights: np.ndarray | None, standardize: bool) -> Standardizer:
    if standardize:
        return fit_standardizer(values, weights)
    width = 1 if values.ndim == 1 else values.shape[1]
    # An identity map, so predict has one code path whether or not inputs are standardized.
    return Standardizer.from_dict({"format": "descent.Standardizer", "version": 1,
                                   "mean": [0.0] * width, "scale": [1.0] * width,
                                   "vector": values.ndim == 1})
