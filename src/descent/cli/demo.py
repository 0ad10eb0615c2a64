"""`descent demo`: the path of the seed texts, on real numbers, in eight short steps.

derivative → gradient descent → one sigmoid neuron → chain rule and deltas on the two-node
network → why the activation must be nonlinear → a house-price network → Efficient
BackProp's recommendations, measured → a digit classifier. Each step prints a few
sentences and the numbers that back them, all computed by descent's explain modules and its
autodiff engine.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.rule import Rule

from descent.autodiff import grad
from descent.cli.boundary import user_errors
from descent.cli.descend import iteration_table
from descent.cli.scores_table import scores_table
from descent.explain.chain import chain_rule
from descent.explain.collapse import linear_collapse_demo
from descent.explain.deltas import explain_two_node
from descent.explain.minimize import gradient_descent
from descent.explain.tables import fmt, print_chain, print_two_node
from descent.nn import Activation, Linear, Sequential

EPILOG = """Examples:

  descent demo

  descent demo --step 4

The tour pauses between steps when run on a terminal (--no-pause to run straight through).
"""


def _quadratic(x):  # noqa: ANN001, ANN202 - a Tensor in, a Tensor out
    return x**2 - 4 * x + 6


def step_derivative(console: Console) -> None:
    console.print(
        "A derivative says how fast a function changes. For f(x) = x² − 4x + 6 it is "
        "f'(x) = 2x − 4; descent's autodiff engine computes it from the formula's pieces, "
        "without being told the rule.")
    x, h = 8.0, 1e-5
    slope = float(grad(_quadratic)(x))
    numeric = (float(_quadratic(x + h)) - float(_quadratic(x - h))) / (2 * h)
    console.print(f"  engine: f'(8) = {slope:g}    central difference (f(8+h) − f(8−h))/2h: "
                  f"{numeric:.6f}    by hand: 2·8 − 4 = 12")
    console.print("f'(x) = 0 where the curve is flat: at x = 2, the minimum. A network has "
                  "thousands of parameters and no formula for where its cost is flat, so it "
                  "walks downhill instead.")


def step_gradient_descent(console: Console) -> None:
    console.print("Gradient descent: x ← x − lr·f'(x). From x = 8 with lr = 0.1, as in the "
                  "seed text (which rounds between steps; these are exact):")
    result = gradient_descent(_quadratic, 8.0, 0.1)
    console.print(iteration_table(result, max_rows=10))
    for lr, steps in ((0.01, 100), (0.1, 1000), (1.05, 1000)):
        r = gradient_descent(_quadratic, 8.0, lr, steps)
        console.print(f"  lr = {lr:<5g} → {r.reason}")
    low, high = result.stable_range or (0.0, float("nan"))
    console.print(f"Too small a rate wastes steps; too large overshoots further each time. "
                  f"Here the stable rates are {low:g} < lr < {high:g} = 2/f'' (f'' = 2).")


def step_neuron(console: Console) -> None:
    console.print(
        "One neuron: ŷ = σ(w·x + b) with the logistic sigmoid σ(z) = 1/(1 + e^(−z)) (the "
        "seed texts drop the minus sign). With the cost C = 1/(2N) Σ (ŷ − y)², the chain "
        "rule gives ∂C/∂w = ∂C/∂ŷ · ∂ŷ/∂z · ∂z/∂w = (ŷ − y) · σ(z)(1 − σ(z)) · x: the "
        "last factor x is the input (the seed texts leave it out).")
    neuron = Sequential(Linear(1, 1, dtype=np.float64), Activation("sigmoid"))
    neuron[0].weight.data[...] = 0.5
    neuron[0].bias.data[...] = 0.1
    chain = chain_rule(neuron, [[1.5]], [1.0], "w1", loss="quadratic")
    print_chain(chain, console)
    w_new = 0.5 - 1.0 * chain.total
    console.print(f"One gradient descent step with lr = 1: w ← 0.5 − 1·({fmt(chain.total)}) = "
                  f"{fmt(w_new)}. The cost's slope is negative, so w grows and ŷ moves "
                  "toward y = 1.")


def step_two_node(console: Console) -> None:
    console.print(
        "Two neurons in a row, x → w1 → σ → w2 → σ → ŷ. The chain rule is used twice, and "
        "the second use reuses the first: δ2 = ∂C/∂z2 is found at the output, then passed "
        "back as δ1 = δ2·w2·σ'(z1). The error travels from the output toward the input: "
        "that is backpropagation.")
    print_two_node(explain_two_node(x=1.5, y=1.0), console)


def step_collapse(console: Console) -> None:
    console.print(
        "Why a nonlinear activation? Without one, layers collapse: W_o(W_i x) = (W_o W_i)x, "
        "a single linear layer however deep the stack. Measured on random networks:")
    console.print(str(linear_collapse_demo(seed=0)))


def step_houses(console: Console) -> None:
    from descent.data import load_windsor
    from descent.tabular.table_training import train_table

    console.print(
        "A real network on real data: 546 houses sold in Windsor, Ontario (1987), 11 "
        "features, predicting the price. The inputs and the price are standardized, 20% of "
        "the houses decide when to stop (early stopping), 20% are kept for an honest score. "
        "This is what `descent train` runs.")
    result = train_table(load_windsor(), "price", verbose=False)
    console.print(scores_table(result.scores, "price: the network, and a baseline that "
                               "predicts the mean price"))
    (X_train, y_train), (X_test, y_test) = result.data["train"], result.data["test"]
    ones = np.ones((len(X_train), 1))
    coef, *_ = np.linalg.lstsq(np.hstack([X_train, ones]), y_train, rcond=None)
    line = np.hstack([X_test, np.ones((len(X_test), 1))]) @ coef
    line_r2 = 1 - np.sum((y_test - line) ** 2) / np.sum((y_test - y_test.mean()) ** 2)
    console.print(f"{len(result.history)} epochs in {result.seconds:.1f} s. Prices depend on "
                  f"more than these 11 columns, so R² stays well below 1, and this test part "
                  f"is a hard one: least squares (a straight line, fitted on the same training "
                  f"rows) scores R² {line_r2:.3f} on it. Over 5-fold cross-validation least "
                  f"squares scores 0.660 and this recipe 0.674.")


def step_efficient_backprop(console: Console) -> None:
    from descent.data import load_windsor_xy
    from descent.explain.efficient_backprop import ablation_table, efficient_backprop

    console.print(
        "LeCun et al.'s \"Efficient BackProp\" (1998), which the seed texts cite, recommends "
        "standardized inputs, shuffling, LeCun's initialization N(0, 1/fan_in), the scaled "
        "tanh 1.7159·tanh(2x/3) and momentum. Here the same 11 → 16 → 16 → 1 network learns "
        "the house prices (rows sorted by price, as exports often are) with all five, then "
        "without each one; the cost on all rows, median of 3 seeds:")
    X, y, _ = load_windsor_xy()
    runs = efficient_backprop(X, y)
    console.print(ablation_table(runs), highlight=False, soft_wrap=True)
    full = runs[0].median[-1]
    worse = [r for r in runs[1:] if not r.median[-1] <= full]  # nan (diverged) counts as worse
    ranked = sorted(worse, key=lambda r: -np.nan_to_num(r.median[-1], nan=np.inf))
    helps = "Every recommendation helps here" if len(worse) == len(runs) - 1 else \
        f"{len(worse)} of {len(runs) - 1} recommendations help here"
    biggest = ", then ".join(r.name.removeprefix("without ") for r in ranked[:2])
    console.print(f"{helps}; leaving out these costs the most: {biggest}. Sorted rows teach one "
                  "price range at a time, and each batch undoes the last. The curves: "
                  "docs/tutorial.md, section 8.")


def step_digits(console: Console) -> None:
    try:
        from descent.data import load_digits

        X, y = load_digits(np.float64)
    except ImportError:
        console.print("(skipped: the digits come with scikit-learn, which is not installed)")
        return
    from descent.data import Standardizer, split_indices
    from descent.tabular.recipe import Recipe
    from descent.tabular.training import train_network, validation_split

    console.print(
        "Classification: 1797 handwritten digits of 8×8 pixels. The network has one output "
        "per digit; softmax turns them into probabilities and the cross-entropy cost "
        "−log p(true digit) is minimised the same way.")
    train, test = split_indices(len(X), (0.75, 0.25), seed=0, stratify=y)
    fit_rows, val_rows = (train[i] for i in validation_split(
        len(train), 0.2, np.random.default_rng(0), y[train]))
    scaler = Standardizer().fit(X[fit_rows])
    trained_recipe = Recipe().checked("classification")
    trained = train_network(scaler.transform(X[fit_rows]), y[fit_rows],
                            trained_recipe, task="classification",
                            n_outputs=10, seed=0,
                            validation_data=(scaler.transform(X[val_rows]), y[val_rows]))
    from descent.train import predict_array

    out = predict_array(trained.model, scaler.transform(X[test]))
    accuracy = float(np.mean(out.argmax(axis=1) == y[test]))
    predicted = out.argmax(axis=1)
    wrong = np.flatnonzero(predicted != y[test])
    shape = " → ".join([str(X.shape[1]), *(f"{h} relu" for h in trained_recipe.hidden), "10"])
    members = len(trained.member_histories)
    mean_of = f" (the mean of {members} such networks)" if members > 1 else ""
    console.print(f"  {shape}{mean_of}, {len(trained.history)} epochs: test accuracy "
                  f"{accuracy:.1%} on {len(test)} digits it never saw (guessing: 10%); "
                  f"{len(wrong)} mistakes, e.g. "
                  + ", ".join(f"a {y[test][i]} read as {predicted[i]}" for i in wrong[:3]))


STEPS: list[tuple[str, Callable[[Console], None]]] = [
    ("The derivative", step_derivative),
    ("Gradient descent, step by step", step_gradient_descent),
    ("One sigmoid neuron and the chain rule", step_neuron),
    ("The two-node network: deltas flow backwards", step_two_node),
    ("Why the activation must be nonlinear", step_collapse),
    ("A house-price network (Windsor, 546 houses)", step_houses),
    ("Efficient BackProp, measured", step_efficient_backprop),
    ("A digit classifier", step_digits),
]


def demo(
    step: Annotated[int | None, typer.Option(
        "--step", min=1, max=len(STEPS), help="Run only this step (1-8).")] = None,
    pause: Annotated[bool | None, typer.Option(
        "--pause/--no-pause", show_default=False,
        help="Wait for Enter between steps \\[default: on a terminal]")] = None,
) -> None:
    """A guided tour, about a minute: from one derivative to a trained digit classifier.

    1 the derivative, 2 gradient descent, 3 one sigmoid neuron, 4 the chain rule and deltas
    on the two-node network, 5 why nonlinearity (linear collapse), 6 a house-price network,
    7 Efficient BackProp's recommendations measured one by one, 8 a digit classifier.
    """
    console = Console(highlight=False)
    wait = sys.stdin.isatty() and sys.stdout.isatty() if pause is None else pause
    chosen = list(enumerate(STEPS, 1)) if step is None else [(step, STEPS[step - 1])]
    with user_errors():
        for k, (title, run) in chosen:
            console.print(Rule(f"[bold]{k}/{len(STEPS)}  {title}", align="left"))
            run(console)
            console.print()
            if wait and k != chosen[-1][0]:
                typer.prompt("Enter for the next step", default="", show_default=False)
