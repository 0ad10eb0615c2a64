"""`descent playground`: its options reach the server; a busy port is one clear line."""

from __future__ import annotations

import socket

import descent.playground.server as server
from tests.cli.conftest import run


def test_options_reach_the_server_and_other_hosts_are_warned_about(monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(server, "serve", lambda host, port, **kw: calls.append((host, port, kw)))
    result = run("playground", "--port", "8123", "--no-browser")
    assert result.exit_code == 0, result.output
    assert calls[0][:2] == ("127.0.0.1", 8123) and calls[0][2]["open_browser"] is False
    assert "warning" not in result.stderr
    result = run("playground", "--host", "0.0.0.0")
    assert calls[1][0] == "0.0.0.0" and calls[1][2]["open_browser"] is True
    assert "warning: listening on 0.0.0.0: anyone who can reach this machine" in result.stderr


def test_a_busy_port_is_one_line_and_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = run("playground", "--port", str(port), "--no-browser")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}")
    assert "--port" in result.stderr and "Traceback" not in result.output
