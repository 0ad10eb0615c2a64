"""The playground in a real browser: headless Chromium driven by Selenium.

Each test acts as a learner would (types, clicks, uploads) and reads what the page shows.
A missing browser FAILS these tests with the command that installs it (see browser.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from descent.explain import explain_two_node
from descent.playground.server import Background
from tests.playground.browser import INSTALL_HINT, find_browser, start_chrome
from tests.torch_reference import TORCH_ACTIVATIONS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    browser, driver = find_browser()
    if browser is None or driver is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    server = Background()
    chrome = start_chrome()
    chrome.server_url = server.url
    try:
        yield chrome
    finally:
        chrome.quit()
        server.stop()


def wait_for(condition: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def text(chrome: Any, element_id: str) -> str:
    return chrome.find_element("id", element_id).text


def open_view(chrome: Any, tab: str) -> None:
    chrome.get(chrome.server_url)
    wait_for(lambda: chrome.execute_script("return window.playground && "
                                           "window.playground.snapshots > 0"),
             what="the first snapshot of the training session")
    chrome.find_element("id", tab).click()


def type_into(chrome: Any, element_id: str, value: str) -> None:
    box = chrome.find_element("id", element_id)
    box.clear()
    box.send_keys(value)


def descend_settled(chrome: Any, formula: str) -> dict:
    """Wait until the page shows the view for `formula`; return that view's data."""
    return wait_for(lambda: chrome.execute_script(
        "const v = window.playground.lastView; return v && v.formula === arguments[0] ? v : null",
        formula), what=f"the view of {formula}")


def test_training_on_the_circle_lowers_the_cost_and_moves_the_boundary(page: Any) -> None:
    open_view(page, "tab-network")
    wait_for(lambda: text(page, "train-loss") not in ("", "—"), what="the first cost")
    first_loss = float(text(page, "train-loss"))
    first_boundary = page.find_element("id", "output-plot").get_attribute("data-signature")
    page.find_element("id", "play").click()
    wait_for(lambda: int(text(page, "stat-steps")) >= 150, timeout=60, what="150 steps")
    page.find_element("id", "pause").click()
    wait_for(lambda: page.execute_script("return document.body.dataset.playing") == "no",
             what="the pause")
    assert float(text(page, "train-loss")) < 0.7 * first_loss
    assert page.find_element("id", "output-plot").get_attribute("data-signature") != \
        first_boundary
    assert text(page, "network-error") == ""


def test_a_typed_formula_shows_its_path_and_verdict(page: Any) -> None:
    open_view(page, "tab-descend")
    type_into(page, "formula", "(x - 3)**2 + 1")
    type_into(page, "x0", "-2")
    wait_for(lambda: "steps from -2 to 3" in text(page, "path-info"), what="the path")
    view = descend_settled(page, "(x - 3)**2 + 1")
    assert text(page, "verdict") == "converging"
    assert int(page.find_element("id", "path-info").get_attribute("data-points")) > 10
    assert view["gd"]["path"][0] == -2.0 and abs(view["gd"]["x"] - 3.0) < 1e-6
    # two variables: a contour map, and the table's header names both variables
    type_into(page, "formula", "(x-1)**2 + 10*(y+2)**2")
    type_into(page, "x0", "0, 0")
    descend_settled(page, "(x-1)**2 + 10*(y+2)**2")
    header = page.find_element("id", "iterations").find_element("tag name", "tr").text
    assert "(x, y)_old" in header and "(x, y)_new" in header


def test_a_rate_past_the_stable_range_is_diverging(page: Any) -> None:
    open_view(page, "tab-descend")
    descend_settled(page, "x**2 - 4*x + 6")
    wait_for(lambda: text(page, "verdict") == "converging", what="the seeds' verdict")
    assert "0 < rate < 1 " in text(page, "stable-range")
    type_into(page, "lr-number", "1.05")
    wait_for(lambda: text(page, "verdict") == "diverging", what="diverging")
    assert "past the stable range" in text(page, "stable-range")
    # The slider re-runs too: back inside the range it converges again.
    page.execute_script("const s = document.getElementById('lr'); s.value = Math.log10(0.5);"
                        "s.dispatchEvent(new Event('input'))")
    wait_for(lambda: text(page, "verdict") == "converging", what="converging at rate 0.5")


def torch_gradient(explain: dict, layer: int, i: int, j: int) -> float:
    """∂C/∂W_layer[i, j] for C = 1/(2N) Σ (ŷ − y)², by PyTorch, from the page's numbers."""
    a = torch.tensor(explain["X"], dtype=torch.float64)
    Ws = [torch.tensor(w["W"], dtype=torch.float64, requires_grad=True)
          for w in explain["weights"]]
    for W, w, act in zip(Ws, explain["weights"], explain["activations"], strict=True):
        a = TORCH_ACTIVATIONS[act](a @ W + torch.tensor(w["b"], dtype=torch.float64))
    y = torch.tensor(explain["y"], dtype=torch.float64).reshape(a.shape)
    cost = ((a - y) ** 2).sum() / (2 * len(y))
    cost.backward()
    return float(Ws[layer - 1].grad[i, j])


def test_clicking_a_weight_shows_the_chain_rule_equal_to_the_engine(page: Any) -> None:
    open_view(page, "tab-network")
    for _ in range(5):
        page.find_element("id", "step").click()
    wait_for(lambda: int(text(page, "stat-steps")) >= 5, what="five steps")
    page.execute_script("document.getElementById('w-1-0-2').dispatchEvent(new MouseEvent("
                        "'click'))")
    wait_for(lambda: page.find_elements("id", "chain-total"), what="the chain rule panel")
    explain = page.execute_script("return window.playground.lastExplain")
    shown = float(text(page, "chain-total"))
    engine = float(text(page, "chain-engine"))
    oracle = torch_gradient(explain, 1, 0, 2)
    assert shown == pytest.approx(oracle, rel=1e-9, abs=1e-14)
    assert engine == pytest.approx(oracle, rel=1e-9, abs=1e-14)
    assert "matches the engine" in text(page, "chain-check")
    factors = page.find_element("id", "chain-factors").text
    assert "∂C/∂ŷ" in factors and "∂z1[2]/∂W1[0,2]" in factors
    deltas = page.find_element("id", "chain-deltas").text.splitlines()
    assert [line.split(" = ")[0] for line in deltas[1:]] == ["δ3", "δ2", "δ1"]  # output first
    assert deltas[1:] and all("matches the engine" in line for line in deltas[1:])
    # hovering a neuron shows z, a and the activation's derivative there
    neuron = page.find_element("id", "n-1-0")
    from selenium.webdriver import ActionChains

    ActionChains(page).move_to_element(neuron).perform()
    tip = wait_for(lambda: text(page, "neuron-tip"), what="the neuron's numbers")
    assert "z  =" in tip and "a  = tanh(z) =" in tip and "tanh'(z) =" in tip
    values = dict(line.split(" = ", 1) for line in tip.splitlines()[1:3])
    z_value = float(values["z "])
    a_value = float(values["a "].split(" = ")[-1])
    assert a_value == pytest.approx(np.tanh(z_value), rel=1e-4, abs=1e-5)


def test_the_seeds_two_node_network_gives_the_seeds_numbers(page: Any) -> None:
    open_view(page, "tab-network")
    from selenium.webdriver.support.ui import Select

    Select(page.find_element("id", "dataset")).select_by_value("two-node")
    wait_for(lambda: page.execute_script(
        "return window.playground.info && window.playground.info.preset === 'two-node'"),
        what="the two-node preset")
    wait_for(lambda: page.find_elements("id", "w-1-0-0"), what="the two-node network")
    page.execute_script("document.getElementById('w-1-0-0').dispatchEvent(new MouseEvent("
                        "'click'))")
    wait_for(lambda: page.find_elements("id", "chain-total"), what="the chain rule panel")
    seeds = explain_two_node(x=1.5, y=1.0)
    assert float(text(page, "chain-total")) == pytest.approx(seeds.dC_dw1, rel=1e-12)
    assert "w1" in page.find_element("id", "chain-factors").text


def test_a_bad_csv_and_a_bad_formula_are_named_on_the_page(page: Any, tmp_path: Path) -> None:
    open_view(page, "tab-network")
    from selenium.webdriver.support.ui import Select

    Select(page.find_element("id", "dataset")).select_by_value("csv")
    bad = tmp_path / "houses.csv"
    bad.write_text("size,rooms,price\n50,2,100\n70,3\n", encoding="utf-8")
    page.find_element("id", "csv-file").send_keys(str(bad))
    message = wait_for(lambda: text(page, "network-error"), what="the CSV error")
    assert message == "houses.csv, line 3: 2 field(s), but the header (line 1) has 3"
    # a good file trains, with its own column names on the axes
    good = tmp_path / "good.csv"
    rng = np.random.default_rng(0)
    rows = "\n".join(f"{a:.3f},{b:.3f},{'yes' if a * b > 0 else 'no'}"
                     for a, b in rng.normal(size=(80, 2)))
    good.write_text("width,height,label\n" + rows + "\n", encoding="utf-8")
    page.find_element("id", "csv-file").send_keys(str(good))
    wait_for(lambda: page.execute_script(
        "return window.playground.info && window.playground.info.dataset === 'good.csv'"),
        what="the uploaded data set")
    assert page.execute_script("return window.playground.info.plane.axes.map(a => a.name)") \
        == ["width", "height"]
    assert text(page, "network-error") == ""

    page.find_element("id", "tab-descend").click()
    type_into(page, "formula", "x.__class__")
    message = wait_for(lambda: text(page, "formula-error"), what="the formula error")
    assert message.startswith("formula: attribute access is not allowed at column 1")


def test_linear_activations_show_the_collapse_to_one_layer(page: Any) -> None:
    open_view(page, "tab-network")
    from selenium.webdriver.support.ui import Select

    Select(page.find_element("id", "activation")).select_by_value("identity")
    note = wait_for(lambda: text(page, "collapse"), what="the collapse note")
    assert note.startswith("Linear activations: the whole network is one layer.")
    snap = page.execute_script("return window.playground.lastSnapshot")
    W = [np.array(w["W"]) for w in snap["weights"]]
    np.testing.assert_allclose(W[0] @ W[1] @ W[2], np.array(snap["collapse"]["W"])[:, None],
                               rtol=1e-9)


def test_cats_and_dogs_train_and_a_clicked_pixel_shows_its_weights_derivative(page: Any
                                                                               ) -> None:
    open_view(page, "tab-network")
    from selenium.webdriver import ActionChains
    from selenium.webdriver.support.ui import Select

    Select(page.find_element("id", "dataset")).select_by_value("pictures")
    wait_for(lambda: page.execute_script(
        "const s = window.playground.lastSnapshot; return window.playground.info.pictures"
        " && s && s.generation === window.playground.info.generation"), what="the pictures")
    first = float(text(page, "train-loss"))
    page.find_element("id", "play").click()
    wait_for(lambda: int(text(page, "stat-steps")) >= 100, timeout=60, what="100 steps")
    page.find_element("id", "pause").click()
    wait_for(lambda: page.execute_script("return document.body.dataset.playing") == "no",
             what="the pause")
    assert float(text(page, "train-loss")) < 0.9 * first
    assert float(text(page, "val-acc").rstrip("%")) > 60
    # the top-left corner pixel of unit 0's weight picture
    unit = page.find_element("id", "n-1-0")
    ActionChains(page).move_to_element_with_offset(unit, -unit.size["width"] // 2 + 1,
                                                   -unit.size["height"] // 2 + 1).click() \
        .perform()
    wait_for(lambda: page.find_elements("id", "chain-total"), what="the chain rule panel")
    explain = page.execute_script("return window.playground.lastExplain")
    assert explain["label"] == "W1[0,0]"
    assert float(text(page, "chain-total")) == pytest.approx(
        torch_gradient(explain, 1, 0, 0), rel=1e-9, abs=1e-15)
    assert "matches the engine" in text(page, "chain-check")
