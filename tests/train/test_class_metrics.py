"""Confusion matrix, precision and recall against scikit-learn on random labels."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import confusion_matrix as sk_confusion
from sklearn.metrics import precision_score, recall_score

from descent.train.metrics import confusion_matrix, precision_recall


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 60), k=st.integers(2, 5), seed=st.integers(0, 10**6))
def test_against_sklearn(n, k, seed):
    rng = np.random.default_rng(seed)
    t, p = rng.integers(0, k, n), rng.integers(0, k, n)
    counts = confusion_matrix(t, p, k)
    assert counts.tolist() == sk_confusion(t, p, labels=list(range(k))).tolist()
    precision, recall = precision_recall(counts)
    labels = list(range(k))
    sk_p = precision_score(t, p, labels=labels, average=None, zero_division=np.nan)
    sk_r = recall_score(t, p, labels=labels, average=None, zero_division=np.nan)
    np.testing.assert_allclose(precision, sk_p, rtol=1e-15)
    np.testing.assert_allclose(recall, sk_r, rtol=1e-15)
