"""Predictions for picture files as CSV: every file, in order, bad ones named or counted."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

import descent as ds
from descent.errors import DataError
from descent.pictures import ImageModel, picture_files, write_picture_predictions


@pytest.fixture(scope="module")
def model():
    net = ds.nn.ConvNet((1, 28, 28), 2, channels=(2, 3), hidden=(4,), seed=0)
    return ImageModel(net, ["cat", "dog"], (28, 28), 1)


def test_csv_for_a_folder_matches_the_model(model, pets_folder):
    out = io.StringIO()
    found = write_picture_predictions(model, pets_folder, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == 60 == len(found.files)
    assert rows[0]["file"].endswith("cat/cat_0000.png")
    pics = np.stack([model.read(pets_folder / r["file"].split("pets/", 1)[1]) for r in rows[:3]])
    proba = model.probabilities(pics)
    for r, p in zip(rows, proba, strict=False):
        assert [float(r["probability_cat"]), float(r["probability_dog"])] == pytest.approx(
            p.tolist(), rel=1e-6)
        assert r["predicted_class"] == ["cat", "dog"][int(np.argmax(p))]


def test_one_file_and_bad_files(model, pets_folder, tmp_path):
    out = io.StringIO()
    write_picture_predictions(model, pets_folder / "dog" / "dog_0003.png", out)
    assert len(out.getvalue().splitlines()) == 2
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="not a picture file"):
        picture_files(tmp_path / "notes.txt")
    with pytest.raises(DataError, match="no such file or folder"):
        picture_files(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no picture files"):
        picture_files(tmp_path / "empty")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "a.png").write_bytes((pets_folder / "cat" / "cat_0000.png").read_bytes())
    (mixed / "b.png").write_bytes(b"broken")
    (mixed / "readme.md").write_text("hi")
    with pytest.raises(DataError, match=r"b\.png: not a readable image"):
        write_picture_predictions(model, mixed, io.StringIO())
    found = write_picture_predictions(model, mixed, io.StringIO(), skip_bad=True)
    assert len(found.skipped) == 1 and [p.name for p in found.ignored] == ["readme.md"]
