"""The server without a browser: the page, the JSON endpoint, a tab's websocket session."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from descent.playground.server import STATIC, create_app, url_for


@pytest.fixture()
def client() -> TestClient:
    return TestClient(create_app())


def test_the_page_ships_in_the_package_and_fetches_nothing_from_outside(client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "descent playground" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for path in sorted(STATIC.iterdir()):
        text = path.read_text(encoding="utf-8")
        # the only absolute URL allowed is the SVG namespace name (never fetched)
        urls = set(re.findall(r"https?://[^\s\"'`)]+", text)) - {"http://www.w3.org/2000/svg"}
        assert not urls, f"{path.name} refers to {urls}"
        assert client.get(f"/static/{path.name}").status_code == 200
    for script in re.findall(r'src="([^"]+)"', page.text):
        assert client.get(script).status_code == 200


def test_descend_answers_json_and_names_the_field_it_refuses(client) -> None:
    ok = client.post("/api/descend", json={"formula": "x**2 - 4*x + 6", "x0": "8", "lr": 0.1})
    assert ok.status_code == 200 and ok.json()["gd"]["path"][1] == pytest.approx(6.8)
    bad = client.post("/api/descend", json={"formula": "x**2", "x0": "1", "lr": "0"})
    assert bad.status_code == 400 and bad.json()["field"] == "lr"
    junk = client.post("/api/descend", content=b"[1, 2", headers={"content-type":
                                                                   "application/json"})
    assert junk.status_code == 400
    other_site = client.post("/api/descend", json={"formula": "x**2", "x0": "1", "lr": 0.1},
                             headers={"origin": "http://evil.example"})
    assert other_site.status_code == 403


def test_a_tab_trains_steps_and_explains_over_its_websocket(client) -> None:
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "setup", "dataset": "xor", "settings": {"hidden": "3"}})
        info = ws.receive_json()
        assert info["type"] == "data" and info["sizes"] == [2, 3, 1]
        first = ws.receive_json()
        assert first["steps"] == 0 and first["generation"] == info["generation"] == 1
        ws.send_json({"type": "step"})
        assert ws.receive_json()["steps"] == 1
        ws.send_json({"type": "explain", "layer": 2, "kind": "weight", "i": 1, "j": 0})
        explain = ws.receive_json()
        assert explain["type"] == "explain" and explain["matches"]
        assert explain["label"] == "W2[1,0]"
        ws.send_json({"type": "rates", "settings": {"lr": "-3"}})
        error = ws.receive_json()
        assert error["type"] == "error" and error["field"] == "lr"
        ws.send_text("not json")
        assert ws.receive_json()["type"] == "error"
        ws.send_json({"type": "upload", "name": "x.csv", "text": "a,b\n1\n"})
        assert ws.receive_json()["message"] == "x.csv, line 2: 1 field(s), but the header " \
                                               "(line 1) has 2"
        ws.send_json({"type": "setup", "dataset": "csv", "target": "b"})
        assert ws.receive_json()["message"] == "upload a CSV file first"
        ws.send_json({"type": "setup", "dataset": "moons"})
        assert ws.receive_json()["generation"] == 2  # the page drops older snapshots
        assert ws.receive_json()["generation"] == 2


def test_a_websocket_from_another_site_is_refused(client) -> None:
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect), client.websocket_connect(
            "/ws", headers={"origin": "http://evil.example"}) as ws:
        ws.receive_json()


def test_addresses_to_open() -> None:
    assert url_for("127.0.0.1", 8765) == "http://127.0.0.1:8765/"
    assert url_for("0.0.0.0", 80) == "http://127.0.0.1:80/"
    assert url_for("::1", 80) == "http://[::1]:80/"
    assert Path(STATIC / "index.html").is_file()


def test_tabs_are_bounded(client, monkeypatch) -> None:
    import descent.playground.server as server

    monkeypatch.setattr(server, "MAX_TABS", 1)
    with client.websocket_connect("/ws") as first:
        first.send_json({"type": "setup", "dataset": "xor"})
        assert first.receive_json()["type"] == "data"
        with client.websocket_connect("/ws") as second:
            assert "1 tabs are open already" in second.receive_json()["message"]
