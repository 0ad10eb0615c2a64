"""dev.py's browser set-up: installs Chromium when it can (root + apt-get), else says how."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def dev(monkeypatch):
    spec = importlib.util.spec_from_file_location("dev_under_test", ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    calls = []
    monkeypatch.setattr(module.subprocess, "run", lambda argv, **kw: calls.append(argv))
    module.calls = calls
    return module


def test_nothing_happens_when_the_browser_is_there(dev, monkeypatch, capsys) -> None:
    monkeypatch.setattr(dev.shutil, "which", lambda name: f"/usr/bin/{name}")
    dev._ensure_browser()
    assert dev.calls == [] and capsys.readouterr().err == ""


def test_as_root_it_installs_debians_packages(dev, monkeypatch) -> None:
    monkeypatch.setattr(dev.shutil, "which", lambda name: "/usr/bin/apt-get"
                        if name == "apt-get" else None)
    monkeypatch.setattr(dev.os, "geteuid", lambda: 0)
    dev._ensure_browser()
    assert dev.calls == [["apt-get", "update"],
                         ["apt-get", "install", "-y", "--no-install-recommends", "chromium",
                          "chromium-driver"]]


def test_otherwise_it_says_exactly_what_to_install(dev, monkeypatch, capsys) -> None:
    monkeypatch.setattr(dev.shutil, "which", lambda name: None)
    monkeypatch.setattr(dev.os, "geteuid", lambda: 1000)
    dev._ensure_browser()
    assert dev.calls == []
    err = capsys.readouterr().err
    assert "sudo apt-get install -y --no-install-recommends chromium chromium-driver" in err
    assert "they will FAIL" in err
