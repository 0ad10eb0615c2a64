"""Read a formula typed as text, safely, into something the engine can differentiate.

    "x**2 - 4*x + 6"    "sigmoid(w*x + b)"    "(x-1)**2 + (y+2)**2"

The text is parsed by Python's `ast` module in "eval" mode (which only builds a syntax
tree) and the tree is walked with an ALLOW-LIST; nothing is ever passed to eval or exec.
Allowed: int and float literals, variable names, unary + and -, binary + - * / **,
parentheses, and calls with one positional argument of exp, log, sqrt, sin, cos, tanh,
sigmoid, relu, abs. Everything else (attributes, subscripts, other calls, lambda,
comprehensions, strings, comparisons, and/or, keywords, :=, f-strings, ...) is refused with
a `FormulaError` naming the piece and its column.

Limits, checked before Python's parser sees the text, so no input can exhaust it: at most
1000 characters, at most 50 open brackets at once, no control characters. Exponents: an
exponent without variables is computed at parse time (float64, so `2**2**2**2**2` cannot
hang) and must be finite with |p| ≤ 1000, at every level of a tower of powers; an exponent
with variables (`2**x`, `x**y`) is left to the engine's float64 `pow`.

The tree is compiled into a flat postfix program (constants folded) and run by a loop
with a stack, so neither parsing nor evaluation recurses: deep formulas cannot hit
Python's recursion limit.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from descent import autodiff as ad
from descent.autodiff import Tensor
from descent.errors import FormulaError

FUNCTIONS: dict[str, Callable[[Any], Tensor]] = {
    "exp": ad.exp, "log": ad.log, "sqrt": ad.sqrt, "sin": ad.sin, "cos": ad.cos,
    "tanh": ad.tanh, "sigmoid": ad.sigmoid, "relu": ad.relu, "abs": ad.abs,
}
MAX_LENGTH = 1000
MAX_BRACKET_DEPTH = 50
MAX_EXPONENT = 1000.0

_BINARY: dict[type, tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("add", lambda a, b: a + b),
    ast.Sub: ("sub", lambda a, b: a - b),
    ast.Mult: ("mul", lambda a, b: a * b),
    ast.Div: ("div", lambda a, b: a / b),
    ast.Pow: ("pow", lambda a, b: a ** b),
}
_BINARY_BY_NAME = dict(_BINARY.values())
_REFUSED_OPERATORS = {
    ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&", ast.Not: "not", ast.Invert: "~",
}
_REFUSED_NODES = {  # what each refused construct is called in the error message
    ast.Attribute: "attribute access is", ast.Subscript: "subscripts are",
    ast.Slice: "slices are", ast.Lambda: "lambda is", ast.ListComp: "comprehensions are",
    ast.SetComp: "comprehensions are", ast.DictComp: "comprehensions are",
    ast.GeneratorExp: "comprehensions are", ast.Compare: "comparisons are",
    ast.BoolOp: "boolean operators (and/or) are", ast.Starred: "starred arguments are",
    ast.NamedExpr: "assignment expressions (:=) are", ast.JoinedStr: "f-strings are",
    ast.FormattedValue: "f-strings are", ast.IfExp: "conditional expressions (if/else) are",
    ast.List: "lists are", ast.Tuple: "tuples are", ast.Set: "sets are", ast.Dict: "dicts are",
    ast.Await: "await is",
}
_OPEN, _CLOSE = "([{", ")]}"

Instruction = tuple[str, Any]


@dataclass
class _Fragment:
    """The compiled code of one subtree; `constant` is its value if it has no variables."""

    code: list[Instruction]
    constant: float | None


class _Text:
    """The formula text and how to point into it (ast gives UTF-8 byte columns)."""

    def __init__(self, text: str, lead: int) -> None:
        self.text, self.lead = text, lead
        self.body = text[lead:]
        self.encoded = self.body.encode("utf-8")

    def column(self, node: ast.AST) -> int:
        """1-based character column of `node` in the original text."""
        offset = getattr(node, "col_offset", 0)
        return self.lead + len(self.encoded[:offset].decode("utf-8", errors="ignore")) + 1

    def piece(self, node: ast.AST) -> str:
        segment = ast.get_source_segment(self.body, node) or type(node).__name__
        return segment if len(segment) <= 40 else segment[:37] + "..."

    def error(self, what: str, column: int, hint: str = "") -> FormulaError:
        pointer = ""
        if len(self.text) <= 100:
            pointer = f"\n  {self.text}\n  {' ' * (column - 1)}^"
        return FormulaError(f"{what} at column {column}{hint}{pointer}")

    def refuse(self, node: ast.AST, what: str, hint: str = "") -> FormulaError:
        """`what` at column N: `the piece`hint."""
        return self.error(what, self.column(node), f": `{self.piece(node)}`{hint}")


def _precheck(text: str) -> int:
    """Refuse what could strain the parser; return the count of leading blanks."""
    if not isinstance(text, str):
        raise TypeError(f"a formula is text (str), got {type(text).__name__}")
    if not text.strip():
        raise FormulaError("empty formula: write one, e.g. x**2 - 4*x + 6")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"formula too long: {len(text)} characters (at most {MAX_LENGTH})")
    depth = 0
    for i, c in enumerate(text):
        if not c.isprintable() and c != "\t":
            raise FormulaError(f"control character U+{ord(c):04X} at column {i + 1}: write the "
                               f"formula on one line")
        if c in _OPEN:
            depth += 1
            if depth > MAX_BRACKET_DEPTH:
                raise FormulaError(f"formula too deeply nested: more than {MAX_BRACKET_DEPTH} "
                                   f"open brackets at column {i + 1}")
        elif c in _CLOSE:
            depth -= 1
    return len(text) - len(text.lstrip(" \t"))


def _parse(source: _Text) -> ast.Expression:
    try:
        # mode="eval" with ast.parse compiles to a syntax tree only (PyCF_ONLY_AST): no code
        # object is made, nothing runs. Python's warnings about odd text ("2x": invalid
        # decimal literal) become errors, so the user hears about them once, from us.
        with warnings.catch_warnings():
            warnings.simplefilter("error", SyntaxWarning)
            return ast.parse(source.body, mode="eval")
    except SyntaxError as error:
        column = source.lead + max(1, error.offset or 1)
        hint = ""
        if "decimal literal" in (error.msg or ""):
            hint = " (for a product write the *, as in 2*x)"
        raise source.error(f"not a formula: {error.msg}", column, hint) from None
    except (ValueError, RecursionError, MemoryError) as error:
        raise FormulaError(f"not a formula: {error}") from None


def _literal(source: _Text, node: ast.Constant) -> float:
    value = node.value
    if type(value) not in (int, float):  # bool is a subclass of int: compare types exactly
        kinds = {str: "strings", bytes: "bytes", bool: "booleans", complex: "complex numbers"}
        raise source.refuse(node, f"{kinds.get(type(value), 'constants other than numbers')} "
                            f"are not allowed")
    try:
        number = float(value)
    except OverflowError:
        number = float("inf")
    if not np.isfinite(number):
        raise source.refuse(node, "number too large for float64")
    return number


def _fold(name: str, *constants: float) -> float:
    """A constant subexpression's value, computed by the engine's own float64 forward."""
    with np.errstate(all="ignore"):
        tensors = [Tensor(np.float64(c)) for c in constants]
        out = FUNCTIONS[name](*tensors) if name in FUNCTIONS \
            else _BINARY_BY_NAME[name](*tensors)
        return float(out.data)


def _check_exponent(source: _Text, node: ast.AST, p: float) -> None:
    if not np.isfinite(p) or abs(p) > MAX_EXPONENT:
        raise source.refuse(node, f"exponent too large ({p:g}; at most {MAX_EXPONENT:g} in "
                            f"size)")


def _check_call(source: _Text, node: ast.Call) -> None:
    if not isinstance(node.func, ast.Name):
        what = _REFUSED_NODES.get(type(node.func), "calling the result of an expression is")
        raise source.refuse(node.func, f"{what} not allowed")
    name = node.func.id
    if name not in FUNCTIONS:
        raise source.refuse(node.func, "unknown function",
                            f"; the functions are {', '.join(FUNCTIONS)}")
    if node.keywords:
        raise source.refuse(node.keywords[0], "keyword arguments are not allowed")
    for arg in node.args:
        if isinstance(arg, ast.Starred):
            raise source.refuse(arg, "starred arguments are not allowed")
    if len(node.args) != 1:
        raise source.refuse(node, f"{name} takes exactly one argument, not {len(node.args)},")


def _check(source: _Text, node: ast.AST) -> list[ast.AST]:
    """Refuse `node` unless allowed; return its children in evaluation order."""
    if isinstance(node, ast.Expression):
        return [node.body]
    if isinstance(node, ast.Constant):
        _literal(source, node)
        return []
    if isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise source.refuse(node, f"{node.id} is a function, not a value,",
                                f" (call it, as in {node.id}(x))")
        if node.id.startswith("_"):
            raise source.refuse(node, "names that start with _ are not allowed")
        return []
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.UAdd | ast.USub):
            symbol = _REFUSED_OPERATORS[type(node.op)]
            raise source.refuse(node, f"operator {symbol} is not allowed")
        return [node.operand]
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            symbol = _REFUSED_OPERATORS.get(type(node.op), type(node.op).__name__)
            hint = "; for powers write **" if symbol == "^" else ""
            raise source.refuse(node, f"operator {symbol} is not allowed", hint)
        return [node.left, node.right]
    if isinstance(node, ast.Call):
        _check_call(source, node)
        return [node.args[0]]
    what = _REFUSED_NODES.get(type(node), f"{type(node).__name__} is")
    raise source.refuse(node, f"{what} not allowed")


def _combine(source: _Text, node: ast.AST, parts: list[_Fragment]) -> _Fragment:
    """The fragment of `node` from its children's fragments (constants folded)."""
    if isinstance(node, ast.Expression):
        return parts[0]
    if isinstance(node, ast.Constant):
        value = _literal(source, node)
        return _Fragment([("const", value)], value)
    if isinstance(node, ast.Name):
        return _Fragment([("var", node.id)], None)
    if isinstance(node, ast.UnaryOp):
        (a,) = parts
        if isinstance(node.op, ast.UAdd):
            return a
        if a.constant is not None:
            return _constant(-a.constant)
        return _Fragment(a.code + [("neg", None)], None)
    if isinstance(node, ast.Call):
        (a,) = parts
        name = node.func.id  # type: ignore[attr-defined]  (checked by _check_call)
        if a.constant is not None:
            return _constant(_fold(name, a.constant))
        return _Fragment(a.code + [("call", name)], None)
    a, b = parts  # a BinOp
    op = _BINARY[type(node.op)][0]  # type: ignore[attr-defined]
    if op == "pow" and b.constant is not None:
        _check_exponent(source, node.right, b.constant)  # type: ignore[attr-defined]
        if a.constant is not None:
            return _constant(_fold("pow", a.constant, b.constant))
        return _Fragment(a.code + [("pow_const", b.constant)], None)
    if a.constant is not None and b.constant is not None:
        return _constant(_fold(op, a.constant, b.constant))
    return _Fragment(a.code + b.code + [(op, None)], None)


def _constant(value: float) -> _Fragment:
    return _Fragment([("const", value)], value)


def _compile(source: _Text, tree: ast.Expression) -> list[Instruction]:
    """Check and compile the tree by an explicit post-order walk (no recursion)."""
    done: dict[int, _Fragment] = {}
    stack: list[tuple[ast.AST, list[ast.AST] | None]] = [(tree, None)]
    while stack:
        node, children = stack.pop()
        if children is None:  # first visit: refuse early, so the outermost offender is named
            children = _check(source, node)
            stack.append((node, children))
            stack.extend((child, None) for child in reversed(children))
            continue
        done[id(node)] = _combine(source, node, [done.pop(id(c)) for c in children])
    return done[id(tree)].code


class Formula:
    """A formula read from text: call it with values to get an engine Tensor.

    `variables` (sorted names), `text`; `f(**values)` returns a Tensor built from engine ops
    (so `ds.grad` works through it) with the broadcast shape of the values;
    `gradient(**values)` gives each variable's derivative; `to_function()` gives the
    one-argument function that `gradient_descent` takes.

    >>> from descent.explain.formula import Formula
    >>> f = Formula("x**2 - 4*x + 6")
    >>> f.variables, float(f(x=8.0)), f.gradient(x=8.0)
    (('x',), 38.0, {'x': 12.0})
    >>> Formula("sigmoid(w*x + b)").variables
    ('b', 'w', 'x')
    """

    def __init__(self, text: str) -> None:
        lead = _precheck(text)
        source = _Text(text, lead)
        self.text = text
        self._program = tuple(_compile(source, _parse(source)))
        self.variables: tuple[str, ...] = tuple(
            sorted({arg for op, arg in self._program if op == "var"}))

    def __repr__(self) -> str:
        return f"Formula({self.text!r})"

    def __str__(self) -> str:
        return self.text

    def _inputs(self, values: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(values) - set(self.variables))
        if unknown:
            known = ", ".join(self.variables) or "none"
            raise FormulaError(f"unknown variable {', '.join(unknown)} for formula "
                               f"{self.text!r}; its variables are: {known}")
        missing = [name for name in self.variables if name not in values]
        if missing:
            raise FormulaError(f"no value given for {', '.join(missing)} in {self.text!r}")
        inputs = {}
        for name, value in values.items():
            if isinstance(value, Tensor):
                inputs[name] = value
                continue
            try:
                inputs[name] = Tensor(np.asarray(value, dtype=np.float64))
            except (TypeError, ValueError):
                raise FormulaError(f"the value of {name} must be a number or an array of "
                                   f"numbers, got {value!r}") from None
        return inputs

    def __call__(self, **values: Any) -> Tensor:
        """Evaluate with engine ops. Values: numbers, arrays (float64) or Tensors (kept)."""
        inputs = self._inputs(values)
        stack: list[Any] = []
        for op, arg in self._program:
            if op == "const":
                stack.append(arg)  # a Python float takes its partner tensor's dtype
            elif op == "var":
                stack.append(inputs[arg])
            elif op == "neg":
                stack.append(-stack.pop())
            elif op == "pow_const":
                stack.append(stack.pop() ** arg)
            elif op == "call":
                stack.append(FUNCTIONS[arg](stack.pop()))
            else:
                b, a = stack.pop(), stack.pop()
                stack.append(_BINARY_BY_NAME[op](a, b))
        (out,) = stack
        return out if isinstance(out, Tensor) else Tensor(np.float64(out))

    def gradient(self, **values: Any) -> dict[str, Any]:
        """d(formula)/d(variable) at `values`, for each variable, from the engine's backward.

        A float for a number; for arrays, the gradient of the sum of the formula's values
        (for an elementwise formula: each element's own derivative), of the value's shape.

        >>> from descent.explain.formula import Formula
        >>> Formula("(x-1)**2 + (y+2)**2").gradient(x=0.0, y=0.0)
        {'x': -2.0, 'y': 4.0}
        """
        leaves = {name: Tensor(np.array(v.data if isinstance(v, Tensor) else v,
                                        dtype=np.float64), requires_grad=True)
                  for name, v in self._inputs(values).items()}
        out = self(**leaves)
        if out.requires_grad:
            (out if out.size == 1 else out.sum()).backward()
        grads: dict[str, Any] = {}
        for name in self.variables:
            leaf = leaves[name]
            g = np.zeros_like(leaf.data) if leaf.grad is None else leaf.grad
            grads[name] = float(g) if g.ndim == 0 else g
        return grads

    def to_function(self) -> Callable[[Any], Tensor]:
        """f(x) for one variable; f(v) with v a vector of the variables in sorted order for
        several (as `gradient_descent` takes them).

        >>> from descent.explain.formula import Formula
        >>> from descent.explain.minimize import gradient_descent
        >>> f = Formula("(x-1)**2 + (y+2)**2").to_function()
        >>> [round(float(v), 6) for v in gradient_descent(f, [0.0, 0.0], lr=0.25).x]
        [1.0, -2.0]
        """
        names = self.variables
        if not names:
            raise FormulaError(f"{self.text!r} has no variables: there is nothing to vary")
        if len(names) == 1:
            (name,) = names
            return lambda x: self(**{name: x})
        return lambda v: self(**{name: v[i] for i, name in enumerate(names)})


def parse_formula(text: str) -> Formula:
    """Read `text` into a `Formula`, or raise `FormulaError` naming what is refused and where.

    >>> from descent.explain.formula import parse_formula
    >>> parse_formula("x.__class__")
    Traceback (most recent call last):
    ...
    descent.errors.FormulaError: attribute access is not allowed at column 1: `x.__class__`
      x.__class__
      ^
    """
    return Formula(text)
