"""A Socket.IO client back from a half-open connection recovers its session, and only its user may.

A half-open connection: a NAT or proxy forgets the flow, so the client's connection is dead
while the server, which sees nothing, holds its session until the ping timeout. The stock
socket.io-client (tests/js) reconnects with the session's pid and offset; the server must
end the dead transport, hand the session over and replay what went into the void.

The relay below stands for that NAT: a TCP relay on loopback whose flows the test freezes
(nothing more is forwarded either way, nothing is closed). The client then gives up on its
transport, as its heartbeat would, and reconnects through a fresh flow. The server's
heartbeat is long, so that it still holds the session when the client comes back.
"""

from __future__ import annotations

import json
from contextlib import asynccontextmanager

import pytest
import trio
from jsclient import js_client
from test_socketio import (
    VIEWER,
    Env,
    cpu_of,
    get,
    handshake,
    polling_subscriber,
    post,
    receives,
    recovers,
    running,
    subscribed,
    until,
)

from eyenet.auth.model import User
from eyenet.web.front import _listen

SLOW_HEARTBEAT = dict(ping_interval=20.0, ping_timeout=20.0)  # the server would notice after 20-40 s
MALLORY = User(id="u-0000000000000002", username="mallory", role="admin")


class Relay:
    """A TCP relay from every address of localhost to the server; `freeze` black-holes the
    flows open now (they are kept open and never read or written again), later ones relay."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = 0
        self._flows: list[trio.CancelScope] = []
        self._frozen: list[trio.SocketStream] = []

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        listeners = [trio.SocketListener(trio.socket.from_stdlib_socket(s)) for s in _listen("localhost", 0)]
        self.port = listeners[0].socket.getsockname()[1]
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(trio.serve_listeners, self._relay, listeners)
                task_status.started()
        finally:
            for stream in self._frozen:
                await trio.aclose_forcefully(stream)

    def freeze(self) -> int:
        """How many flows were frozen."""
        flows, self._flows = self._flows, []
        for scope in flows:
            scope.cancel()
        return len(flows)

    async def _relay(self, client: trio.SocketStream) -> None:
        server = await trio.open_tcp_stream("127.0.0.1", self.target)
        scope = trio.CancelScope()
        self._flows.append(scope)
        with scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_pump, client, server, nursery.cancel_scope)
                nursery.start_soon(_pump, server, client, nursery.cancel_scope)
        if scope.cancelled_caught:
            self._frozen += [client, server]
        else:
            self._flows.remove(scope)
            for stream in (client, server):
                await trio.aclose_forcefully(stream)


async def _pump(source: trio.SocketStream, sink: trio.SocketStream, done: trio.CancelScope) -> None:
    try:
        while data := await source.receive_some(65536):
            await sink.send_all(data)
    except trio.BrokenResourceError:
        pass
    done.cancel()  # either side ended: the flow ends


@asynccontextmanager
async def relay(env: Env):
    async with trio.open_nursery() as nursery:
        proxy = Relay(env.port)
        await nursery.start(proxy.run)
        yield proxy
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("transports", [None, "websocket"])
async def test_a_client_back_from_a_half_open_connection_recovers_everything(transports):
    async with running(**SLOW_HEARTBEAT) as env, relay(env) as proxy, \
            js_client(proxy.port, env.token(), transports) as client:
        first = await client.expect("connect")
        await subscribed(client)
        if transports is None:
            await client.expect("upgrade")
        await receives(env, client, cpu=1.0)
        assert proxy.freeze() >= 1
        lost = [env.publish(cpu=2.0 + n) for n in range(5)]  # sent into the black hole
        await until(lambda: len(env.hub.ring) == 6)
        (old,) = env.server.sessions.values()
        assert env.hub.sessions and not old.closed  # the server saw nothing
        await client.send(cmd="close-engine")  # the client gives its dead transport up

        again = await client.expect("connect")
        assert again["recovered"] is True and again["id"] == first["id"]
        replayed = [await client.expect("event", lambda r, e=event: cpu_of(r) == e.cpu) for event in lost]
        assert [r["args"][0]["id"] for r in replayed] == [wire.id for wire in list(env.hub.ring)[1:]]
        assert old.closed and len(env.server.sessions) == 1  # the dead transport is gone
        await receives(env, client, cpu=9.0)  # still subscribed
        ids = [r["args"][0]["id"] for r in client.saw("event") if r["name"] == "device:metrics"]
        assert ids == sorted(set(ids)) and len(ids) == 7  # each event once, in order


async def test_the_live_session_is_handed_over_with_what_it_missed():
    """A CONNECT with the pid of a session whose transport is still open, and the same user's token."""
    async with running(**SLOW_HEARTBEAT) as env:
        token = env.token()
        old_sid, accepted, offset = await polling_subscriber(env, token)
        missed = [env.publish(cpu=2.0), env.publish(cpu=3.0)]
        await until(lambda: len(env.server.sessions[old_sid].queue) == 2)  # queued for the dead flow
        await recovers(env, token, accepted, offset, missed)
        assert old_sid not in env.server.sessions and len(env.hub.sessions) == 1


@pytest.mark.parametrize("who", ["another user", "no valid token"])
async def test_a_pid_alone_takes_nothing_over(who):
    async with running(**SLOW_HEARTBEAT) as env:
        old_sid, accepted, offset = await polling_subscriber(env, env.token())
        auth = {
            "another user": {"pid": accepted["pid"], "offset": offset, "token": env.authority.issue(MALLORY, 600).token},
            "no valid token": {"pid": accepted["pid"], "offset": offset, "token": env.token()[:-4] + "AAAA"},
        }[who]
        sid = (await handshake(env))["sid"]
        await post(env, sid, "40/ws," + json.dumps(auth))
        reply = await get(env, sid)
        if who == "no valid token":
            assert reply.startswith("44/ws,")
        else:
            fresh = json.loads(reply[len("40/ws,"):])
            assert fresh["sid"] != accepted["sid"] and fresh["pid"] != accepted["pid"]
        # The owner's session is untouched: its transport is open and it still gets its events.
        old = env.server.sessions[old_sid]
        assert not old.closed and old.socket is not None and old.socket.principal.user_id == VIEWER.id
        env.publish(cpu=5.0)
        assert '"cpu":5.0' in await get(env, old_sid)
