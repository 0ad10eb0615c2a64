"""scikit-learn estimators built on descent's `fit` (import them from `descent.sklearn`)."""

from descent.estimators.classifier import NeuralNetClassifier
from descent.estimators.regressor import NeuralNetRegressor

__all__ = ["NeuralNetClassifier", "NeuralNetRegressor"]
