"""Architectures as data: `from_config` builds a network from `Module.config()` output, and
`parameter_shapes` says which tensors (parameters and buffers) it holds without building it.

A model file's architecture comes from whoever wrote the file, so both refuse, by name,
anything malformed or absurd (unknown layers, 10^6-wide kernels, 10^5 channels, nesting
deeper than MAX_NESTING) before a single array is allocated.
"""

from __future__ import annotations

from typing import Any

from descent.nn.activations import Activation, activation_name
from descent.nn.conv import Conv1d, Conv2d
from descent.nn.convnet import MAX_CHANNELS, MAX_WINDOW, ConvNet, convnet_layers
from descent.nn.layers import MLP, Linear, Sequential, _dtype, _positive_int
from descent.nn.module import Module
from descent.nn.normalization import BatchNorm1d, BatchNorm2d
from descent.nn.pooling import AvgPool1d, AvgPool2d, Flatten, GlobalAvgPool, MaxPool1d, MaxPool2d
from descent.nn.regularization import Dropout

MAX_NESTING = 32  # Sequential inside Sequential: real models are shallow; files may not be

_CONVS = {"Conv1d": (Conv1d, 1), "Conv2d": (Conv2d, 2)}
_POOLS = {"MaxPool1d": (MaxPool1d, 1), "MaxPool2d": (MaxPool2d, 2),
          "AvgPool1d": (AvgPool1d, 1), "AvgPool2d": (AvgPool2d, 2)}
_NORMS = {"BatchNorm1d": BatchNorm1d, "BatchNorm2d": BatchNorm2d}
KNOWN = ("MLP", "Sequential", "Linear", "Activation", "ConvNet", *_CONVS, *_POOLS, *_NORMS,
         "GlobalAvgPool", "Flatten", "Dropout")


def _unknown(kind: Any) -> ValueError:
    return ValueError(f"unknown layer type {kind!r} (known: {', '.join(KNOWN)})")


def _window(config: dict, field: str, d: int, kind: str, minimum: int, default: Any) -> Any:
    """A kernel/stride/padding/dilation field: an int or d ints in [minimum, MAX_WINDOW]."""
    value = config.get(field, default)
    if field == "padding" and value in ("same", "valid") and kind in _CONVS:
        return value
    items = value if isinstance(value, list | tuple) else [value]
    if len(items) not in (1, d) or any(
            isinstance(v, bool) or not isinstance(v, int) or v < minimum for v in items):
        raise ValueError(f"{kind} {field} must be an integer >= {minimum} or a list of {d}, "
                         f"got {value!r:.80}")
    if any(v > MAX_WINDOW for v in items):
        raise ValueError(f"{kind} {field} {value!r:.80} is larger than {MAX_WINDOW}")
    return tuple(items) if len(items) == d else (items[0],) * d


def _channels(config: dict, field: str, kind: str) -> int:
    n = _positive_int(config.get(field), f"{kind} {field}")
    if n > MAX_CHANNELS:
        raise ValueError(f"{kind} {field} {n} is larger than {MAX_CHANNELS}")
    return n


def from_config(config: Any, depth: int = 0) -> Module:
    """Rebuild a module from `Module.config()` data (weights are loaded separately).

    Raises ValueError naming what is wrong for unknown layer types or bad fields (the
    data may come from a file written by someone else).

    >>> import descent as ds
    >>> net = ds.nn.MLP([2, 3, 1], seed=0)
    >>> ds.nn.from_config(net.config()).sizes
    [2, 3, 1]
    """
    parameter_shapes(config, depth=depth)  # every check first, before allocating anything
    kind = config["type"]
    dtype = _dtype(config.get("dtype", "float32"))
    try:
        if kind == "MLP":
            return MLP(config["sizes"], config["activation"], config["output_activation"],
                       init=config.get("init"), dtype=dtype)
        if kind == "Sequential":
            return Sequential(*(from_config(c, depth + 1) for c in config["layers"]))
        if kind == "Linear":
            return Linear(config["in_features"], config["out_features"],
                          bias=bool(config.get("bias", True)), init=config.get("init", "lecun"),
                          dtype=dtype)
        if kind == "Activation":
            return Activation(config["name"])
        if kind in _CONVS:
            layer, d = _CONVS[kind]
            return layer(config["in_channels"], config["out_channels"],
                         _window(config, "kernel_size", d, kind, 1, None),
                         _window(config, "stride", d, kind, 1, 1),
                         _window(config, "padding", d, kind, 0, 0),
                         _window(config, "dilation", d, kind, 1, 1),
                         bias=bool(config.get("bias", True)), init=config.get("init", "he"),
                         dtype=dtype)
        if kind in _POOLS:
            layer, d = _POOLS[kind]
            return layer(_window(config, "kernel_size", d, kind, 1, None),
                         _window(config, "stride", d, kind, 1, config.get("kernel_size")),
                         _window(config, "padding", d, kind, 0, 0))
        if kind in _NORMS:
            return _NORMS[kind](config["num_features"], config.get("eps", 1e-5),
                                config.get("momentum", 0.1),
                                affine=bool(config.get("affine", True)), dtype=dtype)
        if kind == "GlobalAvgPool":
            return GlobalAvgPool()
        if kind == "Flatten":
            return Flatten()
        if kind == "Dropout":
            return Dropout(config.get("p", 0.5))
        if kind == "ConvNet":
            return ConvNet(config["input_shape"], config["classes"],
                           channels=config.get("channels", (6, 16)),
                           kernel_size=config.get("kernel_size", 5),
                           hidden=config.get("hidden", (120, 84)),
                           batch_norm=bool(config.get("batch_norm", False)),
                           dropout=config.get("dropout", 0.0), dtype=dtype)
    except KeyError as missing:
        raise ValueError(f"layer {kind!r} config lacks the field {missing}") from None
    except TypeError as error:
        raise ValueError(f"layer {kind!r} config is malformed: {error}") from None
    raise _unknown(kind)


def parameter_shapes(config: Any, prefix: str = "", depth: int = 0) -> dict[str, tuple[int, ...]]:
    """The tensor names and shapes (parameters and buffers) a config describes, computed
    without building it.

    Lets a loader check an untrusted architecture against the tensors in a file before
    allocating anything (a hostile file could otherwise ask for a 10^9-wide layer).

    >>> parameter_shapes({"type": "Linear", "in_features": 3, "out_features": 2})
    {'weight': (3, 2), 'bias': (2,)}
    >>> parameter_shapes({"type": "BatchNorm2d", "num_features": 4})["running_var"]
    (4,)
    """
    if not isinstance(config, dict) or "type" not in config:
        raise ValueError(f"a layer config must be an object with a 'type', got {config!r:.80}")
    kind = config["type"]

    def name(n: str) -> str:
        return f"{prefix}.{n}" if prefix else n

    if "dtype" in config:
        _dtype(config["dtype"])
    if kind == "Activation":
        activation_name(config.get("name"))
        return {}
    if kind in ("Flatten", "GlobalAvgPool"):
        return {}
    if kind == "Dropout":
        p = config.get("p", 0.5)
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p <= 1:
            raise ValueError(f"Dropout p must be a probability in [0, 1], got {p!r:.80}")
        return {}
    if kind in _POOLS:
        d = _POOLS[kind][1]
        kernel = _window(config, "kernel_size", d, kind, 1, None)
        _window(config, "stride", d, kind, 1, config.get("kernel_size"))
        padding = _window(config, "padding", d, kind, 0, 0)
        if any(2 * p > k for p, k in zip(padding, kernel, strict=True)):
            raise ValueError(f"{kind} padding is more than half the kernel")
        return {}
    if kind in _CONVS:
        d = _CONVS[kind][1]
        c_in = _channels(config, "in_channels", kind)
        c_out = _channels(config, "out_channels", kind)
        kernel = _window(config, "kernel_size", d, kind, 1, None)
        for field, minimum, default in (("stride", 1, 1), ("padding", 0, 0),
                                        ("dilation", 1, 1)):
            _window(config, field, d, kind, minimum, default)
        shapes = {name("weight"): (c_out, c_in, *kernel)}
        if config.get("bias", True):
            shapes[name("bias")] = (c_out,)
        return shapes
    if kind in _NORMS:
        c = _channels(config, "num_features", kind)
        for field, default in (("eps", 1e-5), ("momentum", 0.1)):
            value = config.get(field, default)
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not 0 <= value <= 1 or (field == "eps" and value == 0):
                raise ValueError(f"{kind} {field} must be a number in (0, 1], got "
                                 f"{value!r:.80}")
        shapes = {}
        if config.get("affine", True):
            shapes.update({name("weight"): (c,), name("bias"): (c,)})
        shapes.update({name("running_mean"): (c,), name("running_var"): (c,)})
        return shapes
    if kind == "ConvNet":
        fields = {k: config[k] for k in ("channels", "kernel_size", "hidden", "batch_norm",
                                         "dropout") if k in config}
        layers = convnet_layers(config.get("input_shape"), config.get("classes"), **fields,
                                dtype=config.get("dtype", "float32"))
        return parameter_shapes({"type": "Sequential", "layers": layers}, prefix, depth)
    if kind == "Linear":
        n_in = _positive_int(config.get("in_features"), "Linear in_features")
        n_out = _positive_int(config.get("out_features"), "Linear out_features")
        shapes = {name("weight"): (n_in, n_out)}
        if config.get("bias", True):
            shapes[name("bias")] = (n_out,)
        return shapes
    if kind == "Sequential":
        layers = config.get("layers")
        if not isinstance(layers, list):
            raise ValueError("Sequential 'layers' must be a list")
        if depth >= MAX_NESTING:
            raise ValueError(f"layers are nested more than {MAX_NESTING} deep")
        shapes = {}
        for i, layer in enumerate(layers):
            shapes.update(parameter_shapes(layer, name(str(i)), depth + 1))
        return shapes
    if kind == "MLP":
        sizes = config.get("sizes")
        if not isinstance(sizes, list) or len(sizes) < 2:
            raise ValueError("MLP 'sizes' must be a list of at least two widths")
        activation_name(config.get("activation"))
        out_act = activation_name(config.get("output_activation"))
        shapes, index = {}, 0
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            n_in = _positive_int(n_in, "every MLP size")
            n_out = _positive_int(n_out, "every MLP size")
            shapes[name(f"{index}.weight")] = (n_in, n_out)
            shapes[name(f"{index}.bias")] = (n_out,)
            last = i == len(sizes) - 2
            index += 1 if last and out_act == "identity" else 2
        return shapes
    raise _unknown(kind)
