"""`descent predict MODEL PICTURE_OR_FOLDER`: a picture model and pictures in, CSV out.

`descent predict` hands over here when the model file holds a picture model.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from descent.io import atomic_write, preprocessing_format
from descent.pictures.model import FORMAT, ImageModel
from descent.pictures.predict import PictureFiles, write_picture_predictions


def is_picture_model(path: Path) -> bool:
    """Whether the model file at `path` holds a picture model (its header alone is read;
    a file that is not a model file at all is left to the table loader to name)."""
    return preprocessing_format(path) == FORMAT


def predict_pictures(model_path: Path, pictures: Path, out: Path | None,
                     skip_bad: bool) -> None:
    """The body of `descent predict` for a picture model (inside the error boundary)."""
    model, _ = ImageModel.load(model_path)
    if out is None:
        found = write_picture_predictions(model, pictures, sys.stdout, skip_bad=skip_bad,
                                          skip_hint="--skip-bad")
        sys.stdout.flush()
    else:
        def write(binary: io.BufferedIOBase) -> None:
            text = io.TextIOWrapper(binary, encoding="utf-8", newline="")
            write.found = write_picture_predictions(model, pictures, text, skip_bad=skip_bad,
                                                    skip_hint="--skip-bad")
            text.flush()
            text.detach()  # the atomic writer closes the file itself

        atomic_write(out, write)
        found = write.found
    _report(found, out)


def _report(found: PictureFiles, out: Path | None) -> None:
    n = len(found.files) - len(found.skipped)
    where = f" to {out}" if out is not None else ""
    print(f"wrote {n} picture prediction{'s' if n != 1 else ''}{where}", file=sys.stderr)
    if found.ignored:
        print(f"ignored {len(found.ignored)} file(s) that are not pictures, e.g. "
              f"{found.ignored[0]}", file=sys.stderr)
    if found.skipped:
        print(f"skipped {len(found.skipped)} unreadable picture(s), e.g. {found.skipped[0]}",
              file=sys.stderr)
