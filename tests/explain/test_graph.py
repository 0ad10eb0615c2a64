"""Graph export: DOT text for any tensor (iteratively, constants included), SVG via Graphviz.

The SVG path is tested with a stand-in `dot` program (a tiny script), so this file passes
on machines without Graphviz; the "not installed" message is tested on its own.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import descent as ds
from descent.explain import graph
from descent.explain.graph import (
    GraphvizNotFoundError,
    dot_to_svg,
    graph_nodes,
    to_dot,
    to_svg,
)

NODE = re.compile(r'^  n(\d+) \[label="((?:[^"\\]|\\.)*)"', re.M)
EDGE = re.compile(r"^  n(\d+) -> n(\d+)", re.M)


def _labels(text):
    return {int(k): label.replace("\\n", "\n") for k, label in NODE.findall(text)}


def test_every_node_and_edge_of_a_small_graph():
    w = ds.tensor(3.0, requires_grad=True)
    x = ds.tensor(2.0)  # a constant: no gradient, still drawn
    C = (w * x - 1.0) ** 2
    C.backward()
    text = to_dot(C, names={id(w): "w", id(x): "x"})
    labels = _labels(text)
    assert len(labels) == 6  # w, x, mul, 1.0, sub, pow_const
    edges = EDGE.findall(text)
    assert len(edges) == sum(len(t.parents) for t in graph_nodes(C)) == 5
    by_head = {label.split("\n")[0]: label for label in labels.values()}
    assert by_head["w"] == "w\nvalue 3\ngrad 20"  # ∂C/∂w = 2(wx − 1)·x = 20
    assert by_head["x"] == "x\nvalue 2"  # constants carry no gradient
    assert by_head["pow_const(p=2)"] == "pow_const(p=2)\nvalue 25\ngrad 1"
    assert by_head["sub"].endswith("grad 10")
    # edges run from inputs to the op that used them, and sub's inputs are numbered
    order = {label.split("\n")[0]: k for k, label in labels.items()}
    assert (str(order["w"]), str(order["mul"])) in edges
    assert f'n{order["mul"]} -> n{order["sub"]} [label="0"]' in text
    assert text.startswith("digraph computation {") and text.rstrip().endswith("}")


def test_parameters_take_their_names_from_the_model():
    net = ds.nn.MLP([2, 3, 1], activation="tanh", seed=0)
    X = np.ones((4, 2), np.float32)
    C = ds.nn.QuadraticCost()(net(ds.tensor(X)), np.zeros(4, np.float32))
    C.backward()
    labels = _labels(to_dot(C, model=net)).values()
    heads = {label.split("\n")[0] for label in labels}
    assert {"0.weight", "0.bias", "2.weight", "2.bias", "tanh", "matmul"} <= heads
    weight = next(label for label in labels if label.startswith("0.weight"))
    assert "value (2, 3) [" in weight and "grad (2, 3) [" in weight
    g = net[0].weight.grad.reshape(-1)
    assert f"{g[0]:.4g}" in weight  # the gradient shown is the parameter's own


def test_values_are_cut_to_a_few_numbers_and_quotes_are_escaped():
    big = ds.tensor(np.arange(100.0), requires_grad=True)
    text = to_dot(big.sum(), names={id(big): 'the "input"'}, max_values=3)
    assert 'the \\"input\\"' in text
    assert "value (100,) [0, 1, 2, …]" in _labels(text)[0]


def test_a_20000_node_chain_needs_no_recursion():
    x = ds.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y * 1.0
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # a recursive walk would fail at once
    try:
        text = to_dot(y)
    finally:
        sys.setrecursionlimit(limit)
    assert len(NODE.findall(text)) == 40_001  # x, and per step a constant and a mul
    assert len(EDGE.findall(text)) == 40_000


def _fake_dot(tmp_path, body):
    """A stand-in for Graphviz's dot: a script that reads DOT on stdin."""
    script = tmp_path / "dot"
    script.write_text(f"#!{sys.executable}\nimport sys\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_svg_goes_through_dot_with_list_arguments(tmp_path):
    log = tmp_path / "args.txt"
    binary = _fake_dot(tmp_path, f"""
args = sys.argv[1:]
text = sys.stdin.read()
open({str(log)!r}, "w").write(repr(args) + "\\n" + text)
n = text.count("label=")
out = args[args.index("-o") + 1]
open(out, "w").write('<svg xmlns="http://www.w3.org/2000/svg"><text>' + str(n) + '</text></svg>')
""")
    w = ds.tensor(2.0, requires_grad=True)
    C = w * w
    path = tmp_path / "graph with space.svg"
    assert to_svg(C, path, dot_binary=binary) == str(path)
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg") and root[0].text == "2"  # 2 nodes: w and mul
    args, dot_text = log.read_text().split("\n", 1)
    assert args == repr(["-Tsvg", "-o", str(path)])
    assert dot_text == to_dot(C)


def test_dot_errors_are_reported(tmp_path):
    binary = _fake_dot(tmp_path, "sys.stderr.write('syntax error in line 1'); sys.exit(1)")
    with pytest.raises(RuntimeError, match="exit 1.*syntax error in line 1"):
        dot_to_svg("digraph {", tmp_path / "x.svg", binary)


def test_without_graphviz_the_error_says_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setattr(graph.shutil, "which", lambda name: None)
    with pytest.raises(GraphvizNotFoundError, match="not on PATH. Install Graphviz"):
        to_svg(ds.tensor(1.0) + 1, tmp_path / "g.svg")
    missing = os.fspath(tmp_path / "no" / "dot")
    with pytest.raises(GraphvizNotFoundError, match="cannot run .*Install Graphviz"):
        to_svg(ds.tensor(1.0) + 1, tmp_path / "g.svg", dot_binary=missing)
    assert not (tmp_path / "g.svg").exists()
