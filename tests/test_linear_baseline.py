"""The linear baseline `descent train` prints equals scikit-learn's RidgeCV and
LogisticRegression (the oracle), with and without sample weights."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, RidgeCV

from descent.tabular import linear
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


@pytest.mark.parametrize("n, d, weighted, onehot", [(300, 4, False, False), (500, 12, True, True),
                                                    (97, 30, False, True)])
def test_large_ridge_gram_route_equals_the_svd_route(monkeypatch, n, d, weighted, onehot):
    """A large X takes the d x d Gram route (read in blocks; memory bounded by one block):
    it chooses the same α as the SVD route and RidgeCV and predicts the same, also with a
    one-hot group whose columns sum to 1 (an exactly singular direction once centred)."""
    rng = np.random.default_rng(d)
    X = rng.normal(size=(n, d))
    if onehot:
        X[:, :3] = np.eye(3)[rng.integers(0, 3, n)]
        X = (X - X.mean(axis=0)) / X.std(axis=0)  # standardized, as train_table gives it
    y = X @ rng.normal(size=d) + rng.normal(size=n) + 5
    sw = rng.uniform(0.2, 3, n) if weighted else None
    w_svd, b_svd, alpha_svd = ridge_loo(X, y, sample_weight=sw)
    monkeypatch.setattr(linear, "SVD_CELLS", 0)  # every X is "large"
    monkeypatch.setattr(linear, "BLOCK_ROWS", 7)  # many blocks, the last one short
    w, b, alpha = ridge_loo(X, y, sample_weight=sw)
    ref = RidgeCV(alphas=ALPHAS).fit(X, y, sample_weight=sw)
    assert alpha == alpha_svd == ref.alpha_
    np.testing.assert_allclose(X @ w + b, X @ w_svd + b_svd, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(X @ w + b, ref.predict(X), rtol=1e-9, atol=1e-9)
