"""Trap listener throughput: how many traps a second EyeNet's listener takes on one core.

A sender process (pinned to another core when there is one) sends pre-encoded traps over
UDP loopback at --rate a second for --seconds, paced in 1 ms slots; the receiver (this
process, pinned to one core) runs EyeNet's own path: TrapListener (the socket, the pure
NotificationReceiver: decode, community or USM check and decryption) feeding TrapService
(matching the sender to a device, the rate budget, the trap event published on a Bus
with a subscriber draining it, and stored in a Store on a temporary SQLite file).

Reported: traps sent, datagrams the listener read, notifications it handled, those it
dropped (queue full) and refused, the kernel's drops (sent - read), the traps published
and stored (the budget keeps device_rate a second of one device: the rest are counted as
over budget, which is the flood protection working), and the receiver's CPU seconds per
trap and the share of its core it used. --keep-all raises the budget past the rate, so
every trap is published and stored (the store then writes --rate rows a second).

  python bench/trap_rate.py --rate 10000 --seconds 10 [--v3] [--keep-all]

Prints one JSON line on stdout. No root needed.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ENGINE = bytes.fromhex("8000000001020304")
USER = ("bench", "authPriv", "SHA-256", "bench-auth-pass", "AES", "bench-priv-pass")
ENTERPRISE = (1, 3, 6, 1, 4, 1, 8072, 2, 3, 0, 1)


def trap_bytes(v3: bool, n: int) -> bytes:
    from eyenet.snmp.message import Message, Pdu, PduType, ScopedPdu, Version, encode_message
    from eyenet.snmp.traps import SNMP_TRAP_OID, SYS_UPTIME
    from eyenet.snmp.usm import UsmUser, secure_message
    from eyenet.snmp.values import Tag, VarBind

    varbinds = (
        VarBind(SYS_UPTIME, Tag.TIMETICKS, 123456 + n),
        VarBind(SNMP_TRAP_OID, Tag.OBJECT_IDENTIFIER, ENTERPRISE),
        VarBind((1, 3, 6, 1, 2, 1, 2, 2, 1, 1, 3), Tag.INTEGER, 3),
        VarBind((1, 3, 6, 1, 2, 1, 2, 2, 1, 2, 3), Tag.OCTET_STRING, b"GigabitEthernet0/3"),
    )
    pdu = Pdu(PduType.TRAP_V2, n, 0, 0, varbinds)
    if v3:
        return secure_message(n, ScopedPdu(ENGINE, b"", pdu), UsmUser(*USER), ENGINE, 1, 100, n, False)
    return encode_message(Message(Version.V2C, b"public", pdu))


def send(port: int, rate: int, seconds: float, v3: bool, cpu: int | None, ready, counter) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    datagrams = [trap_bytes(v3, n) for n in range(1, 257)]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
    ready.wait()
    start = time.monotonic()
    sent = 0
    total = int(rate * seconds)
    while sent < total:
        due = min(total, int((time.monotonic() - start) * rate) + 1)  # 1 ms slots at most, bounded in count
        while sent < due:
            sock.sendto(datagrams[sent & 255], ("127.0.0.1", port))
            sent += 1
        time.sleep(0.001)
    counter.value = sent


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def receive(args, sender_cpu, receiver_cpu) -> dict:
    import trio

    from eyenet.bus import Bus
    from eyenet.collect.traps import TrapService
    from eyenet.config import StoreSettings, TrapsSettings, TrapUser
    from eyenet.devices.model import DeviceConfig
    from eyenet.events import Trap
    from eyenet.store.db import Store

    rate = args.rate * 10 if args.keep_all else 10
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = TrapsSettings(
        enabled=True, address="127.0.0.1", port=port, engine_id=None, users=(TrapUser(*USER),),
        device_rate=rate, total_rate=rate,
    )
    bus = Bus()
    with tempfile.TemporaryDirectory() as tmp:
        async with Store.open(Path(tmp) / "traps.db", StoreSettings(), prune_every=None) as store:
            service = TrapService(settings, lambda: [DeviceConfig("lab", "127.0.0.1")], lambda d: True, bus.publish, store.add_traps)
            async with trio.open_nursery() as nursery:
                published = [0]

                async def drain():
                    with bus.subscribe(types=(Trap,), name="bench", maxlen=100_000) as events:
                        async for batch in events.batches():
                            published[0] += len(batch)

                nursery.start_soon(drain)
                await nursery.start(service.run)
                listener = service.listener
                ctx = multiprocessing.get_context("spawn")
                ready, counter = ctx.Event(), ctx.Value("q", 0)
                proc = ctx.Process(target=send, args=(listener.port, args.rate, args.seconds, args.v3, sender_cpu, ready, counter))
                proc.start()
                await trio.sleep(1.0)  # the sender's imports and its traps encoded
                c0, t0 = cpu_seconds(), time.monotonic()
                ready.set()
                await trio.to_thread.run_sync(proc.join, args.seconds + 30)
                # Until what arrived is handled (bounded: the queue empties or a few seconds pass).
                with trio.move_on_after(5):
                    while listener.stats.datagrams < counter.value or listener._send.statistics().current_buffer_used:
                        await trio.sleep(0.05)
                wall = time.monotonic() - t0
                cpu = cpu_seconds() - c0
                await store.flush()
                stored = len(await store.traps("lab", limit=10 ** 7))
                st = listener.stats
                nursery.cancel_scope.cancel()
    sent = counter.value
    return {
        "bench": "trap_rate", "version": "v3 authPriv SHA-256+AES" if args.v3 else "v2c", "rate": args.rate,
        "seconds": args.seconds, "keep_all": args.keep_all, "receiver_cpu": receiver_cpu, "sender_cpu": sender_cpu,
        "sent": sent, "read": st.datagrams, "kernel_dropped": sent - st.datagrams, "handled": st.notifications,
        "queue_dropped": st.dropped, "refused": st.refused, "published": published[0], "stored": stored,
        "over_budget": service.over_budget, "store_dropped": store.dropped_traps,
        "cpu_s": round(cpu, 3), "us_cpu_per_trap": round(cpu / max(1, st.datagrams) * 1e6, 2),
        "core_share": round(cpu / wall, 3), "wall_s": round(wall, 2),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=int, default=10_000, help="traps a second (default 10000)")
    p.add_argument("--seconds", type=float, default=10.0, help="how long to send (default 10, at most 120)")
    p.add_argument("--v3", action="store_true", help="SNMPv3 authPriv traps (SHA-256 + AES) instead of v2c")
    p.add_argument("--keep-all", action="store_true", help="a budget above the rate: every trap published and stored")
    args = p.parse_args()
    args.seconds = min(args.seconds, 120.0)
    cpus = sorted(os.sched_getaffinity(0))
    receiver_cpu, sender_cpu = cpus[0], (cpus[1] if len(cpus) > 1 else None)
    os.sched_setaffinity(0, {receiver_cpu})
    import trio

    print(json.dumps(trio.run(receive, args, sender_cpu, receiver_cpu)))


if __name__ == "__main__":
    main()
