"""`NeuralNetClassifier`: a scikit-learn classifier trained by descent's backpropagation."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from descent.estimators.base import NeuralNetBase
from descent.tabular import recipe as defaults


class NeuralNetClassifier(ClassifierMixin, NeuralNetBase):
    """A multilayer perceptron for classification: one logit per class, softmax
    cross-entropy, inputs standardized inside.

    Labels may be any sortable values (ints, strings, ...); `classes_` holds them sorted.
    With `early_stopping` the validation part is stratified, so each class keeps its share.

    Parameters are those of `NeuralNetRegressor` (see there, also for sample weights,
    ConvergenceWarning and save / load), except that the default network is one hidden
    layer of 64 relu units (digits: accuracy 0.982 ± 0.005 in 5-fold CV), `loss` is
    "cross_entropy" (softmax on the logits; the only loss offered), there is no
    standardize_target or output_activation, and there is

        class_weight: None (every row weighs 1), "balanced" (class k weighs
            n / (n_classes · n_k), so every class counts the same in the loss: for
            imbalanced classes), or a dict label -> weight. Multiplies any sample_weight.

    Fitted attributes: `model_`, `classes_`, `loss_curve_`, `validation_scores_` and
    `best_validation_score_` (accuracy on the validation part, with early stopping),
    `best_loss_`, `n_iter_`, `t_`, `n_features_in_`, `feature_names_in_` (for a
    DataFrame), `n_outputs_` (= number of classes), `x_scaler_`, `history_`.

    >>> from sklearn.datasets import load_iris
    >>> from descent.sklearn import NeuralNetClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = NeuralNetClassifier(epochs=60, random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9, clf.predict_proba(X[:2]).shape
    (True, (2, 3))
    """

    _task = "classification"

    def __init__(
        self,
        hidden_layer_sizes: tuple[int, ...] = defaults.DEFAULT_HIDDEN["classification"],
        activation: str = defaults.DEFAULT_ACTIVATION["classification"],
        loss: str = "cross_entropy",
        optimizer: str = defaults.DEFAULT_OPTIMIZER,
        learning_rate: float = defaults.DEFAULT_LR,
        weight_decay: float | None = defaults.DEFAULT_WEIGHT_DECAY,
        epochs: int = defaults.DEFAULT_EPOCHS,
        batch_size: int | None = defaults.DEFAULT_BATCH_SIZE,
        shuffle: bool = True,
        early_stopping: bool = True,
        validation_fraction: float = defaults.DEFAULT_VALIDATION_FRACTION,
        n_iter_no_change: int = defaults.DEFAULT_PATIENCE,
        tol: float = defaults.DEFAULT_TOL,
        standardize_inputs: bool = True,
        ensemble: int | None = None,
        class_weight: Any = None,
        warm_start: bool = False,
        random_state: Any = None,
        verbose: bool | int = False,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.standardize_inputs = standardize_inputs
        self.ensemble = ensemble
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    def _validate_xy(self, X: Any, y: Any, reset: bool) -> tuple[np.ndarray, np.ndarray]:
        X, y = validate_data(self, X, y, reset=reset, dtype=np.float64)
        check_classification_targets(y)
        return X, y

    def _encode_targets(self, y: np.ndarray, first: bool, classes: Any = None) -> np.ndarray:
        if first:
            known = np.unique(y if classes is None else np.asarray(classes))
            if len(known) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes, but the data "
                    f"contains only one class: {known[0]!r}")
            self.classes_ = known
            self.n_outputs_ = len(known)
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"classes={list(np.unique(classes))} differs from the classes "
                             f"of the first call, {list(self.classes_)}")
        index = np.searchsorted(self.classes_, y)
        index = np.minimum(index, len(self.classes_) - 1)
        unseen = self.classes_[index] != y
        if np.any(unseen):
            raise ValueError(f"y contains the label {y[np.argmax(unseen)]!r}, which is not one "
                             f"of the classes {list(self.classes_)}")
        return index.astype(np.int64)

    def _n_outputs(self) -> int:
        return self.n_outputs_

    def _target_weights(self, targets: np.ndarray) -> np.ndarray | None:
        """Row weights from `class_weight` for class indices `targets` (n,), or None."""
        cw = self.class_weight
        if cw is None:
            return None
        k = len(self.classes_)
        if isinstance(cw, str) and cw == "balanced":
            counts = np.bincount(targets, minlength=k).astype(np.float64)
            per_class = np.where(counts > 0, len(targets) / (k * np.maximum(counts, 1)), 1.0)
        elif isinstance(cw, dict):
            unknown = [c for c in cw if c not in set(self.classes_.tolist())]
            if unknown:
                raise ValueError(f"class_weight names {unknown!r}, which are not among the "
                                 f"classes {list(self.classes_)}")
            per_class = np.array([float(cw.get(c, 1.0)) for c in self.classes_.tolist()])
            if not np.all(np.isfinite(per_class)) or np.any(per_class < 0):
                raise ValueError("class_weight values must be finite and >= 0")
        else:
            raise ValueError(f"class_weight must be None, 'balanced' or a dict label -> "
                             f"weight, got {cw!r}")
        return per_class[targets]

    def partial_fit(self, X: Any, y: Any, classes: Any = None,
                    sample_weight: Any = None) -> NeuralNetClassifier:
        """One pass (epoch) over X, y, continuing from the current weights; returns self.

        `classes` (every label that will ever appear) is required on the first call, since
        the network needs one output per class from the start.
        """
        if not self._fitted_before() and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit "
                             "(every label that will appear, e.g. classes=np.unique(y_all))")
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (n_samples, n_classes): the softmax of the logits, columns in
        `classes_` order."""
        z = self._outputs(X)
        z = z - z.max(axis=1, keepdims=True)  # exp never overflows; softmax is unchanged
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """log of `predict_proba`, computed stably (log-softmax of the logits)."""
        z = self._outputs(X)
        z = z - z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row, shape (n_samples,), from `classes_`."""
        best = self._outputs(X).argmax(axis=1)  # first, so an unfitted model says so
        return self.classes_[best]
