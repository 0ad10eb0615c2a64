"""A small folder of real pictures (cats and dogs written as PNG files) for the tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from descent.data import load_cats_dogs


def write_pets(root: Path, per_class: int = 30) -> Path:
    """root/cat/*.png and root/dog/*.png: the first `per_class` pictures of each class."""
    pets = load_cats_dogs()
    for k, name in enumerate(pets.classes):
        (root / name).mkdir(parents=True)
        for i in np.flatnonzero(pets.labels == k)[:per_class]:
            Image.fromarray(pets.images[i, 0]).save(root / pets.files[i])
    return root


@pytest.fixture(scope="session")
def pets_folder(tmp_path_factory) -> Path:
    return write_pets(tmp_path_factory.mktemp("pets") / "pets")
