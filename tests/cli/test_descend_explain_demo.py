"""`descent descend`, `descent explain`, `descent demo` and every command's --help."""

from __future__ import annotations

import re

import pytest

from .conftest import run


def test_descend_prints_the_seed_example_and_the_verdict():
    result = run("descend", "x**2 - 4*x + 6", "--x0", "8", "--lr", "0.1")
    assert result.exit_code == 0, result.output
    out = result.stdout
    x_new = [row.split("│")[4].strip() for row in out.splitlines()
             if re.match(r"^│\s+\d+ │", row)]
    assert x_new[:4] == ["6.8", "5.84", "5.072", "4.4576"]  # exact, not rounded between steps
    rounded = [row.split("│")[5].strip() for row in out.splitlines()
               if re.match(r"^│\s+\d+ │", row)]
    assert rounded[:3] == ["6.80", "5.84", "5.07"] and rounded[-1] == "2.00"
    assert "verdict: converged" in out
    assert "stable range of rates: 0 < lr < 1" in out


@pytest.mark.parametrize("args, verdict", [
    (["--lr", "1.05"], "verdict: diverging"),
    (["--lr", "0.001", "--steps", "50"], "verdict: too slow"),
    (["--method", "newton"], "verdict: converged: after 1 step"),
    (["--method", "grid"], "verdict: converged"),
])
def test_descend_regimes_and_methods(args, verdict):
    result = run("descend", "x**2 - 4*x + 6", "--x0", "8", *args)
    assert result.exit_code == 0, result.output
    assert verdict in result.stdout


def test_descend_compare_and_plot(tmp_path):
    plot = tmp_path / "path.png"
    result = run("descend", "x**2 - 4*x + 6", "--x0", "8", "--method", "compare",
                 "--plot", plot)
    assert result.exit_code == 0, result.output
    for method in ("gradient descent", "newton", "grid search"):
        assert method in result.stdout
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_descend_two_variables():
    result = run("descend", "(x-1)**2 + 10*(y+2)**2", "--x0", "0,0", "--lr", "0.05")
    assert result.exit_code == 0, result.output
    assert "x = (1, -2)" in result.stdout or "x = (0.9999" in result.stdout
    assert "verdict: converged" in result.stdout


def test_explain_shows_the_chain_and_agrees_with_the_engine(trained_model):
    result = run("explain", trained_model, "--row", "3", "--param", "W2", "--index", "5,0")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "windsor_housing.csv (embedded), line 4" in out
    assert "∂C/∂W2[5,0] by the chain rule" in out
    assert "gradient (backward())" in out
    error = re.search(r"\|sum − engine\|[\s│]*([0-9.e+-]+)", out)
    assert error is not None and float(error.group(1)) < 1e-12


def test_explain_a_bias_with_rows_from_a_csv(trained_model, tmp_path):
    from .conftest import WINDSOR_CSV

    rows = WINDSOR_CSV.read_text().splitlines()
    csv = tmp_path / "few.csv"
    csv.write_text("\n".join(rows[:4]) + "\n")
    result = run("explain", trained_model, "--csv", csv, "--row", "2", "--param", "b1",
                 "--index", "3")
    assert result.exit_code == 0, result.output
    assert "few.csv, line 3" in result.stdout and "∂C/∂b1[3]" in result.stdout


def test_demo_runs_every_step():
    result = run("demo", "--no-pause")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for k in range(1, 9):
        assert f"{k}/8" in out
    assert "6.8" in out and "5.072" in out          # gradient descent table
    assert "σ(z) = 1/(1 + e^(−z))" in out           # the sigmoid, with its minus sign
    assert "δ1 = ∂C/∂z1" in out                     # deltas on the two-node network
    assert "no single linear layer" in out          # collapse
    assert "test (held out)" in out                 # the house-price network
    assert "without standardized inputs" in out and "without momentum" in out
    accuracy = re.search(r"test accuracy ([0-9.]+)%", out)
    assert accuracy is not None and float(accuracy.group(1)) > 95


@pytest.mark.parametrize("command", ["train", "predict", "descend", "explain", "demo",
                                     "playground"])
def test_every_help_shows_an_example(command):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout and f"descent {command}" in result.stdout


def test_top_level_help_lists_the_commands():
    result = run("--help")
    assert result.exit_code == 0
    for command in ("train", "predict", "descend", "explain", "demo"):
        assert command in result.stdout
