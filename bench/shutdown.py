"""Start-up to READY and shut-down under load: the real `eyenet run` as systemd runs it.

EyeNet is the `eyenet run -c FILE` process, started with a notify socket of this script's
own ($NOTIFY_SOCKET, as systemd gives a Type=notify service), polling poll_scale's lab
(snmp_lab: --agents net-snmp agents with --interfaces veth interfaces each) as D devices
spread round-robin over the agents, each every --interval seconds. Once READY, C plain
/ws clients log in, subscribe to `devices` (push_fanout's Peer and subscribe_batch) and
read without pause in a thread; after --load-seconds of polling and pushing, SIGTERM.

Measured per try (--repeat; the first try starts on a new database, the others restart on it):

  * start-up: spawn to READY=1 on the notify socket (imports, the store opened and its
    integrity checked, the first admin on a new database, every service started, the port
    listening);
  * shut-down: SIGTERM to the process's exit (waitpid), its exit status, EyeNet's own
    "stopped on SIGTERM in X s: ..." line, how many clients got a close frame with code
    1001 before the end of their stream, and polls in flight at the signal (finished, cancelled).

Run as root from the repository root (the lab needs network namespaces):

    PYTHONPATH=. .venv/bin/python bench/shutdown.py
    PYTHONPATH=. .venv/bin/python bench/shutdown.py --devices 1000 --clients 100 --interval 15 --repeat 3

Prints one JSON line on stdout. Every wait is bounded in time; the lab is torn down on
every exit path, EyeNet is stopped by its pid.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(BENCH), str(ROOT)]

from push_fanout import BATCH, Peer, subscribe_batch  # noqa: E402
from snmp_lab import Lab, in_lab, spawn, stop_process  # noqa: E402
from ws_broadcast import raise_nofile  # noqa: E402

PASSWORD = "shutdown-bench-password"
# The client's answer to a close frame: close, code 1000, masked with a zero mask (RFC 6455 5.3).
CLOSE_REPLY = bytes((0x88, 0x80 | 2)) + bytes(4) + (1000).to_bytes(2, "big")
# EyeNet's own line, with its time (the text log format's asctime, local time, ms).
STOPPED = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO eyenet: stopped on SIGTERM in ([\d.]+) s: (.*)$", re.M)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(path: Path, hosts: list[str], devices: int, interval: float, port: int) -> None:
    lines = [f'[store]\npath = "eyenet.db"\n\n[web]\nhost = "127.0.0.1"\nport = {port}\n']
    for i in range(devices):  # as poll_scale's worker: community public, round-robin over the agents
        lines.append(f'[[devices]]\nid = "bench-{i:05d}"\nhost = "{hosts[i % len(hosts)]}"\npoll_interval = {interval}\n'
                     'tags = ["bench"]\n')
    path.write_text("\n".join(lines))


def login(port: int) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/auth/login", data=json.dumps({"username": "admin", "password": PASSWORD}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)["token"]


class Readers(threading.Thread):
    """Reads every client's frames without pause; notes each close code and end of stream."""

    def __init__(self, peers: list[Peer], deadline: float) -> None:
        super().__init__(daemon=True)
        self.peers = peers
        self.deadline = deadline
        self.frames = 0
        self.close_codes: dict[int, int | None] = {}  # peer index -> code of its close frame
        self.ended: set[int] = set()  # peer index whose stream ended (EOF or reset)

    def run(self) -> None:
        selector = selectors.DefaultSelector()
        buffers = {}
        for i, peer in enumerate(self.peers):
            peer.sock.setblocking(False)
            selector.register(peer.sock, selectors.EVENT_READ, i)
            buffers[i] = bytearray(peer.buf)
        while len(self.ended) < len(self.peers) and time.monotonic() < self.deadline:
            for key, _ in selector.select(timeout=0.5):
                i = key.data
                try:
                    chunk = key.fileobj.recv(262144)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    chunk = b""
                if not chunk:
                    self.ended.add(i)
                    selector.unregister(key.fileobj)
                    continue
                buf = buffers[i]
                buf += chunk
                self._frames(i, buf)
        selector.close()

    def _frames(self, i: int, buf: bytearray) -> None:
        while len(buf) >= 2:
            size, start = buf[1] & 0x7F, 2
            if size == 126:
                if len(buf) < 4:
                    return
                size, start = int.from_bytes(buf[2:4], "big"), 4
            elif size == 127:
                if len(buf) < 10:
                    return
                size, start = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < start + size:
                return
            if buf[0] & 0x0F == 8:  # close: a 2-byte code first, if any; answered as a client does
                self.close_codes[i] = int.from_bytes(buf[start:start + 2], "big") if size >= 2 else None
                try:
                    self.peers[i].sock.send(CLOSE_REPLY)
                except OSError:
                    pass
            else:
                self.frames += 1
            del buf[:start + size]


def one_try(lab: Lab, args: argparse.Namespace, work: Path, n: int, log) -> dict:
    port = free_port()
    conf = work / "eyenet.toml"
    write_config(conf, lab.hosts, args.devices, args.interval, port)
    address = str(work / f"notify-{n}.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NOTIFY_SOCKET": address, "EYENET_ADMIN_PASSWORD": PASSWORD}
    stderr = open(work / f"eyenet-{n}.log", "w+b")
    first_start = not (work / "eyenet.db").exists()
    started = time.monotonic()
    proc = spawn([sys.executable, "-m", "eyenet.cli", "run", "-c", str(conf), "--log-level", "info"],
                 stdout=stderr, stderr=stderr, env=env, cwd=work)
    result: dict = {"try": n + 1, "new_database": first_start}
    peers: list[Peer] = []
    try:
        sock.settimeout(args.startup_timeout)
        while True:
            message = sock.recv(4096).decode()
            if "READY=1" in message:
                result["ready_s"] = round(time.monotonic() - started, 3)
                break
        token = login(port)
        for first in range(0, args.clients, BATCH):
            batch = [Peer(port, f"/ws?token={token}") for _ in range(min(BATCH, args.clients - first))]
            subscribe_batch(batch, "eyenet-ws", token, live=True)
            peers += batch
        readers = Readers(peers, time.monotonic() + args.load_seconds + args.stop_timeout + 10)
        readers.start()
        log(f"shutdown: try {n + 1}: READY after {result['ready_s']} s; {len(peers)} clients subscribed; "
            f"{args.load_seconds:g} s of load")
        time.sleep(args.load_seconds)
        frames_before = readers.frames
        sent, sent_wall = time.monotonic(), time.time()
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=args.stop_timeout)
        except subprocess.TimeoutExpired:
            code = None
        result["exit_s"] = round(time.monotonic() - sent, 3) if code is not None else None
        exited_wall = time.time()
        result["exit_code"] = code
        readers.join(timeout=10)
        result["frames_received_under_load"] = frames_before
        result["clients_closed_1001"] = sum(1 for c in readers.close_codes.values() if c == 1001)
        result["clients_other_close"] = sum(1 for c in readers.close_codes.values() if c != 1001)
        result["clients_ended"] = len(readers.ended)
    finally:
        stop_process(proc, grace=5)
        for peer in peers:
            peer.sock.close()
        sock.close()
        os.unlink(address)
        stderr.seek(0)
        text = stderr.read().decode(errors="replace")
        stderr.close()
    stopped = STOPPED.search(text)
    if stopped:
        # Where the time went: to the stopped line (the signal reaching the loop, then the orderly
        # stop, which EyeNet itself times from the signal's arrival), then from it to the exit.
        logged = datetime.strptime(stopped.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
        result["eyenet_says_s"] = float(stopped.group(2))
        result["eyenet_says"] = stopped.group(3)
        if result.get("exit_s") is not None:
            result["signal_to_line_s"] = round(logged - sent_wall, 3)
            result["line_to_exit_s"] = round(exited_wall - logged, 3)
    elif "exit_code" not in result:
        result["log_tail"] = text[-1500:]
    result["tracebacks"] = text.count("Traceback")
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--agents", type=int, default=20)
    p.add_argument("--interfaces", type=int, default=48, help="veth interfaces per agent (rows = this + 2)")
    p.add_argument("--devices", type=int, default=1000)
    p.add_argument("--interval", type=float, default=15.0, help="poll interval in seconds (offered load = devices / interval)")
    p.add_argument("--clients", type=int, default=100, help="plain /ws clients subscribed to `devices`")
    p.add_argument("--load-seconds", type=float, default=30.0, help="polling and pushing before the SIGTERM")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--startup-timeout", type=float, default=120.0)
    p.add_argument("--stop-timeout", type=float, default=30.0, help="how long to wait for the exit before SIGKILL")
    args = p.parse_args(argv)
    if not (1 <= args.devices <= 100_000 and 0 <= args.clients <= 5000 and 1 <= args.repeat <= 20 and 1 <= args.interval <= 600):
        p.error("--devices 1..100000, --clients 0..5000, --repeat 1..20, --interval 1..600")
    raise_nofile()

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    report: dict = {"benchmark": "shutdown", "devices": args.devices, "interval_s": args.interval, "clients": args.clients,
                    "load_seconds": args.load_seconds, "agents": args.agents, "loadavg_1m_start": round(os.getloadavg()[0], 2)}
    work = Path(tempfile.mkdtemp(prefix="eyenet-bench-shutdown-"))
    def tries_in(lab: Lab) -> None:
        report["agents_placement"] = lab.confine_agents()
        report["tries"] = [one_try(lab, args, work, n, log) for n in range(args.repeat)]

    try:
        code = in_lab(Lab(args.agents, args.interfaces), tries_in, log)
    finally:
        for f in work.iterdir():
            f.unlink()
        work.rmdir()
    if code == 0:
        print(json.dumps(report))
    return code


if __name__ == "__main__":
    sys.exit(main())
