"""train_images: honest splits, scores that agree with the model, augmentation in training only."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from descent.data import load_cats_dogs, read_image_folder
from descent.errors import DataError
from descent.pictures import PICTURE_RECIPE, image_splits, train_images
from descent.train.metrics import confusion_matrix

QUICK = replace(PICTURE_RECIPE, epochs=2)


@pytest.fixture(scope="module")
def small_pets():
    pets = load_cats_dogs()
    return pets.take(np.r_[0:60, 1000:1060])  # holds exact duplicates (cat 4/7, 5/8, 13/14)


def test_splits_are_disjoint_cover_everything_and_keep_copies_together(small_pets):
    parts = image_splits(small_pets, 0.1, 0.2, seed=3)
    rows = np.concatenate(list(parts.values()))
    assert sorted(rows.tolist()) == list(range(len(small_pets)))
    groups = small_pets.duplicate_groups()
    owner = {}
    for name, part in parts.items():
        for g in groups[part]:
            assert owner.setdefault(int(g), name) == name
    assert image_splits(small_pets, 0.0, 0.0, seed=0)["validation"].size == 0
    with pytest.raises(ValueError, match="below 1"):
        image_splits(small_pets, 0.5, 0.5, seed=0)


def test_too_few_pictures_is_a_data_error(tmp_path):
    pets = load_cats_dogs().take([0, 1000])
    with pytest.raises(DataError, match="too few"):
        image_splits(pets, 0.1, 0.2, seed=0)


def test_scores_agree_with_the_model_and_are_repeatable(small_pets):
    a = train_images(small_pets, recipe=QUICK, seed=1, verbose=False)
    b = train_images(small_pets, recipe=QUICK, seed=1, verbose=False)
    test = a.splits["test"]
    proba = a.model.probabilities(small_pets.images[test])
    np.testing.assert_array_equal(proba, a.probabilities)
    np.testing.assert_array_equal(a.probabilities, b.probabilities)  # same seed, same run
    accuracy = (proba.argmax(1) == small_pets.labels[test]).mean()
    scores = {s.split: s for s in a.scores}
    assert scores["test"].model["accuracy"] == pytest.approx(accuracy)
    assert scores["test"].baseline["accuracy"] == pytest.approx(
        (small_pets.labels[test] == np.bincount(small_pets.labels[a.splits["train"]]).argmax())
        .mean())
    assert a.confusion.tolist() == confusion_matrix(small_pets.labels[test], proba.argmax(1),
                                                    2).tolist()
    assert len(a.history) == 2 and a.model.classes == ["cat", "dog"]


def test_augmentation_changes_training_only(small_pets):
    on = train_images(small_pets, recipe=QUICK, seed=2, verbose=False)
    off = train_images(small_pets, recipe=QUICK, seed=2, augmentation=None, verbose=False)
    # same split and initial weights; different training pictures give different weights
    for k in on.splits:
        np.testing.assert_array_equal(on.splits[k], off.splits[k])
    w_on, w_off = on.model.network.state_dict(), off.model.network.state_dict()
    assert any(not np.array_equal(w_on[k], w_off[k]) for k in w_on)
    # the trained network is in eval mode: prediction is deterministic
    pics = small_pets.images[:5]
    np.testing.assert_array_equal(on.model.probabilities(pics), on.model.probabilities(pics))


def test_colour_folder_trains_on_three_channels(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for name, colour in (("red", (220, 30, 30)), ("blue", (30, 30, 220))):
        (tmp_path / name).mkdir()
        for i in range(12):
            noise = rng.integers(-20, 20, (10, 10, 3))
            pixels = np.clip(np.array(colour) + noise, 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / name / f"{i}.png")
    images = read_image_folder(tmp_path)
    result = train_images(images, recipe=replace(PICTURE_RECIPE, epochs=15), seed=0,
                          verbose=False)
    assert result.model.channels == 3 and result.model.classes == ["blue", "red"]
    assert result.scores[-1].model["accuracy"] == 1.0  # colour alone separates them
