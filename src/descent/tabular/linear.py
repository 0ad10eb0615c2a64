"""The linear model a network must beat: ridge regression or logistic regression.

Fitted on the same encoded, scaled features the network sees, so the comparison is between
the two learners and nothing else. Both are written out in NumPy here (a few lines each,
and importing scikit-learn and SciPy would cost the command seconds per run), and both
match scikit-learn's: ridge picks its penalty α from a grid by exact leave-one-out error,
as `RidgeCV` does; logistic regression minimizes Σ cross-entropy + ½‖W‖² (scikit-learn's
`LogisticRegression()`, C = 1, intercept not penalized) by Newton's method.

    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> fit_predict_linear("regression", X, 2 * X[:, 0] + 1, np.array([[4.0]])).round(1)
    array([9.])
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

ALPHAS = tuple(float(a) for a in np.logspace(-3, 3, 13))
#: Above this many cells of X (a 32 MiB float64 matrix), ridge works from the d × d Gram
#: matrix, reading X in blocks, instead of an SVD that holds four copies of X.
SVD_CELLS = 2**22
#: Rows of X read at a time on the Gram route.
BLOCK_ROWS = 8_192
#: Newton's method builds a (K·d)² Hessian; past this many weights, gradient steps instead.
MAX_NEWTON_WEIGHTS = 2500


def ridge_loo(X: np.ndarray, y: np.ndarray, alphas: tuple[float, ...] = ALPHAS,
              sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, float, float]:
    """Ridge regression with α chosen by exact leave-one-out squared error.

    X (n, d), y (n,). The intercept is not penalized (the data are centred first). Returns
    (w (d,), b, α). With sample weights, rows are scaled by √w, as in scikit-learn.

    >>> X = np.random.default_rng(0).normal(size=(50, 3)); y = X @ [1.0, 2.0, 0.0] + 1
    >>> w, b, alpha = ridge_loo(X, y)
    >>> np.round(w, 2).tolist()[:2], round(b, 2), alpha
    ([1.0, 2.0], 1.0, 0.001)
    """
    sw = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, float)
    if X.size > SVD_CELLS:
        return _ridge_loo_gram(X, y, alphas, sw)
    x_mean = sw @ X / sw.sum()
    y_mean = float(sw @ y / sw.sum())
    root = np.sqrt(sw)[:, None]
    Xc = X - x_mean
    Xc *= root  # in place: one centred copy of X, not two
    yc = (y - y_mean) * root[:, 0]
    U, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    Uy = U.T @ yc
    best = (np.inf, 0.0)
    for alpha in alphas:
        shrink = s**2 / (s**2 + alpha)
        fitted = U @ (shrink * Uy)
        # leverage of each row, including the intercept's 1/n (weighted: w_i / Σw)
        h = (U**2) @ shrink + sw / sw.sum()
        loo = (yc - fitted) / np.maximum(1 - h, 1e-12)
        error = float(np.mean(loo**2))
        if error < best[0]:
            best = (error, alpha)
    alpha = best[1]
    w = Vt.T @ (s / (s**2 + alpha) * Uy)
    return w, y_mean - float(x_mean @ w), alpha


def _ridge_loo_gram(X: np.ndarray, y: np.ndarray, alphas: tuple[float, ...],
                    sw: np.ndarray) -> tuple[np.ndarray, float, float]:
    """`ridge_loo` for a large X, from the d × d matrix G = Xcᵀ Xc, reading X in blocks.

    The same model in other words: with G = V diag(λ) Vᵀ (λ = s², the SVD's squared
    singular values), the leverage is Σ_j (Xc V)²_ij / (λ_j + α), the fit Xc w_α and
    w_α = V diag(1 / (λ + α)) Vᵀ Xcᵀ yc. No (n, d) matrix besides X itself: the SVD route
    holds four (the centred copy, LAPACK's copy, U and U²). Equal to it to about 1e-10
    (tests/test_linear_baseline.py); squaring the condition number does not matter here
    because α ≥ 1e-3 is added to eigenvalues of order n on standardized features.
    """
    total = sw.sum()
    x_mean = sw @ X / total
    y_mean = float(sw @ y / total)
    d = X.shape[1]
    G, c = np.zeros((d, d)), np.zeros(d)
    for Xc, yc, _ in _centred_blocks(X, y, sw, x_mean, y_mean):
        G += Xc.T @ Xc
        c += Xc.T @ yc
    lam, V = np.linalg.eigh(G)
    lam = np.maximum(lam, 0.0)  # rounding can leave a zero eigenvalue slightly negative
    inverse = 1.0 / (lam[:, None] + np.asarray(alphas)[None, :])  # (d, A)
    W = V @ (inverse * (V.T @ c)[:, None])  # (d, A): one coefficient vector per α
    errors = np.zeros(len(alphas))
    for Xc, yc, sw_b in _centred_blocks(X, y, sw, x_mean, y_mean):
        h = ((Xc @ V) ** 2) @ inverse + (sw_b / total)[:, None]
        loo = (yc[:, None] - Xc @ W) / np.maximum(1 - h, 1e-12)
        errors += (loo**2).sum(axis=0)
    best = int(np.argmin(errors))  # the first of equal errors, as the SVD route's "<"
    w = W[:, best]
    return w, y_mean - float(x_mean @ w), alphas[best]


def _centred_blocks(X: np.ndarray, y: np.ndarray, sw: np.ndarray, x_mean: np.ndarray,
                    y_mean: float) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(Xc, yc, sw) blocks of rows: centred and scaled by √w, as `ridge_loo` makes them."""
    for start in range(0, len(X), BLOCK_ROWS):
        stop = start + BLOCK_ROWS
        root = np.sqrt(sw[start:stop])
        Xc = X[start:stop] - x_mean
        Xc *= root[:, None]
        yield Xc, (y[start:stop] - y_mean) * root, sw[start:stop]


def logistic_regression(X: np.ndarray, y: np.ndarray, n_classes: int,
                        sample_weight: np.ndarray | None = None,
                        iterations: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression, min Σ w_i · CE_i + ½‖W‖², by Newton's method.

    X (n, d), y (n,) class indices. Returns W (d, K) and b (K,); probabilities are
    softmax(X W + b). Two classes use one logit (as scikit-learn does: the penalty then
    counts one weight vector, not two).

    >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]]); y = np.array([0, 0, 1, 1])
    >>> W, b = logistic_regression(X, y, 2)
    >>> (softmax(X @ W + b)[:, 1] > 0.5).tolist()
    [False, False, True, True]
    """
    n, d = X.shape
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    k = 1 if n_classes == 2 else n_classes
    Xb = np.hstack([X, np.ones((n, 1))])
    Y = np.eye(n_classes)[y]
    theta = np.zeros((d + 1, k))
    penalty = np.ones((d + 1, 1))
    penalty[-1] = 0.0  # the intercept is not penalized

    def objective(t: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        z = Xb @ t
        P = _probabilities(z, n_classes)
        ce = -np.sum(sw * np.log(np.clip((P * Y).sum(axis=1), 1e-300, None)))
        grad_z = (P - Y)[:, 1:] if k == 1 else P - Y
        return ce + 0.5 * float(np.sum(penalty * t**2)), Xb.T @ (sw[:, None] * grad_z) \
            + penalty * t, P

    value, grad, P = objective(theta)
    for _ in range(iterations):
        if theta.size <= MAX_NEWTON_WEIGHTS:
            H = _hessian(Xb, P, sw, k) + np.diag(np.repeat(penalty[:, 0], k))
            step = np.linalg.solve(H + 1e-10 * np.eye(len(H)), grad.reshape(-1))
            step = step.reshape(d + 1, k)
        else:
            step = grad / (0.25 * np.sum(sw) * (Xb**2).sum() / n + 1.0)
        t = 1.0
        while True:  # backtracking: never go uphill
            candidate = theta - t * step
            new_value, new_grad, new_P = objective(candidate)
            if new_value <= value - 1e-4 * t * float(np.sum(grad * step)) or t < 1e-8:
                break
            t /= 2
        converged = abs(value - new_value) <= 1e-10 * max(1.0, abs(value))
        theta, value, grad, P = candidate, new_value, new_grad, new_P
        if converged or np.max(np.abs(grad)) < 1e-8:
            break
    if k == 1:  # one logit z for class 1: logits (0, z)
        W = np.hstack([np.zeros((d, 1)), theta[:-1]])
        return W, np.array([0.0, theta[-1, 0]])
    return theta[:-1], theta[-1]


def _hessian(Xb: np.ndarray, P: np.ndarray, sw: np.ndarray, k: int) -> np.ndarray:
    """Hessian of Σ w_i CE_i with respect to θ (d+1, k) flattened row-major."""
    m = Xb.shape[1]
    if k == 1:
        p = P[:, 1]
        return (Xb * (sw * p * (1 - p))[:, None]).T @ Xb
    H = np.empty((m, k, m, k))
    for a in range(k):
        for c in range(a, k):
            coupling = sw * P[:, a] * ((a == c) - P[:, c])
            block = (Xb * coupling[:, None]).T @ Xb
            H[:, a, :, c] = block
            H[:, c, :, a] = block.T
    return H.reshape(m * k, m * k)


def _probabilities(z: np.ndarray, n_classes: int) -> np.ndarray:
    if z.shape[1] == 1 and n_classes == 2:
        z = np.hstack([np.zeros_like(z), z])
    return softmax(z)


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of logits z (n, K)."""
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_predict_linear(task: str, X: np.ndarray, y: np.ndarray, X_eval: np.ndarray,
                       n_classes: int = 0,
                       sample_weight: np.ndarray | None = None) -> np.ndarray:
    """Predictions of a linear model fitted on (X, y), for X_eval.

    Regression: y (n,) in any units; returns (m,) predictions (`ridge_loo`).
    Classification: y (n,) class indices 0..n_classes-1; returns (m, n_classes)
    probabilities (`logistic_regression`).
    """
    if task == "regression":
        w, b, _ = ridge_loo(X, y, sample_weight=sample_weight)
        return X_eval @ w + b
    W, b = logistic_regression(X, y, n_classes, sample_weight)
    return softmax(X_eval @ W + b)
