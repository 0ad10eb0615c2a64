"""What the regressor and the classifier share: checking, scaling, fitting, predicting.

The subclasses say how targets become numbers for the network (`_encode_targets`) and back
(`predict`); everything else (validation split, standardizers fitted on the training part
only, early stopping, warm start, one-pass `partial_fit`) lives here.
"""

from __future__ import annotations

import numbers
import os
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from descent.data import Standardizer
from descent.errors import ModelFileError
from descent.io.models import load_model, save
from descent.tabular.recipe import Recipe
from descent.tabular.scaling import fit_standardizer, fit_target_scaler
from descent.tabular.training import Trained, train_network, validation_split
from descent.train import predict_array

FILE_FORMAT = "descent.sklearn"
FILE_VERSION = 1

# Recipe fields under the names scikit-learn users know, for error messages.
SKLEARN_NAMES = {
    "hidden": "hidden_layer_sizes", "activation": "activation", "loss": "loss",
    "optimizer": "optimizer", "lr": "learning_rate", "weight_decay": "weight_decay",
    "epochs": "epochs", "batch_size": "batch_size",
    "validation_fraction": "validation_fraction", "patience": "n_iter_no_change",
    "tol": "tol", "output_activation": "output_activation", "ensemble": "ensemble",
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

    def _target_weights(self, targets: np.ndarray) -> np.ndarray | None:
        """Per-row weights from the targets (the classifier's class_weight), or None."""
        return None

    # ---- shared machinery --------------------------------------------------------------
    def _recipe(self) -> Recipe:
        return Recipe(
            hidden=self.hidden_layer_sizes, activation=self.activation, loss=self.loss,
            optimizer=self.optimizer, lr=self.learning_rate, weight_decay=self.weight_decay,
            epochs=self.epochs, batch_size=self.batch_size, shuffle=self.shuffle,
            early_stopping=self.early_stopping, validation_fraction=self.validation_fraction,
            patience=self.n_iter_no_change, tol=self.tol,
            output_activation=getattr(self, "output_activation", "identity"),
            ensemble=self.ensemble, names=SKLEARN_NAMES,
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
        targets = self._encode_targets(y, first=not continuing, classes=classes)
        by_class = self._target_weights(targets)
        if by_class is not None:
            weights = by_class if weights is None else weights * by_class
        if weights is not None:
            # Rows of weight 0 contribute nothing: leave them out (then equal weights are
            # the same as none, and the compiled training step can be used).
            keep = weights > 0
            X, targets, weights = X[keep], targets[keep], weights[keep]
            if np.all(weights == weights[0]):
                weights = None

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
            self.y_scaler_ = (fit_target_scaler(targets[train], recipe.output_activation,
                                                w_train)
                              if self._standardize_target() else None)
        Xs = self.x_scaler_.transform(X)
        ys = targets if self.y_scaler_ is None else self.y_scaler_.transform(targets)
        validation = None if val is None else (
            Xs[val], ys[val], None if weights is None else weights[val])
        trained = train_network(
            Xs[train], ys[train], recipe, task=self._task, n_outputs=self._n_outputs(),
            validation_data=validation, sample_weight=w_train, seed=seed,
            verbose=self.verbose,
            model=self.model_ if continuing else None,
            optimizer=self._optimizer if continuing else None,
            epochs=1 if incremental else None, stopping=not incremental,
        )
        self._record(trained, len(train), continuing, use_validation)
        history = trained.history
        if (not incremental and len(history) >= recipe.epochs and not history.interrupted
                and not history.stopped_early):
            watched = "validation" if use_validation else "training"
            warnings.warn(f"{type(self).__name__} stopped at epochs={recipe.epochs} while "
                          f"the {watched} loss was still improving; raise epochs (or "
                          "learning_rate) to let it converge", ConvergenceWarning,
                          stacklevel=3)
        return self

    def _record(self, trained: Trained, n_train: int, continuing: bool,
                validated: bool) -> None:
        history = trained.history
        losses = list(history["loss"])
        self.model_ = trained.model
        self._optimizer = trained.optimizer
        if trained.weight_decay is not None:
            self.weight_decay_ = trained.weight_decay  # chosen on validation when None
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
        # 1-based, as `descent train` prints it and its model files store it
        self.best_epoch_ = None if history.best_epoch is None else history.best_epoch + 1
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

    # ---- files -------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the fitted estimator to `path`: the network's weights as safetensors, its
        parameters, scalers and classes as JSON metadata (no pickle; see `load`).

        >>> import tempfile, os, numpy as np
        >>> from descent.sklearn import NeuralNetRegressor
        >>> X = np.arange(40.0).reshape(20, 2); y = X.sum(axis=1)
        >>> reg = NeuralNetRegressor(epochs=5, random_state=0).fit(X, y)
        >>> path = os.path.join(tempfile.mkdtemp(), "reg.safetensors")
        >>> reg.save(path)
        >>> bool(np.array_equal(NeuralNetRegressor.load(path).predict(X), reg.predict(X)))
        True
        """
        check_is_fitted(self, "model_")
        fitted: dict[str, Any] = {
            "n_features_in_": int(self.n_features_in_), "n_outputs_": int(self.n_outputs_),
            "n_iter_": int(self.n_iter_), "t_": int(self.t_),
            "loss_curve_": [float(v) for v in self.loss_curve_],
            "best_loss_": float(self.best_loss_),
            "best_epoch_": getattr(self, "best_epoch_", None),
        }
        if hasattr(self, "feature_names_in_"):
            fitted["feature_names_in_"] = [str(n) for n in self.feature_names_in_]
        if hasattr(self, "classes_"):
            fitted["classes_"] = [c.item() if hasattr(c, "item") else c for c in self.classes_]
        if hasattr(self, "best_validation_score_"):
            fitted["validation_scores_"] = [float(v) for v in self.validation_scores_]
            fitted["best_validation_score_"] = float(self.best_validation_score_)
        params = {k: (list(v) if isinstance(v, tuple) else v)
                  for k, v in self.get_params().items()}
        if not isinstance(params.get("random_state"), int | None):
            params["random_state"] = None  # a RandomState cannot be stored; its seed is gone
        pre = {"format": FILE_FORMAT, "version": FILE_VERSION,
               "estimator": type(self).__name__, "params": params,
               "x_scaler": self.x_scaler_.to_dict(),
               "y_scaler": None if getattr(self, "y_scaler_", None) is None
               else self.y_scaler_.to_dict(),
               "fitted": fitted}
        save(self.model_, path, preprocessing=pre)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> NeuralNetBase:
        """The estimator saved at `path` by `save`, ready to predict (and to continue with
        `partial_fit` or `warm_start`, with a fresh optimizer state).

        Raises ModelFileError naming the path when the file holds another kind of model or
        its metadata does not fit.
        """
        source = os.fspath(path)
        saved = load_model(path)
        pre = saved.preprocessing
        if not isinstance(pre, dict) or pre.get("format") != FILE_FORMAT:
            raise ModelFileError(f"{source}: not a saved descent estimator (save one with "
                                 "est.save(path))")
        if pre.get("version") != FILE_VERSION or pre.get("estimator") != cls.__name__:
            raise ModelFileError(f"{source}: holds a {pre.get('estimator')!r} (format "
                                 f"version {pre.get('version')!r}); load it with that class")
        try:
            params = dict(pre["params"])
            if isinstance(params.get("hidden_layer_sizes"), list):
                params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
            est = cls(**params)
            est._recipe()  # every parameter checked, as at fit
            est.x_scaler_ = Standardizer.from_dict(pre["x_scaler"], f"{source}: x_scaler")
            est.y_scaler_ = (None if pre["y_scaler"] is None else
                             Standardizer.from_dict(pre["y_scaler"], f"{source}: y_scaler"))
            fitted = dict(pre["fitted"])
            for name in ("n_features_in_", "n_outputs_", "n_iter_", "t_"):
                setattr(est, name, int(fitted[name]))
            est.loss_curve_ = [float(v) for v in fitted["loss_curve_"]]
            est.best_loss_ = float(fitted["best_loss_"])
            best = fitted.get("best_epoch_")
            est.best_epoch_ = None if best is None else int(best)
            if "feature_names_in_" in fitted:
                est.feature_names_in_ = np.array(fitted["feature_names_in_"], dtype=object)
            if "classes_" in fitted:
                est.classes_ = np.array(fitted["classes_"])
            if "best_validation_score_" in fitted:
                est.validation_scores_ = [float(v) for v in fitted["validation_scores_"]]
                est.best_validation_score_ = float(fitted["best_validation_score_"])
        except (KeyError, TypeError, ValueError) as error:
            raise ModelFileError(f"{source}: bad estimator metadata: {error}") from None
        sizes = getattr(saved.model, "sizes", None)
        if sizes is None or sizes[0] != est.n_features_in_ or \
                len(est.x_scaler_.mean_) != est.n_features_in_:
            raise ModelFileError(f"{source}: the network, scaler and n_features_in_ disagree")
        est.model_ = saved.model
        est._random_state = check_random_state(est.random_state)
        est._optimizer = None
        return est

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
