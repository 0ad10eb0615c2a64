"""Headless Chromium for the playground's browser tests (Debian's chromium + chromedriver).

The browser tests FAIL, never skip, when the browser is missing: `python3 dev.py test`
installs it when it runs as root, and otherwise prints what to install.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
INSTALL_HINT = ("the playground's browser tests need Chromium and its driver: "
                "sudo apt-get install -y chromium chromium-driver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1500,1000")


def find_browser() -> tuple[str | None, str | None]:
    """(chromium, chromedriver) paths, or None where missing."""
    browser = next((p for n in CHROMIUM_NAMES if (p := shutil.which(n))), None)
    return browser, shutil.which("chromedriver")


def start_chrome(profile: str | None = None):  # noqa: ANN201 - a selenium WebDriver
    """A headless Chromium with a fresh profile, driven by Selenium."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = find_browser()
    if browser is None or driver is None:
        raise RuntimeError(INSTALL_HINT)
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in FLAGS:
        options.add_argument(flag)
    profile = profile or tempfile.mkdtemp(prefix="descent-chrome-")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    chrome = webdriver.Chrome(service=Service(driver), options=options)
    chrome.profile_dir = Path(profile)
    return chrome
