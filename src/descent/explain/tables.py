"""Tables for the terminal: the chain rule, the deltas, the two-node network.

`render_*` build a `rich.table.Table` (rich is an optional dependency, imported only
when a table is built); `*_text` give the same content as plain text, and `print_*`
use rich when it is installed and plain text otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from descent.explain.chain import ChainRule
    from descent.explain.deltas import Deltas, TwoNodeExplanation

MAX_ENTRIES = 6  # a vector longer than this is shown as its first entries and "…"


def fmt(value: Any, digits: int = 6) -> str:
    """A number, vector or matrix in a few significant digits, long ones cut with "…".

    >>> fmt(0.123456789), fmt([1.0, 2.5]), fmt([[1, 2], [3, 4]]), fmt([[-0.8]])
    ('0.123457', '[1, 2.5]', '[[1, 2]; [3, 4]]', '-0.8')
    """
    array = np.asarray(value, dtype=np.float64)
    if array.size == 1:  # a one-unit layer's vector or matrix reads best as its number
        return f"{float(array.reshape(())):.{digits}g}"
    if array.ndim == 1:
        shown = [fmt(v, digits) for v in array[:MAX_ENTRIES]]
        return "[" + ", ".join(shown + (["…"] if array.size > MAX_ENTRIES else [])) + "]"
    rows = [fmt(row, digits) for row in array[:MAX_ENTRIES]]
    return "[" + "; ".join(rows + (["…"] if len(array) > MAX_ENTRIES else [])) + "]"


def _rich() -> Any:
    try:
        import rich.table
    except ImportError as error:  # an optional dependency: say how to get it
        raise ImportError("rich tables need the 'rich' package: pip install rich "
                          "(or use the plain-text functions, e.g. chain_text)") from error
    return rich.table


def _cells(*cells: str) -> list[Any]:
    """Cells as rich Text: "W1[1,2]" and "[0.5, 1]" are maths here, not rich markup tags."""
    from rich.text import Text

    return [Text(c) for c in cells]


def _print(table_fn: Any, text_fn: Any, obj: Any, console: Console | None) -> None:
    try:
        table = table_fn(obj)
    except ImportError:
        print(text_fn(obj))
        return
    if console is None:
        from rich.console import Console

        console = Console()
    console.print(table)


# ---- the chain rule ---------------------------------------------------------------------------

def _chain_title(chain: ChainRule) -> str:
    which = (f"example {chain.example} of N = {chain.n_examples}" if chain.n_examples > 1
             else "one example")
    return (f"∂C/∂{chain.label} by the chain rule  ({chain.parameter}{list(chain.index)}, "
            f"{chain.loss} cost, {which})")


def _chain_summary(chain: ChainRule) -> list[tuple[str, str]]:
    rows = [(f"product of the factors, example {chain.example}",
             fmt(chain.per_example[chain.example], 12))]
    if chain.n_examples > 1:
        rows.append((f"sum over the N = {chain.n_examples} examples", fmt(chain.total, 12)))
    rows += [(chain.delta_formula, fmt(chain.delta_form, 12)),
             ("the engine's gradient (backward())", fmt(chain.engine, 12)),
             ("|sum − engine|", f"{chain.abs_error:.1e}")]
    return rows


def render_chain(chain: ChainRule) -> Table:
    """A rich Table of the chain: one row per factor, then the product, sum and engine.

    >>> from descent.explain.chain import chain_rule
    >>> from descent.explain.deltas import two_node_network
    >>> table = render_chain(chain_rule(two_node_network(), [[1.5]], [1.0], "w1"))
    >>> table.row_count
    9
    """
    rt = _rich()
    table = rt.Table(title=_chain_title(chain), caption="\n".join(chain.notes),
                     caption_justify="left", show_lines=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("factor", style="bold")
    table.add_column("formula")
    table.add_column("value", justify="right", style="cyan")
    table.add_column("chain so far", justify="right", style="green")
    for k, f in enumerate(chain.factors, 1):
        join = f"{f.operation} " if f.combine else ""
        table.add_row(*_cells(str(k), f.symbol, f.formula, join + fmt(f.value),
                              f"{f.product_symbol} = {fmt(f.product)}"))
    table.add_section()
    for what, value in _chain_summary(chain):
        table.add_row(*_cells("", what, "", "", value))
    return table


def chain_text(chain: ChainRule) -> str:
    """The chain as plain text (no rich needed).

    >>> from descent.explain.chain import chain_rule
    >>> from descent.explain.deltas import two_node_network
    >>> print(chain_text(chain_rule(two_node_network(), [[1.5]], [1.0], "w2")).splitlines()[1])
      1. ∂C/∂ŷ = (ŷ − y)/N, for C = 1/(2N) Σ ‖ŷ − y‖²
    """
    lines = [_chain_title(chain)]
    for k, f in enumerate(chain.factors, 1):
        join = f"{f.operation} " if f.combine else ""
        lines.append(f"  {k}. {f.symbol} = {f.formula}")
        lines.append(f"       value {join}{fmt(f.value)}   →  {f.product_symbol} = "
                     f"{fmt(f.product)}")
    lines += [f"  {what}: {value}" for what, value in _chain_summary(chain)]
    lines += [f"  note: {note}" for note in chain.notes]
    return "\n".join(lines)


def print_chain(chain: ChainRule, console: Console | None = None) -> None:
    """Print the chain as a rich table, or as plain text when rich is not installed."""
    _print(render_chain, chain_text, chain, console)


# ---- the two-node network ---------------------------------------------------------------------

def render_two_node(explanation: TwoNodeExplanation) -> Table:
    """A rich Table of every number in the two-node network's forward and backward pass.

    >>> from descent.explain.deltas import explain_two_node
    >>> render_two_node(explain_two_node(1.5, 1.0)).row_count
    16
    """
    rt = _rich()
    e = explanation
    table = rt.Table(title=f"x → w1 → σ → w2 → σ → ŷ   (w1 = {fmt(e.w1)}, b1 = {fmt(e.b1)}, "
                     f"w2 = {fmt(e.w2)}, b2 = {fmt(e.b2)})",
                     caption="The error δ2 at the output is passed back to give δ1: "
                             "backpropagation runs from the output toward the input.",
                     caption_justify="left")
    table.add_column("quantity", style="bold")
    table.add_column("formula")
    table.add_column("value", justify="right", style="cyan")
    for symbol, formula, value in e.rows():
        table.add_row(*_cells(symbol, formula, fmt(value, 8)))
    return table


def two_node_text(explanation: TwoNodeExplanation) -> str:
    """The two-node table as plain text."""
    rows = explanation.rows()
    width = max(len(s) for s, _, _ in rows)
    return "\n".join(f"{s:<{width}}  {fmt(v, 8):>14}   {f}" for s, f, v in rows)


def print_two_node(explanation: TwoNodeExplanation, console: Console | None = None) -> None:
    """Print the two-node explanation (rich table, or plain text without rich)."""
    _print(render_two_node, two_node_text, explanation, console)


# ---- deltas, layer by layer -------------------------------------------------------------------

def _delta_rows(deltas: Deltas) -> list[tuple[str, ...]]:
    rows = []
    for i, layer in enumerate(reversed(deltas.layers)):
        l = len(deltas.layers) - 1 - i
        formula = ("∂C/∂ŷ ⊙ f'(z)" if i == 0 else f"(δ{layer.number + 1} W{layer.number + 1}ᵀ)"
                   f" ⊙ f'(z{layer.number})")
        rows.append((str(layer.number), layer.activation, formula,
                     fmt(np.linalg.norm(deltas.delta[l])), fmt(np.linalg.norm(deltas.grad_W[l])),
                     fmt(np.linalg.norm(deltas.grad_b[l]))))
    return rows


_DELTA_HEAD = ("layer", "activation", "δ_l", "‖δ_l‖", "‖∂C/∂W_l‖", "‖∂C/∂b_l‖")


def render_deltas(deltas: Deltas) -> Table:
    """A rich Table of each layer's delta and gradient sizes, output layer first.

    >>> import numpy as np, descent as ds
    >>> from descent.explain.deltas import backprop_deltas
    >>> d = backprop_deltas(ds.nn.MLP([2, 3, 1], seed=0), np.ones((4, 2)), np.zeros(4))
    >>> render_deltas(d).row_count
    2
    """
    rt = _rich()
    table = rt.Table(title=f"Backpropagation: δ_l = ∂C/∂z_l, from the output back "
                           f"({deltas.loss} cost C = {fmt(deltas.cost)})")
    for head in _DELTA_HEAD:
        table.add_column(head, justify="left" if head in ("activation", "δ_l") else "right")
    for row in _delta_rows(deltas):
        table.add_row(*_cells(*row))
    return table


def deltas_text(deltas: Deltas) -> str:
    """The deltas table as plain text."""
    rows = [_DELTA_HEAD, *_delta_rows(deltas)]
    widths = [max(len(r[c]) for r in rows) for c in range(len(_DELTA_HEAD))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True))
                     for r in rows)
