"""The cats and dogs in the playground: trained by the engine, drawn as weight pictures."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

import descent as ds
from descent.playground.datasets import pictures
from descent.playground.session import GALLERY, Session, Settings


@pytest.fixture(scope="module")
def pets():
    return pictures()


def test_the_pictures_are_the_shipped_set_split_without_leaks(pets) -> None:
    shipped = ds.data.load_cats_dogs()
    np.testing.assert_array_equal(pets.X, shipped.floats(dtype=np.float64).reshape(2000, 784))
    assert not set(pets.train) & set(pets.val) and len(pets.train) + len(pets.val) == 2000


def test_training_learns_and_the_snapshot_draws_weights_as_pictures(pets) -> None:
    s = Session(pets, Settings(hidden=[4], lr=1.0))
    before = s.losses()
    for _ in range(3):
        s.train(100)
    after = s.losses()
    assert after["train"] < 0.8 * before["train"] and after["val_accuracy"] > 0.7
    snap = s.snapshot()
    json.dumps(snap, allow_nan=False)
    assert s.describe()["sizes"] == [1, 4, 1]
    W1 = s.layers[0].linear.weight.data
    first = snap["maps"][0][2]
    q = np.frombuffer(base64.b64decode(first["bytes"]), np.int8)
    np.testing.assert_allclose(q / 127 * first["scale"], W1[:, 2], atol=first["scale"] / 127)
    assert len(snap["output"]["values"]) == GALLERY
    gallery = s.gallery()
    p = ds.train.predict_array(s.model, s.Xs[gallery]).ravel()
    np.testing.assert_allclose(snap["output"]["values"], np.round(p, 5))
    assert pets.y[gallery[:32]].sum() == 0 and pets.y[gallery[32:]].sum() == 32


def test_a_pixels_weight_has_its_chain_rule_checked(pets) -> None:
    import torch

    s = Session(pets, Settings(hidden=[3], activation="sigmoid", lr=0.5))
    s.train(5)
    info = s.explain(1, "weight", 14 * 28 + 14, 1)  # the middle pixel into unit 1
    rows = s.batch
    W = [torch.tensor(la.linear.weight.data, requires_grad=True) for la in s.layers]
    a = torch.tensor(s.Xs[rows])
    for Wl, la in zip(W, s.layers, strict=True):
        a = torch.sigmoid(a @ Wl + torch.tensor(la.linear.bias.data))
    (((a[:, 0] - torch.tensor(s.ys[rows])) ** 2).sum() / (2 * len(rows))).backward()
    assert info["total"] == pytest.approx(float(W[0].grad[14 * 28 + 14, 1]), rel=1e-10,
                                          abs=1e-15)
    assert info["matches"] and info["label"] == "W1[406,1]"
