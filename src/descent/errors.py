"""descent's own exceptions: each says what is wrong and where.

They subclass the built-in exception a Python user would catch for the same mistake
(ValueError for bad values, TypeError for bad types), so `except ValueError` still works.
"""

from __future__ import annotations


class DescentError(Exception):
    """Base class of every error descent raises on purpose."""


class DataError(DescentError, ValueError):
    """Input data that cannot be used: unreadable file, bad cell, wrong shape.

    The message names the file, line and column where it knows them.
    """


class ModelFileError(DescentError, ValueError):
    """A model or checkpoint file that is malformed, truncated, hostile or of a newer format."""


class DivergenceError(DescentError, FloatingPointError):
    """Training produced a non-finite loss or weight; the message names epoch and batch."""


class NotFittedError(DescentError, ValueError):
    """A model was asked to predict before it was trained."""


class SaveError(DescentError, OSError):
    """A file could not be saved: disk full, read-only or missing folder, path is a folder.

    The message names the path and the reason. The save is atomic, so whatever was at the
    path before (if anything) is still there, unchanged. `errno` is the underlying cause's.
    """


class FormulaError(DescentError, ValueError):
    """Formula text that descent refuses to read: bad syntax, or a construct outside the
    small allow-list of numbers, variables, + - * / ** and the named functions.

    The message names the offending piece and its column (1-based).
    """
