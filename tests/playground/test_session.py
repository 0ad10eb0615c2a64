"""A training session: the engine's training, bounded settings, the chain rule checked."""

from __future__ import annotations

import json

import numpy as np
import pytest

import descent as ds
from descent.explain import explain_two_node
from descent.playground.datasets import (
    MAX_UPLOAD_BYTES,
    from_table,
    read_upload,
    toy,
    two_node_example,
    windsor,
)
from descent.playground.formula_view import ViewError
from descent.playground.session import Session, Settings, settings_from


def test_a_step_is_one_sgd_step_of_the_engine() -> None:
    s = Session(toy("circle"), Settings(hidden=[3], lr=0.5, batch_size=7))
    twin = ds.nn.MLP([2, 3, 1], activation="tanh", output_activation="sigmoid", seed=0,
                     dtype=np.float64)
    for p, q in zip(twin.parameters(), s.model.parameters(), strict=True):
        assert np.array_equal(p.data, q.data)
    rows = s.batch
    C = ds.nn.get_loss("quadratic")(twin(ds.tensor(s.Xs[rows])), s.ys[rows])
    C.backward()
    expected = [p.data - 0.5 * p.grad for p in twin.parameters()]
    s.train(1)
    for e, q in zip(expected, s.model.parameters(), strict=True):
        np.testing.assert_allclose(q.data, e, rtol=0, atol=1e-15)


def test_training_lowers_the_cost_and_snapshots_are_json() -> None:
    s = Session(toy("xor"), Settings(hidden=[4], lr=2.0, batch_size=4))
    before = s.losses()["train"]
    s.train(100)
    s.train(100)
    assert s.losses()["train"] < 0.5 * before and s.steps == 200
    snap = s.snapshot()
    text = json.dumps(snap, allow_nan=False)
    assert len(text) < 100_000
    assert len(snap["maps"]) == 2 and len(snap["maps"][0]) == 4
    assert len(snap["output"]["values"]) == 64 * 64


def test_steps_per_call_are_bounded() -> None:
    s = Session(toy("moons"), Settings(hidden=[2]))
    assert s.train(10_000) == 100


def test_a_runaway_rate_stops_with_a_reason() -> None:
    s = Session(windsor(), Settings(hidden=[4], output_activation="identity", lr=100.0,
                                    batch_size=50))
    for _ in range(5):
        s.train(100)
    assert s.diverged.startswith("diverged at step") and "lower the learning rate" in s.diverged
    json.dumps(s.snapshot(), allow_nan=False)


def test_the_chain_rule_of_a_weight_equals_the_engine_and_torch() -> None:
    import torch

    s = Session(toy("spiral"), Settings(hidden=[3, 2], activation="sigmoid", lr=1.0))
    s.train(20)
    info = s.explain(2, "weight", 1, 0)
    rows = s.batch
    X = torch.tensor(s.Xs[rows])
    Ws = [torch.tensor(la.linear.weight.data, requires_grad=True) for la in s.layers]
    bs = [torch.tensor(la.linear.bias.data) for la in s.layers]
    a = X
    for W, b in zip(Ws, bs, strict=True):
        a = torch.sigmoid(a @ W + b)
    y = torch.tensor(s.ys[rows]).reshape(a.shape)
    (((a - y) ** 2).sum() / (2 * len(rows))).backward()
    assert info["total"] == pytest.approx(float(Ws[1].grad[1, 0]), rel=1e-10, abs=1e-15)
    assert info["matches"] and all(d["matches"] for d in info["deltas"])
    assert [d["layer"] for d in info["deltas"]] == [3, 2, 1]
    json.dumps(info, allow_nan=False)


def test_the_two_node_preset_is_the_seeds_network() -> None:
    s = Session(two_node_example(), Settings(hidden=[1], activation="sigmoid"),
                preset="two-node")
    seeds = explain_two_node(x=1.5, y=1.0)
    assert s.explain(1, "weight", 0, 0)["total"] == pytest.approx(seeds.dC_dw1, rel=1e-14)
    assert s.explain(2, "weight", 0, 0)["total"] == pytest.approx(seeds.dC_dw2, rel=1e-14)
    assert s.explain(1, "bias", 0, 0)["total"] == pytest.approx(seeds.dC_db1, rel=1e-14)


def test_linear_activations_collapse_to_one_layer() -> None:
    s = Session(toy("circle"), Settings(hidden=[3, 3], activation="identity"))
    c = s.snapshot()["collapse"]
    X = s.Xs[:5]
    z = X @ np.array(c["W"]) + c["b"]
    out = ds.train.predict_array(s.model, X).ravel()
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-z)), rtol=1e-12)


def test_settings_are_checked_with_the_control_named() -> None:
    assert settings_from({"hidden": "", "activation": "ReLU"}).hidden == []
    for raw, field in [({"hidden": "4,x"}, "hidden"), ({"hidden": [1] * 7}, "hidden"),
                       ({"activation": "softmax"}, "activation"), ({"lr": "nan"}, "lr"),
                       ({"batch_size": 0}, "batch_size"), ({"loss": "hinge"}, "loss")]:
        with pytest.raises(ViewError) as caught:
            settings_from(raw)
        assert caught.value.field == field
    with pytest.raises(ViewError, match="cross-entropy is for two classes"):
        Session(windsor(), Settings(loss="cross_entropy"))


def test_uploads_are_bounded_and_read_by_descents_reader() -> None:
    with pytest.raises(ViewError, match="more than the playground takes"):
        read_upload("big.csv", "a\n" + "1\n" * (MAX_UPLOAD_BYTES // 2))
    with pytest.raises(ViewError, match=r"^h\.csv, line 2: 1 field\(s\)"):
        read_upload("../../h.csv", "a,b\n1\n")
    table = read_upload("h.csv", "a,b,c\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n1,1,x\n2,2,y\n")
    data = from_table(table, "c", None, ["b"], "h.csv")
    assert data.task == "classification" and data.classes == ["x", "y"] and data.draw == [1]
    with pytest.raises(ViewError, match="'c' is the target"):
        from_table(table, "c", ["a", "c"], None, "h.csv")
    three = read_upload("t.csv", "a,c\n1,x\n2,y\n3,z\n4,x\n5,y\n6,z\n")
    with pytest.raises(ViewError, match="3 classes"):
        from_table(three, "c", None, None, "t.csv")


def test_a_sigmoid_output_on_a_standardized_target_is_pointed_out() -> None:
    advice = Session(windsor(), Settings(output_activation="sigmoid")).describe()["advice"]
    assert advice.startswith("The target price is standardized") and "linear" in advice
    assert Session(windsor(), Settings(output_activation="identity")).describe()["advice"] == ""
    assert Session(toy("circle"), Settings()).describe()["advice"] == ""
