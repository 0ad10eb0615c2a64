"""The NumPy behaviour behind a silently wrong prediction, and the case it broke.

NumPy 2.4.6 computes an in-place unary ufunc on a one-column strided view wrongly:
`np.negative(t, out=t)` for `t = np.zeros((6, 4))[:, :1]` leaves every row but the first
as -0. The compiled forward pass once did exactly that on a column slice of its scratch
buffer. `test_numpy_negative_inplace_on_strided_column` records what this NumPy does so a
future NumPy can be judged: it passes whether or not the bug is present and says which.
"""

import numpy as np
import pytest

import descent as ds
from descent.train import predict_array


def _inplace_negative(dtype, columns: int) -> np.ndarray:
    t = np.zeros((6, columns), dtype)[:, :1]
    t[:, 0] = range(1, 7)
    np.negative(t, out=t)
    return t.ravel()


@pytest.mark.parametrize("dtype,columns", [(np.float32, 4), (np.float64, 8)])
def test_numpy_negative_inplace_on_strided_column(dtype, columns):
    got = _inplace_negative(dtype, columns)
    right = -np.arange(1, 7, dtype=dtype)
    wrong = np.array([-1, -0, -0, -0, 0, -0], dtype)[: len(got)]
    # Either the NumPy in use has the bug (and descent must not rely on it) or it has not.
    assert np.array_equal(got, right) or np.array_equal(np.abs(got[1:]), np.abs(wrong[1:]))
    if not np.array_equal(got, right):
        print(f"NumPy {np.__version__} negates a strided one-column view wrongly: {got}")


def test_narrow_sigmoid_output_after_wider_layer_predicts_as_the_engine():
    # The case: 2-4-1, tanh, sigmoid output; the compiled path gave [0.0054, 0.5, 0, 0.5].
    net = ds.nn.MLP([2, 4, 1], activation="tanh", output_activation="sigmoid", seed=0)
    w1 = np.array([[5.0, -5.0, 4.0, -4.0], [5.0, -5.0, -4.0, 4.0]])
    layers = [m for m in net if isinstance(m, ds.nn.Linear)]
    layers[0].weight.data[...] = w1
    layers[0].bias.data[...] = [-2.5, 7.5, -2.0, -2.0]
    layers[1].weight.data[...] = [[6.0], [6.0], [-6.0], [-6.0]]
    layers[1].bias.data[...] = [-6.0]
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    with ds.no_grad():
        engine = net(ds.tensor(X)).data
    for dtype in (np.float64, np.float32):
        net_d = ds.nn.MLP([2, 4, 1], activation="tanh", output_activation="sigmoid",
                          seed=0, dtype=dtype)
        net_d.load_state_dict({k: v.astype(dtype) for k, v in net.state_dict().items()})
        fast = predict_array(net_d, X.astype(dtype))
        np.testing.assert_allclose(fast, engine, rtol=1e-6 if dtype == np.float32 else 1e-12)
