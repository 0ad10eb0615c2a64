"""Backward semantics: seeds, accumulation, graph recording, no_grad, detach, dtypes, errors."""

from __future__ import annotations

import numpy as np
import pytest

import descent as ds


def leaf(values, dtype=np.float64):
    return ds.tensor(np.array(values, dtype=dtype), requires_grad=True)


# ---- seeds -----------------------------------------------------------------------------------


def test_a_scalar_output_is_seeded_with_one():
    x = leaf(3.0)
    y = x * 5.0
    y.backward()
    assert x.grad.shape == () and x.grad == 5.0
    assert y.grad == 1.0  # the seed itself is kept on the root


def test_a_size_one_output_of_any_shape_is_seeded_with_ones():
    x = leaf([[2.0]])
    (x * 3.0).backward()
    np.testing.assert_array_equal(x.grad, [[3.0]])


def test_non_scalar_backward_without_grad_says_what_to_do():
    x = leaf([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"scalar output.*shape \(3,\).*\.sum\(\).*grad="):
        (x * 2.0).backward()
    assert x.grad is None


def test_backward_with_an_explicit_grad_is_a_vector_jacobian_product():
    x = leaf([1.0, 2.0, 3.0])
    (x * x).backward(np.array([1.0, 10.0, 100.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 40.0, 600.0])


def test_backward_grad_of_the_wrong_shape_is_refused():
    x = leaf([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"grad has shape \(2,\) but the output has \(3,\)"):
        (x * 2.0).backward(np.ones(2))


def test_backward_on_a_tensor_that_needs_no_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ds.tensor([1.0, 2.0]).sum().backward()


# ---- the chain rule's bookkeeping --------------------------------------------------------------


def test_a_value_used_twice_gets_both_contributions():
    x = leaf(3.0)
    (x * x).backward()
    assert x.grad == 6.0


def test_a_diamond_adds_its_two_paths():
    x = leaf(2.0)
    a, b = x * 3.0, x**2
    (a * b).backward()  # d(3x^3)/dx = 9x^2
    assert x.grad == 36.0


def test_a_chain_of_20000_ops_needs_no_recursion():
    x = leaf(1.0)
    y = x
    for _ in range(20_000):
        y = y * 1.00001
    assert len(ds.topological_order(y)) == 20_001
    y.backward()
    np.testing.assert_allclose(x.grad, 1.00001**20_000, rtol=1e-9)


def test_topological_order_puts_every_node_after_its_parents():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    h = ds.tanh(x * w)
    y = (h * x + h).sum()
    order = ds.topological_order(y)
    position = {id(n): i for i, n in enumerate(order)}
    assert order[-1] is y and len(order) == len(position)
    for node in order:
        for parent in node.parents:
            assert position[id(parent)] < position[id(node)]


def test_backward_twice_accumulates_leaf_grads_and_overwrites_intermediate_ones():
    """As PyTorch (with retain_graph): leaves add up (+=), so zero them between steps;
    an intermediate node's .grad is the latest pass's, not a sum."""
    x = leaf([1.0, 2.0])
    h = x * x
    y = h.sum()
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])
    np.testing.assert_array_equal(h.grad, [1.0, 1.0])
    y.backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])
    np.testing.assert_array_equal(h.grad, [1.0, 1.0])
    x.grad = None  # how a caller zeroes it
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_a_leaf_gradient_is_a_fresh_writable_array():
    x = leaf([1.0, 2.0])
    x.sum().backward()  # sum's VJP is a read-only broadcast view
    x.grad += 1.0
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_inputs_that_need_no_grad_get_none():
    x, c = leaf([1.0, 2.0]), ds.tensor([3.0, 4.0])
    (x * c).sum().backward()
    assert c.grad is None and not c.requires_grad
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


# ---- what the graph records ---------------------------------------------------------------------


def test_every_node_records_its_op_parents_and_params():
    x, w, b = leaf([[1.0, 2.0]]), leaf([[0.5], [-1.0]]), leaf([0.1])
    z = x @ w
    a = z + b
    y = ds.leaky_relu(a, slope=0.2)
    s = y.sum(axis=0, keepdims=True)
    assert (z.op, a.op, y.op, s.op) == ("matmul", "add", "leaky_relu", "sum")
    assert z.parents[0] is x and z.parents[1] is w
    assert a.parents[0] is z and a.parents[1] is b
    assert y.parents == (a,)
    assert y.params == {"slope": 0.2}
    assert s.params == {"axis": 0, "keepdims": True}
    for leaf_ in (x, w, b):
        assert leaf_.op == "" and leaf_.parents == ()
    assert all(n.requires_grad for n in (z, a, y, s))


def test_a_python_number_operand_becomes_a_constant_parent():
    x = leaf(2.0)
    y = 3.0 - x
    assert y.op == "sub" and y.parents[1] is x
    assert not y.parents[0].requires_grad and y.parents[0].data == 3.0


def test_no_grad_records_nothing():
    x = leaf([1.0, 2.0])
    assert ds.is_grad_enabled()
    with ds.no_grad():
        assert not ds.is_grad_enabled()
        y = ds.tanh(x * 2.0).sum()
    assert ds.is_grad_enabled()
    assert not y.requires_grad and y.op == "" and y.parents == ()
    np.testing.assert_allclose(y.data, np.tanh([2.0, 4.0]).sum(), rtol=1e-15)


def test_no_grad_is_restored_after_an_exception_and_when_nested():
    with pytest.raises(RuntimeError, match="inside"), ds.no_grad():
        raise RuntimeError("inside no_grad")
    assert ds.is_grad_enabled()
    with ds.no_grad():
        with ds.no_grad():
            pass
        assert not ds.is_grad_enabled()
    assert ds.is_grad_enabled()


def test_detach_stops_the_gradient():
    x = leaf([1.0, 2.0])
    d = x.detach()
    assert not d.requires_grad and d.op == "" and d.parents == ()
    (x * d).sum().backward()  # only the undetached path: d/dx (x * c) = c
    np.testing.assert_array_equal(x.grad, [1.0, 2.0])


# ---- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [
    pytest.param(lambda: ds.tensor(np.arange(3), requires_grad=True), id="int64-array"),
    pytest.param(lambda: ds.tensor([1, 2], dtype=np.int32, requires_grad=True), id="int32"),
    pytest.param(lambda: ds.tensor([True, False], requires_grad=True), id="bool"),
])
def test_integer_tensors_cannot_require_gradients(make):
    with pytest.raises(TypeError, match="only floating-point tensors can require gradients"):
        make()


def test_non_numeric_data_is_refused():
    with pytest.raises(TypeError, match="needs numbers"):
        ds.tensor(["a", "b"])


@pytest.mark.parametrize("make, pattern", [
    pytest.param(lambda: ds.tensor(np.ones((2, 3))) + ds.tensor(np.ones(4)),
                 r"^add: shapes \(2, 3\) and \(4,\) do not fit", id="add"),
    pytest.param(lambda: ds.tensor(np.ones((2, 3))) * np.ones((3, 2)),
                 r"^mul: shapes \(2, 3\) and \(3, 2\) do not fit", id="mul"),
    pytest.param(lambda: ds.tensor(np.ones((2, 3))) @ ds.tensor(np.ones((2, 3))),
                 r"^matmul: shapes \(2, 3\) and \(2, 3\) do not fit", id="matmul"),
    pytest.param(lambda: ds.matmul(np.ones(3), ds.tensor(np.ones((4, 2)))),
                 r"^matmul: shapes \(3,\) and \(4, 2\) do not fit", id="matmul-vector"),
])
def test_shape_errors_name_the_op_and_both_shapes(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make()


# ---- dtypes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("data, dtype", [
    pytest.param(3.0, np.float64, id="python-float"),
    pytest.param(3, np.float64, id="python-int"),
    pytest.param([1.0, 2.0], np.float32, id="list-of-floats"),
    pytest.param([1, 2], np.float32, id="list-of-ints"),
    pytest.param(np.array([1.0, 2.0]), np.float64, id="float64-array"),
    pytest.param(np.array([1.0], dtype=np.float32), np.float32, id="float32-array"),
    pytest.param(np.array([1, 2]), np.int64, id="int64-array"),
    pytest.param(np.float32(1.5), np.float32, id="numpy-float32-scalar"),
])
def test_tensor_dtype_rules(data, dtype):
    assert ds.tensor(data).dtype == dtype
    assert ds.tensor(data, dtype=np.float64).dtype == np.float64


_F32_OPS = [
    ("add", lambda x: x + 1.0), ("radd", lambda x: 1 + x), ("sub", lambda x: x - 2),
    ("rsub", lambda x: 2.0 - x), ("mul", lambda x: 0.5 * x), ("div", lambda x: x / 3),
    ("rdiv", lambda x: 1.0 / x), ("pow-int", lambda x: x**2), ("pow-float", lambda x: x**0.5),
    ("rpow", lambda x: 2.0**x), ("pow-tensor", lambda x: x**x), ("neg", lambda x: -x),
    ("exp", ds.exp), ("log", ds.log),
    ("sqrt", ds.sqrt), ("tanh", ds.tanh), ("sigmoid", ds.sigmoid), ("relu", ds.relu),
    ("leaky_relu", ds.leaky_relu), ("abs", ds.abs), ("sin", ds.sin), ("cos", ds.cos),
    ("maximum", lambda x: ds.maximum(x, 1.0)), ("minimum", lambda x: ds.minimum(x, 1.0)),
    ("clip", lambda x: ds.clip(x, 0.5, 1.5)), ("where", lambda x: ds.where(x > 1, x, 0.0)),
    ("sum", lambda x: x.sum()), ("mean", lambda x: x.mean(axis=0)), ("max", lambda x: x.max()),
    ("min", ds.min), ("logsumexp", ds.logsumexp), ("softmax", ds.softmax),
    ("log_softmax", ds.log_softmax), ("square", ds.square), ("matmul", lambda x: x @ x.T),
    ("getitem", lambda x: x[[0, 0, 1]]), ("reshape", lambda x: x.reshape(-1)),
    ("stack", lambda x: ds.stack([x, x])), ("concatenate", lambda x: ds.concatenate([x, x])),
    ("broadcast_to", lambda x: ds.broadcast_to(x, (3, 2, 2))),
]


@pytest.mark.parametrize("op", [f for _, f in _F32_OPS], ids=[n for n, _ in _F32_OPS])
def test_float32_stays_float32_through_ops_with_python_numbers(op):
    x = ds.tensor([[0.5, 2.0], [1.25, 3.0]], requires_grad=True)
    assert x.dtype == np.float32
    y = op(x)
    assert y.dtype == np.float32, f"{y.dtype}"
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_gradients_have_the_parameters_dtype_even_when_the_graph_is_float64():
    w = ds.tensor([1.0, 2.0], requires_grad=True)
    b = ds.tensor(np.array([0.5, 0.5]), requires_grad=True)
    y = (w * np.array([3.0, 4.0]) + b).sum()  # a float64 array promotes the graph
    assert y.dtype == np.float64
    y.backward()
    assert w.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_array_equal(w.grad, [3.0, 4.0])


def test_a_float64_cast_of_a_float32_parameter_gives_a_float32_gradient():
    w = ds.tensor([1.0, 2.0], requires_grad=True)
    y = (w.astype(np.float64) * 3.0).sum()
    assert y.dtype == np.float64
    y.backward()
    assert w.grad.dtype == np.float32
    np.testing.assert_array_equal(w.grad, [3.0, 3.0])


# ---- grad / value_and_grad ------------------------------------------------------------------


def test_grad_of_the_worked_example():
    """The learner's example: y = x^2 - 4x + 6 at x0 = 8 has slope 2*8 - 4 = 12."""
    df = ds.grad(lambda x: x**2 - 4 * x + 6)
    assert df(8.0) == 12.0
    assert isinstance(df(8.0), float)
    assert df(2.0) == 0.0
    assert df(8) == 12.0  # a Python int is promoted, and the answer is a float


def test_value_and_grad_with_argnums():
    def f(x, y):
        return x * y + y**2

    assert ds.value_and_grad(f)(3.0, 2.0) == (10.0, 2.0)
    assert ds.value_and_grad(f, argnums=1)(3.0, 2.0) == (10.0, 7.0)
    assert ds.value_and_grad(f, argnums=(0, 1))(3.0, 2.0) == (10.0, (2.0, 7.0))
    assert ds.value_and_grad(f, argnums=(1,))(3.0, 2.0) == (10.0, (7.0,))
    assert ds.grad(f, argnums=(1, 0))(3.0, 2.0) == (7.0, 2.0)


def test_value_and_grad_on_arrays_returns_arrays():
    x = np.array([1.0, -2.0, 3.0])
    value, g = ds.value_and_grad(lambda t, c: (t * c).sum(), argnums=0)(x, 2.0)
    assert value == 4.0
    assert isinstance(g, np.ndarray) and g.shape == (3,)
    np.testing.assert_array_equal(g, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(x, [1.0, -2.0, 3.0])  # the input is not touched


def test_grad_of_an_argument_the_function_ignores_is_zero():
    g = ds.grad(lambda x, y: x * 2.0, argnums=(0, 1))(1.0, np.array([5.0, 6.0]))
    assert g[0] == 2.0
    np.testing.assert_array_equal(g[1], [0.0, 0.0])
    assert ds.grad(lambda x: ds.tensor(4.0))(1.0) == 0.0


def test_grad_of_a_non_scalar_function_raises():
    with pytest.raises(ValueError, match=r"must return a scalar, got shape \(3,\)"):
        ds.grad(lambda x: x * 2.0)(np.ones(3))


def test_grad_of_a_function_not_returning_a_tensor_raises():
    with pytest.raises(TypeError, match="must return a Tensor, got float"):
        ds.grad(lambda x: 1.0)(2.0)


def test_grad_argnums_out_of_range_raises():
    with pytest.raises(TypeError, match="argnums asks for argument 2, but got 2"):
        ds.grad(lambda x, y: x * y, argnums=2)(1.0, 2.0)
