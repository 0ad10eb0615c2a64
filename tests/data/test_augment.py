"""Augmentation: exact for flips and whole-pixel shifts, seeded, only in training mode."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import descent as ds
from descent.data.augment import Augmentation, transform

shapes = st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(1, 9), st.integers(1, 9))


def pad_shift(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """The reference: pad by repeating edges, then crop the window moved by (dy, dx)."""
    _, _, H, W = x.shape
    p = max(abs(dy), abs(dx))
    padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode="edge")
    return padded[:, :, p - dy:p - dy + H, p - dx:p - dx + W]


@settings(max_examples=60, deadline=None)
@given(shape=shapes, dy=st.integers(-3, 3), dx=st.integers(-3, 3), flip=st.booleans(),
       dtype=st.sampled_from([np.uint8, np.float32, np.float64]), seed=st.integers(0, 99))
def test_flip_and_whole_pixel_shift_are_exact(shape, dy, dx, flip, dtype, seed):
    rng = np.random.default_rng(seed)
    x = (rng.integers(0, 256, shape) if dtype == np.uint8 else rng.random(shape)).astype(dtype)
    n = shape[0]
    got = transform(x, np.full(n, flip), np.full(n, dy), np.full(n, dx), np.zeros(n))
    source = x[..., ::-1] if flip else x
    assert got.dtype == x.dtype and got.shape == x.shape
    np.testing.assert_array_equal(got, pad_shift(source, dy, dx))


def test_quarter_turn_of_a_square_is_rot90():
    x = np.arange(25, dtype=np.float64).reshape(1, 1, 5, 5)
    z = np.zeros(1, np.int64)
    turned = transform(x, np.zeros(1, bool), z, z, np.array([np.pi / 2]))
    matches = [np.allclose(turned, np.rot90(x, k, axes=(2, 3)), atol=1e-9) for k in (1, 3)]
    assert any(matches)


def test_small_turn_keeps_the_centre_and_moves_the_rest():
    x = np.zeros((1, 1, 9, 9), np.float32)
    x[0, 0, 4, :] = 1.0  # a horizontal bar through the centre
    z = np.zeros(1, np.int64)
    turned = transform(x, np.zeros(1, bool), z, z, np.array([np.deg2rad(10)]))
    assert turned[0, 0, 4, 4] == pytest.approx(1.0)
    assert turned[0, 0, 4, 0] < 0.9 and turned.sum() == pytest.approx(x.sum(), rel=0.15)


def test_seeded_and_varied():
    x = np.random.default_rng(0).random((8, 1, 6, 6)).astype(np.float32)
    a = Augmentation()(x, np.random.default_rng(3))
    b = Augmentation()(x, np.random.default_rng(3))
    c = Augmentation()(x, np.random.default_rng(4))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a, x)


def test_settings_are_checked():
    with pytest.raises(ValueError, match="shift"):
        Augmentation(shift=-1)
    with pytest.raises(ValueError, match="rotate"):
        Augmentation(rotate=float("nan"))
    with pytest.raises(ValueError, match=r"\(n, C, H, W\)"):
        Augmentation()(np.zeros((2, 2)), np.random.default_rng(0))


def test_fit_augments_training_batches_only():
    """A recording augmentation sees every training picture once per epoch, seeded, and
    never the validation pictures."""
    seen = []

    def record(batch, rng):
        seen.append(batch.copy())
        return Augmentation(shift=1)(batch, rng)

    x = np.random.default_rng(0).random((10, 1, 6, 6)).astype(np.float32)
    y = np.arange(10) % 2
    x_val = np.full((4, 1, 6, 6), 7.0, np.float32)
    net = ds.nn.ConvNet((1, 6, 6), 2, channels=(2,), hidden=(3,), seed=0)
    ds.fit(net, x, y, loss="cross_entropy", epochs=2, batch_size=4, seed=3, verbose=False,
           validation_data=(x_val, y[:4]), augment=record)
    assert sum(len(b) for b in seen) == 20
    assert not any(np.any(b == 7.0) for b in seen)
    first = [b.copy() for b in seen]
    seen.clear()
    again = ds.nn.ConvNet((1, 6, 6), 2, channels=(2,), hidden=(3,), seed=0)
    ds.fit(again, x, y, loss="cross_entropy", epochs=2, batch_size=4, seed=3, verbose=False,
           validation_data=(x_val, y[:4]), augment=record)
    assert all(np.array_equal(a, b) for a, b in zip(first, seen, strict=True))
    for k, p in net.state_dict().items():
        np.testing.assert_array_equal(p, again.state_dict()[k])


def test_augment_none_changes_nothing_in_fit():
    x = np.random.default_rng(0).random((8, 1, 6, 6)).astype(np.float32)
    y = np.arange(8) % 2
    nets = [ds.nn.ConvNet((1, 6, 6), 2, channels=(2,), hidden=(3,), seed=0) for _ in range(2)]
    ds.fit(nets[0], x, y, loss="cross_entropy", epochs=2, batch_size=4, seed=1, verbose=False)
    ds.fit(nets[1], x, y, loss="cross_entropy", epochs=2, batch_size=4, seed=1, verbose=False,
           augment=lambda b, rng: b)
    for k, p in nets[0].state_dict().items():
        np.testing.assert_array_equal(p, nets[1].state_dict()[k])
