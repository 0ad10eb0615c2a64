"""The linear model a network must beat: ridge regression or logistic regression.

Fitted by scikit-learn on the same encoded, scaled features the network sees, so the
comparison is between the two learners and nothing else. Ridge picks its penalty by
efficient leave-one-out cross-validation over a grid (`RidgeCV`); logistic regression uses
scikit-learn's default L2 penalty (C = 1), which suits standardized inputs.
"""

from __future__ import annotations

import warnings

import numpy as np

ALPHAS = tuple(np.logspace(-3, 3, 13))


def fit_predict_linear(task: str, X: np.ndarray, y: np.ndarray, X_eval: np.ndarray,
                       n_classes: int = 0,
                       sample_weight: np.ndarray | None = None) -> np.ndarray:
    """Predictions of a linear model fitted on (X, y), for X_eval.

    Regression: y (n,) in any units; returns (m,) predictions. Classification: y (n,) class
    indices 0..n_classes-1; returns (m, n_classes) probabilities (a class absent from y
    gets probability 0).

    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> fit_predict_linear("regression", X, 2 * X[:, 0] + 1, np.array([[4.0]])).round(1)
    array([9.])
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression, RidgeCV

    if task == "regression":
        model = RidgeCV(alphas=ALPHAS).fit(X, y, sample_weight=sample_weight)
        return np.asarray(model.predict(X_eval), dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a baseline: close is enough
        model = LogisticRegression(max_iter=500).fit(X, y, sample_weight=sample_weight)
    proba = np.zeros((len(X_eval), n_classes))
    proba[:, model.classes_] = model.predict_proba(X_eval)
    return proba
