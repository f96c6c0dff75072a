"""The real EyeNet for the abuse tests (tests/test_abuse_*.py): app.run on loopback with its
SQLite store in a temporary directory and no devices, and the raw clients an attacker uses.

Every wait is bounded; no assertion is about time.
"""

from __future__ import annotations

import http.client
import json
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import trio
from restclient import api

from eyenet import app
from eyenet.config import AuthSettings, Config, StoreSettings, WebSettings

PASSWORD = "abuse-test-admin-password"
LIMIT = 10.0  # seconds: a bound on every wait, never an expectation


def config_for(data_dir: Path, auth: AuthSettings = AuthSettings(), **web) -> Config:
    """EyeNet's settings with its database (and jwt.secret) in `data_dir`, on 127.0.0.1, no devices."""
    return Config(
        path="abuse-test", store=StoreSettings(path=str(data_dir / "eyenet.db")), auth=auth,
        web=WebSettings(**{"host": "127.0.0.1", "port": 0, **web}),
    )


@asynccontextmanager
async def running_eyenet(data_dir: Path, monkeypatch, *, init: bool = False, auth: AuthSettings = AuthSettings(), **web):
    """EyeNet serving on 127.0.0.1 (a free port): yields (port, services)."""
    monkeypatch.setenv("EYENET_ADMIN_PASSWORD", PASSWORD)
    config = config_for(data_dir, auth, **web)
    async with trio.open_nursery() as nursery:
        services = await nursery.start(partial(app.run, config, init=init))
        yield services.addresses[0][1], services
        nursery.cancel_scope.cancel()


async def login(port: int) -> str:
    status, body = await api(port, "POST", "/api/auth/login", body={"username": "admin", "password": PASSWORD})
    assert status == 200, body
    return body["token"]


async def exchange(port: int, data: bytes, *, wait: float = LIMIT) -> tuple[bytes, bool]:
    """Send raw bytes; what came back until the server closed (True) or `wait` passed (False)."""
    received = bytearray()
    async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
        await stream.send_all(data)
        with trio.move_on_after(wait):
            while chunk := await stream.receive_some(65536):
                received += chunk
            return bytes(received), True
    return bytes(received), False


def responses(raw: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """Every response in raw bytes, each (status, headers lower-cased, body by Content-Length)."""
    out = []
    while raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", 0))
        out.append((int(lines[0].split(" ")[1]), headers, rest[:length]))
        raw = rest[length:]
    return out


def error_code(body: bytes) -> str:
    return json.loads(body)["error"]["code"]


def _request(port: int, method: str, target: str, body: bytes, headers: dict) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=LIMIT)
    try:
        conn.request(method, target, body, headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


async def request(port: int, method: str, target: str, body: bytes = b"", headers: dict | None = None) -> tuple[int, bytes]:
    """One request on its own connection: (status, body)."""
    return await trio.to_thread.run_sync(_request, port, method, target, body, headers or {})


POLL = "/socket.io/?EIO=4&transport=polling"


async def engine_session(port: int) -> str:
    """A new Engine.IO session over long-polling: its sid."""
    status, body = await request(port, "GET", POLL)
    assert status == 200 and body.startswith(b"0"), body
    return json.loads(body[1:])["sid"]


async def engine_post(port: int, sid: str, text: str) -> tuple[int, bytes]:
    return await request(port, "POST", f"{POLL}&sid={sid}", text.encode("utf-8"), {"Content-Type": "text/plain;charset=UTF-8"})


async def engine_get(port: int, sid: str) -> list[str]:
    """The packets a polling GET brings (it waits until there are some)."""
    status, body = await request(port, "GET", f"{POLL}&sid={sid}")
    assert status == 200, body
    return body.decode("utf-8").split("\x1e")
