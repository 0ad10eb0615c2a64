"""ImageSet: float batches, duplicate-aware stratified splits, and the shipped cats and dogs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from descent.data import ImageSet, load_cats_dogs
from descent.errors import DataError

SHARED = Path(__file__).parents[2] / "src/descent/datasets"


def test_floats_are_pixels_over_255():
    pics = np.array([0, 128, 255], np.uint8).reshape(3, 1, 1, 1)
    s = ImageSet(pics, np.array([0, 1, 1]), ["a", "b"], ["x", "y", "z"])
    assert s.floats().ravel().tolist() == pytest.approx([0.0, 128 / 255, 1.0], abs=1e-7)
    assert s.floats([2], np.float64).dtype == np.float64


def test_bad_construction_is_refused():
    with pytest.raises(ValueError, match="uint8"):
        ImageSet(np.zeros((1, 1, 2, 2)), np.array([0]), ["a"], ["x"])
    with pytest.raises(ValueError, match="as many labels"):
        ImageSet(np.zeros((2, 1, 2, 2), np.uint8), np.array([0]), ["a"], ["x", "y"])
    with pytest.raises(ValueError, match="index the 1 classes"):
        ImageSet(np.zeros((1, 1, 2, 2), np.uint8), np.array([3]), ["a"], ["x"])


@settings(max_examples=40, deadline=None)
@given(n=st.integers(10, 60), n_values=st.integers(3, 12), seed=st.integers(0, 10**6),
       three=st.booleans())
def test_split_never_separates_copies_and_covers_every_row(n, n_values, seed, three):
    rng = np.random.default_rng(seed)
    values = rng.integers(0, n_values, n)  # few values: many exact copies
    labels = values % 2  # a copy always has its original's class
    if len(np.unique(labels)) < 2:
        return
    s = ImageSet(values.astype(np.uint8).reshape(n, 1, 1, 1), labels, ["a", "b"],
                 [str(i) for i in range(n)])
    fractions = (0.6, 0.2, 0.2) if three else (0.75, 0.25)
    try:
        parts = s.split(fractions, seed=seed)
    except ValueError as error:  # too few distinct pictures for a part: said, not hidden
        assert "empty part" in str(error)
        return
    rows = np.concatenate(parts)
    assert sorted(rows.tolist()) == list(range(n))
    groups = s.duplicate_groups()
    owner = {}
    for k, part in enumerate(parts):
        for g in groups[part]:
            assert owner.setdefault(int(g), k) == k


def test_the_same_picture_under_two_classes_is_named():
    pics = np.array([1, 2, 1], np.uint8).reshape(3, 1, 1, 1)
    s = ImageSet(pics, np.array([0, 1, 1]), ["cat", "dog"], ["cat/1.png", "dog/2.png",
                                                             "dog/3.png"])
    with pytest.raises(DataError, match=r"cat/1\.png and dog/3\.png are the same picture"):
        s.split()


def test_cats_dogs_matches_its_source_counts_and_duplicates():
    pets = load_cats_dogs()
    assert pets.images.shape == (2000, 1, 28, 28) and pets.images.dtype == np.uint8
    assert pets.classes == ["cat", "dog"] and pets.counts() == {"cat": 1000, "dog": 1000}
    assert pets.files[0] == "cat/cat_0000.png" and pets.files[-1] == "dog/dog_0999.png"
    assert all(f.startswith(pets.classes[y]) for f, y in zip(pets.files, pets.labels, strict=True))
    groups = pets.duplicate_groups()
    assert len(np.unique(groups)) == 1989  # the source README: 8 cat + 3 dog exact copies
    # white animal on black: the corners are background
    assert np.median(pets.images[:, 0, 0, 0]) == 0 and pets.images.max() == 255
    train, test = pets.split((0.8, 0.2), seed=0)
    assert not set(groups[train]) & set(groups[test])
    assert abs(len(test) - 400) <= 3
    assert (SHARED / "cats_dogs_LICENSE.txt").read_text().startswith("MIT License")


def test_cats_dogs_pixels_survive_a_png_round_trip(tmp_path):
    pets = load_cats_dogs()
    path = tmp_path / "cat_0000.png"
    Image.fromarray(pets.images[0, 0]).save(path)
    from descent.data import read_image

    assert np.array_equal(read_image(path, (28, 28), 1), pets.images[0])
