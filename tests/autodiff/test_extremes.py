"""Saturating functions at +/-1000: finite values, finite gradients, the exact limits.

Run with NumPy's overflow / invalid / divide-by-zero errors raised, so a stable formula that
only happens to land on the right answer after an inf or nan fails here. (Underflow, as in
e^-2000 = 0, is the intended outcome and stays silent.)
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import descent as ds

DTYPES = [pytest.param(np.float64, id="float64"), pytest.param(np.float32, id="float32")]
TORCH = {np.float64: torch.float64, np.float32: torch.float32}


def _grad_of(f, data, dtype, w=None):
    x = ds.tensor(np.array(data, dtype=dtype), requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = f(x)
        upstream = np.ones(out.shape) if w is None else np.asarray(w)
        (out * upstream.astype(dtype)).sum().backward()
    assert out.dtype == dtype and x.grad.dtype == dtype
    assert np.all(np.isfinite(out.data)), out.data
    assert np.all(np.isfinite(x.grad)), x.grad
    return out.data, x.grad


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_saturates_to_exactly_0_and_1(dtype):
    value, grad = _grad_of(ds.sigmoid, [-1000.0, -40.0, 0.0, 40.0, 1000.0], dtype)
    assert value[0] == 0.0 and value[-1] == 1.0 and value[2] == 0.5
    assert grad[0] == 0.0 and grad[-1] == 0.0 and grad[2] == 0.25
    assert 0 < value[1] < 1e-17 and value[3] == 1.0  # e^-40: representable in both dtypes
    np.testing.assert_allclose(value[1], np.exp(-40.0), rtol=1e-6)


ROWS = [[1000.0, -1000.0], [1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0],
        [1000.0, 1000.0, 999.0]]


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_softmax_of_huge_logits_is_exact(dtype):
    value, grad = _grad_of(ds.log_softmax, [1000.0, -1000.0], dtype, w=[1.0, 0.0])
    np.testing.assert_array_equal(value, [0.0, -2000.0])
    np.testing.assert_array_equal(grad, [0.0, 0.0])  # d(x0 - lse)/dx = e0 - softmax = 0

    value, grad = _grad_of(ds.log_softmax, [[1000.0, -1000.0, 0.0]], dtype, w=[[0.0, 1.0, 0.0]])
    np.testing.assert_array_equal(value, [[0.0, -2000.0, -1000.0]])
    np.testing.assert_array_equal(grad, [[-1.0, 1.0, 0.0]])


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_of_huge_logits_is_one_hot(dtype):
    value, grad = _grad_of(ds.softmax, [[1000.0, -1000.0, 0.0], [-1000.0, 0.0, 1000.0]], dtype,
                           w=[[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(value, [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    np.testing.assert_array_equal(grad, np.zeros((2, 3)))  # a one-hot softmax is flat


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_of_equal_huge_logits_is_uniform(dtype):
    value, grad = _grad_of(ds.softmax, [-1000.0, -1000.0, -1000.0, -1000.0], dtype,
                           w=[1.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(value, [0.25] * 4, rtol=1e-6)
    np.testing.assert_allclose(grad, [0.1875, -0.0625, -0.0625, -0.0625], rtol=1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_logsumexp_of_huge_values(dtype):
    value, grad = _grad_of(lambda x: ds.logsumexp(x, axis=1), [[1000.0, -1000.0, 0.0],
                                                               [-1000.0, -1000.0, -1000.0]],
                           dtype)
    np.testing.assert_array_equal(value[0], 1000.0)
    np.testing.assert_array_equal(grad[0], [1.0, 0.0, 0.0])
    # The VJP is exp(x - out), as in PyTorch: out = -1000 + log 3 is rounded to the float
    # spacing near 1000 (6e-5 in float32, 1e-13 in float64), and so is the gradient.
    rtol = 1e-12 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(value[1], -1000.0 + np.log(3.0), rtol=rtol)
    np.testing.assert_allclose(grad[1], [1 / 3] * 3, rtol=rtol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ours, theirs", [
    pytest.param(ds.sigmoid, torch.sigmoid, id="sigmoid"),
    pytest.param(ds.softmax, lambda x: torch.softmax(x, -1), id="softmax"),
    pytest.param(ds.log_softmax, lambda x: torch.log_softmax(x, -1), id="log_softmax"),
    pytest.param(lambda x: ds.logsumexp(x, axis=-1), lambda x: torch.logsumexp(x, -1),
                 id="logsumexp"),
    pytest.param(lambda x: -ds.log_softmax(x)[:, 1].mean(),
                 lambda x: -torch.log_softmax(x, -1)[:, 1].mean(), id="cross-entropy"),
])
def test_extremes_match_torch(ours, theirs, dtype):
    rows = np.array([[1000.0, -1000.0, 0.0], [0.0, 1000.0, 1000.0], [-1000.0, -1000.0, -999.0],
                     [3.0, -2.0, 0.5]], dtype=dtype)
    w = np.random.default_rng(7).standard_normal(np.shape(theirs(torch.from_numpy(rows))))
    value, grad = _grad_of(ours, rows, dtype, w)

    xt = torch.tensor(rows, requires_grad=True)
    out = theirs(xt)
    (out * torch.from_numpy(w.astype(dtype))).sum().backward()
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(value, out.detach().numpy(), rtol=rtol, atol=rtol * 1e-2)
    np.testing.assert_allclose(grad, xt.grad.numpy(), rtol=rtol, atol=rtol * 1e-2)
    assert xt.grad.dtype == TORCH[dtype]
