"""split_indices / train_test_indices / kfold_indices: sizes, disjointness, seeds, strata."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from descent.data import kfold_indices, split_indices, train_test_indices


@pytest.mark.parametrize(
    "n, fractions, sizes",
    [
        (10, (0.8, 0.2), [8, 2]),
        (546, (0.8, 0.2), [437, 109]),  # 436.8 / 109.2: the larger remainder gets the row
        (7, (0.5, 0.5), [4, 3]),  # a tie goes to the earlier part
        (100, (0.7, 0.15, 0.15), [70, 15, 15]),
        (11, (0.6, 0.2, 0.2), [7, 2, 2]),  # 6.6, 2.2, 2.2 -> 6+1, 2, 2
    ],
)
def test_sizes_disjoint_and_complete(n, fractions, sizes):
    parts = split_indices(n, fractions, seed=3)
    assert [len(p) for p in parts] == sizes
    joined = np.concatenate(parts)
    assert sorted(joined.tolist()) == list(range(n))
    assert all(p.dtype == np.int64 and (np.diff(p) > 0).all() for p in parts)


def test_seeded_reproducible_and_seed_dependent():
    a = split_indices(50, (0.6, 0.4), seed=7)
    b = split_indices(50, (0.6, 0.4), seed=7)
    c = split_indices(50, (0.6, 0.4), seed=8)
    assert all((x == y).all() for x, y in zip(a, b, strict=True))
    assert not (a[1].tolist() == c[1].tolist())
    generator_split = split_indices(50, (0.6, 0.4), seed=np.random.default_rng(7))
    assert generator_split[1].tolist() == a[1].tolist()


def test_no_shuffle_takes_blocks():
    train, test = split_indices(5, (0.6, 0.4), shuffle=False)
    assert train.tolist() == [0, 1, 2] and test.tolist() == [3, 4]


def test_stratified_keeps_class_proportions():
    labels = np.array(["a"] * 60 + ["b"] * 30 + ["c"] * 10)
    rng = np.random.default_rng(0)
    labels = labels[rng.permutation(100)]
    train, val, test = split_indices(100, (0.6, 0.2, 0.2), seed=1, stratify=labels)
    assert [len(train), len(val), len(test)] == [60, 20, 20]
    assert Counter(labels[train]) == {"a": 36, "b": 18, "c": 6}
    assert Counter(labels[val]) == {"a": 12, "b": 6, "c": 2}
    assert Counter(labels[test]) == {"a": 12, "b": 6, "c": 2}
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(100))


def test_stratified_uneven_classes_still_exact_sizes():
    labels = [0] * 7 + [1] * 5 + [2] * 1
    for seed in range(5):
        train, test = train_test_indices(13, 0.3, seed=seed, stratify=labels)
        assert (len(train), len(test)) == (9, 4)
        counts = Counter(np.array(labels)[test].tolist())
        # Each class's share of the test part is within one row of 30 %.
        for label, total in Counter(labels).items():
            assert abs(counts[label] - 0.3 * total) < 1.0 + 1e-9


@pytest.mark.parametrize(
    "kwargs, error, name",
    [
        ({"n": 10, "fractions": (0.8, 0.3)}, ValueError, "add up to 1"),
        ({"n": 10, "fractions": (1.0, 0.0)}, ValueError, r"fractions\[0\]"),
        ({"n": 10, "fractions": (0.5, -0.5, 1.0)}, ValueError, r"fractions\[1\]"),
        ({"n": 10, "fractions": (1.0,)}, ValueError, "at least 2 parts"),
        ({"n": 10, "fractions": (0.5, "0.5")}, TypeError, r"fractions\[1\]"),
        ({"n": 10, "fractions": (0.5, float("nan"))}, ValueError, r"fractions\[1\]"),
        ({"n": 4, "fractions": (0.9, 0.1)}, ValueError, "empty part for n=4"),
        ({"n": 0}, ValueError, "n must be at least 1"),
        ({"n": 2.0}, TypeError, "n must be an int"),
        ({"n": 4, "stratify": [0, 1]}, ValueError, "stratify"),
        ({"n": 4, "fractions": (0.5, 0.5), "stratify": [0, 1, 0, 1], "shuffle": False},
         ValueError, "stratify"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs, error, name):
    with pytest.raises(error, match=name):
        split_indices(**kwargs)


def test_train_test_fraction_checked():
    for bad in (0, 1, 1.5, float("inf")):
        with pytest.raises(ValueError, match="test_fraction"):
            train_test_indices(10, bad)
    with pytest.raises(TypeError, match="test_fraction"):
        train_test_indices(10, "0.2")


def test_kfold_covers_every_row_once():
    folds = kfold_indices(23, 5, seed=0)
    assert [len(test) for _, test in folds] == [5, 5, 5, 4, 4]
    tests = np.concatenate([test for _, test in folds])
    assert sorted(tests.tolist()) == list(range(23))
    for train, test in folds:
        assert set(train.tolist()).isdisjoint(test.tolist())
        assert len(train) + len(test) == 23
    with pytest.raises(ValueError, match="k must be between 2 and n=3"):
        kfold_indices(3, 4)


def test_stratify_with_mixed_label_types():
    labels = np.array([1, "a", 1, "a", 1, "a"], dtype=object)
    train, test = split_indices(6, (0.5, 0.5), seed=0, stratify=labels)
    assert sorted(Counter(labels[test].tolist()).values()) == [1, 2]
    assert len(test) == 3
