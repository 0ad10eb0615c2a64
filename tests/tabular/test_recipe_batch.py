"""The recipe's minibatch size by the rows (Recipe.batch), and that training uses it."""

from __future__ import annotations

import numpy as np
import pytest

from descent.tabular import training
from descent.tabular.recipe import Recipe


@pytest.mark.parametrize("rows, batch", [(1, 32), (500, 32), (19_199, 32), (19_200, 64),
                                         (38_399, 64), (38_400, 128), (76_800, 256),
                                         (31_000_000, 256)])
def test_the_default_batch_grows_with_the_rows_keeping_300_steps_an_epoch(rows, batch):
    assert Recipe().batch(rows) == batch
    assert Recipe().checked("regression").batch(rows) == batch
    if batch > 32:  # the doubled size still gives an epoch at least 300 steps
        assert rows // batch >= 300


def test_a_given_batch_size_is_kept_whatever_the_rows():
    assert Recipe(batch_size=10).checked("classification").batch(1_000_000) == 10


@pytest.mark.parametrize("rows, members, compute", [(100, 3, None), (20_000, 2, None),
                                                     (20_000, 1, np.float32)])
def test_train_network_trains_with_the_batch_of_its_rows(monkeypatch, rows, members,
                                                         compute):
    """Stacked networks, and with a compute dtype a single one too (a stack of one)."""
    seen = []
    real = training.fit_stacked
    monkeypatch.setattr(training, "fit_stacked",
                        lambda *a, **k: seen.append(k["batch_size"]) or real(*a, **k))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 2))
    y = X[:, 0] - X[:, 1]
    recipe = Recipe(hidden=(3,), epochs=1, ensemble=members, weight_decay=0.1)
    training.train_network(X, y, recipe.checked("regression"), task="regression",
                           n_outputs=1, seed=0, compute_dtype=compute)
    assert seen == [Recipe().batch(rows)]
