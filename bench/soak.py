"""Soak: EyeNet polling 1,000 devices of the demo lab with 1,000 push clients connected, for 30 minutes.

Not a test: it watches whether the server's memory, descriptors and tasks stay flat under
a steady load, which is where a leak shows.

The server (role --worker, a process of its own so that its figures are its own) is the
real app (eyenet.app.run: SQLite store, poller, alerts, topology, ML, REST, /ws, Socket.IO)
polling --devices devices every --interval seconds, over one of two labs:

  snmpd  (the default; root) bench/snmp_lab.py's real net-snmp agents, each in a network
         namespace with --interfaces interfaces, confined to the last core as poll_scale.py
         does; devices soak-0000, soak-0001, ... spread round-robin over --agents agents.
  demo   `eyenet demo`'s lab and configuration (eyenet.demo: snmpsim serving eight
         simulated devices, eyenet.demo.run.demo_config), its device list widened the same
         way over the eight. Its alerts, flaps and topology changes make more kinds of
         event, but snmpsim answers a few polls a second on this machine's cores: give it a
         longer --interval (at 1,000 devices every 60 s polls took 30-120 s).

The server's token lifetime covers the run; every other setting is the shipped one.

The push clients (this process) are the light clients of bench/push_fanout.py (Peer,
subscribe_batch): raw sockets, WebSocket frames by hand, set up in batches of 100, each
batch alternately plain /ws (?token=) or Socket.IO over WebSocket (/socket.io/?EIO=4
&transport=websocket, CONNECT with auth.token). The first two batches subscribe to
`devices` (every device:metrics, within the per-client budget); each other batch to
one device. They connect from 20 loopback addresses (127.0.1.1-20), as clients of a real
deployment come from many. Then one epoll loop reads everything, answers Engine.IO pings,
and counts events. Each sample interval, --churn clients leave (half of them closing their
socket abruptly, which leaves a Socket.IO session recoverable on the server) and as many
new ones connect and subscribe.

Each --sample-every seconds (60): the server's RSS (/proc/PID/statm), its open descriptors
(/proc/PID/fd), its Trio tasks (eyenet_tasks of GET /metrics) and push sessions and replay
ring and the device:metrics its sessions hold back for their budget (GET /api/health), the
clients connected and the events they got. After the run: a
table on stderr, one JSON line on stdout, and a least-squares line through the samples of
the steady state: after --warmup, and once the push replay ring is full ([push]
replay_events, 10,000 events, or replay_bytes, 128 MiB: about 4 minutes at 1,000 devices
every 60 s) and has turned over since (its span, replaySpan of /api/health, is shorter than
the time since it was seen full). Until then start-up events leave it (each device's first
device:status, its first device:metrics without rates): the ring is bounded by the events'
estimated bytes, and the same bytes of later events hold more objects (+8 MiB at 1,000
devices; a census by type found +400,000 floats). For RSS: its slope
in MiB/hour, the slope's standard error and the residuals' standard deviation (the noise);
the same for descriptors and tasks. Exit status 1 when the RSS slope is clearly not flat:
more than 3 standard errors above zero and above --max-slope MiB/hour; 2 when the run could
not be set up; 0 otherwise.

    sudo PYTHONPATH=. .venv/bin/python bench/soak.py                 # 30 minutes, as root
    sudo PYTHONPATH=. .venv/bin/python bench/soak.py --interval 15 --duration 300 \
        --sample-every 10 --warmup 60                                # a short check (~7 min)
    PYTHONPATH=. .venv/bin/python bench/soak.py --lab demo --interval 600 --devices 200

Needs root, network namespaces and snmpd for the snmpd lab (bench/README.md, "What it
needs"); snmpsim (the `demo` extra) for the demo lab. Loopback only; every wait is bounded;
the server is killed by its pid at the end (the demo lab's snmpsim dies with it), and the
snmpd lab is torn down on every exit path.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import math
import os
import random
import select
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(BENCH), str(ROOT)]

from push_fanout import BATCH, Peer, client_frame, die_with_parent, subscribe_batch, take_frame  # noqa: E402
from ws_broadcast import Child, emit, raise_nofile  # noqa: E402

from eyenet.config import PushSettings  # noqa: E402

PASSWORD = "soak-bench-admin-password"
KINDS = ("eyenet-ws", "eyenet-socketio")  # push_fanout's names for /ws and Socket.IO over WebSocket
PATHS = {"eyenet-ws": "/ws?token=", "eyenet-socketio": "/socket.io/?EIO=4&transport=websocket"}
SOURCES = [f"127.0.1.{n}" for n in range(1, 21)]
ALL_DEVICES = '{"type":"devices"}'
CLOSE, TEXT = 8, 1
MiB = 1024 * 1024


# -- the server ------------------------------------------------------------------------------


def worker(spec: dict) -> int:
    """Role --worker: EyeNet polling spec["devices"] devices of the lab."""
    import logging
    from contextlib import AsyncExitStack
    from functools import partial

    import attrs
    import trio

    from eyenet import app
    from eyenet.config import AuthSettings, Config, StoreSettings, WebSettings
    from eyenet.demo.lab import start_lab
    from eyenet.demo.run import demo_config
    from eyenet.devices.model import DeviceConfig

    die_with_parent()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    data = Path(spec["dir"])
    web = WebSettings(host="127.0.0.1", port=0)

    async def main() -> None:
        async with AsyncExitStack() as stack:
            if spec["hosts"]:  # the snmpd lab, set up by the parent
                config = Config(path="<soak>", store=StoreSettings(path=str(data / "eyenet.db")), web=web)
                lab_devices = itertools.cycle(DeviceConfig(id="lab", host=host, tags=("soak",)) for host in spec["hosts"])
            else:
                lab = await stack.enter_async_context(start_lab(data / "lab", distinct_hosts=True))
                config = attrs.evolve(demo_config(lab, data), web=web)
                lab_devices = itertools.cycle(config.devices)
            devices = tuple(
                attrs.evolve(next(lab_devices), id=f"soak-{n:04d}", poll_interval=spec["interval"])
                for n in range(spec["devices"])
            )
            config = attrs.evolve(config, devices=devices, auth=AuthSettings(token_ttl=spec["token_ttl"]))
            async with trio.open_nursery() as nursery:
                services = await nursery.start(partial(app.run, config, init=True))
                emit({"ready": {"port": services.addresses[0][1], "devices": len(devices)}})
                await trio.sleep_forever()

    trio.run(main)
    return 0


def rest(port: int, method: str, path: str, token: str | None = None, body: dict | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = "Bearer " + token
        conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# -- the clients -----------------------------------------------------------------------------


class Client:
    """One subscribed push client, read without blocking."""

    def __init__(self, peer: Peer, kind: str, channel: str) -> None:
        self.sock = peer.sock
        self.sock.setblocking(False)
        self.buf = peer.buf
        self.kind = kind
        self.channel = channel
        self.events = 0

    def read(self) -> bool:
        """Take what arrived; False when the server ended the connection."""
        while True:
            try:
                chunk = self.sock.recv(262144)
            except BlockingIOError:
                return True
            except OSError:
                return False
            if not chunk:
                return False
            self.buf += chunk
            while (frame := take_frame(self.buf)) is not None:
                opcode, payload = frame
                if opcode == CLOSE:
                    return False
                if opcode != TEXT:
                    continue
                if self.kind == "eyenet-ws":
                    self.events += 1
                elif payload == b"2":  # the Engine.IO heartbeat
                    self.sock.sendall(client_frame("3"))
                elif payload.startswith(b"42/ws,"):
                    self.events += 1
                elif payload.startswith(b"41/ws"):  # the server ended the Socket.IO session
                    return False


class Fleet:
    """Every client, on one epoll set."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.token = token
        self.clients: dict[int, Client] = {}
        self.poller = select.epoll()
        self.sources = itertools.cycle(SOURCES)
        self.dropped = 0  # connections the server ended
        self.events = 0  # events counted from clients that left

    def connect(self, kind: str, channel: str, count: int) -> None:
        path = PATHS[kind] + (self.token if kind == "eyenet-ws" else "")
        peers = [Peer(self.port, path, next(self.sources)) for _ in range(count)]
        subscribe_batch(peers, kind, self.token, channel, live=True)
        for peer in peers:
            client = Client(peer, kind, channel)
            self.clients[client.sock.fileno()] = client
            self.poller.register(client.sock.fileno(), select.EPOLLIN)

    def leave(self, fd: int) -> Client:
        client = self.clients.pop(fd)
        self.poller.unregister(fd)
        self.events += client.events
        client.sock.close()
        return client

    def pump(self, until: float) -> None:
        """Read until the monotonic time `until`."""
        while (left := until - time.monotonic()) > 0:
            for fd, _ in self.poller.poll(min(left, 1.0)):
                client = self.clients.get(fd)
                if client is not None and not client.read():
                    self.dropped += 1
                    self.leave(fd)

    def churn(self, count: int, rng: random.Random) -> None:
        """`count` clients leave (every other one with a WebSocket close, the rest abruptly),
        and as many join with the same kind and channel."""
        gone = [self.leave_politely(fd) if n % 2 else self.leave(fd)
                for n, fd in enumerate(rng.sample(sorted(self.clients), min(count, len(self.clients))))]
        for (kind, channel), group in itertools.groupby(sorted((c.kind, c.channel) for c in gone)):
            self.connect(kind, channel, len(list(group)))

    def leave_politely(self, fd: int) -> Client:
        client = self.clients[fd]
        try:
            client.sock.sendall(client_frame("1") if client.kind == "eyenet-socketio" else b"\x88\x80" + os.urandom(4))
        except OSError:
            pass
        return self.leave(fd)

    def received(self) -> int:
        return self.events + sum(c.events for c in self.clients.values())


# -- sampling and the fit ----------------------------------------------------------------------


def sample(server: Child, port: int, token: str, fleet: Fleet, started: float) -> dict:
    pid = server.proc.pid
    status, body = rest(port, "GET", "/metrics", token)
    tasks = next((int(float(line.split()[1])) for line in body.decode().splitlines() if line.startswith("eyenet_tasks ")), None)
    _, health = rest(port, "GET", "/api/health")
    push = json.loads(health)["components"].get("push", {})
    return {
        "t_s": round(time.monotonic() - started, 1),
        "rss_mib": round(server.rss_bytes() / MiB, 2),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "tasks": tasks if status == 200 else None,
        "sessions": push.get("sessions"),
        "recoverable": push.get("recoverable"),
        "replay_kept": push.get("replayKept"),
        "replay_mib": round(push["replayBytes"] / MiB, 1) if "replayBytes" in push else None,
        "replay_span_s": push.get("replaySpan"),
        "held_back": push.get("heldBack"),
        "clients": len(fleet.clients),
        "events": fleet.received(),
        "dropped": fleet.dropped,
        "cpu_s": round(server.cpu_seconds(), 1),
    }


def steady_state(samples: list[dict], warmup: float) -> list[dict]:
    """The samples after `warmup` once the replay ring, seen full, holds only events that came
    after: until then neither its growth nor its change of contents is a leak."""
    push = PushSettings()
    full_at = next((s["t_s"] for s in samples
                    if (s["replay_kept"] or 0) >= push.replay_events
                    or (s["replay_mib"] or 0) * MiB >= 0.95 * push.replay_bytes), None)
    if full_at is None:
        return []
    return [s for s in samples if s["t_s"] >= warmup and s["replay_span_s"] is not None
            and s["t_s"] - s["replay_span_s"] >= full_at]


def fit(points: list[tuple[float, float]]) -> dict:
    """Least squares y = a + b t: b, its standard error and the residuals' deviation."""
    n = len(points)
    if n < 3:
        return {"samples": n}
    t_mean = sum(t for t, _ in points) / n
    y_mean = sum(y for _, y in points) / n
    sxx = sum((t - t_mean) ** 2 for t, _ in points)
    slope = sum((t - t_mean) * (y - y_mean) for t, y in points) / sxx
    residuals = [y - (y_mean + slope * (t - t_mean)) for t, y in points]
    variance = sum(r * r for r in residuals) / (n - 2)
    return {"samples": n, "slope": slope, "slope_se": math.sqrt(variance / sxx), "noise_sd": math.sqrt(variance)}


def verdict(rss: dict, max_slope: float) -> tuple[bool, str]:
    if rss["samples"] < 3:
        return True, "too few samples in the steady state (after the warm-up and the ring's turnover) to fit a line"
    slope, se = rss["slope"], rss["slope_se"]
    if slope > 3 * se and slope > max_slope:
        return False, f"RSS grows {slope:.1f} MiB/h (> 3 x {se:.1f} standard error and > {max_slope} MiB/h)"
    return True, f"RSS flat within noise: {slope:+.1f} ± {se:.1f} MiB/h"


def print_table(samples: list[dict], steady: list[dict], log) -> None:
    log(f"{'t (s)':>7} {'RSS MiB':>8} {'fds':>5} {'tasks':>6} {'sessions':>8} {'recov':>5} {'ring':>6} {'ring MiB':>8} "
        f"{'span s':>6} {'held':>7} {'clients':>7} "
        f"{'events/s':>8} {'dropped':>7} {'CPU s':>6}")
    for prev, s in zip([None, *samples], samples):
        rate = (s["events"] - prev["events"]) / (s["t_s"] - prev["t_s"]) if prev else 0.0
        log(f"{s['t_s']:7.0f} {s['rss_mib']:8.1f} {s['fds']:5d} {s['tasks'] or '-':>6} {s['sessions'] or '-':>8} "
            f"{s['recoverable'] if s['recoverable'] is not None else '-':>5} {s['replay_kept'] or '-':>6} "
            f"{s['replay_mib'] or '-':>8} {s['replay_span_s'] or '-':>6} "
            f"{s['held_back'] if s['held_back'] is not None else '-':>7} {s['clients']:7d} "
            f"{rate:8.0f} {s['dropped']:7d} {s['cpu_s']:6.0f}{'' if s in steady else '  warm-up'}")


# -- the run --------------------------------------------------------------------------------------


def run(args: argparse.Namespace, log) -> int:
    raise_nofile()
    if args.lab == "demo":
        return serve(args, [], log)
    from snmp_lab import Lab, LabError

    try:
        with Lab(args.agents, args.interfaces, log=log) as lab:
            log(f"soak: {len(lab.hosts)} snmpd agents; {lab.confine_agents()}")
            return serve(args, lab.hosts, log)
    except LabError as exc:
        log(f"lab: {exc}")
        return 2


def serve(args: argparse.Namespace, hosts: list[str], log) -> int:
    """Start the server over the lab at `hosts` (none: the demo lab), then measure."""
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="eyenet-soak-") as tmp:
        spec = {"dir": tmp, "devices": args.devices, "interval": args.interval, "hosts": hosts,
                "token_ttl": int(args.duration + args.setup_timeout + 3600)}
        errors = open(Path(tmp) / "server.stderr", "w+b")
        env = dict(os.environ, EYENET_ADMIN_PASSWORD=PASSWORD, PYTHONPATH=str(ROOT))
        server = Child([sys.executable, __file__, "--worker", json.dumps(spec)], env=env, stderr=errors)
        try:
            return measure(server, args, rng, log)
        except (RuntimeError, OSError, SystemExit) as exc:
            errors.seek(0)
            log(f"soak: {exc}\nserver's stderr (tail):\n{errors.read()[-3000:].decode(errors='replace')}")
            return 2
        finally:
            server.stop()
            errors.seek(0)
            warnings = [line for line in errors.read().decode(errors="replace").splitlines()
                        if " WARNING " in line or " ERROR " in line]
            log(f"soak: the server logged {len(warnings)} WARNING or ERROR lines" + "".join(
                f"\n  {line[:300]}" for line in warnings[:3] + (["  ..."] if len(warnings) > 6 else []) + warnings[3:][-3:]))
            errors.close()


def measure(server: Child, args: argparse.Namespace, rng: random.Random, log) -> int:
    ready = server.expect("ready", args.setup_timeout)["ready"]
    port = ready["port"]
    status, body = rest(port, "POST", "/api/auth/login", body={"username": "admin", "password": PASSWORD})
    if status != 200:
        raise RuntimeError(f"login: {status} {body[:200]!r}")
    token = json.loads(body)["token"]
    log(f"soak: EyeNet on port {port} polls {ready['devices']} devices every {args.interval:.0f} s; "
        f"connecting {args.clients} push clients")
    started = time.monotonic()
    fleet = Fleet(port, token)
    for n, first in enumerate(range(0, args.clients, BATCH)):
        channel = ALL_DEVICES if n < 2 else '{"type":"device","id":"soak-%04d"}' % (n * 97 % args.devices)
        fleet.connect(KINDS[n % 2], channel, min(BATCH, args.clients - first))
    log(f"soak: {len(fleet.clients)} clients subscribed in {time.monotonic() - started:.1f} s; "
        f"running {args.duration:.0f} s, a sample every {args.sample_every:.0f} s")
    started = time.monotonic()
    samples = [sample(server, port, token, fleet, started)]
    while samples[-1]["t_s"] + args.sample_every <= args.duration:
        fleet.pump(started + samples[-1]["t_s"] + args.sample_every)
        if server.proc.poll() is not None:
            raise RuntimeError(f"the server exited with status {server.proc.returncode}")
        samples.append(sample(server, port, token, fleet, started))
        fleet.churn(args.churn, rng)
    steady = steady_state(samples, args.warmup)
    print_table(samples, steady, log)
    hours = [(s["t_s"] / 3600, s) for s in steady]
    figures = {key: fit([(t, s[key]) for t, s in hours if s[key] is not None]) for key in ("rss_mib", "fds", "tasks")}
    ok, why = verdict(figures["rss_mib"], args.max_slope)
    for key, f in figures.items():
        if f["samples"] >= 3:
            log(f"soak: {key}: slope {f['slope']:+.2f}/h ± {f['slope_se']:.2f} (noise sd {f['noise_sd']:.2f}) "
                f"over {f['samples']} samples of the steady state")
    log(f"soak: {why}")
    print(json.dumps({
        "benchmark": "soak", "devices": args.devices, "clients": args.clients, "interval_s": args.interval,
        "duration_s": args.duration, "sample_every_s": args.sample_every, "warmup_s": args.warmup, "churn": args.churn,
        "slopes_per_hour": figures, "flat": ok, "verdict": why, "samples": samples,
    }))
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--lab", choices=("snmpd", "demo"), default="snmpd")
    p.add_argument("--agents", type=int, default=20, help="snmpd lab: agents")
    p.add_argument("--interfaces", type=int, default=48, help="snmpd lab: interfaces per agent")
    p.add_argument("--devices", type=int, default=1000)
    p.add_argument("--clients", type=int, default=1000, help="push clients, half /ws and half Socket.IO")
    p.add_argument("--interval", type=float, default=60.0, help="each device's poll interval, seconds")
    p.add_argument("--duration", type=float, default=1800.0, help="seconds of the run after the clients are up")
    p.add_argument("--sample-every", type=float, default=60.0, help="seconds between samples")
    p.add_argument("--warmup", type=float, default=300.0,
                   help="seconds left out of the fit, at least (so are samples until the replay ring has filled and turned over)")
    p.add_argument("--churn", type=int, default=20, help="clients that leave and join at each sample")
    p.add_argument("--max-slope", type=float, default=2.0, help="MiB/hour of RSS growth tolerated even when significant")
    p.add_argument("--setup-timeout", type=float, default=180.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(json.loads(args.worker))
    if not (1 <= args.devices <= 100_000 and 0 <= args.clients <= 20_000 and 1 <= args.interval <= 3600
            and 1 <= args.sample_every <= args.duration <= 7 * 86400 and args.churn >= 0):
        p.error("--devices 1..100000, --clients 0..20000, --interval 1..3600, 1 <= --sample-every <= --duration <= a week")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    return run(args, log)


if __name__ == "__main__":
    sys.exit(main())
