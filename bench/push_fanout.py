"""Benchmark: the push server's fan-out through the real stack, against Node's `ws`.

Not a test: measures the push server against its fan-out targets (TARGET_* below,
bench/README.md). C clients subscribe to `devices`; the server
publishes device:metrics; the clients count and time what arrives.

Servers (--servers), each in its own process:
  eyenet-ws        eyenet.web.front.serve + eyenet.web.server.WebApp routing to the
                   real push path: Hub + PlainWsServer + SocketIOServer, a real
                   TokenAuthority (HS256 secret in the run's temporary directory),
                   events published with hub.publish(DeviceMetrics(...)): encoded
                   once per format (Wire), offered to every session subscribed to
                   `devices`, written with a non-blocking send. Clients on
                   ws://127.0.0.1:PORT/ws?token=JWT, subscribing with
                   {"type":"subscribe","ref":1,"data":{"type":"devices"}}.
  eyenet-socketio  the same server; clients on /socket.io/?EIO=4&transport=websocket:
                   open packet, 40/ws,{"token":...}, 40/ws,{"sid":...},
                   42/ws,0["subscribe",{"type":"devices"}], ack 43/ws,0[...].
  node-ws          Node.js `ws` 8 (bench/node/push_fanout.js): the /ws clients'
                   handshake and subscribe (token not checked), then client.send(buffer)
                   of the same envelope bytes EyeNet sends on /ws (same length).

Settings changed for the bench, and only these: [push] events_per_minute = 10**9
so the per-client budget of 1000 events a minute never holds metrics back
(coalescing would otherwise cap each client at ~17 events/s); Socket.IO
ping_interval 3600 s so no Engine.IO ping lands among the counted frames (the
load generator counts bytes; a 25 s ping to 5000 clients is 200 tiny frames/s).
The bench's REST part is a stub answering 404 (WebApp needs one; nothing calls it).

Every event is the same DeviceMetrics (fixed values and timestamp) and event ids
have 16 digits, so every frame of a kind has the same length: the load generator
counts bytes instead of parsing frames, and the k-th frame on a connection is the
k-th event published (the last frame of each connection is checked byte for byte
against the one the server's last event id gives).

Per server kind and C (5000 only if the open-files limit allows), one server
process and one load-generator process (this script, --role clients: raw
non-blocking sockets and epoll) per try:
  1. connect and subscribe all C (batches of 100 in lock step), then ask the server
     (its stdin is the control channel) how many hub sessions have "devices" in
     session.subscriptions (Node: how many subscribed), until it is C;
  2. RSS per connection: server VmRSS after subscribe minus before any client, / C;
  3. warm-up: a few events, not measured;
  4. latency at a fixed offered load of --offered (5,000) delivered msgs/s, i.e.
     offered / C events a second for --latency-seconds: the server records
     time.monotonic() just before each hub.publish (Node: process.hrtime, also
     CLOCK_MONOTONIC, before building the message), in publish order; the clients
     read without napping and record time.monotonic() after each recv for every
     frame it completes; joined by event index, p50/p99 over every delivery. The
     same with the kernel's arrival time of the data (SO_TIMESTAMPNS) instead of the
     receipt time gives arrival_p50/p99_ms: the difference is the load generator's;
  5. saturation: --deliveries / C events published as fast as the server takes
     them, paced on backlog as bench/ws_broadcast.py does (after each event, if a
     client has more than --high-water bytes queued, sleep 1 ms until all are under
     a quarter of it; otherwise yield to the event loop every --burst events). The
     clients nap 20 ms between epoll rounds so one recv takes many frames (the
     load generator stays cheaper per message than the servers). Delivered msgs/s
     = C x M / (time from "go" to the last byte at the clients); server CPU
     (utime+stime from /proc) per delivered message.
Each phase records the CPU of the server, of the load generator and of the whole
machine (/proc/stat), in cores, so a reader sees which one was the bottleneck and
how much else was running. Best of --repeat tries (the machine may be shared):
saturation figures from the try with the most msgs/s, latency from the try with
the lowest p99, RSS from the lowest; every try is in the JSON.

A table goes to stderr, one JSON line (every figure, ratios EyeNet/Node, the
targets and whether each holds) to stdout.

    .venv/bin/python bench/push_fanout.py
    .venv/bin/python bench/push_fanout.py --clients 100,1000 --repeat 1 --deliveries 200000

Reuses from bench/ws_broadcast.py: Child (the JSON-line child with /proc CPU and
RSS), raise_nofile, emit, ensure_node and its HTTP upgrade request. Needs node and
npm (`npm ci --prefix bench/node` runs when ws is missing). Loopback only; every
phase is bounded in time and count; every child process is killed at the end.
"""

from __future__ import annotations

import argparse
import array
import ctypes
import datetime
import json
import os
import platform
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(BENCH), str(ROOT)]

from ws_broadcast import CLK_TCK, HANDSHAKE, NODE_DIR, Child, emit, ensure_node, raise_nofile  # noqa: E402

KINDS = ("eyenet-ws", "eyenet-socketio", "node-ws")
ID_DIGITS = 16
DUMMY_ID = 1234567890123456  # a 16-digit id that appears nowhere else in the envelope
BATCH = 100  # connections brought up in lock step
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux: kernel receive timestamps
TARGET_RATIO = 1.2
TARGET_P99_MS = 50.0
TARGET_RSS = 25 * 1024


def bench_event():
    """The one device:metrics every server publishes: fixed values, fixed-width timestamp."""
    from eyenet.events import DeviceMetrics, InterfaceMetrics

    return DeviceMetrics(
        device_id="bench-0001",
        timestamp=datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.timezone.utc),
        cpu=12.5, memory=42.0, bandwidth_in=123_456_789, bandwidth_out=98_765_432,
        interfaces=(
            InterfaceMetrics(1, "GigabitEthernet0/1", "up", 61_728_394, 49_382_716, 0.0, 0.0),
            InterfaceMetrics(2, "GigabitEthernet0/2", "up", 61_728_395, 49_382_716, 0.0, 0.0),
        ),
    )


def templates() -> dict:
    """Per kind: the frame for DUMMY_ID as EyeNet builds it (its own format functions),
    its length, where the id starts; and Node's envelope around the id."""
    from eyenet.web.push.plain_ws import envelope_frame
    from eyenet.web.push.socketio import websocket_event
    from eyenet.web.push.wire import Wire

    wire = Wire(bench_event(), DUMMY_ID, tz=datetime.timezone.utc)
    dummy = str(DUMMY_ID).encode()
    ws = wire.encoded(envelope_frame, False)
    sio = wire.encoded(websocket_event, False)
    envelope = wire.plain
    assert envelope.count(dummy) == 1 and ws.count(dummy) == 1 and sio.count(dummy) == 2
    head, tail = envelope.split(dummy)
    out = {}
    for kind, frame in (("eyenet-ws", ws), ("eyenet-socketio", sio), ("node-ws", ws)):
        out[kind] = {"frame": frame, "length": len(frame), "id_offset": frame.index(dummy)}
    out["node_head"], out["node_tail"] = head.decode(), tail.decode()
    out["envelope_bytes"] = len(envelope)
    return out


def expected_frame(template: bytes, event_id: int) -> bytes:
    return template.replace(str(DUMMY_ID).encode(), str(event_id).encode())


def die_with_parent() -> None:
    """PR_SET_PDEATHSIG: a child is killed if the orchestrator dies (even by -9)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


# -- the EyeNet server process ----------------------------------------------------------------


def eyenet_server(args: argparse.Namespace) -> None:
    """Role ``eyenet-server``: the real push stack on 127.0.0.1; commands on stdin."""
    die_with_parent()
    raise_nofile()
    import trio

    from eyenet.auth.tokens import TokenAuthority
    from eyenet.bus import Bus
    from eyenet.config import AuthSettings, PushSettings, WebSettings
    from eyenet.web.front import serve
    from eyenet.web.push.hub import Hub
    from eyenet.web.push.plain_ws import PlainWsServer
    from eyenet.web.push.socketio import SocketIOServer
    from eyenet.web.server import WebApp, not_found

    class NoRest:
        async def http(self, request):
            return not_found(request)

    event = bench_event()
    authority = TokenAuthority.from_settings(AuthSettings(secret_file=args.secret_file))
    push = PushSettings(events_per_minute=10**9)  # no coalescing: see the docstring
    hub = Hub(Bus(), authority, lambda device_id: (), push, tz=datetime.timezone.utc)
    web = WebSettings(host="127.0.0.1", port=0, ping_interval=3600.0, ping_timeout=600.0)
    socketio = SocketIOServer(hub, web)
    app = WebApp(NoRest(), socketio, PlainWsServer(hub, web))

    def subscribed():
        return [s for s in hub.sessions if "devices" in s.subscriptions]

    async def drain(members, deadline: float) -> bool:
        while max((ws.backlog for ws in members), default=0) > 0:
            if time.monotonic() > deadline:
                return False
            await trio.sleep(0.001)
        return True

    async def saturate(count: int, burst: int) -> dict:
        sessions = subscribed()
        members = [s.sink.ws for s in sessions]  # WsSink and EngineSession both hold the WebSocket
        high, low = args.high_water, args.high_water // 4
        deadline = time.monotonic() + args.phase_timeout
        first = last = None
        paced = 0
        start = hub.published
        for i in range(count):
            # Through the bus, as the poller publishes: the hub routes what waits there as one
            # corked batch (one write per client per batch of `burst` events).
            hub.bus.publish(event)
            if i % burst != burst - 1 and i != count - 1:
                continue
            while hub.published < start + i + 1:
                await trio.sleep(0)
            last = hub.ring[-1].id
            if first is None:
                first = hub.ring[-min(burst, i + 1)].id
            if max(ws.backlog for ws in members) > high:
                paced += 1
                while max(ws.backlog for ws in members) > low and time.monotonic() < deadline:
                    await trio.sleep(0.001)
            if time.monotonic() > deadline:
                break
        ok = await drain(members, deadline)
        return {"done": True, "first_id": first, "last_id": last, "clients": len(sessions), "paced": paced,
                "dropped": sum(s.closed for s in sessions), "in_time": ok}

    async def paced(rate: float, count: int) -> dict:
        sessions = subscribed()
        members = [s.sink.ws for s in sessions]
        publish = []
        t0 = time.monotonic()
        for k in range(count):
            delay = t0 + k / rate - time.monotonic()
            await trio.sleep(max(delay, 0))
            t = time.monotonic()
            wire = hub.publish(event)
            publish.append((wire.id, t))
        ok = await drain(members, time.monotonic() + args.phase_timeout)
        return {"done": True, "publish": publish, "clients": len(sessions),
                "dropped": sum(s.closed for s in sessions), "in_time": ok}

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(hub.run)
            await nursery.start(socketio.run)
            [(_, port)] = await nursery.start(serve, app, web)
            emit({"ready": True, "port": port})
            stdin = trio.lowlevel.FdStream(os.dup(0))
            pending = b""
            while True:
                chunk = await stdin.receive_some(4096)
                if not chunk:
                    break
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    cmd, *rest = line.decode().split()
                    if cmd == "count":
                        emit({"subscribed": len(subscribed()), "sessions": len(hub.sessions)})
                    elif cmd == "go":
                        emit(await saturate(int(rest[0]), int(rest[1])))
                    elif cmd == "rate":
                        emit(await paced(float(rest[0]), int(rest[1])))
                    elif cmd == "quit":
                        nursery.cancel_scope.cancel()
                        return
            nursery.cancel_scope.cancel()

    trio.run(main)


# -- the load generator ----------------------------------------------------------------------


def client_frame(text: str) -> bytes:
    """A masked client text frame (RFC 6455: clients mask)."""
    data = text.encode()
    mask = os.urandom(4)
    size = len(data)
    if size < 126:
        head = bytes((0x81, 0x80 | size))
    else:
        head = bytes((0x81, 0x80 | 126)) + size.to_bytes(2, "big")
    masked = bytes(b ^ mask[i & 3] for i, b in enumerate(data))
    return head + mask + masked


class Peer:
    """One client connection while it is set up (blocking, with a timeout)."""

    def __init__(self, port: int, path: str, source: str | None = None) -> None:
        """source: the loopback address to connect from (the default: the kernel's choice)."""
        request = HANDSHAKE.replace(b"GET /ws HTTP/1.1", b"GET %s HTTP/1.1" % path.encode())
        assert request != HANDSHAKE
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(source, 0) if source else None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(request)
        self.buf = bytearray()

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise SystemExit("the server closed the connection during setup")
        self.buf += chunk

    def read_head(self) -> None:
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, rest = bytes(self.buf).partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101 "):
            raise SystemExit(f"upgrade refused: {head[:200]!r}")
        self.buf = bytearray(rest)

    def read_text(self) -> str:
        while (frame := take_frame(self.buf)) is None:
            self._fill()
        opcode, payload = frame
        if opcode != 1:
            raise SystemExit(f"expected a text frame, got opcode {opcode}: {payload[:100]!r}")
        return payload.decode()

    def send_text(self, text: str) -> None:
        self.sock.sendall(client_frame(text))


def take_frame(buf: bytearray) -> tuple[int, bytes] | None:
    """(opcode, payload) of the server frame (unmasked) at the front of `buf`, taken off
    it; None until the whole frame is there."""
    if len(buf) < 2:
        return None
    size, start = buf[1] & 0x7F, 2
    if size == 126:
        size, start = (int.from_bytes(buf[2:4], "big") if len(buf) >= 4 else -1), 4
    elif size == 127:
        size, start = (int.from_bytes(buf[2:10], "big") if len(buf) >= 10 else -1), 10
    if size < 0 or len(buf) < start + size:
        return None
    opcode, payload = buf[0] & 0x0F, bytes(buf[start:start + size])
    del buf[:start + size]
    return opcode, payload


def subscribe_batch(peers: list[Peer], kind: str, token: str, channel: str = '{"type":"devices"}',
                    live: bool = False) -> None:
    """Take a batch of connections through the upgrade and the subscribe to `channel` (the
    subscribe's data), in lock step. live: the server is publishing, so an event may follow
    an ack before the batch is through (it stays in the peer's buffer); otherwise nothing may."""
    for p in peers:
        p.read_head()
    if kind == "eyenet-socketio":
        for p in peers:
            opened = p.read_text()
            if not opened.startswith("0{"):
                raise SystemExit(f"expected the Engine.IO open packet, got {opened[:100]!r}")
            p.send_text('40/ws,{"token":"%s"}' % token)
        for p in peers:
            joined = p.read_text()
            if not joined.startswith('40/ws,{"sid":'):
                raise SystemExit(f"expected 40/ws,{{sid...}}, got {joined[:200]!r}")
            p.send_text('42/ws,0["subscribe",%s]' % channel)
        for p in peers:
            ack = p.read_text()
            if not ack.startswith("43/ws,0[") or '"subscribed"' not in ack:
                raise SystemExit(f"expected the subscribe ack, got {ack[:200]!r}")
    else:
        for p in peers:
            p.send_text('{"type":"subscribe","ref":1,"data":%s}' % channel)
        for p in peers:
            ack = json.loads(p.read_text())
            if ack.get("type") != "ack" or ack.get("data", {}).get("status") != "subscribed":
                raise SystemExit(f"expected the subscribe ack, got {ack!r}")
    for p in peers:
        if p.buf and not live:
            raise SystemExit(f"unexpected bytes after the subscribe ack: {bytes(p.buf[:100])!r}")


def count_frames(socks: list[socket.socket], count: int, length: int, nap: float, timeout: float) -> dict:
    """Saturation: count bytes (every frame has `length` bytes) until each connection
    got `count` frames; napping between epoll rounds so that one recv takes many."""
    expected = count * length
    by_fd = {s.fileno(): s for s in socks}
    remaining = dict.fromkeys(by_fd, expected)
    tails = dict.fromkeys(by_fd, b"")
    buffer = bytearray(262144)
    view = memoryview(buffer)
    poller = select.epoll()
    for fd in by_fd:
        poller.register(fd, select.EPOLLIN)
    deadline = time.monotonic() + timeout
    received = 0
    t_last = None
    try:
        while remaining and time.monotonic() < deadline:
            for fd, _ in poller.poll(1.0):
                sock = by_fd[fd]
                while True:
                    try:
                        n = sock.recv_into(buffer)
                    except BlockingIOError:
                        break
                    except OSError:
                        n = 0
                    if n == 0:
                        remaining.pop(fd, None)
                        poller.unregister(fd)
                        break
                    received += n
                    keep = view[max(0, n - length):n].tobytes()
                    tails[fd] = (tails[fd] + keep)[-length:] if n < length else keep
                    left = remaining[fd] - n
                    if left <= 0:
                        del remaining[fd]
                        poller.unregister(fd)
                        break
                    remaining[fd] = left
            t_last = time.monotonic()
            time.sleep(nap)
    finally:
        poller.close()
    last = set(tails.values())
    return {"done": True, "t_last": t_last, "bytes": received, "expected_bytes": expected * len(socks),
            "incomplete": len(remaining), "tails_equal": len(last) == 1,
            "last_frame": next(iter(last)).decode("latin-1") if last else ""}


def time_frames(socks: list[socket.socket], count: int, length: int, timeout: float, path: str) -> dict:
    """Latency: read as soon as data comes. Each connection gets the phase's events in
    order and every frame has `length` bytes, so the k-th frame completed on a
    connection is the k-th event published. For every frame: k, time.monotonic()
    after the recv that completed it (receipt by the load generator), and the kernel's
    arrival time of that data (SO_TIMESTAMPNS, CLOCK_REALTIME, shifted onto the
    monotonic clock), written to `path`. The last frame of each connection is kept
    to check the ids against the server's."""
    by_fd = {s.fileno(): s for s in socks}
    got = dict.fromkeys(by_fd, 0)  # bytes received per connection
    tails = dict.fromkeys(by_fd, b"")
    index, user, kernel = array.array("l"), array.array("d"), array.array("d")
    buffer = bytearray(262144)
    view = memoryview(buffer)
    timespec = struct.Struct("qq")
    poller = select.epoll()
    for fd, sock in by_fd.items():
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        poller.register(fd, select.EPOLLIN)
    expected = count * length
    offset0 = time.time() - time.monotonic()
    deadline = time.monotonic() + timeout
    open_fds = len(by_fd)
    monotonic = time.monotonic
    try:
        while open_fds and monotonic() < deadline:
            for fd, _ in poller.poll(1.0):
                try:
                    n, ancillary, _, _ = by_fd[fd].recvmsg_into([buffer], 64)
                except BlockingIOError:
                    continue
                except OSError:
                    n, ancillary = 0, []
                t = monotonic()
                if n == 0:
                    poller.unregister(fd)
                    open_fds -= 1
                    continue
                arrived = t + offset0  # no timestamp: take the receipt time
                for level, kind, data in ancillary:
                    if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                        sec, nsec = timespec.unpack(data)
                        arrived = sec + nsec * 1e-9
                before = got[fd]
                after = got[fd] = before + n
                for k in range(before // length, after // length):
                    index.append(k)
                    user.append(t)
                    kernel.append(arrived)
                tail = view[max(0, n - length):n].tobytes()
                tails[fd] = (tails[fd] + tail)[-length:] if n < length else tail
                if after >= expected:
                    poller.unregister(fd)
                    open_fds -= 1
    finally:
        poller.close()
    offset = (offset0 + time.time() - time.monotonic()) / 2
    kernel = array.array("d", (x - offset for x in kernel))
    with open(path, "wb") as f:
        index.tofile(f)
        user.tofile(f)
        kernel.tofile(f)
    last = set(tails.values())
    return {"done": True, "frames": len(index), "short": sum(1 for n in got.values() if n != expected),
            "tails_equal": len(last) == 1, "last_frame": next(iter(last)).decode("latin-1") if last else ""}


def load_clients(args: argparse.Namespace) -> None:
    """Role ``clients``: C connections subscribed to `devices`; then phases on stdin."""
    die_with_parent()
    raise_nofile()
    token = os.environ["BENCH_TOKEN"]
    path = "/socket.io/?EIO=4&transport=websocket" if args.kind == "eyenet-socketio" else "/ws?token=" + token
    socks = []
    for start in range(0, args.count, BATCH):
        peers = [Peer(args.port, path) for _ in range(min(BATCH, args.count - start))]
        subscribe_batch(peers, args.kind, token)
        for p in peers:
            p.sock.setblocking(False)
            socks.append(p.sock)
    emit({"subscribed": len(socks)})
    for line in sys.stdin:
        cmd, *rest = line.split()
        if cmd == "count":
            emit(count_frames(socks, int(rest[0]), args.length, args.nap, args.timeout))
        elif cmd == "time":
            emit(time_frames(socks, int(rest[0]), args.length, args.timeout, rest[1]))
        elif cmd == "quit":
            break


# -- the orchestrator ----------------------------------------------------------------------


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all cores, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    total = sum(fields[:8])
    return total - idle, total


def user_system(child: Child) -> tuple[float, float]:
    """A child's (utime, stime) in seconds: its own code against the kernel's work for it."""
    fields = Path(f"/proc/{child.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


class Meter:
    """CPU of the server, of the load generator and of the machine across one phase."""

    def __init__(self, server: Child, clients: list[Child]) -> None:
        self.server, self.clients = server, clients
        self.t0 = time.monotonic()
        self.s0 = server.cpu_seconds()
        self.us0 = user_system(server)
        self.c0 = sum(c.cpu_seconds() for c in clients)
        self.m0 = machine_jiffies()

    def stop(self, seconds: float | None = None) -> dict:
        wall = seconds if seconds is not None else time.monotonic() - self.t0
        s = self.server.cpu_seconds() - self.s0
        user, system = (b - a for a, b in zip(self.us0, user_system(self.server)))
        c = sum(ch.cpu_seconds() for ch in self.clients) - self.c0
        m1 = machine_jiffies()
        busy = (m1[0] - self.m0[0]) / CLK_TCK
        wall_all = time.monotonic() - self.t0
        cores = (m1[1] - self.m0[1]) / CLK_TCK / max(wall_all, 1e-9)
        return {
            "server_cpu_s": round(s, 3), "server_user_s": round(user, 3), "server_system_s": round(system, 3),
            "client_cpu_s": round(c, 3),
            "server_cores": round(s / wall, 2), "client_cores": round(c / wall, 2),
            "machine_busy_cores": round(busy / max(wall_all, 1e-9), 2),
            "other_cores": round(max(busy - s - c, 0) / max(wall_all, 1e-9), 2),
            "machine_cores": round(cores),
        }


def percentile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, max(0, round(q * len(values)) - 1))]  # nearest rank


def start_server(kind: str, args, tmp: Path, tpl: dict) -> Child:
    env = dict(os.environ, BENCH_HIGH_WATER=str(args.high_water))
    if kind == "node-ws":
        env.update(BENCH_HEAD=tpl["node_head"], BENCH_TAIL=tpl["node_tail"], BENCH_FIRST_ID=str(time.time_ns() // 1000))
        return Child(["node", str(NODE_DIR / "push_fanout.js")], env=env)
    return Child([sys.executable, __file__, "--role", "eyenet-server", "--secret-file", str(tmp / "jwt.secret"),
                  "--high-water", str(args.high_water), "--phase-timeout", str(args.phase_timeout)], env=env)


def start_clients(kind: str, port: int, count: int, args, token: str, tpl: dict) -> list[Child]:
    t = tpl[kind]
    shares = [count // args.client_procs + (i < count % args.client_procs) for i in range(args.client_procs)]
    return [
        Child([sys.executable, __file__, "--role", "clients", "--kind", kind, "--port", str(port),
               "--count", str(share), "--length", str(t["length"]), "--nap", str(args.nap),
               "--timeout", str(args.phase_timeout)],
              env=dict(os.environ, BENCH_TOKEN=token))
        for share in shares if share
    ]


def run_one(kind: str, count: int, args, tmp: Path, token: str, tpl: dict) -> dict:
    server = start_server(kind, args, tmp, tpl)
    clients: list[Child] = []
    pt = args.phase_timeout
    out: dict = {"server": kind, "clients": count}
    try:
        port = server.expect("ready", 30)["port"]
        time.sleep(0.3)
        rss_idle = server.rss_bytes()
        t_setup = time.monotonic()
        clients = start_clients(kind, port, count, args, token, tpl)
        for child in clients:
            child.expect("subscribed", pt)
        deadline = time.monotonic() + 30
        while True:  # the server's own count of sessions subscribed to `devices`
            server.send("count")
            seen = server.expect("subscribed", 30)["subscribed"]
            if seen == count or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if seen != count:
            raise RuntimeError(f"the server counts {seen} subscribed clients, not {count}")
        out["setup_s"] = round(time.monotonic() - t_setup, 2)
        time.sleep(0.5)
        rss_subscribed = server.rss_bytes()
        out["rss_idle_server_bytes"] = rss_idle
        out["rss_per_conn_bytes"] = round((rss_subscribed - rss_idle) / count)

        def saturation_phase(events: int) -> tuple[dict, list[dict], float]:
            t_go = time.monotonic()
            for child in clients:
                child.send(f"count {events}")
            server.send(f"go {events} {args.burst}")
            done = server.expect("done", pt)
            results = [child.expect("done", pt) for child in clients]
            return done, results, max(r["t_last"] or t_go for r in results) - t_go

        # warm-up (not measured)
        saturation_phase(max(2, 20_000 // count))

        # latency at a fixed offered load
        rate = args.offered / count
        events = max(2, round(rate * args.latency_seconds))
        files = [str(tmp / f"lat-{i}.bin") for i in range(len(clients))]
        meter = Meter(server, clients)
        for child, path in zip(clients, files):
            child.send(f"time {events} {path}")
        server.send(f"rate {rate} {events}")
        done = server.expect("done", pt + args.latency_seconds)
        results = [child.expect("done", pt) for child in clients]
        usage = meter.stop()
        published = [t for _, t in done["publish"]]  # in publish order: the k-th frame is event k
        receipt, arrival = [], []
        for path in files:
            raw = Path(path).read_bytes()
            n = len(raw) // 24
            index, user, kernel = array.array("l"), array.array("d"), array.array("d")
            index.frombytes(raw[:8 * n])
            user.frombytes(raw[8 * n:16 * n])
            kernel.frombytes(raw[16 * n:])
            receipt += [t - published[k] for k, t in zip(index, user) if k < len(published)]
            arrival += [t - published[k] for k, t in zip(index, kernel) if k < len(published)]
        receipt.sort()
        arrival.sort()
        delivered = len(receipt)
        last = expected_frame(tpl[kind]["frame"], int(done["publish"][-1][0])).decode("latin-1")

        def ms(values: list[float], q: float) -> float | None:
            return round(percentile(values, q) * 1e3, 2) if values else None

        out["latency"] = {
            "events_per_s": round(rate, 3), "events": events, "delivered": delivered,
            "ok": delivered == events * count and len(published) == events and done.get("dropped", 0) == 0
            and all(r["short"] == 0 and r["tails_equal"] and r["last_frame"] == last for r in results),
            "p50_ms": ms(receipt, 0.50), "p99_ms": ms(receipt, 0.99), "p999_ms": ms(receipt, 0.999),
            "max_ms": round(receipt[-1] * 1e3, 2) if receipt else None,
            # the same, to the kernel's arrival of the data at the client socket (no load-generator delay)
            "arrival_p50_ms": ms(arrival, 0.50), "arrival_p99_ms": ms(arrival, 0.99),
            "server_cpu_us_per_msg": round(usage["server_cpu_s"] * 1e6 / max(delivered, 1), 2),
            **usage,
        }

        # saturation
        messages = max(1, args.deliveries // count)
        spy = start_py_spy(kind, count, server, args)
        meter = Meter(server, clients)
        done, results, seconds = saturation_phase(messages)
        usage = meter.stop(seconds)
        if spy is not None:
            out["py_spy"] = stop_py_spy(spy)
        delivered = messages * count
        last = expected_frame(tpl[kind]["frame"], int(done["last_id"])).decode("latin-1")
        out["saturation"] = {
            "events": messages, "delivered": delivered, "seconds": round(seconds, 3),
            "ok": all(r["incomplete"] == 0 and r["bytes"] == r["expected_bytes"] and r["tails_equal"]
                      and r["last_frame"] == last for r in results) and done.get("dropped", 0) == 0
            and done.get("in_time", True),
            "msgs_per_s": round(delivered / seconds),
            "backlog_pauses": done.get("paced"),  # events after which the server waited for a slow client
            "server_cpu_us_per_msg": round(usage["server_cpu_s"] * 1e6 / delivered, 2),
            "server_user_us_per_msg": round(usage["server_user_s"] * 1e6 / delivered, 2),
            "server_system_us_per_msg": round(usage["server_system_s"] * 1e6 / delivered, 2),
            "client_cpu_us_per_msg": round(usage["client_cpu_s"] * 1e6 / delivered, 2),
            **usage,
        }
        for child in clients:
            child.send("quit")
        server.send("quit")
        return out
    finally:
        for child in [*clients, server]:
            child.stop()


def start_py_spy(kind: str, count: int, server: Child, args) -> tuple[subprocess.Popen, str] | None:
    """--py-spy DIR: sample the EyeNet server during saturation (collapsed stacks)."""
    if not args.py_spy or not kind.startswith("eyenet"):
        return None
    exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    path = str(Path(args.py_spy) / f"{kind}-C{count}-{int(time.time())}.txt")
    spy = subprocess.Popen([exe, "record", "--pid", str(server.proc.pid), "--rate", "250", "--nonblocking",
                            "--format", "raw", "--output", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # py-spy attaches
    return spy, path


def stop_py_spy(spy: tuple[subprocess.Popen, str]) -> str:
    proc, path = spy
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return path


def best(tries: list[dict]) -> dict:
    """The best of the tries, per figure (see the docstring)."""
    sat = [t for t in tries if t["saturation"]["ok"]] or tries
    lat = [t for t in tries if t["latency"]["ok"]] or tries
    top = max(sat, key=lambda t: t["saturation"]["msgs_per_s"])
    low = min(lat, key=lambda t: t["latency"]["p99_ms"] or 1e9)
    return {
        "server": top["server"], "clients": top["clients"],
        "rss_per_conn_bytes": min(t["rss_per_conn_bytes"] for t in tries),
        "saturation": top["saturation"], "latency": low["latency"], "tries": len(tries),
        "msgs_per_s_tries": sorted(t["saturation"]["msgs_per_s"] for t in tries),
        "server_cpu_us_per_msg_tries": sorted(t["saturation"]["server_cpu_us_per_msg"] for t in tries),
        "p99_ms_tries": sorted(t["latency"]["p99_ms"] for t in tries if t["latency"]["p99_ms"] is not None),
    }


def git_commit() -> str:
    """HEAD, with "+dirty" when eyenet/ has uncommitted changes (the run measured those)."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "eyenet"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return (head or "unknown") + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def orchestrate(args: argparse.Namespace) -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: children die
    hard = raise_nofile()
    kinds = [k for k in args.servers.split(",") if k]
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise SystemExit(f"unknown server kinds {sorted(unknown)}: use {','.join(KINDS)}")
    counts = [int(c) for c in args.clients.split(",")]
    notes = []
    fits = [c for c in counts if c + 200 <= hard]
    if fits != counts:
        notes.append(f"skipped C={sorted(set(counts) - set(fits))}: the open-files limit is {hard}")
    if "node-ws" in kinds:
        why = ensure_node()
        if why:
            notes.append(f"node-ws skipped: {why}")
            kinds.remove("node-ws")
    tpl = templates()
    commit = git_commit()  # at the start: what the run measures
    load_start = os.getloadavg()
    started = time.monotonic()
    tries: dict[tuple[str, int], list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="eyenet-push-fanout-") as tmp_name:
        tmp = Path(tmp_name)
        from eyenet.auth.model import User
        from eyenet.auth.tokens import TokenAuthority
        from eyenet.config import AuthSettings

        authority = TokenAuthority.from_settings(AuthSettings(secret_file=str(tmp / "jwt.secret")))
        token = authority.issue(User("u1", "u1", "viewer"), ttl=6 * 3600).token
        for rep in range(args.repeat):
            for count in fits:
                order = kinds[rep % len(kinds):] + kinds[:rep % len(kinds)]  # no kind always first
                for kind in order:
                    if time.monotonic() - started > args.max_seconds:
                        notes.append(f"stopped at --max-seconds {args.max_seconds}: {kind} C={count} try {rep + 1} not run")
                        continue
                    try:
                        result = run_one(kind, count, args, tmp, token, tpl)
                        tries.setdefault((kind, count), []).append(result)
                        sat, lat = result["saturation"], result["latency"]
                        print(f"  try {rep + 1}: {kind} C={count}: {sat['msgs_per_s']} msgs/s "
                              f"(srv {sat['server_cores']} cli {sat['client_cores']} other {sat['other_cores']} cores), "
                              f"p99 {lat['p99_ms']} ms, {result['rss_per_conn_bytes']} B/conn", file=sys.stderr)
                    except (RuntimeError, SystemExit, KeyError, ValueError) as exc:
                        notes.append(f"{kind} C={count} try {rep + 1}: {exc}")
                        print(f"  try {rep + 1}: {kind} C={count} failed: {exc}", file=sys.stderr)
    runs = [best(t) for t in tries.values()]
    runs.sort(key=lambda r: (r["clients"], KINDS.index(r["server"])))
    ratios, targets = compare(runs)
    print_table(runs, ratios, targets, notes, tpl)
    emit({
        "bench": "push_fanout", "date": datetime.date.today().isoformat(), "commit": commit,
        "machine": {"cpus": os.cpu_count(), "cpu": cpu_model(), "kernel": platform.release(),
                    "python": platform.python_version(), "node": node_version(),
                    "loadavg_1m_start": round(load_start[0], 2), "loadavg_1m_end": round(os.getloadavg()[0], 2)},
        "settings": {"repeat": args.repeat, "deliveries": args.deliveries, "offered_msgs_per_s": args.offered,
                     "latency_seconds": args.latency_seconds, "burst": args.burst, "high_water": args.high_water,
                     "client_procs": args.client_procs, "nap": args.nap, "events_per_minute": 10**9,
                     "socketio_ping_interval": 3600.0,
                     "frame_bytes": {k: tpl[k]["length"] for k in KINDS}, "envelope_bytes": tpl["envelope_bytes"]},
        "runs": runs, "tries": [t for ts in tries.values() for t in ts],
        "ratios": ratios, "targets": targets, "notes": notes,
    })


def compare(runs: list[dict]) -> tuple[dict, dict]:
    ratios, targets = {}, {}
    by = {(r["server"], r["clients"]): r for r in runs}
    for (kind, count), run in by.items():
        peer = by.get(("node-ws", count))
        if kind == "node-ws" or peer is None:
            continue
        ratios[f"{kind}/node-ws C={count}"] = {
            "msgs_per_s": round(run["saturation"]["msgs_per_s"] / peer["saturation"]["msgs_per_s"], 2),
            "cpu_per_msg": round(run["saturation"]["server_cpu_us_per_msg"] / peer["saturation"]["server_cpu_us_per_msg"], 2),
            "p99": round(run["latency"]["p99_ms"] / peer["latency"]["p99_ms"], 2)
            if run["latency"]["p99_ms"] and peer["latency"]["p99_ms"] else None,
            "rss_per_conn": round(run["rss_per_conn_bytes"] / max(peer["rss_per_conn_bytes"], 1), 2),
        }
    for kind in ("eyenet-ws", "eyenet-socketio"):
        for count in (1000, 5000):
            ratio = ratios.get(f"{kind}/node-ws C={count}")
            if ratio is not None:
                targets[f"{kind} msgs/s >= {TARGET_RATIO}x node C={count}"] = {
                    "value": ratio["msgs_per_s"], "holds": ratio["msgs_per_s"] >= TARGET_RATIO}
        run = by.get((kind, 1000))
        if run is not None and run["latency"]["p99_ms"] is not None:
            targets[f"{kind} p99 < {TARGET_P99_MS:g} ms C=1000"] = {
                "value": run["latency"]["p99_ms"], "holds": run["latency"]["p99_ms"] < TARGET_P99_MS}
        for count in (1000, 5000):
            run = by.get((kind, count))
            if run is not None:
                targets[f"{kind} RSS/conn < 25 KiB C={count}"] = {
                    "value": run["rss_per_conn_bytes"], "holds": run["rss_per_conn_bytes"] < TARGET_RSS}
    return ratios, targets


def print_table(runs: list[dict], ratios: dict, targets: dict, notes: list[str], tpl: dict) -> None:
    out = sys.stderr
    print(f"frames: /ws {tpl['eyenet-ws']['length']} B, Socket.IO {tpl['eyenet-socketio']['length']} B, "
          f"node {tpl['node-ws']['length']} B", file=out)
    print(f"{'server':<16} {'C':>5} {'msgs/s':>8} {'srv us/msg':>10} {'(usr+sys)':>11} {'srv':>5} {'cli':>5} "
          f"{'other':>5} {'p50 ms':>7} {'p99 ms':>7} {'lat srv':>7} {'RSS/conn':>8} ok", file=out)
    for r in runs:
        s, lat = r["saturation"], r["latency"]
        split = f"{s['server_user_us_per_msg']:.1f}+{s['server_system_us_per_msg']:.1f}"
        print(f"{r['server']:<16} {r['clients']:>5} {s['msgs_per_s']:>8} {s['server_cpu_us_per_msg']:>10} {split:>11} "
              f"{s['server_cores']:>5} {s['client_cores']:>5} {s['other_cores']:>5} {lat['p50_ms']:>7} "
              f"{lat['p99_ms']:>7} {lat['server_cores']:>7} {r['rss_per_conn_bytes']:>8} {s['ok'] and lat['ok']}",
              file=out)
    print("(srv/cli/other: cores used by the server, the load generator and everything else during saturation; "
          "usr+sys: the server's CPU per message in its own code and in the kernel; "
          "lat srv: the server's cores during the latency phase)", file=out)
    for name, ratio in ratios.items():
        print(f"{name}: msgs/s x{ratio['msgs_per_s']}, CPU/msg x{ratio['cpu_per_msg']}, p99 x{ratio['p99']}, "
              f"RSS/conn x{ratio['rss_per_conn']}", file=out)
    for name, target in targets.items():
        print(f"target {name}: {target['value']} -> {'holds' if target['holds'] else 'MISSED'}", file=out)
    for note in notes:
        print(f"note: {note}", file=out)


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def node_version() -> str | None:
    try:
        return subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", default=",".join(KINDS))
    parser.add_argument("--clients", default="100,1000,5000", help="connection counts, comma-separated")
    parser.add_argument("--deliveries", type=int, default=500_000, help="saturation: events x clients per run")
    parser.add_argument("--offered", type=float, default=5000.0, help="latency: delivered msgs/s offered")
    parser.add_argument("--latency-seconds", type=float, default=10.0, help="latency: length of the phase")
    parser.add_argument("--burst", type=int, default=1, help="saturation: events between two yields to the event loop")
    parser.add_argument("--high-water", type=int, default=262144, help="saturation pacing: bytes queued for one client")
    parser.add_argument("--client-procs", type=int, default=1, help="load-generator processes")
    parser.add_argument("--nap", type=float, default=0.02, help="saturation: load generator's nap between epoll rounds")
    parser.add_argument("--repeat", type=int, default=3, help="tries per server and C; the best is kept")
    parser.add_argument("--phase-timeout", type=float, default=180.0)
    parser.add_argument("--max-seconds", type=float, default=3600.0, help="no try starts after this")
    parser.add_argument("--py-spy", metavar="DIR", help="sample the EyeNet server with py-spy during saturation "
                        "(collapsed stacks in DIR; those tries are slower)")
    parser.add_argument("--role", default="orchestrator", choices=["orchestrator", "eyenet-server", "clients"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--secret-file", help=argparse.SUPPRESS)
    parser.add_argument("--kind", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--length", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=180.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "eyenet-server":
        eyenet_server(args)
    elif args.role == "clients":
        load_clients(args)
    else:
        orchestrate(args)


if __name__ == "__main__":
    main()
