"""Products split into blocks over descent's own threads (train/split.py) are the products,
and the same bits whoever computes the blocks.

Property tests over random shapes (sides 1 to 300, both axes, float32 and float64,
operands C-ordered, Fortran-ordered and transposed views, 1 to 4 workers): the result
matches np.matmul to float rounding, and is the same bit for bit with 1, 2 or 4 workers,
with the spinning helpers (train/spin.py), the Python helper threads, or the caller alone
(the blocks are a function of the shape only); an error in a part reaches the caller.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from descent.train import spin, split


def _operand(rng, shape, dtype, layout):
    a = rng.standard_normal(shape).astype(dtype)
    if layout == "F":
        return np.asfortranarray(a)
    if layout == "T":  # a transposed view, as the plan passes [a | 1]ᵀ and Wᵀ
        return np.ascontiguousarray(a.T).T
    return a


def _with(engine, a, b, out, axis, workers, monkeypatch):
    """split.matmul with the blocks run by one engine: "spin", "python" or "alone"."""
    with monkeypatch.context() as mp:
        if engine == "spin":
            assert spin.load_loops()
        else:
            mp.setattr(split, "_spin_pool", lambda workers: None)
        split.matmul(a, b, out, axis, 1 if engine == "alone" else workers)


@settings(max_examples=80, deadline=None)
@given(m=st.integers(1, 300), k=st.integers(1, 300), n=st.integers(1, 300),
       axis=st.sampled_from([0, 1]), workers=st.integers(2, 4),
       dtype=st.sampled_from([np.float32, np.float64]),
       layouts=st.tuples(*[st.sampled_from(["C", "F", "T"])] * 2), seed=st.integers(0, 99))
def test_split_product_is_the_product_whoever_computes_it(m, k, n, axis, workers, dtype,
                                                          layouts, seed):
    rng = np.random.default_rng(seed)
    a, b = _operand(rng, (m, k), dtype, layouts[0]), _operand(rng, (k, n), dtype, layouts[1])
    order = "C" if axis == 0 else "F"  # each block a contiguous piece of the output
    outs = {}
    with pytest.MonkeyPatch.context() as mp:
        for engine in ("spin", "python", "alone"):
            outs[engine] = np.full((m, n), np.nan, dtype, order=order)
            _with(engine, a, b, outs[engine], axis, workers, mp)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(outs["spin"], a.astype(np.float64) @ b, rtol=tol, atol=tol * k)
    np.testing.assert_array_equal(outs["spin"], outs["python"])
    np.testing.assert_array_equal(outs["spin"], outs["alone"])


def test_bench_shapes_are_the_unsplit_product_bit_for_bit(monkeypatch):
    """For the benchmark networks' products the blocks even match one np.matmul."""
    rng = np.random.default_rng(0)
    for (m, k, n, axis) in [(128, 784, 256, 1), (784, 128, 256, 0), (32, 784, 256, 1),
                            (784, 32, 256, 0), (128, 257, 128, 1), (257, 128, 128, 0)]:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        out = np.empty((m, n), np.float32, order="F" if axis else "C")
        _with("spin", a, b, out, axis, 2, monkeypatch)
        np.testing.assert_array_equal(out, np.matmul(a, b))


def test_several_callers_at_once_get_their_own_products():
    """Threads splitting products at the same time (one holds the spinning helpers, the
    others compute their blocks themselves): each gets its product, the same bits."""
    assert spin.load_loops()
    rng = np.random.default_rng(1)
    a = rng.standard_normal((96, 200)).astype(np.float32)
    bs = [rng.standard_normal((200, 160)).astype(np.float32) for _ in range(4)]
    want = []
    for b in bs:
        out = np.empty((96, 160), np.float32, order="F")
        split.matmul(a, b, out, 1, 1)
        want.append(out)
    errors = []

    def work(i):
        out = np.empty((96, 160), np.float32, order="F")
        for _ in range(200):
            split.matmul(a, bs[i], out, 1, 2)
            if not np.array_equal(out, want[i]):
                errors.append(i)
                return

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_bounds_are_aligned_and_cover_the_output():
    for size in (1, 15, 16, 17, 100, 256, 784):
        for parts in (1, 2, 4):
            cuts = split.bounds(size, parts)
            assert cuts[0] == 0 and cuts[-1] == size and len(cuts) - 1 <= parts
            assert all(c % split.ALIGN == 0 for c in cuts[:-1])
            assert all(lo < hi for lo, hi in zip(cuts, cuts[1:], strict=False))


def test_what_cannot_be_split_is_one_matmul():
    """Integers, or a single block's worth of output: np.matmul, the same result."""
    a, b = np.arange(12).reshape(3, 4), np.arange(20).reshape(4, 5)
    out = np.empty((3, 5), a.dtype)
    split.matmul(a, b, out, 0, 2)
    np.testing.assert_array_equal(out, a @ b)
    assert not split.splittable(a, b, out, 0)
    f = np.ones((8, 8), np.float32)
    assert not split.splittable(f, f, np.empty((8, 8), np.float32), 0)  # one block of 16


def test_an_error_in_a_part_reaches_the_caller():
    helpers = split.helpers(1)

    def fails():
        raise ValueError("part")

    with pytest.raises(ValueError, match="part"):
        helpers.run([fails, fails, fails, fails])
    done = []
    helpers.run([lambda: done.append(1)] * 4)  # and the helpers still serve the next job
    assert done == [1] * 4


def test_the_chooser_keeps_the_faster_way_and_looks_again():
    """The caller alone first; helpers faster: they are taken; when the load comes and
    they are slower, the caller alone again; a helper gain under the margin is no reason
    to switch."""
    c = split.Chooser(2, every=10, probe=3, settle=0)
    seen = []
    for step in range(80):
        w = c.workers()
        seen.append(w)
        helper_time = 0.5 if step < 30 else 2.0 if step < 60 else 0.9
        c.record(helper_time if w == 2 else 1.0)
    assert seen[:3] == [1, 1, 1] and seen[3:6] == [2, 2, 2]  # the first probe
    assert seen[6:30].count(1) <= 9 and seen[29] == 2  # helpers taken, probes alone
    assert seen[40:60].count(2) <= 6 and seen[59] == 1  # slow helpers left
    assert seen[60:].count(2) <= 6 and c.current == 1  # 10% faster: not enough


def test_the_steps_after_a_change_of_way_are_not_counted():
    """The first steps after a switch pay for moving data between caches: a probe whose
    first steps are slow but whose steady steps are fast still wins."""
    c = split.Chooser(2, every=100, probe=3, settle=2)
    for step in range(10):
        w = c.workers()
        first_of_probe = step in (5, 6)  # steps 5..9 try the helpers; 5, 6 settle
        c.record(9.0 if first_of_probe else 0.5 if w == 2 else 1.0)
    assert c.current == 2


def test_one_thread_never_probes():
    c = split.Chooser(1)
    for _ in range(20):
        assert c.workers() == 1
        c.record(1.0)
