"""Check arrays handed to the Python API and turn them into float matrices and targets.

Lists, NumPy arrays and pandas DataFrames/Series are accepted (pandas is never imported
here: an object is treated as a DataFrame only when pandas is already loaded and the object
is one). Every refusal is a `DataError` that says what is wrong and where (row, column).
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from descent.errors import DataError

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _pandas() -> Any:
    return sys.modules.get("pandas")


def _check_dtype_arg(dtype: Any) -> np.dtype | None:
    if dtype is None:
        return None
    d = np.dtype(dtype)
    if d not in _FLOATS:
        raise ValueError(f"dtype must be float32 or float64, got {d}")
    return d


def _frame_to_array(X: Any, name: str) -> np.ndarray:
    pd = _pandas()
    for column, dt in X.dtypes.items():
        if not (pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt)):
            raise DataError(
                f"{name} column {str(column)!r} has dtype {dt}, not numbers; encode text "
                "columns first (descent.data.TableEncoder)"
            )
        if pd.api.types.is_complex_dtype(dt):
            raise DataError(f"{name} column {str(column)!r} holds complex numbers")
    kinds = {np.dtype(dt).kind if isinstance(dt, np.dtype) else "x" for dt in X.dtypes}
    dtypes = set(X.dtypes)
    # A DataFrame all float32 stays float32, any float64 makes float64, else the default.
    if dtypes == {np.dtype(np.float32)}:
        target = np.float32
    elif np.dtype(np.float64) in dtypes or kinds - {"b", "i", "u", "f"}:
        target = np.float64
    else:
        target = np.float32
    return X.to_numpy(dtype=target, na_value=np.nan)


def _ragged_message(X: Any, name: str) -> str:
    try:
        lengths = [len(row) for row in X]
    except TypeError:
        return f"{name} mixes rows and single values; every row needs the same number of values"
    first = lengths[0]
    i = next(k for k, length in enumerate(lengths) if length != first)
    return (
        f"{name} rows have different lengths: row 0 has {first} values, row {i} has "
        f"{lengths[i]}"
    )


def _position(index: tuple[int, ...]) -> str:
    if len(index) == 1:
        return f"row {index[0]}"
    return f"row {index[0]}, column {index[1]}"


def _numeric_objects(a: np.ndarray, name: str, hint: str) -> np.ndarray:
    """float64 copy of an object/str array whose entries are all real numbers."""
    for index, v in np.ndenumerate(a):
        if v is None:
            raise DataError(f"{name} has a missing value (None) at {_position(index)}")
        if isinstance(v, str | bytes | np.str_ | np.bytes_):
            raise DataError(f"{name} holds text ({str(v)!r} at {_position(index)}); {hint}")
        if isinstance(v, complex | np.complexfloating):
            raise DataError(f"{name} holds a complex number at {_position(index)}")
        if not isinstance(v, int | float | np.integer | np.floating | np.bool_):
            raise DataError(
                f"{name} holds a {type(v).__name__} at {_position(index)}, not a number"
            )
    return a.astype(np.float64)


def _to_numeric(a: np.ndarray, name: str, hint: str) -> np.ndarray:
    kind = a.dtype.kind
    if kind == "c":
        raise DataError(f"{name} holds complex numbers (dtype {a.dtype}); pass real numbers")
    if kind in "OUS":
        return _numeric_objects(a, name, hint)
    if kind not in "biuf":
        raise DataError(f"{name} has dtype {a.dtype}, not numbers")
    return a


def _check_finite(out: np.ndarray, original: np.ndarray, name: str) -> None:
    # min and max are NaN or infinite exactly when some entry is: two reductions, no mask
    # as large as X (which would cost more memory than training), unless X is bad.
    if out.size == 0 or (np.isfinite(out.min()) and np.isfinite(out.max())):
        return
    bad = ~np.isfinite(out)
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    before = float(original[index])
    if math.isnan(before):
        what = "NaN"
    elif math.isinf(before):
        what = "an infinite value"
    else:
        what = f"{before:g}, too large for {out.dtype}"
    raise DataError(f"{name} has {what} at {_position(index)}")


def as_float_matrix(
    X: Any, name: str = "X", *, dtype: Any = None, n_features: int | None = None
) -> np.ndarray:
    """X as a finite 2-D float array of shape (n_samples, n_features).

    Args:
        X: nested lists, a NumPy array or a pandas DataFrame of numbers.
        name: how messages call it.
        dtype: float32 or float64; None keeps a float32 / float64 array's dtype and makes
            float32 from anything else (lists, ints, bools).
        n_features: the number of columns X must have (e.g. what a model was trained on).

    Raises DataError for: 1-D input (with the reshape that fixes it), more than 2
    dimensions, no rows or no columns, ragged rows, text or None entries, complex numbers,
    NaN or infinity (naming the first bad row and column), the wrong number of features.

    >>> as_float_matrix([[1, 2], [3, 4]]).dtype
    dtype('float32')
    >>> as_float_matrix(np.zeros((2, 3)), n_features=3).shape
    (2, 3)
    """
    want = _check_dtype_arg(dtype)
    pd = _pandas()
    hint = "encode text columns first (descent.data.TableEncoder)"
    if pd is not None and isinstance(X, pd.Series):
        raise DataError(
            f"{name} is a pandas Series (1-D); pass a DataFrame, e.g. {name}.to_frame() for a "
            "single feature"
        )
    if pd is not None and isinstance(X, pd.DataFrame):
        a = _frame_to_array(X, name)
        keep = a.dtype
    else:
        try:
            a = np.asarray(X)
        except ValueError:
            raise DataError(_ragged_message(X, name)) from None
        keep = a.dtype if isinstance(X, np.ndarray) and a.dtype in _FLOATS else None
        if a.dtype == object and a.ndim == 1 and len(a) and all(
            isinstance(r, list | tuple | np.ndarray) for r in a
        ):
            raise DataError(_ragged_message(X, name))
        a = _to_numeric(a, name, hint)
    if a.ndim == 0:
        raise DataError(f"{name} must be 2-D (n_samples, n_features), got a single value")
    if a.ndim == 1:
        raise DataError(
            f"{name} must be 2-D (n_samples, n_features), got 1-D shape {a.shape}; use "
            f"{name}.reshape(-1, 1) if it is one feature, or {name}.reshape(1, -1) if it is "
            "one sample"
        )
    if a.ndim > 2:
        raise DataError(
            f"{name} must be 2-D (n_samples, n_features), got shape {a.shape}; flatten each "
            f"sample, e.g. {name}.reshape(len({name}), -1)"
        )
    if a.shape[0] == 0:
        raise DataError(f"{name} has no rows (shape {a.shape})")
    if a.shape[1] == 0:
        raise DataError(f"{name} has no features (shape {a.shape})")
    out_dtype = want or keep or np.dtype(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.ascontiguousarray(a, dtype=out_dtype)
    _check_finite(out, a, name)
    if n_features is not None and out.shape[1] != n_features:
        raise DataError(
            f"{name} has {out.shape[1]} features, but the model was trained with {n_features}"
        )
    return out


def as_float_batch(X: Any, name: str = "X", *, dtype: Any = None) -> np.ndarray:
    """X as finite floats, one example per index of the first axis: a table (N, n_features)
    as `as_float_matrix` gives it, or signals (N, C, L) and pictures (N, C, H, W).

    Raises DataError for fewer than 2 or more than 4 dimensions, no examples, non-numbers,
    NaN or infinity (naming the example and the position inside it).

    >>> as_float_batch(np.zeros((5, 1, 28, 28), np.uint8)).dtype
    dtype('float32')
    >>> as_float_batch([[1, 2]]).shape
    (1, 2)
    """
    if np.ndim(X) <= 2:
        return as_float_matrix(X, name, dtype=dtype)
    want = _check_dtype_arg(dtype)
    a = np.asarray(X)
    if a.ndim > 4:
        raise DataError(f"{name} must be (N, features), (N, C, L) or (N, C, H, W); got shape "
                        f"{a.shape}")
    if a.dtype.kind not in "biuf":
        raise DataError(f"{name} has dtype {a.dtype}, not numbers")
    if a.shape[0] == 0 or a.size == 0:
        raise DataError(f"{name} has no values (shape {a.shape})")
    keep = a.dtype if a.dtype in _FLOATS else None
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.ascontiguousarray(a, dtype=want or keep or np.dtype(np.float32))
    if not (np.isfinite(out.min()) and np.isfinite(out.max())):
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(out))[0])
        raise DataError(f"{name} has a non-finite value ({float(a[index]):g}) in example "
                        f"{index[0]} at position {index[1:]}")
    return out


TARGET_TASKS = ("regression", "classification")


def as_target(
    y: Any,
    name: str = "y",
    *,
    n_samples: int | None = None,
    task: str = "regression",
    dtype: Any = None,
) -> np.ndarray:
    """y as a 1-D array of shape (n_samples,): floats for regression, labels for classification.

    Args:
        y: a list, NumPy array, pandas Series, or a one-column DataFrame / (n, 1) array
            (flattened).
        n_samples: the number of rows of X, which y must match.
        task: "regression" gives finite floats (dtype as in `as_float_matrix`);
            "classification" keeps the labels as they are (numbers, strings, bools) and only
            rejects missing and non-finite ones.

    >>> as_target([1, 2, 3]).dtype
    dtype('float32')
    >>> as_target(["cat", "dog"], task="classification").tolist()
    ['cat', 'dog']
    """
    if task not in TARGET_TASKS:
        raise ValueError(f"task must be 'regression' or 'classification', got {task!r}")
    want = _check_dtype_arg(dtype)
    pd = _pandas()
    if pd is not None and isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise DataError(f"{name} must be one column, got a DataFrame with {y.shape[1]}")
        y = y.iloc[:, 0]
    if pd is not None and isinstance(y, pd.Series):
        if isinstance(y.dtype, np.dtype):
            a = y.to_numpy()
        elif pd.api.types.is_numeric_dtype(y.dtype) and not pd.api.types.is_bool_dtype(y.dtype):
            a = y.to_numpy(dtype=np.float64, na_value=np.nan)  # nullable Int64, Float32, ...
        else:
            a = y.to_numpy(dtype=object, na_value=None)  # categorical, string, boolean
        keep = a.dtype if isinstance(y.dtype, np.dtype) and a.dtype in _FLOATS else None
    else:
        a = np.asarray(y)
        keep = a.dtype if isinstance(y, np.ndarray) and a.dtype in _FLOATS else None
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise DataError(f"{name} must be 1-D (n_samples,), got shape {a.shape}")
    if len(a) == 0:
        raise DataError(f"{name} is empty")
    if n_samples is not None and len(a) != n_samples:
        raise DataError(f"X has {n_samples} rows but {name} has {len(a)}; they must match")
    if task == "classification":
        return _check_labels(a, name)
    a = _to_numeric(a, name, "a regression target must be numbers (use task='classification')")
    out_dtype = want or keep or np.dtype(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.ascontiguousarray(a, dtype=out_dtype)
    _check_finite(out, a, name)
    return out


def _check_labels(a: np.ndarray, name: str) -> np.ndarray:
    if a.dtype.kind == "c":
        raise DataError(f"{name} holds complex numbers; class labels must be numbers or text")
    if a.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(a))
        if bad.size:
            raise DataError(f"{name} has a missing or infinite label at row {bad[0]}")
    if a.dtype.kind == "O":
        for i, v in enumerate(a):
            if v is None or (isinstance(v, float | np.floating) and not math.isfinite(v)):
                raise DataError(f"{name} has a missing or infinite label at row {i}")
    return a


def as_xy(
    X: Any, y: Any, *, task: str = "regression", dtype: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """(`as_float_matrix(X)`, `as_target(y)`) with their lengths checked against each other.

    >>> X, y = as_xy([[0.0], [1.0]], [0, 1], task="classification")
    >>> X.shape, y.tolist()
    ((2, 1), [0, 1])
    """
    X = as_float_matrix(X, dtype=dtype)
    y = as_target(y, n_samples=X.shape[0], task=task, dtype=dtype or X.dtype)
    return X, y
