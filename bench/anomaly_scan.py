"""What a scheduled anomaly scan costs: the real MlService.scan over a real store.

Fills a temporary SQLite store (the app's Store) with --devices devices x 4 metrics (cpu,
memory, bandwidth.in, bandwidth.out) polled every 60 s for --hours hours, then runs one scan
as [anomaly] would, and reports its wall time, the CPU of this process, of the Trio loop's own
thread and of the scan's child process (eyenet.anomaly.scanner, reaped when the scan ends),
and the event loop's worst lag meanwhile (a task asking to wake every 10 ms: how late it
woke). Extrapolates to 10,000 devices: CPU seconds a scan, and the share of one core at a
scan an hour. With the poller at work beside it: poll_scale.py --anomaly-scan.

    PYTHONPATH=. .venv/bin/python bench/anomaly_scan.py [--devices 200] [--hours 24]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eyenet.anomaly.service import MlService  # noqa: E402
from eyenet.bus import Bus  # noqa: E402
from eyenet.collect.history import Sample  # noqa: E402
from eyenet.config import AnomalySettings  # noqa: E402
from eyenet.store.db import Store  # noqa: E402

METRICS = ("cpu", "memory", "bandwidth.in", "bandwidth.out")


def readings(rng: random.Random, t: int, polls: int = 1) -> tuple[float, float, float, float]:
    """A quiet device's METRICS at time t: diurnal CPU and traffic, steady memory, with the
    noise of one poll, or of the mean of `polls` polls (a rollup's: the noise over their root)."""
    day = 0.5 + 0.5 * math.cos(2 * math.pi * ((t % 86400) / 3600 - 14) / 24)
    noise = 1 / math.sqrt(polls)
    return (
        10 + 20 * day + rng.gauss(0, 2 * noise),
        55 + rng.gauss(0, 0.5 * noise),
        1e7 * (0.2 + day) * rng.gauss(1, 0.05 * noise),
        4e6 * (0.2 + day) * rng.gauss(1, 0.05 * noise),
    )


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def lag_probe(worst: list[float]) -> None:
    while True:
        asked = trio.current_time()
        await trio.sleep(0.01)
        worst[0] = max(worst[0], trio.current_time() - asked - 0.01)


async def main(devices: int, hours: float) -> None:
    rng = random.Random(3)
    now = int(time.time())
    start = now - int(hours * 3600)
    with tempfile.TemporaryDirectory() as tmp:
        async with Store.open(Path(tmp) / "db", prune_every=None) as store:
            for d in range(devices):
                samples = [Sample(f"d{d}", metric, t, value)
                           for t in range(start, now, 60) for metric, value in zip(METRICS, readings(rng, t))]
                for i in range(0, len(samples), 2000):
                    store.add_samples(samples[i : i + 2000])
                await store.flush()
            ml = MlService(
                store, Bus(), settings=AnomalySettings(scan_interval=3600, metrics=METRICS, min_confidence=0.8),
                devices=lambda: [(f"d{d}", 60.0) for d in range(devices)],
            )
            worst = [0.0]
            async with trio.open_nursery() as nursery:
                nursery.start_soon(lag_probe, worst)
                await trio.sleep(0.2)
                idle_lag, worst[0] = worst[0], 0.0
                wall, own, loop, child = time.perf_counter(), time.process_time(), time.thread_time(), children_cpu()
                found = await ml.scan()
                wall, own, loop = time.perf_counter() - wall, time.process_time() - own, time.thread_time() - loop
                child = children_cpu() - child
                nursery.cancel_scope.cancel()
    cpu = own + child
    per_device = cpu / devices
    print(json.dumps({
        "devices": devices, "metrics": len(METRICS), "hours_of_history": hours, "findings_published": found,
        "scan_wall_s": round(wall, 2), "scan_cpu_s": round(cpu, 2), "process_cpu_s": round(own, 2),
        "loop_thread_cpu_s": round(loop, 2), "child_process_cpu_s": round(child, 2),
        "ms_cpu_per_device_metric": round(1000 * cpu / (devices * len(METRICS)), 2),
        "loop_lag_worst_ms": round(1000 * worst[0], 1), "loop_lag_idle_ms": round(1000 * idle_lag, 1),
        "at_10000_devices": {"scan_cpu_s": round(per_device * 10000), "core_share_at_one_scan_an_hour": round(per_device * 10000 / 3600, 3)},
    }))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--hours", type=float, default=24.0)
    args = parser.parse_args()
    trio.run(main, args.devices, args.hours)
