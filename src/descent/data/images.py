"""Pictures in: a folder of images, one sub-folder per class, read into a uint8 `ImageSet`.

The convention is torchvision's ImageFolder and Keras' image_dataset_from_directory:

    pets/cat/001.png  pets/cat/002.jpg  ...  pets/dog/001.png  ...

- classes are the sub-folders, in natural order (class2 before class10); files at the top
  level (a README, a LICENSE) are not pictures of a class and are left alone;
- hidden files and folders (.DS_Store, .ipynb_checkpoints, any dot-name, __MACOSX) and the
  operating systems' Thumbs.db / desktop.ini are skipped; class folders are searched
  recursively, files in natural order of their path;
- png, jpg, jpeg, bmp, gif (the first frame), webp, tif and tiff are read through Pillow
  (the `images` extra), turned upright by their EXIF orientation, made RGB (transparent
  pixels shown over white, as a viewer shows them; 16-bit images scaled to 8 bits),
  resized to one size and kept as uint8 (N, C, H, W): one channel when every picture is
  gray, three otherwise.

A corrupt or truncated image, a file that is not an image, an empty class folder or a
folder with fewer than two classes is a `DataError` naming the file or folder. With
`skip_bad=True` bad files (and empty class folders) are skipped and listed in
`ImageSet.skipped` instead; a label is never guessed.
"""

from __future__ import annotations

import os
import re
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from descent.data.image_set import ImageSet
from descent.errors import DataError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
# Pillow decoders we allow: only those of the extensions above, so a file is never handed
# to a parser for a format the user did not mean to give us.
PILLOW_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF")
JUNK_NAMES = {"thumbs.db", "desktop.ini", "__macosx"}
MAX_SIDE = 64  # default size: the most common size, shrunk so its longer side fits this
BACKGROUND = 255  # transparent pixels are composited over white


def natural_key(text: str) -> list[Any]:
    """Sort key that orders digit runs by value: class2 before class10.

    >>> sorted(["class10", "class2", "Class1"], key=natural_key)
    ['Class1', 'class2', 'class10']
    """
    return [int(part) if part.isdigit() else part.lower()
            for part in re.split(r"(\d+)", text)]


def _hidden(name: str) -> bool:
    return name.startswith(".") or name.lower() in JUNK_NAMES


def _pillow() -> Any:
    try:
        from PIL import Image, ImageOps
    except ImportError:
        raise ImportError("reading images needs Pillow, which is not installed; install it "
                          "with pip install 'descent[images]'") from None
    return Image, ImageOps


def is_image_file(path: str | os.PathLike[str]) -> bool:
    """Whether `path` has one of the image extensions descent reads (case does not matter).

    >>> is_image_file("cat.PNG"), is_image_file("notes.txt")
    (True, False)
    """
    return os.path.splitext(os.fspath(path))[1].lower() in IMAGE_EXTENSIONS


def _open(path: Path) -> Any:
    """The opened image (header read, pixels not yet) or DataError naming the file."""
    Image, _ = _pillow()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(path, formats=PILLOW_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DataError(f"{path}: the image is too large to read safely") from None
    except OSError as error:  # includes UnidentifiedImageError
        if isinstance(error, FileNotFoundError | PermissionError | IsADirectoryError):
            raise DataError(f"{path}: {error.strerror}") from None
        raise DataError(f"{path}: not a readable image (Pillow cannot identify it as "
                        f"{', '.join(f.lower() for f in PILLOW_FORMATS)})") from None
    except (ValueError, SyntaxError, EOFError) as error:
        raise DataError(f"{path}: not a readable image ({error})") from None


def _rgb(image: Any) -> np.ndarray:
    """(H, W, 3) uint8 of an opened image: upright, 16-bit scaled, alpha over white."""
    Image, ImageOps = _pillow()
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        a = np.asarray(image, dtype=np.float64)
        top = 65535.0 if a.max(initial=0) > 255 else 255.0
        if image.mode == "F" and a.max(initial=0) <= 1.0:
            top = 1.0
        gray = np.clip(np.rint(a * (255.0 / top)), 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    rgba = np.asarray(image.convert("RGBA"), dtype=np.uint8)
    alpha = rgba[:, :, 3:].astype(np.float32) / 255.0
    if alpha.min(initial=1.0) == 1.0:
        return np.ascontiguousarray(rgba[:, :, :3])
    blended = rgba[:, :, :3] * alpha + BACKGROUND * (1.0 - alpha)
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def to_channels(rgb: np.ndarray, channels: int) -> np.ndarray:
    """(..., H, W, 3) uint8 RGB -> (..., channels, H, W) uint8.

    One channel is the luma 0.299 R + 0.587 G + 0.114 B (ITU-R 601, Pillow's "L"), which
    is exactly the gray value of a gray pixel (R = G = B).

    >>> to_channels(np.full((2, 2, 3), 7, np.uint8), 1)[0].tolist()
    [[7, 7], [7, 7]]
    """
    if channels == 3:
        return np.moveaxis(rgb, -1, -3).copy()
    if channels != 1:
        raise ValueError(f"channels must be 1 (gray) or 3 (RGB), got {channels}")
    luma = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.clip(np.rint(luma), 0, 255).astype(np.uint8)[..., None, :, :]


def read_image(path: str | os.PathLike[str], size: tuple[int, int],
               channels: int) -> np.ndarray:
    """One image file as uint8 (channels, H, W) with (H, W) = `size`.

    Raises DataError naming the file when it is missing, not an image, corrupt or
    truncated.

    >>> import tempfile, os
    >>> from PIL import Image
    >>> path = os.path.join(tempfile.mkdtemp(), "dot.png")
    >>> Image.new("L", (4, 4), 200).save(path)
    >>> read_image(path, (8, 8), channels=1).shape
    (1, 8, 8)
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file" if not path.exists()
                        else f"{path}: not a file")
    return _load(path, _open(path), size, channels)


def _load(path: Path, image: Any, size: tuple[int, int], channels: int) -> np.ndarray:
    Image, _ = _pillow()
    try:
        with image:
            image.seek(0)  # a GIF's or TIFF's first frame
            rgb = _rgb(image)
    except DataError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as error:
        reason = str(error) or type(error).__name__
        raise DataError(f"{path}: a corrupt or truncated image ({reason})") from None
    height, width = size
    if rgb.shape[:2] != (height, width):
        resized = Image.fromarray(rgb).resize((width, height), Image.Resampling.BILINEAR)
        rgb = np.asarray(resized, dtype=np.uint8)
    return to_channels(rgb, channels)


def _class_folders(root: Path) -> list[Path]:
    folders = [p for p in root.iterdir() if p.is_dir() and not _hidden(p.name)]
    return sorted(folders, key=lambda p: natural_key(p.name))


def _files_of(folder: Path) -> list[Path]:
    found = []
    for here, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not _hidden(d)]
        found.extend(Path(here) / f for f in files if not _hidden(f))
    return sorted(found, key=lambda p: natural_key(p.relative_to(folder).as_posix()))


def _choose_size(sizes: list[tuple[int, int]]) -> tuple[int, int]:
    """The most common (H, W), shrunk (keeping its shape) so its longer side is <= MAX_SIDE."""
    (height, width), _ = Counter(sizes).most_common(1)[0]
    scale = min(1.0, MAX_SIDE / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def read_image_folder(
    folder: str | os.PathLike[str],
    *,
    size: tuple[int, int] | int | None = None,
    channels: int | None = None,
    skip_bad: bool = False,
    skip_hint: str = "skip_bad=True",
) -> ImageSet:
    """Read a folder of images, one sub-folder per class, into an `ImageSet`.

    Args:
        folder: the folder whose sub-folders are the classes (see the module doc).
        size: (H, W) or one side for square pictures (None: the most common size, shrunk
            to fit 64 pixels on its longer side).
        channels: 1 (gray) or 3 (RGB); None: 1 when every image is gray, else 3.
        skip_bad: skip unreadable or non-image files and empty class folders (each is
            listed in `ImageSet.skipped`) instead of stopping at the first.
        skip_hint: how the caller's interface spells skip_bad, for the error messages.

    Returns an ImageSet with images uint8 (N, C, H, W), labels int64 (N,) indexing
    `classes`, and each image's file relative to `folder`.

    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for name, shade in (("class10", 30), ("class2", 220)):
    ...     (root / name).mkdir()
    ...     Image.new("L", (6, 5), shade).save(root / name / "a.png")
    >>> s = read_image_folder(root)
    >>> s.classes, s.images.shape, s.labels.tolist()
    (['class2', 'class10'], (2, 1, 5, 6), [0, 1])
    """
    root = Path(folder)
    if not root.exists():
        raise DataError(f"{root}: no such folder")
    if not root.is_dir():
        raise DataError(f"{root}: not a folder (give a folder with one sub-folder of images "
                        "per class)")
    skipped: list[str] = []
    entries: list[tuple[Path, int, tuple[int, int]]] = []  # (file, class index, (H, W))
    classes: list[str] = []

    def bad(message: str) -> None:
        if not skip_bad:
            raise DataError(f"{message} ({skip_hint} skips such files)")
        skipped.append(message)

    for folder_path in _class_folders(root):
        before = len(entries)
        for path in _files_of(folder_path):
            if not is_image_file(path):
                bad(f"{path}: not an image file (descent reads "
                    f"{', '.join(e[1:] for e in IMAGE_EXTENSIONS)})")
                continue
            try:  # the header only: sizes now, pixels later (one file open at a time)
                with _open(path) as image:
                    entries.append((path, len(classes), (image.height, image.width)))
            except DataError as error:
                bad(str(error))
        if len(entries) == before:
            message = f"{folder_path}: an empty class folder (no images in it)"
            if not skip_bad:
                raise DataError(f"{message}; remove it or add pictures ({skip_hint} "
                                "skips it)")
            skipped.append(message)
            continue
        classes.append(folder_path.name)
    _check_classes(root, classes)
    if size is None:
        target = _choose_size([hw for _, _, hw in entries])
    else:
        target = _check_size(size)
    # One uint8 buffer filled in place: memory is the pictures' own size, no list of copies.
    stack = np.empty((len(entries), *target, 3), dtype=np.uint8)
    labels, files = [], []
    for path, label, _ in entries:
        try:
            stack[len(labels)] = np.moveaxis(_load(path, _open(path), target, 3), 0, -1)
        except DataError as error:
            bad(str(error))
            continue
        labels.append(label)
        files.append(path.relative_to(root).as_posix())
    stack = stack[:len(labels)]
    labels_array = np.array(labels, dtype=np.int64)
    present = np.unique(labels_array)
    if len(present) < len(classes):  # every image of a class was bad (skip_bad only)
        lost = [classes[k] for k in range(len(classes)) if k not in present]
        raise DataError(f"{root}: no readable images left in class folder(s) "
                        f"{', '.join(lost)} after skipping bad files")
    if channels is None:
        gray = bool(np.all(stack[..., 0] == stack[..., 1]) and
                    np.all(stack[..., 1] == stack[..., 2]))
        channels = 1 if gray else 3
    return ImageSet(to_channels(stack, channels), labels_array, classes, files,
                    source=str(root), skipped=skipped)


def _check_classes(root: Path, classes: list[str]) -> None:
    if len(classes) >= 2:
        return
    loose = [p.name for p in root.iterdir() if p.is_file() and is_image_file(p)
             and not _hidden(p.name)]
    if not classes and loose:
        raise DataError(f"{root}: holds images but no class folders; put the pictures of "
                        "each class in a sub-folder named after it (cat/, dog/, ...)")
    if not classes:
        raise DataError(f"{root}: no class folders with images; give a folder with one "
                        "sub-folder of images per class (cat/, dog/, ...)")
    raise DataError(f"{root}: only one class ({classes[0]}); a classifier needs at least "
                    "two class folders")


def _check_size(size: tuple[int, int] | int) -> tuple[int, int]:
    pair = (size, size) if isinstance(size, int | np.integer) else tuple(size)
    if (len(pair) != 2 or any(isinstance(s, bool) or not isinstance(s, int | np.integer)
                              for s in pair) or not all(1 <= s <= 1024 for s in pair)):
        raise ValueError(f"size must be one side or (height, width), whole numbers from 1 to "
                         f"1024, got {size!r}")
    return int(pair[0]), int(pair[1])
