"""`descent predict`: a saved model and a CSV in, the CSV with predictions out."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Annotated

import typer

from descent.cli.boundary import user_errors
from descent.cli.options import MissingAtPredict, Unknown, parse_delimiter
from descent.cli.outputs import check_outputs
from descent.data.csv_reader import sniff_delimiter
from descent.data.hints import command_line
from descent.io import atomic_write, preprocessing_format
from descent.tabular.csv_predict import DEFAULT_CHUNK_ROWS, write_predictions
from descent.tabular.model import FORMAT as TABLE_FORMAT
from descent.tabular.model import TabularModel

EPILOG = """Examples:

  descent predict model.safetensors houses.csv

  descent predict model.safetensors houses.csv --out priced.csv

  descent predict pets.safetensors photos/ --out labels.csv

The output keeps every input column and adds predicted_<target> as the last column; a \
classifier also adds probability_<class> columns (one per class, in the model's class \
order) just before it. Without --out the CSV goes to stdout. The file is read in blocks of \
--chunk-rows rows, so it may be larger than memory. The columns are read as the model \
read them in training (numbers written "26,000", dates, categories matched whatever their \
case or spacing); missing cells are filled as in training, with a warning counting \
them (--missing error makes them an error naming the line and column). A category the \
model never saw in training gets the unseen encoding (all zeros in that column's one-hot \
features) and a warning counting the rows; with --unknown error it is an error naming \
its line and column.

With a picture model (from `descent train FOLDER`) the input is a picture or a folder of \
pictures (searched recursively), and the CSV has file, predicted_class and one \
probability_<class> column per class; --skip-bad skips unreadable pictures instead of \
stopping at the first.
"""


def predict(
    model_path: Annotated[Path, typer.Argument(
        metavar="MODEL", help="A model file written by `descent train`.", show_default=False)],
    csv: Annotated[Path, typer.Argument(
        metavar="CSV_OR_PICTURES", show_default=False,
        help="Rows to predict: a CSV file with the columns the model was trained on (or, "
             "for a picture model, a picture or a folder of pictures).")],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write the CSV here (written whole or not at all) instead of to "
                            "stdout.")] = None,
    unknown: Annotated[Unknown | None, typer.Option(
        "--unknown", show_default=False,
        help="A category not seen in training: ignore (the unseen encoding, all zeros, with a "
             "warning) or error \\[default: as the model was trained, ignore]")] = None,
    missing: Annotated[MissingAtPredict, typer.Option(
        "--missing",
        help="A missing cell in a column the model uses: fill (as in training, with a "
             "warning counting the cells) or error")] = MissingAtPredict.fill,
    delimiter: Annotated[str | None, typer.Option(
        "--delimiter", show_default=False,
        help="Field separator: ',', ';', 'tab', '|' \\[default: judged from the header "
             "line]")] = None,
    chunk_rows: Annotated[int, typer.Option(
        "--chunk-rows", min=1, help="Rows read and predicted at a time.")] = DEFAULT_CHUNK_ROWS,
    skip_bad: Annotated[bool, typer.Option(
        "--skip-bad", help="Pictures: skip unreadable files (and count them) instead of "
                           "stopping.")] = False,
) -> None:
    """Predict with a trained model for every row of a CSV file.

    Applies the preprocessing stored in the model file (the encoding of text columns and
    the scalers), then the network; regression predictions are in the target's units.
    """
    with user_errors(), command_line():
        check_outputs({"--out": out}, [model_path, csv])
        if preprocessing_format(model_path) != TABLE_FORMAT:
            # Imported here: a table model (the usual case) does not need the picture code.
            from descent.cli.predict_images import is_picture_model, predict_pictures

            if is_picture_model(model_path):
                if unknown is not None or missing is not MissingAtPredict.fill:
                    flag = "--unknown" if unknown is not None else "--missing"
                    raise ValueError(f"{flag} applies to a CSV table, not to pictures")
                predict_pictures(model_path, csv, out, skip_bad)
                return
        if skip_bad:
            raise ValueError("--skip-bad applies to pictures; this model reads a CSV table")
        model, _ = TabularModel.load(model_path)
        mode = None if unknown is None else unknown.value
        sep = parse_delimiter(delimiter)
        sep = sniff_delimiter(csv) if sep is None else sep
        unseen: dict[str, int] = {}
        gaps: dict[str, int] = {}
        options = dict(chunk_rows=chunk_rows, unknown=mode, delimiter=sep, unseen=unseen,
                       missing=missing.value, gaps=gaps)
        if out is None:
            if sys.stdout is None:  # started with stdout closed (`>&-`)
                raise ValueError("standard output is closed: give --out FILE to write the "
                                 "predictions to a file")
            write_predictions(model, csv, sys.stdout, **options)
            sys.stdout.flush()
            _warn(unseen, gaps)
            return

        def write(binary: io.BufferedIOBase) -> None:
            text = io.TextIOWrapper(binary, encoding="utf-8", newline="")
            write.rows = write_predictions(model, csv, text, **options)
            text.flush()
            text.detach()  # the atomic writer closes the file itself

        atomic_write(out, write)
        _warn(unseen, gaps)
        print(f"wrote {write.rows} predictions of {model.target} to {out}", file=sys.stderr)


def _warn(unseen: dict[str, int], gaps: dict[str, int]) -> None:
    """A warning line on stderr counting the rows with categories not seen in training,
    and one counting the missing cells filled as in training."""
    if unseen:
        print(f"warning: categories not seen in training ({_counts(unseen, 'row')}) got the "
              "unseen encoding (all zeros); --unknown error makes them an error",
              file=sys.stderr)
    if gaps:
        print(f"warning: missing cells ({_counts(gaps, 'cell')}) were filled as in training; "
              "--missing error makes them an error", file=sys.stderr)


def _counts(counts: dict[str, int], noun: str) -> str:
    return ", ".join(f"{name!r}: {count} {noun}{'s' if count != 1 else ''}"
                     for name, count in counts.items())
