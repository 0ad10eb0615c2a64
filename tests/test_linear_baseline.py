"""The linear baseline `descent train` prints equals scikit-learn's RidgeCV and
LogisticRegression (the oracle), with and without sample weights."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, RidgeCV

from descent.tabular.linear import ALPHAS, logistic_regression, ridge_loo, softmax


@pytest.mark.parametrize("n, d, weighted", [(40, 3, False), (200, 12, True), (30, 45, False)])
def test_ridge_matches_ridgecv(n, d, weighted):
    rng = np.random.default_rng(n)
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + rng.normal(size=n) + 5
    sw = rng.uniform(0.2, 3, n) if weighted else None
    ref = RidgeCV(alphas=ALPHAS).fit(X, y, sample_weight=sw)
    w, b, alpha = ridge_loo(X, y, sample_weight=sw)
    assert alpha == ref.alpha_
    np.testing.assert_allclose(w, ref.coef_, rtol=1e-9, atol=1e-10)
    assert b == pytest.approx(ref.intercept_, rel=1e-9, abs=1e-10)


@pytest.mark.parametrize("k, weighted", [(2, False), (2, True), (3, False), (4, True)])
def test_logistic_matches_sklearn(k, weighted):
    rng = np.random.default_rng(k)
    y = rng.integers(0, k, 150)
    X = rng.normal(size=(150, 5)) + 0.7 * y[:, None]
    sw = rng.uniform(0.2, 3, 150) if weighted else None
    ref = LogisticRegression(tol=1e-12, max_iter=10_000).fit(X, y, sample_weight=sw)
    W, b = logistic_regression(X, y, k, sw)
    np.testing.assert_allclose(softmax(X @ W + b), ref.predict_proba(X), atol=1e-6)
