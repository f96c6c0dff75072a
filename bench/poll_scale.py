"""How many devices one EyeNet process polls: the real app (store, bus, poller) against real snmpd.

Starts A net-snmp agents with snmp_lab (M veth interfaces each, so M + 2 ifTable rows), then,
for each size D, runs `eyenet.app.run` in its own process (so its CPU and RSS are its own)
with D devices spread round-robin over the agents (distinct ids, several ids per agent),
each polled every --interval seconds, history in a temporary SQLite file. After
--warmup-intervals it measures for --measure-intervals:

  * polls completed per second (and how many the schedule asked for), varbinds received
    per second (counted in the worker on every good response),
  * the poller's CPU (utime+stime of /proc/PID/stat, all threads, store writer included)
    and that of its Trio loop's thread alone (time.thread_time in the worker),
    and RSS (VmRSS, sampled every second; VmHWM at the end),
  * the agents' CPU (every snmpd's /proc/PID/stat) and the whole machine's busy share,
  * polls that missed their slot, started late, timed out or came back partial, and the
    warnings logged (a bus subscriber that fell behind says so),
  * the event loop's lag: a task asking to wake every 10 ms, and how late it woke (p50, p99,
    p99.9, max; during anomaly scans and outside them).

With --anomaly-scan SECONDS the worker runs scheduled anomaly scans ([anomaly] scan_interval,
the shipped metrics and minimum confidence); with --seed-history HOURS every device's scanned
metrics get that much history before it starts (seed_history), and the lab's readings of them
are replaced by the seed's continuation (the same samples are stored), so that each scan
judges real amounts of consistent data. Each scan in the window is reported: its wall time,
the worker's CPU and its loop thread's meanwhile, the scan child's CPU, and what it published.
The first scan comes one interval after start: a little more than the warm-up puts it at the
window's start; a scan still running when the window ends extends it (at most by its length).

The agents stand on this machine, where real ones would not: by default they run on its
last core only, at SCHED_BATCH (snmp_lab.Lab.confine_agents), so that they do not preempt
EyeNet's event loop whenever a request wakes one; --agents-share-cores leaves them be.

Then it extrapolates to the target: 10,000 devices x 50 interfaces on a 60 s interval on
2 cores. Offered load is D / interval polls/s; `equiv_devices_at_60s` = D * 60 / interval.

Run as root from the repository root:

    PYTHONPATH=. .venv/bin/python bench/poll_scale.py
    PYTHONPATH=. .venv/bin/python bench/poll_scale.py --agents 20 --interfaces 48 \
        --interval 15 --devices 50,125,250,500
    PYTHONPATH=. .venv/bin/python bench/poll_scale.py --agents 20 --interfaces 48 --interval 60 \
        --devices 10000 --warmup-intervals 3 --measure-intervals 3 --startup-timeout 240 \
        --seed-history 72 --anomaly-scan 185

Prints one JSON line on stdout. Every loop is bounded in count and time; the lab is torn
down on every exit path (snmp_lab), the worker is stopped by its pid.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import select
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_DEVICES = 10_000
TARGET_INTERVAL = 60.0
TARGET_CORES = 2
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- /proc readers ---------------------------------------------------------------


def proc_cpu_s(pid: int) -> float | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15)


def proc_status_kb(pid: int, key: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def thread_user_sys_s() -> tuple[float, float]:
    """(utime, stime) of the calling thread, from /proc/self/task/TID/stat."""
    fields = Path(f"/proc/self/task/{threading.get_native_id()}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of all cores from /proc/stat."""
    vals = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    total = sum(vals[:8])
    return total - idle, total


def device_id(i: int) -> str:
    return f"bench-{i:05d}"


# -- history for the anomaly scans ------------------------------------------------


def seed_history(db: str, devices: int, hours: float, interval: float, end: int) -> int:
    """Store `hours` of history of the scanned metrics for every device, ending at `end`, as
    the store keeps it after so long: 5-minute and hourly rollups (what a scan reads, beyond
    6 hours of history), each the mean of the polls it holds (anomaly_scan.readings with the
    noise of that many polls). A 5-minute rollup's min and max are its mean: no scan reads
    them. Raw
    samples are not seeded: a scan of such a history reads none (it asks only when the first
    was taken, and the hourly rollups go back further). Returns the rows written."""
    import random

    from anomaly_scan import METRICS, readings

    from eyenet.store.schema import connect, migrate

    rng = random.Random(3)
    polls = max(1, round(300 / interval))
    first = (end - int(hours * 3600)) // 3600 * 3600
    conn = connect(db)
    try:
        migrate(conn)
        rows = 0
        for i in range(devices):
            dev = device_id(i)
            fives = [(t, readings(rng, t + 150, polls)) for t in range(first, end - end % 300, 300)]
            hourly: dict[int, list[tuple[float, ...]]] = {}
            for t, values in fives:
                hourly.setdefault(t - t % 3600, []).append(values)
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO metrics_5m VALUES (?, ?, ?, ?, ?, ?, ?)", [
                (dev, metric, t, v, v, v * polls, polls) for t, values in fives for metric, v in zip(METRICS, values)
            ])
            conn.executemany("INSERT INTO metrics_1h VALUES (?, ?, ?, ?, ?, ?, ?)", [
                (dev, metric, t, min(col), max(col), sum(col) * polls, len(col) * polls)
                for t, group in hourly.items() for metric, col in zip(METRICS, zip(*group))
            ])
            conn.execute("COMMIT")
            rows += len(METRICS) * (len(fives) + len(hourly))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return rows


# -- the worker: EyeNet's app in its own process --------------------------------


def worker(spec: dict) -> int:
    import logging

    import attrs
    import trio

    from eyenet import app
    from eyenet.anomaly import scanner as scanner_mod
    from eyenet.anomaly import service as ml_mod
    from eyenet.collect import poller as poller_mod
    from eyenet.config import AnomalySettings, Config, PollerSettings, SnmpSettings, StoreSettings, WebSettings
    from eyenet.devices.model import DeviceConfig
    from eyenet.snmp import client as client_mod
    from eyenet.store.db import Store

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    # Warnings while measuring, by logger: a subscriber that falls behind the bus (alerts,
    # inventory, push) says so there, and a run that kept up only by dropping did not keep up.
    warnings: dict[str, int] = {}

    class CountWarnings(logging.Handler):
        def emit(self, record):
            if recording["on"] and record.levelno >= logging.WARNING:
                warnings[record.name] = warnings.get(record.name, 0) + 1

    logging.getLogger().addHandler(CountWarnings())
    interval = float(spec["interval"])
    hosts = spec["hosts"]
    devices = tuple(
        DeviceConfig(id=device_id(i), host=hosts[i % len(hosts)], poll_interval=interval, tags=("bench",))
        for i in range(spec["devices"])
    )
    config = Config(
        path="<poll_scale>",
        snmp=SnmpSettings(),
        store=StoreSettings(path=spec["db"]),
        poller=PollerSettings(max_concurrent_polls=spec["max_concurrent_polls"]),
        devices=devices,
        web=WebSettings(host="127.0.0.1", port=0),  # the app's web front, on loopback at a free port, idle
        # Scheduled scans with the shipped metrics and minimum confidence.
        anomaly=AnomalySettings(scan_interval=spec["anomaly_scan"]),
    )

    # Instrumentation (this process only): count varbinds of good responses, and time each poll.
    counts = {"varbinds": 0, "responses_ok": 0, "walk_kept": 0}
    orig_checked = client_mod.SnmpClient._checked

    def checked(self, target, resp):
        pdu = orig_checked(self, target, resp)
        counts["varbinds"] += len(pdu.varbinds)
        counts["responses_ok"] += 1
        return pdu

    client_mod.SnmpClient._checked = checked
    orig_walk_columns = client_mod.SnmpClient.walk_columns  # walk() is walk_columns() of one root

    async def walk_columns(self, target, roots, *args, **kwargs):
        out = await orig_walk_columns(self, target, roots, *args, **kwargs)
        # Varbinds inside the walked columns (the rest is GETBULK overshoot).
        counts["walk_kept"] += sum(map(len, out))
        return out

    client_mod.SnmpClient.walk_columns = walk_columns

    polls = {"started": 0, "done": 0, "up": 0, "degraded": 0, "down": 0, "timeout": 0, "partial": 0, "slow": 0,
             "missed_slots": 0, "late_starts": 0}
    durations: list[float] = []
    anchors: dict[str, tuple[float, int] | None] = {}  # device id -> (second start, polls since); None after the first
    recording = {"on": False}
    orig_poll = poller_mod.Poller.poll

    async def poll(self, device, target, state):
        started = trio.current_time()
        anchor = anchors.get(device.id, "first")
        if anchor == "first":  # the first poll comes early; the device's own slots start with the second
            anchors[device.id] = None
        elif anchor is None:
            anchors[device.id] = (started, 0)
        else:
            first, n = anchor
            slot = round((started - first) / device.poll_interval)
            if recording["on"]:
                # Slots passed over since the previous poll (the poller skips the ones it overran).
                polls["missed_slots"] += max(0, slot - n - 1)
                if started - (first + slot * device.poll_interval) > 0.1 * device.poll_interval:
                    polls["late_starts"] += 1
            anchors[device.id] = (first, max(slot, n + 1))
        if recording["on"]:
            polls["started"] += 1
        result = await orig_poll(self, device, target, state)
        if recording["on"]:
            polls["done"] += 1
            durations.append(trio.current_time() - started)
            polls[result.status] = polls.get(result.status, 0) + 1
            reason = result.reason or ""
            if reason == "timeout":
                polls["timeout"] += 1
            elif reason.startswith("partial"):
                polls["partial"] += 1
            elif reason.startswith("slow"):
                polls["slow"] += 1
        return result

    poller_mod.Poller.poll = poll

    # The cyclic garbage collector's share: collections and seconds per generation while measuring.
    import gc

    gc_stats = {0: [0, 0.0], 1: [0, 0.0], 2: [0, 0.0]}
    gc_started = [0.0]

    def on_gc(phase, info):
        if phase == "start":
            gc_started[0] = time.perf_counter()
        elif recording["on"]:
            entry = gc_stats[info["generation"]]
            entry[0] += 1
            entry[1] += time.perf_counter() - gc_started[0]

    gc.callbacks.append(on_gc)

    # Anomaly scans: each one's wall time, the process's CPU and the loop thread's meanwhile, that
    # of the scan's child process (eyenet.anomaly.scanner: reaped at the scan's end, so counted in
    # RUSAGE_CHILDREN; the worker has no other children), and of the store's reader thread
    # (nothing else reads while the REST front is idle).
    threads_cpu = {"read": 0.0, "judged": 0}
    scans: list[dict] = []
    orig_judge = scanner_mod.Scanner.judge

    async def judge(self, now, series):
        threads_cpu["judged"] += len(series)
        return await orig_judge(self, now, series)

    scanner_mod.Scanner.judge = judge
    live_child: dict[str, int | None] = {"pid": None}  # a running scan's child: its CPU from /proc until reaped
    orig_enter, orig_exit = scanner_mod.Scanner.__aenter__, scanner_mod.Scanner.__aexit__

    async def enter(self):
        out = await orig_enter(self)
        live_child["pid"] = self.pid
        return out

    async def exit_(self, *exc_info):
        await orig_exit(self, *exc_info)
        live_child["pid"] = None

    scanner_mod.Scanner.__aenter__, scanner_mod.Scanner.__aexit__ = enter, exit_
    orig_read = Store._read

    async def read(self, fn):
        def timed(conn):
            started = time.thread_time()
            try:
                return fn(conn)
            finally:
                threads_cpu["read"] += time.thread_time() - started

        return await orig_read(self, timed)

    Store._read = read
    orig_scan = ml_mod.MlService.scan

    def scan_marks() -> dict:
        ru, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return {"mono": time.monotonic(), "cpu": ru.ru_utime + ru.ru_stime, "loop": time.thread_time(),
                "child": children.ru_utime + children.ru_stime + ((proc_cpu_s(live_child["pid"]) or 0.0) if live_child["pid"] else 0.0),
                **threads_cpu}

    async def scan(self):
        before = scan_marks()
        entry = {"before": before, "published": None}
        scans.append(entry)
        try:
            entry["published"] = await orig_scan(self)
        finally:
            entry["after"] = scan_marks()
        return entry["published"]

    ml_mod.MlService.scan = scan
    orig_finish = ml_mod.MlService._finish
    found: dict[str, int] = {}  # "metric label" -> scan findings published while measuring

    async def finish(self, job, status, results, reason):
        if recording["on"] and job.id.startswith("scan-"):
            key = f"{job.metric} {results[0][0]}"
            found[key] = found.get(key, 0) + 1
        await orig_finish(self, job, status, results, reason)

    ml_mod.MlService._finish = finish

    if spec["seeded"]:
        # The seeded history goes on as it began: the scanned metrics' samples carry the seed's
        # readings, not the lab's (its agents' CPU is this machine's, their ports idle), which
        # would differ from it on every device and have most series found anomalous. The same
        # samples are stored: the poller's writes cost what they cost.
        import random

        from anomaly_scan import METRICS, readings

        rng = random.Random(4)
        orig_add = Store.add_samples

        def add_samples(self, samples):
            polled: dict[tuple[str, int], dict[str, float]] = {}
            out = []
            for sample in samples:
                if sample[1] in METRICS:
                    key = (sample[0], sample[2])
                    if key not in polled:
                        polled[key] = dict(zip(METRICS, readings(rng, sample[2])))
                    sample = (sample[0], sample[1], sample[2], polled[key][sample[1]])
                out.append(sample)
            orig_add(self, out)

        Store.add_samples = add_samples

    # The event loop's lag: a task asking to wake every 10 ms, and how late it woke.
    lags: list[tuple[float, bool]] = []  # (seconds late, during a scan)

    async def lag_probe() -> None:
        while True:
            asked = trio.current_time()
            await trio.sleep(0.01)
            if recording["on"]:
                lags.append((trio.current_time() - asked - 0.01, bool(scans) and "after" not in scans[-1]))

    def lag_ms(values: list[float]) -> dict:
        values = sorted(values)
        if not values:
            return {}
        return {"n": len(values), **{k: round(1000 * values[min(len(values) - 1, int(q * len(values)))], 2)
                                    for k, q in (("p50", 0.5), ("p99", 0.99), ("p999", 0.999), ("max", 1.0))}}

    def scan_report(start_mono: float, end_mono: float) -> dict:
        out = []
        for entry in scans:
            b, a = entry["before"], entry.get("after") or scan_marks()  # still running: so far
            if a["mono"] < start_mono:
                continue
            out.append({
                "start_s": round(b["mono"] - start_mono, 1), "end_s": round(a["mono"] - start_mono, 1),
                "completed": "after" in entry and entry["published"] is not None and a["mono"] <= end_mono,
                "wall_s": round(a["mono"] - b["mono"], 2),
                "process_cpu_s": round(a["cpu"] - b["cpu"], 2),
                "loop_thread_cpu_s": round(a["loop"] - b["loop"], 2),
                "child_process_cpu_s": round(a["child"] - b["child"], 2),
                "read_thread_cpu_s": round(a["read"] - b["read"], 2),
                "series_judged": a["judged"] - b["judged"],
                "findings_published": entry["published"],
            })
        return {"scan_interval_s": spec["anomaly_scan"], "scans": out,
                "scans_completed_in_window": sum(1 for e in out if e["completed"] and e["start_s"] >= 0),
                "findings_published_in_window": sum(e["findings_published"] or 0 for e in out if e["completed"]),
                "findings_by_metric_label": found}

    def snapshot(client) -> dict:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "mono": time.monotonic(),
            "rusage_cpu_s": ru.ru_utime + ru.ru_stime,
            # The Trio loop's own thread: one core at most, whatever the process's other threads do.
            "main_thread_cpu_s": time.thread_time(),
            # The same thread's user and kernel time: the kernel's share is mostly sendto delivering
            # each request through the lab's veth into the agent's namespace, in the sender's context.
            "main_thread_user_sys_s": thread_user_sys_s(),
            "varbinds": counts["varbinds"],
            "responses_ok": counts["responses_ok"],
            "walk_kept": counts["walk_kept"],
            "client": attrs.asdict(client.stats) if client is not None else {},
            "rss_kb": proc_status_kb(os.getpid(), "VmRSS"),
        }

    def emit(tag: str, payload: dict) -> None:
        sys.stdout.write(tag + " " + json.dumps(payload) + "\n")
        sys.stdout.flush()

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            services = await nursery.start(app.run, config)
            client = services.poller._client
            nursery.start_soon(lag_probe)
            emit("READY", {"devices": len(devices)})
            await trio.sleep(spec["warmup_s"])
            start = snapshot(client)
            recording["on"] = True
            emit("START", start)
            await trio.sleep(spec["measure_s"])
            if spec["anomaly_scan"] and scans and "after" not in scans[-1]:
                # A scan still running: the window waits for it (bounded), so that it is measured whole.
                with trio.move_on_after(spec["scan_wait_s"]):
                    while "after" not in scans[-1]:
                        await trio.sleep(0.5)
            recording["on"] = False
            end = snapshot(client)
            emit("END", end)
            ds = sorted(durations)

            def pct(p: float) -> float | None:
                return round(ds[min(len(ds) - 1, int(p * len(ds)))], 4) if ds else None

            emit("RESULT", {
                "polls": polls,
                "gc": {str(g): {"collections": n, "seconds": round(t, 3)} for g, (n, t) in gc_stats.items()},
                "gc_tracked_objects": len(gc.get_objects()),
                "warnings": warnings,
                "poll_duration_s": {"p50": pct(0.5), "p95": pct(0.95), "max": pct(1.0)},
                "devices_polled_ever": len(anchors),
                "loop_lag_ms": {"all": lag_ms([v for v, _ in lags]), "during_scans": lag_ms([v for v, on in lags if on]),
                                "outside_scans": lag_ms([v for v, on in lags if not on])},
                "anomaly": scan_report(start["mono"], end["mono"]) if spec["anomaly_scan"] else None,
                "start": start, "end": end,
            })
            nursery.cancel_scope.cancel()

    trio.run(main)
    return 0


# -- the parent: lab, workers, measurement ---------------------------------------


def run_size(lab, devices: int, args, log) -> dict:
    from snmp_lab import spawn, stop_process

    lab.check_routes()
    warmup_s = args.warmup_intervals * args.interval
    measure_s = args.measure_intervals * args.interval
    tmp = tempfile.mkdtemp(prefix="eyenet-bench-poll-")
    db = os.path.join(tmp, "eyenet.db")
    spec = {"devices": devices, "hosts": lab.hosts, "interval": args.interval, "warmup_s": warmup_s,
            "measure_s": measure_s, "db": db, "max_concurrent_polls": args.max_concurrent_polls,
            "anomaly_scan": args.anomaly_scan, "scan_wait_s": measure_s if args.anomaly_scan else 0,
            "seeded": bool(args.seed_history)}
    result: dict = {"devices": devices}
    if args.seed_history:
        seeding = time.monotonic()
        result["seeded_rows"] = seed_history(db, devices, args.seed_history, args.interval, int(time.time()))
        result["seed_s"] = round(time.monotonic() - seeding, 1)
        result["seeded_db_bytes"] = sum(f.stat().st_size for f in Path(tmp).glob("eyenet.db*"))
        log(f"poll_scale: {result['seeded_rows']} rows of history seeded in {result['seed_s']} s")
    errlog = open(os.path.join(tmp, "worker.stderr"), "w+b")
    proc = spawn([sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec)],
                 stdout=subprocess.PIPE, stderr=errlog, env=dict(os.environ, PYTHONPATH=os.getcwd()))
    snmpd_pids = [a.proc.pid for a in lab.agents]
    marks: dict[str, dict] = {}
    rss_samples: list[int] = []
    deadline = time.monotonic() + warmup_s + measure_s + spec["scan_wait_s"] + args.startup_timeout
    buf = b""
    try:
        for _ in range(1_000_000):
            if "RESULT" in marks or time.monotonic() > deadline:
                break
            ready, _, _ = select.select([proc.stdout], [], [], 1.0)
            if "START" in marks and "END" not in marks:
                rss = proc_status_kb(proc.pid, "VmRSS")
                if rss:
                    rss_samples.append(rss)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                tag, _, payload = line.decode().partition(" ")
                now = {"mono": time.monotonic(), "cpu_s": proc_cpu_s(proc.pid),
                       "snmpd_cpu_s": sum(proc_cpu_s(p) or 0.0 for p in snmpd_pids), "machine": machine_cpu(),
                       "load1": os.getloadavg()[0]}
                marks[tag] = {"parent": now, "worker": json.loads(payload) if payload else {}}
                if tag == "READY":
                    log(f"poll_scale: {devices} devices polling; warm-up {warmup_s:.0f} s, then {measure_s:.0f} s measured")
                if tag == "END":
                    result["vm_hwm_kb"] = proc_status_kb(proc.pid, "VmHWM")
    finally:
        stop_process(proc, grace=10)
        errlog.seek(0)
        err_tail = errlog.read()[-1500:].decode(errors="replace")
        errlog.close()
        db_bytes = sum(f.stat().st_size for f in Path(tmp).glob("eyenet.db*"))
        for f in Path(tmp).iterdir():
            f.unlink()
        os.rmdir(tmp)
    if not all(k in marks for k in ("START", "END", "RESULT")):
        result.update(status="failed", reason=f"worker gave {sorted(marks)}; exit {proc.returncode}",
                      stderr_tail=err_tail)
        return result

    p0, p1 = marks["START"]["parent"], marks["END"]["parent"]
    w = marks["RESULT"]["worker"]
    w0, w1 = w["start"], w["end"]
    wall = w1["mono"] - w0["mono"]
    cpu = p1["cpu_s"] - p0["cpu_s"]
    snmpd_cpu = p1["snmpd_cpu_s"] - p0["snmpd_cpu_s"]
    busy = (p1["machine"][0] - p0["machine"][0]) / max(1, p1["machine"][1] - p0["machine"][1])
    polls = w["polls"]
    done = polls["done"]
    good = polls.get("up", 0) + polls.get("degraded", 0)
    varbinds = w1["varbinds"] - w0["varbinds"]
    client = {k: w1["client"][k] - w0["client"].get(k, 0) for k in w1["client"]}
    rss_kb = max(rss_samples) if rss_samples else None
    expected = devices * wall / args.interval
    result.update(
        status="ok",
        interval_s=args.interval,
        equiv_devices_at_60s=round(devices * TARGET_INTERVAL / args.interval),
        offered_polls_per_s=round(devices / args.interval, 3),
        window_s=round(wall, 2),
        polls_expected=round(expected, 1),
        polls_started=polls["started"],
        polls_completed=done,
        polls_good=good,
        polls_per_s=round(done / wall, 3),
        polls_completed_share_of_expected=round(done / expected, 3) if expected else None,
        status_counts={k: polls.get(k, 0) for k in ("up", "degraded", "down")},
        timeouts=polls["timeout"], partial=polls["partial"], slow=polls["slow"],
        missed_slots=polls["missed_slots"], late_starts=polls["late_starts"],
        poll_duration_s=w["poll_duration_s"],
        varbinds=varbinds,
        varbinds_per_s=round(varbinds / wall),
        varbinds_per_good_poll=round(varbinds / good, 1) if good else None,
        walked_varbinds_kept=w1["walk_kept"] - w0["walk_kept"],
        walked_varbinds_kept_per_good_poll=round((w1["walk_kept"] - w0["walk_kept"]) / good, 1) if good else None,
        client=client,
        requests_per_good_poll=round(client.get("requests", 0) / good, 2) if good else None,
        gc=w["gc"],
        gc_ms_per_poll=round(1000 * sum(g["seconds"] for g in w["gc"].values()) / done, 3) if done else None,
        gc_tracked_objects=w["gc_tracked_objects"],
        warnings_by_logger=w["warnings"],
        eyenet_cpu_s=round(cpu, 3),
        eyenet_cpu_s_getrusage=round(w1["rusage_cpu_s"] - w0["rusage_cpu_s"], 3),
        eyenet_cpu_pct=round(100 * cpu / wall, 1),
        eyenet_cpu_ms_per_poll=round(1000 * cpu / done, 3) if done else None,
        eyenet_main_thread_user_sys_ms_per_poll=[
            round(1000 * (w1["main_thread_user_sys_s"][k] - w0["main_thread_user_sys_s"][k]) / done, 3) for k in (0, 1)
        ] if done else None,
        eyenet_main_thread_ms_per_poll=(
            round(1000 * (w1["main_thread_cpu_s"] - w0["main_thread_cpu_s"]) / done, 3) if done else None
        ),
        eyenet_cpu_us_per_varbind=round(1e6 * cpu / varbinds, 2) if varbinds else None,
        eyenet_rss_mb=round(rss_kb / 1024, 1) if rss_kb else None,
        eyenet_rss_kb_per_device=round(rss_kb / devices, 1) if rss_kb else None,
        eyenet_vm_hwm_mb=round(result.get("vm_hwm_kb", 0) / 1024, 1),
        store_db_bytes=db_bytes,
        snmpd_cpu_s=round(snmpd_cpu, 3),
        snmpd_cpu_pct=round(100 * snmpd_cpu / wall, 1),
        snmpd_cpu_ms_per_poll=round(1000 * snmpd_cpu / done, 3) if done else None,
        machine_busy_pct_of_all_cores=round(100 * busy, 1),
        load1_start=round(p0["load1"], 2), load1_end=round(p1["load1"], 2),
        loop_lag_ms=w["loop_lag_ms"],
        anomaly=w["anomaly"],
    )
    result.pop("vm_hwm_kb", None)
    if polls["down"]:
        result["stderr_tail"] = err_tail[-600:]
    log(
        f"poll_scale: D={devices}: {result['polls_per_s']} polls/s of {result['offered_polls_per_s']} offered, "
        f"{result['varbinds_per_s']} vb/s, eyenet {result['eyenet_cpu_pct']}% CPU {result['eyenet_rss_mb']} MB, "
        f"snmpd {result['snmpd_cpu_pct']}%, machine {result['machine_busy_pct_of_all_cores']}% busy, "
        f"down {polls['down']}, missed {polls['missed_slots']}, late {polls['late_starts']}, "
        f"loop lag p99 {w['loop_lag_ms']['all'].get('p99')} ms, warnings {w['warnings'] or 'none'}"
    )
    if w["anomaly"]:
        log(f"poll_scale: scans {json.dumps(w['anomaly'])}")
    return result


def extrapolate(sizes: list[dict], ncpu: int) -> dict:
    ok = [s for s in sizes if s.get("status") == "ok" and s["polls_completed"]]
    if not ok:
        return {}
    # Per-poll costs from the largest run that kept up (>= 95% of its slots); else the largest.
    kept = [s for s in ok if (s["polls_completed_share_of_expected"] or 0) >= 0.95 and not s["status_counts"]["down"]]
    ref = (kept or ok)[-1]
    need_pps = TARGET_DEVICES / TARGET_INTERVAL
    e_ms = ref["eyenet_cpu_ms_per_poll"]
    a_ms = ref["snmpd_cpu_ms_per_poll"]
    best = max(ok, key=lambda s: s["polls_per_s"])
    rss = [s for s in ok if s["eyenet_rss_mb"]]
    slope_kb = None
    if len(rss) >= 2 and rss[-1]["devices"] != rss[0]["devices"]:
        slope_kb = 1024 * (rss[-1]["eyenet_rss_mb"] - rss[0]["eyenet_rss_mb"]) / (rss[-1]["devices"] - rss[0]["devices"])
    out = {
        "reference_run_devices": ref["devices"],
        "target": f"{TARGET_DEVICES} devices x 50 interfaces every {TARGET_INTERVAL:.0f} s on {TARGET_CORES} cores",
        "target_polls_per_s": round(need_pps, 1),
        "target_varbinds_per_s": round(need_pps * ref["varbinds_per_good_poll"]) if ref["varbinds_per_good_poll"] else None,
        "eyenet_cores_needed_at_target": round(need_pps * e_ms / 1000, 2),
        "eyenet_alone_max_devices_at_60s_on_2_cores": int(TARGET_CORES * TARGET_INTERVAL * 1000 / e_ms),
        # One process runs its Trio loop on one thread: this bounds it even with cores to spare.
        "one_process_max_devices_at_60s_main_thread_bound": int(TARGET_INTERVAL * 1000 / ref["eyenet_main_thread_ms_per_poll"]),
        "eyenet_rss_kb_per_device_marginal": round(slope_kb, 1) if slope_kb is not None else None,
        "eyenet_rss_mb_at_target": (
            round(rss[0]["eyenet_rss_mb"] + slope_kb * (TARGET_DEVICES - rss[0]["devices"]) / 1024) if slope_kb is not None else None
        ),
        "snmpd_cores_needed_at_target": round(need_pps * a_ms / 1000, 2),
        "shared_max_devices_at_60s_on_2_cores": int(TARGET_CORES * TARGET_INTERVAL * 1000 / (e_ms + a_ms)),
        "measured_ceiling_polls_per_s": best["polls_per_s"],
        "measured_ceiling_equiv_devices_at_60s": int(best["polls_per_s"] * TARGET_INTERVAL),
        "machine_cores": ncpu,
        "limit": (
            "agents" if a_ms > e_ms else "eyenet"
        ) + f" (per poll: eyenet {e_ms} ms CPU, snmpd {a_ms} ms CPU)",
    }
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--agents", type=int, default=20)
    p.add_argument("--interfaces", type=int, default=48, help="veth interfaces per agent (rows = this + 2)")
    p.add_argument("--devices", default="50,125,250",
                   help="comma-separated device counts, one run each (default with --interval 15: 200, 500, 1000 at 60 s)")
    p.add_argument("--interval", type=float, default=15.0, help="poll interval in seconds (offered load = devices / interval)")
    p.add_argument("--warmup-intervals", type=float, default=1.0)
    p.add_argument("--max-concurrent-polls", type=int, default=200,
                   help="[poller] max_concurrent_polls of the worker (the shipped default)")
    p.add_argument("--measure-intervals", type=float, default=2.0)
    p.add_argument("--startup-timeout", type=float, default=60.0)
    p.add_argument("--cool-down", type=float, default=4.0)
    p.add_argument("--max-seconds", type=float, default=1500.0, help="no run starts after this")
    p.add_argument("--agents-share-cores", action="store_true",
                   help="leave the agents on every core at normal priority (default: confined, see snmp_lab.Lab.confine_agents)")
    p.add_argument("--anomaly-scan", type=float, default=0.0, metavar="SECONDS",
                   help="[anomaly] scan_interval of the worker (0: no scans); the first scan comes one interval "
                        "after start: a little more than the warm-up puts it in the measured window")
    p.add_argument("--seed-history", type=float, default=0.0, metavar="HOURS",
                   help="store this much history of the scanned metrics for every device before the worker starts")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(json.loads(args.worker))

    from snmp_lab import Lab, in_lab

    sizes = [int(x) for x in args.devices.split(",") if x.strip()][:20]
    if not sizes or min(sizes) <= 0 or max(sizes) > 100_000 or not 1 <= args.interval <= 600:
        p.error("--devices must be 1..100000 each, --interval 1..600 s")
    if args.anomaly_scan < 0 or not 0 <= args.seed_history <= 24 * 8:
        p.error("--anomaly-scan must be 0 or more seconds, --seed-history 0..192 hours")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    t0 = time.monotonic()
    report: dict = {"benchmark": "poll_scale", "agents": args.agents, "interval_s": args.interval,
                    "warmup_intervals": args.warmup_intervals, "measure_intervals": args.measure_intervals,
                    "anomaly_scan_s": args.anomaly_scan, "seed_history_h": args.seed_history,
                    "loadavg_1m_start": round(os.getloadavg()[0], 2), "sizes": []}
    def sizes_in(lab: Lab) -> None:
        report["interfaces_per_agent"] = lab.agents[0].interfaces
        report["setup_s"] = round(lab.setup_seconds, 2)
        report["agents_placement"] = "share every core" if args.agents_share_cores else lab.confine_agents()
        for n, d in enumerate(sizes):
            if time.monotonic() - t0 > args.max_seconds:
                report["sizes"].append({"devices": d, "status": "skipped", "reason": "--max-seconds"})
                continue
            if n:
                time.sleep(args.cool_down)
            report["sizes"].append(run_size(lab, d, args, log))

    lab = Lab(args.agents, args.interfaces)
    if code := in_lab(lab, sizes_in, log):
        return code
    report["teardown_s"] = round(lab.teardown_seconds, 2)
    report["extrapolation"] = extrapolate(report["sizes"], os.cpu_count() or 0)
    report["total_s"] = round(time.monotonic() - t0, 1)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
