"""The playground's web server: one page, one JSON endpoint, one websocket per browser tab.

    GET  /               the page (static/index.html); /static/... its scripts and styles
    POST /api/descend    the formula view: {formula, x0, lr, steps} -> descend_view(...)
    WS   /ws             a training session for this tab: settings, upload, play, pause,
                         step, reset, explain in; snapshots, the chain rule and errors out

Everything served ships in this package (no CDN; a Content-Security-Policy of 'self' makes
the browser refuse anything else). Only this page may open a session: a websocket whose
Origin is another site is refused. Bounds: 16 tabs at once, messages of at most 3 MB
(uploads of at most 2 MB), at most 500 training steps a second per tab.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import webbrowser
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from descent.playground import datasets
from descent.playground.formula_view import ViewError, descend_view
from descent.playground.session import Session, settings_from

STATIC = Path(__file__).resolve().parent / "static"
MAX_TABS = 16
MAX_MESSAGE_BYTES = 3 * 1024 * 1024
TICKS_PER_SECOND = 10
MAX_STEPS_PER_SECOND = 500
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


def _json(obj: Any) -> str:
    """JSON without NaN/Infinity (which browsers' JSON.parse refuses)."""
    def plain(o: Any) -> Any:
        if isinstance(o, np.generic):
            return o.item()
        raise TypeError(f"cannot send {type(o).__name__}")
    return json.dumps(obj, allow_nan=False, separators=(",", ":"), default=plain)


def _same_origin(headers: Any) -> bool:
    origin = headers.get("origin")
    return origin is None or origin == f"http://{headers.get('host', '')}"


async def index(request: Request) -> Response:
    response = FileResponse(STATIC / "index.html")
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store"
    return response


async def descend(request: Request) -> Response:
    if not _same_origin(request.headers):
        return JSONResponse({"error": "requests come from the playground page only"}, 403)
    try:
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError
    except ValueError:
        return JSONResponse({"error": "send a JSON object", "field": "formula"}, 400)
    try:
        view = await asyncio.to_thread(descend_view, body.get("formula", ""), body.get("x0", ""),
                                       body.get("lr", 0.1), body.get("steps", 1000))
    except ViewError as error:
        return JSONResponse({"error": str(error), "field": error.field}, 400)
    return Response(_json(view), media_type="application/json")


@dataclass
class Tab:
    """One websocket's state: its session, whether it plays, and how fast."""

    session: Session | None = None
    table: Any = None  # an uploaded CSV, read
    upload_name: str = ""
    playing: bool = False
    generation: int = 0  # counts set-ups: the page drops a snapshot of an earlier one
    speed: int = 50  # steps per second
    task: asyncio.Task | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Playground:
    """The app's state: how many tabs are open."""

    def __init__(self) -> None:
        self.tabs = 0


def _data(tab: Tab, msg: dict[str, Any]) -> tuple[datasets.PlayData, str | None]:
    name = str(msg.get("dataset", "circle"))
    if name in datasets.TOY_SETS:
        noise = msg.get("noise", 0.05)
        try:
            noise = float(noise)
        except (TypeError, ValueError):
            raise ViewError(f"noise must be a number, got {noise!r}", "noise") from None
        return datasets.toy(name, noise), None
    if name == "two-node":
        return datasets.two_node_example(), "two-node"
    if name == "pictures":
        return datasets.pictures(), None
    inputs = msg.get("inputs") or None
    draw = msg.get("draw") or None
    for key, value in (("inputs", inputs), ("draw", draw)):
        if value is not None and not (isinstance(value, list)
                                      and all(isinstance(v, str) for v in value)):
            raise ViewError(f"{key} must be a list of column names", key)
    if name == "windsor":
        return datasets.windsor(inputs, draw), None
    if name == "csv":
        if tab.table is None:
            raise ViewError("upload a CSV file first", "csv")
        target = msg.get("target")
        if not isinstance(target, str) or not target:
            raise ViewError("choose the column to predict", "target")
        return datasets.from_table(tab.table, target, inputs, draw, tab.upload_name), None
    raise ViewError(f"unknown data set {name!r}; choose one of "
                    f"{', '.join(datasets.DATASETS)}", "dataset")


class Connection:
    """Reads one tab's messages and answers them."""

    def __init__(self, websocket: WebSocket) -> None:
        self.ws = websocket
        self.tab = Tab()

    async def send(self, message_type: str, /, **payload: Any) -> None:
        await self.ws.send_text(_json({**payload, "type": message_type}))

    async def error(self, message: str, field: str = "") -> None:
        await self.send("error", message=message, field=field)

    async def snapshot(self) -> None:
        session = self.tab.session
        if session is None:
            return
        async with self.tab.lock:
            snap = await asyncio.to_thread(session.snapshot)
            generation = self.tab.generation
        await self.send("snapshot", playing=self.tab.playing, generation=generation, **snap)

    async def play_loop(self) -> None:
        tab = self.tab
        loop = asyncio.get_running_loop()
        while tab.playing and tab.session is not None:
            started = loop.time()
            steps = max(1, round(tab.speed / TICKS_PER_SECOND))
            async with tab.lock:
                await asyncio.to_thread(tab.session.train, steps)
            if tab.session.diverged:
                tab.playing = False
            await self.snapshot()
            await asyncio.sleep(max(0.0, 1 / TICKS_PER_SECOND - (loop.time() - started)))

    def stop(self) -> None:
        self.tab.playing = False
        if self.tab.task is not None:
            self.tab.task.cancel()
            self.tab.task = None

    async def handle(self, msg: dict[str, Any]) -> None:
        tab = self.tab
        kind = msg.get("type")
        if kind == "setup":
            self.stop()
            data, preset = _data(tab, msg)
            settings = settings_from(msg.get("settings") or {})
            if preset == "two-node":
                settings.hidden, settings.activation = [1], "sigmoid"
                settings.output_activation, settings.loss = "sigmoid", "quadratic"
            async with tab.lock:
                tab.session = await asyncio.to_thread(Session, data, settings, preset=preset)
                tab.generation += 1
            await self.send("data", generation=tab.generation, **tab.session.describe())
            await self.snapshot()
        elif kind == "upload":
            name, text = msg.get("name", "upload.csv"), msg.get("text")
            if not isinstance(text, str):
                raise ViewError("the upload has no text", "csv")
            table = await asyncio.to_thread(datasets.read_upload, str(name), text)
            tab.table, tab.upload_name = table, table.path
            await self.send("columns", name=table.path, rows=len(table),
                            columns=table.columns, kinds=table.kinds)
        elif tab.session is None:
            raise ViewError("choose a data set first", "dataset")
        elif kind == "play":
            tab.playing = True
            if tab.task is None or tab.task.done():
                tab.task = asyncio.create_task(self.play_loop())
        elif kind == "pause":
            self.stop()
            await self.snapshot()
        elif kind == "step":
            self.stop()
            async with tab.lock:
                await asyncio.to_thread(tab.session.train, 1)
            await self.snapshot()
        elif kind == "reset":
            self.stop()
            async with tab.lock:
                await asyncio.to_thread(tab.session.reset)
            await self.snapshot()
        elif kind == "rates":
            s = settings_from({**tab.session.settings.__dict__, **(msg.get("settings") or {})})
            speed = msg.get("speed", tab.speed)
            if not isinstance(speed, int | float) or not 1 <= speed <= MAX_STEPS_PER_SECOND:
                raise ViewError(f"speed must be 1 to {MAX_STEPS_PER_SECOND} steps a second",
                                "speed")
            tab.speed = int(speed)
            async with tab.lock:
                tab.session.set_rates(s.lr, s.batch_size, s.weight_decay)
            if not tab.playing:
                await self.snapshot()
        elif kind == "explain":
            try:
                layer, i, j = (int(msg.get(k, 0)) for k in ("layer", "i", "j"))
                example = int(msg.get("example", 0))
            except (TypeError, ValueError):
                raise ViewError("layer, i, j and example are whole numbers", "weight") from None
            async with tab.lock:
                info = await asyncio.to_thread(tab.session.explain, layer,
                                               str(msg.get("kind", "weight")), i, j, example)
            await self.send("explain", **info)
        else:
            raise ViewError(f"unknown message type {kind!r}", "")

    async def run(self) -> None:
        while True:
            text = await self.ws.receive_text()
            if len(text) > MAX_MESSAGE_BYTES:
                await self.error("message too large", "")
                continue
            try:
                msg = json.loads(text)
                if not isinstance(msg, dict):
                    raise ValueError
            except ValueError:
                await self.error("the page sent something that is not a JSON object", "")
                continue
            try:
                await self.handle(msg)
            except ViewError as error:
                await self.error(str(error), error.field)
            except ValueError as error:  # a setting descent itself refused; it says which
                await self.error(str(error), "")


async def websocket_endpoint(websocket: WebSocket) -> None:
    state: Playground = websocket.app.state.playground
    if not _same_origin(websocket.headers):
        await websocket.close(code=1008)
        return
    await websocket.accept()
    if state.tabs >= MAX_TABS:
        await websocket.send_text(_json({"type": "error", "field": "", "message":
                                         f"{MAX_TABS} tabs are open already; close one"}))
        await websocket.close()
        return
    state.tabs += 1
    connection = Connection(websocket)
    try:
        await connection.run()
    except WebSocketDisconnect:
        pass
    finally:
        connection.stop()
        state.tabs -= 1


def create_app() -> Starlette:
    """The playground as an ASGI app (for uvicorn, or Starlette's TestClient in tests).

    >>> app = create_app()
    >>> sorted(r.path for r in app.routes)
    ['/', '/api/descend', '/static', '/ws']
    """
    app = Starlette(routes=[
        Route("/", index),
        Route("/api/descend", descend, methods=["POST"]),
        WebSocketRoute("/ws", websocket_endpoint),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ])
    app.state.playground = Playground()
    return app


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {error.strerror}; choose another "
                      f"--port (0 picks a free one)") from None
    sock.listen(64)
    return sock


def url_for(host: str, port: int) -> str:
    """The address to open: http://127.0.0.1:PORT/ (IPv6 in brackets)."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else ("[::1]" if host == "::" else host)
    return f"http://[{shown}]:{port}/" if ":" in shown and not shown.startswith("[") \
        else f"http://{shown}:{port}/"


def _server(sock: socket.socket):  # noqa: ANN202 - a uvicorn.Server
    import uvicorn

    config = uvicorn.Config(create_app(), log_level="warning", ws_max_size=MAX_MESSAGE_BYTES,
                            lifespan="off")
    return uvicorn.Server(config)


def serve(host: str = "127.0.0.1", port: int = 0, *, open_browser: bool = True,
          announce: Any = print) -> None:
    """Run the playground until Ctrl-C. port 0 picks a free port; the address is announced
    and (with `open_browser`) opened in the default browser."""
    sock = _bind(host, port)
    url = url_for(host, sock.getsockname()[1])
    announce(f"descent playground: {url}   (Ctrl-C to stop)")
    if open_browser:
        threading.Timer(0.3, webbrowser.open, [url]).start()
    _server(sock).run(sockets=[sock])


class Background:
    """The playground in a background thread (tests, screenshots): `url`, then `stop()`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        sock = _bind(host, port)
        self.url = url_for(host, sock.getsockname()[1])
        self.server = _server(sock)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]},
                                       daemon=True)
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                break
            threading.Event().wait(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
