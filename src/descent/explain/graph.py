"""The computation graph of a Tensor, as Graphviz DOT text (and SVG when Graphviz is there).

Each node shows the op that made it (or its name, for a parameter), its value and, after
`backward()`, its gradient; edges run from each input to the op that used it, in the
direction values flow forward (gradients flow back along them). The walk is iterative, so
graphs of any depth work; constants (tensors that need no gradient) are drawn too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from typing import Any

import numpy as np

from descent.autodiff import Tensor, topological_order
from descent.nn import Module

# Inputs whose order matters get numbered edges (a - b is not b - a).
_ORDERED_OPS = frozenset({"sub", "div", "pow", "matmul", "where", "concatenate", "stack",
                          "maximum", "minimum"})


class GraphvizNotFoundError(RuntimeError):
    """Graphviz's `dot` program is needed for SVG and was not found."""


def graph_nodes(root: Tensor) -> list[Tensor]:
    """Every tensor `root` was computed from (constants included), each after its inputs.

    Iterative depth-first search, so a chain of any length works.

    >>> import descent as ds
    >>> x = ds.tensor(2.0, requires_grad=True)
    >>> [t.op or "leaf" for t in graph_nodes(x * 3 + 1)]
    ['leaf', 'leaf', 'mul', 'leaf', 'add']
    """
    return topological_order(root, include_constants=True)


def _numbers(array: np.ndarray, max_values: int) -> str:
    flat = np.asarray(array).reshape(-1)
    shown = ", ".join(f"{v:.4g}" for v in flat[:max_values].tolist())
    if array.ndim == 0:
        return shown
    more = ", …" if flat.size > max_values else ""
    return f"{array.shape} [{shown}{more}]"


def _params_text(params: dict[str, Any]) -> str:
    parts = []
    for key, value in params.items():
        if value is None or value is False:
            continue  # axis=None, keepdims=False: the defaults say nothing
        if isinstance(value, np.ndarray | tuple) and np.size(value) > 4:
            continue  # a boolean mask or fancy index: too long to be useful in a node
        parts.append(f"{key}={value}")
    return ", ".join(parts)[:40]


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _names(names: Mapping[int, str] | None, model: Module | None) -> dict[int, str]:
    out: dict[int, str] = {}
    if model is not None:
        out.update({id(p): name for name, p in model.named_parameters()})
    if names is not None:
        out.update(names)
    return out


def to_dot(tensor: Tensor, names: Mapping[int, str] | None = None, model: Module | None = None,
           max_values: int = 4, rankdir: str = "LR") -> str:
    """The graph that computed `tensor`, as Graphviz DOT text.

    `names` maps id(tensor) to a label; `model` labels its parameters by their names
    ("0.weight", ...); a tensor's own `.name` is used too. Parameters are drawn as blue
    boxes, constants grey, ops as ellipses; values show the shape and the first
    `max_values` numbers. `rankdir` "LR" (left to right) or "TB" (top to bottom).

    >>> import descent as ds
    >>> w = ds.tensor(3.0, requires_grad=True)
    >>> C = (w * 2.0) ** 2
    >>> C.backward()
    >>> text = to_dot(C, names={id(w): "w"})
    >>> "w\\\\nvalue 3\\\\ngrad 24" in text, text.count("->")
    (True, 3)
    """
    labels = _names(names, model)
    nodes = graph_nodes(tensor)
    number = {id(t): k for k, t in enumerate(nodes)}
    lines = [f"digraph computation {{\n  rankdir={rankdir};",
             '  node [fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=8, color="#555555"];']
    for t in nodes:
        name = labels.get(id(t)) or t.name
        if t.op:
            params = _params_text(t.params)
            head = f"{t.op}({params})" if params else t.op
            if name:
                head = f"{name} = {head}"
            style = 'shape=ellipse, style=filled, fillcolor="#fff6d5"'
        elif t.requires_grad:
            head = name or "leaf"
            style = 'shape=box, style="filled,bold", fillcolor="#cfe2ff"'
        else:
            head = name or "constant"
            style = 'shape=box, style=filled, fillcolor="#eeeeee", fontcolor="#444444"'
        text = [head, f"value {_numbers(t.data, max_values)}"]
        if t.grad is not None:
            text.append(f"grad {_numbers(np.asarray(t.grad), max_values)}")
        label = _escape("\n".join(text)).replace("\n", "\\n")
        lines.append(f'  n{number[id(t)]} [label="{label}", {style}];')
    for t in nodes:
        ordered = t.op in _ORDERED_OPS
        for k, p in enumerate(t.parents):
            attrs = f' [label="{k}"]' if ordered else ""
            lines.append(f"  n{number[id(p)]} -> n{number[id(t)]}{attrs};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def find_dot() -> str | None:
    """The path of Graphviz's `dot` program, or None when it is not on PATH."""
    return shutil.which("dot")


def dot_to_svg(dot_text: str, path: str | os.PathLike[str], dot_binary: str,
               timeout: float = 120.0) -> str:
    """Run `dot_binary -Tsvg -o path` on DOT text (list arguments, no shell); returns path.

    Raises GraphvizNotFoundError when `dot_binary` does not exist or cannot run, and
    RuntimeError with Graphviz's message when it rejects the input.
    """
    out = os.fspath(path)
    try:
        result = subprocess.run([dot_binary, "-Tsvg", "-o", out], input=dot_text, text=True,
                                capture_output=True, timeout=timeout, check=False)
    except (FileNotFoundError, PermissionError) as error:
        raise GraphvizNotFoundError(_install_hint(f"cannot run {dot_binary!r} ({error})")) \
            from None
    if result.returncode != 0:
        raise RuntimeError(f"Graphviz dot failed (exit {result.returncode}): "
                           f"{result.stderr.strip()[:500]}")
    return out


def _install_hint(problem: str) -> str:
    return (f"SVG export needs Graphviz's `dot` program: {problem}. Install Graphviz "
            "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz; "
            "Windows and others: https://graphviz.org/download/), or use to_dot() and render "
            "the DOT text elsewhere.")


def to_svg(tensor: Tensor, path: str | os.PathLike[str], dot_binary: str | None = None,
           **dot_options: Any) -> str:
    """Draw the graph of `tensor` to an SVG file with Graphviz; returns the path.

    `dot_binary` defaults to `dot` on PATH; without Graphviz this raises
    GraphvizNotFoundError saying how to install it. `dot_options` go to `to_dot`.

    >>> import descent as ds
    >>> try:
    ...     to_svg(ds.tensor(1.0) + 1, "graph.svg", dot_binary="/nonexistent/dot")
    ... except GraphvizNotFoundError as error:
    ...     print(str(error)[:33])
    SVG export needs Graphviz's `dot`
    """
    binary = dot_binary or find_dot()
    if binary is None:
        raise GraphvizNotFoundError(_install_hint("it is not on PATH"))
    return dot_to_svg(to_dot(tensor, **dot_options), path, binary)
