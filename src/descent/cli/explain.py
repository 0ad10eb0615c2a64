"""`descent explain`: the chain rule for one weight of a trained model, on one row of data."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from descent.cli.boundary import user_errors
from descent.cli.train import EMBEDDED
from descent.data import Table as DataTable
from descent.data import load_windsor, read_csv_row
from descent.data.csv_reader import sniff_delimiter
from descent.explain.chain import chain_rule, resolve_parameter
from descent.explain.tables import fmt, print_chain
from descent.tabular.model import TabularModel
from descent.train import predict_array

EPILOG = """Examples:

  descent train && descent explain model.safetensors --row 1

  descent explain model.safetensors --row 12 --param W2 --index 5,0

  descent explain model.safetensors --row 3 --param b1 --index 7 --csv houses.csv

--param names a parameter as W1, b1, W2, ... (the l-th layer, counted from the input) or \
by its name in the model (0.weight, 0.bias, 2.weight, ...). A weight W_l has shape \
(inputs, outputs) since z = a W + b, so --index i,j is input unit i, output unit j.
"""


def _load_row(csv: Path | None, row: int, model: TabularModel, extra: dict,
              model_path: Path) -> DataTable:
    """Row `row` (1-based) as a one-row table, from a file the user named, every column as
    text as `descent train` reads it (the model's schema types it).

    The model's metadata only names the data it was trained on; descent never opens a path
    written inside a model file (a crafted file could point it anywhere).
    """
    if csv is None:
        if extra.get("data") != EMBEDDED:
            name = extra.get("data")
            trained = f" (it was trained on {name})" if isinstance(name, str) and name else ""
            raise ValueError(f"{model_path} was not trained on the embedded data{trained}: "
                             "give the rows with --csv FILE")
        # Name it by what it is, not by its path inside the installed package.
        rows = dataclasses.replace(load_windsor(), path="windsor_housing.csv (embedded)")
        if row > len(rows):
            raise ValueError(f"--row {row} is past the end: {rows.source} has {len(rows)} "
                             "data rows")
        return rows.take([row - 1])
    try:  # one row, read once (a pipe works too), whatever the length of the file
        one = read_csv_row(csv, row - 1, delimiter=sniff_delimiter(csv), all_text=True)
    except IndexError as error:
        raise ValueError(f"--row {row} is past the end: {error}") from None
    if model.target not in one.values:
        raise ValueError(f"{csv} has no {model.target!r} column: the chain rule needs the "
                         "row's target to compute the cost")
    return one


def _parse_index(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"--index takes whole numbers separated by commas, such as 0,3; got "
                         f"{text!r}") from None


def _row_table(model: TabularModel, row: DataTable, X: np.ndarray, y_shown: str,
               prediction: str) -> Table:
    table = Table(title=f"{row.location(0)}: what the network sees", title_justify="left",
                  caption=f"target {model.target} = {y_shown}; the model predicts {prediction}",
                  caption_justify="left")
    table.add_column("input", justify="right", style="dim")
    table.add_column("feature")
    table.add_column("standardized x[i]", justify="right", style="cyan")
    for i, name in enumerate(model.encoder.feature_names_):
        table.add_row(str(i), name, fmt(X[0, i]))
    return table


def explain(
    model_path: Annotated[Path, typer.Argument(
        metavar="MODEL", help="A model file written by `descent train`.", show_default=False)],
    row: Annotated[int, typer.Option(
        "--row", min=1, help="Which data row: 1 is the first row after the header.")] = 1,
    param: Annotated[str, typer.Option(
        "--param", help="The parameter: W1, b1, W2, ... or a name such as 0.weight.")] = "W1",
    index: Annotated[str | None, typer.Option(
        "--index", show_default=False,
        help="Its entry: i,j for a weight, j for a bias \\[default: the first, 0,0 or 0]")] = None,
    csv: Annotated[Path | None, typer.Option(
        "--csv", help="Take the row from this CSV (needed unless the model was trained on "
                      "the embedded data: a model file never makes descent open a file).")
    ] = None,
    image: Annotated[Path | None, typer.Option(
        "--image", help="Picture models: the picture to explain.")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", show_default=False,
        help="Picture models: where to write the explanation picture (default: "
             "explain_<picture name>.png).")] = None,
    target: Annotated[str | None, typer.Option(
        "--class", show_default=False,
        help="Picture models: the class to explain (default: the predicted one).")] = None,
) -> None:
    """Show the chain rule for one weight of a trained model on one row of data.

    Every factor of ∂C/∂w is printed with its formula and its number for that row (after
    the stored encoder and scalers), then their product beside the gradient the autodiff
    engine computes: they agree to rounding.
    """
    console = Console(soft_wrap=True, highlight=False)
    with user_errors():
        from descent.cli.predict_images import is_picture_model

        if is_picture_model(model_path):
            from descent.cli.explain_image import explain_picture

            if image is None:
                raise ValueError(f"{model_path} is a picture model: give the picture to "
                                 "explain with --image FILE")
            if csv is not None or row != 1:
                raise ValueError("--row and --csv apply to table models; a picture model "
                                 "explains the picture given with --image")
            explain_picture(model_path, image, out=out, target=target,
                            param=None if param == "W1" else param, index=index)
            return
        for flag, value in (("--image", image), ("--out", out), ("--class", target)):
            if value is not None:
                raise ValueError(f"{flag} applies to picture models; {model_path} reads a "
                                 "table")
        model, extra = TabularModel.load(model_path)
        where = _default_index(index, param)
        try:  # check --param and --index before printing anything
            resolve_parameter(model.network, param, where)
        except ValueError as error:
            raise ValueError(f"--param {param}: {error}") from None
        one = _load_row(csv, row, model, extra, model_path)
        X = model.features(one)
        typed = one if model.schema is None else model.schema.apply(one)
        y = model.encoder.transform_target(typed)
        prediction = model.predict_outputs(predict_array(model.network, X)).values[0]
        target_value = typed.values[model.target][0]
        y_net = y if model.y_scaler is None else model.y_scaler.transform(y)
        shown_y = fmt(target_value) if model.task == "regression" else str(target_value)
        shown_pred = fmt(prediction) if model.task == "regression" else str(prediction)
        console.print(_row_table(model, one, X, shown_y, shown_pred))
        if model.y_scaler is not None:
            how = ("standardized target" if model.network.output_activation == "identity"
                   else f"target scaled into the {model.network.output_activation} output's "
                   "range")
            console.print(f"The network was trained on the {how}: y = "
                          f"({fmt(target_value)} − {fmt(model.y_scaler.mean_[0])}) / "
                          f"{fmt(model.y_scaler.scale_[0])} = {fmt(y_net[0])}")
        chain = chain_rule(model.network, X, y_net, param, where, loss=model.loss)
        print_chain(chain, console)


def _default_index(index: str | None, param: str) -> tuple[int, ...] | int:
    parsed = _parse_index(index)
    if parsed is not None:
        return parsed[0] if len(parsed) == 1 else parsed
    is_bias = param.strip().lower().startswith("b") or param.strip().endswith(".bias")
    return 0 if is_bias else (0, 0)

