"""Take the playground screenshots shown in docs/ (run by hand, then LOOK at them):

    PYTHONPATH=src:. python tests/playground/screenshots.py docs/img
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from descent.playground.server import Background
from tests.playground.browser import start_chrome


def _wait(chrome, script: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not chrome.execute_script(script):
        if time.monotonic() > deadline:
            raise TimeoutError(script)
        time.sleep(0.1)


def _shot(chrome, element_id: str, path: Path, height: int | None = None) -> None:
    """The element's picture, cut to `height` pixels and reduced to 256 colours (docs images
    stay under 200 KB)."""
    from PIL import Image

    chrome.find_element("id", element_id).screenshot(str(path))
    image = Image.open(path).convert("RGB")
    if height is not None and image.height > height:
        image = image.crop((0, 0, image.width, height))
    image.quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    print("wrote", path, path.stat().st_size // 1024, "KB")


def main(folder: str) -> None:
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    server = Background()
    chrome = start_chrome()
    chrome.set_window_size(1500, 1500)
    try:
        chrome.get(server.url)
        _wait(chrome, "return window.playground.snapshots > 0 && window.playground.lastView")
        time.sleep(0.5)
        _shot(chrome, "view-descend", out / "playground_descent.png")
        select = "document.getElementById('preset').value = arguments[0];" \
                 "document.getElementById('preset').dispatchEvent(new Event('change'))"
        chrome.execute_script(select, "mountain")
        _wait(chrome, "return window.playground.lastView.variables.length === 2")
        time.sleep(0.5)
        _shot(chrome, "view-descend", out / "playground_contour.png", 520)
        chrome.find_element("id", "tab-network").click()
        chrome.find_element("id", "play").click()
        _wait(chrome, "return window.playground.lastSnapshot.steps >= 400", 60)
        chrome.find_element("id", "pause").click()
        time.sleep(0.5)
        chrome.execute_script("document.getElementById('w-2-1-0').dispatchEvent("
                              "new MouseEvent('click'))")
        _wait(chrome, "return window.playground.lastExplain")
        time.sleep(0.3)
        _shot(chrome, "view-network", out / "playground_network.png", 660)
        _shot(chrome, "chain", out / "playground_chain.png")
        select = "const d = document.getElementById('dataset'); d.value = arguments[0];" \
                 "d.dispatchEvent(new Event('change'))"
        chrome.execute_script(select, "windsor")
        _wait(chrome, "return window.playground.info.dataset === 'windsor'")
        chrome.execute_script("document.getElementById('net-lr').value = 0.1")
        chrome.find_element("id", "play").click()
        _wait(chrome, "return window.playground.lastSnapshot.steps >= 300", 60)
        chrome.find_element("id", "pause").click()
        time.sleep(0.5)
        _shot(chrome, "view-network", out / "playground_windsor.png", 660)
        chrome.execute_script("document.getElementById('net-lr').value = 1")
        chrome.execute_script(select, "pictures")
        _wait(chrome, "return window.playground.info.dataset === 'pictures'"
                      " && window.playground.lastSnapshot")
        chrome.find_element("id", "play").click()
        _wait(chrome, "return window.playground.lastSnapshot.steps >= 300", 90)
        chrome.find_element("id", "pause").click()
        time.sleep(0.8)
        _shot(chrome, "view-network", out / "playground_pictures.png", 600)
    finally:
        chrome.quit()
        server.stop()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/img")
