"""The safe formula parser: what it reads, what it refuses (and where), and that nothing runs.

Derivatives are checked against the closed form where there is one (exact or rtol 1e-12)
and otherwise against float64 central differences of the formula's own values (rtol 1e-6).
"""

from __future__ import annotations

import ast
import builtins
import doctest
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import descent as ds
from descent.errors import DescentError, FormulaError
from descent.explain.formula import Formula, parse_formula
from descent.explain.minimize import gradient_descent

SEED = "x**2 - 4*x + 6"


# ---- reading and differentiating --------------------------------------------------------------


def test_seed_formula_value_and_slope_at_8():
    f = Formula(SEED)
    assert f.variables == ("x",) and f.text == SEED
    assert float(f(x=8)) == 38.0
    assert f.gradient(x=8) == {"x": 12.0}


def test_gradient_flows_through_to_function():
    f = Formula(SEED).to_function()
    assert ds.grad(f)(8.0) == 12.0
    result = gradient_descent(f, 8.0, lr=0.1)
    np.testing.assert_allclose(result.path[:5], [8, 6.8, 5.84, 5.072, 4.4576], rtol=1e-12)


def test_sigmoid_neuron_derivatives_follow_the_chain_rule():
    f = Formula("sigmoid(w*x + b)")
    assert f.variables == ("b", "w", "x")
    w, x, b = 0.7, 2.0, -0.3
    s = 1 / (1 + np.exp(-(w * x + b)))  # σ(z) = 1/(1+e^{-z}), not the seeds' e^{+z}
    grads = f.gradient(w=w, x=x, b=b)
    assert grads["w"] == pytest.approx(s * (1 - s) * x, rel=1e-12)  # ·x, as the chain rule says
    assert grads["b"] == pytest.approx(s * (1 - s), rel=1e-12)
    assert grads["x"] == pytest.approx(s * (1 - s) * w, rel=1e-12)


def test_several_variables_descend_to_the_minimum():
    f = Formula("(x-1)**2 + (y+2)**2")
    assert f.variables == ("x", "y")
    assert f.gradient(x=0.0, y=0.0) == {"x": -2.0, "y": 4.0}
    result = gradient_descent(f.to_function(), [0.0, 0.0], lr=0.1)
    np.testing.assert_allclose(result.x, [1.0, -2.0], atol=1e-7)


@pytest.mark.parametrize(
    ("text", "point"),
    [
        ("exp(x) * sin(y) - cos(x*y)", {"x": 0.3, "y": -1.2}),
        ("log(x) / sqrt(x) + tanh(2*x)", {"x": 1.7}),
        ("abs(x - 3) + relu(x) * x", {"x": 0.6}),
        ("x**(1/2) + x**-2 + 2**x + x**y", {"x": 1.3, "y": 0.8}),
        ("-(-x) + +y - -(x*y)/4", {"x": 0.5, "y": 2.0}),
        ("sigmoid(-w*x)**3", {"w": 1.5, "x": -0.4}),
    ],
)
def test_gradients_match_central_differences(text, point):
    f = Formula(text)
    grads = f.gradient(**point)
    h = 1e-6
    for name in f.variables:
        up = float(f(**{**point, name: point[name] + h}))
        down = float(f(**{**point, name: point[name] - h}))
        assert grads[name] == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-9), name


def test_arrays_give_elementwise_derivatives():
    grads = Formula("x**3")
    out = grads.gradient(x=np.array([1.0, 2.0, -3.0]))["x"]
    np.testing.assert_allclose(out, [3.0, 12.0, 27.0], rtol=1e-12)


def test_constants_fold_and_a_constant_formula_evaluates():
    assert Formula("2*3*x").gradient(x=5.0) == {"x": 6.0}
    assert float(Formula("2**10 - 24")()) == 1000.0
    assert Formula("2**10 - 24").variables == ()
    with pytest.raises(FormulaError, match="no variables"):
        Formula("1 + 2").to_function()


def test_deep_but_short_formulas_do_not_recurse():
    assert Formula("-" * 901 + "x").gradient(x=2.0) == {"x": -1.0}  # odd count of minus signs
    assert Formula("+".join(["x"] * 400)).gradient(x=1.0) == {"x": 400.0}
    depth_50 = "(" * 50 + "x" + ")" * 50
    assert Formula(depth_50).gradient(x=1.0) == {"x": 1.0}


def test_values_must_match_the_variables():
    f = Formula("x + y")
    with pytest.raises(FormulaError, match="unknown variable z"):
        f(x=1.0, y=2.0, z=3.0)
    with pytest.raises(FormulaError, match="no value given for y"):
        f(x=1.0)
    with pytest.raises(FormulaError, match="must be a number"):
        f(x="one", y=2.0)


def test_formula_error_is_a_value_error_and_a_descent_error():
    with pytest.raises(ValueError):
        Formula("x.y")
    assert issubclass(FormulaError, DescentError)
    with pytest.raises(TypeError, match="text"):
        Formula(42)  # type: ignore[arg-type]


# ---- refused, with the piece and the column ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment", "column"),
    [
        ("x.__class__", "attribute access is not allowed", 1),
        ("  x.real + 1", "attribute access is not allowed", 3),
        ("é + x.real", "attribute access is not allowed", 5),  # columns count characters
        ("open('f')", "unknown function", 1),
        ("__import__('os')", "unknown function", 1),
        ("exp(x) + f(x)", "unknown function", 10),
        ("lambda: 1", "lambda is not allowed", 1),
        ("x[0]", "subscripts are not allowed", 1),
        ("[x for x in y]", "comprehensions are not allowed", 1),
        ("sum(x for x in y)", "unknown function", 1),
        ("'x'", "strings are not allowed", 1),
        ("b'x'", "bytes are not allowed", 1),
        ("x < 1", "comparisons are not allowed", 1),
        ("x and y", "boolean operators", 1),
        ("exp(*x)", "starred arguments are not allowed", 5),
        ("exp(x=1)", "keyword arguments are not allowed", 5),
        ("(y := 2)", "assignment expressions", 2),
        ("f'{x}'", "f-strings are not allowed", 1),
        ("x if y else 1", "conditional expressions", 1),
        ("(x, y)", "tuples are not allowed", 1),
        ("{x}", "sets are not allowed", 1),
        ("True + x", "booleans are not allowed", 1),
        ("None", "constants other than numbers", 1),
        ("1j * x", "complex numbers are not allowed", 1),
        ("1e999 * x", "number too large", 1),
        ("x^2", "for powers write **", 1),
        ("x // 2", "operator // is not allowed", 1),
        ("x % 2", "operator % is not allowed", 1),
        ("~x", "operator ~ is not allowed", 1),
        ("not x", "operator not is not allowed", 1),
        ("x**1001", "exponent too large", 4),
        ("x**-1e4", "exponent too large", 4),
        ("2**2**2**2**2", "exponent too large (65536", 4),
        ("exp", "exp is a function, not a value", 1),
        ("exp(x, y)", "exp takes exactly one argument", 1),
        ("exp()", "exp takes exactly one argument", 1),
        ("exp(x)(y)", "calling the result of an expression", 1),
        ("_secret + 1", "names that start with _", 1),
        ("x +* 2", "not a formula: invalid syntax", 4),
        ("2x", "for a product write the *", 1),
        ("exp(x", "never closed", 4),
        ("x\n+ 1", "control character U+000A", 2),
        ("x\x00", "control character U+0000", 2),
    ],
)
def test_refused_constructs_name_the_piece_and_column(text, fragment, column):
    with pytest.raises(FormulaError) as caught:
        Formula(text)
    message = str(caught.value)
    assert fragment in message
    assert f"at column {column}" in message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty formula"),
        ("   \t ", "empty formula"),
        ("x+" * 500 + "x", "too long: 1001 characters"),
        ("(" * 51 + "x" + ")" * 51, "too deeply nested"),
        ("[" * 60, "too deeply nested"),
    ],
)
def test_limits_are_checked_before_parsing(text, fragment):
    with pytest.raises(FormulaError, match=fragment):
        Formula(text)


def test_tower_of_powers_is_refused_at_once():
    start = time.perf_counter()
    with pytest.raises(FormulaError, match="exponent too large"):
        Formula("2**2**2**2**2**2**2")
    assert time.perf_counter() - start < 1.0  # generous: the parse takes well under 1 ms


def test_the_error_points_at_the_column():
    with pytest.raises(FormulaError) as caught:
        Formula("x + y.z")
    assert str(caught.value).splitlines()[1:] == ["  x + y.z", "      ^"]


# ---- arbitrary text ---------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_any_text_is_a_formula_or_a_formula_error(text):
    try:
        f = Formula(text)
    except FormulaError as error:
        assert str(error)  # refused with a message, never another exception
        return
    assert all(name.isidentifier() for name in f.variables)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="xyz0123456789.+-*/() e_[]',:=<abcdgilnopqrstw", max_size=60))
def test_formula_like_text_parses_and_evaluates_or_is_refused(text):
    try:
        f = Formula(text)
    except FormulaError:
        return
    with np.errstate(all="ignore"):
        out = f(**{name: 0.5 for name in f.variables})
    assert isinstance(out, ds.Tensor) and out.size == 1


# ---- nothing runs -----------------------------------------------------------------------------

PAYLOADS = [
    "__import__('os').system('touch {marker}')",
    "open('{marker}', 'w')",
    "exp(open('{marker}', 'w').close() or 1)",
    "[open('{marker}', 'w') for _ in 'a']",
    "(lambda: open('{marker}', 'w'))()",
    "().__class__.__base__.__subclasses__()",
    "x + (open('{marker}', 'w') and 0)",
]


def test_the_payloads_are_live_under_eval(tmp_path):
    """The control: the same text DOES write the marker when Python evaluates it."""
    marker = tmp_path / "control"
    eval(PAYLOADS[1].format(marker=marker)).close()  # noqa: S307 - the point of the control
    assert marker.exists()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_malicious_formulas_do_not_run(payload, tmp_path):
    marker = tmp_path / "pwned"
    text = payload.format(marker=marker)
    with pytest.raises(FormulaError):
        Formula(text)
    assert not marker.exists()


def test_parsing_never_calls_eval_or_exec_and_compiles_only_to_a_tree(monkeypatch):
    flags_seen = []
    real_compile = builtins.compile

    def refuse(*args, **kwargs):
        raise AssertionError("eval/exec called")

    def compile_spy(source, filename, mode, flags=0, *args, **kwargs):
        flags_seen.append(flags)
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    monkeypatch.setattr(builtins, "compile", compile_spy)
    f = parse_formula("sigmoid(w*x + b) ** 2")
    value = float(f(w=1.0, x=0.0, b=0.0))
    monkeypatch.undo()
    assert value == 0.25
    assert flags_seen and all(flag & ast.PyCF_ONLY_AST for flag in flags_seen)


def test_docstring_examples():
    import descent.explain.formula as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 5
    assert result.failed == 0
