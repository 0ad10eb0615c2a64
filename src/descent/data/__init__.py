"""Data in: CSV files and arrays, checked; encoding, scaling, splits, minibatches, datasets.

Pure NumPy and the standard library (pandas only when a DataFrame is handed in). Every bad
input raises `descent.errors.DataError` with one line naming file, line and column.

    >>> from descent.data import load_windsor, TableEncoder, Standardizer, split_indices
    >>> table = load_windsor()
    >>> train, test = split_indices(len(table), (0.8, 0.2), seed=0)
    >>> encoder = TableEncoder(target="price").fit(table.take(train))
    >>> X_train = encoder.transform(table.take(train))
    >>> scaler = Standardizer().fit(X_train)
    >>> scaler.transform(encoder.transform(table.take(test))).shape
    (109, 11)
"""

from descent.data.arrays import as_float_batch, as_float_matrix, as_target, as_xy
from descent.data.batching import check_batch_size, iterate_minibatches, n_batches
from descent.data.cells import MISSING_TOKENS
from descent.data.columns import infer_kind
from descent.data.csv_reader import (
    iter_csv_blocks,
    iter_csv_chunks,
    iter_records,
    read_csv,
    read_csv_header,
    read_csv_row,
)
from descent.data.datasets import (
    load_cats_dogs,
    load_digits,
    load_windsor,
    load_windsor_xy,
    make_moons,
    make_xor,
)
from descent.data.encoding import ColumnEncoding, TableEncoder
from descent.data.frames import table_from_columns, table_from_frame
from descent.data.image_set import ImageSet
from descent.data.images import read_image, read_image_folder
from descent.data.missing import fill_missing, fit_fill_values
from descent.data.pixels import PixelArray
from descent.data.scaling import Standardizer
from descent.data.shapes import make_circle, make_spiral
from descent.data.splits import kfold_indices, split_indices, train_test_indices
from descent.data.table import Table
from descent.data.target import TargetEncoder, encode_labels, infer_task

__all__ = [
    "MISSING_TOKENS",
    "ColumnEncoding",
    "ImageSet",
    "PixelArray",
    "Standardizer",
    "Table",
    "TableEncoder",
    "TargetEncoder",
    "as_float_batch", "as_float_matrix",
    "as_target",
    "as_xy",
    "check_batch_size",
    "encode_labels",
    "fill_missing",
    "fit_fill_values",
    "infer_kind",
    "infer_task",
    "iter_csv_blocks",
    "iter_csv_chunks",
    "iter_records",
    "iterate_minibatches",
    "kfold_indices",
    "load_cats_dogs",
    "load_digits",
    "load_windsor",
    "load_windsor_xy",
    "make_circle",
    "make_moons",
    "make_spiral",
    "make_xor",
    "n_batches",
    "read_csv",
    "read_csv_header",
    "read_csv_row",
    "read_image",
    "read_image_folder",
    "split_indices",
    "table_from_columns",
    "table_from_frame",
    "train_test_indices",
]
