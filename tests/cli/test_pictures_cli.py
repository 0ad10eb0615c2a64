"""`descent train FOLDER` / `--images`, `descent predict` and `descent explain` on pictures,
end to end, and every bad picture input as one line with exit status 2."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from descent.pictures import ImageModel
from tests.pictures.conftest import write_pets

from .conftest import run

QUICK = ["--epochs", "2", "--quiet"]


@pytest.fixture(scope="module")
def pets(tmp_path_factory) -> Path:
    return write_pets(tmp_path_factory.mktemp("cli") / "pets", per_class=24)


@pytest.fixture(scope="module")
def picture_model(pets, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("model") / "pets.safetensors"
    plots = out.parent / "plots"
    result = run("train", pets, "--epochs", "3", "--out", out, "--plots", plots)
    assert result.exit_code == 0, result.output
    assert "descent train: " in result.stdout and "48 pictures (cat 24, dog 24)" in result.stdout
    assert "conv 1→16 3x3" in result.stdout and "dropout 0.25" in result.stdout
    assert "majority class" in result.stdout
    assert "precision" in result.stdout and "→ dog" in result.stdout
    for name in ("loss.png", "confusion.png", "misclassified.png", "filters.png"):
        assert (plots / name).stat().st_size > 1000
    return out


def test_train_folder_saves_a_picture_model(picture_model, pets):
    model, extra = ImageModel.load(picture_model)
    assert model.classes == ["cat", "dog"] and model.size == (28, 28)
    assert extra["data"] == "pets"  # the folder's name only, never a path
    assert extra["recipe"]["epochs"] == 3 and extra["recipe"]["lr"] == 1e-3
    assert extra["recipe"]["augmentation"] == {"flip": True, "shift": 2, "rotate": 10.0}
    assert sum(extra["pictures"].values()) == 48


def test_predict_folder_and_file(picture_model, pets, tmp_path):
    result = run("predict", picture_model, pets)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 48 and set(rows[0]) == {"file", "predicted_class", "probability_cat",
                                                "probability_dog"}
    model, _ = ImageModel.load(picture_model)
    first = model.probabilities(model.read(pets / "cat" / "cat_0000.png")[None])[0]
    assert float(rows[0]["probability_cat"]) == pytest.approx(first[0], rel=1e-6)
    out = tmp_path / "p.csv"
    result = run("predict", picture_model, pets / "dog" / "dog_0001.png", "--out", out)
    assert result.exit_code == 0 and len(out.read_text().splitlines()) == 2
    assert "wrote 1 picture prediction" in result.stderr


def test_explain_writes_the_picture_and_checks_the_chain_rule(picture_model, pets, tmp_path):
    out = tmp_path / "why.png"
    result = run("explain", picture_model, "--image", pets / "cat" / "cat_0002.png",
                 "--out", out, "--index", "1,0,2,1")
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 5000
    with Image.open(out) as im:
        assert im.width > 2 * im.height  # one wide picture: four panels side by side
    text = result.stdout
    assert "integrated gradients: the attributions sum to" in text
    assert "∂C/∂w for 0.weight[1,0,2,1]" in text and "δ[p,q]" in text
    engine = float(text.split("engine's ∂C/∂w:")[1].split()[0])
    total = float(text.split("sum over positions:")[1].split()[0])
    assert total == pytest.approx(engine, rel=1e-9, abs=1e-15)
    result = run("explain", picture_model, "--image", pets / "dog" / "dog_0002.png",
                 "--out", tmp_path / "w2.png", "--param", "conv2", "--class", "dog")
    assert result.exit_code == 0, result.output
    assert "∂C/∂w for 3.weight[0,0,1,1]" in result.stdout


@pytest.mark.slow
def test_train_images_shipped(tmp_path):
    out = tmp_path / "m.safetensors"
    result = run("train", "--images", "--epochs", "1", "--quiet", "--out", out)
    assert result.exit_code == 0, result.output
    assert ImageModel.load(out)[1]["data"] == "embedded:cats_dogs"
    assert "test (held out)" in result.stdout


def _bad_folders(root: Path, pets: Path) -> dict[str, Path]:
    made = {}
    one = root / "one"
    (one / "cat").mkdir(parents=True)
    (one / "cat" / "a.png").write_bytes((pets / "cat" / "cat_0000.png").read_bytes())
    made["one"] = one
    for name, extra in (("corrupt", b"not a png"), ("text", None), ("truncated", "cut")):
        folder = root / name
        for cls in ("cat", "dog"):
            (folder / cls).mkdir(parents=True)
            for f in sorted((pets / cls).iterdir())[:3]:
                (folder / cls / f.name).write_bytes(f.read_bytes())
        if name == "corrupt":
            (folder / "dog" / "broken.png").write_bytes(extra)
        elif name == "text":
            (folder / "dog" / "notes.txt").write_text("hello")
        else:
            noisy = np.random.default_rng(0).integers(0, 255, (40, 40), dtype=np.uint8)
            Image.fromarray(noisy).save(folder / "cut.png")
            data = (folder / "cut.png").read_bytes()
            (folder / "dog" / "cut.png").write_bytes(data[: len(data) // 2])
            (folder / "cut.png").unlink()
        made[name] = folder
    empty = root / "empty"
    for cls in ("cat", "dog"):
        (empty / cls).mkdir(parents=True)
    (empty / "cat" / "a.png").write_bytes((pets / "cat" / "cat_0000.png").read_bytes())
    made["empty"] = empty
    return made


BAD = {
    "one class": (["train", "{one}"], "only one class (cat)"),
    "corrupt": (["train", "{corrupt}"], "dog/broken.png: not a readable image"),
    "truncated": (["train", "{truncated}"], "dog/cut.png: a corrupt or truncated image"),
    "non-image": (["train", "{text}"], "dog/notes.txt: not an image file"),
    "skip hint": (["train", "{text}"], "--skip-bad skips"),
    "empty class": (["train", "{empty}"], "dog: an empty class folder"),
    "target with folder": (["train", "{pets}", "--target", "y"], "--target applies to a CSV"),
    "hidden with folder": (["train", "{pets}", "--hidden", "8"], "--hidden applies to a CSV"),
    "images and folder": (["train", "{pets}", "--images"], "--images trains on the shipped"),
    "size": (["train", "{pets}", "--size", "0x9"], "--size takes one side"),
    "size with csv": (["train", "--size", "28", "--epochs", "1"], "--size applies to pictures"),
    "out in folder": (["train", "{pets}", "--out", "{pets}/cat/m.safetensors"],
                      "inside the picture folder"),
    "predict corrupt": (["predict", "{model}", "{corrupt}"], "broken.png: not a readable"),
    "predict missing": (["predict", "{model}", "{d}/nope"], "nope: no such file or folder"),
    "predict text file": (["predict", "{model}", "{text}/dog/notes.txt"], "not a picture file"),
    "predict unknown": (["predict", "{model}", "{pets}", "--unknown", "ignore"],
                        "--unknown applies to a CSV"),
    "explain no image": (["explain", "{model}"], "give the picture to explain with --image"),
    "explain bad image": (["explain", "{model}", "--image", "{corrupt}/dog/broken.png"],
                          "broken.png: not a readable image"),
    "explain class": (["explain", "{model}", "--image", "{pets}/cat/cat_0000.png", "--class",
                       "bird"], "--class 'bird' is not one of"),
    "explain param": (["explain", "{model}", "--image", "{pets}/cat/cat_0000.png", "--param",
                       "W1x"], "--param W1x: for a picture model name a convolution"),
    "explain index": (["explain", "{model}", "--image", "{pets}/cat/cat_0000.png", "--index",
                       "99,0,0,0", "--out", "{d}/i.png"], "--index for a convolution weight"),
    "explain out": (["explain", "{model}", "--image", "{pets}/cat/cat_0000.png", "--out",
                     "{d}/x.gif"], "name a .png, .svg or .pdf"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_picture_input_is_one_line_exit_2(name, pets, picture_model, tmp_path):
    folders = _bad_folders(tmp_path / "bad", pets)
    values = {k: str(v) for k, v in folders.items()} | {
        "pets": str(pets), "model": str(picture_model), "d": str(tmp_path)}
    args, expected = BAD[name]
    result = run(*(a.format(**values) for a in args))
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert expected.format(**values) in lines[0], lines[0]


def test_skip_bad_trains_and_counts(pets, tmp_path):
    folders = _bad_folders(tmp_path / "bad", pets)
    out = tmp_path / "m.safetensors"
    result = run("train", folders["corrupt"], "--skip-bad", "--epochs", "1", "--out", out,
                 "--val-fraction", "0", "--test-fraction", "0.3")
    assert result.exit_code == 0, result.output
    assert "skipped: " in result.stdout and "broken.png" in result.stdout
    assert "6 pictures" in result.stdout
