"""scikit-learn's model of bench/tabular_suite.py run as a user runs a script: one
process per fold that reads the fold's CSV files with pandas, fits, predicts and writes
the predictions (the "as a script" column, to set beside descent's two commands).

    python bench/sklearn_script.py mlp regression TARGET TRAIN.csv TEST.csv OUT.csv
"""

from __future__ import annotations

import sys
import warnings

import pandas as pd
from tabular_suite import same_label, sklearn_model
from threadpoolctl import threadpool_limits


def main(name: str, task: str, target: str, train_csv: str, test_csv: str, out: str) -> None:
    train = pd.read_csv(train_csv)
    X, y = train.drop(columns=[target]), train[target]
    if task == "classification":
        y = y.astype(str).map(same_label)
    test = pd.read_csv(test_csv)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # as the in-process run: ConvergenceWarning
        model = sklearn_model(name, task, X).fit(X, y)
        pd.DataFrame({target: model.predict(test[X.columns])}).to_csv(out, index=False)


if __name__ == "__main__":
    main(*sys.argv[1:])
