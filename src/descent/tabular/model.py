"""`TabularModel`: a network with the preprocessing it was trained with, as one object.

A table goes in (the columns named at training time; extra columns are ignored), the
`TableEncoder` turns it into numbers, the input `Standardizer` scales them, the network
runs, and for regression the target `Standardizer` maps the outputs back to the target's
units. `save` writes all of it into one model file (weights as safetensors, the
preprocessing as JSON metadata); `load` reads it back and checks that the pieces fit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from descent.data import Standardizer, Table, TableEncoder
from descent.data.schema import Schema
from descent.errors import DataError, ModelFileError
from descent.io.container import short_repr as short
from descent.io.models import load_model, save
from descent.nn import Module
from descent.tabular.recipe import TASK_LOSSES
from descent.train import predict_array

FORMAT = "descent.TabularModel"
VERSION = 2  # 2 adds the schema (column understanding) and the unseen-category count


@dataclass
class Prediction:
    """Predictions for the rows of a table.

    `values` (n,): predicted numbers (regression) or class labels (classification, an
    object array of the labels as stored in the model). `probabilities` (n, K) for
    classification (columns in `classes` order), else None.
    """

    values: np.ndarray
    probabilities: np.ndarray | None = None
    classes: list[Any] | None = None


@dataclass
class TabularModel:
    """A trained network and its preprocessing; see the module doc.

    Attributes: `network` (an MLP over standardized features), `encoder` (a fitted
    TableEncoder with its target), `x_scaler` (Standardizer over the encoded features),
    `y_scaler` (Standardizer of the target, regression only, else None), `task`, `loss`,
    `schema` (how the file's columns are read: numbers written "26,000", dates, left-out
    identifiers; None for a table that was typed already).

    >>> from descent.data import load_windsor
    >>> from descent.tabular.table_training import train_table
    >>> from descent.tabular.recipe import Recipe
    >>> result = train_table(load_windsor(), "price", recipe=Recipe(epochs=5), verbose=False)
    >>> result.model.predict(load_windsor()).values.shape
    (546,)
    """

    network: Module
    encoder: TableEncoder
    x_scaler: Standardizer
    y_scaler: Standardizer | None
    task: str
    loss: str
    schema: Schema | None = None

    @property
    def target(self) -> str:
        """The name of the target column."""
        return str(self.encoder.target)

    @property
    def classes(self) -> list[Any] | None:
        """The class labels, in the order of the network's outputs (classification)."""
        return self.encoder.classes_

    @property
    def input_columns(self) -> list[str]:
        """The table (file) columns the model reads."""
        if self.schema is not None:
            return self.schema.input_columns
        return self.encoder.input_columns_

    def reader_kinds(self) -> dict[str, str]:
        """Column kinds for `read_csv` / `iter_csv_chunks` when reading new rows."""
        if self.schema is not None:
            return self.schema.reader_kinds(self.input_columns)
        return self.encoder.reader_kinds()

    def typed(self, table: Table) -> Table:
        """The table as the encoder reads it: the schema applied (when there is one)."""
        if self.schema is None:
            return table
        return self.schema.apply(table.select(self.input_columns), with_target=False)

    def unseen_counts(self, table: Table) -> dict[str, int]:
        """column -> rows of `table` holding a category not seen in training."""
        return self.encoder.unseen_counts(self.typed(table))

    def features(self, table: Table, unknown: str | None = None) -> np.ndarray:
        """The standardized feature matrix (n, n_features) the network sees for `table`.

        `unknown` overrides the encoder's handling of unseen categories ("error" or
        "ignore"). Raises DataError naming the column, line or cell that does not fit.
        """
        X = self.encoder.transform(self.typed(table), unknown=unknown)
        return self.x_scaler.transform(X)

    def outputs(self, table: Table, unknown: str | None = None) -> np.ndarray:
        """The network's raw outputs (n, n_outputs) for `table` (standardized target or logits)."""
        return predict_array(self.network, self.features(table, unknown))

    def predict(self, table: Table, unknown: str | None = None) -> Prediction:
        """Predictions for every row of `table`, in the target's units or labels."""
        return self.predict_outputs(self.outputs(table, unknown))

    def predict_outputs(self, out: np.ndarray) -> Prediction:
        """Turn raw network outputs (n, n_outputs) into a `Prediction`."""
        if self.task == "regression":
            values = out[:, 0]
            if self.y_scaler is not None:
                values = self.y_scaler.inverse_transform(values)
            return Prediction(np.asarray(values, dtype=np.float64))
        z = out - out.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        labels = self.encoder.inverse_transform_target(p.argmax(axis=1))
        return Prediction(labels, p, list(self.classes or []))

    # ---- files -----------------------------------------------------------------------------
    def preprocessing(self) -> dict[str, Any]:
        """Everything but the weights, as JSON-safe data for the model file."""
        return {
            "format": FORMAT, "version": VERSION, "task": self.task, "loss": self.loss,
            "encoder": self.encoder.to_dict(), "x_scaler": self.x_scaler.to_dict(),
            "y_scaler": None if self.y_scaler is None else self.y_scaler.to_dict(),
            "schema": None if self.schema is None else self.schema.to_dict(),
        }

    def save(self, path: str | os.PathLike[str], extra: dict[str, Any] | None = None) -> None:
        """Write the model and its preprocessing to `path` (atomic; SaveError on failure)."""
        save(self.network, path, preprocessing=self.preprocessing(), extra=extra)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> tuple[TabularModel, dict[str, Any]]:
        """(model, extra metadata) from a file written by `save`.

        Raises ModelFileError naming the path when the file is not a tabular model (e.g. a
        bare network saved with `descent.save`) or its parts do not fit together.
        """
        saved = load_model(path)
        source = os.fspath(path)
        pre = saved.preprocessing
        if not isinstance(pre, dict) or pre.get("format") != FORMAT:
            raise ModelFileError(f"{source}: not a model trained on a table (it has no "
                                 "encoder and scalers); train one with `descent train`")
        if pre.get("version") not in (1, VERSION):
            raise ModelFileError(f"{source}: tabular model format version "
                                 f"{pre.get('version')!r}; this descent reads {VERSION}")
        try:
            encoder = TableEncoder.from_dict(pre["encoder"], f"{source}: encoder")
            x_scaler = Standardizer.from_dict(pre["x_scaler"], f"{source}: x_scaler")
            y_scaler = (None if pre["y_scaler"] is None
                        else Standardizer.from_dict(pre["y_scaler"], f"{source}: y_scaler"))
            task, loss = pre["task"], pre["loss"]
            # Every field is checked here, on load, not where it is first used.
            if not isinstance(task, str) or task not in TASK_LOSSES:
                raise ModelFileError(f"{source}: unknown task {short(task)}")
            if not isinstance(loss, str) or loss not in TASK_LOSSES[task]:
                raise ModelFileError(f"{source}: loss {short(loss)} does not fit {task}; "
                                     f"expected one of {', '.join(TASK_LOSSES[task])}")
            schema = (None if pre.get("schema") is None
                      else Schema.from_dict(pre["schema"], f"{source}: schema"))
        except KeyError as missing:
            raise ModelFileError(f"{source}: preprocessing lacks {missing}") from None
        except DataError as error:
            raise ModelFileError(str(error)) from None
        model = cls(saved.model, encoder, x_scaler, y_scaler, task, loss, schema)
        model._check_consistent(source)
        return model, saved.extra

    def _check_consistent(self, source: str) -> None:
        sizes = getattr(self.network, "sizes", None)
        if not isinstance(sizes, list):
            raise ModelFileError(f"{source}: the network is not an MLP")
        if self.task not in ("regression", "classification"):
            raise ModelFileError(f"{source}: unknown task {self.task!r}")
        if self.encoder.task_ != self.task:
            raise ModelFileError(f"{source}: the encoder's task {self.encoder.task_!r} differs "
                                 f"from the model's {self.task!r}")
        n_features = self.encoder.n_features_
        if sizes[0] != n_features or len(self.x_scaler.mean_) != n_features:
            raise ModelFileError(f"{source}: the encoder makes {n_features} features but the "
                                 f"network reads {sizes[0]} and the scaler "
                                 f"{len(self.x_scaler.mean_)}")
        if self.schema is not None and self.schema.feature_columns != \
                self.encoder.input_columns_:
            raise ModelFileError(f"{source}: the schema's columns do not match the encoder's")
        n_out = 1 if self.task == "regression" else len(self.classes or [])
        if sizes[-1] != n_out:
            raise ModelFileError(f"{source}: the network has {sizes[-1]} outputs; the "
                                 f"{self.task} target needs {n_out}")
