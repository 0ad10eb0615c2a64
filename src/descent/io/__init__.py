"""Model and checkpoint files (safetensors + JSON metadata) and atomic writes.

Works on plain ``dict[str, numpy.ndarray]`` and JSON-safe dicts; it knows nothing of the
autodiff engine or nn, which build ``ds.save`` / ``ds.load`` on top of it.
"""

from descent.io.atomic import TEMP_PREFIX, atomic_write
from descent.io.container import DEFAULT_MAX_HEADER_BYTES, DTYPES
from descent.io.model_file import (
    FORMAT_VERSION,
    KINDS,
    ModelFileInfo,
    decode_model_file,
    encode_model_file,
    preprocessing_format,
    read_model_file,
    read_model_info,
    write_model_file,
)

__all__ = [
    "DEFAULT_MAX_HEADER_BYTES",
    "DTYPES",
    "FORMAT_VERSION",
    "KINDS",
    "TEMP_PREFIX",
    "ModelFileInfo",
    "atomic_write",
    "decode_model_file",
    "encode_model_file",
    "preprocessing_format",
    "read_model_file",
    "read_model_info",
    "write_model_file",
]
