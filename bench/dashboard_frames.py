"""Benchmark: the dashboard's device list in headless Chromium with 1,000 devices and
100 device:metrics a second, frame times against the same page idle.

Not a test. The real app (eyenet.app.run) serves 1,000 devices from its configuration
(on a loopback port where no agent answers, polled once an hour: they show as down, and
the poller stays out of the way); once the page lists them, it times its frames idle for
--idle seconds, then the bench publishes device:metrics through the push hub at --rate a
second (round robin over the devices, fresh values each) for --load seconds while the
page times them again. [push] events_per_minute is raised so that the server does not
coalesce what the page is meant to take. The page's side is bench/node/dashboard_frames.js
(playwright-core from tests/js, Debian's /usr/bin/chromium).

Prints one JSON line: the frame interval p50/p95/max and long animation frames, idle and
under load, and the rows that show a CPU value by the end. The goal: p95 under load below
50 ms.

    python bench/dashboard_frames.py [--devices 1000] [--rate 100] [--idle 10] [--load 20]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eyenet import app  # noqa: E402
from eyenet.config import Config, PushSettings, StoreSettings, WebSettings  # noqa: E402
from eyenet.devices.model import DeviceConfig  # noqa: E402
from eyenet.events import DeviceMetrics  # noqa: E402

PASSWORD = "bench-dashboard-password"
SCRIPT = Path(__file__).resolve().parent / "node" / "dashboard_frames.js"
SILENT_PORT = 9  # discard: no SNMP agent answers there


async def main(args) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["EYENET_ADMIN_PASSWORD"] = PASSWORD
        devices = tuple(
            DeviceConfig(id=f"sw-{i:04d}", host="127.0.0.1", port=SILENT_PORT, poll_interval=3600, tags=("bench",))
            for i in range(args.devices)
        )
        config = Config(
            path="<dashboard_frames>", store=StoreSettings(path=str(Path(tmp) / "eyenet.db")), devices=devices,
            web=WebSettings(host="127.0.0.1", port=0), push=PushSettings(events_per_minute=10**9),
        )
        async with trio.open_nursery() as nursery:
            services = await nursery.start(app.run, config)
            port = services.addresses[0][1]
            command = ["node", str(SCRIPT), f"http://127.0.0.1:{port}/", "admin", PASSWORD, str(args.devices),
                       str(args.idle), str(args.load)]
            process = await trio.lowlevel.open_process(command, stdout=-1)
            lines = b""
            published = 0
            with trio.fail_after(args.idle + args.load + 120):
                while b"load\n" not in lines:
                    chunk = await process.stdout.receive_some()
                    if not chunk:
                        raise SystemExit("dashboard_frames.js ended before measuring: see its error above")
                    lines += chunk

                async def publish():
                    nonlocal published
                    period = 1 / args.rate
                    next_at = trio.current_time()
                    while True:
                        device = devices[published % len(devices)]
                        services.hub.publish(DeviceMetrics(
                            device.id, datetime.now(timezone.utc), cpu=round(random.uniform(1, 99), 1),
                            memory=round(random.uniform(10, 90), 1), bandwidth_in=random.randrange(10**9),
                            bandwidth_out=random.randrange(10**9),
                        ))
                        published += 1
                        next_at += period
                        await trio.sleep_until(next_at)

                nursery.start_soon(publish)
                async for chunk in process.stdout:
                    lines += chunk
                await process.wait()
            nursery.cancel_scope.cancel()
    result = json.loads(lines.decode().strip().splitlines()[-1])
    return {"devices": args.devices, "rate": args.rate, "published": published, **result,
            "p95_ratio_load_to_idle": round(result["load"]["p95_ms"] / result["idle"]["p95_ms"], 2)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0, help="device:metrics a second")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds timed idle")
    parser.add_argument("--load", type=float, default=20.0, help="seconds timed under load")
    print(json.dumps(trio.run(main, parser.parse_args())))
