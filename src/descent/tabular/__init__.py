"""Tabular models: a CSV table in, an encoded, standardized network out, and predictions.

Shared by the `descent` command and the scikit-learn estimators:
- `recipe`: the hyperparameters, their checks and the defaults;
- `training`: train one network on standardized arrays (early stopping, warm start);
- `scaling`: standardizers fitted with sample weights;
- `model`: `TabularModel`, the network with its encoder and scalers, saved in one file;
- `table_training`: split a table, fit the preprocessing on the training rows, train, score;
- `report`: metrics next to a baseline.
"""

from descent.tabular.recipe import Recipe, build_network
from descent.tabular.training import Trained, train_network, validation_split

__all__ = ["Recipe", "Trained", "build_network", "train_network", "validation_split"]
