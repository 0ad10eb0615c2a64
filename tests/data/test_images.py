"""Reading folders of images: the ImageFolder convention, every format, every bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from descent.data import read_image, read_image_folder
from descent.data.images import IMAGE_EXTENSIONS, natural_key, to_channels
from descent.errors import DataError


def gray(path: Path, value: int, size=(5, 4)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", size, value).save(path)
    return path


def two_classes(root: Path) -> Path:
    gray(root / "cat" / "a.png", 10)
    gray(root / "cat" / "b.png", 20)
    gray(root / "dog" / "a.png", 200)
    return root


def test_classes_in_natural_order_files_in_natural_order(tmp_path):
    for name in ("class10", "class2", "class1"):
        gray(tmp_path / name / "img10.png", 1)
        gray(tmp_path / name / "img9.png", 2)
    s = read_image_folder(tmp_path)
    assert s.classes == ["class1", "class2", "class10"]
    assert s.files[:2] == ["class1/img9.png", "class1/img10.png"]
    assert s.labels.tolist() == [0, 0, 1, 1, 2, 2]
    assert sorted(["b10", "b9", "a"], key=natural_key) == ["a", "b9", "b10"]


def test_hidden_entries_and_top_level_files_are_skipped(tmp_path):
    two_classes(tmp_path)
    (tmp_path / "LICENSE").write_text("MIT")
    (tmp_path / "README.md").write_text("pets")
    (tmp_path / "cat" / ".DS_Store").write_bytes(b"\x00\x01junk")
    (tmp_path / "cat" / "Thumbs.db").write_bytes(b"junk")
    gray(tmp_path / "cat" / ".ipynb_checkpoints" / "a-checkpoint.png", 99)
    gray(tmp_path / ".hidden_class" / "x.png", 99)
    gray(tmp_path / "__MACOSX" / "x.png", 99)
    s = read_image_folder(tmp_path)
    assert s.classes == ["cat", "dog"]
    assert s.files == ["cat/a.png", "cat/b.png", "dog/a.png"]
    assert s.images[:, 0, 0, 0].tolist() == [10, 20, 200]
    assert s.skipped == []


def test_nested_folders_inside_a_class_are_read(tmp_path):
    two_classes(tmp_path)
    gray(tmp_path / "dog" / "puppies" / "p.png", 150)
    s = read_image_folder(tmp_path)
    assert "dog/puppies/p.png" in s.files
    assert s.labels[s.files.index("dog/puppies/p.png")] == 1


@pytest.mark.parametrize("ext", IMAGE_EXTENSIONS)
def test_every_extension_is_read(tmp_path, ext):
    lossy = ext in (".jpg", ".jpeg", ".webp")
    for cls, value in (("a", 40), ("b", 220)):
        path = tmp_path / cls / f"x{ext}"
        path.parent.mkdir(parents=True)
        Image.new("RGB", (8, 6), (value, value, value)).save(path)
    s = read_image_folder(tmp_path)
    assert s.images.shape == (2, 1, 6, 8)
    expected = np.array([40, 220])[:, None, None]
    tolerance = 3 if lossy else 0
    assert np.abs(s.images[:, 0].astype(int) - expected).max() <= tolerance


def test_gif_first_frame(tmp_path):
    frames = [Image.new("L", (4, 4), v) for v in (30, 250)]
    path = tmp_path / "a" / "anim.gif"
    path.parent.mkdir()
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    gray(tmp_path / "b" / "x.png", 0, (4, 4))
    with Image.open(path) as im:
        assert im.n_frames == 2
    assert read_image_folder(tmp_path).images[0, 0, 0, 0] == 30


def test_color_rgba_16bit_and_channels(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    Image.new("RGB", (4, 4), (255, 0, 0)).save(tmp_path / "a" / "red.png")
    # half-transparent blue: over white it reads (127.5, 127.5, 255)
    Image.new("RGBA", (4, 4), (0, 0, 255, 128)).save(tmp_path / "b" / "blue.png")
    wide = np.full((4, 4), 65535, np.uint16)
    Image.fromarray(wide).save(tmp_path / "b" / "deep.png")
    s = read_image_folder(tmp_path)
    assert s.images.shape == (3, 3, 4, 4)
    assert s.images[0, :, 0, 0].tolist() == [255, 0, 0]
    r = round(255 * (1 - 128 / 255))
    assert s.images[1, :, 0, 0].tolist() == [r, r, 255]
    assert s.images[2, :, 0, 0].tolist() == [255, 255, 255]
    one = read_image_folder(tmp_path, channels=1)
    assert one.images.shape == (3, 1, 4, 4)
    assert one.images[0, 0, 0, 0] == round(0.299 * 255)


def test_gray_images_stay_one_channel_and_luma_of_gray_is_exact():
    values = np.arange(256, dtype=np.uint8)
    rgb = np.repeat(values[None, :, None], 3, axis=2)
    assert to_channels(rgb, 1)[0, 0].tolist() == values.tolist()


def test_exif_orientation_is_applied(tmp_path):
    image = Image.new("L", (6, 2), 0)
    image.putpixel((0, 0), 255)  # top-left marked
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    path = tmp_path / "a" / "photo.jpg"
    path.parent.mkdir()
    image.save(path, exif=exif, quality=100)
    assert read_image(path, (6, 2), 1).shape == (1, 6, 2)  # upright: 2 wide, 6 tall


def test_resized_to_the_most_common_size_or_the_size_asked(tmp_path):
    gray(tmp_path / "a" / "1.png", 50, (10, 8))
    gray(tmp_path / "a" / "2.png", 50, (10, 8))
    gray(tmp_path / "b" / "1.png", 50, (3, 30))
    assert read_image_folder(tmp_path).images.shape == (3, 1, 8, 10)
    assert read_image_folder(tmp_path, size=12).images.shape == (3, 1, 12, 12)
    assert read_image_folder(tmp_path, size=(5, 7)).images.shape == (3, 1, 5, 7)
    assert np.all(read_image_folder(tmp_path, size=(5, 7)).images == 50)  # flat stays flat


def test_large_pictures_shrink_to_64_pixels(tmp_path):
    gray(tmp_path / "a" / "1.png", 9, (200, 100))
    gray(tmp_path / "b" / "1.png", 9, (200, 100))
    assert read_image_folder(tmp_path).shape == (1, 32, 64)


# ---- bad input: one clear message naming the file, or a count with skip_bad --------------------

def test_corrupt_file_named(tmp_path):
    two_classes(tmp_path)
    (tmp_path / "dog" / "broken.png").write_bytes(b"this is not a png")
    with pytest.raises(DataError, match=r"dog/broken\.png: not a readable image.*skip_bad"):
        read_image_folder(tmp_path)
    s = read_image_folder(tmp_path, skip_bad=True)
    assert len(s) == 3 and len(s.skipped) == 1 and "broken.png" in s.skipped[0]


def test_truncated_file_named(tmp_path):
    two_classes(tmp_path)
    rng = np.random.default_rng(0)
    full = tmp_path / "full.png"
    Image.fromarray(rng.integers(0, 255, (64, 64), dtype=np.uint8)).save(full)
    data = full.read_bytes()
    (tmp_path / "dog" / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"dog/cut\.png: a corrupt or truncated image"):
        read_image_folder(tmp_path)
    s = read_image_folder(tmp_path, skip_bad=True)
    assert s.files == ["cat/a.png", "cat/b.png", "dog/a.png"]
    assert s.labels.tolist() == [0, 0, 1]  # no wrong label after a skipped file


def test_non_image_file_named(tmp_path):
    two_classes(tmp_path)
    (tmp_path / "cat" / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match=r"cat/notes\.txt: not an image file"):
        read_image_folder(tmp_path, skip_hint="--skip-bad")
    with pytest.raises(DataError, match=r"--skip-bad skips"):
        read_image_folder(tmp_path, skip_hint="--skip-bad")
    assert len(read_image_folder(tmp_path, skip_bad=True).skipped) == 1


def test_image_under_a_wrong_extension_is_read_by_its_content(tmp_path):
    two_classes(tmp_path)
    Image.new("L", (5, 4), 77).save(tmp_path / "dog" / "really.jpg", format="PNG")
    s = read_image_folder(tmp_path)
    assert s.images[s.files.index("dog/really.jpg"), 0, 0, 0] == 77


def test_empty_class_folder_named(tmp_path):
    two_classes(tmp_path)
    (tmp_path / "bird").mkdir()
    with pytest.raises(DataError, match=r"bird: an empty class folder"):
        read_image_folder(tmp_path)
    s = read_image_folder(tmp_path, skip_bad=True)
    assert s.classes == ["cat", "dog"] and "bird" in s.skipped[0]


def test_one_class_is_refused(tmp_path):
    gray(tmp_path / "cat" / "a.png", 1)
    with pytest.raises(DataError, match=r"only one class \(cat\)"):
        read_image_folder(tmp_path)


def test_loose_images_without_class_folders(tmp_path):
    gray(tmp_path / "a.png", 1)
    with pytest.raises(DataError, match="holds images but no class folders"):
        read_image_folder(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no class folders with images"):
        read_image_folder(empty)


def test_missing_folder_and_file_instead_of_folder(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        read_image_folder(tmp_path / "nope")
    file = gray(tmp_path / "x.png", 1)
    with pytest.raises(DataError, match="not a folder"):
        read_image_folder(file)
    with pytest.raises(DataError, match="no such file"):
        read_image(tmp_path / "nope.png", (2, 2), 1)


def test_a_class_whose_every_file_is_bad(tmp_path):
    two_classes(tmp_path)
    (tmp_path / "zebra").mkdir()
    (tmp_path / "zebra" / "z.png").write_bytes(b"junk")
    s = read_image_folder(tmp_path, skip_bad=True)
    assert s.classes == ["cat", "dog"]  # the folder had no image: skipped as empty
    assert len(s.skipped) == 2


def test_bad_size_argument(tmp_path):
    two_classes(tmp_path)
    with pytest.raises(ValueError, match="size must be"):
        read_image_folder(tmp_path, size=(0, 4))
