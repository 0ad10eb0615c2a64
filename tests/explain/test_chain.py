"""The chain rule, shown: the product of the listed factors is the engine's gradient.

Checked to float64 precision (rtol 1e-10) against the engine's backward() and PyTorch, for
the seeds' two-node network and single neuron, and for every weight and bias of wider MLPs.
"""

from __future__ import annotations

import json
from functools import reduce

import numpy as np
import pytest
from rich.console import Console

import descent as ds
from descent.explain.chain import chain_rule, resolve_parameter
from descent.explain.deltas import backprop_deltas, explain_two_node, two_node_network
from descent.explain.tables import chain_text, render_chain

from .test_deltas import random_mlp, torch_backprop

RTOL, ATOL = 1e-10, 1e-14


def _apply(chain):
    """Multiply the factors' values in order, as each factor's `combine` and `unit` say."""
    def step(g, f):
        if f.unit is not None:
            g = g[f.unit]
        return g @ f.value if f.combine == "·" else g * f.value if f.combine else f.value
    return reduce(step, chain.factors, None)


# ---- the seeds' networks ----------------------------------------------------------------------

def test_two_node_w1_chain_is_the_five_factor_product():
    e = explain_two_node(1.5, 1.0)
    c = chain_rule(two_node_network(), [[1.5]], [1.0], "w1")
    assert [f.symbol for f in c.factors] == ["∂C/∂ŷ", "∂ŷ/∂z2", "∂z2/∂a1", "∂a1/∂z1", "∂z1/∂w1"]
    values = [float(np.asarray(f.value).reshape(())) for f in c.factors]
    expected = [e.dC_dyhat[0], e.sigma_prime_z2[0], e.w2, e.sigma_prime_z1[0], e.x[0]]
    np.testing.assert_allclose(values, expected, rtol=1e-14)
    assert np.prod(values) == pytest.approx(c.engine, rel=RTOL)
    assert c.total == pytest.approx(c.engine, rel=RTOL) == pytest.approx(e.dC_dw1, rel=RTOL)
    assert "σ(z)(1 − σ(z))" in c.factors[1].formula and "input x" in c.factors[-1].formula


def test_two_node_w2_chain_has_the_seeds_three_terms():
    e = explain_two_node(1.5, 1.0)
    c = chain_rule(two_node_network(), [[1.5]], [1.0], "2.weight", (0, 0))
    assert [f.symbol for f in c.factors] == ["∂C/∂ŷ", "∂ŷ/∂z2", "∂z2/∂w2"]
    assert float(c.factors[-1].value) == pytest.approx(e.a1[0], rel=1e-14)  # the input a1
    assert c.total == pytest.approx(e.dC_dw2, rel=RTOL) == pytest.approx(c.engine, rel=RTOL)


@pytest.mark.parametrize("x,y,w,b", [(2.0, 1.0, 0.7, -0.3), (-1.5, 0.0, -1.2, 0.4)])
def test_single_neuron_chain_carries_the_x_the_seeds_leave_out(x, y, w, b):
    neuron = ds.nn.Sequential(ds.nn.Linear(1, 1, dtype=np.float64), ds.nn.Sigmoid())
    neuron[0].weight.data[...] = w
    neuron[0].bias.data[...] = b
    c = chain_rule(neuron, [[x]], [y], "w1")
    s = 1 / (1 + np.exp(-(w * x + b)))  # the logistic σ(z) = 1/(1 + e^{−z})
    right = (s - y) * s * (1 - s) * x
    seeds = (s - y) * s * (1 - s)  # ∂ŷ/∂w written without the x
    assert c.total == pytest.approx(right, rel=1e-12) == pytest.approx(c.engine, rel=RTOL)
    assert abs(c.total - seeds) > 0.1 * abs(seeds)
    assert any("σ'(z)·x" in note for note in c.notes)
    bias = chain_rule(neuron, [[x]], [y], "b1")
    assert bias.total == pytest.approx(seeds, rel=1e-12)  # ·1 for the bias
    assert float(bias.factors[-1].value) == 1.0


# ---- any weight or bias of a wider MLP, over a batch ------------------------------------------

NETS = [
    ([3, 4, 5, 2], "tanh", "sigmoid", "quadratic"),
    ([2, 3, 3], "relu", None, "cross_entropy"),
    ([3, 4, 3], "sigmoid", "softmax", "quadratic"),
]


def _setup(sizes, hidden, out, loss, n=6):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(n, sizes[0]))
    y = rng.integers(0, sizes[-1], n) if loss == "cross_entropy" else rng.uniform(size=(n,
                                                                                     sizes[-1]))
    return random_mlp(sizes, hidden, out, seed=5), X, y


@pytest.mark.parametrize("sizes,hidden,out,loss", NETS, ids=[n[1] for n in NETS])
def test_every_entry_sums_to_the_engines_and_torchs_gradient(sizes, hidden, out, loss):
    net, X, y = _setup(sizes, hidden, out, loss)
    _, _, theirs = torch_backprop(net, X, y, loss)
    checked = 0
    for name, p in net.named_parameters():
        for index in np.ndindex(p.shape):
            c = chain_rule(net, X, y, name, index, loss=loss, example=checked % len(X))
            np.testing.assert_allclose(c.total, c.engine, rtol=RTOL, atol=ATOL,
                                       err_msg=f"{name}{index}")
            np.testing.assert_allclose(c.total, theirs[name][index], rtol=RTOL, atol=ATOL)
            np.testing.assert_allclose(c.delta_form, c.engine, rtol=RTOL, atol=ATOL)
            # the factors of the chosen example multiply out to its share of the sum
            np.testing.assert_allclose(_apply(c), c.per_example[c.example], rtol=1e-12,
                                       atol=ATOL)
            np.testing.assert_allclose(c.factors[-1].product, c.per_example[c.example],
                                       rtol=1e-12, atol=ATOL)
            checked += 1
    assert checked == sum(p.size for p in net.parameters())


def test_running_products_are_the_deltas_of_the_chosen_example():
    net, X, y = _setup([3, 4, 5, 2], "tanh", "sigmoid", "quadratic")
    d = backprop_deltas(net, X, y)
    c = chain_rule(net, X, y, "W1", (2, 3), example=4)
    by_symbol = {f.product_symbol: f.product for f in c.factors}
    np.testing.assert_allclose(by_symbol["∂C/∂ŷ"], d.dC_dyhat[4], rtol=1e-15)
    np.testing.assert_allclose(by_symbol["δ3 = ∂C/∂z3"], d.delta[2][4], rtol=1e-13)
    np.testing.assert_allclose(by_symbol["δ2 = ∂C/∂z2"], d.delta[1][4], rtol=1e-13)
    np.testing.assert_allclose(by_symbol["δ1[3] = ∂C/∂z1[3]"], d.delta[0][4, 3], rtol=1e-13)
    np.testing.assert_allclose(c.per_example, X[:, 2] * d.delta[0][:, 3], rtol=1e-15)
    assert c.delta_formula == "∂C/∂W1[2,3] = Σ_n x[n,2] · δ1[n,3]"
    assert [f.operation for f in c.factors] == ["", "⊙", "·", "⊙", "·", "[3] ×", "×"]


def test_parameter_names_and_layer_numbers_point_to_the_same_entry():
    net = random_mlp([3, 4, 2], "tanh", None)
    for a, b in [(("0.weight", (1, 2)), ("W1", (1, 2))), (("2.bias", (1,)), ("b2", 1)),
                 (("2.weight", (3, 0)), ("w2", [3, 0]))]:
        assert resolve_parameter(net, *a) == resolve_parameter(net, *b)
    layer, kind, index = resolve_parameter(net, "b2", 1)
    assert (layer.number, kind, index) == (2, "bias", (1,))


@pytest.mark.parametrize("param,index,message", [
    ("W3", (0, 0), "layers 1..2"),
    ("3.weight", (0, 0), "no parameter"),
    ("W1", None, "give an index"),
    ("W1", (3, 0), "does not fit"),
    ("b1", (0, 0), "does not fit"),
])
def test_bad_parameter_references_say_what_is_wrong(param, index, message):
    with pytest.raises(ValueError, match=message):
        resolve_parameter(random_mlp([3, 4, 2], "tanh", None), param, index)


def test_example_must_exist():
    net, X, y = _setup([3, 4, 5, 2], "tanh", "sigmoid", "quadratic")
    with pytest.raises(ValueError, match="example must be in 0..5"):
        chain_rule(net, X, y, "W1", (0, 0), example=6)


def test_float32_model_is_explained_in_float64_and_left_alone():
    net = ds.nn.MLP([2, 3, 1], activation="sigmoid", seed=0)
    before = net.state_dict()
    X, y = np.array([[0.3, -1.0], [1.2, 0.5]]), np.array([1.0, 0.0])
    c = chain_rule(net, X, y, "W1", (0, 1))
    assert c.total == pytest.approx(c.engine, rel=RTOL)
    assert all(np.array_equal(p.data, before[n]) for n, p in net.named_parameters())
    assert all(p.grad is None and p.dtype == np.float32 for p in net.parameters())


# ---- plain data and tables -------------------------------------------------------------------

def test_plain_data_round_trips_through_json():
    net, X, y = _setup([3, 4, 5, 2], "tanh", "sigmoid", "quadratic")
    c = chain_rule(net, X, y, "W2", (1, 4), example=2)
    data = json.loads(json.dumps(c.to_dict()))
    assert data["parameter"] == "2.weight" and data["index"] == [1, 4]
    assert data["total"] == c.total and data["engine"] == c.engine
    assert len(data["per_example"]) == 6 and len(data["factors"]) == len(c.factors)
    assert np.shape(data["factors"][2]["value"]) == (2, 5)  # W3ᵀ: a matrix factor
    assert data["abs_error"] <= 1e-10 * abs(c.engine)


def test_rich_table_and_text_show_every_factor_and_the_engine():
    net, X, y = _setup([3, 4, 5, 2], "tanh", "sigmoid", "quadratic")
    c = chain_rule(net, X, y, "W1", (1, 2), example=1)
    table = render_chain(c)
    assert table.row_count == len(c.factors) + 5  # product, sum, delta form, engine, error
    console = Console(record=True, width=240)
    console.print(table)
    shown = console.export_text()
    # brackets are maths here, not rich markup: they must survive rendering
    for text in ("∂z1[2]/∂W1[1,2]", "δ1[2] = ∂C/∂z1[2]", "[2] ×", "Σ_n x[n,1] · δ1[n,2]",
                 f"{c.engine:.12g}", f"{c.per_example[1]:.12g}"):
        assert text in shown, text
    plain = chain_text(c)
    assert str(c) == plain
    assert plain.count("\n  ") >= 2 * len(c.factors) and f"{c.total:.12g}" in plain
