"""`descent descend`: minimise a formula by hand-checkable steps and say how it went."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperCommand

from descent.autodiff import grad
from descent.cli.boundary import user_errors
from descent.cli.outputs import check_outputs
from descent.explain.formula import parse_formula
from descent.explain.minimize import (
    MinimizeResult,
    compare,
    gradient_descent,
    grid_search,
    iteration_rows,
    newton,
)

EPILOG = """Examples:

  descent descend "x**2 - 4*x + 6" --x0 8 --lr 0.1

  descent descend "x**2 - 4*x + 6" --x0 8 --lr 1.05

  descent descend "x**2 - 4*x + 6" --x0 8 --method compare

  descent descend "(x-1)**2 + 10*(y+2)**2" --x0 0,0 --lr 0.05

  descent descend "x**4 - 3*x**2 + x" --x0 2 --lr 0.01 --method compare --plot path.png

The first is the seed texts' example (6.8, 5.84, 5.072, ... to 2); the second's rate is \
too large; the last finds a local minimum by gradient descent and Newton, a lower one by \
grid search, and draws all three. With two variables --plot draws a contour map. \
Formulas use numbers, variables, + - * / ** and exp, log, sqrt, sin, cos, tanh, sigmoid, \
relu, abs; they are parsed safely, never run as Python. Derivatives come \
from descent's autodiff engine.
"""


class FormulaCommand(TyperCommand):
    """`descend`'s command: a formula that starts with a minus ("-x**2 + x**4") is the
    FORMULA argument, not an option, whenever it is not the name of one of the options."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, formula_first(args, self.params,
                                                     flags=ctx.help_option_names))


def formula_first(args: list[str], params: list[Any],
                  flags: list[str] | tuple[str, ...] = ()) -> list[str]:
    """`args` with a leading-minus formula moved after "--", where click reads it as the
    positional argument; option values (`--x0 -1`) and real options stay as they are.

    >>> import typer
    >>> from descent.cli.app import app
    >>> params = typer.main.get_command(app).commands["descend"].params
    >>> formula_first(["-x**2 + x**4", "--x0", "-1"], params)
    ['--x0', '-1', '--', '-x**2 + x**4']
    """
    takes_value: dict[str, bool] = dict.fromkeys(flags, False)
    for p in params:
        if p.param_type_name == "option":  # typer vendors its own click: no isinstance
            for name in (*p.opts, *p.secondary_opts):
                takes_value[name] = not p.is_flag and not p.count
    kept: list[str] = []
    formula: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            kept.extend(args[i:])
            break
        name = arg.split("=", 1)[0]
        if name in takes_value:
            kept.append(arg)
            if takes_value[name] and "=" not in arg and i + 1 < len(args):
                kept.append(args[i + 1])
                i += 1
        elif arg.startswith("-") and len(arg) > 1 and not formula and \
                not arg.startswith("--"):
            formula.append(arg)  # not an option of this command: the formula
        else:
            kept.append(arg)
        i += 1
    return kept + (["--", *formula] if formula and "--" not in kept else formula)


class Method(StrEnum):
    gd = "gd"
    newton = "newton"
    grid = "grid"
    compare = "compare"


def _number(value: Any) -> str:
    """Exact enough to check by hand: up to 10 significant digits (5.072, 4.4576, ...);
    6 for the entries of a vector, to keep the table narrow."""
    a = np.asarray(value, dtype=np.float64)
    digits = 10 if a.ndim == 0 else 6
    text = [f"{float(v):.{digits}g}" for v in a.ravel()]
    return text[0] if a.ndim == 0 else "(" + ", ".join(text) + ")"


def _rounded(value: Any, digits: int) -> str:
    a = np.asarray(value, dtype=np.float64)
    text = [f"{float(v):.{digits}f}" for v in a.ravel()]
    text = [t[1:] if t.startswith("-") and float(t) == 0 else t for t in text]  # no "-0.00"
    return text[0] if a.ndim == 0 else "(" + ", ".join(text) + ")"


def _parse_start(text: str, names: tuple[str, ...]) -> float | list[float]:
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"--x0 takes a number, or numbers separated by commas for several "
                         f"variables; got {text!r}") from None
    if not all(np.isfinite(values)):
        raise ValueError(f"--x0 must be finite, got {text!r}")
    if len(values) != max(len(names), 1):
        raise ValueError(f"--x0 has {len(values)} number(s) but the formula has "
                         f"{len(names)} variable(s) ({', '.join(names)}), in that order")
    return values[0] if len(values) == 1 else values


def iteration_table(result: MinimizeResult, max_rows: int, digits: int = 2,
                    names: tuple[str, ...] = ("x",), f: Any = None) -> Table:
    """The steps of gradient descent or Newton as a rich Table: exact values, and x_new
    rounded to `digits` decimals as the seed texts print it. Over `max_rows` steps, the
    first and last steps are shown with a "…" row between. With several variables the
    header names them all, (x, y)_old and ∇f(x, y); Newton on one variable given `f` also
    shows the f''(x_old) it divides by (from the engine)."""
    newton_1d = result.method == "newton" and f is not None and np.ndim(result.x) == 0
    if len(names) == 1:
        (v,) = names
        point, slope = v, f"f'({v}_old)"
        rule = (f"{v}_new = {v}_old − {result.lr:g}·{slope}" if result.method
                == "gradient descent" else f"{v}_new = {v}_old − {slope}/f''({v}_old)")
        old, new = f"{v}_old", f"{v}_new"
    else:
        point = f"({', '.join(names)})"
        slope = f"∇f{point}_old"
        rule = (f"{point}_new = {point}_old − {result.lr:g}·{slope}" if result.method
                == "gradient descent" else f"{point}_new = {point}_old − H⁻¹·{slope}")
        old, new = f"{point}_old", f"{point}_new"
    table = Table(title=f"{result.method}: {rule}", title_justify="left",
                  caption="derivatives from the autodiff engine; every step uses the exact "
                          "values (the rounded column is for reading only)",
                  caption_justify="left")
    columns = ["k", old, slope, *([f"f''({names[0]}_old)"] if newton_1d else []), new,
               f"{new} ({digits} d.p.)"]
    for name in columns:
        table.add_column(name, justify="right")
    second = grad(grad(f)) if newton_1d else None
    rows = iteration_rows(result)
    if max_rows and len(rows) > max_rows:
        head = max_rows - max_rows // 4
        rows = rows[:head] + [None] + rows[len(rows) - (max_rows - head):]
    for row in rows:
        if row is None:
            table.add_row(*["…"] * len(columns), style="dim")
            continue
        k, x_old, g, x_new = row
        curvature = [_number(float(second(float(x_old))))] if second is not None else []
        table.add_row(str(k), _number(x_old), _number(g), *curvature, _number(x_new),
                      _rounded(x_new, digits))
    return table


def _grid_table(result: MinimizeResult) -> Table:
    table = Table(title="grid search: the best point of each round", title_justify="left")
    for name in ("round", "x", "f(x)", "grid spacing"):
        table.add_column(name, justify="right")
    for k, (x, v, s) in enumerate(zip(result.path, result.values, result.spacings,
                                      strict=True), 1):
        table.add_row(str(k), _number(x), _number(v), f"{s:.2g}")
    return table


def _verdict(console: Console, result: MinimizeResult) -> None:
    verdict, _, why = result.reason.partition(": ")
    console.print(f"[bold]verdict: {verdict}[/]" + (f": {why}" if why else ""))
    if result.method == "gradient descent" and result.stable_range is not None \
            and result.curvature is not None:
        lo, hi = result.stable_range
        console.print(f"stable range of rates: {lo:g} < lr < {hi:.4g}  (2/f'', with the "
                      f"largest curvature f'' ≈ {result.curvature:.4g} along the path)")
    if result.suggestion:
        console.print(f"suggestion: {result.suggestion}")


def descend(
    formula: Annotated[str, typer.Argument(
        metavar="FORMULA", show_default=False,
        help="The function to minimise, e.g. \"x**2 - 4*x + 6\".")],
    x0: Annotated[str, typer.Option(
        "--x0", show_default=False,
        help="Where to start: a number, or one per variable (in alphabetical order of the "
             "names) separated by commas.")],
    lr: Annotated[float, typer.Option("--lr", help="Learning rate (gradient descent).")] = 0.1,
    method: Annotated[Method, typer.Option(
        "--method", help="gd: gradient descent; newton: Newton-Raphson; grid: grid search; "
                         "compare: all three.")] = Method.gd,
    steps: Annotated[int, typer.Option("--steps", min=0, help="Most steps.")] = 1000,
    tol: Annotated[float, typer.Option(
        "--tol", min=0.0,
        help="Stop when |f'(x)| <= TOL. Gradient descent also stops when a step moves x by "
             "at most TOL·max(1, |x|) while |f'(x)| <= √TOL; grid search stops when its "
             "grid spacing is at most TOL.")] = 1e-8,
    rows: Annotated[int, typer.Option(
        "--rows", min=0, help="Most table rows to show (0: all); the first and last steps are "
                              "kept.")] = 40,
    grid_range: Annotated[str | None, typer.Option(
        "--range", help="LO,HI for grid search (default: x0 ± 2·max(1, |x0|)).")] = None,
    plot: Annotated[Path | None, typer.Option(
        "--plot", help="Draw f and the path to this PNG or SVG file: the curve for one "
                       "variable (with --method compare, all three methods on it), a contour "
                       "map for two.")] = None,
) -> None:
    """Minimise FORMULA from x0, printing every step and a verdict.

    Gradient descent repeats x ← x − lr·f'(x) and says whether it converged, is too slow
    or is diverging, with the range of stable learning rates (0 < lr < 2/f''); Newton-
    Raphson divides by the curvature instead; grid search needs no derivatives at all.
    """
    console = Console(soft_wrap=True, highlight=False)
    with user_errors():
        check_outputs({"--plot": plot}, [])
        parsed = parse_formula(formula)
        start = _parse_start(x0, parsed.variables)
        if not (np.isfinite(lr) and lr > 0):
            raise ValueError(f"--lr must be a finite number > 0, got {lr}")
        f = parsed.to_function()
        names = ", ".join(parsed.variables)
        # Compute first, print after: a refused setting then prints nothing but its error.
        results: list[MinimizeResult] = []
        if method is Method.compare:
            bracket = _range(grid_range, start)
            comparison = compare(f, start, lr, bracket=bracket, max_steps=steps, tol=tol)
            results = list(comparison.results)
            shown: list[Any] = [comparison.table(),
                                *(f"{r.method}: {r.reason}" for r in comparison.results)]
            local = _local_minimum_note(results)
            if local:
                shown.append(local)
            result = None
        elif method is Method.grid:
            if not isinstance(start, float):
                raise ValueError("--method grid handles one variable only")
            lo, hi = _range(grid_range, start)
            result = grid_search(f, lo, hi, rounds=20, tol=tol)
            shown = [_grid_table(result)]
        else:
            result = (gradient_descent(f, start, lr, steps, tol) if method is Method.gd
                      else newton(f, start, steps, tol))
            shown = [iteration_table(result, rows, names=parsed.variables, f=f),
                     f"x = {_number(result.x)}, f(x) = {_number(result.value)} after "
                     f"{result.steps} step(s) ({result.evaluations} evaluations)"]
        if result is not None:
            results = [result]
        if plot is not None and len(parsed.variables) > 2:
            raise ValueError("--plot draws functions of one or two variables")
        if plot is not None and method is Method.grid and not isinstance(start, float):
            raise ValueError("--method grid handles one variable only")
        console.print(f"minimise f({names}) = {formula} from {names} = {x0}")
        for item in shown:
            console.print(item)
        if result is not None:
            _verdict(console, result)
        if plot is not None:
            _draw(parsed, start, lr, method, results, plot, steps, tol)
            console.print(f"plot saved to {plot}")


def _local_minimum_note(results: list[MinimizeResult]) -> str | None:
    """When the methods ended in different valleys: which found only a local minimum."""
    from descent.explain.descent_plots import separate_minima

    if not separate_minima(results):
        return None
    done = [r for r in results if r.converged]
    best = min(done, key=lambda r: r.value)
    stuck = [r for r in done if r.value > best.value + 1e-6 * max(1.0, abs(best.value))]
    where = ", ".join(f"{r.method} at x = {_number(r.x)} (f = {r.value:.6g})" for r in stuck)
    return (f"local minimum: {where} stopped in a valley that is not the lowest; "
            f"{best.method} found x = {_number(best.x)} with f = {best.value:.6g}. Methods that "
            f"follow the slope stay in the valley they start in.")


def _draw(parsed: Any, start: Any, lr: float, method: Method, results: list[MinimizeResult],
          plot: Path, steps: int, tol: float) -> None:
    from descent.explain.descent_plots import plot_contour, plot_descent, plot_methods

    if len(parsed.variables) == 2:
        walks = [r for r in results if r.method != "grid search"]
        plot_contour(parsed, walks, path=plot)
    elif method is Method.compare or method is Method.newton or method is Method.grid:
        plot_methods(parsed, start, results, path=plot)
    else:
        plot_descent(parsed, start, rates=(lr,), path=plot, max_steps=steps, tol=tol)

def _range(text: str | None, start: float | list[float]) -> tuple[float, float] | None:
    if text is None:
        if isinstance(start, float):
            half = 2.0 * max(1.0, abs(start))
            return start - half, start + half
        return None
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"--range takes LO,HI such as -10,10; got {text!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"--range needs finite LO < HI, got {text!r}")
    return lo, hi
