"""The spinning helpers (train/spin.py): blocks computed right however they are taken,
helpers that go to sleep when idle and wake for the next product, and stop when told."""

from __future__ import annotations

import time

import numpy as np

from descent.train import gemm, spin


def _blocks(pool, a, b, out, cuts):
    for row, (lo, hi) in zip(pool.parts, zip(cuts, cuts[1:], strict=False), strict=False):
        gemm.describe(a, b[:, lo:hi], out[:, lo:hi], row)
    return len(cuts) - 1


def _wait_for(condition, seconds=5.0):
    end = time.monotonic() + seconds
    while not condition() and time.monotonic() < end:
        time.sleep(0.01)
    return condition()


def test_idle_helpers_sleep_and_wake_for_the_next_product(monkeypatch):
    assert spin.load_loops()
    monkeypatch.setattr(spin, "SPINS", 10)  # give up spinning almost at once
    pool = spin.Pool(3)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((40, 70))
    b = rng.standard_normal((70, 100))
    want = a @ b
    for _ in range(5):
        assert _wait_for(lambda: pool.ctl[spin.SLEEPING] == 1)  # every helper asleep
        out = np.full((40, 100), np.nan, order="F")
        pool.run(_blocks(pool, a, b, out, [0, 16, 32, 48, 64, 80, 100]))
        np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12)
    pool.ctl[spin.STOP] = 1
    for w in pool._wake:
        w.set()
    for t in pool.threads:
        t.join(5)
    assert not pool.alive()


def test_many_products_in_a_row_with_busy_helpers():
    """Jobs back to back while the helpers spin: no block is lost, none done twice into
    another job's output (each job writes its own array, checked against np.matmul)."""
    assert spin.load_loops()
    pool = spin.Pool(1)
    rng = np.random.default_rng(1)
    a = rng.standard_normal((64, 48)).astype(np.float32)
    bs = [rng.standard_normal((48, 96)).astype(np.float32) for _ in range(3)]
    for i in range(600):
        b = bs[i % 3]
        out = np.full((64, 96), np.nan, np.float32, order="F")
        n = _blocks(pool, a, b, out, [0, 16, 32, 48, 64, 80, 96][: 2 + i % 5] + [96])
        pool.run(n)
        np.testing.assert_allclose(out, a @ b, rtol=1e-5, atol=1e-5)
    pool.ctl[spin.STOP] = 1
