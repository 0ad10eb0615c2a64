"""scikit-learn estimators: `NeuralNetRegressor` and `NeuralNetClassifier`.

They follow scikit-learn's estimator contract (checked with `check_estimator`), so they
work in Pipeline, GridSearchCV and cross_val_score. Needs scikit-learn
(`pip install 'descent[sklearn]'`).

>>> from sklearn.model_selection import KFold, cross_val_score
>>> from descent.data import load_windsor_xy
>>> from descent.sklearn import NeuralNetRegressor
>>> X, y, names = load_windsor_xy()
>>> folds = KFold(5, shuffle=True, random_state=0)  # the rows are not in random order
>>> scores = cross_val_score(NeuralNetRegressor(random_state=0), X, y, cv=folds)
>>> bool(scores.mean() > 0.66)  # least squares: 0.660
True
"""

try:
    import sklearn  # noqa: F401 - only to give a clear message when it is missing
except ImportError:  # pragma: no cover - the message is the point
    raise ImportError(
        "descent.sklearn needs scikit-learn: pip install 'descent[sklearn]'") from None

from descent.estimators import NeuralNetClassifier, NeuralNetRegressor

__all__ = ["NeuralNetClassifier", "NeuralNetRegressor"]
