"""Socket.IO / Engine.IO against the stock socket.io-client (npm, tests/js) and raw HTTP.

Each test runs the web front on a free loopback port with a small app that sends
``/socket.io/`` to :class:`SocketIOServer`, over a real Hub and TokenAuthority.
The node script tests/js/seed_client.js connects with the seed's snippet and
reports what it sees as JSON lines; every wait is bounded by ``trio.fail_after``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path

import attrs
import pytest
import trio

from eyenet.auth import User
from eyenet.bus import Bus
from eyenet.config import AuthSettings
from eyenet.events import DeviceMetrics, InterfaceMetrics, encode
from eyenet.tokens import TokenAuthority
from eyenet.web.front import FrontSettings, Request, Response, serve
from eyenet.web.hub import Hub, PushSettings
from eyenet.web.socketio import SocketIOServer, SocketIOSettings

JS_DIR = Path(__file__).resolve().parent / "js"
CLIENT = JS_DIR / "seed_client.js"
WAIT = 10.0  # seconds any one expected thing may take before the test fails
FAST = dict(ping_interval=0.3, ping_timeout=0.2)  # the official test suites' heartbeat
VIEWER = User(id="u-0000000000000001", username="ada", role="viewer")


class SocketIOApp:
    """The web app's routing for Engine.IO, alone."""

    def __init__(self, server: SocketIOServer) -> None:
        self.server = server

    async def http(self, request: Request) -> Response:
        if request.path.startswith("/socket.io/"):
            return await self.server.http(request)
        return Response.json({"error": "not found"}, 404)

    def websocket(self, request: Request):
        if request.path.startswith("/socket.io/"):
            return self.server.websocket(request)
        return Response.json({"error": "not found"}, 404)


@attrs.define
class Env:
    port: int
    bus: Bus
    hub: Hub
    server: SocketIOServer
    authority: TokenAuthority

    def token(self, ttl: int = 3600) -> str:
        return self.authority.issue(VIEWER, ttl).token

    def publish(self, cpu: float = 12.5) -> DeviceMetrics:
        event = DeviceMetrics(
            device_id="dev1", timestamp=datetime.now(timezone.utc), cpu=cpu, memory=40.0,
            bandwidth_in=1024, bandwidth_out=2048,
            interfaces=[InterfaceMetrics(if_index=1, name="eth0", status="up", bps_in=1024, bps_out=2048)],
        )
        self.bus.publish(event)
        return event

    def envelope(self, event: DeviceMetrics, event_id: int) -> dict:
        """What a device:dev1 subscriber must receive: the detailed envelope."""
        return json.loads(encode(event, event_id, include_interfaces=True, tz=self.hub.tz))


@asynccontextmanager
async def running(**settings):
    bus = Bus()
    authority = TokenAuthority(AuthSettings(), os.urandom(32))
    hub = Hub(bus, authority, {"dev1": ("core",)}.get, PushSettings())
    server = SocketIOServer(hub, SocketIOSettings(**{**FAST, **settings}))
    async with trio.open_nursery() as nursery:
        await nursery.start(hub.run)
        await nursery.start(server.run)
        bound = await nursery.start(serve, SocketIOApp(server), FrontSettings(host="127.0.0.1", port=0))
        yield Env(bound[0][1], bus, hub, server, authority)
        nursery.cancel_scope.cancel()


# -- the node client -------------------------------------------------------------------------------


def node() -> str:
    path = shutil.which("node") or shutil.which("nodejs")
    if path is None or not (JS_DIR / "node_modules" / "socket.io-client").is_dir():
        pytest.fail(
            "node and socket.io-client are needed: run scripts/test.sh (it installs them), "
            "or apt-get install nodejs npm && npm ci --prefix tests/js", pytrace=False,
        )
    return path


class JsClient:
    """One seed_client.js process: its report lines, and commands to it."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self.seen: list[dict] = []  # every report so far
        self._unclaimed: list[dict] = []  # reports no expect() has returned yet, in order
        self._buffer = b""

    async def _line(self) -> dict:
        while b"\n" not in self._buffer:
            data = await self.process.stdout.receive_some()
            if not data:
                raise AssertionError(f"the node client exited; it reported {self.seen}")
            self._buffer += data
        line, self._buffer = self._buffer.split(b"\n", 1)
        report = json.loads(line)
        self.seen.append(report)
        if report["what"] in ("timeout", "bad_command"):
            raise AssertionError(f"node client: {report}; before that: {self.seen}")
        return report

    async def expect(self, what: str, where=lambda report: True) -> dict:
        """The first report not returned yet of kind `what` satisfying `where`,
        whether it came already or comes within WAIT seconds."""
        for report in self._unclaimed:
            if report["what"] == what and where(report):
                self._unclaimed.remove(report)
                return report
        with trio.move_on_after(WAIT):
            while True:
                report = await self._line()
                if report["what"] == what and where(report):
                    return report
                self._unclaimed.append(report)
        raise AssertionError(f"no {what!r} report from the node client within {WAIT} s; it reported {self.seen}")

    async def expect_event(self, name: str) -> dict:
        return await self.expect("event", lambda r: r["name"] == name)

    async def send(self, **command) -> None:
        await self.process.stdin.send_all(json.dumps(command).encode() + b"\n")

    async def emit(self, name: str, data) -> list:
        await self.send(cmd="emit", name=name, data=data)
        return (await self.expect("ack", lambda r: r["name"] == name))["args"]

    async def state(self) -> dict:
        await self.send(cmd="state")
        return await self.expect("state")

    def saw(self, what: str) -> list[dict]:
        return [r for r in self.seen if r["what"] == what]


@asynccontextmanager
async def js_client(env: Env, token: str, transports: str | None = None):
    environment = {**os.environ, "EYENET_PORT": str(env.port), "EYENET_TOKEN": token, "EYENET_TIMEOUT_MS": "30000"}
    if transports:
        environment["EYENET_TRANSPORTS"] = transports
    process = await trio.lowlevel.open_process(
        [node(), str(CLIENT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environment
    )
    try:
        yield JsClient(process)
    finally:
        process.kill()
        with trio.move_on_after(5):
            await process.wait()


async def subscribed(client: JsClient) -> None:
    """The seed's subscribe, answered with exactly the contract's acknowledgement."""
    ack = await client.emit("subscribe", {"type": "device", "id": "dev1"})
    assert ack == [{"status": "subscribed", "channel": "device:dev1"}]


async def receives(env: Env, client: JsClient, cpu: float = 12.5) -> dict:
    """Publish a device:metrics and check what the client's handler gets: the exact
    envelope, then the event id as the recovery offset."""
    event = env.publish(cpu)
    report = await client.expect("event", lambda r: r["name"] == "device:metrics" and r["args"][0]["data"]["metrics"]["cpu"] == cpu)
    envelope, offset = report["args"]
    assert set(envelope) == {"type", "id", "data"}
    assert envelope == env.envelope(event, envelope["id"])
    assert offset == str(envelope["id"])
    return envelope


# -- the seed's client over each transport -----------------------------------------------------------


async def test_default_transports_polling_then_websocket():
    async with running() as env, js_client(env, env.token()) as client:
        opened = await client.expect("open")
        assert opened["transport"] == "polling"
        connected = await client.expect("connect")
        assert connected["id"] and connected["recovered"] is False
        await subscribed(client)
        await client.expect("upgrade")
        assert (await client.state())["transport"] == "websocket"
        await receives(env, client)
        assert not client.saw("disconnect") and not client.saw("connect_error")


async def test_websocket_only():
    async with running() as env, js_client(env, env.token(), transports="websocket") as client:
        assert (await client.expect("open"))["transport"] == "websocket"
        await client.expect("connect")
        await subscribed(client)
        await receives(env, client)
        await client.expect("ping")  # the server's heartbeat, answered by the client
        await receives(env, client, cpu=13.5)
        assert (await client.state())["transport"] == "websocket"
        assert not client.saw("upgrade") and not client.saw("disconnect")


async def test_long_polling_only():
    async with running() as env, js_client(env, env.token(), transports="polling") as client:
        await client.expect("connect")
        await subscribed(client)
        await receives(env, client)
        for _ in range(3):  # pings complete held GETs; the client's pongs keep the session
            await client.expect("ping")
        await receives(env, client, cpu=13.5)
        assert (await client.state())["transport"] == "polling"
        assert not client.saw("disconnect")


@pytest.mark.parametrize("token, code", [("garbage", "AUTH_INVALID"), ("", "AUTH_REQUIRED")])
async def test_refused_token_is_a_connect_error_without_retry(token, code):
    async with running() as env, js_client(env, token) as client:
        refused = await client.expect("connect_error")
        assert refused["data"]["code"] == code
        assert refused["message"] == refused["data"]["message"]
        assert refused["data"]["timestamp"]
        assert refused["active"] is False  # the client will not retry by itself
        with trio.fail_after(WAIT):  # and it closes its Engine.IO session
            while env.server.sessions:
                await trio.sleep(0.01)
        assert not client.saw("connect")


async def test_expired_token_is_a_connect_error():
    async with running() as env:
        expired = env.authority.issue(VIEWER, 60, now=datetime(2020, 1, 1, tzinfo=timezone.utc)).token
        async with js_client(env, expired) as client:
            refused = await client.expect("connect_error")
            assert refused["data"]["code"] == "TOKEN_EXPIRED" and refused["active"] is False


async def test_token_expiry_is_an_error_then_io_server_disconnect():
    async with running() as env, js_client(env, env.token(ttl=2), transports="websocket") as client:
        await client.expect("connect")
        await subscribed(client)
        error = await client.expect_event("error")
        envelope = error["args"][0]
        assert envelope["type"] == "error" and envelope["data"]["code"] == "TOKEN_EXPIRED"
        gone = await client.expect("disconnect")
        assert gone["reason"] == "io server disconnect"
        assert gone["active"] is False  # no automatic reconnection
        assert client.seen.index(error) < client.seen.index(gone)


async def wait_recoverable(env: Env) -> None:
    """Until the server has noticed the dropped transport (the hub keeps the session by its pid)."""
    with trio.fail_after(WAIT):
        while env.server.sessions or env.hub.sessions:
            await trio.sleep(0.01)


async def check_recovery(env: Env, client: JsClient, drop) -> None:
    """Connect, subscribe, get one event; `drop` the transport; events published
    while the client is away arrive after it recovers, and it stays subscribed."""
    first = await client.expect("connect")
    await subscribed(client)
    await receives(env, client, cpu=1.0)
    await drop()
    await client.expect("disconnect")
    await wait_recoverable(env)
    missed = [env.publish(cpu=2.0), env.publish(cpu=3.0)]
    again = await client.expect("connect")
    assert again["recovered"] is True
    assert again["id"] == first["id"]  # the same Socket.IO socket
    for event in missed:
        report = await client.expect("event", lambda r, e=event: r["args"][0]["data"]["metrics"]["cpu"] == e.cpu)
        assert report["args"][0] == env.envelope(event, report["args"][0]["id"])
    await receives(env, client, cpu=4.0)  # the subscription came back with the session


@pytest.mark.parametrize("transports", [None, "websocket", "polling"])
async def test_recovery_after_the_client_drops_the_transport(transports):
    async with running() as env, js_client(env, env.token(), transports) as client:
        async def drop():
            if transports is None:
                await client.expect("upgrade")
            await client.send(cmd="close-engine")

        await check_recovery(env, client, drop)


@pytest.mark.parametrize("transports", ["websocket", "polling"])
async def test_recovery_after_the_server_drops_the_transport(transports):
    async with running() as env, js_client(env, env.token(), transports) as client:
        async def drop():
            (session,) = env.server.sessions.values()
            session.close("dropped by the test")

        await check_recovery(env, client, drop)
