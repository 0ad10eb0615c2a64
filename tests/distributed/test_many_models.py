"""Many models at once: the scikit-learn estimators under joblib's Dask backend, with
GridSearchCV and cross_val_score, give the results of a run on one process."""

from __future__ import annotations

import pickle

import numpy as np
from joblib import parallel_backend
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

import descent as ds
from descent.sklearn import NeuralNetClassifier, NeuralNetRegressor
from distributed import get_task_stream


def _small():
    X, y, _ = ds.data.load_windsor_xy()
    return X[:240], y[:240]


def test_cross_val_score_on_the_cluster_equals_one_process(client):
    X, y = _small()
    model = NeuralNetRegressor(hidden_layer_sizes=(8,), epochs=15, random_state=0)
    cv = KFold(3, shuffle=True, random_state=0)
    here = cross_val_score(model, X, y, cv=cv)
    with get_task_stream(client) as tasks, parallel_backend("dask"):
        there = cross_val_score(model, X, y, cv=cv, n_jobs=-1)
    np.testing.assert_array_equal(here, there)
    assert len(tasks.data) >= 3  # the folds ran as tasks on the cluster


def test_grid_search_on_the_cluster_equals_one_process(client):
    X, y = ds.data.load_digits()
    X, y = X[:300] / 16.0, y[:300]
    grid = {"hidden_layer_sizes": [(8,), (16,)], "learning_rate": [3e-3, 1e-2]}
    base = NeuralNetClassifier(epochs=8, random_state=0)
    here = GridSearchCV(base, grid, cv=2).fit(X, y)
    with get_task_stream(client) as tasks, parallel_backend("dask"):
        there = GridSearchCV(base, grid, cv=2, n_jobs=-1).fit(X, y)
    assert len(tasks.data) >= 2  # the 8 fits ran as tasks (joblib batches them)
    assert here.best_params_ == there.best_params_
    np.testing.assert_array_equal(here.cv_results_["mean_test_score"],
                                  there.cv_results_["mean_test_score"])
    np.testing.assert_array_equal(here.predict(X), there.predict(X))


def test_estimators_are_clone_safe_and_travel_to_workers_whole(client):
    X, y = _small()
    fitted = NeuralNetRegressor(hidden_layer_sizes=(4,), epochs=3, random_state=0).fit(X, y)
    # Dask ships estimators between processes with pickle (never a load path of descent's
    # own files); a fitted one must predict the same after the trip.
    back = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(back.predict(X), fitted.predict(X))
    remote = client.submit(lambda m, X: m.predict(X), fitted, X).result()
    np.testing.assert_array_equal(remote, fitted.predict(X))
    assert clone(fitted).get_params() == fitted.get_params()
